"""Turning a path or uploaded files into a data set or a model, with user-readable errors."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from cgmvae.checkpoint import CheckpointError
from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.datasets import choose_split, load_with_split
from cgmvae.predictor import TrainedModel
from ui.paths import allowed_path
from ui.uploads import upload_folder

DATA_FILE_TYPES = ["csv", "tsv", "parquet", "xlsx", "xlsm", "json", "arff", "bz2", "gz", "xml",
                   "npy", "txt"]
# one table: `,` `;` or tab separated, Parquet, or an Excel workbook's first sheet
TABLE_TYPES = ["csv", "tsv", "txt", "parquet", "xlsx", "xlsm"]
EBIRD_TYPES = ["txt", "tsv", "csv", "gz"]  # the download's .txt.gz as they are
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".xlsx", ".xlsm")
IMPUTE_LABEL = "Fill missing covariate values (median; text: most frequent)"


def load_data(path: str, split_path: str = "") -> tuple[MultiLabelData, Split, str]:
    """Load a data set from disk with its split: a split file, the one it comes with, or 80/10/10
    (typed paths: only inside the allowed data folders, `ui.paths`)."""
    return load_with_split(allowed_path(path), _allowed_split(split_path))


# Cached across sessions by path (data sets are read-only), so a big one is read once.
load_data_path = st.cache_resource(max_entries=4, show_spinner="Loading the data set...")(load_data)


def load_uploaded_data(files) -> tuple[MultiLabelData, Split, str]:
    """Save uploaded files (CSV + JSON sidecar, ARFF + XML, npy files) together and load them;
    the files are deleted once read (`ui.uploads`)."""
    with upload_folder(files) as folder:
        return load_with_split(main_data_file(folder))


def main_data_file(folder: Path) -> Path:
    """Which of the files in `folder` to load: the one CSV or ARFF, else the folder itself."""
    names = sorted(p for p in folder.iterdir() if p.is_file())
    tables = [p.name for p in names if p.suffix.lower() in TABLE_SUFFIXES]
    if len(tables) > 1:
        raise DataError(f"{len(tables)} tables among the uploads ({', '.join(tables)}): load one "
                        "table at a time (remove the others from the box), or join a species "
                        "table and a site table on the Two tables tab")
    csvs = [p for p in names if p.suffix.lower() == ".csv"]
    arffs = [p for p in names if ".arff" in p.name.lower()]
    if len(csvs) == 1 and not arffs:
        return csvs[0]
    if len(arffs) == 1 and not csvs:
        return arffs[0]
    if not csvs and not arffs and not any(p.name.endswith("_data.npy") for p in names):
        raise DataError("no data file among the uploads: expected a .csv (with its .json "
                        "sidecar), an .arff (with its Mulan .xml) or <name>_data.npy")
    return folder  # a Mulan train/test pair or an npy folder


def load_checkpoint_bytes(content: bytes, name: str) -> TrainedModel:
    """Load an uploaded checkpoint (safe loading: no unpickling); CheckpointError if unusable."""
    with tempfile.TemporaryDirectory(prefix="cgmvae-ckpt-") as folder:
        path = Path(folder) / (Path(name).name or "model.pt")
        path.write_bytes(content)
        return TrainedModel.load(path)


def checkpoint_bytes(model: TrainedModel) -> bytes:
    """The model as checkpoint file bytes, for a download button."""
    with tempfile.TemporaryDirectory(prefix="cgmvae-ckpt-") as folder:
        path = model.save(Path(folder) / "model.pt")
        return Path(path).read_bytes()


USER_ERRORS = (DataError, CheckpointError, OSError, ValueError)  # shown with st.error, not a crash

# Library messages written for Python callers, and what to say in the app instead.
_APP_WORDING = [
    (re.compile(r"give labels=\[\.\.\.\] or label_prefix=\.\.\.,? ?"
                r"(or a sidecar \S+ with 'labels')?"),
     "pick the species columns"),
    (re.compile(r"(load|run) with impute='median'"), f'tick "{IMPUTE_LABEL}"'),
    (re.compile(r"[^\s'\"(]*cgmvae-(upload|ckpt)-[^/\s]*/"), ""),  # temporary folders
    (re.compile(r" \(--lr\)"), ' ("Learning rate")'),  # the training form's field
]


def user_message(err: Exception | str) -> str:
    """An error's (or a library note's) message for the app: no Python argument names, no
    temporary paths."""
    message = str(err)
    for pattern, replacement in _APP_WORDING:
        message = pattern.sub(replacement, message)
    return message


def table_at(path: str) -> Path | None:
    """The one table a path names whose columns the page reads into memory (`x.csv`, a folder
    `x/` holding `x.csv`, or a Parquet file without a sidecar naming its labels), else None.
    A Parquet file whose sidecar names them is left to `load_data`, which reads it batch by
    batch without a text copy: the way a table of millions of rows loads."""
    from cgmvae.formats import read_sidecar

    path = allowed_path(path)
    if path.is_dir():
        path = path / f"{path.name}.csv"
    if not path.is_file() or path.suffix.lower() not in TABLE_SUFFIXES:
        return None
    if path.suffix.lower() == ".parquet" and read_sidecar(path).get("labels"):
        return None
    return path


def read_table(source, name: str | None = None) -> pd.DataFrame:
    """A CSV (path or upload) as a frame; separator and decimal comma detected by the library."""
    from cgmvae.formats import read_csv_table

    source = _checked(source)
    return read_csv_table(source, name=getattr(source, "name", None) if name is None else name)


def table_columns(source) -> list[str]:
    """The columns of a table (path or upload), remembered per file in this session: the Two
    tables tab needs them on every run to offer the shared id column. A table without a header
    row has none to join on: []."""
    if isinstance(source, (str, Path)):
        source = allowed_path(source)
        stat = source.stat() if source.is_file() else None
        key = (str(source), stat.st_mtime if stat else None)
    else:
        key = (source.name, getattr(source, "file_id", None), getattr(source, "size", None))
    known = st.session_state.setdefault("table_columns", {})
    if key not in known:
        frame = read_table(source)
        known[key] = [] if frame.attrs.get("headerless") else list(frame.columns)
    return known[key]


def uploaded_table(files) -> tuple[object, dict] | None:
    """(the one uploaded table, its parsed JSON sidecar or {}) when the uploads are one CSV with
    at most its sidecar; None for other uploads (ARFF + XML, npy files)."""
    tables = [f for f in files if Path(f.name).suffix.lower() in TABLE_SUFFIXES]
    others = [f for f in files if f not in tables and not f.name.lower().endswith(".json")]
    if len(tables) != 1 or others:
        return None
    sidecars = [f for f in files if f.name.lower().endswith(".json")]
    same = [f for f in sidecars if Path(f.name).stem == Path(tables[0].name).stem] or sidecars
    return tables[0], (parse_sidecar(same[0].getvalue(), same[0].name) if same else {})


def parse_sidecar(content: bytes, name: str) -> dict:
    """An uploaded sidecar JSON; DataError naming it when it is not a JSON object."""
    try:
        meta = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{Path(name).name} is not valid JSON: {err}") from None
    if not isinstance(meta, dict):
        raise DataError(f"{Path(name).name}: expected a JSON object with 'features' and 'labels'")
    return meta


def roles_from_sidecar(meta: dict, columns: list[str]) -> dict:
    """The column roles a sidecar gives a table, as the CLI reads them: its labels; its id (else
    the one unused id-named column); its features, else every other column but id-named ones."""
    from cgmvae.formats.columns import id_columns
    from cgmvae.formats.csv_table import is_id_name

    labels = list(meta.get("labels") or [])
    ids = id_columns(meta.get("id"), "the sidecar")
    features = [c for c in meta.get("features") or [] if c not in labels]
    if not ids:
        used = set(labels) | set(features)
        named = [c for c in columns if c not in used and is_id_name(c)]
        ids = named if len(named) == 1 else []
    if not features:
        features = [c for c in columns if c not in labels and c not in ids and not is_id_name(c)]
    return {"id": ids, "labels": labels, "features": features,
            "categorical": list(meta.get("categorical") or []),
            "ordinal": list(meta.get("ordinal") or [])}


def load_with_roles(frame: pd.DataFrame, roles: dict, name: str, *, impute: str | None = None,
                    split_path: str = "") -> tuple[MultiLabelData, Split, str]:
    """A table with chosen column roles as a data set, with a split file's split or 80/10/10."""
    from cgmvae.formats import load_frame_with_roles

    data = load_frame_with_roles(frame, ids=roles.get("id", ()), labels=roles.get("labels", ()),
                                 features=roles.get("features", ()), name=name, impute=impute,
                                 categorical=roles.get("categorical", ()),
                                 ordinal=roles.get("ordinal", ()))
    return (data, *choose_split(data, _allowed_split(split_path)))


