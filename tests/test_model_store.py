"""The model folder: save, list and load kept models; names cannot leave the folder."""

from dataclasses import replace

import pytest
from test_app import tiny_model_and_data

from cgmvae import model_store
from cgmvae.checkpoint import CheckpointError
from cgmvae.variants import apply_variant


@pytest.fixture(scope="module")
def model():
    return tiny_model_and_data()[0]


def test_a_kept_model_comes_back_with_its_info(model, tmp_path):
    name, info = model_store.save(model, "yeast run", data_source="yeast folder",
                                  test_metrics={"macro_f1": 0.41}, folder=tmp_path)
    assert name == "yeast-run" and (tmp_path / name / "model.pt").is_file()
    loaded, loaded_info = model_store.load(name, folder=tmp_path)
    assert loaded.label_names == model.label_names
    assert loaded_info["test_metrics"] == {"macro_f1": 0.41}
    assert loaded_info["data_source"] == "yeast folder" and loaded_info["date"] == info["date"]
    assert loaded_info["variant"] == "cgmvae" and loaded_info["dataset"] == "tiny"


def test_names_are_unique_and_listed_newest_first_skipping_broken_folders(model, tmp_path):
    first, _ = model_store.save(model, "run", folder=tmp_path)
    second, _ = model_store.save(model, "run", folder=tmp_path)
    assert (first, second) == ("run", "run-2")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "info.json").write_text("{not json")
    names = [info["name"] for info in model_store.list_models(tmp_path)]
    assert sorted(names) == ["run", "run-2"]
    assert model_store.list_models(tmp_path / "missing") == []


@pytest.mark.parametrize("hint, name", [("../../etc/passwd", "etc-passwd"), ("a/b\\c", "a-b-c"),
                                        (".hidden", "hidden"), ("", "model"), ("ok_1.0", "ok_1.0")])
def test_names_are_sanitised(hint, name):
    assert model_store.safe_name(hint) == name


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "..", "", "x" * 101, "a b"])
def test_loading_refuses_a_name_that_is_not_a_plain_folder_name(name, tmp_path):
    with pytest.raises(ValueError, match="not a model name"):
        model_store.load(name, folder=tmp_path)


def test_loading_a_missing_or_garbage_model_raises_a_user_error(tmp_path):
    with pytest.raises((OSError, CheckpointError)):
        model_store.load("nothing", folder=tmp_path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        model_store.load("bad", folder=tmp_path)


def test_the_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(model_store.MODEL_DIR_ENV, str(tmp_path))
    assert model_store.model_dir() == tmp_path
    monkeypatch.delenv(model_store.MODEL_DIR_ENV)
    assert model_store.model_dir().name == "runs"


@pytest.mark.parametrize("variant", ["cgmvae", "cgmvae-unigaussian", "cgmvae-gm-only",
                                     "cgmvae-contrastive-only", "cgmvae-informative-latent"])
def test_the_variant_is_read_back_from_the_settings(model, variant):
    model_config, train_config = apply_variant(variant, model.model_config, model.train_config)
    assert model_store.variant_of(replace(model, model_config=model_config,
                                          train_config=train_config)) == variant
