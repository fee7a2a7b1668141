"""Label-label correlations: empirical co-occurrence, learned similarity, hierarchical
clustering."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform

COOCCURRENCE_KINDS = ("phi", "jaccard")


def cooccurrence(labels: np.ndarray, kind: str = "phi") -> np.ndarray:
    """(L, L) float32 empirical co-occurrence of 0/1 label columns: phi (Pearson) or Jaccard.

    Labels that never (or always) occur get phi 0 with every other label.
    """
    labels = np.asarray(labels)
    return cooccurrence_from_counts(pair_counts(labels), labels.shape[0], kind)


def cooccurrence_from_counts(together: np.ndarray, n_rows: int, kind: str = "phi") -> np.ndarray:
    """`cooccurrence` from the `pair_counts` of `n_rows` rows: both measures from one count."""
    if kind not in COOCCURRENCE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(COOCCURRENCE_KINDS)}, got {kind!r}")
    together = np.asarray(together, dtype=np.float64)
    counts = np.diag(together)
    if kind == "jaccard":
        union = counts[:, None] + counts[None, :] - together
        return np.divide(together, union, out=np.zeros_like(together), where=union > 0).astype(
            np.float32)
    covariance = together / n_rows - np.outer(counts, counts) / n_rows**2
    sd = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    scale = np.outer(sd, sd)
    return np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 0).astype(
        np.float32)


# rows x labels^2 that a first look counts: 200,000 sites x 500 species, ~0.7 s on 2 cores
# (1,000,000 x 500 took 3.6 s, more than the app's 3 s for a page)
QUICK_COUNT_CELLS = 200_000 * 500**2
MIN_QUICK_ROWS = 20_000


def quick_count_size(n_rows: int, n_labels: int) -> int:
    """How many rows a first look counts co-occurrence on: QUICK_COUNT_CELLS / L^2 (at least
    MIN_QUICK_ROWS) when that is at most half the table; else all of them (a sample of most
    rows saves little time and still loses rows)."""
    budget = max(MIN_QUICK_ROWS, QUICK_COUNT_CELLS // max(1, n_labels) ** 2)
    return n_rows if n_rows < 2 * budget else budget


def quick_count_rows(n_rows: int, n_labels: int, *, seed: int = 0) -> np.ndarray:
    """Sorted rows to count co-occurrence on for a first look: all of them, or a seeded random
    sample of `quick_count_size` rows."""
    size = quick_count_size(n_rows, n_labels)
    if size == n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def phi_margin(n_rows: int) -> float:
    """Half-width of the 95% interval of a phi near 0 counted on `n_rows` rows (1.96/sqrt(n)):
    how far a sample's phi can be from the whole table's."""
    return 1.96 / np.sqrt(max(1, n_rows))


PAIR_COUNT_ROWS = 65_536  # rows per float32 product: exact counts, no float64 copy of the table


def pair_counts(labels: np.ndarray) -> np.ndarray:
    """(L, L) float64 number of rows where both labels are present, of 0/1 `labels` (N, L),
    summed over blocks of rows: a 1M x 500 uint8 table never becomes a 4 GB float64 one."""
    labels = np.asarray(labels)
    together = np.zeros((labels.shape[1], labels.shape[1]))
    for start in range(0, labels.shape[0], PAIR_COUNT_ROWS):
        block = labels[start:start + PAIR_COUNT_ROWS].astype(np.float32)
        together += block.T @ block  # float32 is exact below 2**24 rows per block
    return together


def without_diagonal(matrix: np.ndarray) -> np.ndarray:
    """A float32 copy with NaN on the diagonal (self-similarity hides the structure, paper
    Fig. 3)."""
    out = np.array(matrix, dtype=np.float32, copy=True)
    np.fill_diagonal(out, np.nan)
    return out


def similarity_distance(similarity: np.ndarray) -> np.ndarray:
    """Cosine distance 1 - s_ij / sqrt(s_ii s_jj) from a similarity (Gram) matrix, zero diagonal.

    Inner products grow with the embedding norm, which follows label frequency; dividing it out
    groups labels by the direction of their embeddings, i.e. by what they co-occur with.
    """
    s = np.asarray(similarity, dtype=np.float64)
    norm = np.sqrt(np.clip(np.diag(s), 1e-12, None))
    distance = 1.0 - s / np.outer(norm, norm)
    distance = np.clip((distance + distance.T) / 2.0, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    return distance


class LabelClustering(NamedTuple):
    """Average-linkage tree over labels: `tree` (scipy linkage), leaf `order`, `groups` 1..k."""

    tree: np.ndarray
    order: np.ndarray
    groups: np.ndarray


def cluster_labels(similarity: np.ndarray, n_groups: int) -> LabelClustering:
    """Hierarchically cluster labels by `similarity_distance` and cut the tree into `n_groups`."""
    n = similarity.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 labels to cluster, got {n}")
    tree = linkage(squareform(similarity_distance(similarity), checks=False), method="average")
    groups = fcluster(tree, t=max(1, min(n_groups, n)), criterion="maxclust")
    order = leaves_list(tree)
    return LabelClustering(tree, order, _renumber_in_leaf_order(groups, order))


def suggest_n_groups(similarity: np.ndarray, max_groups: int = 20) -> int:
    """The number of groups (2..max_groups) whose cut of the tree has the best silhouette."""
    n = similarity.shape[0]
    if n < 4:
        return max(1, n - 1)
    return _best_cut(similarity, max_groups)[0]


def _best_cut(similarity: np.ndarray, max_groups: int = 20) -> tuple[int, float]:
    """(k, silhouette) of the cut of the average-linkage tree into 2..max_groups groups with the
    best silhouette; at least 4 labels."""
    distance = similarity_distance(similarity)
    tree = linkage(squareform(distance, checks=False), method="average")
    best_k, best_score = 2, -np.inf
    for k in range(2, min(max_groups, similarity.shape[0] - 1) + 1):
        groups = fcluster(tree, t=k, criterion="maxclust")
        if np.unique(groups).size < 2:
            continue
        score = silhouette(distance, groups)
        if score > best_score + 1e-9:
            best_k, best_score = k, score
    return best_k, float(best_score)


class GroupSupport(NamedTuple):
    """How clear the map's best grouping is: its silhouette, the median of the same over maps
    with their pairs shuffled, and the permutation p-value (small: the groups are real)."""

    silhouette: float
    shuffled_median: float
    p_value: float
    n_shuffles: int


def group_support(similarity: np.ndarray, n_shuffles: int = 49, seed: int = 0) -> GroupSupport:
    """Is there any grouping in this map? The best cut's silhouette (`suggest_n_groups`) against
    the same statistic for `n_shuffles` copies of the map whose off-diagonal values are shuffled
    among the pairs (the diagonal kept): a permutation test. Silhouette alone cannot tell: on
    learned maps the built-in model's three guilds score 0.23, and a symmetric noise matrix of 40
    labels 0.40."""
    similarity = np.asarray(similarity, dtype=np.float64)
    n = similarity.shape[0]
    if n < 4:
        return GroupSupport(float("nan"), float("nan"), 1.0, 0)
    observed = _best_cut(similarity)[1]
    upper = np.triu_indices(n, k=1)
    rng = np.random.default_rng(seed)
    shuffled = []
    for _ in range(n_shuffles):
        values = rng.permutation(similarity[upper])
        copy = np.zeros_like(similarity)
        copy[upper] = values
        copy = copy + copy.T
        np.fill_diagonal(copy, np.diag(similarity))
        shuffled.append(_best_cut(copy)[1])
    shuffled = np.asarray(shuffled)
    p_value = (1 + int((shuffled >= observed).sum())) / (n_shuffles + 1)
    return GroupSupport(observed, float(np.median(shuffled)), p_value, n_shuffles)


def silhouette(distance: np.ndarray, groups: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987) of a grouping under a precomputed distance matrix, as
    sklearn.metrics.silhouette_score(distance, groups, metric="precomputed") gives it (0 for a
    member of a one-label group), in one (n, n) x (n, k) product: 19 cuts of 500 labels in
    milliseconds, not the seconds of sklearn's import and calls."""
    distance = np.asarray(distance, dtype=np.float64)
    _, group = np.unique(groups, return_inverse=True)
    members = np.eye(group.max() + 1)[group]  # (n, k) one-hot
    sizes = members.sum(axis=0)
    totals = distance @ members  # (n, k): summed distance from each label to each group
    own = np.arange(len(group)), group
    own_size = sizes[group]
    within = np.divide(totals[own], own_size - 1, out=np.zeros(len(group)), where=own_size > 1)
    to_others = totals / sizes
    to_others[own] = np.inf
    nearest = to_others.min(axis=1)
    spread = np.maximum(within, nearest)
    score = np.divide(nearest - within, spread, out=np.zeros(len(group)), where=spread > 0)
    return float(np.where(own_size > 1, score, 0.0).mean())


