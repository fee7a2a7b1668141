"""Multi-label metrics of the paper's section 4.2, vectorised threshold search, ranking metrics."""

from __future__ import annotations

import numpy as np

METRICS = ("hamming_accuracy", "example_f1", "micro_f1", "macro_f1", "precision_at_1")
THRESHOLDED = METRICS[:4]  # precision@1 ranks `proba` and needs no threshold

FIXED_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)  # 0.05, 0.10, ..., 0.95
RATE_MULTIPLIERS = 2.0 ** np.linspace(-2.0, 2.0, 9)  # predict 1/4x .. 4x the true label density
QUANTILE_SAMPLE = 100_000  # scores used to place the quantile thresholds of `default_grid`


def _check(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """(N, L) bool labels and (N, L) float64 scores, or ValueError saying what is wrong."""
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)  # float64 so `>=` agrees with the grid search
    if y_true.ndim != 2 or y_true.shape != proba.shape:
        raise ValueError(f"expected y_true and proba of one (N, L) shape, got "
                         f"{y_true.shape} and {proba.shape}")
    if not ((y_true == 0) | (y_true == 1)).all():
        raise ValueError("y_true must hold only 0 and 1")
    return y_true.astype(bool), proba


def _f1(tp, fp, fn, empty_value: float) -> np.ndarray:
    """Elementwise 2tp / (2tp + fp + fn), `empty_value` where that denominator is 0."""
    denominator = 2 * tp + fp + fn
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, 2 * tp / safe, empty_value)


def _scores(tp_label, fp_label, fn_label, tp_sample, fp_sample, fn_sample, n_cells):
    """The four thresholded metrics from confusion counts; counts may carry a leading (T,) axis.

    Label counts are (..., L), sample counts (..., N), `n_cells` = N * L.
    """
    return {
        "hamming_accuracy": 1.0 - (fp_label.sum(-1) + fn_label.sum(-1)) / n_cells,
        "example_f1": _f1(tp_sample, fp_sample, fn_sample, empty_value=1.0).mean(-1),
        "micro_f1": _f1(tp_label.sum(-1), fp_label.sum(-1), fn_label.sum(-1), empty_value=0.0),
        "macro_f1": _f1(tp_label, fp_label, fn_label, empty_value=0.0).mean(-1),
    }


def precision_at_1(y_true, proba) -> float:
    """Fraction of samples whose top-scored label is a true label.

    Ties go to the first label (``argmax``); a sample without any true label scores 0.
    """
    y_true, proba = _check(y_true, proba)
    top = proba.argmax(axis=1)
    return float(y_true[np.arange(len(top)), top].mean())


def evaluate(y_true, proba, threshold) -> dict[str, float]:
    """The five metrics of the paper (section 4.2) at a given threshold.

    Parameters
    ----------
    y_true : (N, L) array of 0/1
    proba : (N, L) array of scores; a label is predicted where ``proba >= threshold``.
    threshold : float or (L,) array of per-label thresholds

    Returns
    -------
    dict with the keys of `METRICS`:

    - ``hamming_accuracy``: mean over samples and labels of ``y == y_hat``.
    - ``example_f1``: mean over samples of 2|y & y_hat| / (|y| + |y_hat|); a sample with no true
      and no predicted label scores 1.0 (sklearn ``f1_score(average="samples", zero_division=1)``).
    - ``micro_f1``: 2 sum tp / (2 sum tp + sum fp + sum fn), the standard definition. The paper's
      printed formula lacks the factor 2 in the numerator, a typo (it would cap micro-F1 at 0.5
      while the paper reports larger values). 0 when there is nothing to count.
    - ``macro_f1``: mean over labels of 2tp / (2tp + fp + fn); a label never true and never
      predicted (denominator 0) counts 0, like sklearn ``f1_score(average="macro",
      zero_division=0)``. This penalises a split in which some label never occurs; we keep it so
      that macro-F1 always averages over all L labels, as the paper's formula does.
    - ``precision_at_1``: see `precision_at_1` (uses `proba`, not the threshold).
    """
    y_true, proba = _check(y_true, proba)
    threshold = np.asarray(threshold, dtype=np.float64)
    per_label_mismatch = threshold.ndim == 1 and threshold.shape[0] != proba.shape[1]
    if threshold.ndim not in (0, 1) or per_label_mismatch:
        raise ValueError(f"threshold must be a float or ({proba.shape[1]},), got {threshold.shape}")
    predicted = proba >= threshold
    hits, false_alarms, misses = y_true & predicted, ~y_true & predicted, y_true & ~predicted
    scores = _scores(hits.sum(0), false_alarms.sum(0), misses.sum(0),
                     hits.sum(1), false_alarms.sum(1), misses.sum(1), y_true.size)
    scores = {name: float(value) for name, value in scores.items()}
    scores["precision_at_1"] = precision_at_1(y_true, proba)
    return scores


