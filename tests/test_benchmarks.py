"""Benchmark plumbing without training: report from fake CSVs, subsets, job order, time budget."""

import csv
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from benchmarks import datasets, quality, report, results_io, run
from cgmvae.data import Split

SCORE_COLUMNS = (*quality.SCORES, "train_seconds")


def quality_row(dataset, method, seed=0, fraction=1.0, micro=0.5, macro=0.4):
    scores = dict.fromkeys(SCORE_COLUMNS, 0.5)
    scores.update(micro_f1=micro, macro_f1=macro)
    return {"dataset": dataset, "method": method, "seed": seed, "train_fraction": fraction,
            **scores}


def write_csv(path, columns, rows):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def results(tmp_path):
    rows = [quality_row("yeast", "cgmvae", seed, micro=m, macro=0.45)
            for seed, m in enumerate((0.6, 0.7, 0.8))]
    rows += [quality_row("yeast", "br", micro=0.65, macro=0.40),
             quality_row("scene", "cgmvae", micro=0.70, macro=0.70),
             quality_row("scene", "mlknn", micro=0.75, macro=0.60),
             quality_row("yeast", "cgmvae", 0, 0.1, micro=0.50),
             quality_row("yeast", "br", 0, 0.1, micro=0.55)]
    write_csv(tmp_path / "quality.csv", quality.COLUMNS, rows)
    write_csv(tmp_path / "skipped.csv", run.SKIPPED_COLUMNS, [
        {"dataset": "delicious", "method": "cc", "seed": 0, "train_fraction": 1.0,
         "reason": "not started: estimated 9000 s"},
        {"dataset": "yeast", "method": "br", "seed": 0, "train_fraction": 1.0,
         "reason": "failed: earlier attempt"}])  # ran later (in quality.csv): not listed
    (tmp_path / "run_info.json").write_text(json.dumps({"quality": {
        "command": "python -m benchmarks.run --suite full", "hostname": "box", "cpu_count": 16,
        "cpu": "Xeon", "gpu": "NVIDIA H200", "torch": "2.11", "python": "3.12",
        "date": "2026-01-01 00:00 UTC", "suite": "full", "seconds": 400}}))
    return tmp_path


def test_metric_table_shows_mean_and_std_over_seeds_and_bolds_the_best_mean(results):
    text = report.build_report(results)
    micro = text.split("### Micro-F1")[1].split("###")[0]
    assert "| yeast | **0.700 ± 0.100** | 0.650 |" in micro
    assert "| scene | 0.700 | — | **0.750** |" in micro  # one seed: no ± ; missing method: —


def test_report_puts_the_paper_numbers_beside_ours_labelled_and_never_bold(results):
    text = report.build_report(results)
    macro = text.split("### Macro-F1")[1].split("###")[0]
    assert report.PAPER_COLUMN in macro and "0.487*" in macro and "**0.487" not in macro


def test_report_states_command_machine_date_and_protocol_at_the_top(results):
    head = report.build_report(results).split("## Does C-GMVAE")[0]
    assert "`python -m benchmarks.run --suite full`" in head
    assert "NVIDIA H200" in head and "2026-01-01" in head and "validation rows only" in head


def test_summary_says_plainly_where_a_baseline_wins(results):
    summary = report.build_report(results).split("## Quality")[0]
    assert "beats every baseline on 1 of 2 data sets" in summary
    assert "not on **scene**" in summary and "mlknn 0.750 (ours 0.700, +0.050)" in summary
    # yeast's win is over br alone: mlknn, which ran on scene, has no yeast row
    assert "Counted as won though a baseline has no row there (see Skipped): yeast (mlknn); " \
           "won against the baselines that ran." in summary


def test_skipped_section_lists_reasons_but_not_jobs_that_ran_later(results):
    skipped = report.build_report(results).split("## Skipped")[1]
    assert "| delicious | cc | 0 | 1 | not started: estimated 9000 s |" in skipped
    assert "earlier attempt" not in skipped


