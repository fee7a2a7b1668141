"""A scikit-learn estimator around C-GMVAE: fit(X, Y), predict, predict_proba, score."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from cgmvae import metrics
from cgmvae.config import (
    MAX_SEED,
    LossWeights,
    ModelConfig,
    TrainConfig,
    check_flag,
    check_integer,
    check_number,
)
from cgmvae.data import MultiLabelData, Split
from cgmvae.train import fit


class CGMVAEClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label C-GMVAE classifier with the scikit-learn API.

    `Y` is a 2-D 0/1 label-indicator matrix (n_samples, n_labels); a 1-D target with two classes
    is one label (`classes_`, and `predict_proba` gives the usual (n_samples, 2) columns).
    Multi-class and continuous targets are refused. A seeded `validation_fraction` of the
    training rows is held out for epoch selection, early stopping and the decision threshold
    (tuned there, so `predict` is not `predict_proba >= 0.5`); `fit` never needs test data.

    Parameters
    ----------
    embedding_dim, latent_dim, dropout : model sizes (see `cgmvae.config.ModelConfig`).
    learning_rate, batch_size, max_epochs, patience : optimisation (see
        `cgmvae.config.TrainConfig`; the defaults are its defaults).
    kl_weight, contrastive_weight, cross_entropy_weight : the weights of Eq. 7 (>= 0).
    decoder_sees_features : decoder input [x, z] (True, the authors' code) or z alone (False);
        z alone with kl_weight=0.03 is the informative-latent variant (README, "The model").
    validation_fraction : share of the training rows used for validation, in (0, 1).
    device : "auto" (CUDA when available), "cpu" or "cuda".
    random_state : int in [0, 2**64 - 1], RandomState or None: seed for the split, the
        initialisation and the batches. None draws a fresh seed at every fit (a different
        model each time); the default 0 gives the same model at every fit.

    Attributes
    ----------
    model_ : TrainedModel, n_features_in_, n_labels_, history_, threshold_,
    seed_ : the seed the last fit used (drawn when random_state is None or a RandomState).
    classes_ : the two classes of a 1-D target (absent for a 2-D one).
    """

    def __init__(self, *, embedding_dim=512, latent_dim=64, dropout=0.5, learning_rate=0.002,
                 batch_size=128, max_epochs=300, patience=20, kl_weight=6.0,
                 contrastive_weight=1.0, cross_entropy_weight=0.5, decoder_sees_features=True,
                 validation_fraction=0.1, device="auto", random_state=0):
        self.embedding_dim = embedding_dim
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.kl_weight = kl_weight
        self.contrastive_weight = contrastive_weight
        self.cross_entropy_weight = cross_entropy_weight
        self.decoder_sees_features = decoder_sees_features
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True  # every label is its own yes/no
        tags.classifier_tags.multi_class = False  # a 1-D target may have two classes only
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Train on (X, y); ValueError naming any parameter out of its range."""
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float32, ensure_min_samples=2)
        Y = self._label_matrix(y, fitting=True)
        model_config, train_config = self._model_config(), self._train_config()  # checks them
        split = self._split(X.shape[0], train_config.seed)
        data = MultiLabelData(X, Y, [f"x{i}" for i in range(X.shape[1])],
                              [f"y{j}" for j in range(Y.shape[1])], name="estimator")
        self.model_ = fit(data, split, model_config=model_config, train_config=train_config)
        self.seed_ = train_config.seed
        self.n_labels_ = Y.shape[1]
        self.history_ = self.model_.history
        self.threshold_ = self.model_.threshold
        return self

    def _label_matrix(self, Y, *, fitting: bool = False) -> np.ndarray:
        """Y as an (n, L) 0/1 float matrix; a 1-D two-class target: one column (1 = classes_[1])."""
        Y = np.asarray(Y)
        if Y.ndim == 2 and np.isin(Y, (0, 1)).all():
            return Y.astype(np.float32)
        kind = type_of_target(Y)
        if Y.ndim == 1 and kind == "binary":
            if fitting:
                self.classes_ = np.unique(Y)
            if len(self.classes_) == 2:
                # SIM300 is wrong here: it takes the upper-case Y for a constant (Y is the target)
                return (Y == self.classes_[1]).astype(np.float32)[:, None]  # noqa: SIM300
        problem = ("Only binary classification is supported for a 1-D target" if kind in
                   ("binary", "multiclass") else f"Unknown label type: {kind}")
        raise ValueError(f"{problem} (found {kind} with {len(np.unique(Y))} distinct values); "
                         "C-GMVAE is multi-label: Y is a 2-D 0/1 matrix (n_samples, n_labels), or "
                         "a 1-D target with two classes")

    def _split(self, n_samples: int, seed: int) -> Split:
        """The seeded validation rows (at least one) and the training rows (the rest)."""
        fraction = check_number("validation_fraction", self.validation_fraction, "in (0, 1)",
                                lambda f: 0 < f < 1)
        n_val = max(1, round(fraction * n_samples))
        order = np.random.default_rng(seed).permutation(n_samples)
        return Split(order[:n_samples - n_val], order[n_samples - n_val:], [])

    def _seed(self) -> int:
        """random_state as a seed: an int as it is, else a draw from the RandomState (None: the
        global one, so a fresh seed at every fit)."""
        state = self.random_state
        if isinstance(state, (int, np.integer)) and not isinstance(state, bool):
            return check_integer("random_state", state, 0, MAX_SEED)
        if state is not None and not isinstance(state, np.random.RandomState):
            raise ValueError(f"random_state must be an integer in [0, {MAX_SEED}], a RandomState "
                             f"or None, got {state!r}")
        return int(check_random_state(state).randint(0, 2**32, dtype=np.int64))

    def _model_config(self) -> ModelConfig:
        return ModelConfig(embedding_dim=self.embedding_dim, latent_dim=self.latent_dim,
                           dropout=self.dropout,
                           decoder_sees_features=check_flag("decoder_sees_features",
                                                            self.decoder_sees_features))

    def _train_config(self) -> TrainConfig:
        weights = {name: check_number(name, getattr(self, name), ">= 0", lambda w: w >= 0)
                   for name in ("kl_weight", "contrastive_weight", "cross_entropy_weight")}
        loss = LossWeights(kl=weights["kl_weight"], contrastive=weights["contrastive_weight"],
                           cross_entropy=weights["cross_entropy_weight"])
        return TrainConfig(loss=loss, learning_rate=self.learning_rate, batch_size=self.batch_size,
                           max_epochs=self.max_epochs, patience=self.patience, seed=self._seed(),
                           device=self.device)

    def _label_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self.model_.predict_proba(X)

    def predict_proba(self, X) -> np.ndarray:
        """(n_samples, n_labels) label probabilities; for a 1-D target (n_samples, 2), one
        column per class of `classes_`."""
        proba = self._label_proba(X)
        return np.hstack([1.0 - proba, proba]) if hasattr(self, "classes_") else proba

    def predict(self, X) -> np.ndarray:
        """(n_samples, n_labels) 0/1 predictions at the validation-chosen threshold; for a 1-D
        target, (n_samples,) classes."""
        predicted = (self._label_proba(X) >= self.threshold_).astype(np.int64)
        return self.classes_[predicted[:, 0]] if hasattr(self, "classes_") else predicted

    def score(self, X, y, sample_weight=None) -> float:
        """Micro-F1 at the fitted threshold (the multi-label subset accuracy is rarely wanted)."""
        proba = self._label_proba(X)
        return metrics.evaluate(self._label_matrix(y), proba, self.threshold_)["micro_f1"]
