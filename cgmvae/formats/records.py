"""Occurrence records (one row per species found at a site) -> the zero-filled site x species table.

Survey data often come one row per record: a species caught, heard or counted at a site on one
visit (capture records, point counts, GBIF or Darwin Core occurrence downloads). The model wants
one row per site and one 0/1 column per species. `zero_fill_records` builds that table the way R's
`auk` zero-fills complete eBird checklists: every site (a distinct value of the site column(s),
for example plot and date together for one visit) that has a record is taken as surveyed for every
species, so a species with no record there is absent (0). That holds for complete surveys (every
species found was recorded); for opportunistic records, absence means "not reported".

Site covariates are the columns whose value is the same on every record of a site (habitat, plot
type, year); columns that vary within a site describe records (a catch's weight, sex or id), not
sites, and are left out, as are text columns with a value per site (ids): each is named in a
notice. A column of dates (Darwin Core's eventDate) is kept: as a model input it becomes
`<name>_year` and `<name>_day_of_year` (`cgmvae.formats.dates`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.csv_table import is_id_name
from cgmvae.formats.dates import is_date_column
from cgmvae.formats.encode import short_list
from cgmvae.formats.presence import ABSENCE_MARKS, PRESENCE_MARKS
from cgmvae.formats.text_table import (
    describe_row,
    is_missing,
    read_cells,
    source_name,
    to_number,
)
from cgmvae.whole_file import whole_file

# A count column's marks: those of a species table (eBird's X for "seen", +, yes...) and "p"
PRESENT_MARKS = PRESENCE_MARKS | {"p"}
VAGUE_TAXON = re.compile(r"(^|\s)(sp|spp|cf|aff)\.?(\s|$)|/| x |\bhybrid\b", re.IGNORECASE)
# a genus only (Dipodomys sp.), an uncertain (cf.) or slashed identification, a hybrid
MAX_TEXT_VALUES = 50  # a text covariate with more values than this and than a quarter of the
# sites is an id or a date, not a category to one-hot encode


@dataclass
class SiteTable:
    """The zero-filled table: `frame` holds the site id and the covariates as text, as the
    records wrote them, then one 0/1 column per species (sorted by name)."""

    frame: pd.DataFrame
    id_column: str  # the one site column, or `site`: the site columns' values joined by `_`
    covariates: list[str]
    species: list[str]
    notices: list[str]

    @property
    def roles(self) -> dict:
        """The column roles, as a sidecar holds them."""
        return {"id": [self.id_column], "features": list(self.covariates),
                "labels": list(self.species)}

    def as_data(self, name: str, impute: str | None = None) -> MultiLabelData:
        """The table as a data set called `name`: ids from the site id, covariates one-hot or
        numeric as a CSV's would be, and the zero-filling in `notices`."""
        from dataclasses import replace

        from cgmvae.formats.tables import load_frame_with_roles

        data = load_frame_with_roles(self.frame, ids=[self.id_column], labels=self.species,
                                     features=self.covariates, name=name, impute=impute)
        return replace(data, notices=[*self.notices, *data.notices])


def site_id_column(sites: Sequence[str], columns: Sequence[str]) -> str:
    """The id column of the zero-filled table: the one site column, else a new `site` column
    (`site_id`, `visit`... when the records have one of that name already)."""
    if len(sites) == 1:
        return sites[0]
    return next(name for name in ("site", "site_id", "visit", "visit_id", "survey")
                if name not in columns)


# Most specific first: in many exports `species` is the epithet alone (merriami), beside a code or
# a full name that tells species of different genera apart.
SPECIES_NAMES = ("scientificname", "species_id", "species_code", "species_name", "taxon",
                 "taxon_name", "verbatimscientificname", "common_name", "common name", "species",
                 "code")
COUNT_NAMES = ("count", "individualcount", "individual_count", "abundance", "number",
               "observation count", "n")
SITE_NAMES = ("eventid", "event_id", "site", "site_id", "plot", "plot_id", "station", "locality",
              "locationid", "quadrat", "transect", "checklist_id")
VISIT_NAMES = ("year", "month", "date", "eventdate", "visit", "survey", "period")