def test_fewer_data_table_pairs_cgmvae_with_the_strongest_baseline(results):
    fewer = report.build_report(results).split("## Fewer training data")[1].split("##")[0]
    assert "| yeast | cgmvae | 0.500 | — | 0.700 ± 0.100 |" in fewer
    assert "| yeast | br (strongest baseline) | 0.550 | — | 0.650 |" in fewer


def test_speed_section_reports_the_gpu_speedup_over_cpu(tmp_path):
    rows = [{"device": device, "kind": "train", "dataset": "yeast", "n_rows": 1350,
             "train_samples_per_second": sps, "inference_samples_per_second": sps * 10}
            for device, sps in (("cpu", 1000), ("cuda", 4000))]
    write_csv(tmp_path / "speed.csv", ("device", "kind", "dataset", "n_rows",
                                       "train_samples_per_second",
                                       "inference_samples_per_second"), rows)
    text = report.build_report(tmp_path)
    assert "| cuda | yeast | 1350 | 4000 | 40000 | 4 | 4 |" in text


def test_training_subsets_are_nested_the_same_every_time_and_keep_val_and_test():
    split = Split(np.arange(100, 300), np.arange(10), np.arange(10, 40))
    tenth, half = (datasets.train_subset(split, f) for f in (0.1, 0.5))
    assert len(tenth.train) == 20 and len(half.train) == 100
    assert set(tenth.train) <= set(half.train) <= set(split.train)
    np.testing.assert_array_equal(datasets.train_subset(split, 0.1).train, tenth.train)
    np.testing.assert_array_equal(half.val, split.val)
    np.testing.assert_array_equal(half.test, split.test)
    assert datasets.train_subset(split, 1.0) is split


def test_full_suite_runs_every_method_and_fewer_data_only_where_asked():
    jobs = quality.build_jobs(quality.SUITES["full"], "cuda")
    keys = {job.key for job in jobs}
    assert {("tmc2007", "cgmvae", s, 1.0) for s in (0, 1, 2)} <= keys
    assert ("norberg_birds", "mlknn", 0, 1.0) in keys
    partial = {(job.dataset, job.method) for job in jobs if job.train_fraction < 1.0}
    assert {d for d, _ in partial} == set(datasets.FEWER_DATA)
    assert {m for _, m in partial} == {"cgmvae", *quality.BASELINE_METHODS}
    assert all(job.device == "cuda" for job in jobs)


def test_priority_sets_run_first_and_big_jobs_first_within_a_tier():
    jobs = quality.build_jobs(quality.SUITES["full"])
    costs = {job.key: quality.estimate_seconds(job, datasets.SHAPES[job.dataset]) for job in jobs}
    ordered = quality.order_jobs(jobs, costs)
    first = ordered[:21]  # 3 priority sets x (3 C-GMVAE seeds + 4 baselines)
    assert {job.dataset for job in first} == set(datasets.PRIORITY)
    assert sum(job.method == "cgmvae" for job in first) == 9
    tier_one = [job for job in ordered if job.tier == 1]
    tier_one_costs = [costs[j.key] for j in tier_one]
    assert tier_one_costs == sorted(tier_one_costs, reverse=True)


def test_cost_estimates_rank_chains_on_983_labels_far_above_br_on_yeast():
    def cost(dataset, method):
        return quality.estimate_seconds(quality.Job(dataset, method), datasets.SHAPES[dataset])

    assert cost("delicious", "cc") > 100 * cost("yeast", "br")
    assert cost("imdb", "mlknn") > 1000 > cost("delicious", "mlknn")


def run_fake(jobs, worker, **options):
    rows, skips = [], []
    with ThreadPoolExecutor(1) as pool:
        finished = run.run_jobs(jobs, worker, pool, workers=1, on_row=rows.append,
                                on_skip=lambda job, reason: skips.append((job, reason)), **options)
    return finished, rows, skips


def test_no_job_starts_after_the_time_budget():
    now = [0.0]

    def worker(job):
        now[0] += 10.0  # each job takes 10 fake seconds
        return job

    finished, rows, skips = run_fake(list(range(6)), worker, time_budget=25.0,
                                     clock=lambda: now[0])
    assert finished and rows == [0, 1, 2]
    assert [job for job, _ in skips] == [3, 4, 5]
    assert all("time budget of 25 s" in reason for _, reason in skips)