def load_tables(species, sites, id_column: str | None, *, impute: str | None = None,
                categorical: Sequence[str] = ()) -> tuple[MultiLabelData, Split, str]:
    """A species table and a site table, or a list of them (covariates, coordinates; paths or
    uploads), joined on `id_column`, or by row order when it is None; `categorical`: covariates
    to one-hot encode even when they hold numbers."""
    from cgmvae.formats import load_two_tables

    species = _checked(species)
    sites = [_checked(s) for s in (sites if isinstance(sites, (list, tuple)) else [sites])]
    data = load_two_tables(species, sites, id_column, impute=impute,
                           species_name=_display_name(species),
                           features_name=[_display_name(s) for s in sites],
                           categorical=categorical)
    return (data, *choose_split(data))


def load_ebird(observations, sampling, species_min: int) -> tuple[MultiLabelData, Split, str]:
    """The eBird observations + sampling-event files (paths or uploads), zero-filled, as data."""
    from cgmvae.formats.ebird import load_ebird as zero_filled_data

    observations, sampling = _checked(observations), _checked(sampling)
    data = zero_filled_data(observations, sampling, species_min,
                            observations_name=_display_name(observations),
                            sampling_name=_display_name(sampling))
    return (data, *choose_split(data))


def ebird_roles(data: MultiLabelData) -> dict:
    """The column roles of a zero-filled eBird table (for the sidecar download)."""
    from cgmvae.formats.ebird import COVARIATES, ID

    return {"id": [ID], "labels": list(data.label_names), "features": list(COVARIATES),
            "categorical": ["protocol"]}


