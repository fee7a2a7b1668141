"""Quality jobs: which (dataset, method, seed, train fraction) runs a suite holds; running one."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks import datasets

CGMVAE_METHODS = ("cgmvae", "cgmvae-unigaussian", "cgmvae-gm-only", "cgmvae-contrastive-only",
                  "cgmvae-informative-latent")
BASELINE_METHODS = ("br", "mlknn", "cc", "mlp")
METHODS = CGMVAE_METHODS + BASELINE_METHODS
SCORES = ("hamming_accuracy", "example_f1", "micro_f1", "macro_f1", "precision_at_1", "lrap",
          "macro_auc")
COLUMNS = ("dataset", "method", "seed", "train_fraction", *SCORES, "train_seconds")


@dataclass(frozen=True)
class Job:
    """One training run; `tier` orders the queue (0 first), `device` is for C-GMVAE only."""

    dataset: str
    method: str
    seed: int = 0
    train_fraction: float = 1.0
    tier: int = 0
    device: str = "cpu"
    max_epochs: int | None = None  # None = the current TrainConfig default

    @property
    def key(self) -> tuple:
        return (self.dataset, self.method, self.seed, self.train_fraction)


@dataclass(frozen=True)
class Suite:
    """What a suite runs; `seeds` are C-GMVAE's (baselines are deterministic: seed 0)."""

    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    ablation_seeds: tuple[int, ...] = (0, 1, 2)
    fewer_data: tuple[str, ...] = datasets.FEWER_DATA
    fractions: tuple[float, ...] = datasets.FRACTIONS
    max_epochs: int | None = None


SUITES = {
    "full": Suite(datasets=datasets.QUALITY, methods=METHODS),
    "quick": Suite(datasets=("yeast", "uk_butterflies"),
                   methods=("cgmvae", "cgmvae-gm-only", "br"), seeds=(0,), ablation_seeds=(0,),
                   fewer_data=("yeast",), max_epochs=20),
}


def _tier(dataset: str, method: str, seed: int, fraction: float) -> int:
    """0: priority sets' C-GMVAE and baselines; 1: every other set once; 2: fewer-data;
    3: ablations on priority sets; 4: more C-GMVAE seeds; 5: other ablations; 6: ablation seeds."""
    priority = dataset in datasets.PRIORITY
    if fraction < 1.0:
        return 2
    if method in BASELINE_METHODS or method == "cgmvae":
        return 0 if priority else (1 if seed == 0 else 4)
    if seed == 0:
        return 3 if priority else 5
    return 6


def build_jobs(suite: Suite, device: str = "cpu") -> list[Job]:
    """Every job of `suite`, in no particular order (see `order_jobs`)."""
    jobs = []
    for dataset in suite.datasets:
        fractions = suite.fractions if dataset in suite.fewer_data else (1.0,)
        for method in suite.methods:
            for fraction in fractions:
                if fraction < 1.0 and method in CGMVAE_METHODS[1:]:
                    continue  # fewer-data compares the full model with the baselines
                for seed in _seeds(suite, method):
                    jobs.append(Job(dataset, method, seed, fraction,
                                    _tier(dataset, method, seed, fraction), device,
                                    suite.max_epochs))
    return jobs


def _seeds(suite: Suite, method: str) -> tuple[int, ...]:
    if method == "cgmvae":
        return suite.seeds
    return suite.ablation_seeds if method in CGMVAE_METHODS else (0,)


def order_jobs(jobs: list[Job], costs: dict[tuple, float] | None = None) -> list[Job]:
    """By tier, and within a tier the longest first (so big jobs do not start at the end)."""
    costs = costs or {}
    return sorted(jobs, key=lambda job: (job.tier, -costs.get(job.key, 0.0)))


# Seconds on one core of the 2-core development machine, measured there: one logistic regression
# ~5e-8 s per (row x feature) on bibtex/corel5k/tmc2007/delicious; sklearn's MLP ~1.7e10 flop/s
# (yeast); C-GMVAE on CPU ~5e-10 s per (row x parameter) per epoch (yeast, 0.7 s an epoch); on
# CUDA a mini-batch step is launch-bound, ~12 ms whatever its size. Used to order the queue and
# to skip jobs that cannot finish in the time left; `cost_scale` adapts them to another machine.
LOGISTIC_SECONDS_PER_CELL = 5e-8
LOGISTIC_SECONDS_PER_FIT = 0.01  # lbfgs set-up; dominates on few features (CC on norberg: 18 s)
MLP_FLOP_PER_SECOND = 1.7e10
KNN_SECONDS_PER_FLOP = 1e-10
CGMVAE_CPU_SECONDS_PER_ROW_PARAMETER = 5e-10
CGMVAE_CUDA_SECONDS_PER_STEP = 0.012
DEFAULT_EPOCHS = 100  # TrainConfig.max_epochs at the time of calibration (an upper bound)


