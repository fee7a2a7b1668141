"""Hyper-parameter search with Optuna (`python -m cgmvae tune`): the paper's per-data-set tuning
(appendix B.1) on validation scores only; processes that share one storage share one study."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import socket
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cgmvae.config import SELECTION_METRICS, ModelConfig, TrainConfig

if TYPE_CHECKING:  # torch and optuna load only when a study runs: `--help` stays fast
    import optuna

    from cgmvae.data import MultiLabelData, Split

# What the paper grid-searched per data set (appendix B.1), as Optuna distributions. The learning
# rate is searched on a log scale instead of the paper's 0.0002 grid; the KL weight is the
# issue's fourth knob: 6 in the authors' code, 0.03 keeps the latent space informative
# (variants.INFORMATIVE_LATENT_KL).
SEARCH_SPACE = {
    "learning_rate": {"low": 1e-4, "high": 4e-3, "log": True},  # B.1: 0.0001 to 0.004
    "dropout": {"choices": [0.3, 0.5, 0.7]},  # B.1
    "embedding_dim": {"choices": [512, 1024, 2048, 3072]},  # E, B.1
    "kl_weight": {"low": 0.03, "high": 10.0, "log": True},
}
# Median pruning: a trial whose best validation score so far is below the median of the
# completed trials at the same epoch stops. Not before 4 trials have completed (the median of
# fewer is noise) nor before epoch 10 (every trial is poor in its first epochs).
PRUNE_STARTUP_TRIALS = 4
PRUNE_WARMUP_EPOCHS = 10
# A worker of a shared study says it is alive every HEARTBEAT_SECONDS while it runs a trial. A
# trial not heard of for GRACE_SECONDS (its worker was killed, or its machine taken back) is
# failed by the next worker that starts a trial, and run again with the same parameters, up to
# MAX_RETRIES times (a trial that kills its worker every time is not retried forever).
HEARTBEAT_SECONDS = 60
GRACE_SECONDS = 180
MAX_RETRIES = 2


def apply_params(params: dict, model_config: ModelConfig, train_config: TrainConfig
                 ) -> tuple[ModelConfig, TrainConfig]:
    """The configs with a trial's parameters (names of SEARCH_SPACE) put in."""
    model_config = replace(model_config, dropout=params["dropout"],
                           embedding_dim=params["embedding_dim"])
    train_config = replace(train_config, learning_rate=params["learning_rate"],
                           loss=replace(train_config.loss, kl=params["kl_weight"]))
    return model_config, train_config


def starting_params(model_config: ModelConfig, train_config: TrainConfig,
                    space: dict) -> dict | None:
    """The configuration a study starts from (the one passed in; the CLI's: the defaults), as
    trial parameters; None when a value lies outside `space` (then only sampled trials run)."""
    params = {"learning_rate": train_config.learning_rate, "dropout": model_config.dropout,
              "embedding_dim": model_config.embedding_dim, "kl_weight": train_config.loss.kl}
    if set(params) != set(space):
        return None
    for name, value in params.items():
        spec = space[name]
        inside = (value in spec["choices"] if "choices" in spec
                  else spec["low"] <= value <= spec["high"])
        if not inside:
            return None
    return params


def sample_params(trial: optuna.Trial, space: dict) -> dict:
    """One value per entry of `space`: `choices` is categorical, `low`/`high` a float range."""
    return {name: (trial.suggest_categorical(name, spec["choices"]) if "choices" in spec else
                   trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False)))
            for name, spec in space.items()}


class ReportToTrial:
    """A `fit` callback: after each epoch, reports the best validation selection score so far
    (what the trial would return if it stopped now) and ends the trial with `optuna.TrialPruned`
    when the pruner says so; the exception leaves `fit` before any further epoch."""

    def __init__(self, trial: optuna.Trial, train_config: TrainConfig):
        self.trial, self.train_config = trial, train_config
        self.history: list[dict] = []
        self.best = -math.inf

    def __call__(self, record: dict) -> None:
        import optuna

        from cgmvae.train import selection_score

        self.history.append(record)
        self.best = max(self.best, selection_score(self.history, self.train_config))
        if math.isfinite(self.best):  # -inf before a full selection window
            self.trial.report(self.best, step=record["epoch"])
            if self.trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {record['epoch']}")


