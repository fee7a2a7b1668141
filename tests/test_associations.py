"""Species associations: each layer on tiny data, Veech's significance, the CLI contract."""

import json
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from test_cli import FAST, write_toy_csv

from cgmvae import associations as assoc
from cgmvae.cli import main
from cgmvae.explore.association_views import clustered_frame, pair_table
from cgmvae.explore.correlations import cluster_labels, cooccurrence


def hidden_factor_sites(n: int = 1500, seed: int = 0):
    """Species 0 and 1 follow covariate 0 (shared habitat); species 2 and 3 share a hidden site
    factor no covariate explains (a residual association); species 4 is independent."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    hidden = rng.normal(size=n)
    logits = np.column_stack([2 * x[:, 0], 2 * x[:, 0] - 0.5, 1.5 * hidden + 0.5 * x[:, 1],
                              1.5 * hidden - 0.5 * x[:, 1], 0.3 * x[:, 2]])
    y = (rng.random(logits.shape) < 1 / (1 + np.exp(-logits))).astype(float)
    return x, y, logits


class FixedModel:
    """A stand-in for TrainedModel: fixed logits from the features' first columns."""

    def __init__(self, weights, names):
        self.weights, self.label_names = np.asarray(weights), names

    def predict_logits(self, x):
        return np.asarray(x)[:, : self.weights.shape[0]] @ self.weights


def test_implied_cooccurrence_of_certain_occurrences_is_the_phi_of_the_labels():
    y = (np.random.default_rng(1).random((50, 4)) < 0.4).astype(float)
    assert np.allclose(assoc.implied_cooccurrence(y), cooccurrence(y, "phi"), atol=1e-6)


def test_implied_cooccurrence_of_a_constant_probability_is_zero_off_the_diagonal():
    implied = assoc.implied_cooccurrence(np.full((30, 3), 0.3))
    assert np.allclose(implied, np.eye(3))


def test_fit_temperature_undoes_a_known_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0.0, 2.0, size=(4000, 3))
    labels = rng.random(true_logits.shape) < 1.0 / (1.0 + np.exp(-true_logits))
    assert assoc.fit_temperature(3.0 * true_logits, labels) == pytest.approx(3.0, rel=0.1)
    assert assoc.fit_temperature(true_logits / 2.0, labels) == pytest.approx(0.5, rel=0.1)
    assert assoc.fit_temperature(true_logits, np.zeros_like(labels)) == 1.0  # nothing to tell


def test_the_learned_map_uses_the_models_temperature_and_the_environmental_map_does_not():
    logits = np.random.default_rng(1).normal(size=(200, 4)) * 3.0
    sharp_learned, sharp_env = assoc.layers_from_logits(logits, 0.5)
    plain_learned, plain_env = assoc.layers_from_logits(logits)
    np.testing.assert_allclose(sharp_env, plain_env)
    assert not np.allclose(sharp_learned, plain_learned)
    np.testing.assert_allclose(
        sharp_learned, assoc.implied_cooccurrence(1.0 / (1.0 + np.exp(-logits / 0.5))))

    class Saved:  # a checkpoint from before calibration: no temperature, so 1.0
        calibration_temperature = None

    assert assoc.model_temperature(Saved()) == 1.0


def test_fit_calibrates_on_validation_rows_and_stores_the_calibrated_learned_map():
    from toy import toy_data, toy_split

    from cgmvae.config import ModelConfig, TrainConfig
    from cgmvae.train import fit

    data = toy_data(160)
    split = toy_split(data)
    small = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                        decoder_hidden=(16,))
    model = fit(data, split, model_config=small,
                train_config=TrainConfig(max_epochs=3, device="cpu"))
    val_logits = model.predict_logits(data.features[split.val])
    assert model.calibration_temperature == pytest.approx(
        assoc.fit_temperature(val_logits, data.labels[split.val]))
    train_logits = model.predict_logits(data.features[split.train]).astype(np.float64)
    expected = assoc.implied_cooccurrence(
        1.0 / (1.0 + np.exp(-train_logits / model.calibration_temperature)))
    np.testing.assert_allclose(model.learned_association, expected, atol=1e-5)