def estimate_seconds(job: Job, shape: tuple[int, int, int]) -> float:
    """Rough single-core seconds of `job` on data of (training rows, features, labels) `shape`."""
    n_rows, n_features, n_labels = shape
    n_rows = max(2.0, n_rows * job.train_fraction)
    if job.method == "br":  # one regression per label and C value
        cells = n_rows * n_features
        return 4 * n_labels * (cells * LOGISTIC_SECONDS_PER_CELL + LOGISTIC_SECONDS_PER_FIT)
    if job.method == "cc":  # 3 chains x 4 C values, features grow along the chain
        cells = n_rows * (n_features + n_labels / 2)
        return 12 * n_labels * (cells * LOGISTIC_SECONDS_PER_CELL + LOGISTIC_SECONDS_PER_FIT)
    if job.method == "mlp":  # 3 alphas x ~100 epochs (early stopping) x 6 flop per row-parameter
        parameters = 256 * n_features + 393_216 + 512 * n_labels
        return 3 * 100 * 6 * n_rows * parameters / MLP_FLOP_PER_SECOND
    if job.method == "mlknn":  # brute-force neighbours of train + val + test rows
        return KNN_SECONDS_PER_FLOP * n_rows * (n_rows * 1.3) * n_features
    epochs = job.max_epochs or DEFAULT_EPOCHS
    if job.device.startswith("cuda"):
        return epochs * (np.ceil(n_rows / 128) * CGMVAE_CUDA_SECONDS_PER_STEP + 0.05)
    parameters = 900_000 + 768 * n_features + 512 * n_labels
    return epochs * n_rows * parameters * CGMVAE_CPU_SECONDS_PER_ROW_PARAMETER


def run_job(job: Job, proba_dir: str | None = None) -> dict:
    """Train and score one job on the test split; a row of `COLUMNS`. `proba_dir`: also keep its
    validation and test probabilities there (`save_probabilities`), so that another threshold
    rule can be scored later without training again."""
    data, split = datasets.load(job.dataset)
    split = datasets.train_subset(split, job.train_fraction)
    started = time.perf_counter()
    if job.method in CGMVAE_METHODS:
        val_proba, test_proba, scores = _run_cgmvae(job, data, split)
    else:
        val_proba, test_proba, scores = _run_baseline(job, data, split)
    seconds = time.perf_counter() - started
    from cgmvae.metrics import ranking_metrics

    scores.update(ranking_metrics(data.labels[split.test], test_proba))
    if proba_dir is not None:
        save_probabilities(Path(proba_dir), job, val_proba, test_proba)
    return {"dataset": job.dataset, "method": job.method, "seed": job.seed,
            "train_fraction": job.train_fraction, **{k: float(scores[k]) for k in SCORES},
            "train_seconds": round(seconds, 2)}


def probabilities_path(folder: Path, job: Job) -> Path:
    return folder / f"{job.dataset}__{job.method}__seed{job.seed}__fraction{job.train_fraction}.npz"


def save_probabilities(folder: Path, job: Job, val_proba, test_proba) -> None:
    """`job`'s validation and test probabilities (float32, rows in split order) in one file."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(probabilities_path(folder, job), val=np.asarray(val_proba, np.float32),
                        test=np.asarray(test_proba, np.float32))


def _run_cgmvae(job: Job, data, split) -> tuple[np.ndarray, np.ndarray, dict]:
    from cgmvae.config import ModelConfig, TrainConfig
    from cgmvae.variants import apply_variant

    train_config = TrainConfig(seed=job.seed, device=job.device)
    if job.max_epochs is not None:
        train_config = replace(train_config, max_epochs=job.max_epochs)
    model_config, train_config = apply_variant(job.method, ModelConfig(), train_config)
    return cgmvae_probabilities(data, split, model_config, train_config)


def cgmvae_probabilities(data, split, model_config, train_config
                         ) -> tuple[np.ndarray, np.ndarray, dict]:
    """C-GMVAE's part of the protocol for given configs (also `benchmarks.tuned`): fit on train
    and validation; the validation probabilities its thresholds were chosen on, the test
    probabilities, and the test scores at those thresholds."""
    from cgmvae.train import fit

    model = fit(data, split, model_config=model_config, train_config=train_config)
    x_test, y_test = data.features[split.test], data.labels[split.test]
    return (model.predict_proba(data.features[split.val]), model.predict_proba(x_test),
            dict(model.evaluate(x_test, y_test)["per_metric"]))


def _run_baseline(job: Job, data, split) -> tuple[np.ndarray, np.ndarray, dict]:
    from benchmarks.baselines import describe_tuning, score_with_val_thresholds

    model, scaler = fit_baseline(job.method, data, split)
    print(f"  {job.dataset} {job.method} x{job.train_fraction}: {describe_tuning(model)}",
          flush=True)
    x_test = scaler.transform(data.features[split.test])
    # the validation probabilities its thresholds were chosen on, kept by its tuning
    return (model.val_proba_, model.predict_proba(x_test),
            score_with_val_thresholds(model, x_test, data.labels[split.test]))


def fit_baseline(method: str, data, split):
    """Baseline `method` fitted on the standardised training rows and tuned on the validation
    rows, and the standardiser its inputs need."""
    from benchmarks.baselines import BASELINES
    from cgmvae.data import Standardizer

    scaler = Standardizer.fit(data.features[split.train])
    x_train, x_val = (scaler.transform(data.features[rows]) for rows in (split.train, split.val))
    model = BASELINES[method]().fit(x_train, data.labels[split.train],
                                    x_val, data.labels[split.val])
    return model, scaler
