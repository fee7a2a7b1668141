"""Measure the authors'-code switches and loss weights on VALIDATION splits to choose defaults.

Usage: python -m benchmarks.tune_defaults [--datasets yeast scene] [--seeds 0 1] [--out FILE]
Each row: one (dataset, setting, seed) run; scores are validation metrics at each metric's
validation-best threshold. Test rows are never evaluated here.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

from cgmvae.data import load_split
from cgmvae.losses import LossWeights
from cgmvae.model import ModelConfig
from cgmvae.train import TrainConfig, fit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# name -> (model config changes, train config changes, loss weight changes); "default" = no change.
SETTINGS: dict[str, tuple[dict, dict, dict]] = {
    "default": ({}, {}, {}),
    "paper-literal": ({"decoder_sees_features": False, "normalize_feature_embedding": False,
                       "decode_label_path": False}, {"latent_samples": 1}, {"kl": 1.0}),
    "no-x-skip": ({"decoder_sees_features": False}, {}, {}),
    "no-normalize": ({"normalize_feature_embedding": False}, {}, {}),
    "no-label-path": ({"decode_label_path": False}, {}, {}),
    "one-sample": ({}, {"latent_samples": 1}, {}),
    "kl-1": ({}, {}, {"kl": 1.0}),
    "label-bias": ({"label_bias": True}, {}, {}),
    "reconstruct": ({"reconstruct_features": True}, {}, {}),
    "cosine-restarts": ({}, {"restart_epochs": 10}, {}),
    "dropout-0.3": ({"dropout": 0.3}, {}, {}),
    "lr-0.001": ({}, {"learning_rate": 0.001}, {}),
    "select-macro": ({}, {"selection_metric": "macro_f1"}, {}),
}


def load(name: str):
    from cgmvae.formats import load_dataset

    folder = DATA / "mulan" / name if (DATA / "mulan" / name).exists() else DATA / "ecology" / name / f"{name}.csv"
    return load_dataset(folder), load_split(DATA / "splits" / f"{name}.json")


def run(dataset: str, setting: str, seed: int, data, split) -> dict:
    model_changes, train_changes, loss_changes = SETTINGS[setting]
    loss = replace(LossWeights(), **loss_changes)
    train_config = replace(TrainConfig(), loss=loss, seed=seed, device="cpu", **train_changes)
    started = time.perf_counter()
    model = fit(data, split, model_config=replace(ModelConfig(), **model_changes), train_config=train_config)
    scores = model.evaluate(data.features[split.val], data.labels[split.val])["per_metric"]
    return {"dataset": dataset, "setting": setting, "seed": seed, "epochs": len(model.history),
            "best_epoch": model.best_epoch, "seconds": round(time.perf_counter() - started, 1),
            **{k: round(v, 4) for k, v in scores.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["yeast", "scene"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--out", default="benchmarks/results/tune_defaults.csv")
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    with out.open("w", newline="") as handle:
        for dataset in args.datasets:
            data, split = load(dataset)
            for setting in args.settings:
                for seed in args.seeds:
                    row = run(dataset, setting, seed, data, split)
                    print(row, flush=True)
                    if writer is None:
                        writer = csv.DictWriter(handle, fieldnames=list(row))
                        writer.writeheader()
                    writer.writerow(row)
                    handle.flush()


if __name__ == "__main__":
    main()
