"""ARFF data rows: dense rows via pandas, sparse `{index value, ...}` rows into scipy CSR."""

from __future__ import annotations

import contextlib
import csv
import io
import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cgmvae.data import DataError
from cgmvae.formats.arff_header import QUOTED, Attribute, unquote

_PAIR = re.compile(rf"\s*(\d*\s*(?:{QUOTED}|[^,]*))\s*(?:,|$)")


def parse_dense(rows: list[str], attributes: list[Attribute], origins: list[str]) -> np.ndarray:
    """Dense rows as (N, A) numbers and category codes, NaN for missing values."""
    n_attrs = len(attributes)
    for i, row in enumerate(rows):
        count = _field_count(row)
        if count != n_attrs:
            raise DataError(f"{origins[i]}: {count} values, expected {n_attrs} (one per attribute)")
    if not rows:
        return np.zeros((0, n_attrs))
    text_columns = {j: object for j, a in enumerate(attributes) if a.kind != "numeric"}
    frame = pd.read_csv(
        io.StringIO("\n".join(rows)), header=None, names=range(n_attrs), dtype=text_columns,
        quotechar="'", escapechar="\\", skipinitialspace=True, na_values=["?", ""],
        keep_default_na=False,
    )
    values = np.zeros((len(rows), n_attrs))
    by_categories: dict[tuple[str, ...], list[int]] = {}
    for j, attribute in enumerate(attributes):
        if attribute.kind == "numeric":
            values[:, j] = _numeric_column(frame[j], attribute, origins)
        elif attribute.kind == "nominal":
            by_categories.setdefault(attribute.categories, []).append(j)
    for categories, columns in by_categories.items():  # e.g. genbase: 1186 x {YES,NO} at once
        values[:, columns] = _nominal_codes(frame[columns].to_numpy(dtype=object), categories)
        _check_codes(values[:, columns], frame[columns], [attributes[j] for j in columns], origins)
    return values


def _field_count(row: str) -> int:
    if "'" not in row and '"' not in row:
        return row.count(",") + 1  # the fast, usual case
    return len(next(csv.reader([row], quotechar="'", escapechar="\\", skipinitialspace=True)))


def _numeric_column(column: pd.Series, attribute: Attribute, origins: list[str]) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & column.notna().to_numpy())
    if bad.size:
        raise DataError(f"{origins[bad[0]]}: numeric attribute '{attribute.name}' has the "
                        f"non-numeric value {column.iloc[bad[0]]!r}")
    return numbers.to_numpy(dtype=np.float64)