def test_column_correlation_gives_zero_for_a_constant_column_and_one_on_the_diagonal():
    values = np.column_stack([np.arange(5.0), np.ones(5), -np.arange(5.0)])
    correlation = assoc.column_correlation(values)
    assert np.allclose(np.diag(correlation), 1) and correlation[0, 1] == 0
    assert correlation[0, 2] == pytest.approx(-1.0)


def test_veech_probabilities_are_the_hypergeometric_tails():
    # 10 sites; A at 4 of them, B at 5, together at 3 (expected 2)
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    b = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    p_lower, p_upper = assoc.cooccurrence_pvalues(np.column_stack([a, b]))

    def exactly(k):
        return comb(4, k) * comb(6, 5 - k) / comb(10, 5)

    assert p_upper[0, 1] == pytest.approx(exactly(3) + exactly(4))
    assert p_lower[0, 1] == pytest.approx(sum(exactly(k) for k in range(4)))
    assert assoc.directional_pvalue(np.column_stack([a, b]))[0, 1] == pytest.approx(p_upper[0, 1])


def test_fit_logistic_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 1))
    y = (rng.random((4000, 1)) < 1 / (1 + np.exp(-(1.5 * x - 0.5)))).astype(float)
    weights = assoc.fit_logistic(x, y, l2=0.0)
    assert weights[0, 0] == pytest.approx(1.5, abs=0.15)
    assert weights[1, 0] == pytest.approx(-0.5, abs=0.1)