def make_objective(data: MultiLabelData, split: Split, model_config: ModelConfig,
                   train_config: TrainConfig, space: dict, progress: bool = False):
    """The trial -> validation selection score function; `fit` never looks at `split.test`.
    `progress`: each trial says what it tries and how its epochs go (on stderr)."""
    from cgmvae.progress import EpochProgress
    from cgmvae.train import fit, selection_score

    worker = f"{socket.gethostname()}:{os.getpid()}"

    def objective(trial: optuna.Trial) -> float:
        objective.started.append(trial.number)
        params = sample_params(trial, space)
        model_trial, train_trial = apply_params(params, model_config, train_config)
        for key, value in {"worker": worker, "model_config": model_trial.to_dict(),
                           "train_config": train_trial.to_dict()}.items():
            trial.set_user_attr(key, value)
        shown = EpochProgress(prefix=f"trial {trial.number}: ") if progress else None
        if shown is not None:
            print(f"trial {trial.number} starts: " + ", ".join(
                f"{name} {value:.3g}" for name, value in params.items()), file=sys.stderr,
                flush=True)
        try:
            model = fit(data, split, model_config=model_trial, train_config=train_trial,
                        callbacks=[*([shown] if shown else []), ReportToTrial(trial, train_trial)])
        finally:
            if shown is not None:
                shown.close()
        trial.set_user_attr("epochs", len(model.history))
        trial.set_user_attr("best_epoch", model.best_epoch)
        return selection_score(model.history[:model.best_epoch], train_trial)

    objective.started = []  # numbers of the trials this process began, in order
    return objective


def data_fingerprint(data: MultiLabelData, split: Split) -> dict:
    return {"name": data.name, "rows": data.n_samples, "features": data.n_features,
            "labels": data.n_labels, "train_rows": int(split.train.size),
            "val_rows": int(split.val.size)}


def connect(storage: str | None, attempts: int = 5) -> optuna.storages.BaseStorage | None:
    """The RDB storage at URL `storage` (None: in memory), with heartbeats (HEARTBEAT_SECONDS),
    so that the trial of a worker that died is run again. Workers started together race to
    create a new database's tables (optuna/optuna#1092): the losers retry, then find them."""
    import optuna
    import sqlalchemy.exc

    if storage is None:
        return None
    # SQLite: wait up to 60 s for another worker's write instead of "database is locked"
    engine = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
    with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRIES)
        options = {"engine_kwargs": engine, "heartbeat_interval": HEARTBEAT_SECONDS,
                   "grace_period": GRACE_SECONDS, "heartbeat_stale_trial_callback": retry}
        for attempt in range(1, attempts + 1):
            try:
                return optuna.storages.RDBStorage(storage, **options)
            except (ImportError, sqlalchemy.exc.ArgumentError) as err:  # no race: say it now
                raise ValueError(storage_error(storage, err)) from None
            except sqlalchemy.exc.SQLAlchemyError as err:
                if attempt == attempts:
                    raise ValueError(storage_error(storage, err)) from None
                time.sleep(0.2 * attempt * (1 + random.random()))


def storage_error(storage: str, err: Exception) -> str:
    """Why the storage at URL `storage` cannot be opened, in a line without its password."""
    import sqlalchemy.exc

    if isinstance(err, sqlalchemy.exc.NoSuchModuleError):
        why = "the URL does not name a database that SQLAlchemy knows (e.g. sqlite:///tune.db)"
    elif isinstance(err, sqlalchemy.exc.ArgumentError):
        why = "it is not a database URL (e.g. sqlite:///tune.db)"
    elif isinstance(err, ImportError):
        why = "the driver of its database is not installed (postgresql: pip install psycopg2)"
    else:
        why = str(getattr(err, "orig", None) or err).splitlines()[0]
        if storage.startswith("sqlite"):
            why += " (does the file's folder exist, and may this process write there?)"
    try:
        from sqlalchemy.engine import make_url

        password = make_url(storage).password
    except sqlalchemy.exc.ArgumentError:
        password = None
    if password:
        why = why.replace(str(password), "***")
    return f"cannot open the Optuna storage {shown_storage(storage)}: {why}"