def _renumber_in_leaf_order(groups: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Group ids 1, 2, ... in the order the groups appear from left to right in the dendrogram."""
    first_seen = dict.fromkeys(groups[order].tolist())
    new_id = {old: new for new, old in enumerate(first_seen, start=1)}
    return np.array([new_id[g] for g in groups.tolist()], dtype=np.int64)


def group_table(label_names: list[str], groups: np.ndarray, order: np.ndarray,
                prevalence: np.ndarray | None = None) -> pd.DataFrame:
    """One row per label in dendrogram order: position, label, group, group size (prevalence)."""
    table = pd.DataFrame({"position": np.arange(len(order)),
                          "label": np.asarray(label_names, dtype=object)[order],
                          "group": groups[order]})
    table["group size"] = table.groupby("group")["label"].transform("size")
    if prevalence is not None:
        table["prevalence"] = np.asarray(prevalence)[order].round(4)
    return table.reset_index(drop=True)


def nearest_labels(similarity: np.ndarray, label_names: list[str], label: str,
                   k: int = 10) -> pd.DataFrame:
    """The `k` labels most similar to `label` (itself excluded), most similar first."""
    index = list(label_names).index(label)
    row = np.asarray(similarity[index], dtype=np.float64).copy()
    row[index] = -np.inf
    best = np.argsort(-row, kind="stable")[:k]
    return pd.DataFrame({"label": np.asarray(label_names, dtype=object)[best],
                         "similarity": row[best].round(4)})


def representative_labels(label_names: list[str], groups: np.ndarray, prevalence: np.ndarray,
                          max_labels: int = 5) -> list[str]:
    """The most prevalent label of each of the first `max_labels` groups (a diverse default)."""
    chosen = []
    for group in np.unique(groups)[:max_labels]:
        members = np.flatnonzero(groups == group)
        chosen.append(label_names[members[np.argmax(np.asarray(prevalence)[members])]])
    return chosen


def rank_agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman rank correlation between the off-diagonal upper triangles of two (L, L) matrices."""
    from scipy.stats import spearmanr  # ~0.7 s to import: not on the app's first page

    upper = np.triu_indices(first.shape[0], k=1)
    a, b = np.asarray(first)[upper], np.asarray(second)[upper]
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return float("nan")
    return float(spearmanr(a[keep], b[keep]).statistic)


def group_recovery(groups: np.ndarray, true_groups: list[str], *,
                   ignore: str | None = "generalist") -> float:
    """Adjusted Rand index between found `groups` and `true_groups`, skipping labels in `ignore`."""
    from sklearn.metrics import adjusted_rand_score

    true = np.asarray(true_groups, dtype=object)
    keep = true != ignore if ignore is not None else np.ones(true.size, dtype=bool)
    return float(adjusted_rand_score(true[keep], np.asarray(groups)[keep]))


def similarity_frame(model) -> pd.DataFrame:
    """The model's label x label embedding inner products, label names as index and columns."""
    names = list(model.label_names)
    return pd.DataFrame(np.asarray(model.label_similarity(), dtype=np.float32),
                        index=pd.Index(names, name="label"), columns=names)
