"""A small learnable multi-label problem shared by the core tests."""

import numpy as np

from cgmvae.data import MultiLabelData, random_split


def toy_data(n_samples: int = 240, seed: int = 0) -> MultiLabelData:
    """Labels are noisy thresholds of linear functions of 6 features; label 3 copies label 0."""
    rng = np.random.default_rng(seed)
    # unscaled on purpose
    features = rng.normal(size=(n_samples, 6)).astype(np.float32) * 3.0 + 10.0
    weights = rng.normal(size=(6, 3))
    scores = (features - 10.0) @ weights + 0.3 * rng.normal(size=(n_samples, 3))
    labels = (scores > 0).astype(np.float32)
    labels = np.concatenate([labels, labels[:, :1]], axis=1)
    return MultiLabelData(features, labels, [f"f{i}" for i in range(6)],
                          ["alpha", "beta", "gamma", "alpha_twin"], name="toy")


def toy_split(data: MultiLabelData, seed: int = 0):
    return random_split(data.n_samples, seed=seed)
