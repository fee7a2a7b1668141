"""CSV tables: data sets with explicit label columns, and feature tables matched to a model's features."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.encode import binarize_labels, check_impute, fill_missing, short_list

_MISSING = {"", "na", "nan", "null", "none", "?", "n/a", "#n/a"}  # compared lower-case
_ID_NAMES = {"", "id", "site", "sample", "name", "plot", "row", "index", "unnamed: 0"}


def read_sidecar(path: str | Path) -> dict:
    """The JSON sidecar `<name>.json` beside a CSV (title, source, features, labels, groups...), or {}."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read the sidecar {sidecar}: {err}") from err
    if not isinstance(meta, dict):
        raise DataError(f"{sidecar}: expected a JSON object with 'features' and 'labels'")
    return meta


def load_csv(
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    label_prefix: str | None = None,
    impute: str | None = None,
) -> MultiLabelData:
    """Load a CSV with one row per sample and one 0/1 (or count) column per label.

    Parameters
    ----------
    path : the CSV file.
    labels, label_prefix : the label columns by name or by name prefix (e.g. "sp_"); default the
        `labels` of the sidecar `<name>.json`. Features are the sidecar's `features`, else every
        other column except an id-like one (id, site, sample, ..., *_id). Other sidecar keys (title,
        source, notes, groups...) are not part of the data: read them with `read_sidecar(path)`.
        A sidecar `categorical` list names numeric-coded columns to one-hot encode.
    impute : None (a missing feature value is an error) or "median" (features only; labels never).

    Returns
    -------
    MultiLabelData named after the file; `notices` say what was converted (counts -> presence,
    text columns -> one-hot `column=value`, imputed values, dropped id column).
    """
    check_impute(impute)
    path = Path(path)
    header, body = _read_table(path, path.name)
    meta = read_sidecar(path)
    label_names = _label_columns(header, labels, label_prefix, meta, path.name)
    feature_names, notices = _feature_columns(header, body, label_names, meta, path.name)
    features, names, more = _encode_features(body, feature_names, meta, impute, path.name)
    label_matrix = np.column_stack([_label_numbers(body, c, path.name) for c in label_names])
    label_matrix, label_notices = binarize_labels(label_matrix, label_names, where=path.name,
                                                  describe_row=_describe_row)
    return MultiLabelData(features, label_matrix, names, list(label_names), name=path.stem,
                          notices=notices + more + label_notices)


def read_feature_table(source, feature_names: Sequence[str]) -> np.ndarray:
    """Read a CSV (path or file-like) as the (N, D) float32 features a model expects.

    Columns are matched by name, extra columns ignored; a feature `col=value` is rebuilt as the
    one-hot of a raw text column `col`. Raises DataError listing every missing column, every
    non-numeric column (first bad row and value), unseen categories and rows with missing values.
    """
    where = _source_name(source)
    header, body = _read_table(source, where)
    present = set(header)
    columns, problems, missing, one_hot_sources = [], [], [], {}
    for name in feature_names:
        source_column = None if name in present else _one_hot_source(name, present)
        if name in present:
            values, bad = _numeric(body[name])
            if bad.size or np.isnan(values).all():
                problems.append(_non_numeric(body[name], name, bad) if bad.size
                                else f"column '{name}' is empty")
        elif source_column is not None:
            values = _one_hot_values(body[source_column], name[len(source_column) + 1:])
            one_hot_sources.setdefault(source_column, []).append(name[len(source_column) + 1:])
        else:
            missing.append(name)
            continue
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
                            f"{short_list([str(r + 1) for r in bad_rows])} (row 1 = first data row)")
    if problems:
        raise DataError(f"{where} does not match the model's features: " + "; ".join(problems))
    return matrix


def _source_name(source) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return str(getattr(source, "name", None) or "the CSV")


