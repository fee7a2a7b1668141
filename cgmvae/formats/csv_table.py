"""CSV data sets: label and feature columns chosen by options or a JSON sidecar, id columns."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.columns import build_data, id_columns
from cgmvae.formats.encode import check_impute, short_list
from cgmvae.formats.header import headerless_notice
from cgmvae.formats.text_table import read_cells

ID_NAMES = {"", "id", "site", "sample", "name", "plot", "row", "index", "unnamed: 0"}


def read_sidecar(path: str | Path) -> dict:
    """A CSV's JSON sidecar `<name>.json` (title, source, features, labels, groups...), or {}."""
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
    ids: Sequence[str] | None = None,
) -> MultiLabelData:
    """Load a CSV with one row per sample and one 0/1 (or count) column per label.

    Parameters
    ----------
    path : the CSV file; separated by `,`, `;` or tabs, decimal point or (not with `,`) comma.
    labels, label_prefix : the label columns by name or by name prefix (e.g. "sp_"); default the
        `labels` of the sidecar `<name>.json`. Features are the sidecar's `features`, else every
        other column except the id column(s). Other sidecar keys (title, source, notes, groups...)
        are not part of the data: read them with `read_sidecar(path)`. A sidecar `categorical`
        list names columns to one-hot encode, `ordinal` columns whose values are codes with a
        number (`A0600` -> 600); a column of one-letter class codes is read that way by itself.
    impute : None (a missing feature value is an error) or "median" (features only; labels never).
    ids : the id column(s); default the sidecar's `id` (a name or a list), else the columns
        named like an id (id, site, sample, plot, ..., *_id). Their values become `sample_ids`.

    Returns
    -------
    MultiLabelData named after the file; `notices` say what was converted (counts -> presence,
    text columns -> one-hot `column=value`, class codes -> numbers, imputed values, id columns).
    """
    check_impute(impute)
    path = Path(path)
    header, body = read_cells(path, path.name)
    meta = read_sidecar(path)
    label_names = label_columns(header, labels, label_prefix, meta, path.name)
    chosen_ids = list(ids) if ids else id_columns(meta.get("id"), f"{path.stem}.json")
    check_columns(chosen_ids, header, "id", path.name)
    feature_names, notices = feature_columns(header, label_names, chosen_ids, meta, path.name)
    if body.attrs.get("headerless"):
        notices = [headerless_notice(path.name, header), *notices]
    data = build_data(body, ids=chosen_ids or guessed_ids(header, label_names, feature_names),
                      labels=label_names, features=feature_names, meta=meta, impute=impute,
                      where=path.name, name=path.stem)
    return replace(data, notices=notices + data.notices)


def check_columns(names, header, role, where) -> None:
    unknown = [c for c in names if c not in header]
    if unknown:
        raise DataError(f"{where}: {role} column(s) {short_list(unknown)} not found; the columns "
                        f"are {short_list(header, 12)}")


def guessed_ids(header, label_names, feature_names) -> list[str]:
    """The one unused column named like an id, if there is exactly one."""
    used = set(label_names) | set(feature_names)
    ids = [h for h in header if h not in used and is_id_name(h)]
    return ids if len(ids) == 1 else []


def is_id_name(name: str) -> bool:
    """A column named like an identifier: id, site, sample, plot, ..., *_id, id_*."""
    lower = name.strip().lower()
    return lower in ID_NAMES or lower.endswith("_id") or lower.startswith("id_")


def label_columns(header, labels, label_prefix, meta, where) -> list[str]:
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


def feature_columns(header, label_names, ids, meta, where) -> tuple[list[str], list[str]]:
    taken = set(label_names)
    if meta.get("features"):
        chosen = [c for c in meta["features"] if c not in taken]  # labels=[...] may take some
        unknown = [c for c in chosen if c not in header]
        if unknown:
            raise DataError(f"{where}: sidecar feature(s) {short_list(unknown)} are not "
                            "columns of the CSV")
        return chosen, []
    rest = [h for h in header if h not in taken]
    ignored = [h for h in rest if h in ids or is_id_name(h)]
    chosen = [h for h in rest if h not in ignored]
    if not chosen:
        raise DataError(f"{where}: no feature columns left besides the labels")
    return chosen, [f"ignored id column(s) {short_list(ignored)}"] if ignored else []