def test_a_job_that_cannot_end_before_the_hard_stop_is_not_started():
    assert run.start_blocker(100.0, 250.0, None, 300.0).startswith("not started: estimated 100 s")
    assert run.start_blocker(40.0, 250.0, None, 300.0) is None
    assert run.start_blocker(None, 250.0, 240.0, None).startswith("not started: the time budget")


def test_jobs_still_running_at_the_hard_stop_are_recorded_and_failures_do_not_stop_the_suite():
    def worker(job):
        if job == "bad":
            raise ValueError("no such data")
        if job == "slow":
            import time
            time.sleep(0.3)
        return job

    finished, rows, skips = run_fake(["bad", "ok", "slow", "never"], worker, hard_stop=0.1)
    assert not finished and rows == ["ok"]
    reasons = dict(skips)
    assert reasons["bad"] == "failed: ValueError: no such data"
    assert "hard stop" in reasons["slow"] and "hard stop" in reasons["never"]


def test_rows_are_written_at_once_and_resume_sees_them(tmp_path):
    path = tmp_path / "quality.csv"
    writer = results_io.RowWriter(path, quality.COLUMNS)
    writer.write(quality_row("yeast", "br"))
    assert results_io.done_keys(path) == {("yeast", "br", 0, 1.0)}
    results_io.RowWriter(path, quality.COLUMNS, append=True)  # resuming keeps what is there
    assert results_io.done_keys(path) == {("yeast", "br", 0, 1.0)}


def test_device_tarball_lists_only_existing_files_the_suite_reads(shared_data):
    files = datasets.needed_files(shared_data)
    assert all((shared_data / f).is_file() for f in files)
    assert {"splits/yeast.json", "meka/Imdb.arff.bz2", "mulan/corel5k/Corel5k-train-sparse.arff",
            "ecology/norberg2019/Yt_1_birds.csv"} <= set(files)
    assert "mulan/yeast/yeast.arff" not in files  # the split reads the train/test pair


def test_report_keeps_the_scale_and_tuning_sections_it_is_given(results):
    """Rewriting RESULTS.md must not drop what other benchmarks wrote: the Scale table comes
    from scale.csv with its notes, the Tuning section from the tuning.md benchmarks.tuned wrote."""
    write_csv(results / "scale.csv", ("step", "input", "n_rows", "seconds", "rows_per_second",
                                      "peak_rss_mb", "file_mb", "load_average"), [
        {"step": "load-parquet", "input": "big.parquet", "n_rows": 1_000_000, "seconds": 9.12,
         "rows_per_second": 109_646, "peak_rss_mb": 2119, "file_mb": 197.3, "load_average": 1.9}])
    (results / "scale_notes.md").write_text("What the numbers say: flat memory.\n")
    (results / "tuning.md").write_text("## Tuning (a subset)\n\ntuned 1 of 3\n")
    text = report.build_report(results)
    scale = text.split("## Scale")[1].split("\n## ")[0]
    assert ("| load Parquet (`load_dataset`) | big.parquet | 1,000,000 | 9.12 | 109,646 | 2,119 |"
            in scale)
    assert "flat memory" in scale
    assert text.index("## Scale") < text.index("## Tuning (a subset)") < text.index("## Skipped")
    assert "tuned 1 of 3" in text


def test_report_has_no_scale_or_tuning_section_without_their_results(results):
    text = report.build_report(results)
    assert "## Scale" not in text and "## Tuning" not in text


