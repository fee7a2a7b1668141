"""Big tables through pyarrow: CSV and Parquet read batch by batch, columns as numbers or text,
and CSV converted to Parquet."""

from __future__ import annotations

import csv
import functools
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cgmvae.data import DataError
from cgmvae.formats.arrow_text import column_text, first_line
from cgmvae.formats.encode import check_unique_names, short_list
from cgmvae.formats.excel import is_excel, read_excel_cells
from cgmvae.formats.header import HEADER_CHECK_ROWS, header_of
from cgmvae.formats.text_table import MISSING_WORDS, detect_format, to_number
from cgmvae.whole_file import whole_file

BATCH_ROWS = 65_536  # rows per Parquet batch: a few MB per column group, flat memory
ROW_GROUP_ROWS = 65_536  # rows per written row group: the unit of streaming and shuffling
_CSV_BLOCK_BYTES = 8 << 20
_HEAD_BYTES = 1 << 20  # enough lines to detect the separator, decimal mark and encoding
_MISSING_WORDS = pa.array(sorted(MISSING_WORDS))
# `1,5` -> `1.5` in a table whose separator is not a comma (read_cells does the same)
_DECIMAL_COMMA = r"^([-+]?\d*),(\d+(?:[eE][-+]?\d+)?)$"
_LEADING_ZERO = r"^[-+]?0\d"  # `007`: a code whose spelling matters, kept as text


def is_parquet(path) -> bool:
    return str(path).lower().endswith(".parquet")


