"""Standard multi-label baselines (BR, ML-kNN, classifier chains, MLP), each tuned on validation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import ClassifierChain as SklearnClassifierChain
from sklearn.neighbors import NearestNeighbors
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import check_array, check_is_fitted

from cgmvae.metrics import METRICS, evaluate, threshold_curves, validation_thresholds

LOGISTIC_MAX_ITER = 1000  # lbfgs converges well within this on standardised features


def val_micro_f1(y_val, proba) -> float:
    """Validation micro-F1 at its own best threshold: the score every baseline is tuned by."""
    return float(threshold_curves(y_val, proba)[1]["micro_f1"].max())


def score_with_val_thresholds(model, X_test, Y_test) -> dict[str, float]:
    """Each metric of `METRICS` on test data at the threshold tuned for it on validation.

    `model` is a fitted baseline (its ``thresholds_`` come from validation data only; macro-F1's
    are per label where cross-fitting on validation says so, as for C-GMVAE).
    """
    proba = model.predict_proba(X_test)
    return {name: evaluate(Y_test, proba, model.thresholds_[name])[name] for name in METRICS}


def _positive_proba(proba, n_labels: int) -> np.ndarray:
    """(N, L) probabilities of the positive class; sklearn returns (N, 2) when L == 1."""
    proba = np.asarray(proba, dtype=np.float64)
    return proba[:, 1:] if n_labels == 1 and proba.shape[1] == 2 else proba


class _ValidationTuned(BaseEstimator):
    """Shared fit/predict plumbing: try each value of one knob, keep the best on validation."""

    def _check_fit_data(self, X_train, Y_train, X_val, Y_val):
        X_train = check_array(X_train, dtype=np.float64)
        X_val = check_array(X_val, dtype=np.float64)
        Y_train = check_array(Y_train, dtype=np.float64, ensure_min_samples=1)
        Y_val = check_array(Y_val, dtype=np.float64)
        if len(X_train) != len(Y_train):
            raise ValueError(f"{len(X_train)} train rows but {len(Y_train)} label rows")
        if len(X_val) != len(Y_val):
            raise ValueError(f"{len(X_val)} val rows but {len(Y_val)} label rows")
        if Y_train.shape[1] != Y_val.shape[1]:
            raise ValueError(f"{Y_train.shape[1]} train labels but {Y_val.shape[1]} val labels")
        if X_train.shape[1] != X_val.shape[1]:
            raise ValueError(f"{X_train.shape[1]} train features but {X_val.shape[1]} val features")
        self.n_features_in_, self.n_labels_ = X_train.shape[1], Y_train.shape[1]
        return X_train, Y_train, X_val, Y_val

    def _tune(self, candidates, fit_candidate, Y_val):
        """`fit_candidate(value) -> (model, val_proba)`; keeps the first best by val micro-F1."""
        self.val_scores_ = {}
        best_score = -np.inf
        for value in candidates:
            model, val_proba = fit_candidate(value)
            self.val_scores_[value] = score = val_micro_f1(Y_val, val_proba)
            if score > best_score:
                best_score, best_val_proba = score, val_proba
                self.model_, self.best_param_ = model, value
        self.thresholds_ = validation_thresholds(Y_val, best_val_proba)
        self.val_proba_ = best_val_proba  # what the thresholds were chosen on (see MLkNN)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """(N, L) probability of each label for features `X` (standardised like training)."""
        check_is_fitted(self, "model_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} features, got {X.shape[1]}")
        return self._predict_proba(self.model_, X)


def describe_tuning(model) -> str:
    """One line on what validation chose for a fitted baseline: its knob's value and score for
    each value tried, and for the MLP the epoch each kept of those it ran."""
    tried = ", ".join(f"{value:g}: {score:.4f}" for value, score in model.val_scores_.items())
    line = f"chose {model.best_param_:g} (validation micro-F1 {tried})"
    if hasattr(model, "best_epochs_"):
        epochs = ", ".join(f"{value:g}: {model.best_epochs_[value]} of {len(curve)}"
                           for value, curve in model.val_curves_.items())
        line += f"; epoch kept of those run: {epochs}"
    return line


class _ConstantOrModel(NamedTuple):
    """Per-label fallback: `constants[j]` where the label had one class in training, else NaN."""

    constants: np.ndarray  # (L,)
    model: object  # fitted on the labels where `constants` is NaN, or None if there are none


def _constants(Y_train) -> np.ndarray:
    """(L,) the single class (0.0 or 1.0) of labels constant in training, NaN for the others."""
    prevalence = Y_train.mean(axis=0)
    return np.where((prevalence == 0) | (prevalence == 1), prevalence, np.nan)


def _fill_constants(fitted: _ConstantOrModel, varying_proba, n_samples: int) -> np.ndarray:
    """(N, L) probabilities: the model's for varying labels, the constant class for the others."""
    proba = np.tile(np.nan_to_num(fitted.constants), (n_samples, 1))
    if varying_proba is not None:
        proba[:, np.isnan(fitted.constants)] = varying_proba
    return proba


