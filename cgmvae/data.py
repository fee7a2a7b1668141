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
            object.__setattr__(self, part, np.asarray(getattr(self, part), dtype=np.int64))

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


@dataclass(frozen=True)
class MultiLabelData:
    """Features (N, D) float32, 0/1 labels (N, L) float32, their names, and what loading changed."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    label_names: list[str]
    name: str = "data"
    notices: list[str] = field(default_factory=list)  # e.g. "counts -> presence", said to the user
    split: Split | None = None  # a split that comes with the data (e.g. a predefined train/test)
    sample_ids: list[str] | None = None  # each row's id (site, checklist), to join predictions back

    def __post_init__(self):
        object.__setattr__(self, "features", np.ascontiguousarray(self.features, dtype=np.float32))
        object.__setattr__(self, "labels", np.ascontiguousarray(self.labels, dtype=np.float32))
        n, d = self.features.shape
        assert self.labels.shape[0] == n, f"{n} feature rows but {self.labels.shape[0]} label rows"
        assert len(self.feature_names) == d, f"{d} features but {len(self.feature_names)} names"
        assert len(self.label_names) == self.labels.shape[1], (
            f"{self.labels.shape[1]} labels but {len(self.label_names)} names"
        )

    @property
    def n_samples(self) -> int:
        return self.features.shape[0]

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @property
    def n_labels(self) -> int:
        return self.labels.shape[1]


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
        return Split(raw["train"], raw["val"], raw.get("test", []))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"cannot read split file {path}: {err}") from err


@dataclass(frozen=True)
class Standardizer:
    """Per-feature (x - mean) / scale, fitted on the training rows only; constant features get scale 1."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Standardizer:
        mean = features.mean(axis=0, dtype=np.float64)
        std = features.std(axis=0, dtype=np.float64)
        scale = np.where(std > 1e-12, std, 1.0)  # a constant feature stays 0 instead of NaN
        return cls(mean.astype(np.float32), scale.astype(np.float32))

    def transform(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features, dtype=np.float32) - self.mean) / self.scale).astype(np.float32)