def test_report_shows_the_ddp_comparison_and_the_yeast_speed_ratio(results):
    write_csv(results / "ddp.csv", ("data", "processes", "distributed", "device", "seed",
                                    "seconds_per_epoch", "val_micro_f1", "val_macro_f1",
                                    "val_mean_auc", "test_micro_f1", "test_macro_f1",
                                    "test_mean_auc", "load_average"), [
        {"data": "yeast", "processes": n, "distributed": n > 1, "device": "cpu", "seed": seed,
         "seconds_per_epoch": 0.4 * n, "val_micro_f1": 0.70 + seed / 100, "val_macro_f1": 0.5,
         "val_mean_auc": 0.7, "test_micro_f1": 0.6, "test_macro_f1": 0.4, "test_mean_auc": 0.7,
         "load_average": 1.0} for n in (1, 2) for seed in (0, 1, 2)])
    write_csv(results / "speed_yeast_ratio.csv", ("process_seconds", "ratio", "run_seconds",
                                                  "note"),
              [{"process_seconds": 9.07, "ratio": 0.454, "run_seconds": "8.70 9.07 9.13",
                "note": "fused Adam"}])
    text = report.build_report(results)
    assert "| yeast | cpu | 2 | True | 3 | 0.71 | 0.5 |" in text  # mean of 0.70, 0.71, 0.72
    assert "| fused Adam | 8.70 9.07 9.13 | 9.07 | 0.454 |" in text


def test_report_shows_the_app_at_scale(results):
    write_csv(results / "app_scale.csv", ("page", "render", "seconds", "n_sites", "n_species",
                                          "load_average", "note"),
              [{"page": "Predictions", "render": "first", "seconds": 2.5, "n_sites": 1_000_000,
                "n_species": 500, "load_average": 0.7, "note": ""}])
    assert "| Predictions | first | 2.5 | 0.7 |" in report.build_report(results)


def test_report_shows_the_ebird_zero_fill_rows_with_their_machine(results):
    from benchmarks import ebird_scale

    write_csv(results / "ebird_scale.csv", ebird_scale.COLUMNS, [
        {"checklists": 1000, "observation_rows": 15000, "species": 30, "observations_mb": 4,
         "sampling_mb": 1, "format": fmt, "seconds": seconds, "peak_rss_mb": peak,
         "kept_checklists": 800, "kept_species": 29, "load_average": 0.5,
         "note": f"{code}: how; a test box"}
        for code, fmt, seconds, peak in (("before", "csv", 9.5, 2000), ("after", "parquet", 4.0,
                                                                         300))])
    section = report.build_report(results).split("### eBird zero-filling")[1].split("###")[0]
    assert "| before | 15,000 | 4 | 800 x 29 | csv | 9.5 | 2,000 | 0.5 |" in section
    assert "| after | 15,000 | 4 | 800 x 29 | parquet | 4 | 300 | 0.5 |" in section
    assert "Machine: a test box." in section


def test_a_run_with_nothing_to_run_stops_instead_of_rewriting_the_report(tmp_path, capsys):
    report_path = tmp_path / "RESULTS.md"
    report_path.write_text("measured numbers\n")
    with pytest.raises(SystemExit):
        run.main(["--no-quality", "--speed-devices", "--out-dir", str(tmp_path / "empty"),
                  "--report", str(report_path)])
    assert "nothing to run" in capsys.readouterr().err
    assert report_path.read_text() == "measured numbers\n"


def test_the_ablation_summary_counts_gaps_beyond_the_seed_sd():
    def rows(dataset, method, values):
        return [{"dataset": dataset, "method": method, "seed": seed, "train_fraction": 1.0,
                 "micro_f1": value, "macro_f1": 0.5} for seed, value in enumerate(values)]

    quality = pd.DataFrame(
        rows("a", "cgmvae", [0.60, 0.61, 0.62]) + rows("a", "cgmvae-gm-only", [0.50, 0.51, 0.52])
        + rows("b", "cgmvae", [0.60, 0.61, 0.62]) + rows("b", "cgmvae-gm-only", [0.60, 0.62, 0.64])
        + rows("c", "cgmvae", [0.60, 0.61, 0.62]) + rows("c", "cgmvae-gm-only", [0.70])  # 1 seed
        + rows("a", "cgmvae-unigaussian", [0.70, 0.71, 0.72]))
    summary = report.ablation_summary(quality)
    assert ("Micro-F1, no contrastive term (GM only): the full model is better by more than a "
            "seed sd on 1 of 2 sets, worse on 0, within one sd on 1; median difference "
            "+0.045.") in summary  # c has one seed of the ablation: not counted
    assert "Micro-F1, one Gaussian prior (uni-Gaussian): the full model is better by more than " \
           "a seed sd on 0 of 1 sets, worse on 1" in summary
    assert report.ablation_summary(quality[quality.method == "cgmvae"]) == ""


