"""Your own tables: a CSV read for the app, guessed column roles, species and covariates joined."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.columns import (
    build_data,
    encode_features,
    id_columns,
    label_matrix,
    sample_ids,
)
from cgmvae.formats.csv_table import is_id_name, read_sidecar
from cgmvae.formats.dates import is_date_column
from cgmvae.formats.encode import check_impute, short_list
from cgmvae.formats.header import headerless_notice
from cgmvae.formats.presence import is_marked_column
from cgmvae.formats.site_tables import (
    UNNAMED_COLUMN,
    check_same_ids,
    named_cells,
    read_site_tables,
    site_keys,
    with_categorical,
)
from cgmvae.formats.text_table import (
    describe_row,
    is_missing,
    read_cells,
    source_name,
    text_frame,
    to_number,
    typed_frame,
)

_MAX_COUNT_VALUES = 20  # a count column with more distinct values is a covariate (e.g. % forest)
MAX_CLASS_CODES = 12  # a covariate of up to this many small whole numbers may be class codes
MAX_CLASS_CODE = 99


def read_csv_table(source, name: str | None = None) -> pd.DataFrame:
    """A CSV (path or file-like upload) as a DataFrame: separator (`,` `;` tab) and decimal comma
    detected, numeric columns as float64 (NaN where missing), the others as text.

    `name` is the upload's display name used in messages (default: the path's file name).
    """
    where = source_name(source, name)
    _, body = read_cells(source, where)
    frame = typed_frame(body)
    frame.attrs.update(body.attrs)  # "headerless": its first row was data, its columns V1, V2...
    return frame


def read_id_columns(source, ids: Sequence[str] | None = None, *,
                    name: str | None = None) -> pd.DataFrame | None:
    """The id column(s) of a CSV of new sites, as text exactly as written (`007` stays `007`).

    Parameters
    ----------
    source : the CSV (path or file-like upload) that predictions are made for.
    ids : the id column(s); default the `id` of a sidecar beside the file, else every column
        named like an id (id, site, plot, sample, *_id, ...); None when there is none.
    name : the upload's display name for messages.
    """
    where = source_name(source, name)
    header, body = read_cells(source, where)
    ids = id_column_names(header, ids, where,
                          sidecar_of=Path(source) if isinstance(source, (str, Path)) else None)
    return body[ids].copy() if ids else None


def id_column_names(header: list[str], ids: Sequence[str] | None, where: str, *,
                    sidecar_of: Path | None = None) -> list[str]:
    """The given id columns, else the `id` ones of the sidecar of the table `sidecar_of` that are
    in `header`, else every column named like an id; DataError naming `where` when a given one
    is not in `header`."""
    if not ids:
        sidecar = read_sidecar(sidecar_of) if sidecar_of is not None else {}
        ids = [c for c in id_columns(sidecar.get("id")) if c in header] or [
            h for h in header if is_id_name(h) and h]
    absent = [c for c in ids if c not in header]
    if absent:
        raise DataError(f"{where} has no id column {short_list(absent)}; its columns are "
                        f"{short_list(header, 12)}")
    return list(ids)


def guess_roles(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Guess which columns are ids, labels (species) and features (covariates).

    - id: named like an id (id, site, sample, plot, *_id, ...), or text with a different value on
      every row;
    - labels: 0/1 columns, and non-negative whole-number (count) columns that hold a 0 and either
      few distinct values (<= 20) or mostly zeros, and columns of releve marks (`x`, `+`, `r`,
      Braun-Blanquet cover codes; empty = absent); but in a presence/absence table (more than
      half of those columns hold only 0 and 1) a numeric column of other whole numbers is a
      covariate: a class or a score such as a decay stage 0-6, not a species; in a table of
      marks, an empty column is a species recorded at no site;
    - features: everything else (numbers, class codes like `A0600`, categories, dates, even a
      date on every row: it is read as the year and the season, `cgmvae.formats.dates`).

    Returns
    -------
    {"id": [...], "labels": [...], "features": [...]}, each in the frame's column order.
    """
    body = text_frame(frame)
    guessed = {name: _guess_role(body[name], name) for name in body.columns}
    labels = [name for name, role in guessed.items() if role == "labels"]
    marked = {name for name in labels if is_marked_column(body[name])}  # x, +, cover codes
    binary = {name for name in labels if _is_binary(body[name])}
    if len(binary) * 2 > len(labels):
        guessed.update({name: "features" for name in labels
                        if name not in binary and name not in marked})
    if marked:  # empty = absent there: an empty column is a species recorded nowhere
        guessed.update({name: "labels" for name, role in guessed.items()
                        if role == "features" and is_missing(body[name]).all()})
    roles = {"id": [], "labels": [], "features": []}
    for name, role in guessed.items():
        roles[role].append(name)
    return roles


