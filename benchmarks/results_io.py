"""Benchmark result files: CSV rows written as they come, and what machine and run made them."""

from __future__ import annotations

import csv
import json
import os
import platform
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path


class RowWriter:
    """Appends dict rows to a CSV, writing the header first, flushing each row."""

    def __init__(self, path: Path, columns: tuple[str, ...], append: bool = False):
        self.path, self.columns = path, columns
        if not (append and path.is_file()):
            with path.open("w", newline="") as handle:
                csv.writer(handle).writerow(columns)

    def write(self, row: dict) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, self.columns, extrasaction="ignore").writerow(row)


def done_keys(path: Path) -> set[tuple]:
    """(dataset, method, seed, train_fraction) of rows already in a quality CSV."""
    if not path.is_file():
        return set()
    with path.open(newline="") as handle:
        return {(r["dataset"], r["method"], int(r["seed"]), float(r["train_fraction"]))
                for r in csv.DictReader(handle)}


def machine_info(device: str) -> dict:
    """Command, host, CPU, GPU, versions and date of this run (for the top of RESULTS.md)."""
    import torch

    on_gpu = device.startswith("cuda") and torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if on_gpu else None
    return {"command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
            "hostname": socket.gethostname(), "cpu_count": os.cpu_count(),
            "cpu": cpu_name(), "gpu": gpu,
            "torch": torch.__version__, "python": platform.python_version(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def update_run_info(out_dir: Path, part: str, info: dict) -> None:
    """Set `part` ("quality", "speed-cpu", ...) of out_dir/run_info.json to `info`."""
    path = out_dir / "run_info.json"
    runs = json.loads(path.read_text()) if path.is_file() else {}
    runs[part] = info
    path.write_text(json.dumps(runs, indent=2) + "\n")
