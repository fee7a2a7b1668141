"""Is a new site like the training sites? The two kinds of novelty of Mesgaran et al.'s (2014)
ExDet, which ecologists use to map where a species model extrapolates (R's `dsmextra`):

- **NT1**, a covariate outside its training range (`TrainedModel.outside_training_range`);
- **NT2**, every covariate within its range but their *combination* unlike the training sites':
  the site's Mahalanobis distance to the centre of the training sites, over the largest such
  distance of a training site. Above 1, no training site was as unusual: e.g. a dry meadow at an
  elevation where only wet ones were surveyed.

Distances are taken on the standardized inputs (one-hot columns included), with the inverse of
their covariance whose eigenvalues are floored at SPREAD_FLOOR of their mean. Exact constraints
of the training sites (a category's columns sum to 1; a reserve lies in one region) are
directions of no spread: a pseudo-inverse would ignore them, so that a site in a reserve of
another region scored as typical; floored, they count as a very small spread, so that breaking
a constraint is flagged while the rounding of a new table's fractions is not. Models with more
than MAX_INPUTS inputs (text-like data) skip NT2.
"""

from __future__ import annotations

import numpy as np

MAX_INPUTS = 100  # wider inputs are features of text-like data, not covariates of sites
NOVEL = 1.0  # NT2 above this: no training site was as unusual
SPREAD_FLOOR = 1e-3  # smallest eigenvalue of the covariance, as a share of their mean
CHUNK_ROWS = 65_536  # rows per product, so that a million training rows need no float64 copy


def novelty_metric(features: np.ndarray, standardize=None) -> np.ndarray | None:
    """(D, D) the quadratic form M whose root sqrt(s M s) is ExDet's NT2 of a standardized row s:
    the inverse of the training rows' covariance (eigenvalues floored), divided by the largest
    squared Mahalanobis distance of a training row (so that the most unusual training site
    scores 1). `features` are the training rows, standardized by `standardize` chunk by chunk (no
    copy of them all), or already standardized when it is None; the standardizer centres them
    (exactly, for the rows it was fitted on). None for more than MAX_INPUTS inputs or fewer than
    two rows."""
    rows, width = features.shape
    if width > MAX_INPUTS or rows < 2:
        return None
    products = np.zeros((width, width))
    for chunk in _chunks(features, standardize):
        products += chunk.T @ chunk
    spread, directions = np.linalg.eigh(products / rows)
    spread = np.maximum(spread, SPREAD_FLOOR * max(float(spread.mean()), 1e-12))
    precision = (directions / spread) @ directions.T
    largest = max(float(squared_distances(chunk, precision).max())
                  for chunk in _chunks(features, standardize))
    return precision / max(largest, 1e-12)


def _chunks(features: np.ndarray, standardize):
    for first in range(0, len(features), CHUNK_ROWS):
        chunk = features[first:first + CHUNK_ROWS]
        yield np.asarray(chunk if standardize is None else standardize(chunk), dtype=np.float64)


def novelty(standardized: np.ndarray, metric: np.ndarray) -> np.ndarray:
    """(N,) ExDet's NT2 of standardized rows under `novelty_metric`: above 1 is a combination of
    covariates no training site had."""
    return np.sqrt(squared_distances(standardized, metric))


def squared_distances(standardized: np.ndarray, metric: np.ndarray) -> np.ndarray:
    """(N,) s M s for each row s, in chunks of rows (never negative)."""
    out = np.concatenate([np.einsum("nd,de,ne->n", chunk, metric, chunk)
                          for chunk in _chunks(standardized, None)] or [np.zeros(0)])
    return np.clip(out, 0.0, None)


def unlike_training(outside_counts: np.ndarray | None, nt2: np.ndarray | None,
                    rows: int) -> np.ndarray:
    """(rows,) True for a row with a covariate outside its training range (`outside_counts`
    > 0, NT1) or a combination no training site had (`nt2` above NOVEL); either may be None
    (not known)."""
    unlike = np.zeros(rows, dtype=bool)
    if outside_counts is not None:
        unlike |= np.asarray(outside_counts) > 0
    if nt2 is not None:
        unlike |= np.asarray(nt2) > NOVEL
    return unlike



def least_novel_completion(metric: np.ndarray, free: np.ndarray):
    """A function of a standardized row that sets its `free` inputs (a boolean mask) to the
    values that make it least novel given the others (minimising s M s): where the training
    sites' cloud is centred for those fixed inputs, e.g. the typical elevation and rainfall of
    one reserve. The solve is done once, so the function can be called for many rows."""
    fixed = ~free
    inverse = np.linalg.pinv(metric[np.ix_(free, free)], hermitian=True)  # older models: singular
    coupling = -inverse @ metric[np.ix_(free, fixed)]

    def complete(standardized: np.ndarray) -> np.ndarray:
        row = np.asarray(standardized, dtype=np.float64).copy()
        row[free] = coupling @ row[fixed]
        return row

    return complete