def _is_binary(column: pd.Series) -> bool:
    numbers, _ = to_number(column)
    return bool(np.isin(numbers[~np.isnan(numbers)], (0, 1)).all())


def _guess_role(column: pd.Series, name: str) -> str:
    if is_id_name(name):
        return "id"
    numbers, bad = to_number(column)
    present = numbers[~np.isnan(numbers)]
    if bad.size and is_marked_column(column):
        return "labels"
    if bad.size or present.size == 0:
        texts = column[~is_missing(column)]
        unique = texts.size > 1 and texts.nunique() == len(column)
        return "id" if unique and bad.size == texts.size and not is_date_column(column) else (
            "features")
    if np.isin(present, (0, 1)).all():
        return "labels"
    counts = (present >= 0).all() and (present == np.round(present)).all() and (present == 0).any()
    if counts and (np.unique(present).size <= _MAX_COUNT_VALUES or (present == 0).mean() >= 0.5):
        return "labels"
    return "features"


def class_like_covariates(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, str]:
    """The covariates of `frame` that hold a few small whole numbers (3 to MAX_CLASS_CODES
    distinct values in 0..MAX_CLASS_CODE): class codes such as a vegetation type 1-5 often look
    so, and read as numbers their classes become amounts (type 4 twice type 2). A hint, not a
    guess: a score or a month looks the same. {name: "5 values, 1 to 5"}."""
    body = text_frame(frame[[name for name in features if name in frame.columns]])
    found = {}
    for name in body.columns:
        numbers, bad = to_number(body[name])
        values = np.unique(numbers[~np.isnan(numbers)])
        if (not bad.size and 3 <= values.size <= MAX_CLASS_CODES
                and (values == np.round(values)).all()
                and values.min() >= 0 and values.max() <= MAX_CLASS_CODE):
            found[name] = f"{values.size} values, {values.min():g} to {values.max():g}"
    return found


def class_code_notices(body: pd.DataFrame, features: Sequence[str], meta: dict,
                       where: str) -> list[str]:
    """A note naming the covariates read as numbers that look like class codes
    (`class_like_covariates`), unless the sidecar lists them as categorical or ordinal."""
    declared = set(meta.get("categorical", [])) | set(meta.get("ordinal", []))
    found = {name: values for name, values in class_like_covariates(body, features).items()
             if name not in declared}
    if not found:
        return []
    return [f"{where}: covariate(s) {', '.join(f'{n} ({v})' for n, v in found.items())} hold a "
            "few whole numbers and are read as amounts; if they are classes (a vegetation type, "
            "a soil class), mark them categorical (the app's 'Covariates that are categories', "
            "or 'categorical' in a sidecar beside the table)"]


def sidecar_for(roles: dict, **extra) -> dict:
    """The sidecar JSON (as a dict) that makes the CLI read a CSV with these roles:
    `{"id": ..., "labels": [...], "features": [...]}` plus `categorical`/`ordinal` lists when
    given in `roles` and any `extra` keys (title, source...)."""
    meta = dict(extra)
    ids = list(roles.get("id") or [])
    if ids:
        meta["id"] = ids[0] if len(ids) == 1 else ids
    meta["labels"] = list(roles.get("labels") or [])
    meta["features"] = list(roles.get("features") or [])
    for key in ("categorical", "ordinal"):
        if roles.get(key):
            meta[key] = list(roles[key])
    return meta


def load_frame_with_roles(
    frame: pd.DataFrame,
    *,
    ids: Sequence[str] = (),
    labels: Sequence[str],
    features: Sequence[str],
    name: str = "data",
    impute: str | None = None,
    categorical: Sequence[str] = (),
    ordinal: Sequence[str] = (),
) -> MultiLabelData:
    """MultiLabelData from a DataFrame (e.g. `read_csv_table`) and chosen column roles.

    Parameters
    ----------
    frame : one row per sample (site).
    ids, labels, features : column names; each column has at most one role.
    name : the data set's name, also used in messages (e.g. the upload's file name).
    impute : None (missing feature values are an error) or "median".
    categorical, ordinal : feature columns to one-hot encode, or to read as the number in a code.

    Raises
    ------
    DataError naming `name`, the column and the row of a bad value, unknown or doubly used columns.
    """
    check_impute(impute)
    body = text_frame(frame)
    where = source_name(None, name)
    chosen = [*ids, *labels, *features]
    unknown = [c for c in chosen if c not in body.columns]
    if unknown:
        raise DataError(f"{where}: no column(s) {short_list(unknown)}; the columns are "
                        f"{short_list(list(body.columns), 12)}")
    twice = sorted({c for c in chosen if chosen.count(c) > 1})
    if twice:
        raise DataError(f"{where}: column(s) {short_list(twice)} chosen for more than one role")
    meta = {"categorical": list(categorical), "ordinal": list(ordinal)}
    return build_data(body, ids=list(ids), labels=list(labels), features=list(features),
                      meta=meta, impute=impute, where=where, name=Path(where).stem)


