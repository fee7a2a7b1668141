"""Several site tables read as one: covariates in one file and coordinates (or more covariates)
in another, as HMSC's X and xy or Norberg et al.'s (2019) Xt and St are kept. They are joined on
the site id, or by row order when they have none; their sidecars' lists are merged."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.columns import sample_ids
from cgmvae.formats.csv_table import is_id_name, read_sidecar
from cgmvae.formats.encode import short_list
from cgmvae.formats.header import headerless_notice, unnamed_columns
from cgmvae.formats.text_table import read_cells, source_name

UNNAMED_COLUMN = "(unnamed: R's row names)"  # how messages name a column with an empty name
SIDECAR_LISTS = ("features", "categorical", "ordinal")


class SiteTable(NamedTuple):
    """The site tables as one: `header` and text `body` (the first table's rows, order and id
    columns), `meta` (their sidecars' lists of features, categorical and ordinal columns),
    `where` (their names, for messages) and `notices` for the user."""

    header: list[str]
    body: pd.DataFrame
    meta: dict
    where: str
    notices: list[str]


def read_site_tables(sources, names=None, ids: Sequence[str] = ()) -> SiteTable:
    """One site table, or several (a sequence of paths or uploads; `names` their display names)
    joined on the id column(s) `ids`, or by row order without ids. Headerless tables' columns are
    named covariate_1, covariate_2... numbered on across the tables.

    Raises DataError naming the file for a missing id column, duplicated ids, ids found in only
    one table, tables of different lengths (row order) and a column in two tables."""
    return _joined(_read_each(sources, names), list(ids))


def sites_to_score_csv(sources, names=None) -> tuple[io.StringIO, list[str]]:
    """Tables of new sites to score joined as `read_site_tables` joins them, on the id-named
    columns (site, plot_id, R's row names...) that every table has, else by row order: (the
    joined table as CSV text with a header row, named after the tables, to be read as one
    uploaded file; the notes for the user)."""
    tables = _read_each(sources, names)
    shared = [c for c in tables[0].header if is_id_name(c)
              and all(c in table.header for table in tables[1:])]
    joined = _joined(tables, shared if len(tables) > 1 else [])
    text = io.StringIO()
    joined.body.to_csv(text, index=False, header=joined.header)
    text.seek(0)
    text.name = joined.where
    return text, joined.notices


def named_cells(source, where: str, prefix: str, first: int = 1
                ) -> tuple[list[str], pd.DataFrame]:
    """`read_cells`, a table without a header's columns named `prefix`first, first + 1... (the
    tables' generated names must not collide)."""
    header, body = read_cells(source, where)
    if body.attrs.get("headerless"):
        header = unnamed_columns(len(header), prefix, first)
        body.columns = header
    return header, body


def _read_each(sources, names) -> list[SiteTable]:
    several = isinstance(sources, (list, tuple))
    sources = list(sources) if several else [sources]
    names = list(names) if isinstance(names, (list, tuple)) else [names] * len(sources)
    tables, numbered = [], 0
    for source, name in zip(sources, names, strict=True):
        where = source_name(source, name)
        header, body = named_cells(source, where, "covariate_", numbered + 1)
        notices = []
        if body.attrs.get("headerless"):
            numbered += len(header)
            notices.append(headerless_notice(where, header))
        meta = read_sidecar(source) if isinstance(source, (str, Path)) else {}
        tables.append(SiteTable(header, body, meta, where, notices))
    return tables


def _joined(tables: list[SiteTable], ids: list[str]) -> SiteTable:
    if len(tables) == 1:
        return tables[0]
    joined = _joined_on_ids(tables, ids) if ids else _joined_by_row_order(tables)
    return joined._replace(meta=_merged_meta(tables, ids))


def with_categorical(table: SiteTable, categorical: Sequence[str]) -> SiteTable:
    """The table with `categorical` columns added to its sidecars' `categorical` list (one-hot
    encoded even when they hold numbers); DataError naming any it does not have."""
    if not categorical:
        return table
    unknown = [c for c in categorical if c not in table.header]
    if unknown:
        raise DataError(f"categorical column(s) {short_list(unknown)} are not columns of "
                        f"{table.where}")
    listed = list(table.meta.get("categorical", []))
    return table._replace(meta={**table.meta,
                                "categorical": listed + [c for c in categorical
                                                         if c not in listed]})


def site_keys(body: pd.DataFrame, header: list[str], ids: list[str], where: str) -> list[str]:
    """Each row's id (the `ids` columns joined); DataError for a missing column or a duplicate."""
    absent = [c for c in ids if c not in header]
    if absent:
        raise DataError(f"{where} has no id column {short_list(absent)}; its columns are "
                        f"{short_list(header, 12)}")
    keys = sample_ids(body, ids)
    counts = pd.Series(keys).value_counts()
    duplicated = counts[counts > 1]
    if len(duplicated):
        shown = short_list([f"{k} ({n} rows)" for k, n in duplicated.items()], 10)
        raise DataError(f"{where}: {len(duplicated)} duplicated id(s) in {', '.join(ids)}: {shown}")
    return keys


def check_same_ids(keys, other_keys, where: str, other_where: str) -> None:
    """DataError listing the ids (up to 10) found in only one of two tables."""
    problems = []
    for here, these, there, those in ((where, keys, other_where, other_keys),
                                      (other_where, other_keys, where, keys)):
        known = set(those)
        only = [k for k in these if k not in known]
        if only:
            problems.append(f"{len(only)} id(s) only in {here}, not in {there}: "
                            f"{short_list(only, 10)}")
    if problems:
        raise DataError("; ".join(problems))


def _joined_on_ids(tables: list[SiteTable], ids: list[str]) -> SiteTable:
    first = tables[0]
    keys = site_keys(first.body, first.header, ids, first.where)
    owners = dict.fromkeys(first.header, first.where)
    parts = [first.body.reset_index(drop=True)]
    for table in tables[1:]:
        other = site_keys(table.body, table.header, ids, table.where)
        check_same_ids(keys, other, first.where, table.where)
        columns = [c for c in table.header if c not in ids]
        _claim(owners, columns, table.where)
        rows = pd.Index(other).get_indexer(keys)
        parts.append(table.body[columns].iloc[rows].reset_index(drop=True))
    return _concatenated(tables, parts, f"on {', '.join(i or UNNAMED_COLUMN for i in ids)}")


def _joined_by_row_order(tables: list[SiteTable]) -> SiteTable:
    lengths = {table.where: len(table.body) for table in tables}
    if len(set(lengths.values())) > 1:
        raise DataError("without an id column the site tables are joined by row order, but "
                        + ", ".join(f"{where} has {n} rows" for where, n in lengths.items())
                        + ": give them an id column, or the same sites in the same order")
    owners: dict[str, str] = {}
    values: dict[str, pd.Series] = {}
    parts = []
    for table in tables:
        body = table.body.reset_index(drop=True)
        # a column named like an id in several tables (R's row names 1..n) is kept once if equal
        repeated = [c for c in table.header if c in values and is_id_name(c)]
        for column in repeated:
            if not body[column].equals(values[column]):
                raise DataError(f"the site tables {owners[column]} and {table.where} both have "
                                f"the id column {column or UNNAMED_COLUMN}, with other values: "
                                "join them on it, or leave it out of one table")
        columns = [c for c in table.header if c not in repeated]
        _claim(owners, columns, table.where)
        values.update({c: body[c] for c in columns if is_id_name(c)})
        parts.append(body[columns])
    return _concatenated(tables, parts, "by row order")


def _claim(owners: dict[str, str], columns: list[str], where: str) -> None:
    """Record that `columns` come from the table `where`; DataError if another table has one."""
    for column in columns:
        if column in owners:
            raise DataError(f"the site tables {owners[column]} and {where} both have the column "
                            f"{column or UNNAMED_COLUMN}: rename one, or leave it out of one "
                            "table")
        owners[column] = where


def _concatenated(tables: list[SiteTable], parts: list[pd.DataFrame], how: str) -> SiteTable:
    body = pd.concat([part.reset_index(drop=True) for part in parts], axis=1)
    where = " + ".join(table.where for table in tables)
    notices = [note for table in tables for note in table.notices]
    notices.insert(0, f"site tables {where} joined {how}: {len(body)} sites, "
                      f"{body.shape[1]} columns")
    return SiteTable(list(body.columns), body, {}, where, notices)


def _merged_meta(tables: list[SiteTable], ids: list[str]) -> dict:
    """The sidecars' lists, table by table; a table without a `features` list gives every column
    but the ids (and id-named ones) when another table's sidecar has one."""
    merged: dict[str, list[str]] = {}
    if any(table.meta.get("features") for table in tables):
        merged["features"] = [
            column for table in tables
            for column in (table.meta.get("features")
                           or [c for c in table.header if c not in ids and not is_id_name(c)])]
    for key in SIDECAR_LISTS[1:]:
        listed = [column for table in tables for column in table.meta.get(key, [])]
        if listed:
            merged[key] = listed
    return merged
