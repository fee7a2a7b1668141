"""The scikit-learn estimator: API contract, Pipeline, cross-validation, clone."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from toy import toy_data

from cgmvae import CGMVAEClassifier

FAST = {"embedding_dim": 16, "latent_dim": 4, "max_epochs": 15, "batch_size": 32,
        "learning_rate": 0.01, "device": "cpu"}


@pytest.fixture(scope="module")
def xy():
    data = toy_data(200)
    return data.features, data.labels.astype(int)


def test_fit_predict_shapes_and_probability_range(xy):
    X, Y = xy
    model = CGMVAEClassifier(**FAST).fit(X, Y)
    proba = model.predict_proba(X)
    assert proba.shape == Y.shape and (proba >= 0).all() and (proba <= 1).all()
    assert set(np.unique(model.predict(X))) <= {0, 1}
    assert model.n_features_in_ == 6 and model.n_labels_ == 4 and len(model.history_) >= 1
    assert 0.0 <= model.score(X, Y) <= 1.0


def test_works_in_a_pipeline_and_in_cross_val_score(xy):
    X, Y = xy
    pipeline = make_pipeline(StandardScaler(), CGMVAEClassifier(**FAST))
    scores = cross_val_score(pipeline, X, Y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.5)


def test_the_informative_latent_variant_through_the_estimator(xy):
    X, Y = xy
    model = CGMVAEClassifier(**FAST, decoder_sees_features=False, kl_weight=0.03).fit(X, Y)
    assert not model.model_.model_config.decoder_sees_features
    assert model.model_.train_config.loss.kl == 0.03 and model.score(X, Y) > 0.5


def test_get_set_params_and_clone():
    model = CGMVAEClassifier(**FAST)
    assert model.get_params()["latent_dim"] == 4
    model.set_params(latent_dim=6)
    assert clone(model).get_params()["latent_dim"] == 6


def test_predict_before_fit_and_wrong_width_are_errors(xy):
    X, Y = xy
    with pytest.raises(NotFittedError):
        CGMVAEClassifier().predict(X)
    model = CGMVAEClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])


def test_non_binary_targets_are_refused(xy):
    X, Y = xy
    with pytest.raises(ValueError, match="0/1"):
        CGMVAEClassifier(**FAST).fit(X, Y * 2)
