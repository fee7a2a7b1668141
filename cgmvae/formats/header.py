"""Whether a table has a header row: a first row of numbers that no header would have is data
(matrices written without names, as R's write.table(col.names = FALSE) and HMSC's Y and X)."""

from __future__ import annotations

import numpy as np
import pandas as pd

HEADER_CHECK_ROWS = 1000  # rows a numeric first row is compared with (`first_row_is_data`)
NUMBERED_NAMES = 4  # a first row counting up by one over this many columns is names


def first_row_is_data(row: list[str], decimal: str = ".", following=()) -> bool:
    """Whether a table's first row is data rather than column names: every cell a number, two
    cells alike (a 0/1 species row) or one with a fraction (a covariate row), and, given the
    `following` rows (lists of cells), most cells near their column's values there. Column
    names are never written so. Distinct whole numbers (species codes 101, 102, years) stay names
    unless every one lies among its column's values over 10 or more rows (coordinates 505, 275),
    and always when they count up by one over NUMBERED_NAMES or more columns (species numbers
    1, 2, 3... over percent covers, years 2015, 2016... over counts); numbers far from their
    columns' values (wavelengths 400.5 over reflectances) stay names."""
    numbers = _numbers(row, decimal)
    if numbers is None or not numbers.size or not np.isfinite(numbers).all():
        return False
    codes = len(set(numbers.tolist())) == len(numbers) and all(n.is_integer() for n in numbers)
    if codes and len(numbers) >= NUMBERED_NAMES and (np.diff(numbers) == 1).all():
        return False  # 1, 2, 3, ... or 2015, 2016, ...: species numbers or years, not a site
    rows = [list(cells) for cells in following if len(cells) == len(numbers)]
    if not rows:
        return not codes
    text = pd.Series(np.asarray(rows, dtype=object).ravel()).astype(str).str.strip()
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64).reshape(len(rows), -1)
    known = ~np.isnan(values).all(axis=0)  # text cells and missing values count for nothing
    if not known.any():
        return not codes
    with np.errstate(invalid="ignore"):
        low, high = np.nanmin(values[:, known], axis=0), np.nanmax(values[:, known], axis=0)
    numbers = numbers[known]
    if codes:  # names such as codes or years, unless they sit among their columns' values
        margin = 0.1 * (high - low)  # the first site may be the most extreme one
        return bool(len(rows) >= 10
                    and ((numbers >= low - margin) & (numbers <= high + margin)).all())
    # far: beyond the column's values by more than their spread and size (at least 1), as
    # wavelengths over reflectances; a data row of a few rows' table may well lie just outside
    width = np.fmax.reduce([high - low, np.abs(low), np.abs(high), np.ones_like(low)])
    far = (numbers < low - width) | (numbers > high + width)
    return bool(far.mean() <= 0.5)


def _numbers(cells, decimal: str) -> np.ndarray | None:
    """The cells as floats, None when one is not a number."""
    try:
        return np.array([float(str(c).strip().replace(",", ".") if decimal == "," else c)
                         for c in cells], dtype=np.float64)
    except ValueError:
        return None


def header_of(first_row: list[str], decimal: str = ".", following=()) -> tuple[list[str], bool]:
    """(column names, headerless): the first row's cells, or V1, V2... when it is data
    (`first_row_is_data`)."""
    headerless = first_row_is_data(first_row, decimal, following)
    return (unnamed_columns(len(first_row)) if headerless else list(first_row)), headerless


def unnamed_columns(count: int, prefix: str = "V", first: int = 1) -> list[str]:
    """Names for the columns of a table without a header: V1, V2... as R's read.table(header =
    FALSE) gives them (from `first`, for a table whose columns follow another's)."""
    return [f"{prefix}{k}" for k in range(first, first + count)]


def headerless_notice(where: str, header: list[str]) -> str:
    return (f"{where} has no header row (its first row is numbers, and is read as the first "
            f"site): its {len(header)} columns are named {header[0]}-{header[-1]} in file order")
