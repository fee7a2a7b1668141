"""Rows a data set trains, selects and tests on: its split, from files or the built-in recipe."""

from __future__ import annotations

from pathlib import Path

from cgmvae.data import MultiLabelData, Split, load_split, random_split
from cgmvae.simulate import DEFAULT_SITES, simulate_checklists

SEEDED_SPLIT = "a seeded random 80/10/10 split"
BUILTIN_SEED = 0  # the built-in data's simulation, split and training seed


def choose_split(data: MultiLabelData, split_path: str | Path | None = None, *,
                 seed: int = 0) -> tuple[Split, str]:
    """The split `data` uses: a split file's, else the one the data comes with, else a seeded
    random 80/10/10; checked against the data (DataError otherwise).

    Returns
    -------
    The split, and how it was chosen in words ("split from f.json", "the split that comes with
    the data" or SEEDED_SPLIT).
    """
    if split_path:
        split, how = load_split(split_path), f"split from {Path(split_path).name}"
    elif data.split is not None:
        split, how = data.split, "the split that comes with the data"
    else:
        split, how = random_split(data.n_samples, seed=seed), SEEDED_SPLIT
    split.check(data.n_samples)
    return split, how


def load_with_split(path: str | Path, split_path: str | Path | None = None, *, seed: int = 0,
                    **load_options) -> tuple[MultiLabelData, Split, str]:
    """`cgmvae.formats.load_dataset(path, **load_options)` with the split `choose_split` picks."""
    from cgmvae.formats import load_dataset

    data = load_dataset(path, **load_options)
    return (data, *choose_split(data, split_path, seed=seed))


def builtin_data(seed: int = BUILTIN_SEED) -> tuple[MultiLabelData, Split]:
    """The built-in simulated checklists and their split: what the app's shipped model was
    trained on (app/build_default_model.py) and what the app shows it with."""
    data = simulate_checklists(DEFAULT_SITES, seed=seed)
    return data, random_split(data.n_samples, seed=seed)
