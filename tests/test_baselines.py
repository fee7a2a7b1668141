"""Tests of benchmarks.baselines on a small synthetic multi-label problem (fast, one thread)."""

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from benchmarks import baselines
from benchmarks.baselines import BASELINES, MLkNN, score_with_val_thresholds
from cgmvae.metrics import METRICS, best_thresholds, evaluate, validation_thresholds

FAST_SETTINGS = {"mlp": {"max_epochs": 30}}  # the default architecture, a shorter budget


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    # BLAS threads oversubscribe the shared cores: the MLP runs 10x slower without this
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def problem():
    X, Y = make_multilabel_classification(
        n_samples=400, n_features=10, n_classes=5, n_labels=1, random_state=0)
    scaler = StandardScaler().fit(X[:240])
    X_train, X_val, X_test = (scaler.transform(part) for part in (X[:240], X[240:320], X[320:]))
    return X_train, Y[:240], X_val, Y[240:320], X_test, Y[320:]


@pytest.fixture(scope="module")
def fitted(problem):
    X_train, Y_train, X_val, Y_val, _, _ = problem
    return {name: make(**FAST_SETTINGS.get(name, {})).fit(X_train, Y_train, X_val, Y_val)
            for name, make in BASELINES.items()}


def trivial_test_micro_f1(Y_train, Y_val, Y_test):
    """Micro-F1 of predicting each label's training prevalence, threshold tuned on val."""
    prevalence = Y_train.mean(axis=0)
    threshold = best_thresholds(Y_val, np.tile(prevalence, (len(Y_val), 1)))["micro_f1"]
    return evaluate(Y_test, np.tile(prevalence, (len(Y_test), 1)), threshold)["micro_f1"]


def test_registry_names_the_four_baselines():
    assert set(BASELINES) == {"br", "mlknn", "cc", "mlp"}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_beats_predicting_training_prevalence_on_test_micro_f1(name, problem, fitted):
    _, Y_train, _, Y_val, X_test, Y_test = problem
    trivial = trivial_test_micro_f1(Y_train, Y_val, Y_test)
    scores = score_with_val_thresholds(fitted[name], X_test, Y_test)
    assert scores["micro_f1"] > trivial + 0.1, f"{name}: {scores['micro_f1']:.3f} vs {trivial:.3f}"


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_predict_proba_returns_probabilities_of_shape_n_by_l(name, problem, fitted):
    X_test, Y_test = problem[4], problem[5]
    proba = fitted[name].predict_proba(X_test)
    assert proba.shape == Y_test.shape
    assert np.isfinite(proba).all() and proba.min() >= 0.0 and proba.max() <= 1.0


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_knob_is_the_validation_argmax_and_thresholds_come_from_validation(name, problem, fitted):
    model = fitted[name]
    _, _, X_val, Y_val, _, _ = problem
    assert model.best_param_ == max(model.val_scores_, key=model.val_scores_.get)
    expected = validation_thresholds(Y_val, model.predict_proba(X_val))
    assert model.thresholds_.keys() == expected.keys()
    for metric, threshold in expected.items():
        np.testing.assert_array_equal(model.thresholds_[metric], threshold)
    assert set(score_with_val_thresholds(model, X_val, Y_val)) == set(METRICS)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_labels_with_a_single_class_in_training_do_not_crash(name, problem):
    X_train, Y_train, X_val, Y_val, X_test, _ = problem
    Y_train = Y_train.copy()
    Y_train[:, 0] = 0  # never present in training
    Y_train[:, 1] = 1  # always present in training
    settings = {"br": {"c_grid": (1.0,)}, "cc": {"c_grid": (1.0,)}, "mlknn": {"k_grid": (5,)},
                "mlp": {"alpha_grid": (1e-2,), "max_epochs": 5, "hidden_layer_sizes": (16,)}}
    proba = BASELINES[name](**settings[name]).fit(X_train, Y_train, X_val, Y_val).predict_proba(
        X_test)
    assert proba.shape == (len(X_test), Y_train.shape[1])
    if name in ("br", "cc"):  # logistic models predict the one class seen
        np.testing.assert_array_equal(proba[:, :2], np.tile([0.0, 1.0], (len(X_test), 1)))


def naive_mlknn_proba(X_train, Y_train, X_query, k, smoothing):
    """ML-kNN written straight from Zhang & Zhou (2007), loops and all, as a reference."""
    def neighbours(x, skip):
        distances = ((X_train - x) ** 2).sum(axis=1)
        if skip is not None:
            distances[skip] = np.inf
        return np.argsort(distances, kind="stable")[:k]

    m, n_labels = Y_train.shape
    counts = np.array([Y_train[neighbours(x, i)].sum(axis=0) for i, x in enumerate(X_train)])
    proba = np.zeros((len(X_query), n_labels))
    for j in range(n_labels):
        prior = (smoothing + Y_train[:, j].sum()) / (2 * smoothing + m)
        c_true = np.array([np.sum((Y_train[:, j] == 1) & (counts[:, j] == c))
                           for c in range(k + 1)])
        c_false = np.array([np.sum((Y_train[:, j] == 0) & (counts[:, j] == c))
                            for c in range(k + 1)])
        for row, x in enumerate(X_query):
            c = int(Y_train[neighbours(x, None), j].sum())
            given_true = (smoothing + c_true[c]) / (smoothing * (k + 1) + c_true.sum())
            given_false = (smoothing + c_false[c]) / (smoothing * (k + 1) + c_false.sum())
            proba[row, j] = prior * given_true / (prior * given_true + (1 - prior) * given_false)
    return proba


