"""A feature table matched to a trained model: its columns read as the model's inputs (by name,
one-hot columns rebuilt from their raw column) and the table scored (a template to fill in:
`cgmvae.formats.template`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.columns import prefixed_numbers
from cgmvae.formats.dates import (
    date_inputs,
    date_parts,
    date_source,
)
from cgmvae.formats.encode import short_list
from cgmvae.formats.tables import read_id_columns
from cgmvae.formats.text_table import (
    describe_row,
    is_missing,
    non_numeric,
    read_cells,
    source_name,
    to_number,
)

MAX_PREDICT_ROWS = 200_000  # an uploaded table larger than this is refused, not half-read
MAX_PREDICT_BYTES = 50 * 2**20  # matches server.maxUploadSize in .streamlit/config.toml


class ModelInput(NamedTuple):
    """Where one model input is read from in a table to score: the column `source` as a number,
    or the 0/1 of `source == one_hot`, or the year (`date_part` 0) or day of year (1) of a date
    column."""

    source: str
    one_hot: str | None = None
    date_part: int | None = None


def positional_plan(feature_names: Sequence[str], header: Sequence[str],
                    where: str) -> dict[str, ModelInput]:
    """The model inputs of a table without a header row (its first row numbers, its columns V1,
    V2...): by position, the model's features in their order, when it has as many columns."""
    if len(header) != len(feature_names):
        raise DataError(f"{where} has no header row (its first row is numbers) and "
                        f"{len(header)} columns, so they cannot be matched to the model's "
                        f"{len(feature_names)} features by name or by position: add a first "
                        f"row naming them ({short_list(list(feature_names), 12)})")
    return {feature: ModelInput(column)
            for feature, column in zip(feature_names, header, strict=True)}


def input_plan(feature_names: Sequence[str],
               header: Sequence[str]) -> tuple[dict[str, ModelInput], list[str]]:
    """Each model input's `ModelInput` in a table with these columns (by name; a one-hot input
    `col=value` from a text column `col`, `col_year` / `col_day_of_year` from a date column
    `col`), and the inputs the table cannot give."""
    present, plan, missing = set(header), {}, []
    for feature in feature_names:
        source = None if feature in present else _one_hot_source(feature, present)
        dated = None if feature in present or source else date_source(feature, present)
        if feature in present:
            plan[feature] = ModelInput(feature)
        elif source is not None:
            plan[feature] = ModelInput(source, one_hot=feature[len(source) + 1:])
        elif dated is not None:
            plan[feature] = ModelInput(dated[0], date_part=dated[1])
        else:
            missing.append(feature)
    return plan, missing


def read_feature_table(source, feature_names: Sequence[str], *,
                       name: str | None = None) -> np.ndarray:
    """Read a CSV (path or file-like; `name`: an upload's display name for messages) as the
    (N, D) float32 features a model expects; separator and decimal comma are detected.

    Columns are matched by name, extra columns ignored; a feature `col=value` is rebuilt as the
    one-hot of a raw text column `col`, and `col_year` / `col_day_of_year` from a date column
    `col`; class codes (`A0600`) are read as their numbers.
    Raises DataError listing every missing column, every non-numeric column (first bad row and
    value), unseen categories and rows with missing values.
    """
    where = source_name(source, name)
    header, body = read_cells(source, where)
    if body.attrs.get("headerless"):
        plan, missing = positional_plan(feature_names, header, where), []
    else:
        plan, missing = input_plan(feature_names, header)
    columns, problems, one_hot_sources, dates = [], [], {}, {}
    for column, value, date_part in plan.values():
        if date_part is not None:
            if column not in dates:
                dates[column] = date_values(body[column], column, where, problems)
            values = dates[column][:, date_part]
        elif value is not None:
            values = _one_hot_values(body[column], value)
            one_hot_sources.setdefault(column, []).append(value)
        else:
            values, bad = _feature_numbers(body[column])
            if bad.size or np.isnan(values).all():
                problems.append(non_numeric(body[column], column, bad) if bad.size
                                else f"column '{column}' is empty")
        columns.append(values)
    problems += [_unseen(body[c], c, known) for c, known in one_hot_sources.items()]
    problems = [p for p in problems if p]
    if missing:
        problems.insert(0, f"missing column(s) {short_list(missing, 20)}")
    if not problems:
        matrix = np.column_stack(columns).astype(np.float32)
        bad_rows = np.flatnonzero(np.isnan(matrix).any(axis=1))
        if bad_rows.size:
            problems.append(f"missing values in data row(s) "
                            f"{short_list([str(r + 1) for r in bad_rows])} "
                            "(row 1 = first data row)")
    if problems:
        raise DataError(f"{where} does not match the model's features: " + "; ".join(problems))
    return matrix


