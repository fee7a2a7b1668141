"""Tables bigger than memory: training streamed from Parquet row groups (`train --stream`),
predictions written chunk by chunk (`predict`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split, Standardizer, float32_features
from cgmvae.distributed import SINGLE, Context
from cgmvae.formats.big_table import choose_columns, label_presence, text_column
from cgmvae.formats.columns import (
    EncodedColumn,
    class_numbers,
    encode_column,
    encoding_notices,
    prefixed_numbers,
)
from cgmvae.formats.csv_table import read_sidecar
from cgmvae.formats.dates import date_parts, part_names
from cgmvae.formats.model_input import ModelInput, date_values, input_plan, positional_plan
from cgmvae.formats.encode import short_list
from cgmvae.formats.parquet import (
    BATCH_ROWS,
    column_numbers,
    column_text,
    is_parquet,
    iter_batches,
    table_columns,
)
from cgmvae.formats.presence import marks_notice, read_marks
from cgmvae.formats.tables import id_column_names
from cgmvae.formats.text_table import describe_row, is_missing, non_numeric, to_number
from cgmvae.predictor import OutsideTraining
from cgmvae.train import (
    TrainingSummary,
    finished_model,
    fit_loop,
    new_network,
    resolve_device,
)
from cgmvae.whole_file import whole_file


@dataclass(frozen=True)
class TextColumn:
    """How a text (or sidecar `categorical` / `ordinal`) feature column becomes model inputs,
    decided once on the whole column as a loaded table decides it (`encode_column`), then applied
    a row group at a time: `one_hot` (a `column=value` input per category, in `categories`),
    `codes` (class codes read as their numbers; `categories` holds the code's letter), `ordinal`
    (the number in each value), `dates` (a year and a day-of-year input) or `numbers` (text that
    holds plain numbers)."""

    kind: str
    categories: tuple[str, ...] = ()


def input_names(columns: Sequence[str], text: dict[str, TextColumn]) -> list[str]:
    """The model's feature names for these feature columns, in a loaded table's order: the
    columns read as numbers (a date column as two), then each one-hot block."""
    kinds = {c: text[c].kind if c in text else "numbers" for c in columns}
    return [n for c in columns if kinds[c] != "one_hot"
            for n in (part_names(c) if kinds[c] == "dates" else [c])] + [
        f"{c}={value}" for c in columns if kinds[c] == "one_hot" for value in text[c].categories]


class ParquetBatches(IterableDataset):
    """Mini-batches `(features (B, D) float32, labels (B, L) float32)` read from a Parquet
    table's row groups, never the whole table.

    Each epoch visits every row of this rank's row groups exactly once: the row groups in a
    seeded order (the same on every rank), then rows shuffled within a buffer of about
    `buffer_rows` rows drawn from several row groups. Ranks (`rank` of `world_size`, for
    distributed training) and DataLoader workers each take every n-th row group of that
    order, so they never share a row; ranks get equal row counts only when the row groups
    are equal in size. Labels stay uint8 in the buffer and become float32 batch by batch.

    `feature_names` are the feature columns read; `text` says how those that are not numbers
    become model inputs (`plan_streamed_table` decides it), so batches carry `input_names`.
    `empty_labels_absent`: the table marks presence (`x`, `+`: `cgmvae.formats.presence`), so an
    empty label cell is absence, not an error.

    Use with `DataLoader(dataset, batch_size=None)` and call `set_epoch(epoch)` before each
    epoch, as with a DistributedSampler.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        feature_names: Sequence[str],
        label_names: Sequence[str],
        batch_size: int = 128,
        shuffle: bool = True,
        buffer_rows: int = 65_536,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        row_groups: Sequence[int] | None = None,
        standardizer: Standardizer | None = None,
        text: dict[str, TextColumn] | None = None,
        empty_labels_absent: bool = False,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in 0..{world_size - 1}, got {rank}")
        self.path, self.feature_names, self.label_names = Path(path), list(feature_names), list(
            label_names)
        self.batch_size, self.shuffle, self.buffer_rows, self.seed = (batch_size, shuffle,
                                                                      buffer_rows, seed)
        self.rank, self.world_size, self.standardizer = rank, world_size, standardizer
        self.text = dict(text or {})
        self.empty_labels_absent = empty_labels_absent
        self.input_names = input_names(self.feature_names, self.text)
        metadata = pq.ParquetFile(self.path).metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        self.group_starts = np.concatenate([[0], np.cumsum(sizes)])[:-1]  # each group's first row
        self.row_groups = list(range(len(sizes)) if row_groups is None else row_groups)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """A new shuffling order for `epoch` (the same on every rank and worker)."""
        self.epoch = epoch

    def shard(self) -> list[int]:
        """This rank's and this DataLoader worker's row groups, in this epoch's order."""
        groups = np.asarray(self.row_groups)
        if self.shuffle:
            groups = np.random.default_rng([self.seed, self.epoch]).permutation(groups)
        groups = groups[self.rank::self.world_size]
        worker = get_worker_info()
        if worker is not None:
            groups = groups[worker.id::worker.num_workers]
        return groups.tolist()

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        worker = get_worker_info()
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker.id if worker else 0])
        parquet = pq.ParquetFile(self.path)
        features = np.empty((0, len(self.input_names)), dtype=np.float32)
        labels = np.empty((0, len(self.label_names)), dtype=np.uint8)
        for group in self.shard():
            x, y = self.read_row_group(parquet, group)
            features, labels = np.concatenate([features, x]), np.concatenate([labels, y])
            if len(features) >= self.buffer_rows:
                order = self._order(len(features), rng)
                full = len(order) - len(order) % self.batch_size  # a partial batch waits
                yield from self._batches(features, labels, order[:full])
                features, labels = features[order[full:]], labels[order[full:]]
        yield from self._batches(features, labels, self._order(len(features), rng))

    def _order(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(n_rows) if self.shuffle else np.arange(n_rows)

    def _batches(self, features: np.ndarray, labels: np.ndarray, rows: np.ndarray):
        for start in range(0, len(rows), self.batch_size):
            take = rows[start:start + self.batch_size]
            x = features[take]
            if self.standardizer is not None:
                x = self.standardizer.transform(x)
            yield torch.from_numpy(x), torch.from_numpy(labels[take].astype(np.float32))

    def read_row_group(self, parquet: pq.ParquetFile, group: int) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, D) float32 in `input_names` order, labels (n, L) uint8) of one row
        group; DataError naming the column and table row of a missing or non-numeric feature
        and of a bad label."""
        where, first_row = self.path.name, int(self.group_starts[group])
        batch = parquet.read_row_group(group, columns=self.feature_names + self.label_names)
        numeric, blocks = [], []
        for name in self.feature_names:
            encoding = self.text.get(name, TextColumn("numbers"))
            if encoding.kind == "one_hot":
                blocks.append(_one_hot_block(batch.column(name), name, encoding.categories,
                                             where, first_row))
            else:
                numeric.append(_column_numbers(batch.column(name), name, encoding, where,
                                               first_row))
        features = np.empty((batch.num_rows, len(self.input_names)), dtype=np.float32)
        j = 0
        for column in numeric:  # (n,), or a date column's (n, 2)
            width = 1 if column.ndim == 1 else column.shape[1]
            features[:, j:j + width] = column.reshape(batch.num_rows, width)
            j += width
        if blocks:
            features[:, j:] = np.hstack(blocks)
        labels, _, _ = label_presence(batch, self.label_names, where, first_row,
                                      empty_is_absent=self.empty_labels_absent)
        return features, labels


def _column_numbers(cells: pa.ChunkedArray, name: str, encoding: TextColumn, where: str,
                    first_row: int) -> np.ndarray:
    """One feature column of a row group as numbers: plain, class codes or ordinal values (n,),
    or a date column's year and day of year (n, 2)."""
    if encoding.kind == "dates":
        numbers = date_parts(column_text(cells), name, where, first_row)
    elif encoding.kind == "numbers":
        numbers, bad = column_numbers(cells)
        if bad.size:
            message = non_numeric(column_text(cells), name, bad, first_row=first_row, where=where)
            raise DataError(f"{where}: {message}")
    else:
        text = column_text(cells)
        letter = encoding.categories[0] if encoding.kind == "codes" else None
        numbers, bad = class_numbers(text, letter=letter)
        if bad.size:
            kind = f"class codes like {letter}0600" if letter else "ordinal values with a number"
            raise DataError(f"{where}: column '{name}' holds {kind}, but has {text.iat[bad[0]]!r} "
                            f"at {describe_row(first_row + int(bad[0]), where)}")
    _refuse_missing(np.isnan(numbers).reshape(len(numbers), -1).any(axis=1), name, where,
                    first_row)
    return numbers


