"""Epoch selection rules, the mean label AUC and the CLI's time estimate."""

import json
from dataclasses import replace
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from test_cli import write_toy_csv
from toy import toy_data, toy_split

from cgmvae import metrics
from cgmvae.cli import main
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.train import fit, replay_selection, selection_score

# Epoch:          1     2     3     4     5     6     7     8
# a lucky first epoch, as on ontario_birds
MICRO_F1 = [0.60, 0.40, 0.50, 0.55, 0.58, 0.59, 0.45, 0.44]
MACRO_F1 = [0.10, 0.20, 0.35, 0.30, 0.25, 0.20, 0.15, 0.10]
MEAN_AUC = [0.60, 0.65, 0.70, 0.72, 0.74, 0.73, 0.71, 0.70]
VAL_LOSS = [0.50, 0.40, 0.35, 0.30, 0.31, 0.33, 0.36, 0.40]
HISTORY = [{"epoch": e, "val_micro_f1": mi, "val_macro_f1": ma, "val_mean_auc": auc,
            "val_loss": loss}
           for e, (mi, ma, auc, loss)
           in enumerate(zip(MICRO_F1, MACRO_F1, MEAN_AUC, VAL_LOSS, strict=True), 1)]
SMALL = ModelConfig(embedding_dim=32, latent_dim=8, feature_hidden=(32,), label_hidden=(32,),
                    decoder_hidden=(32,), dropout=0.1)


@pytest.mark.parametrize(("metric", "window", "kept"), [
    ("micro_f1", 1, 1),
    ("macro_f1", 1, 3),
    ("mean_auc", 1, 5),
    ("val_loss", 1, 4),  # lowest cross-entropy
    ("micro_f1", 3, 6),  # (0.55 + 0.58 + 0.59) / 3; the spike has no full window
    ("mean_auc", 3, 6),  # (0.72 + 0.74 + 0.73) / 3 = 0.7300 > (0.70 + 0.72 + 0.74) / 3
    ("val_loss", 3, 6),  # (0.30 + 0.31 + 0.33) / 3 = 0.3133 < (0.35 + 0.30 + 0.31) / 3
])
def test_each_rule_keeps_the_epoch_with_its_best_score(metric, window, kept):
    config = TrainConfig(selection_metric=metric, selection_window=window, patience=100)
    assert replay_selection(HISTORY, config) == (kept, len(HISTORY))


def test_patience_and_max_epochs_end_the_replay():
    assert replay_selection(HISTORY, TrainConfig(selection_metric="mean_auc", patience=2)) == (5, 7)
    assert replay_selection(HISTORY, TrainConfig(selection_metric="micro_f1", patience=3)) == (1, 4)
    config = TrainConfig(selection_metric="mean_auc", patience=100, max_epochs=3)
    assert replay_selection(HISTORY, config) == (3, 3)


def test_selection_score_is_higher_for_lower_loss_and_minus_infinity_for_nan():
    config = TrainConfig(selection_metric="val_loss")
    assert selection_score(HISTORY[:2], config) == -0.40
    windowed = TrainConfig(selection_metric="val_loss", selection_window=2)
    assert selection_score(HISTORY[:2], windowed) == pytest.approx(-0.45)
    # no full window
    assert selection_score(HISTORY[:2], TrainConfig(selection_window=3)) == -np.inf
    undefined = [{**HISTORY[0], "val_mean_auc": math.nan}]
    assert selection_score(undefined, TrainConfig(selection_metric="mean_auc")) == -np.inf
    assert replay_selection(undefined * 3, TrainConfig(selection_metric="mean_auc")) == (1, 3)


def test_an_unknown_rule_or_window_is_refused_by_name():
    with pytest.raises(ValueError, match="selection_metric must be one of"):
        TrainConfig(selection_metric="auc")
    with pytest.raises(ValueError, match="selection_window"):
        TrainConfig(selection_window=0)