def guess_record_columns(columns: Sequence[str]) -> dict:
    """From the header alone, a first guess at {"sites": [...], "species": name or None,
    "count": name or None} (Darwin Core, eBird and common survey names, any case): the site is
    the first site-like column, with the visit columns (year, month, date...) that follow it."""
    lower = {c.strip().lower(): c for c in columns}
    species = next((lower[n] for n in SPECIES_NAMES if n in lower), None) or next(
        (c for c in columns if "species" in c.lower()), None)
    count = next((lower[n] for n in COUNT_NAMES if n in lower), None)
    site = next((lower[n] for n in SITE_NAMES if n in lower), None)
    visit = [] if site is None or site.lower().startswith("event") else [
        lower[n] for n in VISIT_NAMES if n in lower]
    return {"sites": [site, *visit] if site else [], "species": species, "count": count}


def read_records(source, name: str | None = None) -> pd.DataFrame:
    """A records table (CSV separated by `,` `;` or tabs, or Parquet; path or upload) as text
    cells, one column per header name."""
    return read_cells(source, source_name(source, name))[1]


def zero_fill_records(
    records: pd.DataFrame,
    *,
    sites: Sequence[str],
    species: str,
    count: str | None = None,
    covariates: Sequence[str] | None = None,
    species_min: int = 1,
    where: str = "the records",
) -> SiteTable:
    """The site x species presence/absence table of occurrence records.

    Parameters
    ----------
    records : one row per record, all cells text (`read_records`).
    sites : the column(s) that together say which site (visit) a record belongs to. With
        several (plot, year, month), the table's id is a new `site` column (`2_1977_7`), and the
        site columns not named like an id (year, month) are covariates like any other.
    species : the column naming the species. A record with no species keeps its site as surveyed.
    count : optional column of counts: a positive number or a mark such as `X` is presence, 0 or
        `absent` is a recorded absence, an empty cell is presence (the record exists).
    covariates : the site covariates; default every other column that has one value per site
        (see the module notes). A named covariate with two values at one site is an error.
    species_min : keep species present at this many sites or more.
    where : the file's name, for messages.

    Raises
    ------
    DataError naming the file, the column and the row or site at fault.
    """
    sites, columns = list(sites), list(records.columns)
    named = [*sites, species, *([count] if count else []), *(covariates or [])]
    unknown = [c for c in dict.fromkeys(named) if c not in columns]
    if unknown:
        raise DataError(f"{where}: no column(s) {short_list(unknown)}; the columns are "
                        f"{short_list(columns, 12)}")
    if not sites:
        raise DataError(f"{where}: name the site column(s): the column(s) that say where (and "
                        "when) each record was made")
    _check_roles(sites, species, count, list(covariates or []), where)
    if species_min < 1:
        raise DataError(f"species_min must be at least 1, not {species_min}")
    for column in sites:
        _require_values(records[column], column, where)

    site_of = records.groupby(sites, sort=False).ngroup().to_numpy()
    n_sites = int(site_of.max()) + 1
    first = np.unique(site_of, return_index=True)[1]  # each site's first record
    notices = []
    present = _presence(records, count, where) if count else np.ones(len(records), dtype=bool)
    names = records[species].astype(str).str.strip()
    named_species = ~is_missing(names)
    if (~named_species).any():
        notices.append(f"{int((~named_species).sum()):,} records name no species (column "
                       f"'{species}'): their sites count as surveyed")
    kept = named_species & present
    codes, labels = pd.factorize(names[kept], sort=True)
    vague = [str(label) for label in labels if VAGUE_TAXON.search(str(label))]
    if vague:
        notices.append(f"not one species, each kept as a label of its own (drop or merge "
                       f"those records first if it should not be): {short_list(vague)}")
    presence = np.zeros((n_sites, len(labels)), dtype=np.uint8)
    presence[site_of[kept], codes] = 1

    frequency = presence.sum(axis=0)
    rare = frequency < species_min
    if rare.any():
        notices.append(f"{int(rare.sum())} species at fewer than {species_min} sites left out: "
                       f"{short_list(list(labels[rare]))}")
    labels, presence = [str(label) for label in labels[~rare]], presence[:, ~rare]
    if not labels:
        raise DataError(f"{where}: no species left: none is present at {species_min} or more "
                        "sites")
    id_column = site_id_column(sites, columns)
    clash = sorted(set(labels) & {id_column, *(covariates or [])})
    if clash:
        raise DataError(f"{where}: species {short_list(clash)} share their name with a site or "
                        "covariate column: rename that column")

    others = [c for c in columns if c not in {id_column, species, count}]
    if covariates is None:
        covariates, left_out = _site_columns(records, others, site_of, n_sites)
        notices += left_out
    else:
        covariates = list(covariates)
        _check_site_columns(records, covariates, site_of, sites, where)
    at_first = records.iloc[first].reset_index(drop=True)
    ids = _joined(at_first, sites, "_")
    if ids.duplicated().any():  # values holding `_` themselves: a_b + c and a + b_c
        ids = _joined(at_first, sites, " | ")
    frame = pd.concat([ids.rename(id_column).to_frame(), at_first[covariates],
                       pd.DataFrame(presence, columns=labels)], axis=1)
    empty = int((presence.sum(axis=1) == 0).sum())
    notices.insert(0, f"zero-filled {len(records):,} records into {n_sites:,} sites x "
                      f"{len(labels):,} species: a species with no record at a site is absent "
                      "(0)" + (f", and {empty:,} sites have none of them" if empty else ""))
    return SiteTable(frame, id_column, covariates, labels, notices)


