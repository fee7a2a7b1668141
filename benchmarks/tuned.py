"""The `cgmvae-tuned` benchmark method: a per-data-set Optuna study (`cgmvae.tune`, validation rows
only), then the best configuration trained and scored on test by `benchmarks.quality`'s protocol.

Usage: python -m benchmarks.tuned --datasets flags foodtruck cal500 [--trials 12] [--seeds 0 1 2]
       [--out benchmarks/results/tuned.csv] [--report benchmarks/RESULTS.md]
Each data set also gets `cgmvae` rows with today's defaults, trained by the same code in the same
run: the control (or, with --defaults-from-quality, quality.csv's where they ran with today's code).

A study too long for one process (imdb: hours per trial) runs in workers of the product's own
command, side by side or in turns, and the benchmark then reads it:
    python -m cgmvae tune --data ../shared/data/meka/Imdb.arff.bz2 --seed 0 --device cpu \
        --trials 6 --storage sqlite:///imdb.db --study cgmvae-tuned-imdb --out DIR   (per worker)
    python -m benchmarks.tuned --datasets imdb --storage sqlite:///imdb.db
The "Tuning" section of the report compares both, and quality.csv's rows, with
the baselines of quality.csv on the same split.

`--from-recorded` runs no study: each set's best parameters, as --out's tuned rows record them,
are trained again with today's code (after a fix to the model, or with --save-proba to score
another threshold rule); the rows keep the study's budget columns.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from benchmarks import datasets, quality, report

METHOD = "cgmvae-tuned"
STUDY_SEED = 0  # the training seed of every trial; the best configuration then trains with each
NOTES_FILE = "tuning_notes.md"  # beside the --out CSV: how each run went, written by hand
COLUMNS = (*quality.COLUMNS, "trials", "pruned", "max_epochs_per_trial", "tune_seconds",
           "best_val", "params", "failed")


def result_row(dataset: str, method: str, seed: int, y_test, test_proba, scores: dict,
               seconds: float) -> dict:
    """A row of `quality.COLUMNS`, scored as `quality.run_job` scores it."""
    from cgmvae.metrics import ranking_metrics

    scores = {**scores, **ranking_metrics(y_test, test_proba)}
    return {"dataset": dataset, "method": method, "seed": seed, "train_fraction": 1.0,
            **{k: float(scores[k]) for k in quality.SCORES}, "train_seconds": round(seconds, 2)}


def run_dataset(name: str, trials: int, seeds: tuple[int, ...], sampler_seed: int = 0, *,
                storage: str | None = None, defaults: pd.DataFrame | None = None,
                proba_dir: str | None = None, recorded: dict | None = None) -> list[dict]:
    """Default rows (the control), one study on validation, then tuned rows for every seed.

    `storage`: the study is not run here but read from that Optuna storage, where workers of
    `python -m cgmvae tune` ran it (`shared_study`). `defaults`: the control's rows, already
    trained with today's defaults (quality.csv's), instead of training them again. `proba_dir`:
    keep each training's validation and test probabilities there (`benchmarks.rescore`).
    `recorded`: a tuned row of an earlier run (`recorded_budget`): its best parameters are
    trained again, with today's code and defaults around them, and no study runs.
    """
    from cgmvae import tune
    from cgmvae.config import ModelConfig, TrainConfig

    data, split = datasets.load(name)
    y_test, rows = data.labels[split.test], []
    if defaults is not None:
        rows += control_rows(defaults, name, seeds)
    for seed in seeds if defaults is None else ():
        started = time.perf_counter()
        proba, scores = train_and_score(data, split, ModelConfig(),
                                        TrainConfig(seed=seed, device="cpu"),
                                        quality.Job(name, "cgmvae", seed), proba_dir)
        rows.append(result_row(name, "cgmvae", seed, y_test, proba, scores,
                               time.perf_counter() - started))
        _progress(rows[-1])
    if recorded is not None:
        configs = tune.apply_params(json.loads(recorded["params"]), ModelConfig(),
                                    TrainConfig(seed=STUDY_SEED, device="cpu"))
        return rows + tuned_rows(name, seeds, data, split, *configs, recorded, proba_dir)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO)  # a line per trial: studies run for hours
    started = time.perf_counter()
    if storage is None:
        study = tune.run_study(data, split, trials=trials, model_config=ModelConfig(),
                               train_config=TrainConfig(seed=STUDY_SEED, device="cpu"),
                               study_name=f"{METHOD}-{name}", sampler_seed=sampler_seed,
                               progress=True)
        tune_seconds = time.perf_counter() - started
    else:
        study, tune_seconds = shared_study(name, data, split, trials, storage, ModelConfig(),
                                           TrainConfig(seed=STUDY_SEED, device="cpu"))
    best = tune.best_config(study, trials=trials, storage=storage)
    counts = best["budget"]["trials_in_study"]
    budget = {"trials": trials if storage is None else counts["complete"] + counts["pruned"]
              + counts["fail"], "pruned": counts["pruned"], "failed": counts["fail"],
              "max_epochs_per_trial": best["budget"]["max_epochs_per_trial"],
              "tune_seconds": round(tune_seconds, 1), "best_val": best["best_value"],
              "params": json.dumps(best["params"])}
    return rows + tuned_rows(name, seeds, data, split, ModelConfig.from_dict(best["model_config"]),
                             TrainConfig.from_dict(best["train_config"]), budget, proba_dir)


def tuned_rows(name: str, seeds: tuple[int, ...], data, split, model_config, train_config,
               budget: dict, proba_dir: str | None) -> list[dict]:
    """The best configuration trained with each seed and scored on test, each row carrying the
    study's `budget`."""
    rows = []
    for seed in seeds:
        started = time.perf_counter()
        proba, scores = train_and_score(data, split, model_config,
                                        replace(train_config, seed=seed),
                                        quality.Job(name, METHOD, seed), proba_dir)
        rows.append({**result_row(name, METHOD, seed, data.labels[split.test], proba, scores,
                                  time.perf_counter() - started), **budget})
        _progress(rows[-1])
    return rows