@pytest.mark.parametrize(("metric", "window"), [("mean_auc", 3), ("val_loss", 1)])
def test_training_keeps_the_epoch_that_replaying_its_history_gives(metric, window):
    data = toy_data(160)
    config = TrainConfig(max_epochs=12, patience=4, batch_size=32, learning_rate=0.01, device="cpu",
                         selection_metric=metric, selection_window=window)
    model = fit(data, toy_split(data), model_config=SMALL, train_config=config)
    assert {"val_loss", "val_micro_f1", "val_macro_f1", "val_mean_auc"} <= set(model.history[0])
    assert replay_selection(model.history, config) == (model.best_epoch, len(model.history))


def test_mean_label_auc_on_a_worked_example_skips_the_one_class_label():
    y_true = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 1]])
    proba = np.array([[0.9, 0.2, 0.5], [0.4, 0.6, 0.1], [0.35, 0.6, 0.7], [0.1, 0.8, 0.3]])
    # label 0: positives 0.9, 0.35 beat 3 of the 4 negative pairs -> 0.75; label 1: the tie
    # 0.6 = 0.6 counts half -> 3.5 / 4 = 0.875; label 2 is always present and is skipped.
    assert metrics.mean_label_auc(y_true, proba) == pytest.approx((0.75 + 0.875) / 2)
    assert math.isnan(metrics.mean_label_auc(y_true[:, 2:], proba[:, 2:]))  # no label to score


def test_mean_label_auc_matches_sklearn_per_label():
    rng = np.random.default_rng(0)
    y_true = (rng.random((60, 5)) < [0.05, 0.3, 0.5, 0.0, 0.9]).astype(int)
    proba = np.round(rng.random((60, 5)), 1)  # rounded: ties as well
    expected = np.mean([roc_auc_score(y_true[:, j], proba[:, j]) for j in range(5)
                        if 0 < y_true[:, j].sum() < len(y_true)])
    assert metrics.mean_label_auc(y_true, proba) == pytest.approx(expected, abs=1e-12)


def test_cli_train_prints_the_time_estimate_and_reports_mean_auc(tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), "--epochs", "3",
                 "--embedding-dim", "32", "--device", "cpu", "--selection", "val_loss"]) == 0
    captured = capsys.readouterr()
    assert "up to 3 epochs" in captured.err
    first_epoch = next(line for line in captured.err.splitlines() if line.startswith("epoch 1/3:"))
    assert "s/epoch, at most" in first_epoch and first_epoch.endswith("left")
    assert "mean_auc" in captured.out.splitlines()[0]
    report = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(report["val"]) == set(report["test"]) == {*metrics.METRICS, "mean_auc"}
    assert set(report["test_deployed"]) == set(metrics.METRICS)
    assert 0.5 < report["test"]["mean_auc"] <= 1.0 and report["selection_metric"] == "val_loss"


def test_a_saturated_score_keeps_going_while_the_validation_loss_falls():
    """genbase: validation mean AUC 1.0 from epoch 3 on; the strict '>' kept epoch 3 and stopped
    `patience` epochs later. Equal scores are now told apart by the lower validation loss."""
    auc = [0.90, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    loss = [0.50, 0.40, 0.30, 0.25, 0.20, 0.22, 0.23, 0.24, 0.26]
    history = [{"epoch": e, "val_mean_auc": a, "val_loss": v, "val_micro_f1": 0.0}
               for e, (a, v) in enumerate(zip(auc, loss, strict=True), 1)]
    config = TrainConfig(selection_metric="mean_auc", patience=3)
    assert replay_selection(history, config) == (5, 8)  # lowest loss among the 1.0s, then 3 more
    better_score = [*history[:5], {**history[5], "val_mean_auc": 1.0, "val_loss": 0.9}]
    assert replay_selection(better_score, replace(config, patience=100))[0] == 5
    worse = [{**r, "val_mean_auc": 0.8} if r["epoch"] == 9 else r for r in history]
    assert replay_selection(worse, replace(config, patience=100))[0] == 5  # the score comes first