def _one_hot_block(cells: pa.ChunkedArray, name: str, categories: tuple[str, ...], where: str,
                   first_row: int) -> np.ndarray:
    """(n, k) 0/1 columns of one text column, one per category, as `encode_column` makes them."""
    text = column_text(cells)
    _refuse_missing(is_missing(text), name, where, first_row)
    values = text.str.strip().to_numpy()
    block = values[:, None] == np.array(categories, dtype=object)
    unseen = np.flatnonzero(~block.any(axis=1))
    if unseen.size:  # the table changed since its categories were read
        raise DataError(f"{where}: column '{name}' has the value {values[unseen[0]]!r} at "
                        f"{describe_row(first_row + int(unseen[0]), where)} that the first pass "
                        f"over the table did not see (known: {short_list(list(categories))})")
    return block.astype(np.float32)


def _refuse_missing(missing: np.ndarray, name: str, where: str, first_row: int) -> None:
    if missing.any():
        row = first_row + int(np.flatnonzero(missing)[0])
        raise DataError(f"{where}: missing value in column '{name}' at "
                        f"{describe_row(row, where)}: streamed tables must be complete")


# ---------------------------------------------------------------------------- training
# Validation and test rows are whole row groups held out in a seeded order, each part this share
# of the row groups (at least one): a split that needs no pass over the table and that a
# row-group reader serves without reading the training rows.
HELDOUT_SHARE = 0.1
# ... and at most about this many rows each (whole row groups; at least one): they are held in
# memory and scored every epoch, so on a big table they must not grow with it.
HELDOUT_ROWS = 50_000
# The association layers a model keeps are computed over this many training rows at most (whole
# row groups in the seeded order), not over a table that may not fit in memory.
ASSOCIATION_ROWS = 50_000


