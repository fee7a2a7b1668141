"""Run the benchmark suite: quality jobs in parallel under a time budget, speed, then the report.

Usage: python -m benchmarks.run --suite quick|full [--device cpu|cuda] [--workers N]
       [--time-budget S] [--hard-stop S] [--out-dir DIR] [--report FILE]
Data: $CGMVAE_DATA, else ../shared/data. Each finished row is appended to DIR/quality.csv at
once; jobs not run (too costly, out of time, failed) go to DIR/skipped.csv with the reason.
--save-proba PROBA keeps each job's validation and test probabilities, which
`python -m benchmarks.rescore --proba PROBA` scores under another threshold rule.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from benchmarks import datasets, quality
from benchmarks.results_io import RowWriter, done_keys, machine_info, update_run_info

SKIPPED_COLUMNS = ("dataset", "method", "seed", "train_fraction", "reason")


def start_blocker(estimate: float | None, elapsed: float, time_budget: float | None,
                  hard_stop: float | None) -> str | None:
    """Why a job may not start now (None: it may)."""
    if time_budget is not None and elapsed >= time_budget:
        return f"not started: the time budget of {time_budget:.0f} s was used up"
    if hard_stop is not None and estimate is not None and elapsed + estimate > hard_stop:
        return (f"not started: estimated {estimate:.0f} s, only {hard_stop - elapsed:.0f} s "
                "left before the hard stop")
    return None


def run_jobs(jobs: Iterable, worker: Callable, executor: Executor, *, workers: int,
             on_row: Callable, on_skip: Callable, estimate: Callable | None = None,
             time_budget: float | None = None, hard_stop: float | None = None,
             clock: Callable[[], float] = time.monotonic) -> bool:
    """Run `jobs` in order, at most `workers` at a time; returns False if stopped at `hard_stop`.

    No job starts after `time_budget` seconds or if `estimate(job)` says it cannot end before
    `hard_stop`; each result goes to `on_row(row)` as soon as it is done, each job not run (or
    failed, or still running at the hard stop) to `on_skip(job, reason)`.
    """
    started, pending, running = clock(), deque(jobs), {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.popleft()
            cost = estimate(job) if estimate else None
            reason = start_blocker(cost, clock() - started, time_budget, hard_stop)
            if reason:
                on_skip(job, reason)
            else:
                running[executor.submit(worker, job)] = job
        if not running:
            break
        left = None if hard_stop is None else max(0.0, hard_stop - (clock() - started))
        done, _ = wait(running, timeout=left, return_when=FIRST_COMPLETED)
        for future in done:
            _collect(future, running.pop(future), on_row, on_skip)
        if hard_stop is not None and running and clock() - started >= hard_stop:
            for job in [*running.values(), *pending]:
                on_skip(job, "stopped: still running or queued at the hard stop "
                             f"({hard_stop:.0f} s)")
            return False
    return True


def _collect(future, job, on_row, on_skip) -> None:
    try:
        on_row(future.result())
    except Exception as err:  # a failed job is reported, not fatal to the suite
        on_skip(job, f"failed: {type(err).__name__}: {str(err)[:200]}")


def init_worker() -> None:
    """One thread per worker process: workers run side by side on separate cores."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    import sklearn  # noqa: F401  (load its BLAS/OpenMP before limiting them)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def suite_from_args(args) -> quality.Suite:
    suite = quality.SUITES[args.suite]
    changes = {name: tuple(getattr(args, name)) for name in ("datasets", "methods", "seeds")
               if getattr(args, name)}
    if args.seeds:
        changes["ablation_seeds"] = tuple(args.seeds)
    if args.max_epochs:
        changes["max_epochs"] = args.max_epochs
    return replace(suite, **changes)


