"""Content fingerprints: what identifies a model or data set in the caches, whatever its source."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from cgmvae.data import MultiLabelData, Split
from cgmvae.predictor import TrainedModel
from ui.loading import checkpoint_bytes


def file_fingerprint(path: Path) -> str:
    """A hash of a file's bytes (a checkpoint on disk)."""
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def model_fingerprint(model: TrainedModel) -> str:
    """A hash of the model's checkpoint: weights, preprocessing, thresholds, names, stored maps."""
    return hashlib.blake2b(checkpoint_bytes(model), digest_size=16).hexdigest()


def data_fingerprint(data: MultiLabelData, split: Split) -> str:
    """A hash of the features, labels, their names and the split's rows."""
    digest = hashlib.blake2b(json.dumps([data.feature_names, data.label_names]).encode(),
                             digest_size=16)
    for array in (data.features, data.labels, split.train, split.val, split.test):
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