class _LogisticTuned(_ValidationTuned):
    """Logistic-regression models whose C is chosen on validation micro-F1; subclasses say how
    the models are fitted (`_fit_models`) and used (`_predict_proba`) for one value of C."""

    def fit(self, X_train, Y_train, X_val, Y_val):
        """Fit the models for each value of C on train, keep the best on val; returns self."""
        X_train, Y_train, X_val, Y_val = self._check_fit_data(X_train, Y_train, X_val, Y_val)

        def fit_candidate(c):
            fitted = self._fit_models(X_train, Y_train, c)
            return fitted, self._predict_proba(fitted, X_val)

        return self._tune(self.c_grid, fit_candidate, Y_val)


class BinaryRelevance(_LogisticTuned):
    """One logistic regression per label; C chosen on validation micro-F1.

    Parameters
    ----------
    c_grid : inverse regularisation strengths tried
    """

    def __init__(self, *, c_grid=(0.01, 0.1, 1.0, 10.0)):
        self.c_grid = c_grid

    @staticmethod
    def _fit_models(X, Y, c) -> _ConstantOrModel:
        constants = _constants(Y)
        models = [LogisticRegression(C=c, max_iter=LOGISTIC_MAX_ITER).fit(X, Y[:, j])
                  for j in np.flatnonzero(np.isnan(constants))]
        return _ConstantOrModel(constants, models)

    @staticmethod
    def _predict_proba(fitted: _ConstantOrModel, X) -> np.ndarray:
        columns = [model.predict_proba(X)[:, 1] for model in fitted.model]
        return _fill_constants(fitted, np.stack(columns, axis=1) if columns else None, len(X))


class ClassifierChain(_LogisticTuned):
    """An ensemble of logistic-regression classifier chains in random seeded orders, averaged.

    Parameters
    ----------
    c_grid : inverse regularisation strengths tried (chosen by validation micro-F1)
    n_chains : chains averaged (3: the ensemble of Read et al. 2011, kept small)
    seed : seed of the first chain's label order; chain i uses ``seed + i``
    """

    def __init__(self, *, c_grid=(0.01, 0.1, 1.0, 10.0), n_chains=3, seed=0):
        self.c_grid = c_grid
        self.n_chains = n_chains
        self.seed = seed

    def _fit_models(self, X, Y, c) -> _ConstantOrModel:
        constants = _constants(Y)
        varying = np.isnan(constants)
        if not varying.any():
            return _ConstantOrModel(constants, None)
        chains = [
            SklearnClassifierChain(LogisticRegression(C=c, max_iter=LOGISTIC_MAX_ITER),
                                   order="random", random_state=self.seed + i).fit(X, Y[:, varying])
            for i in range(self.n_chains)
        ]
        return _ConstantOrModel(constants, chains)

    @staticmethod
    def _predict_proba(fitted: _ConstantOrModel, X) -> np.ndarray:
        if fitted.model is None:
            return _fill_constants(fitted, None, len(X))
        average = np.mean([chain.predict_proba(X) for chain in fitted.model], axis=0)
        return _fill_constants(fitted, average, len(X))


