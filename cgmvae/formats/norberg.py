"""Norberg et al. (2019) data: `{X,S,Y}{t,v}_<mode>_<taxon>.csv`, with a fixed train/test split."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.encode import binarize_labels, train_test_split

# `<folder>/<taxon>[_<mode>][_coords]`, e.g. norberg2019/birds (mode 1), norberg2019/trees_3_coords
_VIRTUAL_PATH = re.compile(r"^(?P<taxon>[A-Za-z]+)(?:_(?P<mode>\d+))?(?P<coords>_coords)?$")


def is_norberg_folder(folder: str | Path) -> bool:
    """True for a folder in the Norberg layout (it holds `Xt_<mode>_<taxon>.csv` files)."""
    folder = Path(folder)
    return folder.is_dir() and any(folder.glob("Xt_*_*.csv"))


def parse_norberg_path(path: str | Path) -> tuple[Path, str, int, bool] | None:
    """(folder, taxon, mode, coords) of `.../norberg2019/<taxon>[_<mode>][_coords]`, else None."""
    path = Path(path)
    match = _VIRTUAL_PATH.match(path.name)
    if path.exists() or not match or not is_norberg_folder(path.parent):
        return None
    return path.parent, match["taxon"], int(match["mode"] or 1), bool(match["coords"])


def load_norberg(
    folder: str | Path, taxon: str, mode: int = 1, *, coordinates: bool = False, seed: int = 0
) -> MultiLabelData:
    """Load one taxon and evaluation mode of the Norberg 2019 benchmark.

    Parameters
    ----------
    folder : the `norberg2019` folder.
    taxon : birds, butterfly, plant, trees or vegetation (the `<taxon>` of the file names).
    mode : evaluation mode 1, 2 or 3.
    coordinates : also use the site coordinates S as features (`coord_1`, `coord_2`).
    seed : for the validation rows.

    Returns
    -------
    MultiLabelData `norberg_<taxon>_<mode>`: rows = the `*t_*` (train) rows then the `*v_*` (test)
    rows; features `x_1...` (X, and S when asked), labels `<taxon>_001...` (Y). Its Split: test =
    the `v` rows, val = a seeded 10% of the `t` rows, train = the other `t` rows.
    """
    folder = Path(folder)
    if not (folder / f"Xt_{mode}_{taxon}.csv").is_file():
        raise DataError(f"{folder}: no Xt_{mode}_{taxon}.csv; taxa here: {', '.join(_taxa(folder))}"
                        f" (modes 1-3), e.g. {folder / 'birds_1'}")
    parts = ["X", "S"] if coordinates else ["X"]
    train = np.hstack([_read(folder, f"{p}t_{mode}_{taxon}.csv") for p in parts])
    test = np.hstack([_read(folder, f"{p}v_{mode}_{taxon}.csv") for p in parts])
    labels = np.vstack([_read(folder, f"Y{t}_{mode}_{taxon}.csv") for t in "tv"])
    if train.shape[1] != test.shape[1] or len(train) + len(test) != len(labels):
        raise DataError(f"{folder}: the t/v feature and label files of {taxon} mode {mode} "
                        "do not line up (row or column counts differ)")
    n_x = train.shape[1] - (2 if coordinates else 0)
    feature_names = [f"x_{j + 1}" for j in range(n_x)] + ["coord_1", "coord_2"][: 2 * coordinates]
    label_names = [f"{taxon}_{j + 1:03d}" for j in range(labels.shape[1])]
    labels, notices = binarize_labels(labels, label_names, where=f"Y*_{mode}_{taxon}.csv",
                                      describe_row=lambda r: f"row {r + 1} (train rows first)")
    split = train_test_split(len(train), len(labels), seed=seed)
    name = f"norberg_{taxon}_{mode}" + ("_coords" if coordinates else "")
    return MultiLabelData(np.vstack([train, test]), labels, feature_names, label_names, name=name,
                          notices=notices, split=split)


def _taxa(folder: Path) -> list[str]:
    return sorted({p.stem.split("_", 2)[2] for p in folder.glob("Xt_*_*.csv")})


def _read(folder: Path, file_name: str) -> np.ndarray:
    path = folder / file_name
    try:
        values = pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"cannot read {path} as a headerless numeric CSV: {err}") from err
    if np.isnan(values).any():
        row, col = (int(i[0]) for i in np.nonzero(np.isnan(values)))
        raise DataError(f"{path}: missing value in row {row + 1}, column {col + 1}")
    return values