def _nominal_codes(block: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    codes = np.full(block.shape, np.nan)
    for code, category in enumerate(categories):
        codes[block == category] = code
    for i, j in zip(*np.nonzero(np.isnan(codes) & pd.notna(block)), strict=True):
        stripped = str(block[i, j]).strip()  # a space before the comma
        if stripped in categories:
            codes[i, j] = categories.index(stripped)
    return codes


def _check_codes(codes, frame: pd.DataFrame, attributes: list[Attribute], origins) -> None:
    bad = np.isnan(codes) & frame.notna().to_numpy()
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise DataError(f"{origins[i]}: value {frame.iat[i, j]!r} of attribute "
                        f"'{attributes[j].name}' is not one of "
                        f"{{{','.join(attributes[j].categories)}}}")


def parse_sparse(rows: list[str], attributes: list[Attribute], origins: list[str]) -> sp.csr_matrix:
    """Sparse rows as CSR (N, A): omitted entries are 0 (the first category of a nominal)."""
    for i, row in enumerate(rows):
        if not row.endswith("}"):
            raise DataError(f"{origins[i]}: sparse row does not end with '}}'")
    bodies = [row[1:-1].strip() for row in rows]
    counts = np.array([body.count(",") + 1 if body else 0 for body in bodies], dtype=np.int64)
    fast = _fast_entries(bodies, counts)
    if fast is None:
        row_ids, columns, values = _slow_entries(bodies, attributes, origins)
        counts = np.bincount(row_ids, minlength=len(rows))
    else:
        row_ids = np.repeat(np.arange(len(rows)), counts)
        columns, values = fast
    _check_indices(row_ids, columns, len(attributes), origins)
    if fast is not None:
        values = _sparse_codes(columns, values, attributes, row_ids, origins)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    shape = (len(rows), len(attributes))
    return sp.csr_matrix((values.astype(np.float32), columns, indptr), shape=shape)


def _fast_entries(bodies: list[str], counts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """All `index value` pairs at once when every value is a plain number (the usual case)."""
    text = ",".join(body for body in bodies if body)
    if "'" in text or '"' in text:
        return None
    tokens = text.replace(",", " ").split()
    if len(tokens) != 2 * counts.sum():
        return None
    try:
        return np.array(tokens[0::2], dtype=np.int64), np.array(tokens[1::2], dtype=np.float64)
    except ValueError:
        return None  # a nominal word, '?' or a typo: the slow path says which


def _slow_entries(bodies, attributes, origins) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair by pair, with codes for nominal values and NaN for '?', naming the first bad row."""
    row_ids, columns, values = [], [], []
    for i, body in enumerate(bodies):
        for pair in (m.group(1) for m in _PAIR.finditer(body) if m.end() > m.start()):
            index, _, value = pair.strip().partition(" ")
            if not index.isdigit() or not value.strip():
                raise DataError(f"{origins[i]}: cannot read the sparse entry {pair.strip()!r}")
            column = int(index)
            if column >= len(attributes):
                raise DataError(f"{origins[i]}: attribute index {column} is outside "
                                f"0..{len(attributes) - 1}")
            row_ids.append(i)
            columns.append(column)
            kind = attributes[column].kind
            values.append(_one_value(unquote(value), kind, column, attributes, origins[i]))
    as_int = np.array(row_ids, dtype=np.int64), np.array(columns, dtype=np.int64)
    return *as_int, np.array(values, dtype=np.float64)


def _one_value(value: str, kind: str, column: int, attributes, where: str) -> float:
    if value == "?":
        return np.nan
    if kind == "nominal":
        categories = attributes[column].categories
        if value not in categories:
            raise DataError(f"{where}: value {value!r} of attribute '{attributes[column].name}' "
                            f"is not one of {{{','.join(categories)}}}")
        return float(categories.index(value))
    if kind != "numeric":
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise DataError(f"{where}: numeric attribute '{attributes[column].name}' has the "
                        f"non-numeric value {value!r}") from None


def _check_indices(row_ids, columns, n_attrs, origins) -> None:
    outside = np.flatnonzero((columns < 0) | (columns >= n_attrs))
    if outside.size:
        raise DataError(f"{origins[row_ids[outside[0]]]}: attribute index {columns[outside[0]]} "
                        f"is outside 0..{n_attrs - 1}")
    keys = row_ids * n_attrs + columns
    unordered = np.flatnonzero(np.diff(keys) <= 0)
    if unordered.size:
        where = origins[row_ids[unordered[0] + 1]]
        raise DataError(f"{where}: attribute indices must increase along a sparse row "
                        f"(index {columns[unordered[0] + 1]} repeats or goes back)")


def _sparse_codes(columns, values, attributes, row_ids, origins) -> np.ndarray:
    """Turn the values of nominal attributes into category codes (numbers named as categories)."""
    values = values.copy()
    order = np.argsort(columns, kind="stable")
    bounds = np.searchsorted(columns[order], np.arange(len(attributes) + 1))
    for j, attribute in enumerate(attributes):
        entries = order[bounds[j]:bounds[j + 1]]
        if attribute.kind == "nominal" and entries.size:
            values[entries] = _codes_of(values[entries], attribute, origins, row_ids[entries])
        elif attribute.kind in ("string", "date"):
            values[entries] = 0.0
    return values


def _codes_of(numbers, attribute, origins, row_ids) -> np.ndarray:
    lookup = {}
    for code, category in enumerate(attribute.categories):
        # a word category: its values never reach the numbers-only fast path
        with contextlib.suppress(ValueError):
            lookup[float(category)] = code
    uniques, inverse = np.unique(numbers, return_inverse=True)
    mapped = np.empty(uniques.size)
    for k, number in enumerate(uniques):
        if np.isnan(number):
            mapped[k] = np.nan
        elif number in lookup:
            mapped[k] = lookup[number]
        else:
            row = row_ids[np.flatnonzero(inverse == k)[0]]
            raise DataError(f"{origins[row]}: value {number:g} of attribute '{attribute.name}' "
                            f"is not one of {{{','.join(attribute.categories)}}}")
    return mapped[inverse]