@dataclass(frozen=True)
class StreamedTable:
    """A Parquet table to train on without loading it: its columns by role (chosen as for a
    loaded table: options, else the sidecar) and its row groups by part (`plan_streamed_table`)."""

    path: Path
    columns: list[str]  # the feature columns read
    label_names: list[str]
    train: list[int]
    val: list[int]
    test: list[int]
    notices: list[str]
    text: dict[str, TextColumn] = field(default_factory=dict)
    labels_marked: bool = False  # presence written as marks: an empty label cell is absence

    @property
    def feature_names(self) -> list[str]:
        """The model's inputs: `columns`, each one-hot column as its `column=value` block."""
        return input_names(self.columns, self.text)

    def reader(self, **options) -> ParquetBatches:
        return ParquetBatches(self.path, feature_names=self.columns,
                              label_names=self.label_names, text=self.text,
                              empty_labels_absent=self.labels_marked, **options)

    def rows(self, groups: Sequence[int]) -> int:
        metadata = pq.ParquetFile(self.path).metadata
        return sum(metadata.row_group(g).num_rows for g in groups)


def plan_streamed_table(path: str | Path, *, labels: Sequence[str] | None = None,
                        label_prefix: str | None = None, ids: Sequence[str] | None = None,
                        seed: int = 0) -> StreamedTable:
    """The columns and the train/val/test row groups of a Parquet table, from its header and
    metadata (and its text feature columns, if any): the row groups in an order seeded by
    `seed`, the first HELDOUT_SHARE of them (at least one) for validation, the next as many for
    test, the rest for training. DataError for a CSV and for fewer than 3 row groups. Text
    feature columns (a category, class codes, an ordinal) are encoded as a loaded table encodes
    them (`text_columns`), so a model trained streamed has the inputs it would have had trained
    in memory."""
    path = Path(path)
    if not is_parquet(path):
        raise DataError(f"--stream reads Parquet row groups: convert {path.name} first "
                        f"(python -m cgmvae convert --input {path} --output "
                        f"{path.with_suffix('.parquet')})")
    columns, notices = choose_columns(path, labels, label_prefix, ids)
    metadata = pq.ParquetFile(path).metadata
    n_groups = metadata.num_row_groups
    held = max(1, round(HELDOUT_SHARE * n_groups))
    if n_groups < 2 * held + 1:
        raise DataError(f"{path.name} has {n_groups} row group(s); --stream holds out whole row "
                        "groups for validation and test and needs at least 3: train without "
                        "--stream (a table of so few groups usually fits in memory), or write "
                        "smaller groups (`cgmvae convert --row-group-rows N` from the CSV)")
    order = np.random.default_rng(seed).permutation(n_groups)
    rows = [metadata.row_group(int(g)).num_rows for g in order]
    val = _held_out(rows, 0, held)
    test = _held_out(rows, val, held)
    text, text_notices = text_columns(path, columns.features)
    marked = marked_label_columns(path, columns.labels)
    return StreamedTable(path, columns.features, columns.labels,
                         train=sorted(order[val + test:]), val=sorted(order[:val]),
                         test=sorted(order[val:val + test]),
                         notices=notices + text_notices + marks_notice(marked, columns.labels),
                         text=text, labels_marked=bool(marked))


