"""Tests of cgmvae.metrics: hand-worked numbers, sklearn agreement, edge cases, threshold search."""

import numpy as np
import pytest
from sklearn import metrics as skm

from cgmvae import metrics

# A 3 samples x 3 labels example worked by hand in the comments of the tests below.
Y_3x3 = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])
P_3x3 = np.array([[0.9, 0.6, 0.2], [0.1, 0.4, 0.7], [0.3, 0.2, 0.1]])


def random_problem(n_samples, n_labels, seed=0, density=0.2):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n_samples, n_labels)) < density).astype(np.float32)
    proba = np.clip(0.35 * y_true + 0.65 * rng.random((n_samples, n_labels)), 0, 1)
    proba[:, :2] = np.round(proba[:, :2], 1)  # ties, which ranking metrics must handle
    return y_true, proba


def test_metrics_names_follow_the_contract():
    assert metrics.METRICS == (
        "hamming_accuracy", "example_f1", "micro_f1", "macro_f1", "precision_at_1")


def test_evaluate_matches_the_3x3_example_worked_by_hand():
    # threshold 0.5 -> predictions [[1,1,0],[0,0,1],[0,0,0]]
    # labels: (tp, fp, fn) = (1,0,0), (0,1,1), (0,1,1) -> F1 1, 0, 0
    # samples: F1 = 2*1/(2+2) = 0.5, 0, and 1.0 for the empty-empty third row
    # 4 wrong cells of 9; top-1 labels 0, 2, 0 -> hit, miss, miss (row 3 has no true label)
    scores = metrics.evaluate(Y_3x3, P_3x3, 0.5)
    assert scores == pytest.approx({
        "hamming_accuracy": 5 / 9,
        "example_f1": 0.5,
        "micro_f1": 2 * 1 / (2 * 1 + 2 + 2),
        "macro_f1": 1 / 3,
        "precision_at_1": 1 / 3,
    })


def test_micro_f1_has_the_factor_two_the_papers_formula_lacks():
    # the paper's printed sum tp / (2 sum tp + sum fp + sum fn) would give 1/6 here
    assert metrics.evaluate(Y_3x3, P_3x3, 0.5)["micro_f1"] == pytest.approx(1 / 3)


def test_evaluate_with_per_label_thresholds_matches_hand_computation():
    # thresholds (0.5, 0.3, 0.8) -> predictions [[1,1,0],[0,1,0],[0,0,0]]
    # labels: (1,0,0), (1,1,0), (0,0,1) -> F1 1, 2/3, 0; micro tp=2 fp=1 fn=1 -> 4/6
    # samples: 0.5, 1, 1; 2 wrong cells
    scores = metrics.evaluate(Y_3x3, P_3x3, np.array([0.5, 0.3, 0.8]))
    assert scores["macro_f1"] == pytest.approx(5 / 9)
    assert scores["micro_f1"] == pytest.approx(2 / 3)
    assert scores["example_f1"] == pytest.approx(5 / 6)
    assert scores["hamming_accuracy"] == pytest.approx(7 / 9)


def test_prediction_includes_scores_equal_to_the_threshold():
    scores = metrics.evaluate([[1, 0]], [[0.5, 0.2]], 0.5)
    assert scores["micro_f1"] == 1.0


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_f1_and_hamming_agree_with_sklearn_on_random_data(threshold):
    y_true, proba = random_problem(200, 12)
    y_true[:5] = 0  # empty rows: sklearn's samples-F1 agrees with zero_division=1
    y_true[:, 3] = 0  # a label never present: sklearn's macro-F1 agrees with zero_division=0
    predicted = proba >= threshold
    scores = metrics.evaluate(y_true, proba, threshold)
    assert scores["micro_f1"] == pytest.approx(skm.f1_score(y_true, predicted, average="micro"))
    assert scores["macro_f1"] == pytest.approx(
        skm.f1_score(y_true, predicted, average="macro", zero_division=0))
    assert scores["example_f1"] == pytest.approx(
        skm.f1_score(y_true, predicted, average="samples", zero_division=1))
    assert scores["hamming_accuracy"] == pytest.approx(1 - skm.hamming_loss(y_true, predicted))