def logistic_problem(n=600, width=12, n_labels=9, seed=0):
    """Standardised inputs with an intercept column, labels from known weights: rare, common,
    a species at every site, one at none, and one a single input separates perfectly."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=(n, width)), np.ones(n)])
    logits = x @ (rng.normal(size=(width + 1, n_labels)) * 0.7)
    y = (rng.random(logits.shape) < 1 / (1 + np.exp(-logits))).astype(float)
    y[:, 0], y[:, 1], y[:, 2] = 1.0, 0.0, (x[:, 0] > 0)
    penalty = np.ones(width + 1)
    penalty[-1] = 0.0
    start = np.zeros((width + 1, n_labels))
    return x, y, penalty, start


def test_newton_and_lbfgs_reach_the_same_penalised_optimum():
    x, y, penalty, start = logistic_problem()
    newton = assoc._newton_logistic(x, y, penalty, start)
    lbfgs = assoc._lbfgs_logistic(x, y, penalty, start)
    newton_loss = assoc._logistic_losses(x, y, penalty, newton)[0]
    lbfgs_loss = assoc._logistic_losses(x, y, penalty, lbfgs)[0]
    assert np.all(np.isfinite(newton)) and np.all(newton_loss <= lbfgs_loss + 1e-6)
    assert np.allclose(assoc._sigmoid(x @ newton), assoc._sigmoid(x @ lbfgs), atol=2e-3)


def test_newton_gradient_vanishes_for_every_species_even_separable_ones():
    x, y, penalty, start = logistic_problem(seed=1)
    weights = assoc._newton_logistic(x, y, penalty, start)
    gradient = x.T @ (assoc._sigmoid(x @ weights) - y) + penalty[:, None] * weights
    # the intercept of a species at every site (or none) keeps growing; its gradient is tiny
    assert np.abs(gradient).max() < 1e-3


def test_fit_logistic_uses_lbfgs_above_the_newton_width(monkeypatch):
    used = []
    monkeypatch.setattr(assoc, "_lbfgs_logistic", lambda *a: used.append("lbfgs") or a[3])
    monkeypatch.setattr(assoc, "_newton_logistic", lambda *a: used.append("newton") or a[3])
    y = np.zeros((20, 2))
    assoc.fit_logistic(np.ones((20, assoc.NEWTON_MAX_INPUTS - 1)), y)
    assoc.fit_logistic(np.ones((20, assoc.NEWTON_MAX_INPUTS)), y)
    assert used == ["newton", "lbfgs"]


def test_directional_pvalue_takes_the_tail_of_each_pairs_direction():
    rng = np.random.default_rng(3)
    y = (rng.random((300, 12)) < rng.random(12) * 0.5).astype(float)
    y[:, 5], y[:, 6] = 0.0, 1.0  # a species at no site and one at every site
    p_lower, p_upper = assoc.cooccurrence_pvalues(y)
    counts = y.sum(axis=0)
    expected = np.where(y.T @ y >= np.outer(counts, counts) / len(y), p_upper, p_lower)
    np.fill_diagonal(expected, 1.0)
    assert np.allclose(assoc.directional_pvalue(y), expected)


def test_expected_seconds_grows_with_sites_species_and_width():
    rng = np.random.default_rng(0)
    narrow = rng.normal(size=(2000, 6))
    assert (assoc.expected_seconds(narrow, 50) < assoc.expected_seconds(narrow, 200)
            < assoc.expected_seconds(np.tile(narrow, (4, 1)), 200))
    wide = rng.normal(size=(2000, 300))  # text-like: linear terms, L-BFGS
    assert assoc.expected_seconds(wide, 50) > assoc.expected_seconds(narrow, 50)


def test_residual_layer_finds_the_hidden_factor_pair_and_not_the_shared_habitat_pair():
    x, y, _logits = hidden_factor_sites()
    model = FixedModel(np.array([[2, 2, 0, 0, 0], [0, 0, 0.5, -0.5, 0], [0, 0, 0, 0, 0.3]]),
                       list("abcde"))
    result = assoc.compute_associations([model], x, y, n_boot=20)
    assert result.residual[2, 3] > 0.2 and abs(result.residual[0, 1]) < 0.1
    assert result.supported("residual")[2, 3] and not result.supported("residual")[0, 1]
    assert result.environmental[0, 1] > 0.99 and result.learned[0, 1] > 0.3
    assert np.all(result.spread == 0) and result.n_models == 1
    assert result.cooccurrence_p[2, 3] < 1e-6 and result.supported("cooccurrence")[0, 1]


def test_response_pvalues_are_mann_whitney_s_one_sided_test_with_ties():
    rng = np.random.default_rng(0)
    proba = rng.random((300, 3))
    proba[:, 2] = np.round(proba[:, 2], 1)  # ties
    y = np.column_stack([rng.random(300) < proba[:, 0], rng.random(300) < 0.3,
                         rng.random(300) < proba[:, 2]])
    expected = [mannwhitneyu(proba[y[:, k], k], proba[~y[:, k], k], alternative="greater",
                             method="asymptotic", use_continuity=False).pvalue for k in range(3)]
    assert np.allclose(assoc.response_pvalues(proba, y), expected, rtol=1e-9)
    y[:, 1] = True  # at every site: nothing to rank
    assert assoc.response_pvalues(proba, y)[1] == 1.0


def test_a_species_without_a_habitat_supports_no_environmental_pair():
    """The model gives species e a tiny response along a's covariate (noise it fitted): the
    scale-free correlation of their responses is 1, but e's records follow no covariate."""
    x, y, _ = hidden_factor_sites(1500)
    y[:, 4] = np.random.default_rng(5).random(len(y)) < 0.3  # no habitat at all
    weights = np.zeros((3, 5))
    weights[0, :2], weights[0, 4], weights[1, 2:4] = 2.0, 0.01, (0.5, -0.5)
    result = assoc.compute_associations([FixedModel(weights, list("abcde"))], x, y, n_boot=10)
    assert result.environmental[0, 4] > 0.99
    assert result.response_p[4] > 0.05 and result.response_p[0] < 1e-6
    assert not result.supported("environmental")[0, 4]
    assert result.supported("environmental")[0, 1]  # both respond to covariate 0
    assert result.supported("environmental")[2, 3]  # both respond to covariate 1, oppositely