def run_quality(args, out_dir: Path) -> None:
    suite = suite_from_args(args)
    jobs = quality.build_jobs(suite, args.device)
    if args.resume:
        done = done_keys(out_dir / "quality.csv")
        jobs = [job for job in jobs if job.key not in done]

    def estimate(job):
        return args.cost_scale * quality.estimate_seconds(job, datasets.SHAPES[job.dataset])

    jobs = quality.order_jobs(jobs, {job.key: estimate(job) for job in jobs})
    rows = RowWriter(out_dir / "quality.csv", quality.COLUMNS, append=args.resume)
    skips = RowWriter(out_dir / "skipped.csv", SKIPPED_COLUMNS, append=args.resume)
    info = {**machine_info(args.device), "suite": args.suite, "workers": args.workers,
            "device": args.device, "time_budget": args.time_budget, "hard_stop": args.hard_stop,
            "data": str(datasets.data_root()), "jobs": len(jobs)}
    update_run_info(out_dir, "quality", info)
    started, counts = time.perf_counter(), {"rows": 0, "skipped": 0}

    def on_row(row):
        counts["rows"] += 1
        rows.write(row)
        print(f"[{time.perf_counter() - started:6.0f}s] {row['dataset']} {row['method']} "
              f"seed {row['seed']} x{row['train_fraction']}: micro-F1 {row['micro_f1']:.3f} "
              f"({row['train_seconds']:.0f} s)", flush=True)

    def on_skip(job, reason):
        counts["skipped"] += 1
        skips.write({"dataset": job.dataset, "method": job.method, "seed": job.seed,
                     "train_fraction": job.train_fraction, "reason": reason})
        print(f"skipped {job.dataset} {job.method} seed {job.seed}: {reason}", flush=True)

    pool = ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_worker)
    worker = (functools.partial(quality.run_job, proba_dir=args.save_proba) if args.save_proba
              else quality.run_job)
    finished = run_jobs(jobs, worker, pool, workers=args.workers, on_row=on_row,
                        on_skip=on_skip, estimate=estimate, time_budget=args.time_budget,
                        hard_stop=args.hard_stop)
    stop_pool(pool, finished)
    update_run_info(out_dir, "quality", {**info, **counts,
                                         "seconds": round(time.perf_counter() - started)})


def stop_pool(pool: ProcessPoolExecutor, finished: bool) -> None:
    """Shut the pool down; after a hard stop, end its still-running workers first."""
    if not finished:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()  # no public API ends a running job of a ProcessPoolExecutor
    pool.shutdown(wait=finished, cancel_futures=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--suite", choices=sorted(quality.SUITES), default="quick")
    parser.add_argument("--device", default="cpu", help="for C-GMVAE (baselines run on CPU)")
    parser.add_argument("--workers", type=int, default=1, help="parallel jobs, one core each")
    parser.add_argument("--time-budget", type=float, help="seconds after which no job starts")
    parser.add_argument("--hard-stop", type=float, help="seconds at which running jobs are ended")
    parser.add_argument("--cost-scale", type=float, default=1.0,
                        help="multiplies the job cost estimates (machine speed)")
    parser.add_argument("--datasets", nargs="+", choices=list(datasets.PATHS))
    parser.add_argument("--methods", nargs="+", choices=quality.METHODS)
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--max-epochs", type=int, help="C-GMVAE epoch cap (default: TrainConfig's)")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--report", default="benchmarks/RESULTS.md")
    parser.add_argument("--speed-devices", nargs="*", help="default: cpu, and --device if cuda")
    parser.add_argument("--speed-budget", type=float, help="seconds for the speed part")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--resume", action="store_true", help="keep rows already in the CSVs")
    parser.add_argument("--save-proba", metavar="DIR",
                        help="keep each job's validation and test probabilities in DIR (.npz), "
                             "to score another threshold rule later without training again")
    args = parser.parse_args(argv)
    if args.no_quality and args.speed_devices == []:
        # it would only rewrite --report from --out-dir: from an empty folder, an empty report
        parser.error("nothing to run: --no-quality with no --speed-devices. To rewrite the report "
                     "from its results, run python -m benchmarks.report")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_quality:
        run_quality(args, out_dir)
    from benchmarks import report, speed

    devices = args.speed_devices
    if devices is None:
        devices = ["cpu"] + ([args.device] if args.device.startswith("cuda") else [])
    for index, device in enumerate(devices):
        speed.run_speed(args.suite, device, out_dir, append=index > 0, budget=args.speed_budget,
                        info=machine_info(device))
    report.write_report(out_dir, Path(args.report))
    print(f"wrote {args.report}", flush=True)


if __name__ == "__main__":
    main()
