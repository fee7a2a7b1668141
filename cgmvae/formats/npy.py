"""The C-GMVAE authors' numpy layout: `<name>_data.npy` (labels then features) and split indices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.formats.encode import binarize_labels, check_impute, fill_missing

_PARTS = ("train", "val", "test")


def is_npy_folder(path: str | Path) -> bool:
    """True for a folder holding exactly one `*_data.npy`, or for such a file itself."""
    path = Path(path)
    if path.is_file():
        return path.name.endswith("_data.npy")
    return path.is_dir() and len(list(path.glob("*_data.npy"))) == 1


def load_npy_folder(
    path: str | Path, *, n_labels: int | None = None, impute: str | None = None
) -> MultiLabelData:
    """Load `<name>_data.npy` (N, L + D), each row = L labels then D features.

    Parameters
    ----------
    path : the folder, or the `<name>_data.npy` file in it.
    n_labels : L. Default: `n_labels` of `<name>_meta.json` (which may also give `label_names` and
        `feature_names`), else the number of lines of `<name>_labels.txt` (one label name a line).
    impute : None (NaN features are an error) or "median".

    Returns
    -------
    MultiLabelData named `<name>`, with the Split of `<name>_{train,val,test}_idx.npy` when the
    train and val files are there (test optional). Names default to `label_1...`, `feature_1...`.
    """
    check_impute(impute)
    data_file = _data_file(Path(path))
    name = data_file.name[: -len("_data.npy")]
    matrix = _load_array(data_file, ndim=2).astype(np.float64)
    meta = _meta(data_file.parent, name)
    n_labels = _n_labels(n_labels, meta, data_file, matrix.shape[1])
    label_names = meta.get("label_names") or [f"label_{j + 1}" for j in range(n_labels)]
    feature_names = meta.get("feature_names") or [
        f"feature_{j + 1}" for j in range(matrix.shape[1] - n_labels)
    ]
    _check_names(label_names, n_labels, feature_names, matrix.shape[1] - n_labels, data_file)
    labels, notices = binarize_labels(matrix[:, :n_labels], label_names, where=data_file.name,
                                      describe_row=_describe_row)
    features = matrix[:, n_labels:]
    note = fill_missing(features, feature_names, impute=impute, describe_row=_describe_row,
                        where=data_file.name)
    split = _split(data_file.parent, name, matrix.shape[0])
    return MultiLabelData(features, labels, list(feature_names), list(label_names), name=name,
                          notices=([note] if note else []) + notices, split=split)


def _describe_row(row: int) -> str:
    return f"row {row} (0-based)"


def _data_file(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted(path.glob("*_data.npy"))
    if len(found) != 1:
        raise DataError(f"{path}: expected one <name>_data.npy, found {len(found)}")
    return found[0]


def _load_array(path: Path, ndim: int) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    if array.ndim != ndim or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path.name}: expected a {ndim}-D numeric array, found shape "
                        f"{array.shape} of {array.dtype}")
    return array


def _meta(folder: Path, name: str) -> dict:
    meta_file, labels_file = folder / f"{name}_meta.json", folder / f"{name}_labels.txt"
    meta = {}
    if meta_file.is_file():
        try:
            meta = dict(json.loads(meta_file.read_text()))
        except (OSError, ValueError, TypeError) as err:
            raise DataError(f"cannot read {meta_file}: {err}") from err
    if "label_names" not in meta and labels_file.is_file():
        meta["label_names"] = [s.strip() for s in labels_file.read_text().splitlines() if s.strip()]
    return meta


def _n_labels(n_labels, meta, data_file: Path, width: int) -> int:
    if n_labels is None:
        n_labels = meta.get("n_labels") or len(meta.get("label_names", [])) or None
    if n_labels is None:
        raise DataError(f"{data_file.name}: how many of its {width} columns are labels? pass "
                        f"n_labels, or add {data_file.name[:-9]}_meta.json with \"n_labels\"")
    if not 0 < int(n_labels) < width:
        raise DataError(f"{data_file.name}: n_labels={n_labels} must be between 1 and {width - 1}")
    return int(n_labels)


def _check_names(label_names, n_labels, feature_names, n_features, data_file) -> None:
    if len(label_names) != n_labels or len(feature_names) != n_features:
        raise DataError(f"{data_file.name}: {len(label_names)} label / "
                        f"{len(feature_names)} feature names for {n_labels} labels and "
                        f"{n_features} features")


def _split(folder: Path, name: str, n_samples: int) -> Split | None:
    files = {part: folder / f"{name}_{part}_idx.npy" for part in _PARTS}
    if not any(f.is_file() for f in files.values()):
        return None
    if not (files["train"].is_file() and files["val"].is_file()):
        raise DataError(f"{folder}: {name}_train_idx.npy and {name}_val_idx.npy go together")
    parts = {p: _load_array(f, ndim=1) if f.is_file() else [] for p, f in files.items()}
    split = Split(**parts)
    split.check(n_samples)
    return split
