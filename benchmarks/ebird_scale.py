"""eBird at the size of a US state: `python -m cgmvae ebird` on a synthetic eBird Basic Dataset,
with the time and peak memory of the zero-fill.

Usage: python -m benchmarks.ebird_scale [--checklists 200000] [--species 300]
       [--per-checklist 15] [--work /tmp/cgmvae-ebird] [--format parquet]
       [--out benchmarks/results/ebird_scale.csv] [--note TEXT]

The files have the EBD's own columns (all of them, in its order, tab-separated), written by
`write_synthetic_ebd`: checklists of every protocol eBird has (incidental and historical ones
lack effort and are dropped, as auk drops them), 5% incomplete, 5% shared copies of a group
checklist, spuhs and slashes among the sightings, `X` counts. The zero-fill runs in a fresh
process (`python -m cgmvae ebird`); `peak_rss_mb` is that process's peak resident set
(resource.getrusage ru_maxrss of the child).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.results_io import RowWriter

COLUMNS = ("checklists", "observation_rows", "species", "observations_mb", "sampling_mb",
           "format", "seconds", "peak_rss_mb", "kept_checklists", "kept_species", "load_average",
           "note")
SAMPLING_HEADER = [
    "LAST EDITED DATE", "COUNTRY", "STATE", "COUNTY", "LOCALITY", "LOCALITY ID", "LOCALITY TYPE",
    "LATITUDE", "LONGITUDE", "OBSERVATION DATE", "TIME OBSERVATIONS STARTED", "OBSERVER ID",
    "SAMPLING EVENT IDENTIFIER", "PROTOCOL TYPE", "PROTOCOL CODE", "PROJECT CODE",
    "DURATION MINUTES", "EFFORT DISTANCE KM", "EFFORT AREA HA", "NUMBER OBSERVERS",
    "ALL SPECIES REPORTED", "GROUP IDENTIFIER", "TRIP COMMENTS"]
OBSERVATION_HEADER = [
    "GLOBAL UNIQUE IDENTIFIER", "LAST EDITED DATE", "TAXONOMIC ORDER", "CATEGORY",
    "TAXON CONCEPT ID", "COMMON NAME", "SCIENTIFIC NAME", "SUBSPECIES COMMON NAME",
    "SUBSPECIES SCIENTIFIC NAME", "EXOTIC CODE", "OBSERVATION COUNT", "BREEDING CODE", "COUNTRY",
    "STATE", "COUNTY", "LOCALITY", "LOCALITY ID", "LOCALITY TYPE", "LATITUDE", "LONGITUDE",
    "OBSERVATION DATE", "TIME OBSERVATIONS STARTED", "OBSERVER ID", "SAMPLING EVENT IDENTIFIER",
    "PROTOCOL TYPE", "PROTOCOL CODE", "PROJECT CODE", "DURATION MINUTES", "EFFORT DISTANCE KM",
    "EFFORT AREA HA", "NUMBER OBSERVERS", "ALL SPECIES REPORTED", "GROUP IDENTIFIER",
    "HAS MEDIA", "APPROVED", "REVIEWED", "REASON", "TRIP COMMENTS", "SPECIES COMMENTS"]
PROTOCOLS = ["Traveling", "Stationary", "Area", "Incidental", "Historical"]
PROTOCOL_SHARE = [0.55, 0.3, 0.05, 0.07, 0.03]
ROWS_PER_WRITE = 200_000  # the generator writes in blocks, so it never holds a whole file


def write_synthetic_ebd(folder: Path, n_checklists: int, n_species: int, per_checklist: int,
                        seed: int = 0) -> tuple[Path, Path]:
    """(observations, sampling) files of the EBD's layout, written block by block."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sampling, observations = folder / "ebd_sampling.txt", folder / "ebd.txt"
    events = np.array([f"S{100_000_000 + i}" for i in range(n_checklists)], dtype=object)
    protocol = rng.choice(PROTOCOLS, n_checklists, p=PROTOCOL_SHARE)
    effort = ~np.isin(protocol, ["Incidental", "Historical"])
    group = np.full(n_checklists, "", dtype=object)
    shared = np.flatnonzero(rng.random(n_checklists) < 0.05)[1:]  # copy of the event before
    group[shared] = group[shared - 1] = [f"G{i}" for i in range(shared.size)]
    day = rng.integers(0, 365, n_checklists)
    checklists = pd.DataFrame({
        "LAST EDITED DATE": "2024-01-10 10:00:00", "COUNTRY": "United States",
        "STATE": "New York", "COUNTY": "Tompkins", "LOCALITY": "a locality",
        "LOCALITY ID": [f"L{i % 5000}" for i in range(n_checklists)], "LOCALITY TYPE": "H",
        "LATITUDE": np.round(rng.uniform(40.5, 45.0, n_checklists), 5),
        "LONGITUDE": np.round(rng.uniform(-79.8, -71.9, n_checklists), 5),
        "OBSERVATION DATE": (pd.Timestamp("2023-01-01") + pd.to_timedelta(day, "D")
                             ).strftime("%Y-%m-%d"),
        "TIME OBSERVATIONS STARTED": [f"{h:02d}:{m:02d}:00" for h, m in zip(
            rng.integers(5, 20, n_checklists), rng.integers(0, 60, n_checklists), strict=True)],
        "OBSERVER ID": [f"obsr{i % 20000}" for i in range(n_checklists)],
        "SAMPLING EVENT IDENTIFIER": events, "PROTOCOL TYPE": protocol,
        "PROTOCOL CODE": "P22", "PROJECT CODE": "EBIRD",
        "DURATION MINUTES": np.where(effort, rng.integers(5, 240, n_checklists), -1),
        "EFFORT DISTANCE KM": np.where(protocol == "Traveling",
                                       np.round(rng.uniform(0.1, 8, n_checklists), 3), np.nan),
        "EFFORT AREA HA": "", "NUMBER OBSERVERS": rng.integers(1, 5, n_checklists),
        "ALL SPECIES REPORTED": (rng.random(n_checklists) > 0.05).astype(int),
        "GROUP IDENTIFIER": group, "TRIP COMMENTS": "",
    })
    checklists["DURATION MINUTES"] = checklists["DURATION MINUTES"].astype(str).replace("-1", "")
    checklists[SAMPLING_HEADER].to_csv(sampling, sep="\t", index=False, na_rep="")
    names = np.array([f"Bird {j:04d}" for j in range(n_species)] + ["gull sp.", "Crow/Raven"],
                     dtype=object)
    categories = np.array(["species"] * n_species + ["spuh", "slash"], dtype=object)
    weights = rng.gamma(0.6, 1.0, names.size)
    weights /= weights.sum()
    written = False
    per_block = max(1, ROWS_PER_WRITE // per_checklist)
    for start in range(0, n_checklists, per_block):
        block = checklists.iloc[start:start + per_block]
        counts = rng.poisson(per_checklist, len(block)).clip(1, names.size)
        rows = np.repeat(np.arange(len(block)), counts)
        taxa = rng.choice(names.size, rows.size, p=weights)
        sightings = block.iloc[rows].reset_index(drop=True)
        sightings["GLOBAL UNIQUE IDENTIFIER"] = [f"URN:CornellLabOfOrnithology:EBIRD:OBS{start}_{i}"
                                                 for i in range(rows.size)]
        sightings["TAXONOMIC ORDER"] = taxa + 1000
        sightings["CATEGORY"] = categories[taxa]
        sightings["TAXON CONCEPT ID"] = "avibase-0000"
        sightings["COMMON NAME"] = names[taxa]
        sightings["SCIENTIFIC NAME"] = "Aves"
        count = rng.integers(1, 12, rows.size).astype(str).astype(object)
        count[rng.random(rows.size) < 0.08] = "X"
        sightings["OBSERVATION COUNT"] = count
        for column in ("SUBSPECIES COMMON NAME", "SUBSPECIES SCIENTIFIC NAME", "EXOTIC CODE",
                       "BREEDING CODE", "HAS MEDIA", "REASON", "SPECIES COMMENTS"):
            sightings[column] = ""
        sightings["APPROVED"], sightings["REVIEWED"] = 1, 0
        sightings[OBSERVATION_HEADER].to_csv(observations, sep="\t", index=False, na_rep="",
                                             mode="a" if written else "w", header=not written)
        written = True
    return observations, sampling


def observation_rows(observations: Path) -> int:
    """Data rows of the EBD file, counted once per file and kept beside it (a 4 GB file takes a
    while to count, and every run of the benchmark asks)."""
    counted = observations.with_suffix(".rows")
    if counted.is_file() and counted.stat().st_mtime >= observations.stat().st_mtime:
        return int(counted.read_text())
    with observations.open("rb") as handle:
        rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1
    counted.write_text(str(rows))
    return rows


def zero_fill_in_a_fresh_process(observations: Path, sampling: Path, out: Path, fmt: str
                                 ) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB, the command's last line) of `python -m cgmvae ebird`."""
    command = [sys.executable, "-m", "cgmvae", "ebird", "--observations", str(observations),
               "--sampling", str(sampling), "--out", str(out), "--species-min", "1"]
    if fmt != "csv":
        command += ["--format", fmt]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"cgmvae ebird failed:\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        print("note: an earlier child had a higher peak; the peak below is a lower bound")
    return seconds, round(peak / 1024), done.stdout.strip().splitlines()[-1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checklists", type=int, default=200_000)
    parser.add_argument("--species", type=int, default=300)
    parser.add_argument("--per-checklist", type=int, default=15)
    parser.add_argument("--work", default="/tmp/cgmvae-ebird")
    parser.add_argument("--format", choices=["csv", "parquet"], default="parquet")
    parser.add_argument("--out", default="benchmarks/results/ebird_scale.csv")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    work = Path(args.work)
    observations, sampling = work / "ebd.txt", work / "ebd_sampling.txt"
    if not (observations.is_file() and sampling.is_file()):
        started = time.perf_counter()
        write_synthetic_ebd(work, args.checklists, args.species, args.per_checklist)
        print(f"wrote the synthetic EBD in {time.perf_counter() - started:.0f} s")
    n_rows = observation_rows(observations)
    load = os.getloadavg()[0]
    seconds, peak, said = zero_fill_in_a_fresh_process(observations, sampling, work / "out",
                                                       args.format)
    output = next((work / "out").glob(f"ebird.{args.format}"))
    kept_species = len(json.loads(output.with_suffix(".json").read_text())["labels"])
    if args.format == "parquet":
        import pyarrow.parquet as pq

        kept_rows = pq.ParquetFile(output).metadata.num_rows
    else:
        kept_rows = sum(1 for _ in output.open()) - 1
    row = {"checklists": args.checklists, "observation_rows": n_rows, "species": args.species,
           "observations_mb": round(observations.stat().st_size / 2**20),
           "sampling_mb": round(sampling.stat().st_size / 2**20), "format": args.format,
           "seconds": round(seconds, 1), "peak_rss_mb": peak, "kept_checklists": kept_rows,
           "kept_species": kept_species, "load_average": round(load, 2), "note": args.note}
    print(said)
    print(row)
    RowWriter(Path(args.out), COLUMNS, append=True).write(row)


if __name__ == "__main__":
    main()
