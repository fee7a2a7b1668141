"""2-D maps of the labels (Gaussian means or embeddings) and of the samples (posterior means or
feature embeddings), by PCA or UMAP."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cgmvae.explore.figures import WEBGL_ABOVE

PROJECTIONS = ("pca", "umap")
MAX_DRAWN_POINTS = 50_000  # samples drawn on the latent map (WebGL); more: a seeded sample
MAX_UMAP_POINTS = 10_000  # UMAP's sample; a 2-core machine takes about 13 s on it once compiled
# umap_seconds, measured on the 2-core machine (a fresh process per size; benchmarks/app_scale.py):
# compiled, 2.5 s at 1,000 points and 11-14 s at 10,000; a process's first run adds numba's
# compilation of UMAP (about 15 s) and, from UMAP_APPROXIMATE_ABOVE points, of NN-descent's
# neighbour search (first runs at 10,000 points: 59, 64, 72 and 111 s)
UMAP_FIXED_S, UMAP_S_PER_POINT = 1.4, 1.15e-3
UMAP_COMPILE_S, NN_DESCENT_COMPILE_S = 15.0, 40.0
UMAP_APPROXIMATE_ABOVE = 4096  # umap-learn's exact neighbours below, NN-descent from here
_compiled: set[str] = set()  # what numba has compiled in this process: "umap", "nn-descent"
# What a point of the label map / sample map is. The Gaussian means and posterior means are the
# VAE's latent space; the embeddings are the space where the contrastive loss compares a sample's
# w_x with the labels' w_i, and they stay informative when the latent space collapses.
LABEL_SPACES = {"gaussian": "Gaussian means mu_i", "embedding": "label embeddings w_i"}
SAMPLE_SPACES = {"posterior": "posterior means mu(x)", "embedding": "feature embeddings w_x"}


def pca_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and the top-2 principal directions (d, 2) of `points` (N, d)."""
    points = np.asarray(points)
    centre = points.mean(axis=0, dtype=np.float64)
    # the (d, d) scatter matrix's eigenvectors, not an SVD of the (N, d) points: the same axes,
    # a d x d problem whatever N (50,000 sampled points). The centred points stay float32 (the
    # scatter of 50,000 x 512 embeddings in float64 was a third of the Latent space page at
    # 1M sites); the d x d eigenproblem is solved in float64.
    dtype = np.float32 if points.dtype == np.float32 else np.float64
    centred = points.astype(dtype, copy=False) - centre.astype(dtype)
    values, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    top = np.argsort(values)[::-1][: min(2, len(points))]
    axes = np.zeros((points.shape[1], 2))
    axes[:, : top.size] = vectors[:, top]
    return centre, axes


def project_2d(points: np.ndarray, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """(N, 2) float32 projection of `points` (N, d) by PCA or UMAP (umap is imported lazily)."""
    if method not in PROJECTIONS:
        raise ValueError(f"method must be one of {PROJECTIONS}, got {method!r}")
    points = np.asarray(points, dtype=np.float32)
    if method == "pca" or points.shape[0] < 5:
        centre, axes = pca_axes(points)
        return (points @ axes.astype(np.float32) - (centre @ axes).astype(np.float32))
    import umap  # slow import (numba): only when asked for

    n_neighbors = max(2, min(15, points.shape[0] - 1))
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, n_jobs=1)
    projected = reducer.fit_transform(points).astype(np.float32)
    _compiled.update(["umap", "nn-descent"] if len(points) >= UMAP_APPROXIMATE_ABOVE else ["umap"])
    return projected


