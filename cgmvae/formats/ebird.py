"""eBird Basic Dataset (EBD) + sampling events -> zero-filled checklist x species table, as R's auk.

Only complete checklists (`ALL SPECIES REPORTED` = 1) say which species were *not* seen, so only
they are kept; every species not reported on one is absent (0). Shared (group) checklists are
collapsed to one, subspecies groups (`issf`) count as their species, and spuhs, slashes and hybrids
are dropped, as `auk_zerofill(..., unique = TRUE, rollup = TRUE, complete = TRUE)` does.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.encode import short_list
from cgmvae.formats.text_table import source_name

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
    order). `attrs["notices"]` says what was dropped.

    Raises
    ------
    DataError naming the file, column and row of a missing column or a bad value.
    """
    obs_where = source_name(observations, observations_name)
    sed_where = source_name(sampling, sampling_name)
    checklists, notices = _checklists(_read(sampling, sed_where, _CHECKLIST_COLUMNS), sed_where)
    sightings = _sightings(_read(observations, obs_where, _OBSERVATION_COLUMNS), obs_where)
    if species_min < 1:
        raise DataError(f"species_min must be at least 1, not {species_min}")
    sightings = sightings.assign(checklist=sightings["sampling_event"].map(checklists[ID]))
    sightings = sightings.dropna(subset=["checklist"])  # incomplete or dropped checklists
    checklists = checklists.drop_duplicates(ID).set_index(ID)
    presence = pd.crosstab(sightings["checklist"], sightings["species"]).clip(upper=1)
    presence = presence.reindex(index=checklists.index, fill_value=0)
    order = sightings.groupby("species")["order"].min().sort_values(kind="stable")
    presence = presence[[s for s in order.index if presence[s].sum() >= species_min]]
    if presence.shape[1] < len(order):
        notices.append(f"kept {presence.shape[1]} of {len(order)} species (seen on at least "
                       f"{species_min} checklists)")
    table = pd.concat([checklists[COVARIATES], presence.astype(np.int8)], axis=1)
    table = table.rename_axis(ID).reset_index()
    table.attrs["notices"] = notices
    return table


def write_ebird_table(observations, sampling, out_dir: str | Path, *, name: str = "ebird",
                      species_min: int = 1, observations_name: str | None = None,
                      sampling_name: str | None = None) -> Path:
    """Write `zero_fill(...)` as `<out_dir>/<name>.csv` with its sidecar `<name>.json`
    (`id`, `features`, `categorical`, `labels`, `title`, `source`); returns the CSV path."""
    table = zero_fill(observations, sampling, species_min, observations_name=observations_name,
                      sampling_name=sampling_name)
    labels = [c for c in table.columns if c != ID and c not in COVARIATES]
    if not labels:
        raise DataError(f"no species left: no complete checklist reports a species on at least "
                        f"{species_min} checklists")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.csv"
    table.to_csv(path, index=False)
    obs = source_name(observations, observations_name)
    sed = source_name(sampling, sampling_name)
    sidecar = {
        "title": f"eBird: {len(table)} complete checklists x {len(labels)} species "
                 "(presence/absence)",
        "source": f"eBird Basic Dataset {obs} + sampling events {sed}, zero-filled by "
                  "`python -m cgmvae ebird` (complete checklists only, shared ones once, "
                  "species level)",
        "notes": "; ".join(table.attrs["notices"]),
        "id": ID, "features": COVARIATES, "categorical": ["protocol"], "labels": labels,
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    return path


def _read(source, where: str, wanted: dict[str, str]) -> pd.DataFrame:
    """Wanted columns (by EBD header, any case, `_` for spaces) of a tab-separated file, as text."""
    if not isinstance(source, (str, Path)) and hasattr(source, "seek"):
        source.seek(0)
    try:
        frame = pd.read_csv(source, sep="\t", dtype=str, keep_default_na=False,
                            quoting=csv.QUOTE_NONE, usecols=lambda c: _header(c) in wanted)
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise DataError(f"cannot read {where} as a tab-separated eBird file: {err}") from None
    frame.columns = [wanted[_header(c)] for c in frame.columns]
    absent = [h for h, c in wanted.items() if c not in frame.columns and h not in _OPTIONAL]
    if absent:
        raise DataError(f"{where}: no column(s) {short_list(absent)}: is it the eBird "
                        "Basic Dataset (observations) and its sampling-event file?")
    return frame.apply(lambda column: column.str.strip())


def _header(name: str) -> str:
    return str(name).strip().upper().replace("_", " ")


def _checklists(raw: pd.DataFrame, where: str) -> tuple[pd.DataFrame, list[str]]:
    """Complete checklists with their covariates and `checklist_id` (copies of a shared checklist
    share it), indexed by sampling event; and notices."""
    raw = raw.drop_duplicates("sampling_event").reset_index(drop=True)
    complete = _numbers(raw, "complete", where, "ALL SPECIES REPORTED")
    table = raw[complete == 1].copy()
    incomplete = int((complete != 1).sum())
    notices = [f"dropped {incomplete} incomplete checklist(s) (ALL SPECIES REPORTED = 0)"
               ] if incomplete else []
    group = table["group"] if "group" in table else pd.Series("", index=table.index)
    table[ID] = group.where(group != "", table["sampling_event"])
    shared = int(table.duplicated(ID).sum())
    if shared:
        notices.append(f"collapsed {shared} shared copies of group checklists")
    for column, header in (("duration_minutes", "DURATION MINUTES"),
                           ("effort_distance_km", "EFFORT DISTANCE KM"),
                           ("number_observers", "NUMBER OBSERVERS"),
                           ("latitude", "LATITUDE"), ("longitude", "LONGITUDE")):
        table[column] = _numbers(table, column, where, header)
    stationary = table["protocol"].str.lower().str.startswith("stationary")
    table.loc[stationary & table["effort_distance_km"].isna(), "effort_distance_km"] = 0.0
    table["time_started_hours"] = _hours(table, where)
    table["day_of_year"] = _day_of_year(table, where)
    lacking = table[COVARIATES].isna().any(axis=1) | (table["protocol"] == "")
    if lacking.any():
        notices.append(f"dropped {table.loc[lacking, ID].nunique()} checklist(s) without complete "
                       "effort information (e.g. incidental or historical protocols)")
    table = table[~lacking].sort_values("sampling_event", kind="stable")  # a group keeps its first
    if table.empty:
        raise DataError(f"{where}: no complete checklist with effort information")
    return table.set_index("sampling_event"), notices


def _sightings(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """Species-level sightings (`X` counts are presence); spuhs, slashes, hybrids dropped."""
    raw = raw.reset_index(drop=True)
    counts = raw["count"].str.upper()
    bad = np.flatnonzero(~(counts.str.fullmatch(r"\d+") | (counts == "X")).to_numpy())
    if bad.size:
        raise DataError(f"{where}: OBSERVATION COUNT has the value {raw['count'].iat[bad[0]]!r} "
                        f"at data row {bad[0] + 1} (line {bad[0] + 2}); expected a count or X")
    keep = raw["category"].str.lower().isin(_SPECIES_CATEGORIES) & (counts != "0")
    kept = raw[keep].copy()
    file_order = pd.Series(np.arange(len(kept)), index=kept.index, dtype=float)
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
