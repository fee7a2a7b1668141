"""One process against N DistributedDataParallel processes: the same `cgmvae train` command on
the same data and seeds, alone and under torchrun with --distributed; validation and test
scores and seconds per epoch from each run's metrics.json.

Usage: python -m benchmarks.ddp [--data ../shared/data/mulan/yeast] [--seeds 0 1 2]
       [--processes 2] [--device cpu] [--epochs 100] [--threads 1]
       [--work /tmp/cgmvae-ddp] [--out benchmarks/results/ddp.csv]

Each seed runs the plain command, then torchrun's with --processes processes (`--processes 1
--device cuda`: the distributed path on one GPU against the plain one).

Each process gets `--threads` threads (OMP_NUM_THREADS), so N processes use N times the cores
of one. Every process keeps the default batch size (128), so N processes take N times fewer
optimiser steps per epoch on batches N times larger in all: what DistributedDataParallel with a
DistributedSampler does. Without ../shared/data, `--data simulated` trains on `cgmvae simulate`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.results_io import RowWriter

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("data", "processes", "distributed", "device", "seed", "epochs", "best_epoch",
           "seconds_per_epoch", "train_seconds", "wall_seconds", "val_micro_f1", "val_macro_f1",
           "val_mean_auc", "test_micro_f1", "test_macro_f1", "test_mean_auc", "threads",
           "load_average")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_command(data: str, out: Path, seed: int, processes: int | None, device: str,
                  epochs: int) -> list[str]:
    """The plain command (processes None) or torchrun's with --distributed."""
    train = ["-m", "cgmvae", "train", "--data", data, "--out", str(out), "--overwrite",
             "--seed", str(seed), "--device", device, "--epochs", str(epochs)]
    if processes is None:
        return [sys.executable, *train]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
            f"--master_port={free_port()}", *train, "--distributed"]


def run(data: str, seed: int, processes: int | None, args: argparse.Namespace) -> dict:
    out = Path(args.work) / f"{Path(data).stem}-p{processes or 'plain'}-s{seed}"
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(train_command(data, out, seed, processes, args.device, args.epochs),
                   check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)},
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    report = json.loads((out / "metrics.json").read_text())
    scores = {f"{part}_{name}": round(report[part][name], 4)
              for part in ("val", "test") for name in ("micro_f1", "macro_f1", "mean_auc")}
    return {"data": Path(data).stem, "processes": processes or 1,
            "distributed": processes is not None, "device": report["device"],
            "seed": seed, "epochs": report["epochs"], "best_epoch": report["best_epoch"],
            "seconds_per_epoch": round(report["seconds_per_epoch"], 3),
            "train_seconds": round(report["train_seconds"], 1), "wall_seconds": round(wall, 1),
            **scores, "threads": args.threads, "load_average": round(load, 2)}


def simulated_table(work: Path) -> str:
    path = work / "sim_birds.csv"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "cgmvae", "simulate", "--out", str(path)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return str(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mulan" / "yeast"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--processes", type=int, default=2,
                        help="torchrun's --nproc_per_node (1 with --device cuda: a 1-GPU run)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=100, help="cap; early stopping as usual")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", default="/tmp/cgmvae-ddp")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ddp.csv"))
    args = parser.parse_args(argv)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    data = simulated_table(Path(args.work)) if args.data == "simulated" else args.data
    writer = RowWriter(Path(args.out), COLUMNS)
    for seed in args.seeds:
        for processes in (None, args.processes):  # the plain command, then torchrun's
            row = run(data, seed, processes, args)
            writer.write(row)
            print(row, flush=True)


if __name__ == "__main__":
    main()
