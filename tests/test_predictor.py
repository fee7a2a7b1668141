"""TrainedModel helpers: threshold choice by cross-fitting, the prediction table, input checks."""

import numpy as np
import pytest
from toy import toy_data, toy_split

from cgmvae import metrics
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.metrics import per_label_thresholds_help
from cgmvae.train import fit


def scores_on_two_scales(n=400, seed=0):
    """Label 0's scores live around 0.8, label 1's around 0.1: no single threshold suits both."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.4).astype(float)
    proba = (np.stack([0.7 + 0.2 * y[:, 0], 0.05 + 0.1 * y[:, 1]], axis=1)
             + rng.normal(0, 0.02, (n, 2)))
    return y, np.clip(proba, 0, 1)


def test_per_label_thresholds_are_chosen_when_label_scales_differ():
    y, proba = scores_on_two_scales()
    assert per_label_thresholds_help(y, proba)


def test_validation_thresholds_use_per_label_ones_for_macro_f1_only_where_they_help():
    """The rule every benchmark method follows (baselines through `validation_thresholds`)."""
    y, proba = scores_on_two_scales()
    chosen = metrics.validation_thresholds(y, proba)
    global_best = metrics.best_thresholds(y, proba)
    np.testing.assert_array_equal(chosen["macro_f1"], metrics.best_label_thresholds(
        y, proba, fallback=global_best["micro_f1"]))
    assert {k: v for k, v in chosen.items() if k != "macro_f1"} == {
        k: v for k, v in global_best.items() if k != "macro_f1"}
    assert (metrics.evaluate(y, proba, chosen["macro_f1"])["macro_f1"]
            > metrics.evaluate(y, proba, global_best["macro_f1"])["macro_f1"])
    noise_y = (np.random.default_rng(1).random((300, 5)) < 0.5).astype(float)
    assert metrics.validation_thresholds(noise_y, np.full((300, 5), 0.5)) == \
        metrics.best_thresholds(noise_y, np.full((300, 5), 0.5))


def test_per_label_thresholds_are_not_chosen_for_pure_noise():
    rng = np.random.default_rng(1)
    y = (rng.random((300, 5)) < 0.5).astype(float)
    assert not per_label_thresholds_help(y, np.full((300, 5), 0.5))


@pytest.fixture(scope="module")
def model():
    data = toy_data(120)
    config = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                         decoder_hidden=(16,))
    return fit(data, toy_split(data), model_config=config,
               train_config=TrainConfig(max_epochs=2, device="cpu"))


def test_prediction_frame_has_a_probability_and_a_label_column_per_label(model):
    frame = model.prediction_frame(toy_data(5).features)
    assert list(frame.columns[:4]) == [f"{n}_probability" for n in model.label_names]
    assert list(frame.columns[4:8]) == [f"{n}_predicted" for n in model.label_names]
    predicted = (frame.iloc[:, :4] >= model.threshold).astype(int).values
    assert (predicted == frame.iloc[:, 4:8].values).all()


def test_wrong_feature_count_is_a_clear_error(model):
    with pytest.raises(ValueError, match=r"\(n, 6\)"):
        model.predict_proba(np.zeros((3, 5)))


def test_label_similarity_is_symmetric_float32_with_embedding_norms_on_the_diagonal(model):
    similarity = model.label_similarity()
    embeddings = model.label_embeddings()
    assert similarity.dtype == np.float32 and np.allclose(similarity, similarity.T)
    assert np.allclose(np.diag(similarity), (embeddings ** 2).sum(1), rtol=1e-5)
    mean, sigma = model.label_gaussians()
    assert mean.shape == sigma.shape == (4, 4) and (sigma > 0).all()


def test_feature_embeddings_times_label_embeddings_are_the_logits(model):
    features = toy_data(7).features
    embeddings = model.feature_embeddings(features)
    assert embeddings.shape == (7, 16)
    assert np.allclose(embeddings @ model.label_embeddings().T, model.predict_logits(features),
                       atol=1e-5)
    assert model.latent_means(features).shape == (7, 4)


def test_probabilities_of_extreme_logits_are_exact_and_warning_free(model, monkeypatch):
    import warnings

    monkeypatch.setattr(model, "predict_logits", lambda features: np.array([[-1000.0, 0.0, 1000.0]],
                                                                            dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = model.predict_proba(np.zeros((1, 6)))
    np.testing.assert_allclose(proba, [[0.0, 0.5, 1.0]])


def test_latent_spread_is_zero_for_identical_samples_and_positive_otherwise(model):
    same = np.repeat(toy_data(1).features, 5, axis=0)
    assert model.latent_spread(same)["posterior_mean_sd"] < 1e-6
    spread = model.latent_spread(toy_data(50).features)
    assert spread["posterior_mean_sd"] > 0 and spread["label_mean_sd"] > 0


def test_evaluate_scores_each_metric_at_its_own_threshold_once_per_distinct_one(model,
                                                                                monkeypatch):
    data = toy_data(80, seed=5)
    thresholds = {"hamming_accuracy": 0.3, "example_f1": 0.3, "micro_f1": model.threshold,
                  "macro_f1": 0.7, "precision_at_1": 0.3}
    monkeypatch.setattr(model, "metric_thresholds", thresholds)
    monkeypatch.setattr(model, "macro_per_label", False)
    proba = model.predict_proba(data.features)
    expected = {name: metrics.evaluate(data.labels, proba, t)[name]
                for name, t in thresholds.items()}
    calls = []
    real = metrics.evaluate
    monkeypatch.setattr(metrics, "evaluate", lambda *a: calls.append(a[2]) or real(*a))
    report = model.evaluate(data.features, data.labels)
    assert report["per_metric"] == pytest.approx(expected)
    assert sorted(calls) == sorted([model.threshold, 0.3, 0.7])  # deployed, then 2 distinct