def test_threshold_rule_repeats_the_cross_fit_that_the_rule_makes_once():
    from benchmarks import threshold_rule
    from cgmvae.metrics import per_label_thresholds_help

    rng = np.random.default_rng(0)
    labels = (rng.random((200, 2)) < 0.3).astype(np.float32)
    # label 0 scores about 0.9 where present and 0.5 where not, label 1 about 0.12 and 0.02: no
    # one threshold serves both, per-label ones do, whichever half they are tuned on
    proba = np.where(labels > 0, [0.9, 0.12], [0.5, 0.02]) + rng.normal(0, 0.02, (200, 2))
    proba = proba.clip(0, 1)
    gains = threshold_rule.split_gains(labels, proba, 10)
    assert len(gains) == 10 and (gains > 0).all()
    assert per_label_thresholds_help(labels, proba) == (gains[0] > 0)
    same_scale = np.where(labels > 0, 0.6, 0.4) + rng.normal(0, 0.15, (200, 2))
    gains = threshold_rule.split_gains(labels, same_scale.clip(0, 1), 10)
    assert per_label_thresholds_help(labels, same_scale.clip(0, 1)) == (gains[0] > 0)
    assert gains.mean() < 0.05  # one scale: little for per-label thresholds to gain
    # the surer rule decides on the mean gain of as many splits
    assert per_label_thresholds_help(labels, same_scale.clip(0, 1), splits=10) == \
        (gains.mean() > 0)


@pytest.mark.parametrize("method", ["br", "mlknn", "cgmvae"])
def test_saved_probabilities_score_the_job_s_row_again_without_training(method, monkeypatch,
                                                                        tmp_path):
    """--save-proba: the validation and test probabilities a job kept give back its threshold
    metrics through the threshold rule every method shares."""
    from toy import toy_data, toy_split

    from cgmvae.metrics import evaluate, validation_thresholds

    data = toy_data(160)
    monkeypatch.setattr(quality.datasets, "load", lambda name: (data, toy_split(data)))
    job = quality.Job("toy", method, max_epochs=2)
    row = quality.run_job(job, proba_dir=str(tmp_path))
    saved = np.load(quality.probabilities_path(tmp_path, job))
    split = toy_split(data)
    assert saved["val"].shape == (split.val.size, data.n_labels)
    assert saved["test"].shape == (split.test.size, data.n_labels)
    thresholds = validation_thresholds(data.labels[split.val], saved["val"])
    for metric in ("micro_f1", "macro_f1", "example_f1", "hamming_accuracy"):
        again = evaluate(data.labels[split.test], saved["test"], thresholds[metric])[metric]
        assert again == pytest.approx(row[metric], abs=1e-12), metric


def test_rescore_gives_back_the_rows_and_scores_the_surer_rule_from_saved_probabilities(
        monkeypatch, tmp_path, capsys):
    from toy import toy_data, toy_split

    from benchmarks import rescore

    data = toy_data(160)
    monkeypatch.setattr(quality.datasets, "load", lambda name: (data, toy_split(data)))
    rows = [quality.run_job(quality.Job("toy", method, seed, max_epochs=2),
                            proba_dir=str(tmp_path / "proba"))
            for method, seed in (("cgmvae", 0), ("cgmvae", 1), ("br", 0))]
    pd.DataFrame(rows).to_csv(tmp_path / "quality.csv", index=False)
    rescore.main(["--proba", str(tmp_path / "proba"), "--splits", "5",
                  "--quality", str(tmp_path / "quality.csv")])
    out = capsys.readouterr().out
    assert "largest difference 0.00e+00" in out
    assert "| toy | cgmvae |" in out and "of 2 |" in out and "| toy | br |" in out
    assert "one split 1 of 1" in out or "one split 0 of 1" in out
    scored = rescore.rescore(tmp_path / "proba", 5)
    assert len(scored) == 3 and set(scored.columns) >= {"macro_f1_surer", "changed"}
    with pytest.raises(SystemExit, match="no saved probabilities"):
        rescore.main(["--proba", str(tmp_path / "empty")])
    tuned = tmp_path / "proba" / "toy__cgmvae-tuned__seed0__fraction1.0.npz"
    shutil.copy(tmp_path / "proba" / "toy__cgmvae__seed0__fraction1.0.npz", tuned)
    rescore.main(["--proba", str(tmp_path / "proba"), "--splits", "5", "--ours", "cgmvae-tuned"])
    out = capsys.readouterr().out
    assert "| toy | cgmvae-tuned |" in out and "sets where cgmvae-tuned beats every baseline" in out


