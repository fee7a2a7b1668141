"""Big tables: a simulated 1,000,000-site x 200-species x 20-covariate table written, converted,
loaded (CSV and Parquet), streamed and predicted, with time and peak memory of each step.

Usage: python -m benchmarks.scale [--sites 1000000] [--species 200] [--covariates 20]
       [--small-sites 100000] [--work /tmp/cgmvae-scale] [--threads 1]
       [--out benchmarks/results/scale.csv]

Each step runs in a fresh process, so its peak memory is its own: `peak_rss_mb` is that
process's peak resident set (resource.getrusage ru_maxrss, which counts numpy, torch and
pyarrow alike), `start_rss_mb` the same just before the step (after the imports). torch and
pyarrow get `--threads` threads. The 1-minute load average is recorded before each step: on a
shared machine it says how much else was running.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.results_io import RowWriter

COLUMNS = ("step", "input", "output", "n_rows", "n_features", "n_labels", "seconds",
           "rows_per_second", "peak_rss_mb", "start_rss_mb", "file_mb", "threads",
           "load_average", "note")
TRAIN_ROWS = 20_000  # the model that predicts is trained on these (its speed is not the point)


def _rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1)


def simulate(path: Path, sites: int, species: int, covariates: int) -> dict:
    from cgmvae.simulate import write_checklists

    write_checklists(path, n_sites=sites, n_species=species, n_covariates=covariates)
    return {"output": path.name, "n_rows": sites, "n_features": covariates, "n_labels": species,
            "file_mb": _mb(path), "note": "cgmvae simulate, written block by block"}


def convert(source: Path, target: Path) -> dict:
    from cgmvae.formats.parquet import convert_csv

    convert_csv(source, target)
    return {"input": source.name, "output": target.name, "file_mb": _mb(target),
            "note": "two passes over the CSV (types, then rows)"}


def load(path: Path, reader: str) -> dict:
    from cgmvae.formats import load_csv, load_table

    data = load_csv(path) if reader == "text" else load_table(path)
    note = ("the text reader (load_csv: every cell a Python string), for comparison"
            if reader == "text" else "load_table (load_dataset for Parquet and CSV over 64 MB): "
                                     "batches into float32 features, uint8 labels")
    return {"input": path.name, "n_rows": data.n_samples, "n_features": data.n_features,
            "n_labels": data.n_labels, "file_mb": _mb(path),
            "note": f"{note}; MultiLabelData holds labels as uint8"}


def stream(path: Path) -> dict:
    from cgmvae.formats import read_sidecar
    from cgmvae.streaming import ParquetBatches

    meta = read_sidecar(path)
    dataset = ParquetBatches(path, feature_names=meta["features"], label_names=meta["labels"],
                             batch_size=128)
    rows = sum(len(x) for x, _ in dataset)
    return {"input": path.name, "n_rows": rows, "n_features": len(meta["features"]),
            "n_labels": len(meta["labels"]),
            "note": "one epoch of ParquetBatches (batch 128, shuffled row groups and buffer), "
                    "no training"}


def train(path: Path, model_path: Path, rows: int) -> dict:
    from cgmvae.config import TrainConfig
    from cgmvae.data import random_split
    from cgmvae.formats import load_dataset
    from cgmvae.train import fit

    data = load_dataset(path)
    split = random_split(rows, seed=0)
    model = fit(data, split, train_config=TrainConfig(max_epochs=2, device="cpu"))
    model.save(model_path)
    return {"input": path.name, "output": model_path.name, "n_rows": rows,
            "n_features": data.n_features, "n_labels": data.n_labels,
            "note": "the model predict uses: 2 epochs on the first rows, default configuration"}


def predict(model_path: Path, source: Path, target: Path) -> dict:
    from cgmvae.predictor import TrainedModel
    from cgmvae.streaming import predict_in_chunks

    model = TrainedModel.load(model_path)
    rows = predict_in_chunks(model, source, target)
    return {"input": source.name, "output": target.name, "n_rows": rows,
            "n_features": len(model.feature_names), "n_labels": len(model.label_names),
            "file_mb": _mb(target), "note": "predict_in_chunks (cgmvae predict), 65,536 rows "
                                            "a chunk, site id kept"}


def _timed(threads: int, step: str, function, *args) -> dict:
    """In the fresh process: set threads, note the memory so far, run, time."""
    import pyarrow as pa
    import torch

    torch.set_num_threads(threads)
    pa.set_cpu_count(threads)
    start_rss, load_average = _rss_mb(), os.getloadavg()[0]
    started = time.perf_counter()
    row = function(*args)
    seconds = time.perf_counter() - started
    row.update(step=step, seconds=round(seconds, 2), peak_rss_mb=_rss_mb(),
               start_rss_mb=start_rss, threads=threads, load_average=round(load_average, 2))
    if row.get("n_rows") and step.startswith(("load", "stream", "predict")):
        row["rows_per_second"] = round(row["n_rows"] / seconds)
    return row


def in_fresh_process(threads: int, step: str, function, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_import_everything) as pool:
        return pool.submit(_timed, threads, step, function, *args).result()


def _import_everything() -> None:
    """Imports are not part of any step's time or memory growth."""
    import cgmvae.formats
    import cgmvae.predictor
    import cgmvae.streaming
    import cgmvae.train  # noqa: F401


def steps(args: argparse.Namespace) -> list[tuple]:
    work, size = Path(args.work), (args.species, args.covariates)
    big, small = work / "big.csv", work / "small.csv"
    big_parquet, small_parquet = work / "big.parquet", work / "small.parquet"
    model = work / "model.pt"
    return [
        ("simulate-csv", simulate, big, args.sites, *size),
        ("simulate-csv", simulate, small, args.small_sites, *size),
        ("convert-csv-to-parquet", convert, big, big_parquet),
        ("convert-csv-to-parquet", convert, small, small_parquet),
        ("load-parquet", load, big_parquet, "batches"),
        ("load-csv", load, big, "batches"),
        ("load-csv-text-reader", load, small, "text"),
        ("load-csv", load, small, "batches"),
        ("stream-parquet", stream, big_parquet),
        ("train-model", train, small_parquet, model, min(TRAIN_ROWS, args.small_sites)),
        ("predict-parquet-to-parquet", predict, model, big_parquet, work / "out.parquet"),
        ("predict-parquet-to-csv", predict, model, big_parquet, work / "out.csv"),
        ("predict-parquet-to-csv", predict, model, small_parquet, work / "out_small.csv"),
        ("predict-csv-to-csv", predict, model, big, work / "out.csv"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--species", type=int, default=200)
    parser.add_argument("--covariates", type=int, default=20)
    parser.add_argument("--small-sites", type=int, default=100_000,
                        help="the reference table: the text reader, and predict at fewer rows")
    parser.add_argument("--work", default="/tmp/cgmvae-scale", help="folder for the tables")
    parser.add_argument("--threads", type=int, default=1, help="torch and pyarrow threads")
    parser.add_argument("--out", default="benchmarks/results/scale.csv")
    args = parser.parse_args(argv)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    writer = RowWriter(Path(args.out), COLUMNS)
    for step, function, *step_args in steps(args):
        row = in_fresh_process(args.threads, step, function, *step_args)
        writer.write(row)
        print(f"{step:28} {row.get('input') or row.get('output'):14} {row['seconds']:8.1f} s  "
              f"peak {row['peak_rss_mb']:6d} MB  {row.get('rows_per_second') or '':>9} rows/s",
              flush=True)


if __name__ == "__main__":
    main()
