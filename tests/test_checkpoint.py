"""Checkpoints: one file, exact round trip, and refusal of hostile, corrupt or mismatched files."""

import io
import os
import pickle

import numpy as np
import pytest
import torch
from toy import toy_data, toy_split

from cgmvae.checkpoint import CheckpointError
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData
from cgmvae.predictor import TrainedModel
from cgmvae.train import fit

SMALL = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                    decoder_hidden=(16,), dropout=0.0)


@pytest.fixture(scope="module")
def model():
    data = toy_data(120)
    return fit(data, toy_split(data), model_config=SMALL, train_config=TrainConfig(max_epochs=2, device="cpu"))


def test_round_trip_keeps_predictions_names_thresholds_and_preprocessing(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    loaded = TrainedModel.load(path)
    features = toy_data(30, seed=5).features
    assert np.array_equal(loaded.predict_proba(features), model.predict_proba(features))
    assert loaded.label_names == model.label_names and loaded.feature_names == model.feature_names
    assert loaded.threshold == model.threshold and loaded.metric_thresholds == model.metric_thresholds
    assert np.array_equal(loaded.label_thresholds, model.label_thresholds)
    assert loaded.macro_per_label == model.macro_per_label
    assert np.array_equal(loaded.standardizer.mean, model.standardizer.mean)
    assert loaded.model_config == model.model_config and loaded.train_config == model.train_config
    assert loaded.history == model.history


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_pickle_with_arbitrary_objects_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"meta": Exploit(), "weights": {}, "arrays": {}}, path)
    with pytest.raises(CheckpointError, match="refusing"):
        TrainedModel.load(path)


def test_a_raw_pickle_file_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CheckpointError):
        TrainedModel.load(path)


def test_corrupt_truncated_and_empty_files_give_clear_errors(model, tmp_path):
    good = model.save(tmp_path / "good.pt").read_bytes()
    for name, content in {"truncated": good[: len(good) // 2], "empty": b"", "text": b"hello"}.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        with pytest.raises(CheckpointError):
            TrainedModel.load(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        TrainedModel.load(tmp_path / "missing.pt")


def test_a_plain_torch_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"layer.weight": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a cgmvae checkpoint"):
        TrainedModel.load(path)


def test_weights_that_do_not_fit_the_config_are_refused(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["weights"]["label_embeddings"] = torch.zeros(3, 3)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="does not fit"):
        TrainedModel.load(path)


def test_data_with_other_features_or_labels_is_reported_as_mismatch(model):
    data = toy_data(10)
    model.check_compatible(data)
    other = MultiLabelData(data.features, data.labels[:, :3], data.feature_names, ["a", "b", "c"], name="other")
    with pytest.raises(CheckpointError, match="trained on 'toy'"):
        model.check_compatible(other)
