"""Speed and scale: load time, training/inference samples per second, peak memory, cost vs N and L.

Usage: python -m benchmarks.speed [--suite quick|full] [--device cpu|cuda] [--out-dir DIR]
       python -m benchmarks.speed --yeast-ratio [--runs 3] [--out-dir DIR] [--note TEXT]
                                  [--before-dir CHECKOUT --before-note TEXT]
Each measurement runs in a fresh process, so its peak memory is its own. Writes DIR/speed.csv
and DIR/profile.txt (where one training epoch's time goes). --yeast-ratio times whole
`cgmvae train` processes of 20 yeast epochs on one thread against the authors' code and appends
the median to DIR/speed_yeast_ratio.csv (with --before-dir, also that of an earlier checkout,
e.g. `git worktree add /tmp/before COMMIT`, its runs alternating with this one's).
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks import datasets
from benchmarks.results_io import RowWriter, cpu_name, machine_info, update_run_info

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
    "full": SpeedPlan(("yeast", "delicious", "imdb"), 16384, tuple(datasets.PATHS),
                      (1000, 4000, 16000), (10, 100, 1000), 4000, 100, "delicious", 4096),
}
SYNTHETIC_FEATURES = 100
SYNTHETIC_LABELS_PER_ROW = 4.0
TORCH_FUNCTIONS = ("backward", "step", "zero_grad")  # autograd and the optimiser


VAL_ROWS = 256  # validation runs every epoch; a small set keeps the timed epoch about training


def _fit_timed(data, split, device: str, epochs: int = 2, callbacks=()):
    """`cgmvae.train.fit` (public API, current defaults) for `epochs` epochs; returns the model and
    the fastest epoch's seconds after the first (which pays for imports, allocation, kernels)."""
    from cgmvae.config import TrainConfig
    from cgmvae.data import Split
    from cgmvae.train import fit

    seconds = []
    small = Split(split.train, split.val[:VAL_ROWS], split.test)
    config = replace(TrainConfig(device=device), max_epochs=epochs, patience=epochs + 1)
    model = fit(data, small, train_config=config,
                callbacks=[lambda r: seconds.append(r["seconds"]), *callbacks])
    return model, min(seconds[1:])


def _peaks(model) -> dict:
    import torch

    device = model.device
    peak_gpu = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_gpu_mb": None if peak_gpu is None else round(peak_gpu)}


def _inference_seconds(model, features) -> float:
    """Seconds of `predict_proba` (numpy in, numpy out: what a caller sees), after a warm-up."""
    model.predict_proba(features[:64])
    started = time.perf_counter()
    model.predict_proba(features)  # returns numpy, so the device has finished
    return time.perf_counter() - started


def measure_dataset(name: str, device: str, max_rows: int) -> dict:
    """Load time, training and inference samples/s and peak memory on one real data set."""
    import torch

    from cgmvae.data import Split

    started = time.perf_counter()
    data, split = datasets.load(name)
    load_seconds = time.perf_counter() - started
    train_rows, test_rows = split.train[:max_rows], split.test[:4 * max_rows]
    model, seconds = _fit_timed(data, Split(train_rows, split.val, test_rows), device)
    inference = _inference_seconds(model, data.features[test_rows])
    return {"device": device, "kind": "train", "dataset": name, "n_rows": len(train_rows),
            "n_features": data.n_features, "n_labels": data.n_labels,
            "threads": torch.get_num_threads(), "load_seconds": round(load_seconds, 2),
            "train_samples_per_second": round(len(train_rows) / seconds),
            "inference_samples_per_second": round(len(test_rows) / inference),
            "epoch_seconds": round(seconds, 3), **_peaks(model),
            "note": f"{len(test_rows)} test rows scored; epoch incl. validation of {VAL_ROWS} rows"}