def marked_label_columns(path: Path, labels: Sequence[str]) -> list[str]:
    """The label columns of a Parquet table that hold a presence mark (`x`, `+`, yes: see
    `cgmvae.formats.presence`); only columns Parquet stores as text are read, each whole, alone."""
    schema = pq.read_schema(path)
    marked = []
    for name in labels:
        kind = schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        column = text_column(path, name)
        if read_marks(column, *to_number(column), name, path.name)[1]:
            marked.append(name)
    return marked


def text_columns(path: Path, features: Sequence[str]) -> tuple[dict[str, TextColumn], list[str]]:
    """How each feature column that Parquet does not store as numbers (or that the sidecar names
    `categorical` or `ordinal`) becomes model inputs, decided as a loaded table decides it, and
    the notices a loaded table gives. Each such column is read whole, alone (a column of text,
    not the table); missing values are left to the row-group reader, which refuses them."""
    meta, schema = read_sidecar(path), pq.read_schema(path)
    declared = {*meta.get("categorical", []), *meta.get("ordinal", [])}
    text, encoded = {}, []
    for name in features:
        kind = schema.field(name).type
        if name not in declared and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                     or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
            continue
        column = text_column(path, name)
        if is_missing(column).all():
            raise DataError(f"{path.name}: feature column '{name}' is empty")
        # impute only lets a one-hot column with gaps be read; the row-group reader refuses gaps
        encoding = encode_column(column, name, meta, "median", path.name)
        encoded.append(encoding)
        text[name] = _text_encoding(encoding, column, name, meta)
    return text, encoding_notices(encoded)


def _text_encoding(encoding: EncodedColumn, column: pd.Series, name: str,
                   meta: dict) -> TextColumn:
    if encoding.one_hot:
        return TextColumn("one_hot", tuple(n[len(name) + 1:] for n in encoding.names))
    if encoding.dates:
        return TextColumn("dates")
    if name in set(meta.get("ordinal", [])):
        return TextColumn("ordinal")
    if encoding.note:  # class codes: one shared letter
        return TextColumn("codes", (column[~is_missing(column)].str.strip().iat[0][0],))
    return TextColumn("numbers")