def two_covariate_survey(n: int, seed: int):
    """Species a and b follow covariate 0 (oppositely), c follows covariate 1, d both."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([1.5 * x[:, 0], -1.5 * x[:, 0], 2 * x[:, 1],
                              0.8 * x[:, 0] + 0.8 * x[:, 1]])
    return x, (rng.random(logits.shape) < 1 / (1 + np.exp(-logits))).astype(float)


def test_the_response_estimation_sd_matches_the_spread_over_repeated_surveys():
    """The jackknife over one survey's fold models says how far the correlation of two fitted
    responses moves from survey to survey of the same world (within a factor 1.5 for every pair
    whose responses are not one covariate's), and shrinks with more sites."""
    upper = np.triu_indices(4, k=1)
    spreads = {}
    for n in (300, 1200):
        values, sds = [], []
        for replicate in range(30):
            x, y = two_covariate_survey(n, replicate)
            values.append(assoc.column_correlation(assoc.CovariateModel().fit(x, y).response(x)))
            _, models = assoc.crossfit_covariate_models(x, y, seed=replicate)
            sds.append(assoc.response_estimation_sd(models, x))
        spreads[n] = np.std(values, axis=0)[upper], np.mean(sds, axis=0)[upper]
    across_surveys, jackknife = spreads[300]
    mixed = across_surveys > 0.05  # a-b follow one covariate: their correlation is about -1
    assert mixed.sum() == 5
    assert np.all(jackknife[mixed] / across_surveys[mixed] > 1 / 1.5)
    assert np.all(jackknife[mixed] / across_surveys[mixed] < 1.5)
    assert np.all(spreads[1200][1][mixed] < jackknife[mixed] * 0.7)  # about 1/2 at 4x the sites


def test_a_response_leaked_from_another_covariate_is_no_shared_response():
    """The fixed model mixes the covariates a little (a follows covariate 0 with a trace of 1, c
    covariate 1 with a trace of 0), as a network fitted to a small survey does: their responses
    correlate at about 0.2 and the site bootstrap calls that sure; a trace this small is within
    what fitting responses to 200 sites gets wrong, and the estimation sd says so. (A larger
    leak, 0.4, stays supported: the covariate model measures the estimation noise, not the
    network's.)"""
    x, y = two_covariate_survey(200, seed=3)
    weights = np.array([[1.5, -1.5, 0.2, 0.8], [0.2, 0.0, 2.0, 0.8]])
    model = FixedModel(weights, list("abcd"))
    result = assoc.compute_associations([model], x, y, n_boot=20)
    logits = model.predict_logits(x)
    site_sd = assoc.bootstrap_sd(lambda r: assoc.column_correlation(logits[r]), np.arange(200),
                                 n_boot=20)
    assert 0.15 < result.environmental[0, 2] < 0.3
    assert result.environmental[0, 2] / site_sd[0, 2] > 3  # "sure" on the site bootstrap alone
    assert not result.supported("environmental")[0, 2]
    assert result.supported("environmental")[0, 1] and result.supported("environmental")[0, 3]


def test_residual_pairs_from_the_covariate_model_s_own_errors_are_not_supported():
    """A planted survey (benchmarks/residual_null.py, 200 sites, seed 41) where the site
    bootstrap, and the null sd with a normal p, support a residual pair that has no association;
    with the layer's p only the planted pair (species 10 and 11, a hidden site factor) is."""
    from benchmarks.residual_null import PLANTED, planted_survey

    x, y = planted_survey(200, 41)
    model = FixedModel(np.eye(3, 12), [f"s{k}" for k in range(12)])
    result = assoc.compute_associations([model], x, y, seed=41)
    supported = np.triu(result.supported("residual", many_pairs=True), k=1)
    assert supported[PLANTED] and supported.sum() == 1
    proba, fold_models = assoc.crossfit_covariate_models(x, y, seed=41)
    null_sd, draws = assoc.residual_null_sd(x, fold_models, seed=41)
    moderated, df = assoc.moderated_null_sd(null_sd, draws, assoc.response_overlap(proba))
    assert draws == assoc.NULL_DRAWS and np.all(df >= draws - 1)
    np.testing.assert_allclose(result.residual_null_sd, moderated)
    np.testing.assert_array_equal(result.residual_null_df, df)
    assert np.all(result.residual_sd >= moderated - 1e-12)
    raw_normal = assoc.pair_pvalues(result.residual, np.maximum(result.residual_sd, null_sd))
    assert np.triu(assoc._significant(raw_normal, 0.05, True), k=1).sum() == 2


def test_a_pair_judged_on_an_sd_from_few_draws_keeps_the_false_rate_with_the_t_p():
    """Null values N(0, 1) judged on an sd estimated from 20 null draws: the normal p on that sd
    calls more than 5% significant at 0.05, the t p with 19 degrees of freedom 5%."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 200))
    null_sd = rng.normal(size=(20, 200, 200)).std(axis=0, ddof=1)
    normal_rate = (assoc.pair_pvalues(values, null_sd) < 0.05).mean()
    t_rate = (assoc.pair_pvalues(values, null_sd, null_sd, 19) < 0.05).mean()
    assert normal_rate > 0.058
    assert abs(t_rate - 0.05) < 0.004


def test_the_residual_p_is_the_larger_of_the_bootstrap_normal_p_and_the_null_t_p():
    from scipy.stats import norm, t

    value = np.array([[0.0, 0.3], [0.3, 0.0]])
    sd = np.array([[1.0, 0.1], [0.1, 1.0]])
    np.testing.assert_allclose(assoc.pair_pvalues(value, sd)[0, 1], 2 * norm.sf(3.0))
    null_sd = np.array([[1.0, 0.1], [0.1, 1.0]])  # the null decides: its t p
    np.testing.assert_allclose(assoc.pair_pvalues(value, sd, null_sd, 7)[0, 1],
                               2 * t.sf(3.0, df=7))
    small_null = np.array([[1.0, 0.01], [0.01, 1.0]])  # the bootstrap decides: its normal p
    np.testing.assert_allclose(assoc.pair_pvalues(value, sd, small_null, 7)[0, 1],
                               2 * norm.sf(3.0))
    assert assoc.pair_pvalues(value, np.zeros_like(sd))[0, 1] == 0.0  # no spread: sure


def null_sds(shares: np.ndarray, draws: int, rng, pair_scatter: float = 0.0) -> tuple:
    """(true sd, sd estimated from `draws` null values) of pairs whose log variance is
    shares_i + shares_j (+ a pair's own normal term of sd `pair_scatter`)."""
    n = len(shares)
    extra = np.triu(rng.normal(0, pair_scatter, (n, n)), k=1)
    truth = np.exp((shares[:, None] + shares[None, :] + extra + extra.T) / 2)
    np.fill_diagonal(truth, 0.0)
    drawn = rng.normal(size=(draws, n, n))
    drawn = (np.triu(drawn, k=1) + np.transpose(np.triu(drawn, k=1), (0, 2, 1))) * truth
    return truth, drawn.std(axis=0, ddof=1)


def test_moderated_null_sds_borrow_from_the_other_pairs_where_a_species_trend_fits():
    rng = np.random.default_rng(5)
    truth, raw = null_sds(rng.normal(-4, 0.5, 40), 8, rng)
    moderated, df = assoc.moderated_null_sd(raw, 8)
    upper = np.triu_indices(40, k=1)
    raw_error, moderated_error = (np.abs(np.log(sd[upper] / truth[upper])).mean()
                                  for sd in (raw, moderated))
    assert moderated_error < raw_error / 3 and df[upper].min() > 100
    values = rng.normal(size=truth.shape) * truth  # null values: p uniform, 5% below 0.05
    rate = (assoc.pair_pvalues(values, moderated, moderated, df)[upper] < 0.05).mean()
    assert abs(rate - 0.05) < 0.015


def test_moderation_keeps_the_pairs_own_sd_where_pairs_differ_beyond_the_trend():
    rng = np.random.default_rng(6)
    truth, raw = null_sds(rng.normal(-4, 0.5, 40), 8, rng, pair_scatter=1.5)
    moderated, df = assoc.moderated_null_sd(raw, 8)
    upper = np.triu_indices(40, k=1)
    assert df[upper].max() < 7 + 3  # little to borrow
    values = rng.normal(size=truth.shape) * truth
    rate = (assoc.pair_pvalues(values, moderated, moderated, df)[upper] < 0.05).mean()
    assert abs(rate - 0.05) < 0.015


def test_the_pair_overlap_term_explains_what_the_species_trend_cannot():
    """Log variances = species shares + the pair's overlap (as when two species of one habitat
    share the covariate model's errors): with the overlap the moderation borrows again (the
    species trend alone leaves the overlap as scatter) and the p stays calibrated."""
    rng = np.random.default_rng(8)
    n, draws = 40, 8
    habitat = rng.normal(size=(n, 3))
    overlap = habitat @ habitat.T  # any symmetric pair term
    truth, raw = null_sds(rng.normal(-4, 0.5, n), draws, rng)
    truth = truth * np.exp(overlap / 2)
    raw = raw * np.exp(overlap / 2)
    upper = np.triu_indices(n, k=1)
    species_only, species_df = assoc.moderated_null_sd(raw, draws)
    with_overlap, df = assoc.moderated_null_sd(raw, draws, overlap)
    error = {name: np.abs(np.log(sd[upper] / truth[upper])).mean()
             for name, sd in (("raw", raw), ("species", species_only), ("overlap", with_overlap))}
    assert error["overlap"] < error["raw"] / 3 and error["overlap"] < error["species"] / 2
    assert df[upper].min() > 50 and species_df[upper].max() < 20
    values = rng.normal(size=truth.shape) * truth
    rate = (assoc.pair_pvalues(values, with_overlap, with_overlap, df)[upper] < 0.05).mean()
    assert abs(rate - 0.05) < 0.015
    flat = assoc.moderated_null_sd(raw, draws, np.zeros((n, n)))  # a term with nothing in it
    np.testing.assert_allclose(flat[0], species_only)


def test_response_overlap_is_how_much_two_species_are_uncertain_at_the_same_sites():
    proba = np.array([[0.5, 0.5, 0.0], [0.5, 0.1, 0.0], [0.1, 0.5, 1.0]])
    overlap = assoc.response_overlap(proba)
    weights = proba * (1 - proba)
    np.testing.assert_allclose(overlap[0, 1], np.log(weights[:, 0] @ weights[:, 1]))
    assert overlap[0, 0] > overlap[0, 1]  # alike with itself most
    assert np.isfinite(overlap).all()  # species 2 is certain everywhere: the smallest positive
    np.testing.assert_allclose(overlap[2], np.full(3, overlap[overlap > -np.inf].min()))


def test_a_species_without_variation_keeps_its_pairs_raw_sd_and_the_draws_df():
    rng = np.random.default_rng(7)
    _, raw = null_sds(rng.normal(-4, 0.5, 10), 20, rng)
    raw[0, :] = raw[:, 0] = 0.0  # species 0 at no site in the drawn surveys
    moderated, df = assoc.moderated_null_sd(raw, 20)
    assert not moderated[0].any() and np.all(df[0] == 19) and np.all(df[1:, 1:] > 19)
    assert np.isfinite(moderated).all()
    few, few_df = assoc.moderated_null_sd(raw[:4, :4], 20)  # too few species to fit a trend
    np.testing.assert_array_equal(few, raw[:4, :4])
    assert np.all(few_df == 19)


def test_the_smallest_supported_value_is_where_the_pair_p_reaches_the_level():
    rng = np.random.default_rng(3)
    sd, null_sd = rng.uniform(0.05, 0.2, (2, 6, 6))
    for null in ((None, 0), (null_sd, 19), (null_sd, np.full((6, 6), np.inf))):
        smallest = assoc.smallest_supported_value(sd, 0.01, *null)
        np.testing.assert_allclose(assoc.pair_pvalues(smallest, sd, *null), 0.01)
    from benchmarks.residual_null import planted_survey

    x, y = planted_survey(200, 41)
    result = assoc.compute_associations([FixedModel(np.eye(3, 12), list("abcdefghijkl"))], x, y,
                                        seed=41)
    each_pair = result.smallest_supported("residual")
    corrected = result.smallest_supported("residual", many_pairs=True)
    assert 0 < each_pair < corrected < 1  # the correction asks for more
    assert result.smallest_supported("cooccurrence") is None


def test_a_warm_started_covariate_model_reaches_the_same_fit():
    x, y = two_covariate_survey(400, seed=1)
    cold = assoc.CovariateModel().fit(x, y)
    warm = assoc.CovariateModel().fit(x, y, start=cold.weights + 0.3)
    np.testing.assert_allclose(warm.weights, cold.weights, atol=1e-4)


def test_fewer_null_draws_where_the_covariate_model_is_slow_to_fit():
    narrow, wide = np.zeros((500, 3)), np.random.default_rng(0).normal(size=(2000, 90))
    assert assoc.null_draws(narrow, 20) == assoc.NULL_DRAWS
    assert assoc.MIN_NULL_DRAWS <= assoc.null_draws(wide, 400) < assoc.NULL_DRAWS


def test_benjamini_hochberg_keeps_the_strong_pairs_and_drops_chance_ones():
    pvalues = np.full((6, 6), 0.5)
    pvalues[0, 1] = pvalues[1, 0] = 1e-6
    pvalues[2, 3] = pvalues[3, 2] = pvalues[4, 5] = pvalues[5, 4] = 0.04
    plain = assoc._significant(pvalues, 0.05, many_pairs=False)
    corrected = assoc._significant(pvalues, 0.05, many_pairs=True)
    assert plain[2, 3] and not corrected[2, 3]
    assert corrected[0, 1] and corrected[1, 0] and corrected.sum() == 2


def test_species_with_too_few_records_support_no_pair():
    x, y, _ = hidden_factor_sites(400)
    y[:, 4] = 0
    y[:3, 4] = 1  # recorded at 3 training sites only
    model = FixedModel(np.eye(3, 5), list("abcde"))
    result = assoc.compute_associations([model], x, y, n_boot=10)
    for layer in assoc.LAYERS:
        assert not result.supported(layer)[4].any()


def test_spread_is_the_sd_across_models_and_stability_their_rank_agreement():
    x, y, _ = hidden_factor_sites(300)
    models = [FixedModel(np.eye(3, 5) * s, list("abcde")) for s in (1.0, 2.0)]
    result = assoc.compute_associations(models, x, y, n_boot=5)
    one = assoc.model_layers(models[0], x)[0]
    two = assoc.model_layers(models[1], x)[0]
    assert np.allclose(result.spread, np.abs(one - two) / 2)
    assert assoc.stability([one, one]) == pytest.approx(1.0)
    assert assoc.stability([one]) is None


def test_heldout_agreement_counts_only_well_observed_species():
    rng = np.random.default_rng(0)
    train = (rng.random((200, 4)) < 0.3).astype(float)
    test = (rng.random((50, 4)) < 0.3).astype(float)
    test[:, 3] = 0
    agreement = assoc.heldout_agreement(cooccurrence(train), train, test)
    assert agreement["species_compared"] == 3
    assert agreement["train_phi_vs_test_phi"] == pytest.approx(agreement["learned_vs_test_phi"])


def test_pair_table_is_strongest_first_and_filters_by_species_and_support():
    x, y, _ = hidden_factor_sites(600)
    model = FixedModel(np.eye(3, 5), list("abcde"))
    result = assoc.compute_associations([model], x, y, n_boot=10)
    table = pair_table(result, "residual")
    assert len(table) == 10 and set(table.iloc[0][["species A", "species B"]]) == {"c", "d"}
    assert (np.diff(np.abs(table["residual"])) <= 1e-9).all()
    pairs_of_e = pair_table(result, "residual", species="e")[["species A", "species B"]]
    assert set(pairs_of_e.stack()) >= {"e"}
    assert pair_table(result, "residual", only_supported=True)["supported"].all()
    first, second = table.iloc[0][["species A", "species B"]]
    k, j = "abcde".index(first), "abcde".index(second)
    assert table.iloc[0]["p"] == pytest.approx(result.pvalues("residual")[k, j])
    assert "p (Veech)" in pair_table(result, "cooccurrence") and "sd" not in pair_table(
        result, "cooccurrence")
    counts = dict(zip("abcde", result.train_counts, strict=True))
    assert table.iloc[0]["fewest records"] == min(counts[first], counts[second])


def test_clustered_export_is_in_dendrogram_order_with_groups_and_escapes_formulas():
    matrix = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.1], [0.0, 0.1, 1.0]])
    clustering = cluster_labels(matrix, 2)
    frame = clustered_frame(matrix, ["=HYPERLINK(x)", "b", "c"], clustering)
    assert list(frame.columns[:1]) == ["group"] and "'=HYPERLINK(x)" in frame.index
    assert frame.index.tolist() == frame.columns[1:].tolist()