def synthetic(n_rows: int, n_labels: int, seed: int = 0):
    """Gaussian features and ~4 random labels per row, with a seeded 80/10/10 split."""
    from cgmvae.data import MultiLabelData, random_split

    generator = np.random.default_rng(seed)
    x = generator.standard_normal((n_rows, SYNTHETIC_FEATURES), dtype=np.float32)
    y = generator.random((n_rows, n_labels)) < min(0.5, SYNTHETIC_LABELS_PER_ROW / n_labels)
    data = MultiLabelData(x, y, [f"x{j}" for j in range(x.shape[1])],
                          [f"y{j}" for j in range(n_labels)], name="synthetic")
    return data, random_split(n_rows, seed=seed)


def measure_scaling(plan: SpeedPlan, device: str) -> list[dict]:
    """Seconds of one epoch on synthetic data as the rows N and the labels L grow."""
    import torch

    rows = []
    shapes = [("scale-N", n, plan.base_labels) for n in plan.scale_n]
    shapes += [("scale-L", plan.base_rows, n_labels) for n_labels in plan.scale_l]
    for kind, n_rows, n_labels in shapes:
        data, split = synthetic(n_rows, n_labels)
        _, seconds = _fit_timed(data, split, device)
        rows.append({"device": device, "kind": kind, "dataset": "synthetic",
                     "n_rows": len(split.train), "n_features": SYNTHETIC_FEATURES,
                     "n_labels": n_labels, "threads": torch.get_num_threads(),
                     "epoch_seconds": round(seconds, 3),
                     "microseconds_per_sample": round(1e6 * seconds / len(split.train), 1)})
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


def profile_epoch(name: str, device: str, max_rows: int, top: int = 16) -> str:
    """cProfile summary of one warm `fit` epoch: cumulative seconds of our and torch's functions."""
    import torch

    from cgmvae.data import Split

    data, split = datasets.load(name)
    rows = split.train[:max_rows]
    profiler = cProfile.Profile()

    def second_epoch_only(record):  # called after each epoch: profile the warm second one
        (profiler.enable if record["epoch"] == 1 else profiler.disable)()

    _fit_timed(data, Split(rows, split.val, split.test), device, 2, [second_epoch_only])
    return _profile_table(pstats.Stats(profiler), top, header=(
        f"device {device}, {name}: the second training epoch of fit(), {len(rows)} rows, "
        f"{data.n_labels} labels, with validation on {VAL_ROWS} rows; "
        f"{torch.get_num_threads()} threads"))


def _profile_table(stats: pstats.Stats, top: int, header: str) -> str:
    """The functions of cgmvae/ and torch's backward/optimiser by cumulative time."""
    total = stats.total_tt
    keep = [(cumulative, _where(file, function), calls)
            for (file, _, function), (_, calls, _, cumulative, _) in stats.stats.items()
            if "cgmvae" in file or function in TORCH_FUNCTIONS or "'item'" in function]
    lines = [header, f"{'seconds':>8} {'share':>6} {'calls':>7}  function"]
    for cumulative, where, calls in sorted(keep, reverse=True)[:top]:
        lines.append(f"{cumulative:8.3f} {cumulative / total:6.1%} {calls:7d}  {where}")
    return "\n".join(lines)


def _call_with_threads(threads: int, function, *args):
    import torch

    if threads:
        torch.set_num_threads(threads)
    return function(*args)


def _where(file: str, function: str) -> str:
    if file == "~":  # a built-in, e.g. "<method 'item' of 'torch._C.TensorBase' objects>"
        return function
    return f"{Path(file).parent.name}/{Path(file).name}:{function}"