def _held_out(rows: list[int], start: int, groups: int) -> int:
    """How many row groups from `start` in the seeded order one held-out part takes: `groups`
    (HELDOUT_SHARE of them), fewer when HELDOUT_ROWS rows are reached first, at least one."""
    taken, total = 0, 0
    while taken < groups and (taken == 0 or total + rows[start + taken] <= HELDOUT_ROWS):
        total += rows[start + taken]
        taken += 1
    return taken


def read_rows(table: StreamedTable, groups: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, D) float32, labels (n, L) uint8) of some row groups, in memory."""
    reader, parquet = table.reader(), pq.ParquetFile(table.path)
    parts = [reader.read_row_group(parquet, group) for group in groups]
    features = float32_features(np.concatenate([x for x, _ in parts]), table.feature_names)
    return features, np.concatenate([y for _, y in parts])


def heldout_data(table: StreamedTable) -> tuple[MultiLabelData, Split]:
    """The validation and test row groups as one small in-memory data set and its split (no
    training rows): what `evaluation_report` scores a streamed model on."""
    val, test = read_rows(table, table.val), read_rows(table, table.test)
    data = MultiLabelData(np.concatenate([val[0], test[0]]), np.concatenate([val[1], test[1]]),
                          table.feature_names, table.label_names, name=table.path.stem)
    n_val = len(val[0])
    return data, Split(np.zeros(0, np.int64), np.arange(n_val), np.arange(n_val, data.n_samples))


@dataclass(frozen=True)
class TrainingStatistics:
    """What one pass over the training row groups gives: the feature standardizer (exact mean and
    standard deviation, as `Standardizer.fit` on the rows in memory), each label's count, rows."""

    standardizer: Standardizer
    label_counts: np.ndarray
    n_rows: int
    feature_min: np.ndarray | None = None  # (D,) each input's range over the training rows
    feature_max: np.ndarray | None = None


def training_statistics(table: StreamedTable) -> TrainingStatistics:
    """One streamed pass over the training row groups, a row group in memory at a time; it also
    finds a bad value anywhere in them before training starts. Per-group means and squared
    deviations are merged with Chan et al.'s pairwise formula (float64), which stays exact where
    sums of squares of large values would cancel."""
    reader, parquet = table.reader(), pq.ParquetFile(table.path)
    n, mean, squares = 0, np.zeros(len(table.feature_names)), np.zeros(len(table.feature_names))
    counts = np.zeros(len(table.label_names), dtype=np.int64)
    low = np.full(len(table.feature_names), np.inf, dtype=np.float32)
    high = np.full(len(table.feature_names), -np.inf, dtype=np.float32)
    for group in table.train:
        x, y = reader.read_row_group(parquet, group)
        x = float32_features(x, table.feature_names, first_row=int(reader.group_starts[group]))
        m, group_mean = len(x), x.mean(axis=0, dtype=np.float64)
        group_squares = ((x - group_mean) ** 2).sum(axis=0)
        delta, total = group_mean - mean, n + m
        mean = mean + delta * m / total
        squares = squares + group_squares + delta**2 * n * m / total
        n = total
        counts += y.sum(axis=0, dtype=np.int64)
        low, high = np.minimum(low, x.min(axis=0)), np.maximum(high, x.max(axis=0))
    std = np.sqrt(squares / n)
    scale = np.where(std > 1e-12, std, 1.0)  # as Standardizer.fit: a constant feature stays 0
    return TrainingStatistics(Standardizer(mean.astype(np.float32), scale.astype(np.float32)),
                              counts, n, feature_min=low, feature_max=high)


def association_sample(table: StreamedTable, seed: int, rows: int = ASSOCIATION_ROWS) -> np.ndarray:
    """Features of up to `rows` training rows: whole row groups in a seeded order, then cut."""
    order = np.random.default_rng([seed, 1]).permutation(table.train)
    sizes = np.cumsum([table.rows([g]) for g in order])
    chosen = order[:int(np.searchsorted(sizes, rows)) + 1]
    return read_rows(table, chosen.tolist())[0][:rows]


