"""The command line end to end: train -> metrics.json/model.pt ->
predict/evaluate/info/correlations."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from toy import toy_data

from cgmvae import metrics
from cgmvae.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")
FAST = ["--epochs", "4", "--embedding-dim", "32", "--device", "cpu"]


def write_toy_csv(folder: Path) -> Path:
    data = toy_data(200)
    frame = pd.DataFrame(data.features, columns=data.feature_names)
    frame[data.label_names] = data.labels.astype(int)
    path = folder / "toy.csv"
    frame.to_csv(path, index=False)
    path.with_suffix(".json").write_text(json.dumps(
        {"features": data.feature_names, "labels": data.label_names}))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    csv = write_toy_csv(folder)
    assert main(["train", "--data", str(csv), "--out", str(folder / "run"), *FAST]) == 0
    return folder, csv


def test_train_writes_model_and_metrics_with_the_documented_keys(trained):
    folder, _ = trained
    report = json.loads((folder / "run" / "metrics.json").read_text())
    assert {"test", "test_deployed", "val", "threshold", "epochs", "train_seconds",
            "seconds_per_epoch", "device"} <= set(report)
    for block in ("test", "test_deployed", "val"):
        assert set(metrics.METRICS) <= set(report[block]) <= {*metrics.METRICS, "mean_auc"}
    assert report["device"] == "cpu" and report["epochs"] == 4
    assert (folder / "run" / "model.pt").is_file()


def test_predict_writes_probability_and_label_columns(trained, tmp_path, capsys):
    folder, csv = trained
    # extra/absent label columns are fine
    inputs = pd.read_csv(csv).iloc[:7].drop(columns=["alpha"])
    inputs = inputs[inputs.columns[::-1]]  # matched by name, not by position
    inputs.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(folder / "run"), "--input", str(tmp_path / "in.csv"),
                 "--output", str(out)]) == 0
    result = pd.read_csv(out)
    assert len(result) == 7
    assert "alpha_probability" in result and "alpha_predicted" in result
    assert set(result["gamma_predicted"].unique()) <= {0, 1}


def test_predict_takes_train_s_option_names_too(trained, tmp_path):
    folder, csv = trained
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(folder / "run"), "--data", str(csv),
                 "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == len(pd.read_csv(csv))


def test_predict_with_a_missing_column_fails_by_name_and_writes_nothing(trained, tmp_path, capsys):
    folder, csv = trained
    pd.read_csv(csv).drop(columns=["f2"]).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    code = main(["predict", "--model", str(folder / "run"), "--input", str(tmp_path / "in.csv"),
                 "--output", str(out)])
    assert code != 0 and "f2" in capsys.readouterr().err and not out.exists()


def test_predict_with_text_in_a_numeric_column_fails_by_name(trained, tmp_path, capsys):
    folder, csv = trained
    frame = pd.read_csv(csv).astype({"f3": object})
    frame.loc[2, "f3"] = "lots"
    frame.to_csv(tmp_path / "in.csv", index=False)
    code = main(["predict", "--model", str(folder / "run"), "--input", str(tmp_path / "in.csv"),
                 "--output", str(tmp_path / "out.csv")])
    assert code != 0 and "f3" in capsys.readouterr().err


def test_info_evaluate_and_correlations(trained, tmp_path, capsys):
    folder, csv = trained
    assert main(["info", "--model", str(folder / "run" / "model.pt")]) == 0
    assert "alpha_twin" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(folder / "run"), "--data", str(csv)]) == 0
    assert "micro_f1" in capsys.readouterr().out
    sim_csv = tmp_path / "sim.csv"
    assert main(["correlations", "--model", str(folder / "run"), "--out", str(sim_csv)]) == 0
    similarity = pd.read_csv(sim_csv, index_col=0)
    names = ["alpha", "beta", "gamma", "alpha_twin"]
    assert list(similarity.columns) == list(similarity.index) == names
    assert np.allclose(similarity.values, similarity.values.T, atol=1e-5)


def test_a_checkpoint_for_other_data_is_a_clear_error(trained, tmp_path, capsys):
    folder, _ = trained
    other = pd.DataFrame({"a": [1.0, 2.0, 3.0] * 10, "lab": [0, 1, 1] * 10})
    other.to_csv(tmp_path / "other.csv", index=False)
    code = main(["evaluate", "--model", str(folder / "run"), "--data", str(tmp_path / "other.csv"),
                 "--labels", "lab"])
    assert code != 0 and "trained on" in capsys.readouterr().err


def test_a_missing_data_path_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) != 0
    assert "nope.csv" in capsys.readouterr().err


def test_errors_name_the_command_line_options_not_python_arguments(tmp_path, capsys):
    """A table without a sidecar, then one with a gap: the way out is an option to give."""
    table = tmp_path / "survey.csv"
    table.write_text("site;elev;wren\ns1;1,5;1\ns2;;0\ns3;2,5;1\n")
    assert main(["train", "--data", str(table), "--out", str(tmp_path / "o")]) == 2
    assert "give --labels or --label-prefix, or a sidecar survey.json" in \
        capsys.readouterr().err
    assert main(["train", "--data", str(table), "--labels", "wren", "--id", "site",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "give --impute median" in err and "impute='median'" not in err


@needs_shared
def test_quick_real_data_run_on_yeast_beats_the_prevalence_baseline(tmp_path):
    """A few epochs on the real yeast split already beat predicting each label's training rate."""
    out = tmp_path / "yeast"
    code = main(["train", "--data", str(SHARED / "mulan" / "yeast"),
                 "--split", str(SHARED / "splits" / "yeast.json"), "--out", str(out),
                 "--epochs", "6", "--device", "cpu"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    # Predicting the training prevalence with the best threshold gives micro-F1 about 0.60 on yeast
    # (the frequent labels 12 and 13 carry it); HA of all-zero predictions is 0.70.
    assert report["test"]["micro_f1"] > 0.62
    assert report["test"]["hamming_accuracy"] > 0.75


def test_labels_never_seen_in_training_are_kept_and_reported(tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    frame = pd.read_csv(csv)
    frame["never"] = 0
    frame.to_csv(csv, index=False)
    csv.with_suffix(".json").write_text(json.dumps(
        {"features": [f"f{i}" for i in range(6)], "labels": ["alpha", "beta", "never"]}))
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), *FAST[:2],
                 "--device", "cpu"]) == 0
    assert "never occur in the training split" in capsys.readouterr().err
    report = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert all(np.isfinite(v) for v in report["test"].values())


