"""benchmarks.tuned: the Tuning section of RESULTS.md, its win counts and its place in the file."""

import json

import numpy as np
import pandas as pd

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