def fit_streamed(table: StreamedTable, *, model_config: ModelConfig | None = None,
                 train_config: TrainConfig | None = None, callbacks: Iterable = (),
                 should_stop: Callable[[], bool] | None = None, context: Context = SINGLE):
    """`train.fit` for a table read from disk a row group at a time, never whole.

    The standardizer and label counts come from one streamed pass over the training row groups
    (`training_statistics`); each epoch then streams this rank's share of them through
    `ParquetBatches` (rows shuffled within a buffer of several row groups); the held-out
    validation row groups are in memory, as are the rows the association layers use
    (ASSOCIATION_ROWS). Returns the TrainedModel on rank 0, None on the other ranks.
    """
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    statistics = training_statistics(table)
    if not statistics.label_counts.any():
        raise DataError(f"no label is positive in any of the {statistics.n_rows} training rows: "
                        "there is nothing to learn (are the label columns the right ones?)")
    device = context.device or resolve_device(train_config.device)
    val_x, val_y = read_rows(table, table.val)
    val = (torch.as_tensor(statistics.standardizer.transform(val_x), device=device),
           torch.as_tensor(val_y, device=device))
    dataset = table.reader(batch_size=train_config.batch_size, seed=train_config.seed,
                           rank=context.rank, world_size=context.world_size,
                           row_groups=table.train, standardizer=statistics.standardizer)
    loader = DataLoader(dataset, batch_size=None, pin_memory=device.type == "cuda")

    def batches(epoch: int) -> DataLoader:
        dataset.set_epoch(epoch)
        return loader

    model_config = replace(model_config, n_features=len(table.feature_names),
                           n_labels=len(table.label_names))
    network = new_network(model_config, torch.Generator().manual_seed(train_config.seed),
                          device, context)
    network, history, best_epoch, stop_note = fit_loop(network, batches, val, train_config,
                                                       callbacks, should_stop, context)
    if not context.is_main:
        return None
    return finished_model(network, TrainingSummary(
        standardizer=statistics.standardizer, feature_names=list(table.feature_names),
        label_names=list(table.label_names), dataset_name=table.path.stem,
        label_prevalence=statistics.label_counts / statistics.n_rows, model_config=model_config,
        train_config=train_config, history=history, best_epoch=best_epoch, stop_note=stop_note,
        feature_min=statistics.feature_min, feature_max=statistics.feature_max),
        val=(val_x, val_y), train_features=association_sample(table, train_config.seed))


def predict_in_chunks(model, input_path: str | Path, output_path: str | Path, *,
                      ids: Sequence[str] | None = None, chunk_rows: int = BATCH_ROWS,
                      notes: list[str] | None = None) -> int:
    """Write `model.prediction_frame` for every row of a CSV or Parquet table, a chunk at a time.

    Parameters
    ----------
    model : a TrainedModel; its features are matched to the input's columns by name (extra
        columns ignored, `col=value` rebuilt from a text column, class codes read as numbers).
    input_path, output_path : the table of new sites and the predictions (`.parquet`, else CSV).
    ids : id column(s) to keep first; default the sidecar's `id`, else columns named like an id.
    chunk_rows : rows read, predicted and written at once: memory stays flat in the table's size.
    notes : if given, gets a line when some rows lie outside the training ranges (an
        extrapolation, `predictor.OutsideTraining`).

    Returns
    -------
    The number of rows written.

    Raises
    ------
    DataError naming missing columns before anything is written, and the column and row of a
    bad value; the output is then not created (nor left half-written).
    """
    input_path, output_path = Path(input_path), Path(output_path)
    header, headerless = table_columns(input_path)
    plan = (positional_plan(model.feature_names, header, input_path.name) if headerless else
            _feature_plan(model.feature_names, header, input_path.name))
    id_names = id_column_names(header, ids, input_path.name, sidecar_of=input_path)
    tally = OutsideTraining(model)
    with whole_file(output_path) as partial:
        rows = _write(partial, _predictions(model, input_path, plan, id_names, chunk_rows, tally),
                      parquet=is_parquet(output_path))
    if notes is not None and (note := tally.note("rows")):
        notes.append(note)
    return rows


