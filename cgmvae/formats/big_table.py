"""Big CSV and Parquet tables loaded batch by batch into numpy arrays, never as one pandas frame.

`load_table` gives the same MultiLabelData as `load_csv` (same sidecar, options, notices and
messages) while holding at most one batch of cells: features go straight into float32 columns,
labels into uint8. A text feature column (categories, class codes) is read again on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cgmvae.data import MultiLabelData
from cgmvae.formats.columns import (
    EncodedColumn,
    encode_column,
    finish_features,
    id_columns,
    sample_ids,
)
from cgmvae.formats.csv_table import (
    check_columns,
    feature_columns,
    guessed_ids,
    label_columns,
    read_sidecar,
)
from cgmvae.formats.encode import binarize_labels, check_impute, never_present_notice, short_list
from cgmvae.formats.parquet import (
    BATCH_ROWS,
    column_numbers,
    column_text,
    iter_batches,
    table_columns,
)
from cgmvae.formats.presence import empty_cells, marks_notice, read_marks
from cgmvae.formats.header import headerless_notice
from cgmvae.formats.text_table import describe_row

# `load_dataset` reads a CSV bigger than this here: its text cells as one pandas frame would
# take about 20 times the file's size.
CHUNKED_CSV_BYTES = 64 << 20


@dataclass
class _Columns:
    """The chosen columns of a table, by role."""

    ids: list[str]
    labels: list[str]
    features: list[str]
    text: set[str] = field(default_factory=set)  # features to read as text (one-hot, codes)


def load_table(
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    label_prefix: str | None = None,
    impute: str | None = None,
    ids: Sequence[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> MultiLabelData:
    """Load a CSV or Parquet table (one row per sample) batch by batch; options as `load_csv`.

    Parameters
    ----------
    path : `<name>.csv` or `<name>.parquet`, with its sidecar `<name>.json` (`features`, `labels`,
        `id`, `categorical`, `ordinal`) or with `labels` / `label_prefix` given.
    labels, label_prefix, impute, ids : as `cgmvae.formats.load_csv`.
    batch_rows : rows per batch (about that many for a CSV, which is cut by bytes).

    Returns
    -------
    MultiLabelData named after the file, with the notices `load_csv` gives.

    Raises
    ------
    DataError naming the file, the column and the row of a missing, non-numeric or bad value.
    """
    check_impute(impute)
    path = Path(path)
    columns, notices = choose_columns(path, labels, label_prefix, ids)
    meta = read_sidecar(path)
    columns.text = {c for c in (*meta.get("categorical", []), *meta.get("ordinal", []))
                    if c in columns.features}
    features, label_values, maxima, ids, marked = _read(path, columns, batch_rows)
    features, feature_names, feature_notices = _encode(path, features, columns, meta, impute,
                                                       batch_rows)
    label_notices = (marks_notice(marked, columns.labels) + _count_notice(maxima, columns.labels)
                     + never_present_notice(label_values, columns.labels))
    return MultiLabelData(features, label_values, feature_names, columns.labels, name=path.stem,
                          notices=notices + feature_notices + label_notices,
                          sample_ids=ids)


def choose_columns(path: Path, labels, label_prefix, ids) -> tuple[_Columns, list[str]]:
    """The id, label and feature columns, chosen as `load_csv` chooses them."""
    (header, headerless), meta, where = table_columns(path), read_sidecar(path), path.name
    label_names = label_columns(header, labels, label_prefix, meta, where)
    chosen_ids = list(ids) if ids else id_columns(meta.get("id"), f"{path.stem}.json")
    check_columns(chosen_ids, header, "id", where)
    feature_names, notices = feature_columns(header, label_names, chosen_ids, meta, where)
    chosen_ids = chosen_ids or guessed_ids(header, label_names, feature_names)
    if headerless:
        notices = [headerless_notice(where, header), *notices]
    return _Columns(chosen_ids, label_names, feature_names), notices


def _read(path: Path, columns: _Columns, batch_rows: int):
    """One pass: (features (N, D) float32 with NaN in text columns, labels (N, L) uint8, the
    largest value of each label column, sample ids or None, the label columns that held presence
    marks); marks text features in `columns`."""
    wanted = list(dict.fromkeys([*columns.ids, *columns.labels, *columns.features]))
    feature_parts, label_parts, maxima, id_parts, first_row = [], [], [], [], 0
    marked = np.zeros(len(columns.labels), dtype=bool)
    for batch in iter_batches(path, wanted, batch_rows=batch_rows):
        feature_parts.append(_feature_batch(batch, columns))
        labels, largest, has_mark = label_presence(batch, columns.labels, path.name, first_row,
                                                   empty_is_absent=None)
        marked |= has_mark
        label_parts.append(labels)
        maxima.append(largest)
        if columns.ids:
            id_parts += _id_batch(batch, columns.ids)
        first_row += batch.num_rows
    features = np.concatenate(feature_parts)
    del feature_parts
    labels = np.concatenate(label_parts)
    resolve_empty_labels(labels, columns.labels, bool(marked.any()), path.name)
    marked_names = [name for name, has in zip(columns.labels, marked, strict=True) if has]
    return features, labels, np.max(maxima, axis=0), id_parts or None, marked_names


def _feature_batch(batch: pa.RecordBatch, columns: _Columns) -> np.ndarray:
    block = np.full((batch.num_rows, len(columns.features)), np.nan, dtype=np.float32)
    for j, name in enumerate(columns.features):
        if name in columns.text:
            continue
        numbers, bad = column_numbers(batch.column(name))
        if bad.size:  # text, class codes or a typo: decided on the whole column later
            columns.text.add(name)
        else:
            block[:, j] = numbers
    return block


# A label cell left empty in a batch read before the table's marks are known (`label_presence`
# with empty_is_absent=None): absence if the table marks presence (`cgmvae.formats.presence`).
EMPTY_LABEL = 2


def label_presence(batch: pa.RecordBatch, names: list[str], where: str, first_row: int, *,
                   empty_is_absent: bool | None = False
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 presence (B, L), each column's largest value, whether each column held a presence
    mark); DataError naming column and row. Cells may be 0/1, counts or presence marks; an empty
    cell is absence (`empty_is_absent=True`), an error (False), or EMPTY_LABEL for the caller to
    decide once the whole table is read (None)."""
    presence = np.empty((batch.num_rows, len(names)), dtype=np.uint8)
    largest = np.zeros(len(names))
    describe = partial(_describe, first_row=first_row, where=where)
    marked = np.zeros(len(names), dtype=bool)
    for k, name in enumerate(names):
        numbers, bad = column_numbers(batch.column(name))
        text = None
        if bad.size:
            text = column_text(batch.column(name))
            numbers, marked[k] = read_marks(text, numbers, bad, name, where, first_row)
        empty = np.zeros(batch.num_rows, dtype=bool)
        if empty_is_absent is not False and np.isnan(numbers).any():
            empty = empty_cells(text if text is not None else column_text(batch.column(name)))
            numbers[empty] = 0.0
        binary, _ = binarize_labels(numbers[:, None], [name], describe_row=describe, where=where)
        presence[:, k] = binary[:, 0]
        if empty_is_absent is None:
            presence[empty, k] = EMPTY_LABEL
        largest[k] = numbers.max(initial=0)
    return presence, largest, marked


