"""Excel workbooks (.xlsx, .xlsm) read as the text cells a CSV gives: the first sheet, one header
row. Field surveys are often kept in Excel; a workbook is read without being unpacked to disk,
with `defusedxml` guarding its XML (openpyxl uses it when it is installed)."""

from __future__ import annotations

import datetime as dt
import zipfile

import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.encode import check_unique_names, short_list
from cgmvae.formats.header import HEADER_CHECK_ROWS, header_of

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# Unpacked, a sheet's XML is far bigger than the workbook; a larger one is a zip bomb or a table
# for Parquet, not a spreadsheet.
MAX_UNPACKED_BYTES = 2 << 30


def is_excel(name) -> bool:
    return str(name).lower().endswith(EXCEL_SUFFIXES)


def read_excel_cells(source, where: str) -> tuple[list[str], pd.DataFrame]:
    """Header and body (every cell as stripped text, '' where empty) of a workbook's first sheet.

    Numbers are written as a CSV would hold them (`7`, not `7.0`), TRUE/FALSE as `1`/`0`, dates as
    ISO dates. Fully empty rows and columns (formatting without values) are dropped.

    Raises
    ------
    DataError naming `where` for an unreadable or empty workbook, a sheet without a header or
    with unnamed or duplicated columns.
    """
    import openpyxl

    _check_unpacked_size(source, where)
    book = None
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = [[_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    except Exception as err:  # openpyxl and its XML parser raise many kinds for a bad workbook
        raise DataError(f"cannot read {where} as an Excel workbook (.xlsx): "
                        f"{str(err).strip() or type(err).__name__}") from None
    finally:
        if book is not None:
            book.close()
    rows = [row for row in rows if any(row)]
    if not rows:
        raise DataError(f"{where} is empty (its first sheet, '{sheet.title}', has no values)")
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    used = [j for j in range(width) if any(row[j] for row in rows)]
    table = [[row[j] for j in used] for row in rows]
    header, headerless = header_of(table[0], ".", table[1:HEADER_CHECK_ROWS + 1])
    body = pd.DataFrame(table if headerless else table[1:], columns=header, dtype=object)
    _check_header(header, where, sheet.title)
    if body.empty:
        raise DataError(f"{where} has a header but no data rows (sheet '{sheet.title}')")
    body.attrs["headerless"] = headerless
    return header, body


def _check_unpacked_size(source, where: str) -> None:
    position = source.tell() if hasattr(source, "tell") else None
    try:
        with zipfile.ZipFile(source) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise DataError(f"cannot read {where} as an Excel workbook (.xlsx): not a zip archive "
                        "(an old .xls? save it as .xlsx or CSV)") from None
    finally:
        if position is not None:
            source.seek(position)
    if unpacked > MAX_UNPACKED_BYTES:
        raise DataError(f"{where} unpacks to {unpacked / 2**30:.1f} GB, more than a spreadsheet "
                        "holds: save the sheet as CSV (or convert it to Parquet)")


def _check_header(header: list[str], where: str, sheet: str) -> None:
    unnamed = [k + 1 for k, name in enumerate(header) if not name]
    if unnamed:
        raise DataError(f"{where}: column(s) {short_list([str(k) for k in unnamed])} of sheet "
                        f"'{sheet}' have values but no name in the first row")
    check_unique_names(header, where)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()
