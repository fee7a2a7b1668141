"""Can an ecologist trust the species-association views? Stability, held-out fit, planted truth.

Usage: python -m benchmarks.associations [--datasets swiss_birds ...] [--seeds 0 1 2]
       [--models DIR] [--out benchmarks/results/associations.csv] [--skip-simulated]

Real sets (default settings, one model per seed, trained on the fixed split's training rows):
- stability: mean Spearman between the seeds' maps (species with >= 5 training occurrences);
- learned vs the TEST rows' phi, beside the counting baseline (training phi vs test phi), over
  species seen >= 5 times in train and >= 2 in test (the issue's protocol);
- residual vs the test rows' residual correlation (observed minus a covariate model fitted on the
  training rows), beside the training rows' own residual correlation;
- the raw label-embedding inner products (the map before this benchmark) for comparison, how
  much of them is prevalence (Spearman of w_i.w_j with the product of prevalences) and how much
  is their random start (median cosine between each label's initial and final embedding);
- a 95% interval for (learned - counting) agreement over a bootstrap of the test rows.
Simulated (`cgmvae simulate`, the app's built-in model configuration, 3 seeds): ROC-AUC of the
residual view for the planted residual pairs, of the environmental view for same-guild pairs,
and the guild ARI of clustering the learned (headline) view.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.datasets import load
from cgmvae import associations as assoc
from cgmvae.config import TrainConfig
from cgmvae.data import random_split
from cgmvae.predictor import TrainedModel
from cgmvae.train import fit

REAL = ("swiss_birds", "uk_butterflies", "norberg_birds", "wood_fungi")
RESULTS = Path(__file__).resolve().parent / "results"


def trained(name: str, data, split, seed: int, models: Path | None, train=None) -> TrainedModel:
    """A default model for (data set, seed), reused from `models` when already there."""
    path = models / f"{name}_{seed}.pt" if models is not None else None
    if path is not None and path.is_file():
        model = TrainedModel.load(path)
        if getattr(model, "calibration_temperature", None) is None:
            # saved before fit() calibrated and stored the maps: the same steps fit() takes now
            model.calibration_temperature = assoc.fit_temperature(
                model.predict_logits(data.features[split.val]), data.labels[split.val])
            model.learned_association, model.environmental_association = (
                m.astype(np.float32) for m in assoc.model_layers(model, data.features[split.train]))
        return model
    model = train(seed) if train is not None else fit(data, split,
                                                      train_config=TrainConfig(seed=seed))
    if path is not None:
        model.save(path)
    return model


def covariate_residuals(data, split) -> tuple[np.ndarray, np.ndarray]:
    """Residual correlation of the training and of the test rows under one covariate model
    fitted on the training rows (the issue's definition of the held-out truth)."""
    x_train, y_train = data.features[split.train], data.labels[split.train]
    model = assoc.CovariateModel().fit(x_train, y_train)
    y_test = data.labels[split.test]
    return (assoc.column_correlation(y_train - model.predict_proba(x_train)),
            assoc.column_correlation(y_test - model.predict_proba(data.features[split.test])))


def initial_label_embeddings(model: TrainedModel) -> np.ndarray:
    """The label embeddings `fit` started from (it seeds torch, then builds the network)."""
    import torch

    from cgmvae.model import CGMVAE

    torch.manual_seed(model.train_config.seed)
    return CGMVAE(model.model_config).label_embeddings.detach().numpy()


def init_cosine(model: TrainedModel) -> np.ndarray:
    """(L,) cosine between each label's initial (random) and final embedding."""
    start, end = initial_label_embeddings(model), model.label_embeddings()
    return (start * end).sum(axis=1) / (np.linalg.norm(start, axis=1) *
                                        np.linalg.norm(end, axis=1))


def paired_difference_interval(learned, train_labels, test_labels, *, n_boot: int = 200,
                               seed: int = 0) -> tuple[float, float]:
    """95% interval of (learned vs test phi) - (train phi vs test phi) over a bootstrap of the
    test rows: how much the comparison can move with the test rows drawn."""
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(test_labels), size=len(test_labels))
        agreement = assoc.heldout_agreement(learned, train_labels, test_labels[rows])
        differences.append(agreement["learned_vs_test_phi"] - agreement["train_phi_vs_test_phi"])
    low, high = np.nanpercentile(differences, [2.5, 97.5])
    return float(low), float(high)