def test_macro_f1_counts_a_label_never_true_nor_predicted_as_zero():
    y_true = np.array([[1, 0], [1, 0]])
    proba = np.array([[0.9, 0.1], [0.8, 0.2]])
    # label 1 has 2tp + fp + fn = 0: it scores 0 (sklearn zero_division=0), not 1
    assert metrics.evaluate(y_true, proba, 0.5)["macro_f1"] == 0.5
    assert skm.f1_score(y_true, proba >= 0.5, average="macro", zero_division=1) == 1.0


def test_all_zero_rows_and_no_predictions_give_documented_values():
    y_true = np.zeros((4, 3))
    proba = np.full((4, 3), 0.1)
    assert metrics.evaluate(y_true, proba, 0.5) == {
        "hamming_accuracy": 1.0,
        "example_f1": 1.0,  # no true and no predicted label: a perfect sample
        "micro_f1": 0.0,  # nothing to count
        "macro_f1": 0.0,
        "precision_at_1": 0.0,  # the top label is never a true one
    }


def test_precision_at_1_breaks_ties_towards_the_first_label():
    assert metrics.precision_at_1([[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]]) == 0.5


def test_evaluate_rejects_mismatched_shapes_non_binary_labels_and_bad_thresholds():
    with pytest.raises(ValueError, match="shape"):
        metrics.evaluate(np.zeros((3, 2)), np.zeros((3, 3)), 0.5)
    with pytest.raises(ValueError, match="0 and 1"):
        metrics.evaluate(np.full((2, 2), 0.5), np.zeros((2, 2)), 0.5)
    with pytest.raises(ValueError, match="threshold"):
        metrics.evaluate(np.zeros((2, 2)), np.zeros((2, 2)), np.array([0.5, 0.5, 0.5]))


def test_ranking_metrics_agree_with_sklearn_including_ties():
    y_true, proba = random_problem(150, 10, seed=1)
    y_true[:3] = 0
    y_true[3] = 1
    y_true[:, 4] = 0  # skipped by macro AUC
    scores = metrics.ranking_metrics(y_true, proba)
    both = (y_true.min(axis=0) == 0) & (y_true.max(axis=0) == 1)
    assert scores["lrap"] == pytest.approx(
        skm.label_ranking_average_precision_score(y_true, proba))
    assert scores["macro_auc"] == pytest.approx(
        skm.roc_auc_score(y_true[:, both], proba[:, both], average="macro"))


def test_ranking_metrics_by_hand_on_the_3x3_example():
    # row 1: true labels 0 (rank 1) and 2 (rank 3, 2 true at or above) -> (1 + 2/3) / 2
    # row 2: true label 1 ranked 2nd -> 1/2; row 3 has no true label -> 1
    # AUC: label 0 = 1, label 1 = 1/2 (0.4 beats 0.2, loses to 0.6), label 2 = 1/2
    scores = metrics.ranking_metrics(Y_3x3, P_3x3)
    assert scores["lrap"] == pytest.approx((5 / 6 + 1 / 2 + 1) / 3)
    assert scores["macro_auc"] == pytest.approx(2 / 3)


def test_lrap_scores_a_sample_with_no_or_all_true_labels_as_one():
    # rows 1 and 2: no ranking to judge -> 1 each; row 3: its one true label ranked 2nd -> 1/2
    y_true = np.array([[0, 0, 0], [1, 1, 1], [0, 1, 0]])
    proba = np.array([[0.1, 0.5, 0.9], [0.2, 0.3, 0.4], [0.9, 0.5, 0.1]])
    assert metrics.label_ranking_average_precision(y_true, proba) == pytest.approx(5 / 6)


def test_macro_auc_skips_labels_without_positives_and_counts_ties_as_half():
    # label 0 separates perfectly (1), label 1 has no positive (skipped, however it is scored),
    # label 2 scores its one positive level with one of two negatives (1/2 + 1/2 * 1/2 = 3/4)
    y_true = np.array([[1, 0, 1], [0, 0, 0], [0, 0, 0]])
    proba = np.array([[0.9, 0.9, 0.5], [0.1, 0.1, 0.5], [0.2, 0.0, 0.2]])
    assert metrics.macro_roc_auc(y_true, proba) == pytest.approx((1 + 3 / 4) / 2)


def test_macro_auc_is_nan_when_no_label_has_both_classes():
    assert np.isnan(metrics.ranking_metrics(np.zeros((3, 2)), np.full((3, 2), 0.3))["macro_auc"])