def _predictions(model, path: Path, plan: dict, id_names: list[str], chunk_rows: int,
                 tally: OutsideTraining) -> Iterator[pa.Table]:
    wanted = list(dict.fromkeys([*id_names, *(entry.source for entry in plan.values())]))
    first_row = 0
    for batch in iter_batches(path, wanted, batch_rows=chunk_rows):
        features = _feature_chunk(batch, plan, path.name, first_row)
        extrapolation = model.extrapolation(features)
        tally.add(features, extrapolation)
        ids = {n: column_text(batch.column(n)) for n in id_names}
        frame = model.prediction_frame(features, ids=pd.DataFrame(ids) if ids else None,
                                       extrapolation=extrapolation)
        yield pa.Table.from_pandas(frame, preserve_index=False)
        first_row += batch.num_rows


def _write(path: Path, tables: Iterator[pa.Table], *, parquet: bool) -> int:
    """Write the tables one after the other as one Parquet or CSV file; the rows written."""
    writer, schema, rows = None, None, 0
    try:
        for table in tables:
            if writer is None:
                schema = table.schema
                kind = pq.ParquetWriter if parquet else pa_csv.CSVWriter
                writer = kind(path, schema)
            writer.write_table(table.cast(schema))
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _feature_plan(features: Sequence[str], header: list[str],
                  where: str) -> dict[str, ModelInput]:
    """Each model feature's `ModelInput`; DataError for missing ones."""
    plan, missing = input_plan(features, header)
    if missing:
        raise DataError(f"{where} does not match the model's features: missing column(s) "
                        f"{short_list(missing, 20)}")
    return plan


def _feature_chunk(batch: pa.RecordBatch, plan: dict[str, ModelInput], where: str,
                   first_row: int) -> np.ndarray:
    """(B, D) float32 model inputs of one chunk; DataError naming column and table row."""
    columns, problems, unseen, dates = [], [], {}, {}
    for source, value, date_part in plan.values():
        if date_part is not None:
            if source not in dates:
                dates[source] = date_values(column_text(batch.column(source)), source, where,
                                            problems, first_row)
            columns.append(dates[source][:, date_part])
        elif value is None:
            numbers, bad = column_numbers(batch.column(source))
            codes = prefixed_numbers(column_text(batch.column(source))) if bad.size else None
            if bad.size and codes is None:
                problems.append(non_numeric(column_text(batch.column(source)), source, bad,
                                            first_row=first_row, where=where))
            columns.append(numbers if codes is None else codes)
        else:
            text = column_text(batch.column(source))
            numbers = (text == value).to_numpy(dtype=np.float64)
            numbers[is_missing(text)] = np.nan
            unseen.setdefault(source, [text, []])[1].append(value)
            columns.append(numbers)
    problems += [_unseen(text, source, known, first_row, where)
                 for source, (text, known) in unseen.items()]
    problems = list(dict.fromkeys(p for p in problems if p))
    matrix = np.column_stack(columns)  # float64: a value beyond float32 is still itself here
    bad_rows = np.flatnonzero(np.isnan(matrix).any(axis=1))
    if not problems and bad_rows.size:
        shown = short_list([str(first_row + r + 1) for r in bad_rows])
        problems.append(f"missing values in data row(s) {shown} (row 1 = first data row)")
    if problems:
        raise DataError(f"{where} does not match the model's features: " + "; ".join(problems))
    try:  # infinities and values beyond float32, named with the table's row, not the chunk's
        return float32_features(matrix, list(plan), first_row=first_row)
    except DataError as err:
        raise DataError(f"{where}: {err}") from None


def _unseen(text: pd.Series, name: str, known: list[str], first_row: int, where: str):
    rows = np.flatnonzero(~text.isin(known).to_numpy() & ~is_missing(text))
    if rows.size == 0:
        return None
    return (f"column '{name}' has the value {text.iat[rows[0]]!r} at "
            f"{describe_row(first_row + rows[0], where)} that the model never saw "
            f"(known: {short_list(sorted(known))})")
