"""How sure is the choice between one macro-F1 threshold and per-label ones? Validation only.

Every method of the benchmark scores macro-F1 at per-label thresholds when one random 2-fold
cross-fit of its validation rows says they beat a single threshold
(`cgmvae.metrics.per_label_thresholds_help`). This repeats that cross-fit over many random splits
and prints, per data set and method, the one-split decision next to the gain's mean, standard
deviation and share of splits with a gain: a decision that flips from split to split is a coin
toss. Test rows are never read.

Usage: python -m benchmarks.threshold_rule --datasets enron flags [--methods cgmvae br]
       [--splits 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks import datasets, quality


def split_gains(val_labels: np.ndarray, proba: np.ndarray, splits: int) -> np.ndarray:
    """`per_label_gain` for split seeds 0 .. splits-1 (seed 0 is the split the rule uses)."""
    from cgmvae.metrics import per_label_gain

    return np.array([per_label_gain(val_labels, proba, seed) for seed in range(splits)])


def validation_proba(method: str, data, split, seed: int) -> np.ndarray:
    """`method`'s probabilities for the validation rows, trained as the benchmark trains it."""
    if method == "cgmvae":
        from cgmvae.config import ModelConfig, TrainConfig
        from cgmvae.train import fit

        model = fit(data, split, model_config=ModelConfig(),
                    train_config=TrainConfig(seed=seed, device="cpu"))
        return model.predict_proba(data.features[split.val])
    model, scaler = quality.fit_baseline(method, data, split)
    return model.predict_proba(scaler.transform(data.features[split.val]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=list(datasets.PATHS), required=True)
    parser.add_argument("--methods", nargs="+", default=["cgmvae", "br"],
                        choices=["cgmvae", *quality.BASELINE_METHODS])
    parser.add_argument("--splits", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="C-GMVAE's training seed")
    args = parser.parse_args(argv)
    print("| data set | validation rows | method | one-split rule | mean gain | sd | "
          "share of splits with a gain |\n|---|---|---|---|---|---|---|")
    for name in args.datasets:
        data, split = datasets.load(name)
        val_labels = data.labels[split.val]
        for method in args.methods:
            gains = split_gains(val_labels, validation_proba(method, data, split, args.seed),
                                args.splits)
            rule = "per-label" if gains[0] > 0 else "one threshold"
            print(f"| {name} | {split.val.size} | {method} | {rule} | {gains.mean():+.4f} | "
                  f"{gains.std():.4f} | {(gains > 0).mean():.2f} |", flush=True)
    print(f"({args.splits} random 2-fold splits of the validation rows; C-GMVAE training seed "
          f"{args.seed})", file=sys.stderr)


if __name__ == "__main__":
    main()