def _read_table(source, where: str) -> tuple[list[str], pd.DataFrame]:
    try:
        raw = pd.read_csv(source, header=None, dtype=str, keep_default_na=False,
                          skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise DataError(f"cannot read {where} as CSV: {err}") from err
    header = [str(h).strip() for h in raw.iloc[0]]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise DataError(f"{where}: duplicate column name(s) {short_list(duplicated)}")
    body = raw.iloc[1:].reset_index(drop=True)
    body.columns = header
    if body.empty:
        raise DataError(f"{where} has a header but no data rows")
    return header, body


def _describe_row(row: int) -> str:
    return f"data row {row + 1} (line {row + 2})"


def _is_missing(column: pd.Series) -> np.ndarray:
    return column.isna().to_numpy() | column.str.strip().str.lower().isin(_MISSING).to_numpy()


def _numeric(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with NaN where missing, and the rows holding something non-numeric (or infinite)."""
    numbers = pd.to_numeric(column.str.strip(), errors="coerce").to_numpy(dtype=np.float64, copy=True)
    missing = _is_missing(column)
    bad = np.flatnonzero(~np.isfinite(numbers) & ~missing)
    numbers[missing] = np.nan
    return numbers, bad


def _non_numeric(column: pd.Series, name: str, bad: np.ndarray) -> str:
    value = column.iat[bad[0]]
    kind = "infinite" if np.isinf(pd.to_numeric(value, errors="coerce")) else "non-numeric"
    return (f"column '{name}' has the {kind} value {value!r} at "
            f"{_describe_row(bad[0])} ({bad.size} such rows)")


def _label_columns(header, labels, label_prefix, meta, where) -> list[str]:
    if labels is not None and label_prefix is not None:
        raise DataError("give labels=[...] or label_prefix=..., not both")
    if label_prefix is not None:
        chosen = [h for h in header if h.startswith(label_prefix)]
        if not chosen:
            raise DataError(f"{where}: no column starts with the label prefix {label_prefix!r}")
        return chosen
    chosen = list(labels) if labels is not None else meta.get("labels")
    if not chosen:
        raise DataError(f"{where}: which columns are labels? give labels=[...] or "
                        f"label_prefix=..., or a sidecar {Path(where).stem}.json with 'labels'")
    unknown = [c for c in chosen if c not in header]
    if unknown:
        raise DataError(f"{where}: label column(s) {short_list(unknown)} not found; the columns "
                        f"are {short_list(header, 12)}")
    return chosen


def _feature_columns(header, body, label_names, meta, where) -> tuple[list[str], list[str]]:
    taken = set(label_names)
    if meta.get("features"):
        chosen = [c for c in meta["features"] if c not in taken]  # labels=[...] may take some
        unknown = [c for c in chosen if c not in header]
        if unknown:
            raise DataError(f"{where}: sidecar feature(s) {short_list(unknown)} are not "
                            "columns of the CSV")
        return chosen, []
    rest = [h for h in header if h not in taken]
    ids = [h for h in rest if h.lower() in _ID_NAMES or h.lower().endswith("_id")]
    chosen = [h for h in rest if h not in ids]
    if not chosen:
        raise DataError(f"{where}: no feature columns left besides the labels")
    return chosen, [f"ignored id column(s) {short_list(ids)}"] if ids else []


def _encode_features(body, names, meta, impute, where) -> tuple[np.ndarray, list[str], list[str]]:
    """Numeric columns as they are, text (or sidecar `categorical`) columns one-hot."""
    categorical = set(meta.get("categorical", []))
    numeric, numeric_names, blocks, block_names, encoded = [], [], [], [], []
    for name in names:
        values, bad = _numeric(body[name])
        text_share = bad.size / max(1, (~_is_missing(body[name])).sum())
        if name in categorical or text_share > 0.5:  # a typo in numbers is an error, below
            block, labels = _one_hot(body[name], name, impute, where)
            blocks.append(block)
            block_names += labels
            encoded.append(f"{name} ({len(labels)} values)")
        elif bad.size:
            raise DataError(f"{where}: {_non_numeric(body[name], name, bad)}")
        else:
            numeric.append(values)
            numeric_names.append(name)
    matrix = np.column_stack(numeric) if numeric else np.zeros((len(body), 0))
    note = fill_missing(matrix, numeric_names, impute=impute, describe_row=_describe_row,
                        where=where)
    notices = [note] if note else []
    if encoded:
        notices.append(f"one-hot encoded text column(s) {short_list(encoded)} as 'column=value' "
                       "columns after the numeric ones")
    features = np.hstack([matrix] + blocks) if blocks else matrix
    return features.astype(np.float32), numeric_names + block_names, notices


def _one_hot(column: pd.Series, name: str, impute, where) -> tuple[np.ndarray, list[str]]:
    text = column.str.strip()
    missing = _is_missing(column)
    if missing.any():
        if impute is None:
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{where}: missing value in column '{name}' at {_describe_row(row)}; "
                            "fix the file or load with impute='median' (text: most frequent)")
        text = text.where(~missing, text[~missing].mode().iat[0])
    categories = sorted(text.unique())
    block = (text.to_numpy()[:, None] == np.array(categories, dtype=object)).astype(np.float32)
    return block, [f"{name}={c}" for c in categories]


def _label_numbers(body, name, where) -> np.ndarray:
    values, bad = _numeric(body[name])
    if bad.size:
        raise DataError(f"{where}: label {_non_numeric(body[name], name, bad)}: labels must be "
                        "0/1 or counts")
    return values


def _one_hot_source(feature: str, present: set[str]) -> str | None:
    """The raw column `col` of a one-hot feature named `col=value`, if the table has it."""
    for k, char in enumerate(feature):
        if char == "=" and feature[:k] in present:
            return feature[:k]
    return None


def _one_hot_values(column: pd.Series, value: str) -> np.ndarray:
    values = (column.str.strip() == value).to_numpy(dtype=np.float64)
    values[_is_missing(column)] = np.nan
    return values


def _unseen(column: pd.Series, name: str, known: list[str]) -> str | None:
    text = column.str.strip()
    unseen = np.flatnonzero(~text.isin(known).to_numpy() & ~_is_missing(column))
    if unseen.size == 0:
        return None
    return (f"column '{name}' has the value {text.iat[unseen[0]]!r} at {_describe_row(unseen[0])} "
            f"that the model never saw (known: {short_list(sorted(known))})")
