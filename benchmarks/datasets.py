"""Benchmark data sets: where each lives under the data root, its fixed split, training subsets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cgmvae.data import MultiLabelData, Split, load_split, random_split

# Relative to the data root; priority sets first (the suite runs them first).
PATHS = {
    "yeast": "mulan/yeast",
    "scene": "mulan/scene",
    "uk_butterflies": "ecology/uk_butterflies",
    "enron": "mulan/enron",
    "genbase": "mulan/genbase",
    "cal500": "mulan/cal500",
    "flags": "mulan/flags",
    "foodtruck": "mulan/foodtruck",
    "bibtex": "mulan/bibtex",
    "delicious": "mulan/delicious",
    "corel5k": "mulan/corel5k",
    "tmc2007": "mulan/tmc2007",
    "swiss_birds": "ecology/swiss_birds",  # counts -> presence in the loader
    "wood_fungi": "ecology/wood_fungi",
    "ontario_birds": "ecology/ontario_birds",
    "norberg_birds": "ecology/norberg2019/birds",  # its own train/test split, mode 1
    "imdb": "meka/Imdb.arff.bz2",  # 120,919 rows: the speed and scale set
}
# (training rows, features, labels) as the loaders and fixed splits give them; used to estimate
# the cost of a job before starting it (see `quality.estimate_seconds`).
SHAPES = {
    "yeast": (1350, 103, 14), "scene": (1090, 294, 6), "uk_butterflies": (2087, 6, 55),
    "enron": (1011, 1001, 53), "genbase": (417, 1185, 27), "cal500": (402, 68, 174),
    "flags": (116, 43, 7), "foodtruck": (325, 32, 12), "bibtex": (4392, 1836, 159),
    "delicious": (11628, 500, 983), "corel5k": (4050, 499, 374), "tmc2007": (19367, 500, 22),
    "swiss_birds": (212, 6, 158), "wood_fungi": (1332, 67, 215),
    "ontario_birds": (11657, 13, 20), "norberg_birds": (540, 5, 141),
    "imdb": (96735, 1001, 28),
}
PRIORITY = ("yeast", "scene", "uk_butterflies")  # paper benchmarks + the main ecological set
QUALITY = tuple(PATHS)  # imdb too: the cost rule decides what fits
FEWER_DATA = PRIORITY  # Table 5 / Fig. 2
FRACTIONS = (0.1, 0.5, 1.0)
SUBSET_SEED = 0  # one permutation of the training rows, shared by every method and seed

# The files the suite reads (for the device tarball); Norberg: mode 1 of the birds taxon.
NORBERG_FILES = [f"ecology/norberg2019/{kind}{part}_1_birds.csv"
                 for kind in "XYS" for part in "tv"]


def data_root() -> Path:
    """$CGMVAE_DATA, else `<repo>/../shared/data`."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("CGMVAE_DATA", default))


def load(name: str, root: Path | None = None) -> tuple[MultiLabelData, Split]:
    """The data set and its fixed split: `splits/<name>.json`, its own, or a seeded 80/10/10."""
    from cgmvae.formats import load_dataset

    root = data_root() if root is None else root
    data = load_dataset(root / PATHS[name])
    split_file = root / "splits" / f"{name}.json"
    if split_file.is_file():
        return data, load_split(split_file)
    if data.split is not None:
        return data, data.split
    return data, random_split(data.n_samples, seed=0)


def train_subset(split: Split, fraction: float, seed: int = SUBSET_SEED) -> Split:
    """`fraction` of the training rows (validation and test unchanged).

    One seeded permutation of `split.train` is cut at each fraction, so smaller subsets are
    nested in larger ones and every method sees the same rows.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1.0:
        return split
    order = np.random.default_rng(seed).permutation(split.train)
    n_rows = max(2, round(fraction * len(order)))
    return Split(np.sort(order[:n_rows]), split.val, split.test)


def needed_files(root: Path) -> list[str]:
    """The files (relative to `root`) that loading every set of `PATHS` and its split reads."""
    files = []
    for name, relative in PATHS.items():
        path = root / relative
        if name == "norberg_birds":
            files += NORBERG_FILES
        elif path.is_file():
            files.append(relative)
        elif (path / f"{path.name}.csv").is_file():
            files += [f"{relative}/{path.name}.csv", f"{relative}/{path.name}.json"]
        else:  # Mulan: label XMLs and the ARFF files the split names (all if it names none)
            listed = _split_files(root / "splits" / f"{name}.json")
            arffs = listed or sorted(p.name for p in path.glob("*.arff*"))
            files += [f"{relative}/{f}" for f in sorted(p.name for p in path.glob("*.xml")) + arffs]
        if (root / "splits" / f"{name}.json").is_file():
            files.append(f"splits/{name}.json")
    return files


def _split_files(path: Path) -> list[str]:
    import json

    return list(json.loads(path.read_text()).get("files", [])) if path.is_file() else []


if __name__ == "__main__":  # the file list for the device tarball (see device_run.sh)
    print("\n".join(needed_files(data_root())))