def _in_fresh_process(threads: int, function, *args):
    """Run `function(*args)` in a new process (own peak memory, own CUDA context)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_call_with_threads, threads, function, *args).result()


def run_speed(suite: str, device: str, out_dir: Path, *, append: bool = False,
              budget: float | None = None, info: dict | None = None) -> None:
    """All speed measurements of `suite` on `device`, appended to out_dir/speed.csv."""
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


AUTHORS_YEAST_EPOCH_SECONDS = 1.0  # the authors' code, one yeast epoch on AUTHORS_CPU (issue 2)
AUTHORS_CPU = "Intel(R) Xeon(R) Processor"  # the 2-core vm it was timed on
RATIO_COLUMNS = ("epochs", "runs", "threads", "process_seconds", "epoch_seconds", "ratio",
                 "run_seconds", "cpu_seconds", "command", "note", "cpu")


def yeast_ratio(runs: int = 3, epochs: int = 20, threads: int = 1,
                code_dirs: tuple[Path | None, ...] = (None,)) -> list[dict]:
    """Whole-process seconds per yeast epoch of `cgmvae train` (imports, loading, validation,
    evaluation and saving included), median of `runs` fresh processes, over the authors' code.
    CPU seconds (user + system) are kept too: on a shared machine they vary less than wall time.

    One row per entry of `code_dirs`: None is this checkout, a folder the `cgmvae` package of
    another (an earlier commit from `git worktree add`, say) run with this environment. Their
    runs alternate, so that a before/after on one machine sees the same machine load. The ratio
    is left empty on a CPU other than AUTHORS_CPU, where the authors' code was not timed."""
    data = Path("../shared/data").resolve()
    model = cpu_name()
    seconds = {d: [] for d in code_dirs}
    cpu = {d: [] for d in code_dirs}
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "cgmvae", "train", "--data", str(data / "mulan/yeast"),
                   "--split", str(data / "splits/yeast.json"), "--epochs", str(epochs),
                   "--out", f"{out}/run", "--overwrite"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        for _ in range(runs):
            for code_dir in code_dirs:
                started, used = time.perf_counter(), _children_cpu_seconds()
                subprocess.run(command, check=True, env=env, capture_output=True, cwd=code_dir)
                seconds[code_dir].append(time.perf_counter() - started)
                cpu[code_dir].append(_children_cpu_seconds() - used)
    rows = []
    for code_dir in code_dirs:
        median = statistics.median(seconds[code_dir])
        rows.append({
            "epochs": epochs, "runs": runs, "threads": threads,
            "process_seconds": round(median, 2), "epoch_seconds": round(median / epochs, 3),
            "ratio": (round(median / epochs / AUTHORS_YEAST_EPOCH_SECONDS, 3)
                      if model == AUTHORS_CPU else None),
            "run_seconds": " ".join(f"{s:.2f}" for s in seconds[code_dir]),
            "cpu_seconds": " ".join(f"{s:.2f}" for s in cpu[code_dir]),
            "command": f"OMP_NUM_THREADS={threads} python -m cgmvae train --data "
                       f"../shared/data/mulan/yeast --split ../shared/data/splits/yeast.json "
                       f"--epochs {epochs} --out DIR", "cpu": model})
    return rows


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", choices=sorted(PLANS), default="quick")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--append", action="store_true", help="add to an existing speed.csv")
    parser.add_argument("--yeast-ratio", action="store_true",
                        help="only the whole-process yeast time against the authors' code")
    parser.add_argument("--runs", type=int, default=3, help="processes timed for --yeast-ratio")
    parser.add_argument("--note", default="", help="what the --yeast-ratio row measured")
    parser.add_argument("--before-dir", type=Path, default=None,
                        help="--yeast-ratio also of the cgmvae package in this checkout (an "
                             "earlier commit), runs alternating with this one's")
    parser.add_argument("--before-note", default="", help="what the --before-dir row measured")
    args = parser.parse_args()
    if args.yeast_ratio:
        code_dirs = (*[args.before_dir] * (args.before_dir is not None), None)
        notes = (*[args.before_note] * (args.before_dir is not None), args.note)
        writer = RowWriter(Path(args.out_dir) / "speed_yeast_ratio.csv", RATIO_COLUMNS,
                           append=True)
        for row, note in zip(yeast_ratio(args.runs, code_dirs=code_dirs), notes, strict=True):
            writer.write({**row, "note": note})
            print("yeast ratio", {**row, "note": note}, flush=True)
        return
    run_speed(args.suite, args.device, Path(args.out_dir), append=args.append,
              info=machine_info(args.device))


if __name__ == "__main__":
    main()
