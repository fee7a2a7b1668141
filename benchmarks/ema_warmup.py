"""Small surveys: does the weight average's warm-up (`TrainConfig.ema_warmup`) stop C-GMVAE from
keeping a model with flat probabilities?

Usage: python -m benchmarks.ema_warmup [--seeds 0 1 2] [--sites 300 1000 3000]
       [--datasets flags foodtruck swiss_birds norberg_birds cal500 yeast]
       [--settings today warmup warmup+val_loss] [--out CSV] [--append]
       python -m benchmarks.ema_warmup --summary [--out CSV]   (the table of the README)

The weights C-GMVAE validates and keeps are an exponential moving average (decay 0.99 per step).
On a survey of a few hundred sites an epoch is 2-3 steps, so epoch 20 is ~50 steps and its
average is still ~60% the first step's weights: the kept model ranks sites well but its
probabilities hug the prevalence. The warm-up (TensorFlow's ExponentialMovingAverage with
num_updates: decay min(0.99, (1 + n) / (10 + n)) after n steps) lets the average follow the
weights until there are enough steps to average over.

The warm-up alone does not stop a second way to keep an early epoch: mean species ROC-AUC, the
default selection score, ranks sites well after a few epochs and then stays flat within the
noise of a small validation set, so it can keep epoch 2 of a model that has not yet sharpened;
the validation log-loss (a proper score) goes on improving as the probabilities do. So three
settings: today's (warm-up off, select by mean AUC), warm-up on, warm-up on and selection by
validation log-loss.

Each row: one training with today's defaults but those two settings. Validation columns (the
kept epoch's validation log-loss and mean species ROC-AUC) are what a choice on real data may
rest on; test columns report the outcome (log-loss, mean AUC, micro- and macro-F1 at validation
thresholds). Planted surveys (known occurrence probabilities, synthetic: nothing of a real test
split is seen) also give the mean absolute error of the test probabilities against the truth
and their spread across sites (mean over species of the sd), beside the truth's spread; and for
the Label correlations page's learned layer (the co-occurrence implied by the predicted
probabilities over the training sites, `associations.implied_cooccurrence`) its mean absolute
error over species pairs against the same map of the true probabilities (`map_error`), beside
that map's mean |value| (`truth_map_strength`).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.datasets import load
from cgmvae.associations import implied_cooccurrence
from cgmvae.config import TrainConfig
from cgmvae.data import MultiLabelData, Split, random_split
from cgmvae.metrics import evaluate, macro_roc_auc, validation_thresholds
from cgmvae.train import fit

SETTINGS = {"today": (False, "mean_auc"), "warmup": (True, "mean_auc"),
            "warmup+val_loss": (True, "val_loss")}
COLUMNS = ("data", "seed", "setting", "train_rows", "steps_per_epoch", "kept_epoch", "epochs_run",
           "val_log_loss", "val_mean_auc", "test_log_loss", "test_mean_auc", "test_micro_f1",
           "test_macro_f1", "truth_abs_error", "spread", "truth_spread", "map_error",
           "truth_map_strength", "seconds")


def planted_survey(n_sites: int, seed: int) -> tuple[MultiLabelData, np.ndarray]:
    """(data, true occurrence probabilities (N, 12)): a season (day of year), a temperature and a
    dry-meadow flag; 4 early-season species, 4 late-season, 3 of dry meadows, 1 of none."""
    rng = np.random.default_rng(seed)
    season, temperature = rng.uniform(-2, 2, n_sites), rng.normal(size=n_sites)
    dry = (rng.random(n_sites) < 0.33).astype(float)
    logits = np.column_stack(
        [-0.5 - 2.0 * season + 0.3 * temperature] * 4 + [-0.5 + 2.0 * season] * 4
        + [-1.8 + 3.0 * dry] * 3 + [np.full(n_sites, -0.8)])
    truth = 1 / (1 + np.exp(-logits))
    labels = (rng.random(truth.shape) < truth).astype(np.float32)
    features = np.column_stack([season, temperature, dry]).astype(np.float32)
    data = MultiLabelData(features, labels, ["season", "temperature", "dry"],
                          [f"species_{k:02d}" for k in range(truth.shape[1])],
                          name=f"planted_{n_sites}")
    return data, truth


def log_loss(labels: np.ndarray, proba: np.ndarray) -> float:
    proba = np.clip(proba, 1e-6, 1 - 1e-6)
    return float(-np.mean(labels * np.log(proba) + (1 - labels) * np.log(1 - proba)))


def run(data: MultiLabelData, split: Split, seed: int, setting: str,
        truth: np.ndarray | None = None) -> dict:
    warmup, selection = SETTINGS[setting]
    config = TrainConfig(seed=seed, device="cpu", ema_warmup=warmup, selection_metric=selection)
    started = time.perf_counter()
    model = fit(data, split, train_config=config)
    seconds = time.perf_counter() - started
    kept = model.history[model.best_epoch - 1]
    val_proba = model.predict_proba(data.features[split.val])
    test_proba = model.predict_proba(data.features[split.test])
    y_val, y_test = data.labels[split.val], data.labels[split.test]
    thresholds = validation_thresholds(y_val, val_proba)
    row = {"data": data.name, "seed": seed, "setting": setting, "train_rows": split.train.size,
           "steps_per_epoch": -(-split.train.size // config.batch_size),
           "kept_epoch": model.best_epoch, "epochs_run": len(model.history),
           "val_log_loss": kept["val_loss"], "val_mean_auc": kept["val_mean_auc"],
           "test_log_loss": log_loss(y_test, test_proba),
           "test_mean_auc": macro_roc_auc(y_test, test_proba),
           "test_micro_f1": evaluate(y_test, test_proba, thresholds["micro_f1"])["micro_f1"],
           "test_macro_f1": evaluate(y_test, test_proba, thresholds["macro_f1"])["macro_f1"],
           "spread": float(test_proba.std(axis=0).mean()), "seconds": seconds}
    if truth is not None:
        true_test = truth[split.test]
        true_map = implied_cooccurrence(truth[split.train])
        pairs = ~np.eye(len(true_map), dtype=bool)
        learned = implied_cooccurrence(model.predict_proba(data.features[split.train]))
        row |= {"truth_abs_error": float(np.abs(test_proba - true_test).mean()),
                "truth_spread": float(true_test.std(axis=0).mean()),
                "map_error": float(np.abs(learned - true_map)[pairs].mean()),
                "truth_map_strength": float(np.abs(true_map)[pairs].mean())}
    return row


def summary(rows: pd.DataFrame) -> str:
    """A markdown table: per data set and setting, the means over seeds of the kept epoch, the
    validation and test log-loss, test micro- and macro-F1, and on planted surveys the error of
    the probabilities and of the learned map against the truth."""
    columns = {"kept_epoch": "kept epoch", "val_log_loss": "val log-loss",
               "test_log_loss": "test log-loss", "test_micro_f1": "micro-F1",
               "test_macro_f1": "macro-F1", "truth_abs_error": "mean abs(p - truth)",
               "map_error": "learned-map error"}
    means = rows.groupby(["data", "setting"], sort=False)[list(columns)].mean()
    lines = ["| data set | setting | " + " | ".join(columns.values()) + " |",
             "|---|---|" + "---|" * len(columns)]
    for (name, setting), values in means.iterrows():
        cells = ["" if pd.isna(values[c]) else f"{values[c]:.0f}" if c == "kept_epoch"
                 else f"{values[c]:.3f}" for c in columns]
        lines.append(f"| {name} | {setting} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--sites", nargs="*", type=int, default=[300, 1000, 3000])
    parser.add_argument("--datasets", nargs="*",
                        default=["flags", "foodtruck", "swiss_birds", "norberg_birds", "cal500",
                                 "yeast"])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ema_warmup.csv"))
    parser.add_argument("--append", action="store_true", help="add rows to --out")
    parser.add_argument("--summary", action="store_true",
                        help="print the table of --out's rows and run nothing")
    args = parser.parse_args(argv)
    if args.summary:
        print(summary(pd.read_csv(args.out)))
        return 0
    jobs = [(n, seed) for n in args.sites for seed in args.seeds]
    jobs += [(name, seed) for name in args.datasets for seed in args.seeds]
    with args.out.open("a" if args.append else "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="raise")
        if not args.append:
            writer.writeheader()
        for source, seed in jobs:
            if isinstance(source, int):
                data, truth = planted_survey(source, seed)
                split = random_split(data.n_samples, seed=seed)
            else:
                (data, split), truth = load(source), None
            for setting in args.settings:
                row = run(data, split, seed, setting, truth)
                writer.writerow({k: round(v, 4) if isinstance(v, float) else v
                                 for k, v in row.items()})
                handle.flush()
                print(f"{row['data']} seed {seed} {setting}: kept "
                      f"{row['kept_epoch']}/{row['epochs_run']}, val log-loss "
                      f"{row['val_log_loss']:.4f}, test log-loss {row['test_log_loss']:.4f}, "
                      f"micro-F1 {row['test_micro_f1']:.3f}, macro-F1 {row['test_macro_f1']:.3f}"
                      + (f", |p - truth| {row['truth_abs_error']:.3f}" if truth is not None
                         else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
