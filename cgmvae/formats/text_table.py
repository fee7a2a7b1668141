"""Delimited text tables: separator (`,` `;` tab) and decimal comma detected, cells kept as text."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.encode import check_unique_names
from cgmvae.formats.header import HEADER_CHECK_ROWS, header_of

SEPARATORS = (",", ";", "\t")
MISSING_WORDS = {"", "na", "nan", "null", "none", "?", "n/a", "#n/a"}  # compared lower-case
_SAMPLE_LINES = 50
# A number written with a decimal comma (European Excel exports: `1,5`, `-0,25`, `3,1e-2`).
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")


def source_name(source, name: str | None = None) -> str:
    """The file name to show in messages: `name` (an upload's display name), else the path's or
    the file object's base name; never a folder or temporary path."""
    if name:
        return Path(str(name)).name
    if isinstance(source, (str, Path)):
        return Path(source).name
    found = getattr(source, "name", None)
    return Path(str(found)).name if isinstance(found, (str, Path)) and found else "the CSV"


def read_text(source, where: str) -> str:
    """The whole text of a path or file-like object (text or bytes; UTF-8 with or without BOM,
    else Latin-1)."""
    try:
        if isinstance(source, (str, Path)):
            raw = Path(source).read_bytes()
        else:
            if hasattr(source, "seek"):
                source.seek(0)  # an upload read once already (e.g. for a preview)
            raw = source.read()
    except OSError as err:
        raise DataError(f"cannot read {where}: {err.strerror or err}") from None
    if isinstance(raw, str):
        return raw.lstrip("\ufeff")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # older Excel exports


def detect_format(text: str) -> tuple[str, str]:
    """(separator, decimal mark) of a delimited table, from its first lines.

    The separator is the candidate that splits every sampled line into the same number (> 1) of
    fields, the most fields winning; the decimal mark is `,` only when the separator is not a comma
    and some cell looks like `1,5`.
    """
    lines = [line for line in text.splitlines()[:_SAMPLE_LINES + 1] if line.strip()]
    if len(text.splitlines()) > _SAMPLE_LINES + 1:
        lines = lines[:-1]  # may be cut inside a quoted field
    best, best_key = ",", (False, 0)
    for separator in SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=separator)]
        if not counts:
            continue
        key = (len(set(counts)) == 1 and counts[0] > 1, counts[0])
        if key > best_key:
            best, best_key = separator, key
    decimal = "."
    if best != ",":
        cells = (cell for row in csv.reader(lines[1:], delimiter=best) for cell in row)
        if any(_DECIMAL_COMMA.match(cell) for cell in cells):
            decimal = ","
    return best, decimal


def read_cells(source, where: str) -> tuple[list[str], pd.DataFrame]:
    """Header and body (all cells as stripped text) of a CSV, separator and decimal detected,
    of a Parquet file (`where` ending in `.parquet`: numbers written as a CSV would hold them) or
    of an Excel workbook's first sheet (`.xlsx`, `.xlsm`).

    Decimal commas are rewritten as points, so that `to_number` reads them.

    Raises
    ------
    DataError naming `where` for unreadable, empty or header-only files and duplicated columns.
    """
    if where.lower().endswith(".parquet"):
        from cgmvae.formats.arrow_text import read_parquet_cells  # pyarrow only when needed

        return read_parquet_cells(source, where)
    if where.lower().endswith((".xlsx", ".xlsm")):
        from cgmvae.formats.excel import read_excel_cells  # openpyxl only when needed

        return read_excel_cells(source, where)
    text = read_text(source, where)
    if not text.strip():
        raise DataError(f"{where} is empty")
    separator, decimal = detect_format(text)
    try:
        raw = pd.read_csv(io.StringIO(text), sep=separator, header=None, dtype=str,
                          keep_default_na=False, skipinitialspace=True, skip_blank_lines=True)
    except pd.errors.ParserError as err:
        raise DataError(f"cannot read {where} as a table separated by {_say(separator)}: "
                        f"{_first_line(err)}") from None
    # a first row of data: a matrix written without names (R's write.table(col.names = FALSE))
    header, headerless = header_of([str(h).strip() for h in raw.iloc[0]], decimal,
                                   raw.iloc[1:HEADER_CHECK_ROWS + 1].to_numpy())
    check_unique_names(header, where)
    body = raw.iloc[0 if headerless else 1:].reset_index(drop=True)
    if body.empty:
        raise DataError(f"{where} has a header but no data rows")
    body.columns = header
    body = body.apply(lambda column: column.str.strip())
    if decimal == ",":
        body = body.apply(lambda column: column.where(~column.str.match(_DECIMAL_COMMA),
                                                      column.str.replace(",", ".", regex=False)))
    body.attrs["headerless"] = headerless
    return header, body


def _say(separator: str) -> str:
    return {"\t": "tabs", ";": "semicolons"}.get(separator, "commas")


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__


def describe_row(row: int, where: str = "") -> str:
    """Data row `row` (0-based) of a table with one header line, for messages; a Parquet file
    or an Excel workbook (`where` ending in `.parquet`, `.xlsx`) has rows but no lines."""
    if where.lower().endswith((".parquet", ".xlsx", ".xlsm")):  # no lines (a sheet may skip rows)
        return f"data row {row + 1}"
    return f"data row {row + 1} (line {row + 2})"


def is_missing(column: pd.Series) -> np.ndarray:
    """True where a text cell is empty or a missing-value word (NA, nan, ?, ...)."""
    return column.isna().to_numpy() | column.str.strip().str.lower().isin(MISSING_WORDS).to_numpy()


def to_number(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with NaN where missing, and the rows holding something non-numeric (or infinite)."""
    numbers = (pd.to_numeric(column.str.strip(), errors="coerce")
               .to_numpy(dtype=np.float64, copy=True))
    missing = is_missing(column)
    bad = np.flatnonzero(~np.isfinite(numbers) & ~missing)
    numbers[missing] = np.nan
    return numbers, bad


def non_numeric(column: pd.Series, name: str, bad: np.ndarray, *, first_row: int = 0,
                where: str = "") -> str:
    """`column 'x' has the non-numeric value 'abc' at data row 3 (line 4) (2 such rows)`;
    `first_row`: the table row of the column's first cell (a chunk of a big table)."""
    value = column.iat[bad[0]]
    kind = "infinite" if np.isinf(pd.to_numeric(value, errors="coerce")) else "non-numeric"
    return (f"column '{name}' has the {kind} value {value!r} at "
            f"{describe_row(first_row + bad[0], where)} ({bad.size} such rows)")


def typed_frame(body: pd.DataFrame) -> pd.DataFrame:
    """A text body with every fully numeric column as float64 (missing = NaN), the rest as text;
    codes with leading zeros (`007`) stay text, so ids keep their spelling."""
    typed = {}
    for name in body.columns:
        numbers, bad = to_number(body[name])
        keep_text = bad.size or np.isnan(numbers).all() or body[name].str.match(r"[-+]?0\d").any()
        typed[name] = body[name] if keep_text else numbers
    return pd.DataFrame(typed, index=body.index)


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Any DataFrame as text cells ('' where missing), the form the loaders read."""
    cells = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == bool:
            column = column.astype(int)
        text = column.map(lambda v: "" if _is_na(v) else _format(v))
        cells[str(name).strip()] = text.astype(object)
    return pd.DataFrame(cells).reset_index(drop=True)


def _is_na(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _format(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()
