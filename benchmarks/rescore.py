"""Score saved benchmark probabilities under another threshold rule, without training again.

`python -m benchmarks.run --save-proba DIR` keeps each job's validation and test probabilities.
This scores every saved job twice: with the rule of today's tables (per-label macro-F1 thresholds
when one random 2-fold cross-fit of the validation rows says they help), and with the decision
taken on the mean gain of `--splits` such splits (`benchmarks.threshold_rule` shows how noisy one
split is). Only macro-F1 can move: the other metrics use one threshold either way. It prints, per
data set and method, macro-F1 under both rules (mean over seeds) and how many runs changed their
decision, then the count of sets where C-GMVAE beats every baseline under each rule. With
`--quality`, it first checks that the one-split scores give back those rows (the probabilities are
the rows'). Test rows choose nothing: both rules decide on validation rows.

Usage: python -m benchmarks.rescore --proba DIR [--splits 20] [--ours cgmvae-tuned]
       [--quality benchmarks/results/quality.csv]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import datasets, report

NAME = re.compile(r"(?P<dataset>.+)__(?P<method>.+)__seed(?P<seed>\d+)"
                  r"__fraction(?P<fraction>[\d.]+)")
THRESHOLD_METRICS = ("hamming_accuracy", "example_f1", "micro_f1", "macro_f1")


def rescore(folder: Path, splits: int) -> pd.DataFrame:
    """One row per saved job: its key, each threshold metric under the one-split rule, macro-F1
    under the `splits`-split rule (`macro_f1_surer`), and whether the decision changed."""
    from cgmvae.metrics import evaluate, per_label_thresholds_help, validation_threshold_parts

    rows, labels = [], {}
    for path in sorted(folder.glob("*.npz")):
        match = NAME.fullmatch(path.stem)
        if match is None:
            continue
        name = match["dataset"]
        if name not in labels:
            data, split = datasets.load(name)
            labels[name] = data.labels[split.val], data.labels[split.test]
        y_val, y_test = labels[name]
        saved = np.load(path)
        overall, per_label, one_split = validation_threshold_parts(y_val, saved["val"])
        surer = per_label_thresholds_help(y_val, saved["val"], splits=splits)
        scores = {metric: evaluate(y_test, saved["test"], overall[metric])[metric]
                  for metric in THRESHOLD_METRICS}
        macro = {False: scores["macro_f1"],
                 True: evaluate(y_test, saved["test"], per_label)["macro_f1"]}
        rows.append({"dataset": name, "method": match["method"], "seed": int(match["seed"]),
                     "train_fraction": float(match["fraction"]), **scores,
                     "macro_f1": macro[one_split], "macro_f1_surer": macro[surer],
                     "changed": one_split != surer})
    return pd.DataFrame(rows)


def check_against(scored: pd.DataFrame, quality_csv: Path) -> float:
    """The largest difference between the one-split scores and the rows of `quality_csv` for the
    same jobs (0 when the probabilities are those rows'); ValueError when none matches."""
    keys = ["dataset", "method", "seed", "train_fraction"]
    merged = scored.merge(pd.read_csv(quality_csv), on=keys, suffixes=("", "_row"))
    if merged.empty:
        raise ValueError(f"no saved job has a row in {quality_csv}")
    return float(max((merged[m] - merged[f"{m}_row"]).abs().max() for m in THRESHOLD_METRICS))


def summary(scored: pd.DataFrame, splits: int, ours: str = "cgmvae") -> str:
    """The per-set table and the win counts of method `ours` (e.g. `cgmvae-tuned`) under both
    rules (full training data only)."""
    full = scored[scored.train_fraction == 1.0]
    lines = [f"| data set | method | macro-F1, one split | macro-F1, {splits} splits | "
             "runs whose decision changed |", "|---|---|---|---|---|"]
    for (name, method), group in full.groupby(["dataset", "method"], sort=False):
        lines.append(f"| {name} | {method} | {group.macro_f1.mean():.3f} | "
                     f"{group.macro_f1_surer.mean():.3f} | {int(group.changed.sum())} of "
                     f"{len(group)} |")
    if ours != "cgmvae":  # count `ours` where the report counts C-GMVAE's rows
        full = full[full.method != "cgmvae"].replace({"method": {ours: "cgmvae"}})
    surer = full.assign(macro_f1=full.macro_f1_surer)
    counts = {label: sum(won for _, won, _ in report.wins(frame, "macro_f1"))
              for label, frame in (("one split", full), (f"{splits} splits", surer))}
    n_sets = len(report.wins(full, "macro_f1"))
    lines += ["", f"Macro-F1, sets where {ours} beats every baseline: " + ", ".join(
        f"{label} {count} of {n_sets}" for label, count in counts.items()) + "."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proba", required=True, help="the --save-proba folder of a run")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--quality", help="a quality.csv whose rows the saved jobs made")
    parser.add_argument("--ours", default="cgmvae",
                        help="the method whose wins are counted (cgmvae-tuned: the tuned rows, "
                             "their probabilities saved beside the baselines')")
    args = parser.parse_args(argv)
    scored = rescore(Path(args.proba), args.splits)
    if scored.empty:
        raise SystemExit(f"no saved probabilities in {args.proba}: run benchmarks.run with "
                         "--save-proba first")
    if args.quality:
        print(f"one-split scores against {args.quality}: largest difference "
              f"{check_against(scored, Path(args.quality)):.2e}")
    print(summary(scored, args.splits, args.ours))


if __name__ == "__main__":
    main()