def trial_counts(study: optuna.Study) -> dict[str, int]:
    """The study's trials by state. `fail` counts the trials that failed by themselves (training
    diverged); `interrupted` those whose worker died and that were run again (`connect`)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = interrupted(trials)
    counts = {state.name.lower(): sum(trial.state == state and trial.number not in retried
                                      for trial in trials)
              for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                            TrialState.RUNNING)}
    return {**counts, "interrupted": len(retried)}


def interrupted(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of the trials whose worker died or was stopped, and that were queued again."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    with warnings.catch_warnings():  # retry_history is "experimental" since Optuna 3.0
        warnings.simplefilter("ignore", ExperimentalWarning)
        return {number for trial in trials
                for number in RetryHeartbeatStaleTrialCallback.retry_history(trial)}


def shown_storage(storage: str | None) -> str | None:
    """The storage URL without its password: fit for messages and best_config.json."""
    if storage is None:
        return None
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    try:
        return make_url(storage).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:  # not a URL: `connect` refuses it with why
        return storage


def open_study(storage: str | None, study_name: str, fingerprint: dict, *,
               sampler_seed: int | None = None, pruner: optuna.pruners.BasePruner | None = None,
               create: bool = True) -> optuna.Study:
    """The study `study_name` in `storage` (created, or loaded when another process made it;
    with `create=False` only loaded); refuses one started on other data or another split."""
    import optuna

    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP_TRIALS,
                                             n_warmup_steps=PRUNE_WARMUP_EPOCHS)
    sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    if create:
        study = optuna.create_study(storage=connect(storage), study_name=study_name,
                                    direction="maximize", load_if_exists=True, pruner=pruner,
                                    sampler=sampler)
    else:
        try:
            study = optuna.load_study(storage=connect(storage), study_name=study_name,
                                      pruner=pruner, sampler=sampler)
        except KeyError:
            raise ValueError(f"there is no study {study_name!r} in {shown_storage(storage)}: "
                             "check --storage and --study") from None
    known = study.user_attrs.get("data")
    if known is None:
        study.set_user_attr("data", fingerprint)
    elif known != fingerprint:
        raise ValueError(f"study {study_name!r} in {shown_storage(storage)} was tuned on "
                         f"{known}, not on {fingerprint}: give another --study name")
    return study


def run_study(data: MultiLabelData, split: Split, *, trials: int, model_config: ModelConfig,
              train_config: TrainConfig, storage: str | None = None, study_name: str | None = None,
              sampler_seed: int | None = None, pruner: optuna.pruners.BasePruner | None = None,
              space: dict | None = None, progress: bool = False) -> optuna.Study:
    """Run `trials` trials in this process on the study (new, or shared through `storage`);
    `trials=0` only opens an existing shared study, to read its best configuration so far.

    Each trial trains on `split.train` and is scored by `train_config.selection_metric` on
    `split.val`: the score `fit` selects its epoch by. `split.test` is never read. The
    configuration given (`model_config`, `train_config`) is the study's first trial when the
    search space holds it (once per study, however many processes share it), so the best
    configuration found is never below it on validation (same training seed). A trial whose
    training diverges before its first epoch is recorded as failed (with why), and the study goes
    on: a learning rate too high for the data is an answer, not an error. `progress`: each trial
    says on stderr what it tries and how its epochs go (the command line's workers do).
    """
    from cgmvae.train import TrainingDiverged

    if trials < 0 or (trials == 0 and storage is None):
        raise ValueError(f"trials must be >= 1 (or 0 with a shared storage, to read its best "
                         f"configuration), got {trials}")
    split.check(data.n_samples)
    study = open_study(storage, study_name or f"cgmvae-{data.name}", data_fingerprint(data, split),
                       sampler_seed=sampler_seed, pruner=pruner, create=trials > 0)
    if trials:
        space = space or SEARCH_SPACE
        start = starting_params(model_config, train_config, space)
        if start is not None:  # trial 0 is where one starts: tuning never ends below it
            study.enqueue_trial(start, skip_if_exists=True)
        objective = make_objective(data, split, model_config, train_config, space, progress)
        try:
            study.optimize(objective, n_trials=trials, catch=(TrainingDiverged,))
        except KeyboardInterrupt:  # Optuna has failed the trial in progress: hand it on
            if storage is not None and objective.started:
                run_again(study, objective.started[-1])
            raise
    return study


def run_again(study: optuna.Study, number: int) -> None:
    """Queue failed trial `number` of a shared study to run again with its parameters (the next
    worker takes it), counted as interrupted, as for a worker whose heartbeat stopped."""
    import optuna

    trial = study.get_trials(deepcopy=False)[number]
    if trial.state == optuna.trial.TrialState.FAIL:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRIES)(study, trial)


def best_config(study: optuna.Study, *, trials: int, storage: str | None,
                space: dict | None = None) -> dict:
    """What best_config.json holds: the best trial's configs, its value, and how it was found."""
    counts = trial_counts(study)
    if not counts["complete"]:
        running = (f"{counts['running']} still running, wait for them or run more trials"
                   if counts["running"] else "run more trials")
        raise ValueError(f"no trial of study {study.study_name!r} completed ({counts['pruned']} "
                         f"pruned, {counts['fail']} failed: the log says why), so there is no "
                         f"best configuration yet; {running}")
    best = study.best_trial
    train_config = best.user_attrs["train_config"]
    return {
        "model_config": best.user_attrs["model_config"], "train_config": train_config,
        "best_value": best.value, "selection_metric": train_config["selection_metric"],
        "trial": best.number, "params": best.params, "study": study.study_name,
        "storage": shown_storage(storage), "data": study.user_attrs["data"],
        "search_space": space or SEARCH_SPACE,
        "budget": {"trials_this_process": trials, "trials_in_study": counts,
                   "max_epochs_per_trial": train_config["max_epochs"],
                   "patience": train_config["patience"],
                   "pruner": type(study.pruner).__name__},
    }


def read_config(path: str | Path) -> tuple[ModelConfig, TrainConfig]:
    """The model and train configs of a best_config.json (`train --config`)."""
    return parse_config(Path(path).read_text(), str(path))[:2]


def parse_config(text: str, source: str) -> tuple[ModelConfig, TrainConfig, dict]:
    """The model and train configs of best_config.json's text, and the whole file's values (the
    data it was tuned on, its score...); ValueError naming `source` for anything else."""
    try:
        values = json.loads(text)
        return (ModelConfig.from_dict(values["model_config"]),
                TrainConfig.from_dict(values["train_config"]), values)
    except (ValueError, KeyError, TypeError, AttributeError) as err:  # JSON or config errors
        raise ValueError(f"{source} is not a config file with 'model_config' and 'train_config' "
                         f"as `python -m cgmvae tune` writes it: {type(err).__name__}: {err}"
                         ) from err


def other_data_note(tuned_on, n_features: int, n_labels: int) -> str | None:
    """A line when a configuration was tuned on data (best_config.json's "data", a dict) of
    another shape than the data it now trains on; None when the shape is the same or was not
    saved (anything but a dict)."""
    if not isinstance(tuned_on, dict) or not tuned_on:
        return None
    if (tuned_on.get("features"), tuned_on.get("labels")) == (n_features, n_labels):
        return None
    return (f"this configuration was tuned on {tuned_on.get('name', 'other data')} "
            f"({tuned_on.get('features', '?')} features, {tuned_on.get('labels', '?')} labels), "
            f"not on the data chosen ({n_features} features, {n_labels} labels): its settings "
            "carry over, but they were chosen for that data")


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse `type`: a whole number >= `minimum`, else the usage error says so."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    """The tune subcommand's own options (the data options are added by cli.py)."""
    parser.add_argument("--trials", type=int_at_least(0), required=True,
                        help="trials this process runs; processes sharing --storage add theirs "
                             "(0 with --storage: run none, write the shared study's best so far); "
                             "a study's first trial is the default configuration")
    parser.add_argument("--storage", help="Optuna storage URL shared by every worker, e.g. "
                                          "sqlite:///tune.db (default: in memory, this "
                                          "process only)")
    parser.add_argument("--study", help="study name (default: cgmvae-<data set name>)")
    parser.add_argument("--out", required=True, help="folder for best_config.json")
    parser.add_argument("--epochs", type=int_at_least(1), help="maximum epochs per trial")
    parser.add_argument("--patience", type=int_at_least(1),
                        help="early-stopping patience per trial")
    parser.add_argument("--selection", choices=SELECTION_METRICS,
                        help=f"validation score to maximise (default "
                             f"{TrainConfig.selection_metric}: what `train` selects its epoch by)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    parser.add_argument("--sampler-seed", type=int,
                        help="seed of the TPE sampler: repeat a one-process study; give workers "
                             "different ones")


def cmd_tune(args: argparse.Namespace, load_data: Callable) -> int:
    """`python -m cgmvae tune`; `load_data(args) -> (data, split)` is the CLI's loader (passed in,
    so that this module does not import cli.py, which imports it)."""
    if importlib.util.find_spec("optuna") is None:  # before the data loads
        raise ValueError("`tune` needs Optuna: pip install -r requirements.txt")
    if args.trials == 0 and args.storage is None:  # before the data loads, as run_study would
        raise ValueError("--trials 0 writes the best configuration of a shared study: give its "
                         "--storage (and --study)")
    if args.storage is not None:
        connect(args.storage)  # a bad URL is said before the data loads (minutes for big data)
    data, split = load_data(args)
    overrides = {"max_epochs": args.epochs, "patience": args.patience, "device": args.device,
                 "selection_metric": args.selection, "seed": args.seed}
    train_config = replace(TrainConfig(), **{k: v for k, v in overrides.items() if v is not None})
    study_name = args.study or f"cgmvae-{data.name}"
    if not args.trials:
        print(f"reading study {study_name} in {shown_storage(args.storage)}: no trials run",
              file=sys.stderr)
    else:
        print(f"tuning on {data.name}: {split.train.size} train / {split.val.size} validation "
              f"rows; {args.trials} trials of up to {train_config.max_epochs} epochs (patience "
              f"{train_config.patience}), maximising validation "
              f"{train_config.selection_metric}; study {study_name} in "
              f"{shown_storage(args.storage) or 'memory'}", file=sys.stderr)
    try:
        study = run_study(data, split, trials=args.trials, model_config=ModelConfig(),
                          train_config=train_config, storage=args.storage,
                          study_name=study_name, sampler_seed=args.sampler_seed, progress=True)
    except KeyboardInterrupt:
        print("stopped (Ctrl-C)" + (": the trial in progress will run again in the next "
                                    "worker of this study" if args.storage else ""),
              file=sys.stderr)
        return 130
    result = best_config(study, trials=args.trials, storage=args.storage)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "best_config.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"best: trial {result['trial']}, validation {result['selection_metric']} "
          f"{result['best_value']:.4f}, {json.dumps(result['params'])}; study counts "
          f"{result['budget']['trials_in_study']}")
    if result["budget"]["trials_in_study"]["running"]:
        print("other workers still run trials of this study: when they end, `tune ... --trials "
              "0` with the same --storage and --study writes the final best", file=sys.stderr)
    print(f"wrote {out / 'best_config.json'} (train with: python -m cgmvae train --config "
          f"{out / 'best_config.json'} ...)")
    return 0