def resolve_empty_labels(labels: np.ndarray, names: list[str], marked: bool, where: str) -> None:
    """Empty label cells (EMPTY_LABEL) become absence in a table that marks presence; in one that
    does not, DataError names the first, as a table read whole would."""
    empty = labels == EMPTY_LABEL
    if not empty.any():
        return
    if marked:
        labels[empty] = 0
        return
    row, col = (int(i[0]) for i in np.nonzero(empty))
    binarize_labels(np.array([[np.nan]]), [names[col]], where=where,
                    describe_row=lambda _: describe_row(row, where))


def _describe(row: int, *, first_row: int, where: str) -> str:
    return describe_row(first_row + row, where)


def _id_batch(batch: pa.RecordBatch, ids: list[str]) -> list[str]:
    return sample_ids(pd.DataFrame({name: column_text(batch.column(name)) for name in ids}), ids)


def _encode(path: Path, features: np.ndarray, columns: _Columns, meta: dict, impute,
            batch_rows: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Text feature columns read again one at a time and encoded as `load_csv` encodes them
    (class codes and ordinals into their column, a date column as its year and day of year,
    one-hot blocks after the numeric ones); then missing values filled or refused."""
    encoded = []
    for j, name in enumerate(columns.features):
        if name not in columns.text:
            encoded.append(EncodedColumn(values=None, names=[name], one_hot=False, note=None))
            continue
        column = text_column(path, name, batch_rows)
        encoded.append(encode_column(column, name, meta, impute, path.name))
        if not encoded[-1].one_hot and len(encoded[-1].names) == 1:
            features[:, j] = encoded[-1].values
    if any(len(column.names) > 1 for column in encoded if not column.one_hot):  # dates: 2 each
        numeric = np.column_stack([features[:, j] if len(column.names) == 1 else column.values
                                   for j, column in enumerate(encoded) if not column.one_hot])
    else:
        keep = [j for j, column in enumerate(encoded) if not column.one_hot]
        numeric = features if len(keep) == features.shape[1] else features[:, keep]
    return finish_features(numeric, encoded, impute, path.name)


def text_column(path: Path, name: str, batch_rows: int = BATCH_ROWS) -> pd.Series:
    """One column of a CSV or Parquet table as text, read batch by batch (the other columns never
    in memory)."""
    parts = [column_text(batch.column(name))
             for batch in iter_batches(path, [name], batch_rows=batch_rows)]
    return pd.concat(parts, ignore_index=True)


def _count_notice(maxima: np.ndarray, names: list[str]) -> list[str]:
    """The notice `binarize_labels` gives when some label columns held counts."""
    counted = maxima > 1
    if not counted.any():
        return []
    return [(f"{int(counted.sum())} label columns held counts (max {maxima.max():g}): read as "
            f"presence = count > 0 ({short_list(np.asarray(names)[counted])})")]