def load_records_data(records, sites: list[str], species: str, count: str | None,
                      species_min: int) -> tuple[MultiLabelData, Split, str, dict]:
    """Occurrence records (a path or upload), zero-filled into sites x species, as data, with
    the zero-filled table's column roles."""
    from cgmvae.formats.records import records_data_name, zero_filled

    records, name = _checked(records), _display_name(records)
    table = zero_filled(records, sites=sites, species=species, count=count,
                        species_min=species_min, name=name)
    data = table.as_data(records_data_name(records, name))
    return (data, *choose_split(data), table.roles)


def _allowed_split(split_path: str) -> Path | None:
    """A typed split file path, checked against the allowed data folders; None when blank."""
    return allowed_path(split_path) if split_path else None


def _checked(source):
    """A typed path checked against the allowed data folders; an upload as it is."""
    return allowed_path(source) if isinstance(source, (str, Path)) else source


def _display_name(source) -> str | None:
    """An upload's own file name (a path names itself)."""
    return None if isinstance(source, (str, Path)) else getattr(source, "name", None)


# ---------------------------------------------------------------------------- loading again
# A data set read from files on the server carries a recipe (`DataChoice.recipe`): a kept model
# saves it, and reopening the model after a reload loads its data again from it. Uploads have
# none: their files are deleted once read.
def path_recipe(path: str, split_path: str) -> dict:
    return {"kind": "path", "path": path, "split": split_path}


def table_recipe(server_path: str | None, split_path: str, roles: dict,
                 impute: str | None) -> dict | None:
    """How to load a table read from the server again with the same roles; None for an upload."""
    if server_path is None:
        return None
    return {"kind": "table", "path": server_path, "split": split_path, "roles": roles,
            "impute": impute}


def two_tables_recipe(species, sites, id_column: str | None,
                      categorical: Sequence[str] = ()) -> dict | None:
    """`sites`: one site table or a list of them, all paths for a recipe."""
    several = isinstance(sites, (list, tuple))
    paths = list(sites) if several else [sites]
    if not (isinstance(species, str) and all(isinstance(p, str) for p in paths)):
        return None
    return {"kind": "two_tables", "species": species, "sites": paths if several else sites,
            "id": id_column, "categorical": list(categorical)}


def ebird_recipe(observations, sampling, species_min: int) -> dict | None:
    if not (isinstance(observations, str) and isinstance(sampling, str)):
        return None
    return {"kind": "ebird", "observations": observations, "sampling": sampling,
            "species_min": int(species_min)}


def records_recipe(records, sites: list[str], species: str, count: str | None,
                   species_min: int) -> dict | None:
    if not isinstance(records, str):
        return None
    return {"kind": "records", "records": records, "sites": list(sites), "species": species,
            "count": count, "species_min": int(species_min)}


def reload_data(recipe: dict) -> tuple[MultiLabelData, Split, str, dict | None]:
    """(data, split, where it came from, its column roles or None) loaded again from `recipe`:
    the same server files, roles and split, through the same checks as the Data page (paths only
    inside the allowed data folders). ValueError for a recipe that is not one."""
    try:
        kind = recipe["kind"]
        if kind == "path":
            data, split, how = load_data_path(recipe["path"], recipe["split"])
            return data, split, f"{recipe['path']}, {how}", None
        if kind == "table":
            table = table_at(recipe["path"])
            if table is None:
                raise DataError(f"{recipe['path']} is not a table any more")
            roles = {key: list(value) for key, value in recipe["roles"].items()}
            data, split, how = load_with_roles(read_table(table), roles, table.name,
                                               impute=recipe["impute"], split_path=recipe["split"])
            return data, split, f"{recipe['path']}, {how}", roles
        if kind == "two_tables":
            sites = recipe["sites"]
            data, split, how = load_tables(recipe["species"], sites, recipe["id"],
                                           categorical=list(recipe.get("categorical", [])))
            roles = {"id": [recipe["id"]] if recipe["id"] else [], "labels": data.label_names,
                     "features": data.feature_names}
            named = " + ".join([sites] if isinstance(sites, str) else sites)
            return data, split, f"{recipe['species']} + {named}, {how}", roles
        if kind == "ebird":
            data, split, how = load_ebird(recipe["observations"], recipe["sampling"],
                                          int(recipe["species_min"]))
            return data, split, f"eBird {recipe['observations']}, {how}", ebird_roles(data)
        if kind == "records":
            data, split, how, roles = load_records_data(
                recipe["records"], list(recipe["sites"]), recipe["species"], recipe["count"],
                int(recipe["species_min"]))
            return data, split, f"records {recipe['records']}, {how}", roles
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{_UNREADABLE_RECIPE} ({err!r})") from None
    raise ValueError(f"{_UNREADABLE_RECIPE} (kind {kind!r})")


_UNREADABLE_RECIPE = "its record of where the data came from is unreadable"
