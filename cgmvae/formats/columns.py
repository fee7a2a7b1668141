"""Text columns to model inputs: numeric, coded (`A0600` -> 600), one-hot features; labels; ids."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.dates import date_parts, is_date_column, part_names
from cgmvae.formats.encode import binarize_labels, fill_missing, short_list
from cgmvae.formats.presence import empty_cells, marks_notice, read_marks
from cgmvae.formats.text_table import describe_row, is_missing, non_numeric, to_number

# A class code: one letter then 3+ digits, e.g. altitude class A0600 (same letter on every row).
# Short codes (region R1, R2) are categories, so they stay text and are one-hot encoded.
_CODED = re.compile(r"^([A-Za-z])(\d{3,})$")
# An optional text prefix then a number: a sidecar-ordinal value (A0600, cls_3, 7), or a model's
# numeric input written with a prefix shared by every row (prefixed_numbers).
_PREFIXED = re.compile(r"^([A-Za-z_ .-]*?)([-+]?\d+(?:\.\d+)?)$")
ID_SEPARATOR = "|"  # joins the values of several id columns into one sample id


def id_columns(value, where: str = "the sidecar") -> list[str]:
    """The id column(s) named by a sidecar's `id` (a name or a list of names), [] when absent."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise DataError(f"{where}: 'id' must be a column name or a list of names, not {value!r}")


def sample_ids(body: pd.DataFrame, ids: Sequence[str]) -> list[str] | None:
    """Each row's id (several id columns joined by '|'), or None without id columns."""
    if not ids:
        return None
    texts = [body[name].astype(str) for name in ids]
    return (texts[0].str.cat(texts[1:], sep=ID_SEPARATOR) if len(texts) > 1 else texts[0]).tolist()


def coded_numbers(column: pd.Series) -> np.ndarray | None:
    """The numbers of a class-code column (`A0600`, `A1500`: one shared letter then 3+ digits),
    NaN where missing; None when the column is not such a code."""
    return _shared_prefix_numbers(column, _CODED, column)


def prefixed_numbers(column: pd.Series) -> np.ndarray | None:
    """The numbers of a column whose values are one shared text prefix then a number (class codes
    `A0600`, sidecar-ordinal classes `cls_3`), NaN where missing; None for any other column. How a
    model's numeric input is read from a table coded as its training table was."""
    return _shared_prefix_numbers(column, _PREFIXED, column.str.strip())


def _shared_prefix_numbers(column: pd.Series, pattern: re.Pattern,
                           text: pd.Series) -> np.ndarray | None:
    """`pattern`'s second group as numbers when every present value of `text` (the column, maybe
    stripped) matches it with one and the same first group; None otherwise."""
    missing = is_missing(column)
    if missing.all():
        return None
    parts = text[~missing].str.extract(pattern)
    if parts[1].isna().any() or parts[0].nunique() != 1:
        return None
    numbers = np.full(len(column), np.nan)
    numbers[~missing] = parts[1].astype(float).to_numpy()
    return numbers