def test_mlknn_matches_a_loop_implementation_of_zhang_and_zhou():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))  # continuous: no distance ties, one neighbour order
    Y = (rng.random((50, 3)) < 0.4).astype(float)
    model = MLkNN(k_grid=(4,), smoothing=1.0).fit(X[:40], Y[:40], X[40:], Y[40:])
    expected = naive_mlknn_proba(X[:40], Y[:40], X[40:], k=4, smoothing=1.0)
    np.testing.assert_allclose(model.predict_proba(X[40:]), expected)


def test_mlknn_caps_k_at_the_training_set_size():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 3)), (rng.random((8, 2)) < 0.5).astype(float)
    model = MLkNN(k_grid=(5, 20)).fit(X[:6], Y[:6], X[6:], Y[6:])
    assert set(model.val_scores_) == {5}


def test_fit_rejects_validation_labels_of_another_width(problem):
    X_train, Y_train, X_val, Y_val, _, _ = problem
    with pytest.raises(ValueError, match="5 train labels but 3 val labels"):
        baselines.BinaryRelevance(c_grid=(1.0,)).fit(X_train, Y_train, X_val, Y_val[:, :3])
    with pytest.raises(ValueError, match="80 val rows but 79 label rows"):
        baselines.BinaryRelevance(c_grid=(1.0,)).fit(X_train, Y_train, X_val, Y_val[1:])


def test_predict_proba_rejects_features_of_another_width(problem, fitted):
    X_test = problem[4]
    with pytest.raises(ValueError, match="expected 10 features, got 9"):
        fitted["br"].predict_proba(X_test[:, :9])


def test_mlknn_gives_validation_rows_the_probabilities_it_was_tuned_on_despite_ties():
    """0/1 features (as enron's words) make many neighbours equally near: a query for k alone
    picked others than the tuning's query for the largest k, cut to k (enron's row moved 0.007)."""
    rng = np.random.default_rng(0)
    X = (rng.random((300, 12)) < 0.2).astype(float)
    Y = (X[:, :3] + (rng.random((300, 3)) < 0.2) > 0).astype(float)
    model = MLkNN(k_grid=(5, 20)).fit(X[:200], Y[:200], X[200:], Y[200:])
    assert model.best_param_ == 5  # a k below the largest, where ties can differ
    np.testing.assert_array_equal(model.predict_proba(X[200:]), model.val_proba_)


def test_mlp_keeps_the_weights_of_its_best_validation_epoch_and_stops_after_patience(problem):
    X_train, Y_train, X_val, Y_val, _, _ = problem
    model = baselines.MLPBaseline(alpha_grid=(1e-2,), max_epochs=60, patience=5).fit(
        X_train, Y_train, X_val, Y_val)
    curve, best_epoch = model.val_curves_[1e-2], model.best_epochs_[1e-2]
    assert best_epoch == int(np.argmax(curve)) + 1
    # it stopped `patience` epochs after the best, unless the budget ran out first
    assert len(curve) == 60 or len(curve) == best_epoch + 5
    assert curve.max() > curve[0]  # training did improve on validation
    # the network predicts what its best epoch predicted, so the validation score reproduces
    assert baselines.val_micro_f1(Y_val, model.predict_proba(X_val)) == pytest.approx(curve.max())
    np.testing.assert_array_equal(model.predict_proba(X_val), model.val_proba_)


def test_mlp_draws_a_new_batch_order_every_epoch_and_is_reproducible(problem, monkeypatch):
    from sklearn.neural_network import _multilayer_perceptron

    X_train, Y_train, X_val, Y_val, _, _ = problem
    orders = []

    def recording_shuffle(indices, random_state):
        orders.append(sklearn_shuffle(indices, random_state=random_state))
        return orders[-1]

    sklearn_shuffle = _multilayer_perceptron.shuffle
    monkeypatch.setattr(_multilayer_perceptron, "shuffle", recording_shuffle)
    settings = {"alpha_grid": (1e-2,), "max_epochs": 3, "patience": 3,
                "hidden_layer_sizes": (16,)}
    first = baselines.MLPBaseline(**settings).fit(X_train, Y_train, X_val, Y_val)
    # partial_fit re-seeds from an int random_state on every call: one order for every epoch
    assert len(orders) == 3 and not np.array_equal(orders[0], orders[1])
    again = baselines.MLPBaseline(**settings).fit(X_train, Y_train, X_val, Y_val)
    np.testing.assert_array_equal(first.val_curves_[1e-2], again.val_curves_[1e-2])
    np.testing.assert_array_equal(orders[:3], orders[3:])


def test_mlp_trains_on_a_single_label(problem):
    X_train, Y_train, X_val, Y_val, X_test, _ = problem
    model = baselines.MLPBaseline(alpha_grid=(1e-2,), max_epochs=3, hidden_layer_sizes=(16,))
    proba = model.fit(X_train, Y_train[:, :1], X_val, Y_val[:, :1]).predict_proba(X_test)
    assert proba.shape == (len(X_test), 1)


def test_describe_tuning_names_the_choice_and_the_mlp_epochs(problem, fitted):
    line = baselines.describe_tuning(fitted["mlp"])
    model = fitted["mlp"]
    assert line.startswith(f"chose {model.best_param_:g} (validation micro-F1 ")
    assert f"{model.best_param_:g}: {model.best_epochs_[model.best_param_]} of " in line
    assert "epoch" not in baselines.describe_tuning(fitted["br"])
