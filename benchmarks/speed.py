"""Speed and scale: load time, training/inference samples per second, peak memory, cost vs N and L.

Usage: python -m benchmarks.speed [--suite quick|full] [--device cpu|cuda] [--out-dir DIR]
Each measurement runs in a fresh process, so its peak memory is its own. Writes DIR/speed.csv
and DIR/profile.txt (where one training epoch's time goes).
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks import datasets

COLUMNS = ("device", "kind", "dataset", "n_rows", "n_features", "n_labels", "threads",
           "load_seconds", "train_samples_per_second", "inference_samples_per_second",
           "epoch_seconds", "microseconds_per_sample", "peak_rss_mb", "peak_gpu_mb", "note")


@dataclass(frozen=True)
class SpeedPlan:
    datasets: tuple[str, ...]  # training / inference throughput
    max_rows: int  # training rows timed per data set (samples/s does not need all of them)
    loads: tuple[str, ...]  # data sets whose load time is measured
    scale_n: tuple[int, ...]  # synthetic rows, at `base_labels` labels
    scale_l: tuple[int, ...]  # synthetic labels, at `base_rows` rows
    base_rows: int
    base_labels: int
    profile: str  # data set of the profiled epoch
    profile_rows: int
    threads: int = 0  # torch CPU threads; 0 = torch's default (all cores)


PLANS = {
    "quick": SpeedPlan(("yeast",), 2048, ("yeast", "uk_butterflies"), (500, 1000, 2000),
                       (10, 50, 200), 1000, 50, "yeast", 1350, threads=1),
    "full": SpeedPlan(("yeast", "delicious", "imdb"), 32768, tuple(datasets.PATHS),
                      (2000, 8000, 32000), (10, 100, 1000), 8000, 100, "delicious", 4096),
}
SYNTHETIC_FEATURES = 100
SYNTHETIC_LABELS_PER_ROW = 4.0


def _setup(n_features: int, n_labels: int, device: str):
    """Network, optimiser and config built exactly as `cgmvae.train.fit` builds them."""
    import torch

    from cgmvae.model import CGMVAE, ModelConfig
    from cgmvae.train import TrainConfig, resolve_device

    config = TrainConfig(device=device)
    torch_device = resolve_device(device)
    network = CGMVAE(replace(ModelConfig(), n_features=n_features, n_labels=n_labels))
    network = network.to(torch_device)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    return network, optimizer, config, torch_device


def _time_epoch(network, optimizer, x, y, config) -> float:
    """Seconds of one training epoch over (x, y), after a two-step warm-up."""
    import torch

    from cgmvae.train import run_epoch

    generator = torch.Generator().manual_seed(0)
    run_epoch(network, optimizer, x[:2 * config.batch_size], y[:2 * config.batch_size], config,
              generator)
    _sync(x.device)
    started = time.perf_counter()
    run_epoch(network, optimizer, x, y, config, generator)  # .item() per step syncs the device
    _sync(x.device)
    return time.perf_counter() - started


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peaks(device) -> dict:
    import torch

    peak_gpu = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_gpu_mb": None if peak_gpu is None else round(peak_gpu)}


def measure_dataset(name: str, device: str, max_rows: int) -> dict:
    """Load time, training and inference samples/s and peak memory on one real data set."""
    import torch

    from cgmvae.data import Standardizer
    from cgmvae.train import predict_logits

    started = time.perf_counter()
    data, split = datasets.load(name)
    load_seconds = time.perf_counter() - started
    network, optimizer, config, torch_device = _setup(data.n_features, data.n_labels, device)
    scaler = Standardizer.fit(data.features[split.train])
    train_rows, test_rows = split.train[:max_rows], split.test[:4 * max_rows]

    def tensor(array):
        return torch.as_tensor(array, device=torch_device)

    x, y = tensor(scaler.transform(data.features[train_rows])), tensor(data.labels[train_rows])
    seconds = _time_epoch(network, optimizer, x, y, config)
    x_test = tensor(scaler.transform(data.features[test_rows]))
    predict_logits(network, x_test[:config.eval_batch_size], config.eval_batch_size)  # warm-up
    _sync(torch_device)
    started = time.perf_counter()
    predict_logits(network, x_test, config.eval_batch_size)
    _sync(torch_device)
    inference = time.perf_counter() - started
    return {"device": device, "kind": "train", "dataset": name, "n_rows": len(train_rows),
            "n_features": data.n_features, "n_labels": data.n_labels,
            "threads": torch.get_num_threads(), "load_seconds": round(load_seconds, 2),
            "train_samples_per_second": round(len(train_rows) / seconds),
            "inference_samples_per_second": round(len(test_rows) / inference),
            "epoch_seconds": round(seconds, 3), **_peaks(torch_device),
            "note": f"{len(test_rows)} test rows scored"}


def measure_scaling(plan: SpeedPlan, device: str) -> list[dict]:
    """Seconds of one epoch on synthetic data as the rows N and the labels L grow."""
    import torch

    rows = []
    shapes = [("scale-N", n, plan.base_labels) for n in plan.scale_n]
    shapes += [("scale-L", plan.base_rows, n_labels) for n_labels in plan.scale_l]
    for kind, n_rows, n_labels in shapes:
        network, optimizer, config, torch_device = _setup(SYNTHETIC_FEATURES, n_labels, device)
        generator = np.random.default_rng(0)
        x = generator.standard_normal((n_rows, SYNTHETIC_FEATURES), dtype=np.float32)
        y = generator.random((n_rows, n_labels)) < min(0.5, SYNTHETIC_LABELS_PER_ROW / n_labels)
        x, y = (torch.as_tensor(a, dtype=torch.float32, device=torch_device) for a in (x, y))
        seconds = _time_epoch(network, optimizer, x, y, config)
        rows.append({"device": device, "kind": kind, "dataset": "synthetic", "n_rows": n_rows,
                     "n_features": SYNTHETIC_FEATURES, "n_labels": n_labels,
                     "threads": torch.get_num_threads(), "epoch_seconds": round(seconds, 3),
                     "microseconds_per_sample": round(1e6 * seconds / n_rows, 1)})
    return rows


def measure_loads(names: tuple[str, ...]) -> list[dict]:
    """Seconds to load each data set from its files (device-independent)."""
    rows = []
    for name in names:
        started = time.perf_counter()
        data, _ = datasets.load(name)
        rows.append({"device": "-", "kind": "load", "dataset": name, "n_rows": data.n_samples,
                     "n_features": data.n_features, "n_labels": data.n_labels,
                     "load_seconds": round(time.perf_counter() - started, 2)})
    return rows


def profile_epoch(name: str, device: str, max_rows: int, top: int = 14) -> str:
    """cProfile summary (cumulative seconds of our functions and torch's step/backward)."""
    import torch

    from cgmvae.data import Standardizer

    data, split = datasets.load(name)
    network, optimizer, config, torch_device = _setup(data.n_features, data.n_labels, device)
    rows = split.train[:max_rows]
    scaler = Standardizer.fit(data.features[rows])
    x = torch.as_tensor(scaler.transform(data.features[rows]), device=torch_device)
    y = torch.as_tensor(data.labels[rows], device=torch_device)
    profiler = cProfile.Profile()
    profiler.runcall(_time_epoch, network, optimizer, x, y, config)
    return _profile_table(pstats.Stats(profiler), top, header=(
        f"device {device}, {name}: one epoch of {len(rows)} rows, {data.n_labels} labels, "
        f"batch {config.batch_size}, {torch.get_num_threads()} threads"))


def _profile_table(stats: pstats.Stats, top: int, header: str) -> str:
    """The functions of cgmvae/ and torch's backward/optimiser by cumulative time."""
    total = max(value[3] for value in stats.stats.values())
    keep = [(cumulative, f"{Path(file).parent.name}/{Path(file).name}:{function}", calls)
            for (file, _, function), (_, calls, _, cumulative, _) in stats.stats.items()
            if "cgmvae" in file or function in ("backward", "step", "zero_grad", "item")]
    lines = [header, f"{'seconds':>8} {'share':>6} {'calls':>7}  function"]
    for cumulative, where, calls in sorted(keep, reverse=True)[:top]:
        lines.append(f"{cumulative:8.3f} {cumulative / total:6.1%} {calls:7d}  {where}")
    return "\n".join(lines)


def _call_with_threads(threads: int, function, *args):
    import torch

    if threads:
        torch.set_num_threads(threads)
    return function(*args)


def _in_fresh_process(threads: int, function, *args):
    """Run `function(*args)` in a new process (own peak memory, own CUDA context)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_call_with_threads, threads, function, *args).result()


def run_speed(suite: str, device: str, out_dir: Path, *, append: bool = False,
              budget: float | None = None, info: dict | None = None) -> None:
    """All speed measurements of `suite` on `device`, appended to out_dir/speed.csv."""
    from benchmarks.run import RowWriter, update_run_info

    plan, started = PLANS[suite], time.perf_counter()
    writer = RowWriter(out_dir / "speed.csv", COLUMNS, append=append)
    steps = [(measure_dataset, name, device, plan.max_rows) for name in plan.datasets]
    steps += [(measure_scaling, plan, device)]
    steps += [] if append else [(measure_loads, plan.loads)]
    for function, *args in steps:
        if budget is not None and time.perf_counter() - started > budget:
            writer.write({"device": device, "kind": "skipped", "dataset": str(args[0])[:40],
                          "note": f"speed budget of {budget:.0f} s used up"})
            continue
        result = _in_fresh_process(plan.threads, function, *args)
        for row in result if isinstance(result, list) else [result]:
            writer.write(row)
            print("speed", row, flush=True)
    profile = _in_fresh_process(plan.threads, profile_epoch, plan.profile, device,
                                plan.profile_rows)
    with (out_dir / "profile.txt").open("a" if append else "w") as handle:
        handle.write(profile + "\n\n")
    update_run_info(out_dir, f"speed-{device}", {**(info or {}), "suite": suite,
                                                 "seconds": round(time.perf_counter() - started)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", choices=sorted(PLANS), default="quick")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--append", action="store_true", help="add to an existing speed.csv")
    args = parser.parse_args()
    from benchmarks.run import machine_info

    run_speed(args.suite, args.device, Path(args.out_dir), append=args.append,
              info=machine_info(args.device))


if __name__ == "__main__":
    main()