def default_grid(proba) -> np.ndarray:
    """Candidate thresholds: 0.05..0.95 step 0.05 plus quantiles of `proba` (sorted, unique).

    The fixed part is the usual grid of the MLC literature and is what a calibrated model needs.
    The quantile part adapts to badly calibrated or very sparse outputs (ML-kNN posteriors, the
    ~2% label density of delicious), where the best threshold can lie below 0.05: it holds the
    thresholds at which the predicted label density is 1/4x .. 4x the mean score (an estimate of
    the true density), 9 log-spaced values. The search stays over ~28 thresholds.
    """
    scores = np.asarray(proba, dtype=np.float64).ravel()
    scores = scores[:: max(1, scores.size // QUANTILE_SAMPLE)]  # a strided sample is plenty
    density = float(scores.mean()) if scores.size else 0.0
    if density <= 0.0:
        return FIXED_GRID.copy()
    rates = np.clip(density * RATE_MULTIPLIERS, 0.0, 1.0)
    quantiles = np.quantile(scores, 1.0 - rates)
    return np.unique(np.concatenate([FIXED_GRID, quantiles]))


def _counts_above(histogram: np.ndarray) -> np.ndarray:
    """(R, T+1) counts per bin -> (R, T) counts in bins strictly above each threshold index."""
    from_top = np.cumsum(histogram[:, ::-1], axis=1)[:, ::-1]
    return from_top[:, 1:]


def _grid_bins(proba, grid) -> np.ndarray:
    """(N, L) number of grid thresholds ``<= proba``: a cell is predicted 1 for ``grid[:bin]``."""
    bins = np.zeros(proba.shape, dtype=np.int32)
    for threshold in grid:  # T passes of `>=` beat searchsorted on unsorted scores, and match it
        bins += proba >= threshold
    return bins


def _confusion_over_grid(y_true, bins, n_thresholds: int, per_label: bool):
    """tp, fp, fn of shape (T, L) if `per_label` else (T, N), for every grid threshold.

    Instead of a (T, N, L) boolean tensor, each score is binned once (`_grid_bins`). Per-row
    histograms of the bins, summed from the top, give all counts in O(N L + (N + L) T).
    """
    n_bins = n_thresholds + 1
    n_rows = bins.shape[1] if per_label else bins.shape[0]
    rows = np.arange(n_rows).reshape((1, -1) if per_label else (-1, 1))
    cell_ids = rows * n_bins + bins
    all_hist = np.bincount(cell_ids.ravel(), minlength=n_rows * n_bins).reshape(n_rows, n_bins)
    pos_hist = np.bincount(cell_ids[y_true], minlength=n_rows * n_bins).reshape(n_rows, n_bins)
    tp = _counts_above(pos_hist)
    fp = _counts_above(all_hist) - tp
    fn = y_true.sum(axis=0 if per_label else 1)[:, None] - tp
    return tp.T, fp.T, fn.T


def _grid_and_bins(proba, grid) -> tuple[np.ndarray, np.ndarray]:
    """The sorted unique grid (default if None) and the bins of `proba` on it."""
    grid = default_grid(proba) if grid is None else np.unique(np.asarray(grid, dtype=np.float64))
    return grid, _grid_bins(proba, grid)


def threshold_curves(y_true, proba, grid=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each thresholded metric at every threshold of a grid, in one vectorised pass.

    Parameters
    ----------
    y_true : (N, L) array of 0/1
    proba : (N, L) array of scores
    grid : 1-D array of thresholds, or None for `default_grid`

    Returns
    -------
    grid : (T,) sorted unique thresholds
    curves : dict from each of the four thresholded metric names to a (T,) array of scores,
        equal to `evaluate` at that threshold.
    """
    y_true, proba = _check(y_true, proba)
    grid, bins = _grid_and_bins(proba, grid)
    by_label = _confusion_over_grid(y_true, bins, len(grid), per_label=True)
    by_sample = _confusion_over_grid(y_true, bins, len(grid), per_label=False)
    return grid, _scores(*by_label, *by_sample, y_true.size)


def best_thresholds(y_true, proba, grid=None) -> dict[str, float]:
    """The global threshold that maximises each metric on the given (validation) data.

    Parameters
    ----------
    y_true, proba : (N, L) arrays, as for `evaluate`
    grid : candidate thresholds, or None for `default_grid`

    Returns
    -------
    dict from each name in `METRICS` to its best threshold; ties go to the smallest threshold.
    ``precision_at_1`` does not depend on the threshold and gets 0.5.
    """
    grid, curves = threshold_curves(y_true, proba, grid)
    best = {name: float(grid[np.argmax(curve)]) for name, curve in curves.items()}
    best["precision_at_1"] = 0.5
    return best


def best_label_thresholds(y_true, proba, grid=None, fallback: float = 0.5) -> np.ndarray:
    """Per-label thresholds, each maximising that label's F1 on the given (validation) data.

    Parameters
    ----------
    y_true, proba : (N, L) arrays, as for `evaluate`
    grid : candidate thresholds shared by all labels, or None for `default_grid`
    fallback : threshold of labels without any positive in `y_true` (their F1 is 0 everywhere)

    Returns
    -------
    (L,) float64 array; ties go to the smallest threshold.
    """
    y_true, proba = _check(y_true, proba)
    grid, bins = _grid_and_bins(proba, grid)
    tp, fp, fn = _confusion_over_grid(y_true, bins, len(grid), per_label=True)  # each (T, L)
    label_f1 = _f1(tp, fp, fn, empty_value=0.0)
    thresholds = grid[np.argmax(label_f1, axis=0)]
    return np.where(y_true.any(axis=0), thresholds, fallback)


def per_label_thresholds_help(val_labels: np.ndarray, proba: np.ndarray, seed: int = 0,
                              splits: int = 1) -> bool:
    """Whether per-label thresholds beat one global threshold for macro-F1, judged honestly by
    2-fold cross-fitting on the validation rows (tune on one half, score on the other): by one
    random split (the rule of every table today), or by the mean gain of `splits` of them, a
    surer decision on few validation rows (`benchmarks.threshold_rule`)."""
    gains = [per_label_gain(val_labels, proba, seed + k) for k in range(splits)]
    return float(np.mean(gains)) > 0.0


def per_label_gain(val_labels: np.ndarray, proba: np.ndarray, seed: int) -> float:
    """Macro-F1 of per-label thresholds minus that of one global threshold, summed over the two
    halves of a random 2-fold split of the validation rows (seeded): each half is scored at the
    thresholds tuned on the other."""
    order = np.random.default_rng(seed).permutation(len(val_labels))
    halves = np.array_split(order, 2)
    gain = 0.0
    for tune, score in (halves, halves[::-1]):
        overall = best_thresholds(val_labels[tune], proba[tune])["macro_f1"]
        per_label = best_label_thresholds(val_labels[tune], proba[tune], fallback=overall)
        gain += (evaluate(val_labels[score], proba[score], per_label)["macro_f1"]
                 - evaluate(val_labels[score], proba[score], overall)["macro_f1"])
    return gain


def validation_threshold_parts(val_labels, proba, splits: int = 1
                               ) -> tuple[dict[str, float], np.ndarray, bool]:
    """What validation rows decide about thresholds: the global best of each metric, per-label
    thresholds (labels with no positive fall back to the micro-F1 one), and whether macro-F1
    should use the per-label ones (`per_label_thresholds_help` over `splits` splits)."""
    overall = best_thresholds(val_labels, proba)
    per_label = best_label_thresholds(val_labels, proba, fallback=overall["micro_f1"])
    return overall, per_label, per_label_thresholds_help(val_labels, proba, splits=splits)


def metric_thresholds(overall: dict[str, float], per_label: np.ndarray | None,
                      macro_per_label: bool) -> dict[str, float | np.ndarray]:
    """The threshold each metric is scored at: its global one, but per label for macro-F1 when
    `macro_per_label` (and per-label thresholds exist)."""
    thresholds: dict[str, float | np.ndarray] = dict(overall)
    if macro_per_label and per_label is not None:
        thresholds["macro_f1"] = per_label
    return thresholds


def validation_thresholds(val_labels, proba, splits: int = 1) -> dict[str, float | np.ndarray]:
    """The threshold of each metric, chosen on validation rows: the global best for each, and for
    macro-F1 per-label thresholds where `per_label_thresholds_help` says they beat it (the rule
    `TrainedModel.tune_thresholds` follows, so that every method of a benchmark gets it)."""
    return metric_thresholds(*validation_threshold_parts(val_labels, proba, splits))


def label_ranking_average_precision(y_true, proba) -> float:
    """LRAP: sklearn's ``label_ranking_average_precision_score`` (ties ranked pessimistically).

    A sample whose labels are all false or all true scores 1.
    """
    from sklearn.metrics import label_ranking_average_precision_score  # ~1 s to import

    y_true, proba = _check(y_true, proba)
    return float(label_ranking_average_precision_score(y_true.astype(np.int8), proba))


def macro_roc_auc(y_true, proba) -> float:
    """Mean ROC-AUC over labels that have both classes in `y_true` (NaN if none has).

    Each label's AUC is sklearn's ``roc_auc_score(y_true[:, j], proba[:, j])`` (`label_aucs`).
    Not sklearn's ``roc_auc_score(average="macro")`` itself: it loops over labels through its
    input checks, 4.0 s against 0.15 s at delicious size (1000 rows x 983 labels), and training
    computes this every epoch to select the epoch.
    """
    y_true, proba = _check(y_true, proba)
    auc = label_aucs(y_true, proba)
    return float(np.nanmean(auc)) if not np.isnan(auc).all() else float("nan")


AUC_LABELS_PER_BLOCK = 64  # label columns copied contiguous at a time (memory: N x 64)


def label_aucs(y_true, proba) -> np.ndarray:
    """(L,) ROC-AUC of each label, NaN where the rows hold one class only.

    Mann-Whitney U / (n_pos n_neg), a tie counting half (as sklearn's `roc_auc_score`): each
    column sorted once and its (sorted) positives' places looked up. numpy only (no scipy
    import); columns are copied contiguous a block of labels at a time, so memory stays flat
    in the number of labels (and strided column reads do not dominate: half the time of
    reading them in place, 20,000 rows x 500 labels).
    """
    truth = np.asarray(y_true) > 0.5
    proba = np.asarray(proba)
    auc = np.full(truth.shape[1], np.nan)
    scored = truth.any(axis=0) & ~truth.all(axis=0)
    for start in range(0, truth.shape[1], AUC_LABELS_PER_BLOCK):
        block = slice(start, start + AUC_LABELS_PER_BLOCK)
        scores, present = np.ascontiguousarray(proba[:, block].T), np.ascontiguousarray(
            truth[:, block].T)
        for offset in np.flatnonzero(scored[block]):
            column = np.sort(scores[offset])
            positive = np.sort(scores[offset][present[offset]])  # sorted: cache-friendly lookups
            below = np.searchsorted(column, positive, side="left")  # scores under each positive
            tied = np.searchsorted(column, positive, side="right") - below  # itself included
            n_pos = positive.size
            # over all rows, positive-vs-positive pairs included: each unordered pair of
            # positives adds exactly 1 (one side wins, or a tie counts half twice),
            # n_pos (n_pos - 1) / 2 in all
            pairs_won = below.sum() + 0.5 * (tied.sum() - n_pos) - n_pos * (n_pos - 1) / 2
            auc[start + offset] = pairs_won / (n_pos * (len(column) - n_pos))
    return auc


def ranking_metrics(y_true, proba) -> dict[str, float]:
    """Threshold-free metrics: ``{"lrap": ..., "macro_auc": ...}``.

    See `label_ranking_average_precision` and `macro_roc_auc` (labels with one class skipped).
    """
    return {"lrap": label_ranking_average_precision(y_true, proba),
            "macro_auc": macro_roc_auc(y_true, proba)}


def mean_label_auc(y_true, proba) -> float:
    """Mean per-label ROC-AUC, the "mean species AUC" of species distribution models.

    Each label's AUC equals sklearn's ``roc_auc_score(y_true[:, j], proba[:, j])``; labels with
    only one class in `y_true` are skipped (NaN if every label is). Same as `macro_roc_auc`.
    """
    return macro_roc_auc(y_true, proba)
