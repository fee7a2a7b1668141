"""The time a training should take, said before it starts (issue 9 item 8)."""

import pytest
from toy import toy_data, toy_split

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.timing import EpochEstimate, duration, estimate_epoch_time

SMALL = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                    decoder_hidden=(16,))


def test_the_estimate_times_real_steps_and_scales_them_to_the_epoch():
    data = toy_data(400)
    split = toy_split(data)
    few = estimate_epoch_time(data, split, SMALL, TrainConfig(batch_size=160, device="cpu"))
    many = estimate_epoch_time(data, split, SMALL, TrainConfig(batch_size=8, device="cpu"))
    assert 0 < few.seconds_per_epoch < many.seconds_per_epoch  # 3 batches against 40


def test_the_estimate_bounds_a_run_by_patience_and_max_epochs():
    estimate = EpochEstimate(seconds_per_epoch=2.0, max_epochs=300, patience=20)
    assert estimate.at_least_seconds == 42.0  # the best epoch first, then 20 more
    assert estimate.at_most_seconds == 600.0
    assert EpochEstimate(2.0, max_epochs=5, patience=20).at_least_seconds == 10.0


@pytest.mark.parametrize(("seconds", "text"), [(0.2, "1 s"), (45, "45 s"), (600, "10 min"),
                                               (4800, "80 min"), (6000, "1 h 40 min")])
def test_durations_read_like_a_progress_note(seconds, text):
    assert duration(seconds) == text


def test_the_estimate_keeps_nothing_and_leaves_the_data_as_it_was():
    data = toy_data(100)
    before = data.features.copy(), data.labels.copy()
    estimate_epoch_time(data, toy_split(data), SMALL, TrainConfig(device="cpu"))
    assert (data.features == before[0]).all() and (data.labels == before[1]).all()


def test_the_training_progress_says_the_time_per_epoch_and_left():
    from ui.training import TrainingJob

    job = TrainingJob(data=None, max_epochs=300, records=[{"seconds": 0.5}, {"seconds": 0.7}])
    assert job.progress_text() == "Epoch 2 of up to 300 · 0.6 s per epoch · at most 3 min left"
    assert TrainingJob(data=None, max_epochs=9).progress_text() == "Epoch 0 of up to 9"


def test_the_train_page_opens_with_the_library_defaults_and_their_expected_time():
    from test_app import by_label, run_page, texts

    app = run_page("2_train.py")
    assert by_label(app.number_input, "Max epochs").value == TrainConfig().max_epochs
    assert by_label(app.number_input, "Embedding size E").value == ModelConfig().embedding_dim
    note = next(t for t in texts(app, "caption") if t.startswith("Expected time"))
    assert "s per epoch" in note and "at the latest after 300 epochs" in note


def test_the_training_progress_moves_within_a_long_epoch():
    from ui.training import TrainingJob

    job = TrainingJob(data=None, max_epochs=10, batches_per_epoch=400)
    job.epoch_done({"seconds": 60.0})
    job.batches_done = 100
    assert job.progress() == pytest.approx((1 + 100 / 400) / 10)
    assert "epoch 2: batch 100 of 400" in job.progress_text()
    job.epoch_done({"seconds": 60.0})
    assert job.batches_done == 0 and job.progress() == pytest.approx(0.2)


def test_fit_reports_every_training_step_within_each_epoch():
    from cgmvae.train import fit

    data = toy_data(100)
    split = toy_split(data)  # 80 training rows
    steps, epochs = [], []
    fit(data, split, model_config=SMALL, callbacks=[epochs.append], on_batch=steps.append,
        train_config=TrainConfig(max_epochs=2, batch_size=16, device="cpu"))
    assert len(epochs) == 2 and steps == [1, 2, 3, 4, 5] * 2  # 80 / 16 steps per epoch


def test_the_time_note_says_one_duration_when_every_epoch_runs():
    from ui.training import expected_time_note

    every_epoch = expected_time_note(EpochEstimate(0.6, max_epochs=5, patience=20))
    assert every_epoch.endswith("so about 3 s for 5 epochs.") and "between" not in every_epoch
    early = expected_time_note(EpochEstimate(0.6, max_epochs=300, patience=20))
    assert "between 13 s and 3 min: early stopping ends the run 20 epochs after" in early