BUDGET_COLUMNS = ("trials", "pruned", "failed", "max_epochs_per_trial", "tune_seconds",
                  "best_val", "params")


def recorded_budget(tuned: pd.DataFrame, name: str) -> dict:
    """The study budget and best parameters that `name`'s tuned rows in `tuned` record."""
    rows = tuned[(tuned.dataset == name) & (tuned.method == METHOD)]
    if rows.empty:
        raise ValueError(f"--from-recorded: no {METHOD} row of {name} to take its parameters "
                         "from: tune it first")
    return {column: rows[column].iloc[0] for column in BUDGET_COLUMNS}


def train_and_score(data, split, model_config, train_config, job: quality.Job,
                    proba_dir: str | None) -> tuple:
    """Test probabilities and scores of `quality.cgmvae_probabilities`; the validation and test
    probabilities kept in `proba_dir` under `job`'s name."""
    val_proba, test_proba, scores = quality.cgmvae_probabilities(data, split, model_config,
                                                                 train_config)
    if proba_dir is not None:
        quality.save_probabilities(Path(proba_dir), job, val_proba, test_proba)
    return test_proba, scores


def control_rows(quality_rows: pd.DataFrame, name: str, seeds: tuple[int, ...]) -> list[dict]:
    """quality.csv's C-GMVAE rows of `name` for `seeds`, as the control ("defaults today")."""
    rows = quality_rows[(quality_rows.dataset == name) & (quality_rows.method == "cgmvae")
                        & (quality_rows.train_fraction == 1.0) & quality_rows.seed.isin(seeds)]
    missing = sorted(set(seeds) - set(rows.seed))
    if missing:
        raise ValueError(f"--defaults-from-quality: the quality file has no cgmvae row of {name} "
                         f"for seed(s) {missing}")
    return rows[list(quality.COLUMNS)].to_dict("records")


def shared_study(name: str, data, split, trials: int, storage: str, model_config, train_config):
    """The study `cgmvae-tuned-<name>` that workers of `python -m cgmvae tune --seed 0 --device
    cpu --storage STORAGE --study cgmvae-tuned-<name>` ran, and its tuning seconds (summed over
    its finished trials, those interrupted and run again left out: the workers ran side by
    side). Refused before `trials` trials finished,
    or when a trial ran with other settings than `model_config` and `train_config` with its
    parameters put in (the benchmark's: the defaults, seed 0, cpu)."""
    from optuna.trial import TrialState

    from cgmvae import tune

    study = tune.open_study(storage, f"{METHOD}-{name}", tune.data_fingerprint(data, split),
                            create=False)
    trials_run = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                          TrialState.FAIL))
    stopped = tune.interrupted(trials_run)  # run again: their time ran on into a worker's death
    finished = [trial for trial in trials_run if trial.number not in stopped]
    if len(finished) < trials:
        raise ValueError(f"study {study.study_name!r} has {len(finished)} of {trials} trials "
                         "finished: let its workers run more")
    for trial in finished:
        expected = tune.apply_params(trial.params, model_config, train_config)
        ran = (trial.user_attrs.get("model_config"), trial.user_attrs.get("train_config"))
        if trial.state == TrialState.COMPLETE and ran != _as_stored(expected):
            raise ValueError(f"trial {trial.number} of study {study.study_name!r} ran with other "
                             "settings than the benchmark's (the defaults, seed 0, cpu)")
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in finished)
    return study, seconds


def _as_stored(configs) -> tuple:
    """Config dicts as a study's user attributes hold them (JSON: tuples become lists)."""
    return tuple(json.loads(json.dumps(config.to_dict())) for config in configs)


