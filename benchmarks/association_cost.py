"""How long the Label correlations page's data layers take, against the page's own estimate.

Usage: python -m benchmarks.association_cost [--runs 3] [--sets builtin swiss_birds ...]
       [--simulated 2000x100 20000x500] [--out benchmarks/results/association_cost.csv]

Times `associations.compute_associations` on the training rows the app uses (at most
`app/ui/cached.py`'s ASSOCIATION_ROWS) of the built-in checklists, real surveys of ../shared/data
(skipped when absent) and simulated checklists, and its two covariate-model parts on their own:
the cross-fit over all sites and the null surveys of `residual_null_sd`. Each beside the part of
`expected_seconds` that estimates it (`crossfit_seconds`, `null_draws` x the cross-fit of at most
NULL_ROWS sites). The model is a stand-in with fixed logits (the real model's logits are not part
of the estimate). Medians over --runs; run it alone: on the 2-core machine a second process
doubles the times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.results_io import RowWriter
from cgmvae import associations as assoc

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REAL = ("swiss_birds", "uk_butterflies", "wood_fungi", "ontario_birds")
COLUMNS = ("data", "sites", "species", "design_width", "null_draws", "part", "measured_s",
           "estimated_s", "ratio", "runs")


class FixedLogits:
    """A model stand-in: logits linear in the features, one temperature (1.0)."""

    def __init__(self, n_features: int, names: list[str], seed: int = 0):
        self.weights = np.random.default_rng(seed).normal(0, 0.3, (n_features, len(names)))
        self.label_names = names

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.weights


def training_rows(name: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(features, labels, names) of a set's training rows as the app samples them."""
    from ui.cached import ASSOCIATION_ROWS

    from cgmvae import explore

    if name == "builtin":
        from cgmvae.datasets import builtin_data

        data, split = builtin_data()
    elif name.count("x") == 1 and name.replace("x", "").isdigit():
        from cgmvae.data import random_split
        from cgmvae.simulate import simulate_checklists

        sites, species = (int(v) for v in name.split("x"))
        data = simulate_checklists(int(sites / 0.8) + 10, seed=0, n_species=species)
        split = random_split(data.n_samples, seed=0)
        split = type(split)(split.train[:sites], split.val, split.test)  # `sites` training rows
    else:
        from benchmarks import datasets

        try:
            data, split = datasets.load(name)
        except FileNotFoundError:
            return None
    train = split.train[explore.subsample(split.train.size, ASSOCIATION_ROWS)]
    return (data.features[train].astype(np.float64), data.labels[train].astype(np.float64),
            list(data.label_names))


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def rows_for(name: str, runs: int) -> list[dict]:
    loaded = training_rows(name)
    if loaded is None:
        print(f"{name}: skipped (not under ../shared/data)", file=sys.stderr)
        return []
    x, y, names = loaded
    n_species = y.shape[1]
    model = FixedLogits(x.shape[1], names)
    folds = assoc.crossfit_covariate_models(x, y)[1]
    draws = assoc.null_draws(x, n_species)
    parts = {
        "crossfit": (lambda: assoc.crossfit_covariate_models(x, y),
                     assoc.crossfit_seconds(x, n_species)),
        "null_surveys": (lambda: assoc.residual_null_sd(x, folds),
                         draws * assoc.crossfit_seconds(x[:assoc.NULL_ROWS], n_species)),
        "all_layers": (lambda: assoc.compute_associations([model], x, y),
                       assoc.expected_seconds(x, n_species)),
    }
    width = x.shape[1] + int(assoc.curved_columns(x).sum()) + 1
    out = []
    for part, (run, estimate) in parts.items():
        measured = statistics.median(timed(run) for _ in range(runs))
        out.append({"data": name, "sites": len(x), "species": n_species, "design_width": width,
                    "null_draws": draws, "part": part, "measured_s": float(f"{measured:.4g}"),
                    "estimated_s": float(f"{estimate:.4g}"),
                    "ratio": round(measured / estimate, 2),
                    "runs": runs})
        print(f"{name:>16} {part:>12}: {measured:7.2f} s measured, {estimate:7.2f} s estimated "
              f"({measured / estimate:.2f}x)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sets", nargs="*", default=["builtin", *REAL])
    parser.add_argument("--simulated", nargs="*", default=["2000x100", "20000x500"],
                        help="SITESxSPECIES simulated checklists (training sites)")
    parser.add_argument("--out", type=Path, default=RESULTS / "association_cost.csv")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "app"))  # the app imports `ui` as `streamlit run` allows
    writer = RowWriter(args.out, COLUMNS)
    for name in [*args.sets, *args.simulated]:
        for row in rows_for(name, args.runs):
            writer.write(row)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
