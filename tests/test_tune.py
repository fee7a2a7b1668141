"""Hyper-parameter search: toy studies, pruning, shared storage, best_config.json -> train."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
import torch
from toy import toy_data, toy_split

from cgmvae import tune
from cgmvae.cli import main
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.predictor import TrainedModel
from cgmvae.train import fit

ROOT = Path(__file__).resolve().parents[1]
SMALL_MODEL = ModelConfig(feature_hidden=(32,), label_hidden=(32,), decoder_hidden=(32,))
SMALL_SPACE = {**tune.SEARCH_SPACE, "embedding_dim": {"choices": [16, 32]}}
GOOD = {"learning_rate": 4e-3, "dropout": 0.3, "embedding_dim": 512, "kl_weight": 0.1}
BAD = {"learning_rate": 1e-4, "dropout": 0.7, "embedding_dim": 512, "kl_weight": 10.0}

optuna.logging.set_verbosity(optuna.logging.WARNING)


def small_study(data, split, trials=3, **kwargs):
    return tune.run_study(data, split, trials=trials, model_config=SMALL_MODEL,
                          train_config=TrainConfig(max_epochs=3, device="cpu"), sampler_seed=0,
                          space=SMALL_SPACE, **kwargs)


def write_toy_csv(folder: Path) -> Path:
    import pandas as pd

    data = toy_data(200)
    frame = pd.DataFrame(data.features, columns=data.feature_names)
    frame[data.label_names] = data.labels.astype(int)
    frame.to_csv(folder / "toy.csv", index=False)
    (folder / "toy.json").write_text(json.dumps({"features": data.feature_names,
                                                 "labels": data.label_names}))
    return folder / "toy.csv"


def test_a_study_on_toy_data_scores_every_trial_by_validation_selection_score():
    data = toy_data()
    study = small_study(data, toy_split(data))
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    for trial in study.trials:
        assert 0.0 <= trial.value <= 1.0  # validation mean label AUC (the default selection)
        # reported after each epoch: the best so far, which is what the trial returns
        assert list(trial.intermediate_values) == [1, 2, 3]
        assert trial.value == max(trial.intermediate_values.values())
        assert trial.user_attrs["model_config"]["embedding_dim"] == trial.params["embedding_dim"]
        assert trial.user_attrs["train_config"]["loss"]["kl"] == trial.params["kl_weight"]
    result = tune.best_config(study, trials=3, storage=None, space=SMALL_SPACE)
    assert result["best_value"] == max(t.value for t in study.trials)
    assert result["budget"]["trials_in_study"] == {"complete": 3, "pruned": 0, "fail": 0,
                                                   "running": 0, "interrupted": 0}
    assert result["budget"]["max_epochs_per_trial"] == 3 and result["search_space"] == SMALL_SPACE


def test_a_callback_exception_ends_fit_after_that_epoch():
    data = toy_data()
    seen = []

    def stop_at_two(record):
        seen.append(record["epoch"])
        if record["epoch"] == 2:
            raise optuna.TrialPruned("stop")

    with pytest.raises(optuna.TrialPruned):
        fit(data, toy_split(data), model_config=SMALL_MODEL,
            train_config=TrainConfig(max_epochs=10, device="cpu"), callbacks=[stop_at_two])
    assert seen == [1, 2]


def test_the_median_pruner_stops_a_trial_far_below_a_completed_one():
    data = toy_data()
    split = toy_split(data)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=2)
    study = tune.open_study(None, "prune", tune.data_fingerprint(data, split), pruner=pruner)
    study.enqueue_trial(GOOD)
    study.enqueue_trial(BAD)
    study.optimize(tune.make_objective(data, split, ModelConfig(),
                                       TrainConfig(max_epochs=8, device="cpu"), tune.SEARCH_SPACE),
                   n_trials=2)
    good, bad = study.trials
    assert good.state.name == "COMPLETE" and len(good.intermediate_values) == 8
    assert bad.state.name == "PRUNED"
    assert max(bad.intermediate_values) == 2  # the first epoch the warm-up lets it prune at
    assert bad.intermediate_values[2] < good.intermediate_values[2]


def test_test_rows_do_not_change_the_study():
    data = toy_data()
    split = toy_split(data)
    features, labels = data.features.copy(), data.labels.copy()
    features[split.test] = 1e6  # absurd but finite
    labels[split.test] = 1.0 - labels[split.test]
    poisoned = replace(data, features=features, labels=labels)
    clean, dirty = small_study(data, split, trials=2), small_study(poisoned, split, trials=2)
    assert ([(t.params, t.value) for t in clean.trials]
            == [(t.params, t.value) for t in dirty.trials])


def test_a_shared_study_refuses_other_data(tmp_path):
    storage, data = f"sqlite:///{tmp_path / 'tune.db'}", toy_data()
    split = toy_split(data)
    tune.open_study(storage, "s", tune.data_fingerprint(data, split))
    other = toy_data(100)
    with pytest.raises(ValueError, match="was tuned on"):
        tune.open_study(storage, "s", tune.data_fingerprint(other, toy_split(other)))


def test_two_processes_on_one_sqlite_storage_add_to_one_study(tmp_path, capsys):
    csv, storage = write_toy_csv(tmp_path), f"sqlite:///{tmp_path / 'tune.db'}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "cgmvae", "tune", "--data", str(csv), "--trials", "2",
         "--epochs", "1", "--device", "cpu", "--storage", storage, "--study", "shared",
         "--sampler-seed", str(seed), "--out", str(tmp_path / f"out{seed}")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for seed in (1, 2)]
    for worker in workers:
        output = worker.communicate(timeout=240)[0]
        assert worker.returncode == 0, output
    study = optuna.load_study(study_name="shared", storage=storage)
    assert len(study.trials) == 4 and all(t.state.name == "COMPLETE" for t in study.trials)
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    last = max((json.loads((tmp_path / f"out{s}" / "best_config.json").read_text())
                for s in (1, 2)), key=lambda r: r["budget"]["trials_in_study"]["complete"])
    assert last["trial"] == study.best_trial.number  # the process that ended last saw all 4
    # --trials 0 runs nothing and writes the shared study's best, whichever worker found it
    read = ["tune", "--data", str(csv), "--trials", "0", "--storage", storage, "--out",
            str(tmp_path / "final")]
    assert main([*read, "--study", "shared"]) == 0
    final = json.loads((tmp_path / "final" / "best_config.json").read_text())
    assert final["trial"] == study.best_trial.number and final["best_value"] == study.best_value
    assert final["budget"]["trials_this_process"] == 0
    assert final["budget"]["trials_in_study"] == {"complete": 4, "pruned": 0, "fail": 0,
                                                  "running": 0, "interrupted": 0}
    assert len(optuna.load_study(study_name="shared", storage=storage).trials) == 4
    assert main([*read, "--study", "typo"]) == 2  # never creates an empty study
    assert "there is no study 'typo'" in capsys.readouterr().err
    assert optuna.study.get_all_study_names(storage) == ["shared"]


def test_best_config_json_trains_with_command_line_options_on_top(tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    assert main(["tune", "--data", str(csv), "--trials", "2", "--epochs", "2", "--device", "cpu",
                 "--sampler-seed", "0", "--out", str(tmp_path / "tuned")]) == 0
    path = tmp_path / "tuned" / "best_config.json"
    saved = json.loads(path.read_text())
    shown = capsys.readouterr().err  # a worker says what each trial tries and how it goes
    assert "trial 0 starts: learning_rate 0.002, dropout 0.5, embedding_dim 512, kl_weight 6" \
        in shown
    assert "trial 1: epoch 1/2: loss" in shown and "trial 1: epoch 2/2: loss" in shown
    assert saved["study"] == "cgmvae-toy" and saved["budget"]["trials_this_process"] == 2
    assert main(["train", "--data", str(csv), "--config", str(path), "--epochs", "3",
                 "--out", str(tmp_path / "run")]) == 0
    model = TrainedModel.load(tmp_path / "run" / "model.pt")
    assert model.model_config.embedding_dim == saved["params"]["embedding_dim"]
    assert model.model_config.dropout == saved["params"]["dropout"]
    assert model.train_config.learning_rate == saved["params"]["learning_rate"]
    assert model.train_config.loss.kl == saved["params"]["kl_weight"]
    assert model.train_config.max_epochs == 3 and len(model.history) == 3  # given: it wins
    assert model.train_config.device == "cpu"  # not given: the file's
    assert "tuned on" not in capsys.readouterr().err
    saved["data"] = {**saved["data"], "name": "enron", "features": 1001, "labels": 53}
    path.write_text(json.dumps(saved))
    assert main(["train", "--data", str(csv), "--config", str(path), "--epochs", "1",
                 "--out", str(tmp_path / "other")]) == 0
    assert "note: this configuration was tuned on enron (1001 features, 53 labels), not on the " \
           "data chosen (" in capsys.readouterr().err


def test_tune_refuses_fewer_than_one_trial_without_a_shared_study(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["tune", "--data", "unused.csv", "--trials", "-1", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "argument --trials: must be at least 0, got -1" in capsys.readouterr().err
    assert main(["tune", "--data", "unused.csv", "--trials", "0", "--out", str(tmp_path)]) == 2
    assert "--trials 0 writes the best configuration of a shared study" in (
        capsys.readouterr().err)
    data = toy_data()
    with pytest.raises(ValueError, match="trials must be >= 1"):
        tune.run_study(data, toy_split(data), trials=0, model_config=SMALL_MODEL,
                       train_config=TrainConfig())


def test_a_storage_password_is_not_shown():
    assert tune.shown_storage("postgresql://tuner:secret@db/studies") == (
        "postgresql://tuner:***@db/studies")
    assert tune.shown_storage("sqlite:///tune.db") == "sqlite:///tune.db"


@pytest.mark.parametrize("text", ['{"model_config": {}}', "not json",
                                  ('{"model_config": {"dropout": 1.5}, '
                                   '"train_config": {"loss": {}}}')])
def test_train_names_a_config_file_it_cannot_read(tmp_path, capsys, text):
    csv = write_toy_csv(tmp_path)
    (tmp_path / "bad.json").write_text(text)
    assert main(["train", "--data", str(csv), "--config", str(tmp_path / "bad.json"),
                 "--out", str(tmp_path / "run")]) == 2
    assert f"{tmp_path / 'bad.json'} is not a config file" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def one_thread():
    """Identical studies need identical arithmetic; one thread also spares the shared CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_diverging_trial_fails_with_its_reason_and_the_study_goes_on(monkeypatch):
    """A learning rate too high for the data is an answer of the search (a failed trial), not an
    error that ends it; only when no trial completed is there no best configuration."""
    from cgmvae import train

    data = toy_data()
    split = toy_split(data)
    diverging = {**SMALL_SPACE, "learning_rate": {"low": 1e3, "high": 1e4, "log": True}}
    study = tune.run_study(data, split, trials=2, model_config=SMALL_MODEL,
                           train_config=TrainConfig(max_epochs=2, device="cpu"), sampler_seed=0,
                           space=diverging)
    assert [t.state.name for t in study.trials] == ["FAIL", "FAIL"]
    with pytest.raises(ValueError, match=r"no trial .* completed \(0 pruned, 2 failed"):
        tune.best_config(study, trials=2, storage=None, space=diverging)

    real_fit, calls = train.fit, []

    def first_call_diverges(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise train.TrainingDiverged("training diverged: the training loss became nan")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", first_call_diverges)
    study = small_study(data, split)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    result = tune.best_config(study, trials=3, storage=None, space=SMALL_SPACE)
    assert result["budget"]["trials_in_study"] == {"complete": 2, "pruned": 0, "fail": 1,
                                                   "running": 0, "interrupted": 0}


def test_the_first_trial_is_the_configuration_one_starts_from_once_per_study(tmp_path):
    """Tuning starts from the defaults (or --config), so its best is never below them on
    validation; a second process on the same study does not run them again."""
    data = toy_data()
    split = toy_split(data)
    start = replace(SMALL_MODEL, embedding_dim=32)
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    run = dict(model_config=start, train_config=TrainConfig(max_epochs=2, device="cpu"),
               space=SMALL_SPACE, storage=storage, study_name="s")
    study = tune.run_study(data, split, trials=2, sampler_seed=0, **run)
    expected = {"learning_rate": 0.002, "dropout": 0.5, "embedding_dim": 32, "kl_weight": 6.0}
    assert study.trials[0].params == expected
    assert study.best_value >= study.trials[0].value
    study = tune.run_study(data, split, trials=1, sampler_seed=1, **run)
    assert [t.params == expected for t in study.trials] == [True, False, False]
    # a start outside the search space (E 64 is not a choice) is not a trial
    assert tune.starting_params(replace(start, embedding_dim=64), TrainConfig(),
                                SMALL_SPACE) is None


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study")
def test_the_trial_of_a_worker_that_died_is_run_again_by_the_next_worker(tmp_path, monkeypatch):
    """A shared study outlives its workers (a machine taken back mid-trial): the dead worker's
    trial, silent past the grace period, is failed and run again with the same parameters, and
    best_config counts it as interrupted, not as a failure of the configuration."""
    import time

    monkeypatch.setattr(tune, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(tune, "GRACE_SECONDS", 1)
    data = toy_data()
    split = toy_split(data)
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    study = tune.open_study(storage, "s", tune.data_fingerprint(data, split))
    dead = study.ask()  # a worker that began this trial, said it was alive once, then died
    params = tune.sample_params(dead, SMALL_SPACE)
    study._storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)
    study = tune.run_study(data, split, trials=1, model_config=SMALL_MODEL,
                           train_config=TrainConfig(max_epochs=2, device="cpu"),
                           space=SMALL_SPACE, storage=storage, study_name="s", sampler_seed=0)
    states = [(t.state.name, t.params == params) for t in study.trials]
    assert states == [("FAIL", True), ("COMPLETE", True)]
    counts = tune.best_config(study, trials=1, storage=storage)["budget"]["trials_in_study"]
    assert counts == {"complete": 1, "pruned": 0, "fail": 0, "running": 0, "interrupted": 1}


def test_reading_a_study_before_any_trial_completed_says_what_is_still_running():
    data = toy_data()
    study = tune.open_study(None, "s", tune.data_fingerprint(data, toy_split(data)))
    with pytest.raises(ValueError, match=r"no trial .* completed .* run more trials$"):
        tune.best_config(study, trials=0, storage=None)
    study.ask()  # a worker's trial in progress
    with pytest.raises(ValueError, match="1 still running, wait for them or run more trials"):
        tune.best_config(study, trials=0, storage=None)


def test_a_worker_stopped_with_ctrl_c_hands_its_trial_to_the_next_worker(tmp_path, monkeypatch,
                                                                        capsys):
    csv, storage = write_toy_csv(tmp_path), f"sqlite:///{tmp_path / 'tune.db'}"
    command = ["tune", "--data", str(csv), "--trials", "1", "--epochs", "1", "--device", "cpu",
               "--storage", storage, "--study", "s", "--out", str(tmp_path / "out")]

    def pressed_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("cgmvae.train.fit", pressed_ctrl_c)
    assert main(command) == 130
    assert "the trial in progress will run again" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(command) == 0
    study = optuna.load_study(study_name="s", storage=storage)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]
    assert study.trials[0].params == study.trials[1].params  # the defaults, run again
    counts = json.loads((tmp_path / "out" / "best_config.json").read_text())["budget"]
    assert counts["trials_in_study"] == {"complete": 1, "pruned": 0, "fail": 0, "running": 0,
                                         "interrupted": 1}


@pytest.mark.parametrize(("storage", "why"), [
    ("foo://bar", "the URL does not name a database that SQLAlchemy knows"),
    ("notaurl", "it is not a database URL"),
    ("sqlite:////no/such/folder/tune.db", "unable to open database file (does the file's folder"),
    # no driver here ("not installed"), or no server where one is: either way without password
    ("postgresql://tuner:secret@localhost/studies", "postgresql://tuner:***@localhost/studies: ")])
def test_a_storage_that_cannot_open_is_said_in_a_line_before_the_data_loads(storage, why,
                                                                            tmp_path, capsys):
    command = ["tune", "--data", str(tmp_path / "not_loaded_yet.csv"), "--trials", "1",
               "--storage", storage, "--out", str(tmp_path / "out")]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"cannot open the Optuna storage {storage.replace('secret', '***')}: " in err
    assert why in err and "secret" not in err and "Traceback" not in err