def _progress(row: dict) -> None:
    print(f"{row['dataset']} {row['method']} seed {row['seed']}: micro-F1 {row['micro_f1']:.3f}, "
          f"macro-F1 {row['macro_f1']:.3f}, {row['train_seconds']:.0f} s", file=sys.stderr,
          flush=True)


def tuning_section(tuned: pd.DataFrame, earlier: pd.DataFrame, notes: str = "") -> str:
    """The report's "Tuning" section: per data set and metric, the baselines' best, quality.csv's
    C-GMVAE, today's defaults and the tuned configuration, and the counts of sets won; then
    `notes`, the hand-written account of how each run went (results/tuning_notes.md)."""
    names = list(dict.fromkeys(tuned.dataset))
    val_rows = {name: datasets.load(name)[1].val.size for name in names}
    baselines = earlier[earlier.dataset.isin(names) & earlier.method.isin(quality.BASELINE_METHODS)
                        & (earlier.train_fraction == 1.0)]
    sources = {"quality.csv cgmvae": earlier[earlier.dataset.isin(names)
                                             & (earlier.method == "cgmvae")
                                             & (earlier.train_fraction == 1.0)],
               "defaults today": tuned[tuned.method == "cgmvae"],
               "tuned": tuned[tuned.method == METHOD]}
    tuned_rows = tuned[tuned.method == METHOD].drop_duplicates("dataset").set_index("dataset")
    seeds = " ".join(map(str, sorted(set(tuned.seed))))
    command = (f"python -m benchmarks.tuned --datasets {' '.join(names)} --trials "
               f"{int(tuned_rows.trials.iloc[0])} --seeds {seeds}")
    every = len(names) == len(datasets.QUALITY)
    subset = ((f"All {len(names)} benchmark data sets" if every else
               f"A subset: {len(names)} of the {len(datasets.QUALITY)} benchmark data sets")
              + "; the counts of \"Does C-GMVAE beat the baselines?\" above (the defaults) are "
              "not re-measured here. Written by `python -m benchmarks.tuned` into "
              "results/tuning.md, which `benchmarks.report` includes (with no --datasets it "
              "rewrites it from results/tuned.csv).")
    title = "every data set" if every else "a subset of the data sets"
    lines = [f"## Tuning (cgmvae-tuned, {title})", "", f"`{command}`", "", subset,
             "", _budget_note(tuned_rows), ""] + ([notes.strip(), ""] if notes.strip() else [])
    for metric in ("micro_f1", "macro_f1"):
        lines += [f"**{report.TITLES[metric]}** (test; C-GMVAE mean ± std over seeds)", "",
                  "| data set | validation rows | best baseline | " + " | ".join(sources) + " |",
                  "|---|---|---|" + "---|" * len(sources)]
        for name in names:
            best = baselines[baselines.dataset == name].sort_values(metric).iloc[-1]
            cells = [report.fmt(*_mean_std(frame[frame.dataset == name][metric]))
                     for frame in sources.values()]
            lines.append(f"| {name} | {val_rows[name]} | {best.method} {best[metric]:.3f} | "
                         + " | ".join(cells) + " |")
        against = {label: pd.concat([baselines, frame.assign(method="cgmvae")])
                   for label, frame in sources.items()}
        results = {label: report.wins(frame, metric) for label, frame in against.items()}
        counts = {label: sum(won for _, won, _ in result) for label, result in results.items()}
        without = report.wins_without(against["tuned"], results["tuned"])
        lines += ["", "Data sets where C-GMVAE beats every baseline: " + ", ".join(
            f"{label} {n} of {len(names)}" for label, n in counts.items()) + "."
            + (f" Tuned: {without[0].lower()}{without[1:]}" if without else ""),
            "", _all_sets_count(tuned, earlier, metric), ""]
    lines += ["Tuned parameters (best validation trial): " + "; ".join(
        f"{name}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                for k, v in json.loads(row.params).items())
        for name, row in tuned_rows.iterrows()) + ".", ""]
    return "\n".join(lines)


def _all_sets_count(tuned: pd.DataFrame, earlier: pd.DataFrame, metric: str) -> str:
    """The headline count over every data set of quality.csv, with the tuned configuration's
    rows standing in for quality.csv's C-GMVAE where a set was tuned."""
    full = earlier[earlier.train_fraction == 1.0]
    tuned_sets = set(tuned[tuned.method == METHOD].dataset)
    mixed = pd.concat([full[~((full.method == "cgmvae") & full.dataset.isin(tuned_sets))],
                       tuned[tuned.method == METHOD].assign(method="cgmvae")])
    before, after = report.wins(full, metric), report.wins(mixed, metric)
    return (f"Over all {len(after)} data sets, with the tuned rows where a set was tuned "
            f"({len(tuned_sets)}) and quality.csv's elsewhere: C-GMVAE beats every baseline on "
            f"{sum(won for _, won, _ in after)} of {len(after)} (quality.csv alone: "
            f"{sum(won for _, won, _ in before)} of {len(before)}).")


