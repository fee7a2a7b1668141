"""benchmarks.tuned: the Tuning section of RESULTS.md, its win counts and its place in the file."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import tuned
from cgmvae.data import Split


def row(dataset, method, seed, micro, macro, **extra):
    return {"dataset": dataset, "method": method, "seed": seed, "train_fraction": 1.0,
            "micro_f1": micro, "macro_f1": macro, **extra}


def write_one_tuned_set(monkeypatch, folder):
    """tuned.csv (set a: defaults and tuned rows) and quality.csv (a br row) in `folder`."""
    monkeypatch.setattr(tuned.datasets, "load", lambda name: (None, Split(
        np.arange(8), np.arange(8, 10), np.arange(10, 12))))
    budget = {"trials": 12, "pruned": 3, "max_epochs_per_trial": 300, "tune_seconds": 40.0,
              "params": json.dumps({"learning_rate": 0.001})}
    pd.DataFrame([row("a", "cgmvae", 0, 0.59, 0.30),
                  row("a", tuned.METHOD, 0, 0.63, 0.29, **budget)]).to_csv(
        folder / "tuned.csv", index=False)
    pd.DataFrame([row("a", "br", 0, 0.60, 0.30)]).to_csv(folder / "quality.csv", index=False)


def test_the_section_replaces_an_old_one_and_keeps_what_follows():
    text = "# R\n\n## Speed\n\nfast\n\n## Tuning (old)\n\nold numbers\n\n## Skipped\n\nnone\n"
    new = tuned.replace_section(text, "## Tuning (new)\n\nnew numbers\n")
    assert "old numbers" not in new and "new numbers" in new
    assert new.index("## Speed") < new.index("## Tuning (new)") < new.index("## Skipped")
    assert tuned.replace_section("# R\n", "## Tuning\n\nx\n") == "# R\n\n## Tuning\n\nx\n"


def test_the_section_counts_sets_where_the_tuned_model_beats_every_baseline(monkeypatch):
    monkeypatch.setattr(tuned.datasets, "load", lambda name: (None, Split(
        np.arange(8), np.arange(8, 10), np.arange(10, 12))))
    earlier = pd.DataFrame([row("a", "br", 0, 0.60, 0.30), row("a", "mlp", 0, 0.62, 0.40),
                            row("a", "cgmvae", 0, 0.61, 0.35),
                            row("b", "br", 0, 0.50, 0.20), row("b", "cgmvae", 0, 0.55, 0.25)])
    budget = {"trials": 12, "pruned": 3, "max_epochs_per_trial": 300, "tune_seconds": 40.0,
              "params": json.dumps({"learning_rate": 0.001, "embedding_dim": 512})}
    results = pd.DataFrame([row("a", "cgmvae", 0, 0.59, 0.30), row("b", "cgmvae", 0, 0.49, 0.19),
                            row("a", tuned.METHOD, 0, 0.63, 0.39, **budget),
                            row("b", tuned.METHOD, 0, 0.56, 0.21, **budget, failed=2)])
    section = tuned.tuning_section(results, earlier)
    assert "a 40 s (3 pruned), b 40 s (3 pruned, 2 failed: training diverged)" in section
    micro, macro = section.split("**Macro-F1**")
    assert "quality.csv cgmvae 1 of 2, defaults today 0 of 2, tuned 2 of 2" in micro
    assert "quality.csv cgmvae 1 of 2, defaults today 0 of 2, tuned 1 of 2" in macro
    assert "| a | 2 | mlp 0.620 |" in micro and "--trials 12 --seeds 0" in section
    assert "a: learning_rate 0.001, embedding_dim 512" in section


def test_the_count_over_all_sets_puts_the_tuned_rows_in_for_the_tuned_sets_only(monkeypatch):
    monkeypatch.setattr(tuned.datasets, "load", lambda name: (None, Split(
        np.arange(8), np.arange(8, 10), np.arange(10, 12))))
    earlier = pd.DataFrame([row("a", "br", 0, 0.60, 0.30), row("a", "cgmvae", 0, 0.58, 0.35),
                            row("c", "br", 0, 0.50, 0.20), row("c", "cgmvae", 0, 0.55, 0.25)])
    budget = {"trials": 12, "pruned": 3, "max_epochs_per_trial": 300, "tune_seconds": 40.0,
              "params": json.dumps({"learning_rate": 0.001})}
    results = pd.DataFrame([row("a", "cgmvae", 0, 0.59, 0.30),
                            row("a", tuned.METHOD, 0, 0.63, 0.29, **budget)])
    micro, macro = tuned.tuning_section(results, earlier).split("**Macro-F1**")
    # micro: a is won by the tuned row (0.63 > 0.60), c by quality.csv's (0.55 > 0.50)
    assert "tuned (1) and quality.csv's elsewhere: C-GMVAE beats every baseline on 2 of 2 " \
           "(quality.csv alone: 1 of 2)" in micro
    # macro: the tuned a (0.29) loses to br (0.30), where quality.csv's (0.35) had won
    assert "beats every baseline on 1 of 2 (quality.csv alone: 2 of 2)" in macro


def test_rewriting_the_section_into_a_report_that_is_not_there_yet_creates_it(monkeypatch,
                                                                              tmp_path):
    """A study can run for hours: writing its report must not fail on a new --report path."""
    write_one_tuned_set(monkeypatch, tmp_path)
    report = tmp_path / "new" / "RESULTS.md"
    report.parent.mkdir()
    tuned.main(["--out", str(tmp_path / "tuned.csv"), "--quality", str(tmp_path / "quality.csv"),
                "--report", str(report)])
    assert report.read_text().startswith("## Tuning")
    assert (tmp_path / "tuning.md").read_text().strip() in report.read_text()


def test_the_hand_written_run_notes_beside_the_csv_go_into_the_section(monkeypatch, tmp_path):
    write_one_tuned_set(monkeypatch, tmp_path)
    (tmp_path / tuned.NOTES_FILE).write_text("- a: ran beside two other studies.\n")
    tuned.main(["--out", str(tmp_path / "tuned.csv"), "--quality", str(tmp_path / "quality.csv"),
                "--report", str(tmp_path / "RESULTS.md")])
    section = (tmp_path / "tuning.md").read_text()
    assert "Baselines from quality.csv, same split.\n\n- a: ran beside two other studies." \
        in section
    assert section.index("ran beside") < section.index("**Micro-F1**")


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study")
def test_a_study_that_workers_ran_is_read_once_its_trials_finished(tmp_path):
    """--storage: the study of `cgmvae tune` workers is taken as it is, not run again; refused
    while it has fewer finished trials than the budget, or when it ran other settings."""
    import optuna
    from toy import toy_data, toy_split

    from cgmvae import tune
    from cgmvae.config import ModelConfig, TrainConfig

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = toy_data(120)
    split = toy_split(data)
    model = ModelConfig(feature_hidden=(16,), label_hidden=(16,), decoder_hidden=(16,))
    train = TrainConfig(max_epochs=2, seed=0, device="cpu")
    space = {**tune.SEARCH_SPACE, "embedding_dim": {"choices": [8, 16]}}
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    tune.run_study(data, split, trials=2, model_config=model, train_config=train,
                   storage=storage, study_name=f"{tuned.METHOD}-toy", sampler_seed=0, space=space)
    with pytest.raises(ValueError, match="has 2 of 3 trials finished"):
        tuned.shared_study("toy", data, split, 3, storage, model, train)
    study, seconds = tuned.shared_study("toy", data, split, 2, storage, model, train)
    assert len(study.trials) == 2 and seconds > 0
    with pytest.raises(ValueError, match="ran with other settings"):
        tuned.shared_study("toy", data, split, 2, storage, model,
                           TrainConfig(max_epochs=3, seed=0, device="cpu"))
    with pytest.raises(ValueError, match="there is no study"):
        tuned.shared_study("other", data, split, 2, storage, model, train)
    # a worker stopped in its third trial: that trial is run again, and counted once
    stopped = study.ask()
    tune.sample_params(stopped, space)
    study.tell(stopped, state=optuna.trial.TrialState.FAIL)
    tune.run_again(study, stopped.number)
    tune.run_study(data, split, trials=1, model_config=model, train_config=train,
                   storage=storage, study_name=f"{tuned.METHOD}-toy", space=space)
    with pytest.raises(ValueError, match="has 3 of 4 trials finished"):
        tuned.shared_study("toy", data, split, 4, storage, model, train)


def test_the_control_can_be_quality_csv_rows_for_the_seeds_asked():
    rows = pd.DataFrame([row("a", "cgmvae", s, 0.5 + s / 100, 0.3,
                             **{k: 0.0 for k in ("hamming_accuracy", "example_f1",
                                                 "precision_at_1", "lrap", "macro_auc",
                                                 "train_seconds")})
                         for s in (0, 1)] + [row("a", "br", 0, 0.6, 0.3)])
    control = tuned.control_rows(rows, "a", (0, 1))
    assert [r["micro_f1"] for r in control] == [0.5, 0.51]
    with pytest.raises(ValueError, match=r"no cgmvae row of a for seed\(s\) \[2\]"):
        tuned.control_rows(rows, "a", (0, 1, 2))


@pytest.fixture
def quick_toy(monkeypatch):
    """Toy data for every data set name, and `fit` cut to 2 epochs of a small network."""
    from dataclasses import replace

    from toy import toy_data, toy_split

    from cgmvae import train

    data = toy_data(120)
    monkeypatch.setattr(tuned.datasets, "load", lambda name: (data, toy_split(data)))
    real_fit = train.fit

    def quick_fit(data, split, *, model_config, train_config, **options):
        small = replace(model_config, feature_hidden=(16,), label_hidden=(16,),
                        decoder_hidden=(16,))
        return real_fit(data, split, model_config=small,
                        train_config=replace(train_config, max_epochs=2), **options)

    monkeypatch.setattr(train, "fit", quick_fit)
    return data, toy_split(data)


def test_a_tuned_run_keeps_the_probabilities_of_each_training(quick_toy, tmp_path):
    from benchmarks import quality

    data, split = quick_toy
    rows = tuned.run_dataset("toy", 1, (0,), proba_dir=str(tmp_path))
    assert [row["method"] for row in rows] == ["cgmvae", tuned.METHOD]
    for method in ("cgmvae", tuned.METHOD):
        saved = np.load(quality.probabilities_path(tmp_path, quality.Job("toy", method, 0)))
        assert saved["test"].shape == (split.test.size, data.n_labels)


def test_a_shared_study_serves_a_run_of_any_seeds(quick_toy, tmp_path):
    """The workers' study trains every trial with seed 0; a run that trains the best with seed 2
    alone (one of three processes side by side) reads it, not refuses it as other settings."""
    from cgmvae import tune
    from cgmvae.config import ModelConfig, TrainConfig

    data, split = quick_toy
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    tune.run_study(data, split, trials=1, model_config=ModelConfig(),
                   train_config=TrainConfig(seed=0, device="cpu"), storage=storage,
                   study_name=f"{tuned.METHOD}-toy")
    rows = tuned.run_dataset("toy", 1, (2,), storage=storage)
    assert [(row["method"], row["seed"]) for row in rows] == [("cgmvae", 2), (tuned.METHOD, 2)]


def test_recorded_parameters_train_again_without_a_study(quick_toy, tmp_path, monkeypatch):
    """--from-recorded: a set's tuned rows give their best parameters, trained again with each
    seed (after a code change, or to keep probabilities) under the study's budget columns."""
    from cgmvae import train, tune

    first = pd.DataFrame(tuned.run_dataset("toy", 1, (0,)), columns=tuned.COLUMNS)
    recorded = tuned.recorded_budget(first, "toy")
    params = json.loads(recorded["params"])

    def no_study(*args, **kwargs):
        raise AssertionError("a study ran")

    monkeypatch.setattr(tune, "run_study", no_study)
    seen, quick_fit = [], train.fit
    monkeypatch.setattr(train, "fit", lambda *a, **k: seen.append(k) or quick_fit(*a, **k))
    rows = tuned.run_dataset("toy", 1, (1, 2), proba_dir=str(tmp_path), recorded=recorded)
    assert [(row["method"], row["seed"]) for row in rows] == [
        ("cgmvae", 1), ("cgmvae", 2), (tuned.METHOD, 1), (tuned.METHOD, 2)]
    assert all(row["params"] == recorded["params"] and row["trials"] == recorded["trials"]
               for row in rows[2:])
    for options in seen[2:]:
        assert options["model_config"].embedding_dim == params["embedding_dim"]
        assert options["train_config"].learning_rate == params["learning_rate"]
        assert options["train_config"].loss.kl == params["kl_weight"]
    assert [options["train_config"].seed for options in seen[2:]] == [1, 2]
    with pytest.raises(ValueError, match="no cgmvae-tuned row of other"):
        tuned.recorded_budget(first, "other")