class MLkNNTables(NamedTuple):
    """ML-kNN's estimates for one k (Zhang & Zhou 2007, Eq. 1-2 with Laplace smoothing s)."""

    prior: np.ndarray  # (L,) P(label j is true)
    given_true: np.ndarray  # (L, k+1) P(c of the k neighbours have label j | j is true)
    given_false: np.ndarray  # (L, k+1) the same given that j is false
    train_labels: np.ndarray  # (M, L) uint8, to count the labels of new points' neighbours


def _neighbour_label_counts(train_labels, neighbours) -> np.ndarray:
    """(N, L) how many of each row's neighbours (N, k) have each label."""
    counts = np.zeros((len(neighbours), train_labels.shape[1]), dtype=np.int16)
    for column in neighbours.T:  # k passes over (N, L) instead of an (N, k, L) tensor
        counts += train_labels[column]
    return counts


def _mlknn_tables(train_labels, neighbours, smoothing: float) -> MLkNNTables:
    """Prior and neighbour-count likelihoods from training points' own k neighbours."""
    n_samples, n_labels = train_labels.shape
    k = neighbours.shape[1]
    counts = _neighbour_label_counts(train_labels, neighbours)
    cell_ids = np.arange(n_labels) * (k + 1) + counts  # (M, L): label j's bin of count c
    is_true = train_labels.astype(bool)
    hist_true = np.bincount(cell_ids[is_true], minlength=n_labels * (k + 1)).reshape(n_labels, -1)
    hist_all = np.bincount(cell_ids.ravel(), minlength=n_labels * (k + 1)).reshape(n_labels, -1)
    hist_false = hist_all - hist_true

    def likelihood(hist):
        return (smoothing + hist) / (smoothing * (k + 1) + hist.sum(axis=1, keepdims=True))

    prior = (smoothing + is_true.sum(axis=0)) / (2 * smoothing + n_samples)
    return MLkNNTables(prior, likelihood(hist_true), likelihood(hist_false), train_labels)


def _mlknn_posterior(tables: MLkNNTables, neighbours) -> np.ndarray:
    """(N, L) P(label true | neighbour counts) by Bayes' rule (the paper's Eq. 3 as probability)."""
    counts = _neighbour_label_counts(tables.train_labels, neighbours)
    labels = np.arange(counts.shape[1])
    true_part = tables.prior * tables.given_true[labels, counts]
    false_part = (1 - tables.prior) * tables.given_false[labels, counts]
    return true_part / (true_part + false_part)


class MLkNN(_ValidationTuned):
    """ML-kNN (Zhang & Zhou 2007) with Laplace smoothing; k chosen on validation micro-F1.

    Neighbours are queried once with the largest k and truncated for smaller ones, so tuning
    costs one search; memory stays O(N L) (fine for delicious: 12k x 500 x 983).

    Parameters
    ----------
    k_grid : numbers of neighbours tried (capped at the number of training samples - 1)
    smoothing : Laplace smoothing s of the prior and likelihood estimates
    """

    def __init__(self, *, k_grid=(5, 10, 20), smoothing=1.0):
        self.k_grid = k_grid
        self.smoothing = smoothing

    def fit(self, X_train, Y_train, X_val, Y_val):
        """Search neighbours, build the tables for each k on train, keep the best on val."""
        X_train, Y_train, X_val, Y_val = self._check_fit_data(X_train, Y_train, X_val, Y_val)
        k_values = sorted({min(k, len(X_train) - 1) for k in self.k_grid})
        self.index_ = NearestNeighbors(n_neighbors=k_values[-1], n_jobs=1).fit(X_train)
        train_neighbours = self.index_.kneighbors(return_distance=False)  # excludes self
        val_neighbours = self.index_.kneighbors(X_val, return_distance=False)
        train_labels = Y_train.astype(np.uint8)

        def fit_candidate(k):
            tables = _mlknn_tables(train_labels, train_neighbours[:, :k], self.smoothing)
            return tables, _mlknn_posterior(tables, val_neighbours[:, :k])

        return self._tune(k_values, fit_candidate, Y_val)

    def _predict_proba(self, tables: MLkNNTables, X) -> np.ndarray:
        k = tables.given_true.shape[1] - 1
        # the largest k, cut to k, as the tuning did: a query for k alone can pick another of
        # several equally near neighbours (0/1 word features tie often), so validation rows
        # would not get the probabilities their thresholds were chosen on
        neighbours = self.index_.kneighbors(X, return_distance=False)[:, :k]
        return _mlknn_posterior(tables, neighbours)


