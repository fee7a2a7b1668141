"""A scikit-learn estimator around C-GMVAE: fit(X, Y), predict, predict_proba, score."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from cgmvae import metrics
from cgmvae.config import LossWeights, ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData, random_split
from cgmvae.train import fit


class CGMVAEClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label C-GMVAE classifier with the scikit-learn API.

    A seeded `validation_fraction` of the training rows is held out for epoch selection, early
    stopping and the decision threshold, so `fit` never needs test data.

    Parameters
    ----------
    embedding_dim, latent_dim, dropout : model sizes (see `cgmvae.model.ModelConfig`).
    learning_rate, batch_size, max_epochs, patience : optimisation (see `cgmvae.train.TrainConfig`).
    kl_weight, contrastive_weight, cross_entropy_weight : the weights of Eq. 7.
    decoder_sees_features : decoder input [x, z] (True, the authors' code) or z alone (False);
        z alone with kl_weight=0.03 is the informative-latent variant (README, "The model").
    validation_fraction : share of the training rows used for validation.
    device : "auto" (CUDA when available), "cpu" or "cuda".
    random_state : seed for the split, the initialisation and the batches.
    """

    def __init__(self, *, embedding_dim=512, latent_dim=64, dropout=0.5, learning_rate=0.002,
                 batch_size=128, max_epochs=100, patience=20, kl_weight=6.0,
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

    def fit(self, X, Y):
        X, Y = check_X_y(X, Y, multi_output=True, dtype=np.float32)
        if Y.ndim != 2 or not np.isin(Y, (0, 1)).all():
            raise ValueError("Y must be a 2-D 0/1 label-indicator matrix of shape (n_samples, n_labels)")
        n = X.shape[0]
        split = random_split(n, seed=self.random_state or 0,
                             fractions=(1.0 - self.validation_fraction, self.validation_fraction, 0.0))
        data = MultiLabelData(X, Y, [f"x{i}" for i in range(X.shape[1])],
                              [f"y{j}" for j in range(Y.shape[1])], name="estimator")
        self.model_ = fit(data, split, model_config=self._model_config(), train_config=self._train_config())
        self.n_features_in_ = X.shape[1]
        self.n_labels_ = Y.shape[1]
        self.history_ = self.model_.history
        self.threshold_ = self.model_.threshold
        return self

    def _model_config(self) -> ModelConfig:
        return ModelConfig(embedding_dim=self.embedding_dim, latent_dim=self.latent_dim, dropout=self.dropout,
                           decoder_sees_features=self.decoder_sees_features)

    def _train_config(self) -> TrainConfig:
        loss = LossWeights(kl=self.kl_weight, contrastive=self.contrastive_weight,
                           cross_entropy=self.cross_entropy_weight)
        return TrainConfig(loss=loss, learning_rate=self.learning_rate, batch_size=self.batch_size,
                           max_epochs=self.max_epochs, patience=self.patience,
                           seed=self.random_state or 0, device=self.device)

    def predict_proba(self, X) -> np.ndarray:
        """(n_samples, n_labels) label probabilities."""
        check_is_fitted(self, "model_")
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the model was fitted on {self.n_features_in_}")
        return self.model_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """(n_samples, n_labels) 0/1 predictions at the validation-chosen threshold."""
        return (self.predict_proba(X) >= self.threshold_).astype(np.int64)

    def score(self, X, Y, sample_weight=None) -> float:
        """Micro-F1 at the fitted threshold (multi-label subset accuracy is rarely what one wants)."""
        return metrics.evaluate(np.asarray(Y), self.predict_proba(X), self.threshold_)["micro_f1"]
