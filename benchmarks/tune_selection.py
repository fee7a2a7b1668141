"""Measure epoch-selection rules and epoch limits on VALIDATION splits to choose their defaults.

Usage: python -m benchmarks.tune_selection
       [--datasets swiss_birds ontario_birds uk_butterflies yeast] [--seeds 0 1]
       [--max-epochs 300] [--patience 20] [--out FILE] [--histories FILE.json]
One training run per (data set, seed), long enough for every rule to stop early (or reach
--max-epochs): selection never changes the training itself, so `replay_selection` on that run's
history gives exactly what a run with each rule and epoch limit would keep. Each CSV row is one
(data set, seed, rule, epoch limit): the kept epoch, the epochs run, their seconds and the kept
epoch's validation micro-F1, macro-F1 (each at its best validation threshold) and mean label
ROC-AUC; `stopped_early` is False where the limit (or a shorter run) ended a rule that was still
improving. Test rows are never evaluated here.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.datasets import load
from cgmvae.config import SELECTION_METRICS, TrainConfig
from cgmvae.train import fit, replay_selection

WINDOWS = (1, 3)  # the score of one epoch, or its moving average over the last 3 epochs
EPOCH_LIMITS = (100, 300)


def rule_configs(base: TrainConfig) -> dict[str, TrainConfig]:
    """Rule name ('mean_auc', 'mean_auc_smooth3', ...) -> the config that selects by it."""
    return {metric + ("" if window == 1 else f"_smooth{window}"):
            replace(base, selection_metric=metric, selection_window=window)
            for metric in SELECTION_METRICS for window in WINDOWS}


def every_rule_stopped(history: list[dict], rules: dict[str, TrainConfig]) -> bool:
    """True once each rule has gone `patience` epochs without a better score."""
    for config in rules.values():
        best_epoch, run = replay_selection(history, config)
        if run - best_epoch < config.patience:
            return False
    return True


def train(dataset: str, seed: int, max_epochs: int, patience: int, device: str) -> list[dict]:
    """One long run's history: until every rule has stopped early, or `max_epochs`."""
    data, split = load(dataset)
    base = TrainConfig(seed=seed, device=device, max_epochs=max_epochs, patience=patience)
    rules = rule_configs(base)
    history: list[dict] = []
    started = time.perf_counter()
    fit(data, split, train_config=replace(base, patience=max_epochs),  # only the rules stop it
        callbacks=[history.append],
        should_stop=lambda: every_rule_stopped(history, rules))
    print(f"{dataset} seed {seed}: {len(history)} epochs, {time.perf_counter() - started:.0f} s",
          flush=True)
    return history


def score_rules(dataset: str, seed: int, history: list[dict], max_epochs: int,
                patience: int) -> list[dict]:
    """One row per rule and epoch limit, from replaying the run's history."""
    rules = rule_configs(TrainConfig(max_epochs=max_epochs, patience=patience))
    rows = []
    for limit in sorted({min(limit, max_epochs) for limit in EPOCH_LIMITS}):
        for name, config in rules.items():
            kept, epochs_run = replay_selection(history, replace(config, max_epochs=limit))
            record = history[kept - 1]
            rows.append({
                "dataset": dataset, "seed": seed, "rule": name, "max_epochs": limit,
                "patience": patience, "kept_epoch": kept, "epochs_run": epochs_run,
                "stopped_early": epochs_run - kept >= patience,  # else still improving at the limit
                "seconds": round(sum(r["seconds"] for r in history[:epochs_run]), 1),
                "val_micro_f1": round(record["val_micro_f1"], 4),
                "val_macro_f1": round(record["val_macro_f1"], 4),
                "val_mean_auc": round(record["val_mean_auc"], 4),
            })
    return rows


def summary(path: Path) -> str:
    """Mean over seeds per data set, epoch limit and rule (the README table)."""
    import pandas as pd

    frame = pd.read_csv(path)
    columns = ["val_micro_f1", "val_macro_f1", "val_mean_auc", "kept_epoch", "epochs_run",
               "seconds"]
    table = frame.groupby(["dataset", "max_epochs", "rule"], sort=False)[columns].mean()
    return table.round(4).to_string()


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+",
                        default=["swiss_birds", "ontario_birds", "uk_butterflies", "yeast"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--max-epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="benchmarks/results/tune_selection.csv")
    parser.add_argument("--histories", help="also write every run's per-epoch history (JSON)")
    parser.add_argument("--replay", nargs="+", metavar="HISTORIES",
                        help="score the histories these --histories files hold; no training")
    parser.add_argument("--summary", action="store_true", help="print the mean over seeds of --out")
    args = parser.parse_args()
    if args.summary:
        print(summary(Path(args.out)))
        return
    torch.set_num_threads(1)  # small models: one thread, leaving the other cores free
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    histories, writer = {}, None
    saved = {k: v for path in args.replay or ()
             for k, v in json.loads(Path(path).read_text()).items()}
    runs = (list(saved) if args.replay
            else [f"{d}/{seed}" for d in args.datasets for seed in args.seeds])
    with out.open("w", newline="") as handle:
        for run in runs:
            dataset, seed = run.split("/")[0], int(run.split("/")[1])
            histories[run] = saved.get(run) or train(dataset, seed, args.max_epochs, args.patience,
                                                     args.device)
            rows = score_rules(dataset, seed, histories[run], args.max_epochs, args.patience)
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
            writer.writerows(rows)
            handle.flush()
            if args.histories and not args.replay:
                Path(args.histories).write_text(json.dumps(histories))


if __name__ == "__main__":
    main()