def umap_available() -> bool:
    """Whether umap-learn can be imported (the app falls back to PCA otherwise)."""
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def collapse_notice(points: np.ndarray, reference_sd: float, what: str) -> str | None:
    """A warning when `points` (N, d) barely differ compared with `reference_sd` (posterior
    collapse: a map of them would show noise), else None."""
    spread = float(np.asarray(points, dtype=np.float64).std(axis=0).max()) if len(points) else 0.0
    if spread >= 0.05 * reference_sd:
        return None
    return (f"This model's {what} barely differ (largest sd {spread:.1e} against a latent sd of "
            f"about {reference_sd:.2g}): its latent space has collapsed onto one point, so a map "
            "of them shows noise. Its predictions and embeddings do not depend on the latent "
            "space.")


def label_points(model, space: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Each label as a point of `space` (see LABEL_SPACES), with its Gaussian's sd (or None).

    Embeddings are scaled to unit length: the correlation groups come from their cosines.
    """
    if space not in LABEL_SPACES:
        raise ValueError(f"space must be one of {list(LABEL_SPACES)}, got {space!r}")
    if space == "gaussian":
        return model.label_gaussians()
    embeddings = model.label_embeddings()
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12), None


def sample_points(model, features: np.ndarray, space: str) -> np.ndarray:
    """Each sample as a point of `space` (see SAMPLE_SPACES)."""
    if space not in SAMPLE_SPACES:
        raise ValueError(f"space must be one of {list(SAMPLE_SPACES)}, got {space!r}")
    if space == "posterior":
        return model.latent_means(features)
    return model.feature_embeddings(features)


def subsample(n_rows: int, max_rows: int, *, seed: int = 0) -> np.ndarray:
    """Sorted row indices: all rows, or a seeded random `max_rows` of them when there are more."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))


def umap_seconds(n_points: int) -> float:
    """About how long UMAP takes on `n_points` on a 2-core machine in this process: with numba's
    compilation on the process's first run (and on its first run past UMAP_APPROXIMATE_ABOVE)."""
    return UMAP_FIXED_S + UMAP_S_PER_POINT * n_points + _compile_seconds(n_points)


def _compile_seconds(n_points: int) -> float:
    """What of `umap_seconds` is numba compiling, none once this process has run it."""
    seconds = 0.0 if "umap" in _compiled else UMAP_COMPILE_S
    if n_points >= UMAP_APPROXIMATE_ABOVE and "nn-descent" not in _compiled:
        seconds += NN_DESCENT_COMPILE_S
    return seconds


def umap_eta(n_points: int) -> str:
    """What the page says before UMAP runs on `n_points`: 'about 13 s', or with the reason when
    this run includes numba's compilation."""
    seconds, compiling = umap_seconds(n_points), _compile_seconds(n_points)
    if not compiling:
        return f"about {seconds:.0f} s"
    return (f"about {seconds:.0f} s, {compiling:.0f} s of it numba compiling UMAP on its first "
            "run in this server")


def map_rows(n_rows: int, method: str) -> np.ndarray:
    """The rows a sample map shows: all, or a seeded random MAX_DRAWN_POINTS (PCA) or
    MAX_UMAP_POINTS (UMAP) of them. Only these rows go through the model."""
    return subsample(n_rows, MAX_UMAP_POINTS if method == "umap" else MAX_DRAWN_POINTS)


def sample_map(model, features: np.ndarray, labels: np.ndarray, *, space: str,
               method: str = "pca") -> tuple[pd.DataFrame, str]:
    """The `latent_frame` of the `map_rows` sample of the samples, and a sentence saying how
    many are shown (and that they are drawn with WebGL)."""
    rows = map_rows(len(features), method)
    frame, _ = latent_frame(sample_points(model, features[rows], space), labels[rows],
                            method=method, max_points=rows.size)
    frame["sample"] = rows
    shown = (f"all {rows.size:,} samples" if rows.size == len(features) else
             f"a seeded random {rows.size:,} of {len(features):,} samples")
    notice = f"Showing {shown}"
    if rows.size > WEBGL_ABOVE:
        notice += ", drawn with WebGL (plotly scattergl)"
    if rows.size < len(features):
        notice += (f"; {method.upper()} and the model ran on these only (at most "
                   f"{MAX_UMAP_POINTS if method == 'umap' else MAX_DRAWN_POINTS:,} points)")
    return frame, notice + "."


def label_point_frame(points: np.ndarray, sigma: np.ndarray | None, label_names: list[str],
                      prevalence: np.ndarray, groups: np.ndarray,
                      method: str = "pca") -> pd.DataFrame:
    """One row per label: its point (Gaussian mean mu_i or embedding) in 2-D, prevalence, group,
    and for Gaussians their spread.

    With PCA the spread along each axis is the projected sd, sqrt(a^T diag(sigma_i^2) a);
    UMAP is not linear, so there only the mean latent sd (`spread`) is given.
    """
    xy = project_2d(points, method)
    frame = pd.DataFrame({"label": list(label_names), "x": xy[:, 0], "y": xy[:, 1],
                          "prevalence": np.asarray(prevalence, dtype=float),
                          "group": [str(g) for g in groups]})
    if sigma is None:
        return frame
    frame["spread"] = np.sqrt((np.asarray(sigma, dtype=float) ** 2).mean(axis=1))
    if method == "pca":
        _, axes = pca_axes(points)
        projected_sd = np.sqrt((np.asarray(sigma, dtype=float) ** 2) @ axes**2)  # (L, 2)
        frame["sd_x"], frame["sd_y"] = projected_sd[:, 0], projected_sd[:, 1]
    return frame


def latent_frame(points: np.ndarray, labels: np.ndarray, *, method: str = "pca",
                 max_points: int = MAX_UMAP_POINTS) -> tuple[pd.DataFrame, str | None]:
    """Samples' points (see `sample_points`) in 2-D: columns `sample` (row), `dim 1`, `dim 2`,
    `labels` (count).

    Returns the frame and a notice when it holds a random subsample (else None).
    """
    rows = subsample(points.shape[0], max_points)
    notice = None
    if rows.size < points.shape[0]:
        notice = (f"Showing a random {rows.size:,} of {points.shape[0]:,} samples: "
                  "the projection's cost grows with the number of points.")
    xy = project_2d(points[rows], method)
    frame = pd.DataFrame({"sample": rows, "dim 1": xy[:, 0], "dim 2": xy[:, 1],
                          "labels": np.asarray(labels)[rows].sum(axis=1).astype(int)})
    return frame, notice


def selected_samples(points: list[dict], trace_samples: list[np.ndarray],
                     n_samples: int) -> list[int]:
    """The sorted sample rows of the points in a Streamlit plotly selection event.

    Each point's `customdata` holds its sample row first, but Streamlit hands it over as a list,
    a scalar or, when plotly.js decoded the figure's typed array, a dict ``{"0": row, ...}``;
    without it, `point_index` into its trace (`curve_number`) is looked up in `trace_samples`,
    the sample rows of each trace. Rows outside 0..n_samples-1 are dropped.
    """
    rows = set()
    for point in points:
        row = _first_value(point.get("customdata"))
        if row is None:
            row = _row_by_index(point, trace_samples)
        if row is not None and 0 <= row < n_samples:
            rows.add(row)
    return sorted(rows)


def _first_value(customdata) -> int | None:
    if isinstance(customdata, dict):
        customdata = customdata.get("0", next(iter(customdata.values()), None))
    elif isinstance(customdata, (list, tuple)):
        customdata = customdata[0] if customdata else None
    try:
        return None if customdata is None else int(customdata)
    except (TypeError, ValueError):
        return None


def _row_by_index(point: dict, trace_samples: list[np.ndarray]) -> int | None:
    curve = point.get("curve_number", 0)
    index = point.get("point_index", point.get("point_number"))
    if (not isinstance(curve, int) or not isinstance(index, int)
            or not 0 <= curve < len(trace_samples)):
        return None
    samples = trace_samples[curve]
    return int(samples[index]) if 0 <= index < len(samples) else None