def class_numbers(column: pd.Series, *, letter: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of a class-code column whose codes start with `letter` (`A0600`), or, with
    `letter` None, of an ordinal column (`cls_3`, `7`): NaN where missing, and the rows that hold
    something else. Read as `coded_numbers` and `ordinal_numbers` read a whole column, so a
    column decided on as a whole reads the same a row group at a time."""
    missing = is_missing(column)
    if letter is None:
        digits = column.str.extract(_PREFIXED)[1]
    else:
        parts = column.str.extract(_CODED)
        digits = parts[1].where(parts[0] == letter)
    numbers = pd.to_numeric(digits, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    bad = np.flatnonzero(np.isnan(numbers) & ~missing)
    numbers[missing] = np.nan
    return numbers, bad


def ordinal_numbers(column: pd.Series, name: str, where: str) -> np.ndarray:
    """The number in each value of a column the sidecar calls `ordinal`; DataError naming the row
    of a value without one."""
    numbers, bad = class_numbers(column, letter=None)
    if bad.size:
        raise DataError(f"{where}: ordinal column '{name}' has the value {column.iat[bad[0]]!r} "
                        f"without a number at {describe_row(bad[0], where)}")
    return numbers


class EncodedColumn(NamedTuple):
    """One feature column as model inputs: its numbers (N,), its year and day of year (N, 2) if
    it holds dates, or its one-hot block (N, k)."""

    values: np.ndarray | None  # None when a big table's reader already holds the numbers
    names: list[str]  # [name], [name_year, name_day_of_year], or `name=value` per one-hot column
    one_hot: bool
    note: str | None  # `name (A0600 -> 600)` for class codes, `name (k values)` for one-hot
    dates: bool = False  # a column of dates (read as two numbers, or one-hot if `categorical`)


def encode_column(column: pd.Series, name: str, meta: dict, impute, where) -> EncodedColumn:
    """A text feature column as numbers (plain, class codes, or sidecar `ordinal`), as its year
    and day of year when it holds dates (`cgmvae.formats.dates`), or one-hot when it is other
    text or named by the sidecar's `categorical`."""
    dates = is_date_column(column)
    categorical, ordinal = (name in set(meta.get(key, [])) for key in ("categorical", "ordinal"))
    if dates and not (categorical or ordinal):
        return EncodedColumn(values=date_parts(column, name, where), names=part_names(name),
                             one_hot=False, note=None, dates=True)
    if not categorical:
        values, code_note = _numbers(column, name, ordinal, where)
        if values is not None:
            return EncodedColumn(values=values, names=[name], one_hot=False, note=code_note)
    block, labels = _one_hot(column, name, impute, where)
    return EncodedColumn(values=block, names=labels, one_hot=True,
                         note=f"{name} ({len(labels)} values)", dates=dates)


def encode_features(body, names, meta, impute, where) -> tuple[np.ndarray, list[str], list[str]]:
    """Numeric columns as they are, class codes and sidecar `ordinal` columns as their numbers,
    text (or sidecar `categorical`) columns one-hot after them."""
    columns = [encode_column(body[name], name, meta, impute, where) for name in names]
    numeric = [c.values for c in columns if not c.one_hot]  # (N,) or a date's (N, 2)
    matrix = np.column_stack(numeric) if numeric else np.zeros((len(body), 0))
    return finish_features(matrix, columns, impute, where)


def finish_features(matrix: np.ndarray, columns: Sequence[EncodedColumn], impute,
                    where) -> tuple[np.ndarray, list[str], list[str]]:
    """(features, names, notices): the numeric columns `matrix` (N, k), in the order of the
    non-one-hot `columns` (a date column gives two), missing values filled or refused, then the
    one-hot blocks."""
    numeric_names = [n for c in columns if not c.one_hot for n in c.names]
    note = fill_missing(matrix, numeric_names, impute=impute,
                        describe_row=partial(describe_row, where=where), where=where)
    notices = ([note] if note else []) + encoding_notices(columns)
    blocks = [c.values for c in columns if c.one_hot]
    features = np.hstack([matrix, *blocks]) if blocks else matrix
    names = numeric_names + [n for c in columns if c.one_hot for n in c.names]
    return features.astype(np.float32, copy=False), names, notices


def encoding_notices(columns: Sequence[EncodedColumn]) -> list[str]:
    """What a user is told about the class-code columns read as numbers and the text columns
    one-hot encoded."""
    notices = []
    coded = [c.note for c in columns if c.note and not c.one_hot]
    encoded = [c.note for c in columns if c.one_hot]
    if coded:
        notices.append(f"read class-code column(s) {short_list(coded)} as numbers; name them in "
                       "the sidecar's 'categorical' to one-hot encode them instead")
    if encoded:
        notices.append(f"one-hot encoded category column(s) {short_list(encoded)} as "
                       "'column=value' columns after the numeric ones")
    read = [c.names[0].removesuffix("_year") for c in columns if c.dates and not c.one_hot]
    if read:
        notices.append(f"read the date column(s) {short_list(read)} as two numbers each, "
                       "`<column>_year` (a trend) and `<column>_day_of_year` (the season), so "
                       "sites surveyed on any date can be scored")
    dated = [c.names[0].split("=")[0] for c in columns if c.one_hot and c.dates]
    if dated:
        notices.append(f"column(s) {short_list(dated)} hold dates but are named 'categorical' in "
                       "the sidecar, so they are one-hot encoded like any text: the model cannot "
                       "score a site surveyed on a date it never saw. Leave them out of "
                       "'categorical' to read each as a year and a day of the year")
    return notices


def _numbers(column, name, ordinal, where) -> tuple[np.ndarray | None, str | None]:
    """(numbers, a note if read from class codes), or (None, None) for a text column to one-hot."""
    if ordinal:
        return ordinal_numbers(column, name, where), None
    values, bad = to_number(column)
    if not bad.size:
        return values, None
    codes = coded_numbers(column)
    if codes is not None:
        example = column[~is_missing(column)].iat[0]
        return codes, f"{name} ({example} -> {codes[~np.isnan(codes)][0]:g})"
    if bad.size > 0.5 * (~is_missing(column)).sum():  # mostly text; a typo in numbers is an error
        return None, None
    raise DataError(f"{where}: {non_numeric(column, name, bad, where=where)}")


def _one_hot(column: pd.Series, name: str, impute, where) -> tuple[np.ndarray, list[str]]:
    text = column.str.strip()
    missing = is_missing(column)
    if missing.any():
        if impute is None:
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{where}: missing value in column '{name}' at "
                            f"{describe_row(row, where)}; "
                            "fix the file or load with impute='median' (text: most frequent)")
        text = text.where(~missing, text[~missing].mode().iat[0])
    categories = sorted(text.unique())
    block = (text.to_numpy()[:, None] == np.array(categories, dtype=object)).astype(np.float32)
    return block, [f"{name}={c}" for c in categories]


def label_matrix(body, names, where) -> tuple[np.ndarray, list[str]]:
    """(N, L) 0/1 labels from 0/1, count or presence-mark columns (`cgmvae.formats.presence`),
    with notices; DataError names column and row."""
    columns, empty, marked = [], [], []
    for name in names:
        values, has_mark = read_marks(body[name], *to_number(body[name]), name, where)
        columns.append(values)
        empty.append(empty_cells(body[name]))
        if has_mark:
            marked.append(name)
    matrix = np.column_stack(columns)
    if marked:  # the table writes presence with marks: an empty cell is absence
        matrix[np.column_stack(empty)] = 0.0
    labels, notices = binarize_labels(matrix, list(names), where=where,
                                      describe_row=partial(describe_row, where=where))
    return labels, marks_notice(marked, list(names)) + notices


def build_data(body, *, ids, labels, features, meta, impute, where, name) -> MultiLabelData:
    """MultiLabelData from a text body and the roles of its columns."""
    if not labels:
        raise DataError(f"{where}: no label (species) columns chosen")
    if not features:
        raise DataError(f"{where}: no feature (covariate) columns chosen")
    matrix, feature_names, notices = encode_features(body, features, meta, impute, where)
    label_values, label_notices = label_matrix(body, labels, where)
    return MultiLabelData(matrix, label_values, feature_names, list(labels), name=name,
                          notices=notices + label_notices, sample_ids=sample_ids(body, ids))
