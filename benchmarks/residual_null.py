"""Does the residual layer claim associations that are not there? Its uncertainty, with and
without the covariate model's estimation noise (`associations.residual_null_sd`).

Usage: python -m benchmarks.residual_null [--seeds 50] [--sites 200 1000] [--real SET ...]
       [--out CSV] [--real-out CSV] [--accuracy-planted 10] [--accuracy-real SET ...]
       [--accuracy-out CSV]

Planted surveys (truth known, no network needed: the residual layer uses the covariate model
only): 12 species follow moisture, pH (correlated with moisture) or elevation, or nothing; only
the last two share a hidden site factor, the one association beyond the covariates. For each
size and seed: pairs supported on the residual layer (Benjamini-Hochberg at 5%) other than the
planted one (each a false claim), whether the planted pair is supported, and the sd of the
z-scores of the 65 pairs without an association (1.0 when the uncertainty is right), with the
site bootstrap sd alone (normal p), with the larger of it and the null sd (normal p), with the
raw null sd's Student's t p (draws - 1 degrees of freedom), with the null sd moderated across
pairs by a per-species trend alone, and with today's layer (the trend also counts the pair's
response overlap: `associations.moderated_null_sd`, and its degrees of freedom). Then, on real
surveys' training rows (skipped when ../shared/data is absent), how many residual pairs each
rule supports: no truth there, but what each leaves an ecologist to read. Last, the null sd
itself against a reference from 200 other drawn surveys, on 10 planted surveys and 3 real ones
(results/residual_null_sd_accuracy.csv): how far each estimate from the layer's 20 draws is.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from cgmvae import associations as assoc

RESULTS = Path(__file__).resolve().parent / "results"
PLANTED = (10, 11)
REAL = ("swiss_birds", "uk_butterflies", "norberg_birds", "wood_fungi")


def planted_survey(n_sites: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 3), labels (N, 12)): species 0-3 wet, 4-7 dry (4 also basic), 8-9 high,
    10-11 no covariate but a hidden site factor they share."""
    rng = np.random.default_rng(seed)
    moisture = rng.normal(size=n_sites)
    ph = -0.85 * moisture + 0.5 * rng.normal(size=n_sites)
    elevation = rng.uniform(-1, 1, size=n_sites)
    hidden = 2.5 * (rng.random(n_sites) < 0.35) - 1.2
    logits = np.column_stack([
        2.2 * moisture - 0.5, 2.5 * moisture - 1.0, 2.0 * moisture - 0.2, 1.5 * moisture,
        -2.0 * moisture + 0.8 * ph - 0.5, -2.2 * moisture - 0.3, -1.8 * moisture,
        -1.6 * moisture - 0.6, 2.8 * elevation, 3.5 * elevation - 0.5, 0.3 + hidden,
        0.1 + hidden])
    labels = (rng.random(logits.shape) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    return np.column_stack([moisture, ph, elevation]), labels


RULES = ("site_bootstrap", "with_null", "with_null_t", "species_trend", "moderated")


def rule_pvalues(features: np.ndarray, labels: np.ndarray, seed: int
                 ) -> tuple[np.ndarray, dict, np.ndarray, int]:
    """(residual correlations, {rule: (sd, p)}, moderated df, draws) under the five rules: the
    site bootstrap sd alone; the larger of it and the null surveys' sd, normal p; the same with
    the raw null sd's t p (draws - 1 df); the null sd moderated with a per-species trend alone
    (90e5203); today's layer (the trend also counts the pair's `response_overlap`)."""
    proba, fold_models = assoc.crossfit_covariate_models(features, labels, seed=seed)
    residuals = labels - proba
    value = assoc.column_correlation(residuals)
    site_sd = assoc.bootstrap_sd(lambda r: assoc.column_correlation(residuals[r]),
                                 np.arange(len(features)), seed=seed)
    null_sd, draws = assoc.residual_null_sd(features, fold_models, seed=seed)
    larger = np.maximum(site_sd, null_sd)
    species, species_df = assoc.moderated_null_sd(null_sd, draws)
    larger_species = np.maximum(site_sd, species)
    moderated, df = assoc.moderated_null_sd(null_sd, draws, assoc.response_overlap(proba))
    larger_moderated = np.maximum(site_sd, moderated)
    rules = {
        "site_bootstrap": (site_sd, assoc.pair_pvalues(value, site_sd)),
        "with_null": (larger, assoc.pair_pvalues(value, larger)),
        "with_null_t": (larger, assoc.pair_pvalues(value, larger, null_sd, draws - 1)),
        "species_trend": (larger_species,
                          assoc.pair_pvalues(value, larger_species, species, species_df)),
        "moderated": (larger_moderated,
                      assoc.pair_pvalues(value, larger_moderated, moderated, df))}
    return value, rules, df, draws


def survey_row(n_sites: int, seed: int) -> dict:
    features, labels = planted_survey(n_sites, seed)
    value, rules, df, _ = rule_pvalues(features, labels, seed)
    upper = np.triu(np.ones_like(value, dtype=bool), k=1)
    planted = np.zeros_like(upper)
    planted[PLANTED] = True
    row = {"sites": n_sites, "seed": seed, "null_df": round(float(df[PLANTED]), 1)}
    for name, (sd, pvalues) in rules.items():
        supported = assoc._significant(pvalues, 0.05, True)
        row[f"{name}_false_pairs"] = int((supported & upper & ~planted).sum())
        row[f"{name}_planted_found"] = bool(supported[PLANTED])
        z = value / np.maximum(sd, 1e-12)
        row[f"{name}_null_z_sd"] = round(float(z[upper & ~planted].std()), 3)
    return row


def real_row(name: str) -> dict | None:
    """Residual pairs of well recorded species supported (Benjamini-Hochberg at 5%) on a real
    survey's training rows under each rule: no truth, but what each rule leaves to read."""
    from benchmarks import datasets

    try:
        data, split = datasets.load(name)
    except FileNotFoundError:
        print(f"{name}: skipped (not under ../shared/data)", file=sys.stderr)
        return None
    features = data.features[split.train].astype(np.float64)
    labels = data.labels[split.train].astype(np.float64)
    _, rules, df, draws = rule_pvalues(features, labels, 0)
    frequent = labels.sum(axis=0) >= assoc.MIN_RECORDS
    upper = np.triu(np.outer(frequent, frequent), k=1)
    row = {"data": name, "sites": len(features), "species": labels.shape[1],
           "pairs": int(upper.sum()), "null_draws": draws,
           "median_null_df": round(float(np.median(df[upper])), 1)}
    for rule, (_, pvalues) in rules.items():
        row[f"{rule}_supported"] = int((assoc._significant(pvalues, 0.05, True) & upper).sum())
    return row


ACCURACY_REAL = ("swiss_birds", "uk_butterflies", "norberg_birds")  # wood_fungi: 2 s a draw
REFERENCE_DRAWS = 200


def sd_accuracy_row(name: str, features: np.ndarray, labels: np.ndarray, seed: int) -> dict:
    """How close each estimate of the null sd, from the layer's NULL_DRAWS surveys, comes to the
    sd of REFERENCE_DRAWS other surveys (its own noise: about 0.05 in log sd): raw, moderated
    with the species trend alone, and with the pair's response overlap (today's). Mean |log
    ratio| and mean log ratio (bias) over the pairs of species that vary in every survey."""
    proba, fold_models = assoc.crossfit_covariate_models(features, labels, seed=seed)
    reference, _ = assoc.residual_null_sd(features, fold_models, draws=REFERENCE_DRAWS,
                                          seed=seed + 1000)
    raw, draws = assoc.residual_null_sd(features, fold_models, seed=seed)
    estimates = {"raw": raw, "species_trend": assoc.moderated_null_sd(raw, draws)[0],
                 "moderated": assoc.moderated_null_sd(raw, draws,
                                                      assoc.response_overlap(proba))[0]}
    keep = np.zeros(reference.shape, dtype=bool)
    varying = assoc._fully_varying(reference**2)
    keep[np.ix_(varying, varying)] = True
    keep = np.triu(keep, k=1)
    row = {"data": name, "seed": seed, "pairs": int(keep.sum()), "draws": draws,
           "reference_draws": REFERENCE_DRAWS}
    for rule, sd in estimates.items():
        log_ratio = np.log(sd[keep] / reference[keep])
        row[f"{rule}_abs_log_error"] = round(float(np.abs(log_ratio).mean()), 4)
        row[f"{rule}_log_bias"] = round(float(log_ratio.mean()), 4)
    return row


def accuracy_rows(n_planted: int, real: list[str]) -> list[dict]:
    from benchmarks import datasets

    rows = [sd_accuracy_row("planted_200", *planted_survey(200, seed), seed)
            for seed in range(n_planted)]
    for name in real:
        try:
            data, split = datasets.load(name)
        except FileNotFoundError:
            print(f"{name}: skipped (not under ../shared/data)", file=sys.stderr)
            continue
        rows.append(sd_accuracy_row(name, data.features[split.train].astype(np.float64),
                                    data.labels[split.train].astype(np.float64), 0))
    return rows


def write_rows(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--sites", nargs="*", type=int, default=[200, 1000])
    parser.add_argument("--real", nargs="*", default=list(REAL))
    parser.add_argument("--out", type=Path, default=RESULTS / "residual_null.csv")
    parser.add_argument("--real-out", type=Path, default=RESULTS / "residual_null_real.csv")
    parser.add_argument("--accuracy-planted", type=int, default=10,
                        help="planted surveys (200 sites) whose null sd is checked against "
                             f"{REFERENCE_DRAWS} draws")
    parser.add_argument("--accuracy-real", nargs="*", default=list(ACCURACY_REAL))
    parser.add_argument("--accuracy-out", type=Path,
                        default=RESULTS / "residual_null_sd_accuracy.csv")
    args = parser.parse_args(argv)
    rows = [survey_row(n, seed) for n in args.sites for seed in range(args.seeds)]
    write_rows(rows, args.out)
    for n in args.sites:
        mine = [r for r in rows if r["sites"] == n]
        for name in RULES:
            print(f"{n} sites, {name}: false pairs per survey "
                  f"{np.mean([r[f'{name}_false_pairs'] for r in mine]):.2f}, planted pair found "
                  f"{sum(r[f'{name}_planted_found'] for r in mine)} of {len(mine)}, null z sd "
                  f"{np.median([r[f'{name}_null_z_sd'] for r in mine]):.2f} (median)")
    real = [row for row in map(real_row, args.real) if row is not None]
    if real:
        write_rows(real, args.real_out)
        for row in real:
            print(f"{row['data']}: of {row['pairs']:,} pairs supported "
                  + ", ".join(f"{rule} {row[f'{rule}_supported']}" for rule in RULES)
                  + f" ({row['null_draws']} draws, median df {row['median_null_df']})")
    accuracy = accuracy_rows(args.accuracy_planted, args.accuracy_real)
    if accuracy:
        write_rows(accuracy, args.accuracy_out)
        for name in dict.fromkeys(row["data"] for row in accuracy):
            mine = [row for row in accuracy if row["data"] == name]
            print(f"{name} ({len(mine)} surveys), null sd against {REFERENCE_DRAWS} draws, mean "
                  "|log error| (bias): " + ", ".join(
                      f"{rule} {np.mean([r[f'{rule}_abs_log_error'] for r in mine]):.3f} "
                      f"({np.mean([r[f'{rule}_log_bias'] for r in mine]):+.3f})"
                      for rule in ("raw", "species_trend", "moderated")))
    print(f"wrote {args.out}{' and ' + str(args.real_out) if real else ''} (python -m "
          f"benchmarks.residual_null {' '.join(sys.argv[1:] if argv is None else argv)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