@pytest.mark.parametrize(("option", "flag"), [
    (["--epochs", "0"], "--epochs"), (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "1"], "--batch-size"), (["--dropout", "2"], "--dropout"),
    (["--seed", str(2**64)], "--seed"), (["--seed", "-1"], "--seed"), (["--lr", "0"], "--lr"),
    (["--patience", "0"], "--patience"), (["--selection-window", "0"], "--selection-window"),
])
def test_a_bad_option_is_one_line_naming_it_and_exit_code_2(option, flag, tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    code = main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), *option])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {flag}")
    assert not (tmp_path / "run").exists()


def test_a_negative_seed_is_refused_whatever_split_the_data_comes_with(trained, tmp_path, capsys):
    folder, csv = trained
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": list(range(150)), "val": list(range(150, 200))}))
    messages = []
    commands = (["train", "--out", str(tmp_path / "run")],
                ["evaluate", "--model", str(folder / "run")])
    for command in commands:
        for split_option in ([], ["--split", str(split)]):
            assert main([*command, "--data", str(csv), *split_option, "--seed", "-1"]) == 2
            messages.append(capsys.readouterr().err.strip())
    assert all("--seed" in m and "[0, 18446744073709551615], got -1" in m for m in messages)


def test_constant_features_in_the_training_split_are_reported(tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    frame = pd.read_csv(csv)
    frame["f4"] = 7.0
    frame.to_csv(csv, index=False)
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), *FAST[:2],
                 "--device", "cpu", "--embedding-dim", "8"]) == 0
    assert "1 feature(s) are constant in the training split and are kept" in capsys.readouterr().err


HEAVY_MODULES = ("torch", "pandas", "sklearn", "scipy", "pyarrow", "optuna")


@pytest.mark.parametrize("arguments", [["--help"], ["train", "--help"], ["train", "--bogus"]],
                         ids=["help", "train-help", "argument-error"])
def test_help_and_argument_errors_import_no_heavy_library(arguments):
    """`--help` and a mistyped option answer without importing torch, pandas or scikit-learn
    (about 3 s together): the parser is built from light modules only."""
    import subprocess
    import sys

    probe = ("import sys, runpy\n"
             f"sys.argv = ['cgmvae', *{arguments!r}]\n"
             "try:\n    runpy.run_module('cgmvae', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             f"print('LOADED', [m for m in {HEAVY_MODULES!r} if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=False, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert "usage:" in result.stdout + result.stderr
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_package_names_stay_importable_lazily():
    import cgmvae

    assert {"TrainedModel", "fit", "CGMVAEClassifier"} <= set(dir(cgmvae))
    from cgmvae import CGMVAEClassifier, TrainedModel, fit  # noqa: F401

    assert callable(fit) and TrainedModel.__name__ == "TrainedModel"


def test_ema_warmup_is_chosen_on_the_command_line_and_kept_in_the_checkpoint(tmp_path):
    from cgmvae.predictor import TrainedModel

    csv = write_toy_csv(tmp_path)
    for options, expected in (([], False), (["--ema-warmup"], True)):
        out = tmp_path / f"run{int(expected)}"
        assert main(["train", "--data", str(csv), "--out", str(out), *FAST[:4], "--device",
                     "cpu", *options]) == 0
        assert TrainedModel.load(out / "model.pt").train_config.ema_warmup is expected
