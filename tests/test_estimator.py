"""The scikit-learn estimator: scikit-learn's own checks (expected failures explained), tags,
parameter checks, random_state, Pipeline, cross-validation, clone."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from toy import toy_data

from cgmvae import CGMVAEClassifier
from cgmvae.config import MAX_SEED, TrainConfig

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
    with pytest.raises(ValueError, match="2-D 0/1 matrix"):
        CGMVAEClassifier(**FAST).fit(X, Y * 2)


# Why each of scikit-learn's checks that fails is expected to (sklearn 1.9, 61 checks).
THRESHOLD = ("predict uses the decision threshold tuned on the validation rows (best micro-F1), "
             "not 0.5, so it can differ from predict_proba().round() / argmax on purpose")
FLOAT32_ORDER = ("predict_proba is computed in float32, and a row's result can differ in its last "
                 "bit (about 6e-8) with its place in the batch (matrix kernels sum in another "
                 "order); the check asks 1e-7 relative, so it failed in about one run in four "
                 "(random weights). test_predictions_do_not_depend_on_the_order_of_the_rows "
                 "checks the same at float32 precision")
EXPECTED_FAILED_CHECKS = {
    "check_classifier_multioutput": THRESHOLD,
    "check_classifiers_train": THRESHOLD,
    "check_methods_sample_order_invariance": FLOAT32_ORDER,
}


def test_predictions_do_not_depend_on_the_order_of_the_rows(xy):
    X, Y = xy
    model = CGMVAEClassifier(**{**FAST, "max_epochs": 3}).fit(X, Y)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(model.predict_proba(X[order]), model.predict_proba(X)[order],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(X[order]), model.predict(X)[order])


@parametrize_with_checks(
    [CGMVAEClassifier(embedding_dim=8, latent_dim=2, max_epochs=2, batch_size=16, device="cpu")],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_s_own_checks(estimator, check):
    check(estimator)


def test_tags_say_multi_label_and_multi_output():
    tags = CGMVAEClassifier().__sklearn_tags__()
    assert tags.classifier_tags.multi_label and tags.target_tags.multi_output
    assert not tags.classifier_tags.multi_class  # a 1-D target may only have two classes


def test_the_default_epoch_limit_is_the_training_default():
    assert CGMVAEClassifier().max_epochs == TrainConfig().max_epochs == 300


@pytest.mark.parametrize(("params", "message"), [
    ({"batch_size": 1}, "batch_size must be an integer >= 2, got 1"),
    ({"max_epochs": 0}, "max_epochs must be an integer >= 1, got 0"),
    ({"dropout": 2.0}, r"dropout must be a number in \[0, 1\), got 2.0"),
    ({"learning_rate": -1.0}, "learning_rate must be a number > 0"),
    ({"patience": 0}, "patience must be an integer >= 1"),
    ({"kl_weight": -1.0}, "kl_weight must be a number >= 0, got -1.0"),
    ({"contrastive_weight": "high"}, "contrastive_weight must be a number >= 0"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a number in \(0, 1\)"),
    ({"validation_fraction": 0.0}, r"validation_fraction must be a number in \(0, 1\)"),
    ({"decoder_sees_features": "no"}, "decoder_sees_features must be True or False"),
    ({"random_state": -1}, rf"random_state must be an integer in \[0, {MAX_SEED}\], got -1"),
    ({"random_state": 2**64}, rf"random_state must be an integer in \[0, {MAX_SEED}\]"),
    ({"random_state": "seven"}, "random_state must be an integer .* a RandomState or None"),
    ({"device": "gpu"}, "device must be auto, cpu, cuda, cuda:N or mps"),
])
def test_every_bad_parameter_is_a_value_error_naming_it(xy, params, message):
    """Issue 10: batch_size=1 and max_epochs=0 crashed with RuntimeError and TypeError."""
    X, Y = xy
    with pytest.raises(ValueError, match=message):
        CGMVAEClassifier(**{**FAST, **params}).fit(X, Y)


def test_random_state_none_is_random_and_an_int_or_a_random_state_repeats(xy):
    X, Y = xy
    quick = {**FAST, "max_epochs": 1}
    fixed = [CGMVAEClassifier(**quick, random_state=5).fit(X, Y) for _ in range(2)]
    assert fixed[0].seed_ == fixed[1].seed_ == 5
    assert np.array_equal(fixed[0].predict_proba(X), fixed[1].predict_proba(X))
    fresh = [CGMVAEClassifier(**quick, random_state=None).fit(X, Y) for _ in range(2)]
    assert fresh[0].seed_ != fresh[1].seed_
    assert not np.allclose(fresh[0].predict_proba(X), fresh[1].predict_proba(X))
    drawn = [CGMVAEClassifier(**quick, random_state=np.random.RandomState(3)).fit(X, Y).seed_
             for _ in range(2)]
    assert drawn[0] == drawn[1]  # a RandomState in the same state draws the same seed


def test_a_1d_target_with_two_classes_is_one_label(xy):
    X, Y = xy
    names = np.where(Y[:, 0] == 1, "present", "absent")
    model = CGMVAEClassifier(**FAST).fit(X, names)
    assert list(model.classes_) == ["absent", "present"] and model.n_labels_ == 1
    assert set(model.predict(X)) <= {"absent", "present"}
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        CGMVAEClassifier(**FAST).fit(X, Y.argmax(axis=1))  # four classes
