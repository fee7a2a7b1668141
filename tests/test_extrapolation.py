"""ExDet's NT2: sites whose covariates are each within the training range, in a combination no
training site had."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from toy import toy_split

from cgmvae.checkpoint import CheckpointError, content_digest
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData
from cgmvae.extrapolation import MAX_INPUTS, NOVEL, novelty, novelty_metric
from cgmvae.predictor import TrainedModel
from cgmvae.train import fit

TINY = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                   decoder_hidden=(16,))


def wet_and_low(n: int, seed: int = 0) -> np.ndarray:
    """Standardized (moisture, elevation) of surveyed sites: the wet ones are the low ones."""
    rng = np.random.default_rng(seed)
    moisture = rng.normal(size=n)
    sites = np.column_stack([moisture, -0.9 * moisture + 0.3 * rng.normal(size=n)])
    return ((sites - sites.mean(axis=0)) / sites.std(axis=0)).astype(np.float32)


def test_the_most_unusual_training_site_scores_one_and_an_unseen_combination_more():
    sites = wet_and_low(500)
    metric = novelty_metric(sites)
    scores = novelty(sites, metric)
    assert scores.max() == pytest.approx(1.0) and np.median(scores) < 0.5
    # wet and high: each value well inside its range, never seen together
    dry_low, wet_high, wet_low = novelty(np.array([[-1.5, -1.5], [1.5, 1.5], [1.5, -1.5]]),
                                         metric)
    assert np.abs(sites).max(axis=0).min() > 1.5
    assert dry_low > 1.5 and wet_high > 1.5 and wet_low < 1.0
    assert novelty(np.zeros((1, 2)), metric)[0] == 0.0


def test_redundant_inputs_such_as_a_category_s_columns_keep_it_finite():
    rng = np.random.default_rng(1)
    habitat = rng.integers(0, 3, size=300)
    one_hot = np.eye(3)[habitat]  # the columns sum to 1
    sites = np.column_stack([rng.normal(size=300), one_hot])
    sites = (sites - sites.mean(axis=0)) / sites.std(axis=0)
    scores = novelty(sites, novelty_metric(sites))
    assert np.isfinite(scores).all() and scores.max() == pytest.approx(1.0)


def test_text_like_inputs_and_single_rows_get_no_metric():
    assert novelty_metric(np.zeros((50, MAX_INPUTS + 1), np.float32)) is None
    assert novelty_metric(np.zeros((1, 3), np.float32)) is None


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(2)
    moisture = rng.normal(size=200)
    elevation = 500 - 300 * moisture + 60 * rng.normal(size=200)
    features = np.column_stack([moisture, elevation]).astype(np.float32)
    labels = np.column_stack([moisture > 0, elevation > 600, moisture < -1]).astype(np.float32)
    data = MultiLabelData(features, labels, ["moisture", "elevation"],
                          ["sedge", "pipit", "lark"], name="meadows")
    return fit(data, toy_split(data), model_config=TINY,
               train_config=TrainConfig(max_epochs=2, device="cpu"))


def test_a_site_unlike_the_training_sites_is_flagged_in_the_predictions_and_the_note(model,
                                                                                    tmp_path):
    """Wet and high (each in range, never together) gets covariate_novelty above 1 and the note
    says so; the checkpoint keeps the metric."""
    from cgmvae.formats.model_input import predict_csv

    sites = pd.DataFrame({"moisture": [0.0, 1.5, -1.5], "elevation": [500.0, 900.0, 50.0]})
    assert (sites.min() > model.feature_min).all() and (sites.max() < model.feature_max).all()
    frame = model.prediction_frame(sites.to_numpy(np.float32))
    assert frame["covariates_outside_training"].tolist() == [0, 0, 0]
    usual, wet_high, dry_low = frame["covariate_novelty"]
    assert usual < 0.3 and wet_high > 1.5 and dry_low > 1.5
    note = model.extrapolation_note(sites.to_numpy(np.float32))
    assert note.startswith("2 of 3 sites have every covariate within its training range, but "
                           "in a combination no training site had")
    path = tmp_path / "new_sites.csv"
    sites.to_csv(path, index=False)
    assert predict_csv(model, path).attrs["extrapolation"] == note
    loaded = TrainedModel.load(model.save(tmp_path / "model.pt"))
    np.testing.assert_allclose(loaded.feature_novelty_metric, model.feature_novelty_metric)
    assert loaded.extrapolation_note(sites.to_numpy(np.float32)) == note


def test_a_site_outside_a_range_is_named_once_not_twice(model):
    """Outside a range (NT1) is its own line; the combination line counts only sites in range."""
    sites = np.array([[0.0, 2000.0], [1.5, 900.0]], np.float32)
    note = model.extrapolation_note(sites)
    assert note.startswith("1 of 2 sites lie outside the covariate range")
    assert "1 of 2 sites have every covariate within its training range" in note


def test_a_checkpoint_with_a_broken_metric_is_refused(model, tmp_path):
    path = model.save(tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["arrays"]["feature_novelty_metric"][0, 0] = float("nan")
    # a checksum that fits: written so, not damaged on the way
    payload["sha256"] = content_digest(payload["meta"], payload["weights"], payload["arrays"])
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="'feature_novelty_metric' holds NaN or infinite"):
        TrainedModel.load(path)
    older = replace(model, feature_novelty_metric=None)
    assert "covariate_novelty" not in older.prediction_frame(np.zeros((1, 2), np.float32))


def test_the_benchmark_counts_each_kind_of_flag_once():
    from benchmarks.extrapolation import flags

    train = wet_and_low(400)
    test = np.array([[0.0, 0.0], [1.5, 1.5], [9.0, -9.0]], np.float32)  # usual, combination, range
    row = flags(train, test)
    assert row["outside_a_range"] == 0.333
    assert row["novel_combination_in_range"] == 0.333


def test_the_benchmark_s_pseudo_inverse_is_the_metric_blind_to_a_broken_constraint():
    from benchmarks.extrapolation import _constraint_row

    rng = np.random.default_rng(5)
    shares = rng.dirichlet([2, 2, 2], size=300)  # sum to 1
    train = np.column_stack([rng.normal(size=300), shares]).astype(np.float32)
    test = train[:20]
    changed = test.copy()
    changed[:, 1:] = np.minimum(changed[:, 1:] * 1.5, train[:, 1:].max(axis=0))
    row = _constraint_row("planted", "shares raised by half", train, test, changed)
    assert row["flagged_unchanged_today"] == row["flagged_unchanged_pseudo_inverse"] == 0.0
    assert row["flagged_changed_today"] > 0.9 and row["flagged_changed_pseudo_inverse"] == 0.0


def test_the_sites_concerned_are_named_by_their_ids(model):
    from cgmvae.explore import sites_unlike_training

    sites = np.array([[0.0, 500.0], [1.5, 900.0], [0.0, 5000.0]], np.float32)
    ids = pd.DataFrame({"meadow": ["M1", "M2", "M3"], "year": [2024, 2024, 2025]})
    frame = model.prediction_frame(sites, ids=ids)
    assert sites_unlike_training(model, frame) == ["M2 / 2024", "M3 / 2025"]


def test_a_site_breaking_a_constraint_every_training_site_kept_is_flagged():
    """A reserve lies in one region: a pseudo-inverse ignored that direction of no spread, so a
    site in reserve 0 of region 1 scored as typical. The rounding of fractions is not flagged."""
    rng = np.random.default_rng(2)
    reserve = rng.integers(0, 4, size=400)
    region = np.eye(2)[reserve // 2]  # reserves 0, 1 in region 0; 2, 3 in region 1
    cover = rng.dirichlet([2, 2, 2], size=400)  # land-cover fractions summing to 1
    raw = np.column_stack([rng.normal(size=400), np.eye(4)[reserve], region, cover])
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    metric = novelty_metric(((raw - mean) / std).astype(np.float32))
    typical = np.r_[0.0, 1, 0, 0, 0, 1, 0, 0.3, 0.3, 0.4]
    elsewhere = typical.copy()
    elsewhere[5:7] = [0, 1]
    rounded = typical.copy()
    rounded[7:] = [0.3, 0.3, 0.39]  # a new table's fractions written to two decimals
    scores = novelty((np.array([typical, elsewhere, rounded]) - mean) / std, metric)
    assert scores[0] < 0.5 and scores[2] < 0.5 and scores[1] > 2 * NOVEL


def test_the_built_in_model_flags_land_cover_shares_that_do_not_sum_to_one(repo_root):
    """Its training sites' four land-cover shares sum to 1: a site whose shares sum to 2 is a
    combination no training site had, however ordinary each share (the pseudo-inverse NT2 said
    0.08)."""
    model = TrainedModel.load(repo_root / "assets" / "sim_birds.pt")
    typical, doubled = [0.2, 0.3, 0.2, 0.3, 300, 6, 1.2], [0.5, 0.5, 0.5, 0.5, 300, 6, 1.2]
    scores = model.combination_novelty(np.array([typical, doubled], dtype=np.float32))
    assert scores[0] < 0.2 and scores[1] > 5 * NOVEL