def test_cli_associations_writes_the_contract_and_correlations_equals_learned(tmp_path):
    csv = write_toy_csv(tmp_path)
    runs = [tmp_path / f"seed{s}" for s in (0, 1)]
    for seed, run in enumerate(runs):
        args = ["train", "--data", str(csv), "--out", str(run), "--seed", str(seed), *FAST]
        assert main(args) == 0
    out = tmp_path / "assoc"
    assert main(["associations", "--model", str(runs[0]), "--model", str(runs[1]),
                 "--data", str(csv), "--out", str(out), "--bootstrap", "5"]) == 0
    names = ["alpha", "beta", "gamma", "alpha_twin"]
    for name in ("learned", "spread", "environmental", "residual", "cooccurrence",
                 "cooccurrence_p", "learned_p", "environmental_p", "residual_p"):
        frame = pd.read_csv(out / f"{name}.csv", index_col=0)
        assert frame.index.tolist() == names and frame.columns.tolist() == names, name
        assert np.allclose(frame.to_numpy(), frame.to_numpy().T, atol=1e-9), name
    assert pd.read_csv(out / "spread.csv", index_col=0).to_numpy().max() > 0
    summary = json.loads((out / "summary.json").read_text())
    assert -1 <= summary["stability"] <= 1
    assert set(summary["heldout_agreement"]) >= {"learned_vs_test_phi", "train_phi_vs_test_phi"}
    assert summary["pairs"] == 6 and set(summary["supported_pairs"]) == set(assoc.LAYERS)
    for layer, counts in summary["supported_pairs"].items():  # BH keeps no more than p < 0.05
        assert 0 <= counts["benjamini_hochberg_5%"] <= counts["p<0.05"] <= 6
        assert counts["p<0.05"] == round(summary["supported_fraction"][layer] * 6)

    single = tmp_path / "single"
    assert main(["associations", "--model", str(runs[0]), "--data", str(csv), "--out",
                 str(single), "--bootstrap", "5"]) == 0
    assert json.loads((single / "summary.json").read_text())["stability"] is None
    assert not pd.read_csv(single / "spread.csv", index_col=0).to_numpy().any()
    assert main(["correlations", "--model", str(runs[0]), "--out", str(tmp_path / "c.csv")]) == 0
    exported = pd.read_csv(tmp_path / "c.csv", index_col=0)
    learned = pd.read_csv(single / "learned.csv", index_col=0)
    assert exported.index.tolist() == names
    assert np.allclose(exported.to_numpy(), learned.to_numpy(), atol=1e-5)
