"""Data set loaders: `load_dataset(path)` picks the reader from what the path is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.formats.big_table import CHUNKED_CSV_BYTES, load_table
from cgmvae.formats.csv_table import load_csv, read_sidecar
from cgmvae.formats.model_input import read_feature_table
from cgmvae.formats.mulan import load_arff, load_mulan_folder, read_label_names
from cgmvae.formats.norberg import is_norberg_folder, load_norberg, parse_norberg_path
from cgmvae.formats.npy import is_npy_folder, load_npy_folder
from cgmvae.formats.records import load_records, write_records_table, zero_fill_records
from cgmvae.formats.tables import (
    guess_roles,
    load_frame_with_roles,
    load_two_tables,
    read_csv_table,
    read_id_columns,
    sidecar_for,
)

__all__ = [
    "find_split", "guess_roles", "load_arff", "load_csv", "load_dataset", "load_frame_with_roles",
    "load_mulan_folder", "load_norberg", "load_npy_folder", "load_records", "load_table",
    "load_two_tables", "read_csv_table", "read_feature_table", "read_id_columns",
    "read_label_names", "read_sidecar", "sidecar_for", "write_records_table", "zero_fill_records",
]

_ARFF_SUFFIXES = (".arff", ".arff.bz2", ".arff.gz")


def load_dataset(
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    label_prefix: str | None = None,
    impute: str | None = None,
    n_labels: int | None = None,
    ids: Sequence[str] | None = None,
) -> MultiLabelData:
    """Load a multi-label data set from whatever `path` is.

    Parameters
    ----------
    path : one of
        - an ARFF file (`.arff`, `.arff.bz2`, `.arff.gz`): Mulan with `<name>.xml` beside it, or
          MEKA with `-C n` in @relation;
        - a Mulan folder (`<name>.xml` + a `-train`/`-test` pair or one `.arff`; comes with a
          split);
        - a CSV with a sidecar `<name>.json` (`features`, `labels`) or with `labels`/`label_prefix`,
          or a folder `<name>/` holding `<name>.csv`; a Parquet file `<name>.parquet` likewise
          (both read batch by batch by `load_table` when Parquet or over 64 MB);
        - an npy folder (`<name>_data.npy` = labels then features,
          `<name>_{train,val,test}_idx.npy`) or that `_data.npy` file;
        - `<norberg folder>/<taxon>[_<mode>][_coords]`, e.g. `.../norberg2019/birds_2` (mode 1 when
          omitted; `_coords` adds the site coordinates to the features).
    labels, label_prefix : the label columns of a CSV (default: its sidecar's `labels`).
    ids : the id column(s) of a CSV (default: its sidecar's `id`); kept as `sample_ids`.
    impute : None (missing values are an error naming column and row) or "median".
    n_labels : how many leading columns of an npy `_data.npy` are labels (default: its meta file).

    Returns
    -------
    MultiLabelData; `notices` say what loading changed, `split` is set when the data has its own.

    Raises
    ------
    DataError for unknown paths, bad files and bad values, naming the file, column and row.
    """
    path = Path(path)
    kind = _kind(path)
    if kind not in ("csv", "parquet", "excel") and (
            labels is not None or label_prefix is not None or ids):
        raise DataError(f"labels / label_prefix / ids choose columns of a CSV, Parquet or Excel "
                        f"table; "
                        f"{path.name} is {kind} data")
    if kind != "npy" and n_labels is not None:
        raise DataError(f"n_labels is for npy data (<name>_data.npy); {path.name} is {kind} data")
    if kind == "norberg":
        folder, taxon, mode, coordinates = parse_norberg_path(path)
        return load_norberg(folder, taxon, mode, coordinates=coordinates)
    if kind == "arff":
        return load_arff(path, impute=impute)
    if kind == "mulan":
        return load_mulan_folder(path, impute=impute)
    if kind == "npy":
        return load_npy_folder(path, n_labels=n_labels, impute=impute)
    csv_path = path / f"{path.name}.csv" if path.is_dir() else path
    if kind == "excel":  # a workbook is read whole (and is never as big as a chunked table)
        return load_csv(csv_path, labels=labels, label_prefix=label_prefix, impute=impute,
                        ids=ids)
    if kind == "parquet" or csv_path.stat().st_size > CHUNKED_CSV_BYTES:
        return load_table(csv_path, labels=labels, label_prefix=label_prefix, impute=impute,
                          ids=ids)
    return load_csv(csv_path, labels=labels, label_prefix=label_prefix, impute=impute, ids=ids)


def find_split(path: str | Path, **options) -> Split | None:
    """The split that comes with the data at `path` (Mulan pairs, npy idx files, Norberg), or None.

    This loads the data; when you already hold it, use `data.split`. Shared split files
    (`splits/<name>.json`) are not guessed: read them with `cgmvae.data.load_split`.
    """
    return load_dataset(path, **options).split


def _kind(path: Path) -> str:
    if not path.exists():
        if parse_norberg_path(path):
            return "norberg"
        raise DataError(f"no such file or folder: {path}")
    name = path.name.lower()
    if path.is_file():
        if name.endswith(_ARFF_SUFFIXES):
            return "arff"
        if name.endswith(".csv"):
            return "csv"
        if name.endswith(".parquet"):
            return "parquet"
        if name.endswith((".xlsx", ".xlsm")):
            return "excel"
        if name.endswith(".xls"):
            raise DataError(f"{path.name}: an old binary Excel file; save it as .xlsx or CSV")
        if name.endswith("_data.npy"):
            return "npy"
        raise DataError(f"{path.name}: unknown data file type; expected .arff(.bz2), .csv, "
                        ".parquet, .xlsx or <name>_data.npy")
    if is_npy_folder(path):
        return "npy"
    if is_norberg_folder(path):
        raise DataError(f"{path} holds several Norberg data sets: choose one as "
                        f"{path / 'birds_1'} (taxon_mode; add _coords for coordinates)")
    if any(path.glob("*.xml")) and any(path.glob("*.arff*")):
        return "mulan"
    if (path / f"{path.name}.csv").is_file():
        return "csv"
    raise DataError(f"{path}: not a data folder (expected a Mulan folder with .xml and .arff, "
                    f"an npy folder with <name>_data.npy, or {path.name}.csv)")