def real_row(name: str, seeds: list[int], models: Path | None) -> dict:
    data, split = load(name)
    started = time.perf_counter()
    fitted = [trained(name, data, split, s, models) for s in seeds]
    x_train, y_train, y_test = (data.features[split.train], data.labels[split.train],
                                data.labels[split.test])
    result = assoc.compute_associations(fitted, x_train, y_train)
    keep = assoc.well_observed(y_train, y_test)
    frequent = (y_train > 0.5).sum(axis=0) >= 5

    def sub(m):
        return np.asarray(m)[np.ix_(keep, keep)]

    train_residual, test_residual = covariate_residuals(data, split)
    test_phi = assoc.column_correlation(y_test > 0.5)
    raw = [m.label_similarity().astype(np.float64) for m in fitted]
    prevalence = y_train.mean(axis=0)
    heldout = assoc.heldout_agreement(result.learned, y_train, y_test)
    low, high = paired_difference_interval(result.learned, y_train, y_test)
    cosine = np.concatenate([init_cosine(m) for m in fitted])
    counts = np.tile((y_train > 0.5).sum(axis=0), len(fitted))
    return {
        "dataset": name, "seeds": len(seeds), "train_rows": int(split.train.size),
        "test_rows": int(split.test.size), "species_compared": heldout["species_compared"],
        "stability_learned": assoc.stability([m.learned_association for m in fitted], frequent),
        "stability_environmental": assoc.stability(
            [m.environmental_association for m in fitted], frequent),
        "learned_vs_test_phi": heldout["learned_vs_test_phi"],
        "train_phi_vs_test_phi": heldout["train_phi_vs_test_phi"],
        "difference_95_low": low, "difference_95_high": high,
        "learned_vs_train_phi": assoc.rank_agreement(sub(result.learned),
                                                     sub(result.cooccurrence)),
        "environmental_vs_test_phi": assoc.rank_agreement(sub(result.environmental), sub(test_phi)),
        "residual_vs_test_residual": assoc.rank_agreement(sub(result.residual), sub(test_residual)),
        "train_residual_vs_test_residual": assoc.rank_agreement(sub(train_residual),
                                                                sub(test_residual)),
        "learned_vs_test_residual": assoc.rank_agreement(sub(result.learned), sub(test_residual)),
        "stability_raw_inner_product": assoc.stability(raw, frequent),
        "raw_inner_product_vs_test_phi": float(np.mean(
            [assoc.rank_agreement(sub(r), sub(test_phi)) for r in raw])),
        "raw_inner_product_vs_prevalence_product": float(np.mean(
            [assoc.rank_agreement(sub(r), sub(np.outer(prevalence, prevalence))) for r in raw])),
        "embedding_init_cosine_frequent": float(np.median(cosine[counts >= 5])),
        "embedding_init_cosine_rare": (float(np.median(cosine[counts < 5]))
                                       if (counts < 5).any() else None),
        "seconds": time.perf_counter() - started,
    }


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, scores))


def simulated_rows(seeds: list[int], models: Path | None) -> list[dict]:
    """The app's built-in data and model configuration, one row per training seed."""
    from app.build_default_model import MODEL_CONFIG, TRAIN_CONFIG, learned_guild_recovery
    from cgmvae.simulate import DEFAULT_SITES, residual_pairs, simulate_checklists, species_groups

    data = simulate_checklists(DEFAULT_SITES, seed=0)
    split = random_split(data.n_samples, seed=0)
    names = list(data.label_names)
    guild = [species_groups()[n] for n in names]
    upper = np.triu_indices(len(names), k=1)
    same_guild = np.array([guild[i] == guild[j] and guild[i] != "generalist"
                           for i, j in zip(*upper, strict=True)])
    planted = np.zeros((len(names), len(names)), dtype=bool)
    for a, b in residual_pairs():
        planted[names.index(a), names.index(b)] = planted[names.index(b), names.index(a)] = True
    rows = []
    for seed in seeds:
        started = time.perf_counter()
        model = trained("sim_birds", data, split, seed, models, train=lambda s: fit(
            data, split, model_config=MODEL_CONFIG, train_config=replace(TRAIN_CONFIG, seed=s)))
        result = assoc.compute_associations([model], data.features[split.train],
                                            data.labels[split.train], seed=seed)
        rows.append({
            "dataset": "sim_birds", "seeds": 1, "seed": seed,
            "train_rows": int(split.train.size),
            "residual_auc_planted_pairs": roc_auc(result.residual[upper], planted[upper]),
            "environmental_auc_same_guild": roc_auc(result.environmental[upper], same_guild),
            "learned_auc_same_guild": roc_auc(result.learned[upper], same_guild),
            "cooccurrence_auc_planted_pairs": roc_auc(result.cooccurrence[upper], planted[upper]),
            **{f"learned_{k}": v for k, v in learned_guild_recovery(model).items()},
            "seconds": time.perf_counter() - started,
        })
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(REAL))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--models", type=Path, help="folder to keep/reuse the trained models")
    parser.add_argument("--out", type=Path, default=RESULTS / "associations.csv")
    parser.add_argument("--skip-simulated", action="store_true")
    args = parser.parse_args(argv)
    if args.models is not None:
        args.models.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.datasets:
        rows.append(real_row(name, args.seeds, args.models))
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()},
              flush=True)
    if not args.skip_simulated:
        rows += simulated_rows(args.seeds, args.models)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    args.out.with_suffix(".json").write_text(json.dumps(
        {"command": "python -m benchmarks.associations "
                    + " ".join(sys.argv[1:] if argv is None else argv),
         "rows": rows},
        indent=2, default=float) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