def _mean_std(values: pd.Series) -> tuple[float, float | None]:
    return float(values.mean()), (float(values.std()) if len(values) > 1 else None)


def _budget_note(rows: pd.DataFrame) -> str:
    from cgmvae import tune
    from cgmvae.config import TrainConfig

    per_set = ", ".join(f"{name} {row.tune_seconds:.0f} s ({int(row.pruned)} pruned"
                        + (f", {int(row.failed)} failed: training diverged"
                           if row.get("failed", 0) > 0 else "") + ")"
                        for name, row in rows.iterrows())
    first = rows.iloc[0]
    return (f"Budget per data set: {int(first.trials)} Optuna trials (TPE, sampler seed 0; median "
            f"pruning once {tune.PRUNE_STARTUP_TRIALS} trials are complete, from epoch "
            f"{tune.PRUNE_WARMUP_EPOCHS}), each up to {int(first.max_epochs_per_trial)} epochs "
            f"with early stopping (patience {TrainConfig.patience}), training seed 0, scored by "
            f"the validation score `fit` selects by ({TrainConfig.selection_metric}, not the "
            f"F1s the tables count); the best "
            f"configuration is then trained with each seed and scored once on test. Test rows "
            f"choose nothing. Tuning time (wall time; summed over the trials where workers "
            f"shared a study): {per_set}. \"defaults today\" is `cgmvae` with today's defaults "
            "trained in the same run. Baselines from quality.csv, same split.")


def replace_section(text: str, section: str) -> str:
    """`text` with its "## Tuning" section (up to the next "## ") replaced, else appended."""
    pattern = re.compile(r"^## Tuning.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(lambda _: section.rstrip() + "\n\n", text, count=1)
    before = text.rstrip() + "\n\n" if text.strip() else ""
    return before + section.rstrip() + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=list(datasets.PATHS), default=[],
                        help="data sets to (re)run; none: only rewrite the report's section")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", default="benchmarks/results/tuned.csv")
    parser.add_argument("--quality", default="benchmarks/results/quality.csv")
    parser.add_argument("--report", default="benchmarks/RESULTS.md")
    parser.add_argument("--storage", help="read each set's study cgmvae-tuned-<name> from this "
                                          "Optuna storage, where `python -m cgmvae tune` workers "
                                          "ran it, instead of running it here")
    parser.add_argument("--save-proba", metavar="DIR",
                        help="keep each training's validation and test probabilities in DIR "
                             "(benchmarks.rescore)")
    parser.add_argument("--from-recorded", action="store_true",
                        help="run no study: train each set's best parameters as --out records "
                             "them again (after a code change, or to keep probabilities), "
                             "keeping the study's budget columns")
    parser.add_argument("--defaults-from-quality", action="store_true",
                        help="take the control rows from --quality's cgmvae rows instead of "
                             "training them again (only where those ran with today's code)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    frames = [pd.read_csv(out)] if out.is_file() else []  # other data sets' rows are kept
    recorded = dict.fromkeys(args.datasets)  # --from-recorded: every set's, before any trains
    if args.from_recorded:
        if args.storage:
            parser.error("--from-recorded runs no study: it reads no --storage")
        if not frames:
            parser.error(f"--from-recorded: {out} is not there")
        try:
            recorded = {name: recorded_budget(frames[0], name) for name in args.datasets}
        except ValueError as err:
            parser.error(str(err))
    for name in args.datasets:
        defaults = pd.read_csv(args.quality) if args.defaults_from_quality else None
        rows = pd.DataFrame(run_dataset(name, args.trials, tuple(args.seeds),
                                        storage=args.storage, defaults=defaults,
                                        proba_dir=args.save_proba, recorded=recorded[name]),
                            columns=COLUMNS)
        frames = [f[f.dataset != name] for f in frames] + [rows]
        pd.concat(frames).to_csv(out, index=False)
        print(rows[["dataset", "method", "seed", "micro_f1", "macro_f1", "train_seconds"]]
              .to_string(index=False), flush=True)
    report_path = Path(args.report)
    section = tuning_section(pd.concat(frames), pd.read_csv(args.quality),
                             report._read_text(out.with_name(NOTES_FILE)))
    out.with_name("tuning.md").write_text(section)  # benchmarks.report includes it
    old_report = report_path.read_text() if report_path.is_file() else ""
    report_path.write_text(replace_section(old_report, section))
    print(f"wrote the Tuning section of {report_path}" + (f" and {out}" if args.datasets else ""))


if __name__ == "__main__":
    main()
