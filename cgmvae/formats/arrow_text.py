"""pyarrow columns and Parquet files as the text cells the CSV loaders read (no CSV code here,
so that `text_table.read_cells` can read Parquet)."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cgmvae.data import DataError
from cgmvae.formats.encode import check_unique_names


def column_text(cells: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A pyarrow column as the stripped text cells the CSV loaders read ('' where missing);
    whole numbers written without `.0`, as `text_frame` writes them."""
    kind = cells.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.fill_null(pc.utf8_trim_whitespace(cells), "")
        return pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_boolean(kind):
        cells = pc.cast(cells, pa.int8())
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        text = pc.fill_null(pc.cast(cells, pa.string()), "")
        return pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_floating(kind):
        numbers = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        return pd.Series([_number_text(v) for v in numbers.tolist()], dtype=object)
    values = cells.to_pylist()
    return pd.Series(["" if v is None else str(v).strip() for v in values], dtype=object)


def _number_text(value: float) -> str:
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


def read_parquet_cells(source, where: str) -> tuple[list[str], pd.DataFrame]:
    """Header and text body of a whole Parquet file (path or upload), the form `read_cells`
    returns for a CSV: for tables that fit in memory (the app, two tables, predictions)."""
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        table = pq.read_table(source)
    except (OSError, pa.ArrowException) as err:
        raise DataError(f"cannot read {where} as Parquet: {first_line(err)}") from None
    header = [str(name).strip() for name in table.column_names]
    check_unique_names(header, where)
    if table.num_rows == 0:
        raise DataError(f"{where} has a header but no data rows")
    body = pd.DataFrame({name: column_text(table.column(i)) for i, name in enumerate(header)})
    return header, body


def first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
