"""The Train page started from a tuned configuration (best_config.json of `cgmvae tune`)."""

import json
from dataclasses import replace

import pytest
from test_app import SMALL, assert_clean, by_label, run_page, texts, tiny_model_and_data
from ui.state import DATA_KEY
from ui.tuned_config import MAX_CONFIG_BYTES, read_tuned_config

from cgmvae.config import LossWeights, ModelConfig, TrainConfig


@pytest.fixture(scope="module")
def tiny():
    return tiny_model_and_data()


def best_config(folder, *, embedding_dim=16, features=3, labels=2, feature_hidden=(16,), **train):
    """A best_config.json as `python -m cgmvae tune` writes it: tuned values, a small model."""
    model_config = replace(SMALL, embedding_dim=embedding_dim, dropout=0.3,
                           feature_hidden=feature_hidden)
    train_config = TrainConfig(learning_rate=0.000461, max_epochs=2, weight_decay=0.001,
                               loss=LossWeights(kl=0.136), **train)
    path = folder / "best_config.json"
    path.write_text(json.dumps({
        "model_config": model_config.to_dict(), "train_config": train_config.to_dict(),
        "best_value": 0.7123, "selection_metric": "mean_auc", "trial": 7,
        "study": "cgmvae-tiny", "data": {"name": "tiny", "rows": 120, "features": features,
                                         "labels": labels}}))
    return path


def use_config(app, path):
    by_label(app.text_input, "...or its path on the server").input(str(path))
    by_label(app.button, "Use this configuration").click()
    return app.run()


def test_a_tuned_configuration_fills_the_form_and_trains_with_the_file_s_other_settings(
        tiny, tmp_path):
    _, choice = tiny
    app = use_config(run_page("2_train.py", {DATA_KEY: choice}), best_config(tmp_path))
    assert_clean(app)
    assert by_label(app.number_input, "Learning rate").value == pytest.approx(0.000461)
    assert by_label(app.number_input, "KL weight").value == pytest.approx(0.136)
    assert by_label(app.number_input, "Embedding size E").value == 16
    assert by_label(app.slider, "Dropout").value == pytest.approx(0.3)
    info = " ".join(texts(app, "info"))
    assert "best_config.json (trial 7 of study cgmvae-tiny, validation mean_auc 0.7123)" in info
    assert not app.warning  # tuned on data of this shape
    by_label(app.number_input, "Seed").set_value(3)  # the form still changes what it shows
    by_label(app.button, "Train").click()
    app.run()
    job = app.session_state["training_job"]
    job.thread.join(timeout=120)
    model = job.model
    assert model.train_config.learning_rate == pytest.approx(0.000461)
    assert model.train_config.loss.kl == pytest.approx(0.136) and model.train_config.seed == 3
    assert model.train_config.weight_decay == 0.001  # not on the form: the file's
    assert model.model_config.feature_hidden == SMALL.feature_hidden
    app.run()
    by_label(app.button, "Back to the defaults").click()
    app.run()
    assert by_label(app.number_input, "KL weight").value == TrainConfig().loss.kl
    assert "tuned configuration" not in " ".join(texts(app, "info"))


def test_a_configuration_tuned_on_other_data_is_used_with_a_warning(tiny, tmp_path):
    _, choice = tiny
    app = use_config(run_page("2_train.py", {DATA_KEY: choice}),
                     best_config(tmp_path, features=1001, labels=28))
    assert_clean(app)
    warning = " ".join(texts(app, "warning"))
    assert "tuned on tiny (1001 features, 28 labels), not on the data chosen (3 features, " \
           "2 labels)" in warning


def test_what_the_form_cannot_take_or_is_no_config_is_refused_and_the_form_stays(tiny, tmp_path):
    _, choice = tiny
    app = use_config(run_page("2_train.py", {DATA_KEY: choice}),
                     best_config(tmp_path, embedding_dim=8192))
    assert not app.exception
    assert "the form cannot take Embedding size E 8192 (the form takes 8 to 4096)" in \
        " ".join(texts(app, "error"))
    assert by_label(app.number_input, "Embedding size E").value == ModelConfig().embedding_dim
    garbage = tmp_path / "notes.json"
    garbage.write_text('{"learning_rate": 0.001}')
    app = use_config(run_page("2_train.py", {DATA_KEY: choice}), garbage)
    assert "Cannot use this configuration: notes.json is not a config file with 'model_config'" \
        in " ".join(texts(app, "error"))
    assert "tuned configuration" not in " ".join(texts(app, "info"))
    with pytest.raises(ValueError, match="has 1,000,001 bytes"):
        read_tuned_config(b" " * (MAX_CONFIG_BYTES + 1), "big.json")
    with pytest.raises(ValueError, match="is not a text file"):
        read_tuned_config(b"\xff\xfe\x00", "binary.json")


def test_a_configuration_too_large_for_the_server_is_refused_before_anything_is_built(tiny,
                                                                                       tmp_path):
    """Hidden sizes are not on the form: a file can name any. Two layers of 20,000 make 400
    million weights (1.6 GB, four times that to train): refused, counted without allocating."""
    _, choice = tiny
    app = use_config(run_page("2_train.py", {DATA_KEY: choice}),
                     best_config(tmp_path, feature_hidden=(20_000, 20_000)))
    assert not app.exception
    error = " ".join(texts(app, "error"))
    assert "Cannot use best_config.json: these settings make a network of 400," in error
    assert "more than the 100,000,000 the app trains" in error
    assert "tuned configuration" not in " ".join(texts(app, "info"))


def test_many_posterior_samples_are_refused_and_the_file_s_device_is_the_app_s(tiny, tmp_path):
    _, choice = tiny
    app = use_config(run_page("2_train.py", {DATA_KEY: choice}),
                     best_config(tmp_path, latent_samples=100_000))
    assert "decode 100,000 posterior samples per row, more than the 64" in \
        " ".join(texts(app, "error"))
    start = read_tuned_config(best_config(tmp_path, device="cuda").read_bytes(), "gpu.json")
    assert start.train_config.device == TrainConfig().device  # tuned on a GPU, trained here