def test_threshold_curves_equal_evaluate_at_every_grid_threshold():
    y_true, proba = random_problem(120, 7, seed=2)
    proba = proba.astype(np.float32)
    proba[0, :3] = np.float32([0.1, 0.3, 0.7])  # scores equal to grid values, in float32
    grid, curves = metrics.threshold_curves(y_true, proba, grid=np.arange(0.1, 1.0, 0.1))
    for index, threshold in enumerate(grid):
        expected = metrics.evaluate(y_true, proba, threshold)
        for name in metrics.THRESHOLDED:
            assert curves[name][index] == pytest.approx(expected[name], abs=1e-12)


def test_best_thresholds_pick_the_argmax_of_evaluate_over_the_grid():
    y_true, proba = random_problem(300, 9, seed=3)
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    best = metrics.best_thresholds(y_true, proba, grid)
    for name in metrics.THRESHOLDED:
        brute_force = [metrics.evaluate(y_true, proba, t)[name] for t in grid]
        assert best[name] == grid[int(np.argmax(brute_force))]
    assert best["precision_at_1"] == 0.5


def test_best_thresholds_find_the_threshold_that_separates_the_classes():
    # positives scored 0.35, negatives 0.25: only 0.3 on the grid gets everything right
    y_true = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    proba = np.where(y_true == 1, 0.35, 0.25)
    best = metrics.best_thresholds(y_true, proba, grid=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert {name: best[name] for name in metrics.THRESHOLDED} == dict.fromkeys(
        metrics.THRESHOLDED, 0.3)


def test_default_grid_reaches_below_005_for_badly_calibrated_sparse_scores():
    rng = np.random.default_rng(4)
    y_true = (rng.random((500, 20)) < 0.03).astype(float)
    proba = 0.02 * rng.random((500, 20)) + 0.02 * y_true  # every score below 0.04
    grid = metrics.default_grid(proba)
    assert set(metrics.FIXED_GRID) <= set(grid)
    best = metrics.best_thresholds(y_true, proba)
    assert best["micro_f1"] < 0.05
    assert metrics.evaluate(y_true, proba, best["micro_f1"])["micro_f1"] > 0.5


def test_best_label_thresholds_maximise_each_labels_f1_and_fall_back_for_absent_labels():
    # label 0 separates only at 0.7, label 1 only at 0.2, label 2 is never true
    y_true = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    scores_if_true = np.array([0.75, 0.25, 0.9])
    scores_if_false = np.array([0.65, 0.15, 0.9])
    proba = np.where(y_true == 1, scores_if_true, scores_if_false)
    grid = np.round(np.arange(0.1, 1.0, 0.1), 1)
    thresholds = metrics.best_label_thresholds(y_true, proba, grid, fallback=0.42)
    np.testing.assert_allclose(thresholds, [0.7, 0.2, 0.42])
    assert metrics.evaluate(y_true, proba, thresholds)["macro_f1"] == pytest.approx(2 / 3)


def test_threshold_search_handles_delicious_sized_validation_sets():
    # speed sanity for N=2000, L=983 (tens of ms, no timing assert): it must not build (T, N, L)
    y_true, proba = random_problem(2000, 983, seed=5, density=0.02)
    best = metrics.best_thresholds(y_true, proba)
    assert set(best) == set(metrics.METRICS)
    assert metrics.best_label_thresholds(y_true, proba).shape == (983,)


def test_macro_auc_needs_no_scipy_and_equals_sklearn_with_ties():
    """One AUC for training, the app and the CLI (`label_aucs`), numpy only: a training process
    no longer imports scipy.stats (0.55 s) to rank validation scores."""
    import subprocess
    import sys

    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y_true = (rng.random((60, 7)) < 0.4).astype(int)
    proba = np.round(rng.random((60, 7)), 1)  # ties
    expected = np.mean([roc_auc_score(y_true[:, j], proba[:, j]) for j in range(7)])
    assert metrics.macro_roc_auc(y_true, proba) == pytest.approx(expected, abs=1e-12)
    code = ("import sys, numpy as np; from cgmvae import metrics; "
            "metrics.macro_roc_auc(np.eye(4), np.eye(4)); print('scipy.stats' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown == "False"
