"""Checkpoints: one file, exact round trip, and refusal of hostile, corrupt or mismatched files."""

import contextlib
import errno
import io
import json
import os
import pickle
import warnings

import numpy as np
import pytest
import torch
from toy import toy_data, toy_split

from cgmvae import checkpoint
from cgmvae.checkpoint import CheckpointError, UncheckedCheckpointWarning, content_digest
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData
from cgmvae.predictor import TrainedModel
from cgmvae.train import fit

SMALL = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                    decoder_hidden=(16,), dropout=0.0)


@pytest.fixture(scope="module")
def model():
    data = toy_data(120)
    return fit(data, toy_split(data), model_config=SMALL,
               train_config=TrainConfig(max_epochs=2, device="cpu"))


def test_round_trip_keeps_predictions_names_thresholds_and_preprocessing(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    loaded = TrainedModel.load(path)
    features = toy_data(30, seed=5).features
    assert np.array_equal(loaded.predict_proba(features), model.predict_proba(features))
    assert loaded.label_names == model.label_names and loaded.feature_names == model.feature_names
    assert loaded.threshold == model.threshold
    assert loaded.metric_thresholds == model.metric_thresholds
    assert np.array_equal(loaded.label_thresholds, model.label_thresholds)
    assert loaded.macro_per_label == model.macro_per_label
    assert np.array_equal(loaded.standardizer.mean, model.standardizer.mean)
    assert loaded.model_config == model.model_config and loaded.train_config == model.train_config
    assert loaded.history == model.history
    assert model.calibration_temperature is not None and model.calibration_temperature > 0
    assert loaded.calibration_temperature == model.calibration_temperature


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
    contents = {"truncated": good[: len(good) // 2], "empty": b"", "text": b"hello"}
    for name, content in contents.items():
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


def rewrite(path, payload, *, rehash=True):
    """Save an edited payload as a crafted file would be: with a matching checksum (`rehash`)."""
    if rehash:
        # no tensors to hash: refused before the checksum
        with contextlib.suppress(AttributeError, TypeError):
            payload["sha256"] = content_digest(payload["meta"], payload["weights"],
                                               payload["arrays"])
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_weights_that_do_not_fit_the_config_are_refused(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["weights"]["label_embeddings"] = torch.zeros(3, 3)
    rewrite(path, payload)
    with pytest.raises(CheckpointError, match="does not fit"):
        TrainedModel.load(path)


def test_data_with_other_features_or_labels_is_reported_as_mismatch(model):
    data = toy_data(10)
    model.check_compatible(data)
    other = MultiLabelData(data.features, data.labels[:, :3], data.feature_names, ["a", "b", "c"],
                           name="other")
    with pytest.raises(CheckpointError, match="trained on 'toy'"):
        model.check_compatible(other)


def one_line_error(path) -> str:
    with pytest.raises(CheckpointError) as caught:
        TrainedModel.load(path)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 500
    return message


@pytest.mark.parametrize("where", [1 / 3, 1 / 2, 2 / 3, 0.9])
def test_any_flipped_bytes_are_refused(model, tmp_path, where):
    """Issue 10: XOR-ing bytes in the middle of model.pt loaded and changed 36 of 280 decisions."""
    good = bytearray(model.save(tmp_path / "m.pt").read_bytes())
    start = int(len(good) * where)
    for i in range(start, start + 64):
        good[i] ^= 0xFF
    (tmp_path / "bad.pt").write_bytes(bytes(good))
    one_line_error(tmp_path / "bad.pt")


def test_a_single_flipped_bit_in_a_weight_is_called_corrupt(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    weight = payload["weights"]["label_embeddings"]
    weight.view(torch.int32)[0, 0] ^= 1  # the smallest change a damaged copy can make
    rewrite(path, payload, rehash=False)
    assert "is corrupt" in one_line_error(path)


def test_edited_metadata_with_the_old_checksum_is_called_corrupt(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["meta"] = payload["meta"].replace('"threshold": ', '"threshold": 0.0001 + ', 0)
    meta = json.loads(payload["meta"])
    meta["threshold"] = 0.01
    payload["meta"] = json.dumps(meta)
    rewrite(path, payload, rehash=False)
    assert "is corrupt" in one_line_error(path)


def test_a_version_2_file_without_its_checksum_is_refused(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    del payload["sha256"]
    rewrite(path, payload, rehash=False)
    assert "lost the SHA-256" in one_line_error(path)


def test_nan_or_infinite_weights_are_refused(model, tmp_path):
    for bad in (float("nan"), float("inf")):
        path = model.save(tmp_path / "m.pt")
        payload = torch.load(path, weights_only=True)
        payload["weights"]["label_embeddings"][0, 0] = bad
        rewrite(path, payload)
        assert "'label_embeddings' holds NaN or infinite values" in one_line_error(path)


def edited(model, tmp_path, change):
    """A saved model whose payload `change(payload, meta)` edited, with a matching checksum."""
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["meta"])
    result = change(payload, meta)
    payload["meta"] = result if isinstance(result, str) else json.dumps(meta)
    return rewrite(path, payload)


def set_meta(key, value):
    def change(payload, meta):
        meta[key] = value
    return change


@pytest.mark.parametrize(("change", "message"), [
    (lambda p, m: p.update(weights="a string"), "'weights' is not a table of named tensors"),
    (lambda p, m: p["arrays"].update(label_prevalence="text"),
     "'arrays' is not a table of named tensors"),
    (lambda p, m: p["weights"].update(label_embeddings=p["weights"]["label_embeddings"].double()),
     "is torch.float64, not float32"),
    (lambda p, m: "[1, 2, 3]", "the metadata is a JSON list, not an object"),
    (lambda p, m: "[" * 100_000 + "]" * 100_000, "unreadable metadata"),
    (lambda p, m: "{not json", "unreadable metadata"),
    (set_meta("threshold", "abc"), "'threshold' should be a number in [0, 1], found 'abc'"),
    (set_meta("threshold", float("nan")), "'threshold' should be a number in [0, 1]"),
    (set_meta("threshold", 7), "'threshold' should be a number in [0, 1], found 7"),
    (set_meta("metric_thresholds", {"micro_f1": None}), "'metric_thresholds.micro_f1' should be"),
    (set_meta("label_names", ["a", "b"]), "2 label names for a network built for 4"),
    (set_meta("feature_names", [f"f{i}" for i in range(7)]), "7 feature names for a network built"),
    (set_meta("label_names", ["a", "a", "b", "c"]), "'label_names' should be distinct texts"),
    (set_meta("label_names", [1, 2, 3, 4]), "'label_names' should be distinct texts"),
    (set_meta("feature_names", "f0 f1"), "'feature_names' should be a list, found str"),
    (set_meta("history", [1, 2]), "'history' should hold one object per epoch"),
    (set_meta("history", None), "'history' should be a list, found NoneType"),
    (set_meta("best_epoch", "3"), "'best_epoch' should be a int, found str"),
    (set_meta("macro_per_label", "yes"), "'macro_per_label' should be true or false"),
    (set_meta("stop_note", ["diverged"]), "'stop_note' should be a string"),
    (set_meta("calibration_temperature", -1.0), "'calibration_temperature' should be a positive"),
    (set_meta("calibration_temperature", "hot"), "'calibration_temperature' should be a positive"),
    (set_meta("model_config", [1]), "'model_config' should be a dict, found list"),
    (lambda p, m: m["model_config"].update(dropout="high"), "dropout must be a number in [0, 1)"),
    (lambda p, m: m["model_config"].update(colour=1), "unexpected keyword argument 'colour'"),
    (lambda p, m: m["train_config"].pop("loss"), "does not fit this version of cgmvae: 'loss'"),
    (lambda p, m: m["train_config"].update(batch_size=1), "batch_size must be an integer >= 2"),
    (set_meta("version", 99), "version 99, expected 'cgmvae-checkpoint' version 2"),
    (lambda p, m: p["arrays"].update(standardizer_mean=torch.zeros(3)),
     "'standardizer_mean' has shape (3,), the model needs (6,)"),
    (lambda p, m: p["arrays"].update(standardizer_scale=torch.zeros(6)),
     "'standardizer_scale' holds values <= 0"),
    (lambda p, m: p["arrays"].pop("label_prevalence"), "the array 'label_prevalence' is missing"),
    (lambda p, m: p["arrays"].update(learned_association=torch.zeros(4)),
     "'learned_association' has shape (4,), the model needs (4, 4)"),
    (lambda p, m: p["weights"].pop("label_embeddings"), "missing ['label_embeddings']"),
    (lambda p, m: p["weights"].update(extra=torch.zeros(1)), "unexpected ['extra']"),
])
def test_every_malformed_checkpoint_is_one_clear_checkpoint_error(model, tmp_path, change, message):
    """Issue 10: these gave AttributeError, RecursionError or broadcasting errors."""
    assert message in one_line_error(edited(model, tmp_path, change))


def test_a_checkpoint_written_before_checksums_loads_with_a_warning(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["meta"])
    meta["version"] = 1
    payload["meta"] = json.dumps(meta)
    del payload["sha256"]
    rewrite(path, payload, rehash=False)
    with pytest.warns(UncheckedCheckpointWarning, match="before checkpoints carried a checksum"):
        loaded = TrainedModel.load(path)
    features = toy_data(10, seed=3).features
    assert np.array_equal(loaded.predict_proba(features), model.predict_proba(features))


def test_the_shipped_checkpoint_carries_a_checksum_and_loads_without_warning(repo_root):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncheckedCheckpointWarning)
        model = TrainedModel.load(repo_root / "assets" / "sim_birds.pt")
    assert len(model.label_names) == model.model_config.n_labels


def test_a_failed_save_leaves_neither_the_file_nor_a_temporary_one(model, tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        model.save(tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_version_1_checkpoint_trained_with_a_negative_seed_still_loads(model, tmp_path):
    """Version 1 took --seed -1 when the data came with its split; torch read it as 2**64 - 1."""
    path = model.save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["meta"])
    meta["version"], meta["train_config"]["seed"] = 1, -1
    payload["meta"] = json.dumps(meta)
    del payload["sha256"]
    rewrite(path, payload, rehash=False)
    with pytest.warns(UncheckedCheckpointWarning):
        assert TrainedModel.load(path).train_config.seed == 2**64 - 1
