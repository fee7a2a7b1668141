"""How often the extrapolation flags fire on held-out sites of real surveys (no model needed).

Usage: python -m benchmarks.extrapolation [--out CSV]

For the app's built-in simulated checklists and each ecological survey's fixed split (training
rows against test rows), and for Norberg et al.'s (2019) three evaluation modes per taxon (mode 1
interpolation; modes 2 and 3 test sites chosen away from the training sites), the share of test
sites with a covariate outside its training range (ExDet's NT1, `covariates_outside_training` >
0), the share with every covariate in range but NT2 above 1 (`covariate_novelty`: a combination
no training site had), and the median NT2. The flags are computed as `TrainedModel` does (the
standardizer fitted on the training rows), without training a network.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.datasets import data_root, load
from cgmvae.data import Standardizer
from cgmvae.datasets import builtin_data
from cgmvae.extrapolation import novelty, novelty_metric

RESULTS = Path(__file__).resolve().parent / "results"
SURVEYS = ("swiss_birds", "uk_butterflies", "wood_fungi", "ontario_birds", "norberg_birds")
NORBERG_TAXA = ("birds", "butterfly", "plant", "trees", "vegetation")


def flags(train: np.ndarray, test: np.ndarray) -> dict:
    """The shares of `test` rows flagged against `train` rows, and the median NT2."""
    standardizer = Standardizer.fit(train)
    metric = novelty_metric(train, standardizer.transform)
    outside = ((test < train.min(axis=0)) | (test > train.max(axis=0))).any(axis=1)
    scores = novelty(standardizer.transform(test), metric)
    return {"inputs": train.shape[1], "train_rows": len(train), "test_rows": len(test),
            "outside_a_range": round(float(outside.mean()), 3),
            "novel_combination_in_range": round(float(((scores > 1) & ~outside).mean()), 3),
            "median_nt2": round(float(np.median(scores)), 3)}


def pseudo_inverse_metric(train: np.ndarray) -> np.ndarray:
    """NT2's metric as it was before 2026-12-08: the covariance's pseudo-inverse, blind to the
    directions in which the training sites had no spread."""
    standardized = Standardizer.fit(train).transform(train).astype(np.float64)
    precision = np.linalg.pinv(standardized.T @ standardized / len(train), rcond=1e-8,
                               hermitian=True)
    return precision / novelty(standardized, precision).max() ** 2


def broken_constraint_rows() -> list[dict]:
    """Test sites changed so that they break a constraint every training site kept, each
    covariate still within its range: the share flagged by NT2 (above 1), today's metric against
    the pseudo-inverse. wood_fungi: each log moved to the next region, its reserve kept (a
    reserve lies in one region); the built-in checklists: the land-cover shares, which sum to 1,
    all raised by half (each capped at its training maximum)."""
    rows = []
    data, split = load("wood_fungi")
    regions = [j for j, name in enumerate(data.feature_names) if name.startswith("REGION=")]
    test = data.features[split.test].copy()
    which = test[:, regions].argmax(axis=1)
    test[:, regions] = np.eye(len(regions))[(which + 1) % len(regions)]
    rows.append(_constraint_row("wood_fungi", "log moved to the next region, reserve kept",
                                data.features[split.train], data.features[split.test], test))
    data, split = builtin_data()
    shares = [data.feature_names.index(name)
              for name in ("open_water", "forest", "developed", "farmland")]
    train, test = data.features[split.train], data.features[split.test].copy()
    test[:, shares] = np.minimum(test[:, shares] * 1.5, train[:, shares].max(axis=0))
    rows.append(_constraint_row("built-in simulated checklists",
                                "land-cover shares raised by half (sum 1.5)",
                                train, data.features[split.test], test))
    return rows


def _constraint_row(survey: str, change: str, train, test, changed) -> dict:
    standardizer = Standardizer.fit(train)
    flagged = {}
    for rule, metric in (("today", novelty_metric(train, standardizer.transform)),
                         ("pseudo_inverse", pseudo_inverse_metric(train))):
        for which, rows in (("unchanged", test), ("changed", changed)):
            scores = novelty(standardizer.transform(rows), metric)
            flagged[f"flagged_{which}_{rule}"] = round(float((scores > 1).mean()), 3)
    return {"survey": survey, "change": change, "test_rows": len(test), **flagged}


def norberg_rows(folder: Path) -> list[dict]:
    rows = []
    for taxon in NORBERG_TAXA:
        for mode in (1, 2, 3):
            train, test = (pd.read_csv(folder / f"X{part}_{mode}_{taxon}.csv", header=None)
                           .select_dtypes("number").to_numpy(np.float32) for part in "tv")
            rows.append({"survey": f"norberg2019 {taxon}", "split": f"mode {mode}",
                         **flags(train, test)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "extrapolation.csv")
    args = parser.parse_args(argv)
    data, split = builtin_data()
    rows = [{"survey": "built-in simulated checklists", "split": "fixed split",
             **flags(data.features[split.train], data.features[split.test])}]
    for name in SURVEYS:
        data, split = load(name)
        rows.append({"survey": name, "split": "fixed split",
                     **flags(data.features[split.train], data.features[split.test])})
    rows += norberg_rows(data_root() / "ecology" / "norberg2019")
    write_rows(args.out, rows)
    write_rows(args.out.with_name(args.out.stem + "_constraints.csv"), broken_constraint_rows())
    return 0


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(row)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