def predict_csv(model, source, *, size_bytes: int | None = None, ids=None,
                name: str | None = None) -> pd.DataFrame:
    """Score a feature CSV (path or file-like) with `model`; DataError for anything unusable.

    Columns are matched to the model's features by name (`read_feature_table`);
    files over MAX_PREDICT_BYTES or MAX_PREDICT_ROWS rows are refused as a whole.

    Parameters
    ----------
    ids : the id column(s) to keep; None: the sidecar's `id` or the id-named columns; []: none.
        Without id columns the output starts with `row` (1 = the first data row).
    name : an upload's display name, for messages.

    Returns
    -------
    `TrainedModel.prediction_frame`: the id column(s), `<label>_probability`, `<label>_predicted`,
    `richness_expected`, `richness_predicted` (and `covariates_outside_training` and
    `covariate_novelty` when the model knows its training ranges and spread); numbers only
    besides the ids (nothing shortened). Its `attrs["extrapolation"]` is the line to show when
    some rows are unlike the training rows (`TrainedModel.extrapolation_note`), else None.
    """
    if size_bytes is not None and size_bytes > MAX_PREDICT_BYTES:
        raise DataError(f"the file is {size_bytes / 2**20:.1f} MB; the limit is "
                        f"{MAX_PREDICT_BYTES // 2**20} MB: split it into smaller files")
    features = read_feature_table(source, list(model.feature_names), name=name)  # refuses NaN
    if features.shape[0] > MAX_PREDICT_ROWS:
        raise DataError(f"the file has {features.shape[0]:,} rows; the limit is "
                        f"{MAX_PREDICT_ROWS:,}: split it into smaller files")
    id_frame = read_id_columns(source, ids, name=name) if ids is None or len(ids) else None
    if id_frame is None:
        id_frame = pd.Series(np.arange(1, features.shape[0] + 1), name="row")
    extrapolation = model.extrapolation(features)
    frame = model.prediction_frame(features, ids=id_frame, extrapolation=extrapolation)
    frame.attrs["extrapolation"] = model.extrapolation_note(features, extrapolation=extrapolation)
    return frame


def input_columns(feature_names: Sequence[str]) -> dict[str, list[str] | str]:
    """The columns a table to score needs, in the model's order: a one-hot feature `col=value`
    is the text column `col` (its values listed), a pair `col_year`, `col_day_of_year` is the
    date column `col` ("date"), the others numbers ([])."""
    dated = date_inputs(feature_names)
    columns: dict[str, list[str] | str] = {}
    for feature in feature_names:
        if feature in dated:
            columns[dated[feature]] = "date"
            continue
        column, equals, value = feature.partition("=")
        columns.setdefault(column if equals else feature, []).extend([value] if equals else [])
    return columns


def _feature_numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A model input column's numbers (class codes `A0600` as 600, ordinal classes `cls_3` as 3)
    and its non-numeric rows."""
    values, bad = to_number(column)
    codes = prefixed_numbers(column) if bad.size else None
    return (codes, bad[:0]) if codes is not None else (values, bad)


def date_values(column: pd.Series, name: str, where: str, problems: list[str],
                first_row: int = 0) -> np.ndarray:
    """A date column's (N, 2) year and day of year, NaN where missing; a cell that is not a
    date goes to `problems` (all NaN then), so that every problem of a table is told at once."""
    try:
        return date_parts(column, name, where, first_row)
    except DataError as err:
        problems.append(str(err).removeprefix(f"{where}: "))
        return np.full((len(column), 2), np.nan)


def _one_hot_source(feature: str, present: set[str]) -> str | None:
    """The raw column `col` of a one-hot feature named `col=value`, if the table has it."""
    for k, char in enumerate(feature):
        if char == "=" and feature[:k] in present:
            return feature[:k]
    return None


def _one_hot_values(column: pd.Series, value: str) -> np.ndarray:
    values = (column.str.strip() == value).to_numpy(dtype=np.float64)
    values[is_missing(column)] = np.nan
    return values


def _unseen(column: pd.Series, name: str, known: list[str]) -> str | None:
    text = column.str.strip()
    unseen = np.flatnonzero(~text.isin(known).to_numpy() & ~is_missing(column))
    if unseen.size == 0:
        return None
    return (f"column '{name}' has the value {text.iat[unseen[0]]!r} at {describe_row(unseen[0])} "
            f"that the model never saw (known: {short_list(sorted(known))})")
