"""Training: learns, is deterministic, selects by validation, respects callbacks and cancel."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from toy import toy_data, toy_split

from cgmvae import metrics
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.train import fit, resolve_device

SMALL = ModelConfig(embedding_dim=32, latent_dim=8, feature_hidden=(32,), label_hidden=(32,),
                    decoder_hidden=(32,), dropout=0.1)
QUICK = TrainConfig(max_epochs=40, batch_size=32, learning_rate=0.005, device="cpu")


@pytest.fixture(scope="module")
def trained():
    data = toy_data()
    split = toy_split(data)
    return data, split, fit(data, split, model_config=SMALL, train_config=QUICK)


def test_training_beats_predicting_the_prevalence(trained):
    data, split, model = trained
    test_x, test_y = data.features[split.test], data.labels[split.test]
    ours = metrics.evaluate(test_y, model.predict_proba(test_x), model.threshold)["micro_f1"]
    prevalence = np.tile(data.labels[split.train].mean(0), (len(split.test), 1))
    trivial = max(metrics.evaluate(test_y, prevalence, t)["micro_f1"] for t in (0.3, 0.5))
    assert ours > trivial + 0.15


def test_history_has_one_record_per_epoch_with_the_documented_keys(trained):
    _, _, model = trained
    documented = {"epoch", "max_epochs", "train_loss", "val_loss", "val_micro_f1", "seconds"}
    assert documented <= set(model.history[0])
    assert [r["epoch"] for r in model.history] == list(range(1, len(model.history) + 1))
    best = max(r["val_mean_auc"] for r in model.history)  # the default selection rule
    assert model.history[model.best_epoch - 1]["val_mean_auc"] == best


def test_thresholds_come_from_validation_and_lie_in_0_1(trained):
    _, _, model = trained
    assert 0.0 < model.threshold < 1.0
    assert set(model.metric_thresholds) == set(metrics.METRICS)
    assert model.label_thresholds.shape == (4,)


def test_training_on_cpu_is_deterministic_for_a_seed():
    data = toy_data(120)
    split = toy_split(data)
    config = TrainConfig(max_epochs=3, batch_size=32, device="cpu", seed=3)
    first = fit(data, split, model_config=SMALL, train_config=config)
    second = fit(data, split, model_config=SMALL, train_config=config)
    assert np.array_equal(first.predict_proba(data.features), second.predict_proba(data.features))


def test_callbacks_see_every_epoch_and_should_stop_cancels():
    data = toy_data(120)
    seen = []
    model = fit(data, toy_split(data), model_config=SMALL, train_config=QUICK,
                callbacks=[seen.append], should_stop=lambda: len(seen) >= 2)
    assert [r["epoch"] for r in seen] == [1, 2] and len(model.history) == 2


def test_early_stopping_ends_before_max_epochs_when_validation_stalls():
    data = toy_data(120)
    # a fifth of the labels flipped: validation stops improving (the clean toy is separable,
    # its validation loss falls for hundreds of epochs)
    flips = np.random.default_rng(1).random(data.labels.shape) < 0.2
    noisy = MultiLabelData(data.features, np.where(flips, 1 - data.labels, data.labels),
                           data.feature_names, data.label_names)
    config = TrainConfig(max_epochs=200, patience=3, batch_size=32, learning_rate=0.01,
                         device="cpu")
    model = fit(noisy, toy_split(data), model_config=SMALL, train_config=config)
    assert len(model.history) < 200 and len(model.history) - model.best_epoch <= 3


def test_labels_absent_from_training_and_constant_features_do_not_break_training():
    data = toy_data(160)
    labels = data.labels.copy()
    split = toy_split(data)
    labels[split.train, 2] = 0.0  # never seen in training
    features = data.features.copy()
    features[:, 4] = 7.0  # constant
    odd = MultiLabelData(features, labels, data.feature_names, data.label_names)
    model = fit(odd, split, model_config=SMALL,
                train_config=TrainConfig(max_epochs=3, device="cpu"))
    proba = model.predict_proba(features)
    assert np.isfinite(proba).all() and np.isfinite(model.label_thresholds).all()


def test_label_less_training_rows_are_fine():
    data = toy_data(120)
    labels = data.labels.copy()
    labels[:30] = 0.0
    model = fit(MultiLabelData(data.features, labels, data.feature_names, data.label_names),
                toy_split(data), model_config=SMALL,
                train_config=TrainConfig(max_epochs=3, device="cpu"))
    assert all(np.isfinite(r["train_loss"]) for r in model.history)


def test_a_split_from_another_data_set_is_rejected():
    data = toy_data(50)
    with pytest.raises(DataError, match="outside"):
        fit(data, Split([0, 1, 2], [3, 99], [4]), model_config=SMALL, train_config=QUICK)


def test_auto_device_is_cpu_without_a_gpu_and_cuda_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="CUDA"):
        resolve_device("cuda")


def test_two_trainings_at_once_in_threads_give_the_seed_s_model():
    """Issue 10: trainings side by side shared torch's global random state (the app trains in
    threads), so the same seed gave different models."""
    import threading

    data = toy_data(120)
    split = toy_split(data)
    config = TrainConfig(max_epochs=3, batch_size=32, device="cpu", seed=3)
    alone = fit(data, split, model_config=SMALL, train_config=config)
    together = [None, None]

    def train(slot: int) -> None:
        together[slot] = fit(data, split, model_config=SMALL, train_config=config)

    threads = [threading.Thread(target=train, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for model in together:
        for name, weight in alone.network.state_dict().items():
            assert torch.equal(weight, model.network.state_dict()[name]), name


def test_another_seed_gives_another_model_and_the_global_seed_does_not_matter():
    data = toy_data(120)
    split = toy_split(data)
    config = TrainConfig(max_epochs=1, batch_size=32, device="cpu", seed=3)
    torch.manual_seed(1)
    first = fit(data, split, model_config=SMALL, train_config=config).predict_proba(data.features)
    torch.manual_seed(2)
    same = fit(data, split, model_config=SMALL, train_config=config).predict_proba(data.features)
    other = fit(data, split, model_config=SMALL,
                train_config=replace(config, seed=4)).predict_proba(data.features)
    assert np.array_equal(first, same) and not np.allclose(first, other)


def test_the_trained_network_keeps_no_training_generator():
    data = toy_data(80)
    model = fit(data, toy_split(data), model_config=SMALL,
                train_config=TrainConfig(max_epochs=1, device="cpu"))
    assert model.network.generator is None


def test_labels_are_stored_as_uint8_and_a_fraction_or_256_is_refused_not_cast():
    features = np.zeros((3, 1), dtype=np.float32)
    data = MultiLabelData(features, np.array([[1.0], [0.0], [1.0]]), ["x"], ["a"])
    assert data.labels.dtype == np.uint8 and data.labels[:, 0].tolist() == [1, 0, 1]
    for bad in (np.array([[0.5], [0], [1]]), np.array([[256], [0], [1]], dtype=np.int64)):
        with pytest.raises(DataError, match="0 or 1"):
            MultiLabelData(features, bad, ["x"], ["a"])


def test_training_batches_keep_uint8_labels_until_run_epoch_makes_them_float(monkeypatch):
    """The training and validation label tensors stay uint8 (a quarter of float32's memory);
    train_step receives float32 labels, one mini-batch at a time."""
    from cgmvae import train

    seen, stored = [], []
    real_step, real_batches = train.train_step, train.TensorBatches

    def spy_step(model, optimizer, x, y, config):
        seen.append(y.dtype)
        return real_step(model, optimizer, x, y, config)

    def spy_batches(x, y, **kwargs):
        stored.append(y.dtype)
        return real_batches(x, y, **kwargs)

    monkeypatch.setattr(train, "train_step", spy_step)
    monkeypatch.setattr(train, "TensorBatches", spy_batches)
    data = toy_data(120)
    fit(data, toy_split(data), model_config=SMALL, train_config=replace(QUICK, max_epochs=1))
    assert stored == [torch.uint8] and set(seen) == {torch.float32}


def test_a_learning_rate_that_diverges_at_once_is_a_clear_error():
    from cgmvae.train import TrainingDiverged

    data = toy_data(120)
    with pytest.raises(TrainingDiverged, match="loss became nan in epoch 1 at learning rate "
                                               "1000; a lower learning rate \\(--lr\\)"):
        fit(data, toy_split(data), model_config=SMALL,
            train_config=replace(QUICK, max_epochs=3, learning_rate=1e3))


@pytest.mark.parametrize("ema_decay", [0.0, 0.99])  # the network itself, or its weight average
def test_divergence_after_good_epochs_keeps_the_best_of_them_with_a_warning(monkeypatch,
                                                                           ema_decay, tmp_path):
    """From epoch 3 every step poisons the weights (as a diverging run would): training stops
    there, the model is the best of epochs 1-2, finite, and the warning says so."""
    from cgmvae import train

    seen, real_step = [], train.train_step

    def poisoned_from_epoch_3(model, optimizer, x, y, config):
        loss = real_step(model, optimizer, x, y, config)
        if len(seen) < 2:
            return loss
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.fill_(float("nan"))
        return loss * float("nan")

    monkeypatch.setattr(train, "train_step", poisoned_from_epoch_3)
    data = toy_data(120)
    with pytest.warns(RuntimeWarning, match="loss became nan in epoch 3 .* kept epoch [12],"):
        model = fit(data, toy_split(data), model_config=SMALL,
                    train_config=replace(QUICK, max_epochs=6, ema_decay=ema_decay),
                    callbacks=[seen.append])
    assert len(model.history) == 2 and model.best_epoch in (1, 2)
    assert np.isfinite(model.predict_proba(data.features)).all()
    assert model.stop_note.startswith("training stopped early, the training loss became nan")
    from cgmvae.predictor import TrainedModel  # the note travels with the checkpoint

    assert TrainedModel.load(model.save(tmp_path / "m.pt")).stop_note == model.stop_note