class _CsvLayout:
    """What the first megabyte of a CSV says: header, separator, decimal mark, encoding."""

    def __init__(self, path: Path, where: str):
        try:
            with open(path, "rb") as handle:
                head = handle.read(_HEAD_BYTES)
                cut = bool(handle.read(1))
        except OSError as err:
            raise DataError(f"cannot read {where}: {err.strerror or err}") from None
        try:
            self.encoding, text = "utf8", head.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            if cut and err.start > len(head) - 4:  # a character cut at the end of the sample
                text = head[:err.start].decode("utf-8-sig")
                self.encoding = "utf8"
            else:
                self.encoding, text = "latin-1", head.decode("latin-1")  # older Excel exports
        lines = text.splitlines()[:-1] if cut else text.splitlines()
        self.longest_line = max(len(line.encode()) + 1 for line in lines) if lines else 1
        self.row_bytes = max(1, len(text.encode()) // max(1, len(lines)))
        if not any(line.strip() for line in lines):
            raise DataError(f"{where} is empty")
        self.separator, self.decimal = detect_format("\n".join(lines))
        blank = next(i for i, line in enumerate(lines) if line.strip())
        names = [h.strip() for h in next(csv.reader([lines[blank]], delimiter=self.separator))]
        following = csv.reader(lines[blank + 1:blank + 1 + HEADER_CHECK_ROWS],
                               delimiter=self.separator)
        # as read_cells decides, over the rows of the first megabyte (fewer than
        # HEADER_CHECK_ROWS only for lines over 1 kB)
        self.header, self.headerless = header_of(names, self.decimal, list(following))
        self.skip_rows = blank if self.headerless else blank + 1
        check_unique_names(self.header, where)


def table_header(path: str | Path) -> list[str]:
    """The column names of a CSV or Parquet file (DataError for unreadable or empty files)."""
    return table_columns(path)[0]


def table_columns(path: str | Path) -> tuple[list[str], bool]:
    """(`table_header`, headerless): whether the first row of a CSV or Excel sheet was data, its
    columns then named V1, V2... (Parquet always names its columns)."""
    path = Path(path)
    if is_parquet(path):
        return _parquet_file(path).schema_arrow.names, False
    if is_excel(path):
        header, body = _excel_cells(path)
        return list(header), bool(body.attrs.get("headerless"))
    layout = _CsvLayout(path, path.name)
    return layout.header, layout.headerless


def iter_batches(path: str | Path, columns: Sequence[str], *,
                 batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The chosen columns of a CSV or Parquet file, a batch of rows at a time (about `batch_rows`
    for a CSV, which pyarrow cuts by bytes), named as in `table_header`. CSV cells come as
    stripped text with decimal commas made points; Parquet columns keep their types.
    DataError naming the file for unreadable, ragged or header-only tables."""
    path = Path(path)
    read = (_parquet_batches if is_parquet(path) else _excel_batches if is_excel(path)
            else _csv_batches)
    batches = read(path, columns, batch_rows)
    seen = 0
    for batch in batches:
        seen += batch.num_rows
        yield batch
    if not seen:
        raise DataError(f"{path.name} has a header but no data rows")


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path, pre_buffer=False)  # pre-buffering holds every batch read
    except (OSError, pa.ArrowException) as err:
        raise DataError(f"cannot read {path.name} as Parquet: {first_line(err)}") from None


def _excel_cells(path: Path) -> tuple[list[str], pd.DataFrame]:
    """`read_excel_cells` of a workbook on disk, parsed once while the file is unchanged: its
    header and its batches are asked for one after the other (never modify the frame)."""
    stat = path.stat()
    return _parsed_workbook(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _parsed_workbook(path: str, _mtime_ns: int, _size: int) -> tuple[list[str], pd.DataFrame]:
    return read_excel_cells(path, Path(path).name)


def _excel_batches(path: Path, columns, batch_rows) -> Iterator[pa.RecordBatch]:
    """A workbook's first sheet, read whole (a spreadsheet is small), as batches of text."""
    _, body = _excel_cells(path)
    check = [c for c in columns if c not in body.columns]
    if check:
        raise DataError(f"{path.name} has no column(s) {short_list(check)}")
    table = pa.table({name: pa.array(body[name].tolist(), pa.string()) for name in columns})
    yield from table.to_batches(max_chunksize=batch_rows)


def _parquet_batches(path: Path, columns, batch_rows) -> Iterator[pa.RecordBatch]:
    parquet = _parquet_file(path)
    check_unique_names(parquet.schema_arrow.names, path.name)
    try:
        yield from parquet.iter_batches(batch_size=batch_rows, columns=list(columns))
    except pa.ArrowException as err:
        raise DataError(f"cannot read {path.name}: {first_line(err)}") from None


def _csv_batches(path: Path, columns, batch_rows: int):
    layout = _CsvLayout(path, path.name)
    # pyarrow cuts a CSV by bytes: about batch_rows rows, at most 8 MB (a block's text cells
    # take about 20 times its size in pyarrow), never less than a few lines
    block_bytes = max(min(batch_rows * layout.row_bytes, _CSV_BLOCK_BYTES),
                      4 * layout.longest_line)
    positional = [f"c{i}" for i in range(len(layout.header))]  # the file's names may repeat spaces
    wanted = [positional[layout.header.index(name)] for name in columns]
    options = (
        pa_csv.ReadOptions(column_names=positional, skip_rows=layout.skip_rows,
                           block_size=block_bytes, encoding=layout.encoding),
        pa_csv.ParseOptions(delimiter=layout.separator),
        pa_csv.ConvertOptions(column_types={c: pa.string() for c in wanted},
                              include_columns=wanted, strings_can_be_null=False),
    )
    try:
        reader = pa_csv.open_csv(path, *options)
        for batch in reader:  # cells stripped, as read_cells strips them
            cells = [_fix_decimal(_stripped(batch.column(c)), layout.decimal) for c in wanted]
            yield pa.RecordBatch.from_arrays(cells, names=list(columns))
    except pa.ArrowInvalid as err:
        separator = {"\t": "tabs", ";": "semicolons"}.get(layout.separator, "commas")
        raise DataError(f"cannot read {path.name} as a table separated by {separator}: "
                        f"{first_line(err)}") from None


def _stripped(cells: pa.Array) -> pa.Array:
    """Cells without surrounding spaces; copied only when some cell has them."""
    padded = pc.any(pc.match_substring_regex(cells, r"^\s|\s$")).as_py()
    return pc.utf8_trim_whitespace(cells) if padded else cells


def _fix_decimal(cells: pa.Array, decimal: str) -> pa.Array:
    if decimal != ",":
        return cells
    return pc.replace_substring_regex(cells, _DECIMAL_COMMA, r"\1.\2")


def column_numbers(cells: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Like `to_number` on a pyarrow column: float64 with NaN where missing (null, NaN, an empty
    cell or a word like NA), and the rows holding something non-numeric or infinite."""
    kind = cells.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or (
            pa.types.is_decimal(kind)):
        numbers = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        return numbers, np.flatnonzero(np.isinf(numbers))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(cells)
        missing = pc.or_(pc.is_null(text), pc.is_in(pc.utf8_lower(text), value_set=_MISSING_WORDS))
        try:
            numbers = pc.cast(pc.if_else(missing, None, text), pa.float64())
        except pa.ArrowInvalid:  # some cell is text (or a spelling pyarrow does not read)
            return to_number(column_text(cells))
        numbers = numbers.to_numpy(zero_copy_only=False)
        return numbers, np.flatnonzero(np.isinf(numbers))
    return to_number(column_text(cells))


def convert_csv(source: str | Path, target: str | Path, *,
                row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """Write a CSV as Parquet, batch by batch, and copy its sidecar `<name>.json` beside it.

    Columns whose every cell is a number become float64 (uint8 when all are whole 0-255 without
    a gap, as 0/1 species are); the rest (ids, codes like `007`, text) stay text. Two passes
    over the CSV: the first decides the types, so the file's schema never changes mid-way.
    """
    source, target = Path(source), Path(target)
    header = table_header(source)
    seen = {name: _ColumnKind() for name in header}
    for batch in iter_batches(source, header):
        for name in header:
            seen[name].update(batch.column(name))
    kinds = {name: seen[name].kind() for name in header}
    types = {"uint8": pa.uint8(), "float64": pa.float64(), "text": pa.string()}
    schema = pa.schema([(name, types[kinds[name]]) for name in header])
    with whole_file(target) as partial, pq.ParquetWriter(partial, schema) as writer:
        for batch in iter_batches(source, header):
            arrays = [_typed(batch.column(name), kinds[name]) for name in header]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema),
                               row_group_size=row_group_rows)
    sidecar, copied = source.with_suffix(".json"), target.with_suffix(".json")
    if sidecar.is_file() and sidecar.resolve() != copied.resolve():
        shutil.copyfile(sidecar, copied)
    return target


class _ColumnKind:
    """What a CSV column's cells were, batch after batch: "uint8", "float64" or "text"."""

    def __init__(self):
        self.text, self.present, self.missing, self.small = False, False, False, True

    def update(self, cells: pa.Array) -> None:
        if self.text:
            return
        numbers, bad = column_numbers(cells)
        if bad.size or pc.any(pc.match_substring_regex(cells, _LEADING_ZERO)).as_py():
            self.text = True
            return
        present = numbers[~np.isnan(numbers)]
        self.present |= present.size > 0
        self.missing |= present.size < numbers.size
        whole = (present >= 0) & (present <= 255) & (present == np.round(present))
        self.small &= bool(whole.all())

    def kind(self) -> str:
        if self.text or not self.present:  # as typed_frame: an empty column is text
            return "text"
        return "uint8" if self.small and not self.missing else "float64"


def _typed(cells: pa.Array, kind: str) -> pa.Array:
    if kind == "text":
        return cells
    numbers, _ = column_numbers(cells)
    if kind == "uint8":
        return pa.array(numbers.astype(np.uint8))
    return pa.array(numbers, from_pandas=True)  # NaN -> null