def test_ema_warmup_benchmark_scores_each_setting_against_the_planted_truth(tmp_path,
                                                                           monkeypatch):
    from functools import partial

    from benchmarks import ema_warmup
    from cgmvae.config import TrainConfig

    data, truth = ema_warmup.planted_survey(400, seed=0)
    assert data.labels.shape == truth.shape == (400, 12) and ((truth > 0) & (truth < 1)).all()
    assert abs(data.labels.mean() - truth.mean()) < 0.03  # labels are drawn from the truth
    monkeypatch.setattr(ema_warmup, "TrainConfig", partial(TrainConfig, max_epochs=3))
    out = tmp_path / "warmup.csv"
    assert ema_warmup.main(["--sites", "150", "--seeds", "0", "--datasets", "--out",
                            str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows.setting) == list(ema_warmup.SETTINGS)
    assert (rows.epochs_run <= 3).all() and rows.map_error.between(0, 2).all()
    assert rows.truth_abs_error.between(0, 1).all() and rows.truth_spread.gt(0).all()


def test_association_cost_times_each_part_beside_its_estimate(tmp_path, monkeypatch):
    from benchmarks import association_cost

    monkeypatch.setattr(datasets, "load", lambda name: (_ for _ in ()).throw(FileNotFoundError))
    out = tmp_path / "cost.csv"
    assert association_cost.main(["--runs", "1", "--sets", "swiss_birds", "--simulated",
                                  "300x8", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert rows["part"].tolist() == ["crossfit", "null_surveys", "all_layers"]  # swiss skipped
    assert (rows["sites"] == 300).all() and (rows["species"] == 8).all()
    assert (rows["measured_s"] > 0).all() and (rows["estimated_s"] > 0).all()
    np.testing.assert_allclose(rows["ratio"], rows["measured_s"] / rows["estimated_s"], rtol=0.05,
                               atol=0.01)


def test_residual_null_benchmark_counts_false_pairs_and_checks_the_null_sd(tmp_path,
                                                                          monkeypatch):
    from benchmarks import residual_null

    monkeypatch.setattr(residual_null, "REFERENCE_DRAWS", 30)
    paths = {name: tmp_path / f"{name}.csv" for name in ("planted", "real", "accuracy")}
    assert residual_null.main(["--seeds", "1", "--sites", "200", "--real",
                               "--accuracy-planted", "2", "--accuracy-real",
                               "--out", str(paths["planted"]), "--real-out", str(paths["real"]),
                               "--accuracy-out", str(paths["accuracy"])]) == 0
    planted = pd.read_csv(paths["planted"])
    assert len(planted) == 1 and {f"{rule}_false_pairs" for rule in residual_null.RULES} <= set(
        planted.columns)
    accuracy = pd.read_csv(paths["accuracy"])
    assert accuracy["data"].tolist() == ["planted_200"] * 2 and (accuracy["pairs"] == 66).all()
    errors = accuracy[["raw_abs_log_error", "species_trend_abs_log_error",
                       "moderated_abs_log_error"]]
    assert (errors > 0).all().all() and (errors < 1).all().all()
    assert not paths["real"].exists()  # no real set asked for