def load_two_tables(
    species,
    features,
    id_column: str | Sequence[str] | None,
    *,
    impute: str | None = None,
    species_name: str | None = None,
    features_name: str | None = None,
    categorical: Sequence[str] = (),
) -> MultiLabelData:
    """Join a site x species table (labels) and a site x covariates table (features) on an id.

    Parameters
    ----------
    species, features : paths or file-like objects (uploads), CSV with `,` `;` or tabs;
        `features` may be several site tables (covariates in one, coordinates in another),
        joined to each other as to the species table (`site_tables.read_site_tables`).
    id_column : the id column(s) present in both tables ("" is R's unnamed row-names column);
        None (or []) joins the tables by row order, the same sites in the same order, as
        matrices written without names are (HMSC's Y and X, Norberg et al. 2019's Yt and Xt),
        only when they share no column but id-named ones equal row by row (those and other
        id-named columns are left out; the species table's give `sample_ids`).
        A table whose first row is numbers has no header: its columns are named species_1...
        or covariate_1... in file order.
    impute : None or "median" (features only).
    species_name, features_name : display names of uploads, used in messages (a list of
        names for several site tables).
    categorical : covariates to one-hot encode even when they hold numbers (added to a
        sidecar's `categorical`); covariates that look like class codes but are not listed get
        a note (`class_like_covariates`).

    Returns
    -------
    MultiLabelData in the row order of the species table, named after it, with `sample_ids`.
    Labels: every species column except the id (or the `labels` of a sidecar beside it);
    features: every covariate column except the id (or the `features` of a sidecar beside it).

    Raises
    ------
    DataError naming the file for a missing id column, duplicated ids, ids found in only one
    table (up to 10 listed), bad values (column and row) and columns in both tables.
    """
    check_impute(impute)
    ids = ([id_column] if isinstance(id_column, str)  # "": R's row names, a column too
           else id_columns(id_column, "id_column") if id_column is not None else [])
    y_where = source_name(species, species_name)
    y_header, y_body = named_cells(species, y_where, "species_")
    y_meta = read_sidecar(species) if isinstance(species, (str, Path)) else {}
    sites = with_categorical(read_site_tables(features, features_name, ids), categorical)
    x_header, x_body, x_where = sites.header, sites.body, sites.where
    unnamed = ([headerless_notice(y_where, y_header)] if y_body.attrs.get("headerless")
               else []) + sites.notices
    if not ids:
        return _joined_by_row_order((y_header, y_body, y_meta), sites, y_where, impute, unnamed)
    transposed = len(ids) == 1 and ids[0] not in y_header and ids[0] in x_header
    if transposed:  # a vegetation table (a row per species, a column per site)?
        if not _sites_as_columns(y_header, site_keys(x_body, x_header, ids, x_where)):
            raise DataError(f"{y_where} has no id column '{ids[0]}', and its columns are not the "
                            f"{ids[0]} values of {x_where} either (a table with a row per "
                            f"species and a column per site); its columns are "
                            f"{short_list(y_header, 12)}")
        y_header, y_body = _species_rows_to_columns(y_header, y_body, ids[0], y_where)
    y_keys = site_keys(y_body, y_header, ids, y_where)
    x_keys = site_keys(x_body, x_header, ids, x_where)
    check_same_ids(y_keys, x_keys, y_where, x_where)
    label_names = _role_columns(y_meta, y_header, ids, "labels", y_where)
    feature_names = _role_columns(sites.meta, x_header, ids, "features", x_where)
    both = [c for c in label_names if c in feature_names]
    if both:
        raise DataError(f"column(s) {short_list(both)} are in both {y_where} and {x_where}: "
                        "rename them or list the features in a sidecar")
    x_matrix, x_names, notices = encode_features(x_body, feature_names, sites.meta, impute,
                                                 x_where)
    notices += class_code_notices(x_body, feature_names, sites.meta, x_where)
    order = pd.Index(x_keys).get_indexer(y_keys)  # each species row's covariate row
    labels, label_notices = label_matrix(y_body, label_names, y_where)
    data = MultiLabelData(x_matrix[order], labels, x_names, label_names,
                          name=Path(y_where).stem, sample_ids=sample_ids(y_body, ids))
    joined = (f"joined {y_where} and {x_where} on "
              f"{', '.join(i or UNNAMED_COLUMN for i in ids)}: {len(y_keys)} sites")
    if transposed:
        joined += (f" ({y_where} read with a row per species and a column per site, as vegetation "
                   "tables are written)")
    return replace(data, notices=[joined, *unnamed, *notices, *label_notices])


