"""Turning a path or uploaded files into a data set or a model, with user-readable errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from cgmvae.checkpoint import CheckpointError
from cgmvae.data import DataError, MultiLabelData, Split, load_split, random_split
from cgmvae.predictor import TrainedModel

DATA_FILE_TYPES = ["csv", "json", "arff", "bz2", "gz", "xml", "npy", "txt"]


def load_data(path: str, split_path: str = "") -> tuple[MultiLabelData, Split, str]:
    """Load a data set from disk with its split: a split file, the one it comes with, or 80/10/10."""
    from cgmvae.formats import load_dataset

    data = load_dataset(Path(path).expanduser())
    if split_path:
        split, how = load_split(split_path), f"split from {Path(split_path).name}"
    elif data.split is not None:
        split, how = data.split, "the split that comes with the data"
    else:
        split, how = random_split(data.n_samples, seed=0), "a seeded random 80/10/10 split"
    split.check(data.n_samples)
    return data, split, how


# Cached across sessions by path (data sets are read-only), so a big one is read once.
load_data_path = st.cache_resource(max_entries=4, show_spinner="Loading the data set...")(load_data)


def load_uploaded_data(files) -> tuple[MultiLabelData, Split, str]:
    """Save uploaded files (CSV + JSON sidecar, ARFF + XML, npy files) together and load them."""
    folder = Path(tempfile.mkdtemp(prefix="cgmvae-upload-"))
    for file in files:
        (folder / Path(file.name).name).write_bytes(file.getvalue())
    return load_data(str(main_data_file(folder)))


def main_data_file(folder: Path) -> Path:
    """Which of the files in `folder` to load: the one CSV or ARFF, else the folder itself."""
    names = sorted(p for p in folder.iterdir() if p.is_file())
    csvs = [p for p in names if p.suffix.lower() == ".csv"]
    arffs = [p for p in names if ".arff" in p.name.lower()]
    if len(csvs) == 1 and not arffs:
        return csvs[0]
    if len(arffs) == 1 and not csvs:
        return arffs[0]
    if not csvs and not arffs and not any(p.name.endswith("_data.npy") for p in names):
        raise DataError("no data file among the uploads: expected a .csv (with its .json "
                        "sidecar), an .arff (with its Mulan .xml) or <name>_data.npy")
    return folder  # a Mulan train/test pair or an npy folder


def load_checkpoint_bytes(content: bytes, name: str) -> TrainedModel:
    """Load an uploaded checkpoint (safe loading: no unpickling); CheckpointError if unusable."""
    with tempfile.TemporaryDirectory(prefix="cgmvae-ckpt-") as folder:
        path = Path(folder) / (Path(name).name or "model.pt")
        path.write_bytes(content)
        return TrainedModel.load(path)


def checkpoint_bytes(model: TrainedModel) -> bytes:
    """The model as checkpoint file bytes, for a download button."""
    with tempfile.TemporaryDirectory(prefix="cgmvae-ckpt-") as folder:
        path = model.save(Path(folder) / "model.pt")
        return Path(path).read_bytes()


USER_ERRORS = (DataError, CheckpointError, OSError, ValueError)  # shown with st.error, not a crash