def zero_filled(source, *, sites: Sequence[str], species: str, count: str | None = None,
                covariates: Sequence[str] | None = None, species_min: int = 1,
                name: str | None = None) -> SiteTable:
    """`zero_fill_records` of a records file (path or upload; `name`: an upload's own name)."""
    return zero_fill_records(read_records(source, name), sites=sites, species=species,
                             count=count, covariates=covariates, species_min=species_min,
                             where=source_name(source, name))


def load_records(source, *, sites: Sequence[str], species: str, count: str | None = None,
                 covariates: Sequence[str] | None = None, species_min: int = 1,
                 impute: str | None = None, name: str | None = None) -> MultiLabelData:
    """The zero-filled records (path or upload) as a data set (`SiteTable.as_data`), named after
    the file with `_sites`."""
    table = zero_filled(source, sites=sites, species=species, count=count,
                        covariates=covariates, species_min=species_min, name=name)
    return table.as_data(records_data_name(source, name), impute)


def records_data_name(source, name: str | None = None) -> str:
    return Path(source_name(source, name)).stem + "_sites"


def write_records_table(source, out_dir: str | Path, *, sites: Sequence[str], species: str,
                        count: str | None = None, covariates: Sequence[str] | None = None,
                        species_min: int = 1, name: str = "sites",
                        source_display: str | None = None) -> Path:
    """Write the zero-filled records as `<out_dir>/<name>.csv` with its sidecar `<name>.json`
    (id, features, labels, title, source, notes), which `--data` reads; returns the CSV's path."""
    where = source_name(source, source_display)
    table = zero_filled(source, sites=sites, species=species, count=count,
                        covariates=covariates, species_min=species_min, name=source_display)
    path = Path(out_dir) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with whole_file(path) as partial:
        table.frame.to_csv(partial, index=False)
    sidecar = {
        "title": f"{where}: {len(table.frame):,} sites x {len(table.species):,} species "
                 "(presence/absence)",
        "source": f"{where}, zero-filled by `python -m cgmvae records` (site: "
                  f"{', '.join(sites)}; species: {species}"
                  + (f"; count: {count}" if count else "") + ")",
        "notes": "; ".join(table.notices),
        **table.roles,
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    return path


def _joined(frame: pd.DataFrame, columns: list[str], separator: str) -> pd.Series:
    """The columns' cells joined by `separator`, column-wise (a row-wise join of 200,000 sites
    took 20 s)."""
    joined = frame[columns[0]].astype(str)
    for column in columns[1:]:
        joined = joined + separator + frame[column].astype(str)
    return joined


def _check_roles(sites: list[str], species: str, count: str | None, covariates: list[str],
                 where: str) -> None:
    """Each column has one role, except that with several site columns a site column may also be
    a covariate (the table's id is then a new column)."""
    single = [species, *([count] if count else [])]
    twice = {c for group in (sites, covariates, single) for c in group if group.count(c) > 1}
    twice |= set(single) & {*sites, *covariates}
    if len(sites) == 1:
        twice |= set(sites) & set(covariates)
    if twice:
        raise DataError(f"{where}: column(s) {short_list(sorted(twice))} given for more than one "
                        "role")


def _require_values(column: pd.Series, name: str, where: str) -> None:
    missing = np.flatnonzero(is_missing(column))
    if missing.size:
        raise DataError(f"{where}: site column '{name}' is empty at "
                        f"{describe_row(int(missing[0]), where)} ({missing.size} such rows): "
                        "every record must say where it was made")


def _presence(records: pd.DataFrame, count: str, where: str) -> np.ndarray:
    """True where a record says the species was there (see `zero_fill_records`)."""
    cells = records[count].astype(str).str.strip()
    words = cells.str.lower()
    numbers, bad = to_number(cells)
    marked = words.isin(PRESENT_MARKS | ABSENCE_MARKS).to_numpy()
    bad = bad[~marked[bad]]
    if bad.size:
        raise DataError(f"{where}: count column '{count}' has {cells.iat[bad[0]]!r} at "
                        f"{describe_row(int(bad[0]), where)} ({bad.size} such rows): expected a "
                        "number, X (seen) or absent")
    negative = np.flatnonzero(numbers < 0)
    if negative.size:
        raise DataError(f"{where}: count column '{count}' has the negative count "
                        f"{cells.iat[negative[0]]!r} at {describe_row(int(negative[0]), where)}")
    return (numbers > 0) | np.isnan(numbers) & ~words.isin(ABSENCE_MARKS).to_numpy()


def _values_per_site(records: pd.DataFrame, columns: list[str],
                     site_of: np.ndarray) -> pd.DataFrame:
    """How many different cells (an empty one counts) each column holds at each site."""
    cells = records[columns].fillna("").astype(str)
    return cells.groupby(site_of).nunique(dropna=False)


def _site_columns(records: pd.DataFrame, candidates: list[str], site_of: np.ndarray,
                  n_sites: int) -> tuple[list[str], list[str]]:
    """(the candidate columns with one value per site, notices for the ones left out)."""
    if not candidates:
        return [], []
    per_site = _values_per_site(records, candidates, site_of)
    varying = [c for c in candidates if (per_site[c] > 1).any()]
    id_like = [c for c in candidates if c not in varying and is_id_name(c)]
    many_words = []
    for column in candidates:
        if column in varying or column in id_like or is_date_column(records[column]):
            continue
        cells = records[column]
        _, bad = to_number(cells)
        distinct = cells.nunique()
        if bad.size and distinct > max(MAX_TEXT_VALUES, n_sites // 4):
            many_words.append(column)
    notices = []
    if varying:
        notices.append(f"left out, as they vary within a site (they describe records, not "
                       f"sites): {short_list(varying)}")
    if id_like:
        notices.append(f"left out, as named like an id (give them as covariates to keep them): "
                       f"{short_list(id_like)}")
    if many_words:
        notices.append(f"left out, as text with a value for nearly every site (an id or a "
                       f"date?): {short_list(many_words)}")
    return [c for c in candidates if c not in {*varying, *id_like, *many_words}], notices




def _check_site_columns(records: pd.DataFrame, covariates: list[str], site_of: np.ndarray,
                        sites: list[str], where: str) -> None:
    if not covariates:
        return
    per_site = _values_per_site(records, covariates, site_of)
    for column in covariates:
        several = np.flatnonzero(per_site[column].to_numpy() > 1)
        if several.size:
            rows = np.flatnonzero(site_of == several[0])
            site = ", ".join(f"{s}={records[s].iat[rows[0]]}" for s in sites)
            values = list(dict.fromkeys(records[column].iloc[rows].astype(str)))[:2]
            raise DataError(f"{where}: covariate '{column}' is not one value per site: site "
                            f"{site} has {values[0]!r} and {values[1]!r} ({several.size} such "
                            "sites); a site covariate must be the same on every record of its "
                            "site (or add it to the site columns)")