def _joined_by_row_order(species_table, sites, y_where: str, impute, unnamed: list[str]
                         ) -> MultiLabelData:
    """The species table's rows and the site table's paired in order (no id): every column of
    the species table but those named like ids is a species, of the site table a covariate (or
    their sidecars' lists); `unnamed`: the notes on tables without a header row."""
    y_header, y_body, y_meta = species_table
    x_header, x_body, x_where = sites.header, sites.body, sites.where
    shared = [c for c in y_header if c in set(x_header)
              and not (is_id_name(c) and y_body[c].equals(x_body[c]))]  # R's 1..n row names
    if shared:
        raise DataError(f"{y_where} and {x_where} share the column(s) "
                        f"{short_list([c or UNNAMED_COLUMN for c in shared])}: name the id column "
                        "that joins them (without one, tables are joined by row order, for "
                        "tables that have no id)")
    if len(y_body) != len(x_body):
        raise DataError(f"without an id column the tables are joined by row order, but "
                        f"{y_where} has {len(y_body)} rows and {x_where} {len(x_body)}: give "
                        "both an id column, or the same sites in the same order")
    # columns named like ids (R's row names "", site, plot_id...) are no species or covariates
    y_ids, x_ids = ([h for h in header if is_id_name(h)] for header in (y_header, x_header))
    label_names = _role_columns(y_meta, y_header, y_ids, "labels", y_where)
    feature_names = _role_columns(sites.meta, x_header, x_ids, "features", x_where)
    x_matrix, x_names, notices = encode_features(x_body, feature_names, sites.meta, impute,
                                                 x_where)
    notices += class_code_notices(x_body, feature_names, sites.meta, x_where)
    labels, label_notices = label_matrix(y_body, label_names, y_where)
    data = MultiLabelData(x_matrix, labels, x_names, label_names, name=Path(y_where).stem,
                          sample_ids=sample_ids(y_body, y_ids))
    joined = (f"joined {y_where} and {x_where} by row order (no id column in common): "
              f"{len(y_body)} sites; row k of one is taken to be the site of row k of the other")
    for ids, where in ((y_ids, y_where), (x_ids, x_where)):
        if ids:
            joined += (f"; {where}'s column(s) {short_list([i or UNNAMED_COLUMN for i in ids])} "
                       "named like ids, left out")
    return replace(data, notices=[joined, *unnamed, *notices, *label_notices])


def _sites_as_columns(header: list[str], keys: list[str]) -> bool:
    """Whether a species table's columns after the first are sites: most are ids of the site
    table (those that are not are listed by the id check that follows)."""
    known = set(keys)
    return len(header) > 1 and sum(h in known for h in header[1:]) * 2 > len(header) - 1


def _species_rows_to_columns(header: list[str], body: pd.DataFrame, id_name: str,
                             where: str) -> tuple[list[str], pd.DataFrame]:
    """A species x sites table (species names in its first column, a column per site) as the
    sites x species table the loaders read, with the sites in an `id_name` column."""
    names = body[header[0]].astype(str).str.strip()
    unnamed = np.flatnonzero(names.to_numpy() == "")
    if unnamed.size:
        raise DataError(f"{where}: the species name (first column, '{header[0]}') is empty at "
                        f"{describe_row(int(unnamed[0]), where)}")
    duplicated = sorted(set(names[names.duplicated()]))
    if duplicated:
        raise DataError(f"{where}: species listed twice in its first column: "
                        f"{short_list(duplicated, 10)}")
    if id_name in set(names):
        raise DataError(f"{where}: a species is named '{id_name}', the id column's name")
    cells = body[header[1:]].T.reset_index(drop=True)
    cells.columns = names.tolist()
    cells.insert(0, id_name, header[1:])
    return list(cells.columns), cells


def _role_columns(meta: dict, header: list[str], ids: list[str], role: str, where: str
                  ) -> list[str]:
    """A sidecar's `labels`/`features` (`meta`), else every column but the ids."""
    chosen = list(meta.get(role) or [c for c in header if c not in ids])
    unknown = [c for c in chosen if c not in header]
    if unknown:
        raise DataError(f"{where}: sidecar {role} {short_list(unknown)} are not columns of it")
    if not chosen:
        raise DataError(f"{where} has no {role} columns besides the id")
    return chosen
