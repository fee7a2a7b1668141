"""2-D projections of label Gaussians and of samples' latent posterior means (PCA, UMAP)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PROJECTIONS = ("pca", "umap")
MAX_UMAP_POINTS = 50_000  # UMAP on 2 CPU cores: ~1 min at 50k points; more are subsampled


def pca_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and the top-2 principal directions (d, 2) of `points` (N, d)."""
    points = np.asarray(points, dtype=np.float64)
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
    axes = np.zeros((points.shape[1], 2))
    axes[:, : min(2, vt.shape[0])] = vt[:2].T
    return centre, axes


def project_2d(points: np.ndarray, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """(N, 2) float32 projection of `points` (N, d) by PCA or UMAP (umap is imported lazily)."""
    assert method in PROJECTIONS, f"method must be one of {PROJECTIONS}, got {method!r}"
    points = np.asarray(points, dtype=np.float32)
    if method == "pca" or points.shape[0] < 5:
        centre, axes = pca_axes(points)
        return ((points - centre) @ axes).astype(np.float32)
    import umap  # slow import (numba): only when asked for

    n_neighbors = max(2, min(15, points.shape[0] - 1))
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, n_jobs=1)
    return reducer.fit_transform(points).astype(np.float32)


def umap_available() -> bool:
    """Whether umap-learn can be imported (the app falls back to PCA otherwise)."""
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def collapse_notice(points: np.ndarray, reference_sd: float, what: str) -> str | None:
    """A warning when `points` (N, d) barely differ compared with `reference_sd` (posterior
    collapse: the picture would show noise), else None."""
    spread = float(np.asarray(points, dtype=np.float64).std(axis=0).max()) if len(points) else 0.0
    if spread >= 0.05 * reference_sd:
        return None
    return (f"The {what} barely differ (largest sd {spread:.1e} against a latent sd of about "
            f"{reference_sd:.2g}): this model's latent space has collapsed onto one point, so "
            "positions below say nothing about the labels. Its predictions and label "
            "embeddings (Label correlations) do not depend on the latent space.")


def subsample(n_rows: int, max_rows: int, *, seed: int = 0) -> np.ndarray:
    """Sorted row indices: all rows, or a seeded random `max_rows` of them when there are more."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))


def label_gaussian_frame(mean: np.ndarray, sigma: np.ndarray, label_names: list[str],
                         prevalence: np.ndarray, groups: np.ndarray,
                         method: str = "pca") -> pd.DataFrame:
    """One row per label: its Gaussian's mean mu_i in 2-D, spread, prevalence and group.

    With PCA the spread along each axis is the projected sd, sqrt(a^T diag(sigma_i^2) a);
    UMAP is not linear, so there only the mean latent sd (`spread`) is given.
    """
    xy = project_2d(mean, method)
    frame = pd.DataFrame({"label": list(label_names), "x": xy[:, 0], "y": xy[:, 1],
                          "prevalence": np.asarray(prevalence, dtype=float),
                          "group": [str(g) for g in groups],
                          "spread": np.sqrt((np.asarray(sigma, dtype=float) ** 2).mean(axis=1))})
    if method == "pca":
        _, axes = pca_axes(mean)
        projected_sd = np.sqrt((np.asarray(sigma, dtype=float) ** 2) @ axes**2)  # (L, 2)
        frame["sd_x"], frame["sd_y"] = projected_sd[:, 0], projected_sd[:, 1]
    return frame


def latent_frame(latent_means: np.ndarray, labels: np.ndarray, *, method: str = "pca",
                 max_points: int = MAX_UMAP_POINTS) -> tuple[pd.DataFrame, str | None]:
    """Samples' posterior means in 2-D: columns `sample` (row), `dim 1`, `dim 2`, `labels` (count).

    Returns the frame and a notice when it holds a random subsample (else None).
    """
    rows = subsample(latent_means.shape[0], max_points)
    notice = None
    if rows.size < latent_means.shape[0]:
        notice = (f"Showing a random {rows.size:,} of {latent_means.shape[0]:,} samples: "
                  "the projection's cost grows with the number of points.")
    xy = project_2d(latent_means[rows], method)
    frame = pd.DataFrame({"sample": rows, "dim 1": xy[:, 0], "dim 2": xy[:, 1],
                          "labels": np.asarray(labels)[rows].sum(axis=1).astype(int)})
    return frame, notice