class MLPBaseline(_ValidationTuned):
    """A feed-forward network with one sigmoid output per label; its epoch and L2 penalty are
    chosen on validation micro-F1, as C-GMVAE's epoch is chosen on validation.

    Each network trains one epoch at a time (sklearn's ``partial_fit``, Adam, mini-batches of
    200, reshuffled every epoch) and keeps the weights of its best validation epoch; it stops
    after `patience` epochs without a better one or at `max_epochs`. sklearn's own early
    stopping is no use here: it scores subset accuracy, which is ~0 with many labels.

    Parameters
    ----------
    hidden_layer_sizes : default (256, 512, 256, 512), about C-GMVAE's encoder + decoder budget
    alpha_grid : L2 penalties tried (chosen by validation micro-F1)
    max_epochs, patience : epoch budget and early stopping, C-GMVAE's defaults (300, 20)
    seed : weight initialisation and batch order
    """

    def __init__(self, *, hidden_layer_sizes=(256, 512, 256, 512), alpha_grid=(1e-2, 1.0, 10.0),
                 max_epochs=300, patience=20, seed=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha_grid = alpha_grid
        self.max_epochs = max_epochs
        self.patience = patience
        self.seed = seed

    def fit(self, X_train, Y_train, X_val, Y_val):
        """Train one network per alpha on train, each stopped at its best validation epoch;
        keep the best alpha on val. `best_epochs_` maps each alpha to its chosen epoch (from 1)
        and `val_curves_` to its validation micro-F1 per epoch. Returns self."""
        X_train, Y_train, X_val, Y_val = self._check_fit_data(X_train, Y_train, X_val, Y_val)
        self.best_epochs_, self.val_curves_ = {}, {}

        def fit_candidate(alpha):
            network, val_proba, curve = self._fit_network(alpha, X_train, Y_train, X_val, Y_val)
            self.val_curves_[alpha] = curve
            self.best_epochs_[alpha] = int(np.argmax(curve)) + 1
            return network, val_proba

        return self._tune(self.alpha_grid, fit_candidate, Y_val)

    def _fit_network(self, alpha, X_train, Y_train, X_val, Y_val):
        """(network at its best validation epoch, its validation probabilities, the curve)."""
        # a RandomState object, not an int: partial_fit re-seeds from an int on every call,
        # which would give every epoch the same batch order
        network = MLPClassifier(self.hidden_layer_sizes, alpha=alpha,
                                random_state=np.random.RandomState(self.seed))
        if self.n_labels_ == 1:  # sklearn takes one label as a binary problem, a 1-D target
            Y_train, classes = Y_train[:, 0], np.array([0.0, 1.0])
        else:
            classes = np.arange(self.n_labels_)
        curve, best = [], None
        for epoch in range(self.max_epochs):
            network.partial_fit(X_train, Y_train, classes=classes)
            val_proba = self._predict_proba(network, X_val)
            curve.append(val_micro_f1(Y_val, val_proba))
            if best is None or curve[-1] > curve[best]:
                best = epoch
                best_weights = ([w.copy() for w in network.coefs_],
                                [b.copy() for b in network.intercepts_])
                best_val_proba = val_proba
            elif epoch - best >= self.patience:
                break
        network.coefs_, network.intercepts_ = best_weights
        return network, best_val_proba, np.array(curve)

    def _predict_proba(self, network, X) -> np.ndarray:
        return _positive_proba(network.predict_proba(X), self.n_labels_)


BASELINES = {
    "br": BinaryRelevance,
    "mlknn": MLkNN,
    "cc": ClassifierChain,
    "mlp": MLPBaseline,
}
