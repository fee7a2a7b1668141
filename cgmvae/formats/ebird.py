"""eBird Basic Dataset (EBD) + sampling events -> zero-filled checklist x species table, as R's auk.

Only complete checklists (`ALL SPECIES REPORTED` = 1) say which species were *not* seen, so only
they are kept; every species not reported on one is absent (0). Shared (group) checklists are
collapsed to one, subspecies groups (`issf`) count as their species, and spuhs, slashes and hybrids
are dropped, as `auk_zerofill(..., unique = TRUE, rollup = TRUE, complete = TRUE)` does.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.encode import short_list
from cgmvae.formats.text_table import source_name
from cgmvae.whole_file import whole_file

ID = "checklist_id"
COVARIATES = ["duration_minutes", "effort_distance_km", "number_observers", "time_started_hours",
              "day_of_year", "latitude", "longitude", "protocol"]
_CHECKLIST_COLUMNS = {  # EBD header -> our column; read from the sampling-event file
    "SAMPLING EVENT IDENTIFIER": "sampling_event", "GROUP IDENTIFIER": "group",
    "ALL SPECIES REPORTED": "complete", "DURATION MINUTES": "duration_minutes",
    "EFFORT DISTANCE KM": "effort_distance_km", "NUMBER OBSERVERS": "number_observers",
    "TIME OBSERVATIONS STARTED": "time", "OBSERVATION DATE": "date", "LATITUDE": "latitude",
    "LONGITUDE": "longitude", "PROTOCOL TYPE": "protocol",
}
_OBSERVATION_COLUMNS = {
    "SAMPLING EVENT IDENTIFIER": "sampling_event", "CATEGORY": "category",
    "COMMON NAME": "species", "OBSERVATION COUNT": "count", "TAXONOMIC ORDER": "order",
}
_SPECIES_CATEGORIES = {"species", "issf"}  # issf: a subspecies group, reported under its species
_OPTIONAL = {"GROUP IDENTIFIER", "TAXONOMIC ORDER"}


CHUNK_ROWS = 500_000  # rows read at a time: a state's EBD (tens of millions of rows) streams
BLOCK_ROWS = 65_536  # checklists written at a time
SPECIES_BITS = 20  # up to a million species columns; checklist rows use the other 43 bits
SPECIES_MASK = (1 << SPECIES_BITS) - 1


def _quiet(text: str) -> None:
    """The default `progress`: say nothing."""


@dataclass
class ZeroFilled:
    """The zero-filled table in compact form: one row per kept checklist (`checklists`: id,
    covariates), the kept species in taxonomic order, and each presence as a sorted key
    `row << SPECIES_BITS | column`; `rows(a, b)` makes rows a..b dense."""

    checklists: pd.DataFrame
    species: list[str]
    keys: np.ndarray  # int64, sorted, one per (checklist row, species column) seen
    notices: list[str]

    def rows(self, start: int, stop: int) -> pd.DataFrame:
        """Rows start..stop of the table `zero_fill` returns."""
        lo, hi = np.searchsorted(self.keys, [start << SPECIES_BITS, stop << SPECIES_BITS])
        keys = self.keys[lo:hi]
        presence = np.zeros((stop - start, len(self.species)), dtype=np.int8)
        presence[(keys >> SPECIES_BITS) - start, keys & SPECIES_MASK] = 1
        block = self.checklists.iloc[start:stop].reset_index(drop=True)
        return pd.concat([block, pd.DataFrame(presence, columns=self.species)], axis=1)


def zero_fill(observations, sampling, species_min: int = 1, *, observations_name: str | None = None,
              sampling_name: str | None = None) -> pd.DataFrame:
    """The presence/absence table of complete eBird checklists.

    Parameters
    ----------
    observations : the EBD file (path or file-like; tab-separated, one row per species per
        checklist, EBD headers such as `COMMON NAME`; auk's snake_case names work too).
    sampling : the sampling-event file downloaded with it (one row per checklist).
    species_min : keep species reported on at least this many of the kept checklists.
    observations_name, sampling_name : display names of uploads, for messages.

    Returns
    -------
    DataFrame, one row per complete checklist (shared ones once): `checklist_id` (the sampling
    event identifier, or the group identifier of a shared checklist, as auk's `checklist_id`), the
    covariates `duration_minutes`, `effort_distance_km` (0 for stationary counts),
    `number_observers`, `time_started_hours` (decimal hours), `day_of_year`, `latitude`,
    `longitude`, `protocol` (text), then one 0/1 column per species (common name, taxonomic
    order). `attrs["notices"]` says what was dropped. For files of millions of rows,
    `write_ebird_table` writes the same table block by block instead.

    Raises
    ------
    DataError naming the file, column and row of a missing column or a bad value.
    """
    filled = zero_fill_compact(observations, sampling, species_min,
                               observations_name=observations_name, sampling_name=sampling_name)
    table = filled.rows(0, len(filled.checklists))
    table.attrs["notices"] = filled.notices
    return table


def zero_fill_compact(observations, sampling, species_min: int = 1, *,
                      observations_name: str | None = None, sampling_name: str | None = None,
                      chunk_rows: int = CHUNK_ROWS,
                      progress: Callable[[str], None] = _quiet) -> ZeroFilled:
    """`zero_fill` without the dense table: both files are read `chunk_rows` rows at a time,
    and what is kept of a sighting is one int64 key, so memory follows the number of
    presences, not the size of the files. `progress(text)` hears after each chunk how many rows
    of which file have been read (a state's EBD takes minutes)."""
    if species_min < 1:
        raise DataError(f"species_min must be at least 1, not {species_min}")
    obs_where = source_name(observations, observations_name)
    sed_where = source_name(sampling, sampling_name)
    parsed, read = [], 0
    for chunk in _read_chunks(sampling, sed_where, _CHECKLIST_COLUMNS, chunk_rows):
        parsed.append(_parse_sampling(chunk, sed_where))
        read += len(chunk)
        progress(f"{sed_where}: {read:,} rows read")
    kept, notices = _checklists(pd.concat(parsed), sed_where)
    del parsed
    checklists = kept.drop_duplicates(ID)[[ID, *COVARIATES]].reset_index(drop=True)
    # kept is sorted by sampling event: a group's row is that of its first copy
    row_of_id = pd.Series(np.arange(len(checklists), dtype=np.int64),
                          index=checklists[ID].to_numpy())
    row_of_event = pd.Series(row_of_id.reindex(kept[ID]).to_numpy(), index=kept.index)
    del kept, row_of_id  # the sightings below are what grows with the files
    codes: dict[str, int] = {}
    orders: list[float] = []
    keys, seen, read = [], 0, 0  # seen: species-level sightings, read: rows of the file
    for chunk in _read_chunks(observations, obs_where, _OBSERVATION_COLUMNS, chunk_rows):
        sightings = _sightings(chunk, obs_where, first_order=seen)
        seen += len(sightings)
        rows = row_of_event.reindex(sightings["sampling_event"]).to_numpy()
        on_kept = ~np.isnan(rows)
        sightings = sightings[on_kept]
        names, inverse = np.unique(sightings["species"].to_numpy(dtype=object),
                                   return_inverse=True)
        lowest = pd.Series(sightings["order"].to_numpy()).groupby(inverse).min()
        for i, name in enumerate(names):
            code = codes.setdefault(name, len(codes))
            if code == len(orders):
                orders.append(lowest.iat[i])
            else:
                orders[code] = min(orders[code], lowest.iat[i])
        code_of = np.array([codes[name] for name in names], dtype=np.int64)
        keys.append(np.unique((rows[on_kept].astype(np.int64) << SPECIES_BITS)
                              | code_of[inverse.reshape(-1)]))
        read += len(chunk)
        progress(f"{obs_where}: {read:,} rows read, {len(codes):,} species so far")
    keys = np.unique(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
    counts = np.bincount(keys & SPECIES_MASK, minlength=len(codes))
    by_order = sorted(codes, key=lambda name: (orders[codes[name]], name))
    species = [name for name in by_order if counts[codes[name]] >= species_min]
    if len(species) < len(codes):
        notices.append(f"kept {len(species)} of {len(codes)} species (seen on at least "
                       f"{species_min} checklists)")
    column_of = np.full(len(codes), -1, dtype=np.int64)
    column_of[[codes[name] for name in species]] = np.arange(len(species))
    columns = column_of[keys & SPECIES_MASK]
    keep = columns >= 0
    keys = ((keys[keep] >> SPECIES_BITS) << SPECIES_BITS) | columns[keep]  # still in row order
    return ZeroFilled(checklists, species, keys, notices)


def write_ebird_table(observations, sampling, out_dir: str | Path, *, name: str = "ebird",
                      species_min: int = 1, observations_name: str | None = None,
                      sampling_name: str | None = None, file_format: str = "csv",
                      chunk_rows: int = CHUNK_ROWS,
                      progress: Callable[[str], None] = _quiet) -> Path:
    """Write `zero_fill(...)` as `<out_dir>/<name>.csv` (or `.parquet`, species as uint8) with its
    sidecar `<name>.json` (`id`, `features`, `categorical`, `labels`, `title`, `source`), block
    by block; returns the table's path."""
    if file_format not in ("csv", "parquet"):
        raise DataError(f"file_format must be csv or parquet, not {file_format!r}")
    filled = zero_fill_compact(observations, sampling, species_min, chunk_rows=chunk_rows,
                               progress=progress,
                               observations_name=observations_name, sampling_name=sampling_name)
    obs = source_name(observations, observations_name)
    sed = source_name(sampling, sampling_name)
    return _write_table(filled, Path(out_dir) / f"{name}.{file_format}", progress,
                        source=f"eBird Basic Dataset {obs} + sampling events {sed}",
                        species_min=species_min)


def load_ebird(observations, sampling, species_min: int = 1, *,
               observations_name: str | None = None,
               sampling_name: str | None = None) -> MultiLabelData:
    """The zero-filled checklists as a data set (ids `checklist_id`, the protocol one-hot, what
    was dropped in `notices`): written as Parquet in a temporary folder and read back batch by
    batch, as `cgmvae ebird --format parquet` then `--data` would, never as a text table."""
    from cgmvae.formats import load_dataset

    filled = zero_fill_compact(observations, sampling, species_min,
                               observations_name=observations_name, sampling_name=sampling_name)
    with tempfile.TemporaryDirectory(prefix="cgmvae-ebird-") as folder:
        data = load_dataset(_write_table(filled, Path(folder) / "ebird.parquet", _quiet,
                                         source="eBird", species_min=species_min))
    return replace(data, notices=[*filled.notices, *data.notices])


def _write_table(filled: ZeroFilled, path: Path, progress: Callable[[str], None], *,
                 source: str, species_min: int) -> Path:
    """`filled` as the table at `path` (.csv or .parquet, whole or not at all) and its sidecar."""
    labels = filled.species
    if not labels:
        raise DataError(f"no species left: no complete checklist reports a species on at least "
                        f"{species_min} checklists")
    path.parent.mkdir(parents=True, exist_ok=True)
    with whole_file(path) as partial:
        features = _write_blocks(filled, partial, path.suffix[1:], progress, path.name)
    sidecar = {
        "title": f"eBird: {len(filled.checklists)} complete checklists x {len(labels)} species "
                 "(presence/absence)",
        "source": f"{source}, zero-filled by `python -m cgmvae ebird` (complete checklists only, "
                  "shared ones once, species level)",
        "notes": "; ".join(filled.notices),
        "id": ID, "features": features, "labels": labels,
    } | ({"categorical": ["protocol"]} if "protocol" in features else {})
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    return path


def _write_blocks(filled: ZeroFilled, path: Path, file_format: str,
                  progress: Callable[[str], None], shown: str) -> list[str]:
    """Write the table block by block; returns its feature columns. Parquet gets the protocol
    one-hot (`protocol=Traveling`, ..., uint8, the names loading a CSV gives), so that every
    feature is a number and `train --stream` can read it."""
    n_rows = len(filled.checklists)
    if file_format == "csv":
        for start in range(0, n_rows, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n_rows)
            filled.rows(start, stop).to_csv(path, index=False, mode="a" if start else "w",
                                            header=not start)
            progress(f"{shown}: {stop:,} of {n_rows:,} checklists written")
        return COVARIATES
    import pyarrow as pa
    import pyarrow.parquet as pq

    protocols = sorted(filled.checklists["protocol"].unique())
    one_hot = [f"protocol={value}" for value in protocols]
    writer = None
    try:
        for start in range(0, n_rows, BLOCK_ROWS):
            block = filled.rows(start, min(start + BLOCK_ROWS, n_rows))
            for value, column in zip(protocols, one_hot, strict=True):
                block[column] = (block["protocol"] == value).astype(np.uint8)
            block[filled.species] = block[filled.species].astype(np.uint8)
            block = block[[ID, *COVARIATES[:-1], *one_hot, *filled.species]]
            table = pa.Table.from_pandas(block, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=BLOCK_ROWS)
            progress(f"{shown}: {start + len(block):,} of {n_rows:,} checklists written")
    finally:
        if writer is not None:
            writer.close()
    return [*COVARIATES[:-1], *one_hot]


def _read_chunks(source, where: str, wanted: dict[str, str], chunk_rows: int):
    """Wanted columns (by EBD header, any case, `_` for spaces) of a tab-separated file, as text,
    `chunk_rows` rows at a time; each chunk's index is its rows' place in the file."""
    if not isinstance(source, (str, Path)) and hasattr(source, "seek"):
        source.seek(0)
    try:
        # a path's suffix says .gz to pandas; an upload's only its display name does
        gzipped = not isinstance(source, (str, Path)) and where.lower().endswith(".gz")
        reader = pd.read_csv(source, sep="\t", dtype=str, keep_default_na=False,
                             quoting=csv.QUOTE_NONE, usecols=lambda c: _header(c) in wanted,
                             chunksize=chunk_rows, compression="gzip" if gzipped else "infer")
        for frame in reader:
            frame.columns = [wanted[_header(c)] for c in frame.columns]
            absent = [h for h, c in wanted.items()
                      if c not in frame.columns and h not in _OPTIONAL]
            if absent:
                raise DataError(f"{where}: no column(s) {short_list(absent)}: is it the eBird "
                                "Basic Dataset (observations) and its sampling-event file?")
            yield frame.apply(lambda column: column.str.strip())
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise DataError(f"cannot read {where} as a tab-separated eBird file: {err}") from None


def _header(name: str) -> str:
    return str(name).strip().upper().replace("_", " ")


def _parse_sampling(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """One chunk of the sampling-event file, its values read as numbers where the table needs
    them (only on complete checklists: the others are dropped unread)."""
    complete = _numbers(raw, "complete", where, "ALL SPECIES REPORTED")
    parsed = pd.DataFrame({
        "sampling_event": raw["sampling_event"], "protocol": raw["protocol"],
        "group": raw.get("group", ""), "complete": complete})
    on = (complete == 1).to_numpy()
    rows = raw[on]
    for column, header in (("duration_minutes", "DURATION MINUTES"),
                           ("effort_distance_km", "EFFORT DISTANCE KM"),
                           ("number_observers", "NUMBER OBSERVERS"),
                           ("latitude", "LATITUDE"), ("longitude", "LONGITUDE")):
        parsed[column] = np.nan
        parsed.loc[on, column] = _numbers(rows, column, where, header).astype(float)
    parsed["time_started_hours"] = np.nan
    parsed.loc[on, "time_started_hours"] = _hours(rows, where)
    parsed["day_of_year"] = np.nan
    parsed.loc[on, "day_of_year"] = _day_of_year(rows, where)
    return parsed


def _checklists(parsed: pd.DataFrame, where: str) -> tuple[pd.DataFrame, list[str]]:
    """Complete checklists with their covariates and `checklist_id` (copies of a shared checklist
    share it), indexed by sampling event in sorted order; and notices."""
    parsed = parsed.drop_duplicates("sampling_event")
    table = parsed[parsed["complete"] == 1].copy()
    incomplete = int((parsed["complete"] != 1).sum())
    notices = [f"dropped {incomplete} incomplete checklist(s) (ALL SPECIES REPORTED = 0)"
               ] if incomplete else []
    table[ID] = table["group"].where(table["group"] != "", table["sampling_event"])
    shared = int(table.duplicated(ID).sum())
    if shared:
        notices.append(f"collapsed {shared} shared copies of group checklists")
    stationary = table["protocol"].str.lower().str.startswith("stationary")
    table.loc[stationary & table["effort_distance_km"].isna(), "effort_distance_km"] = 0.0
    lacking = table[COVARIATES].isna().any(axis=1) | (table["protocol"] == "")
    if lacking.any():
        notices.append(f"dropped {table.loc[lacking, ID].nunique()} checklist(s) without complete "
                       "effort information (e.g. incidental or historical protocols)")
    table = table[~lacking].sort_values("sampling_event", kind="stable")  # a group keeps its first
    if table.empty:
        raise DataError(f"{where}: no complete checklist with effort information")
    for column in COVARIATES[:-1]:  # whole numbers (minutes, observers) written as such
        values = table[column].to_numpy()
        if (values == np.round(values)).all():
            table[column] = values.astype(np.int64)
    return table.set_index("sampling_event"), notices


def _sightings(raw: pd.DataFrame, where: str, first_order: int = 0) -> pd.DataFrame:
    """Species-level sightings (`X` counts are presence); spuhs, slashes, hybrids dropped. Without
    a TAXONOMIC ORDER column, the order is that of the file (`first_order` for the first row
    kept)."""
    counts = raw["count"].str.upper()
    bad = np.flatnonzero(~(counts.str.fullmatch(r"\d+") | (counts == "X")).to_numpy())
    if bad.size:
        row = int(raw.index[bad[0]])
        raise DataError(f"{where}: OBSERVATION COUNT has the value {raw['count'].iat[bad[0]]!r} "
                        f"at data row {row + 1} (line {row + 2}); expected a count or X")
    keep = raw["category"].str.lower().isin(_SPECIES_CATEGORIES) & (counts != "0")
    kept = raw[keep].copy()
    file_order = pd.Series(first_order + np.arange(len(kept)), index=kept.index, dtype=float)
    order = pd.to_numeric(kept["order"], errors="coerce") if "order" in kept else file_order
    kept["order"] = order.fillna(file_order)  # taxonomic order when the file has it
    return kept


def _numbers(table: pd.DataFrame, column: str, where: str, header: str) -> pd.Series:
    text = table[column]
    numbers = pd.to_numeric(text, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & (text != "")).to_numpy())
    if bad.size:
        row = int(table.index[bad[0]])
        raise DataError(f"{where}: {header} has the non-numeric value {text.iat[bad[0]]!r} at "
                        f"data row {row + 1} (line {row + 2})")
    return numbers


def _hours(table: pd.DataFrame, where: str) -> pd.Series:
    parts = table["time"].str.extract(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$").astype(float)
    bad = np.flatnonzero((parts[0].isna() & (table["time"] != "")).to_numpy())
    if bad.size:
        row = int(table.index[bad[0]])
        raise DataError(f"{where}: TIME OBSERVATIONS STARTED has the value "
                        f"{table['time'].iat[bad[0]]!r} at data row {row + 1}; expected HH:MM:SS")
    return parts[0] + parts[1] / 60 + parts[2].fillna(0) / 3600


def _day_of_year(table: pd.DataFrame, where: str) -> pd.Series:
    dates = pd.to_datetime(table["date"], format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        row = int(table.index[bad[0]])
        raise DataError(f"{where}: OBSERVATION DATE has the value {table['date'].iat[bad[0]]!r} "
                        f"at data row {row + 1}; expected YYYY-MM-DD")
    return dates.dt.day_of_year.astype(float)
