"""The data set object every loader returns, train/val/test splits and feature standardisation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """Input data that cannot be used as it is; the message says what and where."""


@dataclass(frozen=True)
class Split:
    """Row indices (0-based) of the training, validation and test parts."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __post_init__(self):
        for part in ("train", "val", "test"):
            object.__setattr__(self, part, row_indices(getattr(self, part), part))

    def check(self, n_samples: int) -> None:
        """Raise DataError unless the parts are disjoint, in range and train/val are non-empty."""
        for part in ("train", "val", "test"):
            idx = getattr(self, part)
            if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
                raise DataError(
                    f"split part '{part}' has indices outside 0..{n_samples - 1} "
                    f"(found {idx.min()}..{idx.max()}): is it the split of another data set?"
                )
        if self.train.size == 0 or self.val.size == 0:
            raise DataError("a split needs non-empty 'train' and 'val' parts")
        everything = np.concatenate([self.train, self.val, self.test])
        if np.unique(everything).size != everything.size:
            raise DataError("split parts overlap or repeat rows")


def row_indices(values, part: str) -> np.ndarray:
    """`values` as int64 row indices; DataError for booleans (a mask is not a list of rows) and
    for fractions, which a cast would silently round."""
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype == bool or array.dtype.kind not in "iuf":
        raise DataError(f"split part '{part}' must be a list of row numbers, got "
                        f"{array.dtype} values of shape {array.shape}")
    if array.dtype.kind == "f" and not (
            np.isfinite(array).all() and (array == np.round(array)).all()):
        raise DataError(f"split part '{part}' holds a fraction or NaN, not a row number")
    return array.astype(np.int64)


@dataclass(frozen=True)
class MultiLabelData:
    """Features (N, D) float32, 0/1 labels (N, L) uint8, their names, and what loading changed.

    Labels are uint8, a quarter of float32's memory (200 MB instead of 800 MB for 1M sites x 200
    species): training turns them into float32 a mini-batch at a time.
    """

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    label_names: list[str]
    name: str = "data"
    notices: list[str] = field(default_factory=list)  # e.g. "counts -> presence", said to the user
    split: Split | None = None  # a split that comes with the data (e.g. a predefined train/test)
    sample_ids: list[str] | None = None  # each row's id (site, checklist), to join predictions back

    def __post_init__(self):
        object.__setattr__(self, "features", float32_features(self.features, self.feature_names))
        object.__setattr__(self, "labels", zero_one_labels(self.labels))
        n = self.features.shape[0]
        if self.labels.ndim != 2 or self.labels.shape[0] != n:
            raise DataError(f"{n} feature rows but labels of shape {self.labels.shape}")
        if len(self.label_names) != self.labels.shape[1]:
            raise DataError(f"{self.labels.shape[1]} labels but {len(self.label_names)} names")

    @property
    def n_samples(self) -> int:
        return self.features.shape[0]

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @property
    def n_labels(self) -> int:
        return self.labels.shape[1]


def zero_one_labels(values) -> np.ndarray:
    """`values` as a C-contiguous uint8 array, or DataError unless every value is 0 or 1 (checked
    before the cast, which would turn 0.5 into 0 and 256 into 0 without a word)."""
    raw = np.asarray(values)
    if raw.dtype == np.uint8:
        valid = raw.size == 0 or raw.max() <= 1
    elif raw.dtype == bool:
        valid = True
    else:
        if raw.dtype.kind not in "iuf":  # e.g. an object array of Python numbers
            try:
                raw = raw.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise DataError(f"labels must be 0 or 1, got {raw.dtype} values") from err
        valid = bool(np.isin(raw, (0, 1)).all())
    if not valid:
        raise DataError("labels must be 0 or 1")
    return np.ascontiguousarray(raw, dtype=np.uint8)


FLOAT32_MAX = float(np.finfo(np.float32).max)  # about 3.4e38


def float32_features(values, feature_names: list[str], first_row: int = 0) -> np.ndarray:
    """(N, D) float32 features, or DataError naming the first column and row whose value is not
    a finite float32 (NaN, inf, or beyond about 3.4e38, which float32 turns into inf). Rows are
    counted from 1 + `first_row` (a chunk of a longer table passes its offset)."""
    raw = np.asarray(values)
    if raw.ndim != 2 or raw.shape[1] != len(feature_names):
        raise DataError(f"expected features of shape (n, {len(feature_names)}) for the "
                        f"{len(feature_names)} feature names, got {raw.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        features = np.ascontiguousarray(raw, dtype=np.float32)
    bad_rows, bad_columns = np.nonzero(~np.isfinite(features))
    if bad_rows.size:
        row, column = bad_rows[0], bad_columns[0]
        value = raw[row, column]
        why = ("beyond the float32 range (about ±3.4e38): rescale the column"
               if np.isfinite(np.float64(value)) else "not a finite number")
        raise DataError(f"feature '{feature_names[column]}' has the value {float(value):g} at "
                        f"data row {first_row + row + 1}, {why} ({bad_rows.size} such value(s))")
    return features


def random_split(n_samples: int, *, seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> Split:
    """A seeded random train/val/test split (80/10/10 by default)."""
    order = np.random.default_rng(seed).permutation(n_samples)
    n_train = round(fractions[0] * n_samples)
    n_val = max(1, round(fractions[1] * n_samples))
    return Split(order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])


def load_split(path: str | Path) -> Split:
    """Read a split file `{"train": [...], "val": [...], "test": [...]}` of 0-based row indices."""
    try:
        raw = json.loads(Path(path).read_text())
        parts = {part: raw[part] for part in ("train", "val")} | {"test": raw.get("test", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise DataError(f"cannot read split file {path}: {err}") from err
    for part, values in parts.items():
        # JSON 0.5 or true would be cast to row 0 or 1 without a word: only whole numbers count
        odd = ([v for v in values if type(v) is not int][:1] if isinstance(values, list)
               else [values])
        if odd:
            raise DataError(f"split file {path}: part '{part}' must be a list of whole row "
                            f"numbers, found {odd[0]!r}")
    return Split(**parts)


@dataclass(frozen=True)
class Standardizer:
    """Per-feature (x - mean) / scale, fitted on the training rows only; constant features get
    scale 1."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Standardizer:
        mean = features.mean(axis=0, dtype=np.float64)
        std = features.std(axis=0, dtype=np.float64)
        scale = np.where(std > 1e-12, std, 1.0)  # a constant feature stays 0 instead of NaN
        return cls(mean.astype(np.float32), scale.astype(np.float32))

    def transform(self, features: np.ndarray) -> np.ndarray:
        standardized = (np.asarray(features, dtype=np.float32) - self.mean) / self.scale
        return standardized.astype(np.float32)
