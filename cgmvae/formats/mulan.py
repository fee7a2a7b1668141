"""Mulan (ARFF + XML label file) and MEKA (`-C n` in @relation) data sets as MultiLabelData."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import scipy.sparse as sp

from cgmvae.data import DataError, MultiLabelData
from cgmvae.formats.arff import ArffTable, concat_tables, read_arff
from cgmvae.formats.encode import (
    binarize_labels,
    binary_map,
    check_impute,
    fill_missing,
    short_list,
    train_test_split,
)

_MEKA_LABELS = re.compile(r"-C\s+(-?\d+)")
_PART_SUFFIX = re.compile(r"(-(train|test|sparse))+$", re.IGNORECASE)
_ID_NAMES = {"id", "name", "identifier", "key"}


def load_arff(path: str | Path, *, xml: str | Path | None = None,
              impute: str | None = None) -> MultiLabelData:
    """Load one ARFF file: Mulan (labels named in an XML file beside it) or MEKA (`-C n`).

    Parameters
    ----------
    path : `.arff`, `.arff.bz2` or `.arff.gz` file.
    xml : the Mulan label file; default `<stem>.xml` beside it (`-train`/`-test`/`-sparse` dropped),
        else the folder's only `.xml`, else MEKA's `-C n` in @relation (first n attributes are
        labels, `-C -n` the last n).
    impute : None (missing values are an error) or "median".
    """
    check_impute(impute)
    path = Path(path)
    table = read_arff(path)
    xml = Path(xml) if xml else _find_xml(path)
    label_names = read_label_names(xml) if xml else _meka_label_names(table, path)
    return table_to_data(table, label_names, name=_stem(path), impute=impute)


def load_mulan_folder(
    folder: str | Path, *, impute: str | None = None, splits_dir: str | Path | None = None
) -> MultiLabelData:
    """Load a Mulan folder: `<x>.xml` plus a `*-train*.arff`/`*-test*.arff` pair or one `<x>.arff`.

    Rows are the train file's then the test file's; the data then carries a Split: test = the test
    file, val = a seeded 10% of the train file (the same rows as `shared/data/splits/<name>.json`).
    A `<splits_dir or folder/../../splits>/<name>.json` with a `files` key chooses the files.
    The data's `name` is the folder's name.
    """
    check_impute(impute)
    folder = Path(folder)
    splits = Path(splits_dir) if splits_dir else folder.parent.parent / "splits"
    files = _choose_files(folder, splits)
    xml = _find_xml(files[0])
    if xml is None:
        raise DataError(f"{folder}: no Mulan label file (*.xml) for {files[0].name}")
    tables = [read_arff(f) for f in files]
    data = table_to_data(concat_tables(tables), read_label_names(xml), name=folder.name,
                         impute=impute)
    if len(tables) == 1:
        return data
    split = train_test_split(tables[0].values.shape[0], data.n_samples)
    return MultiLabelData(data.features, data.labels, data.feature_names, data.label_names,
                          name=data.name, notices=data.notices, split=split)


def read_label_names(xml: str | Path) -> list[str]:
    """The `<label name="...">` names of a Mulan XML file, nested (hierarchical) ones included."""
    try:
        root = ElementTree.parse(xml).getroot()
    except (OSError, ElementTree.ParseError) as err:
        raise DataError(f"cannot read the Mulan label file {xml}: {err}") from err
    names = [e.get("name") for e in root.iter() if e.tag.split("}")[-1] == "label"]
    if not names or None in names:
        raise DataError(f"{xml}: expected <label name=\"...\"> elements, found {len(names)} "
                        "(some without a name)" if names else f"{xml}: no <label> elements")
    return names


def table_to_data(table: ArffTable, label_names: list[str], *, name: str,
                  impute=None) -> MultiLabelData:
    """Split an ArffTable into 0/1 labels (the named attributes, in file order) and features."""
    index = {a.name: j for j, a in enumerate(table.attributes)}
    unknown = [n for n in label_names if n not in index]
    if unknown:
        raise DataError(f"{name}: label(s) {short_list(unknown)} from the label file are not "
                        "attributes of the ARFF file")
    label_columns = sorted(index[n] for n in set(label_names))
    if table.values.shape[0] == 0 or len(label_columns) == len(index):
        raise DataError(f"{table.source}: no data rows, or no attributes left as features")
    values = table.values
    labels, notices = _labels(table, values, label_columns)
    others = sorted(set(range(len(table.attributes))) - set(label_columns))
    features, feature_names, more = _features(table, values, others, impute)
    names = [table.attributes[j].name for j in label_columns]
    return MultiLabelData(features, labels, feature_names, names, name=name, notices=more + notices)


def _dense(values, columns: list[int]) -> np.ndarray:
    if not sp.issparse(values):
        return values[:, columns]
    if not columns:
        return np.zeros((values.shape[0], 0), dtype=np.float32)
    if columns == list(range(columns[0], columns[-1] + 1)):
        return values[:, columns[0]:columns[-1] + 1].toarray()  # a slice: much faster than a list
    return values[:, columns].toarray()


def _labels(table, values, columns) -> tuple[np.ndarray, list[str]]:
    labels = np.array(_dense(values, columns), dtype=np.float64)
    flipped = []
    for k, j in enumerate(columns):
        attribute = table.attributes[j]
        if attribute.kind == "nominal":
            to_binary = binary_map(attribute.categories)
            if to_binary is None:
                raise DataError(f"label attribute '{attribute.name}' has categories "
                                f"{{{','.join(attribute.categories)}}}: expected {{0,1}}")
            if to_binary[0] == 1:  # {1,0} or {YES,NO}: code 0 means present
                flipped.append(k)
        elif attribute.kind != "numeric":
            raise DataError(f"label attribute '{attribute.name}' is a {attribute.kind} attribute")
    labels[:, flipped] = 1 - labels[:, flipped]
    names = [table.attributes[j].name for j in columns]
    return binarize_labels(labels, names, describe_row=table.describe_row, where="labels")


def _features(table, values, columns, impute) -> tuple[np.ndarray, list[str], list[str]]:
    """Numeric and yes/no attributes as is, other nominal ones one-hot; ids and strings dropped."""
    direct, flipped, encoded, dropped, notices = [], [], [], [], []
    for j in columns:
        attribute = table.attributes[j]
        to_binary = binary_map(attribute.categories) if attribute.kind == "nominal" else None
        if attribute.kind == "numeric" or to_binary is not None:
            direct.append(j)
            if to_binary is not None and to_binary[0] == 1:  # e.g. {YES,NO}: code 0 means 1
                flipped.append(len(direct) - 1)
        elif attribute.kind == "nominal" and not _is_id_like(attribute, _dense(values, [j])):
            encoded.append(j)
        else:
            dropped.append(attribute.name)
    features = _dense(values, direct).astype(np.float32, copy=False)
    names = [table.attributes[j].name for j in direct]
    note = fill_missing(features, names, impute=impute, describe_row=table.describe_row,
                        where="features")
    features[:, flipped] = 1 - features[:, flipped]
    notices += [note] if note else []
    if flipped:
        notices.append(f"{len(flipped)} yes/no attributes read as 1 = yes, 0 = no")
    if encoded:
        block, block_names, note = _one_hot(table, values, encoded, impute)
        features, names = np.hstack([features, block]), names + block_names
        notices += [note] if note else []
        encoded_names = short_list([table.attributes[j].name for j in encoded])
        notices.append(f"one-hot encoded {len(encoded)} nominal attributes as 'name=value' columns "
                       f"after the numeric ones ({encoded_names})")
    if dropped:
        notices.append(f"dropped {len(dropped)} string/date/id-like attributes "
                       f"({short_list(dropped)})")
    return features, names, notices


def _is_id_like(attribute, column: np.ndarray) -> bool:
    """An identifier: named like one, or a different category on (nearly) every one of 10+ rows."""
    if attribute.name.strip().lower() in _ID_NAMES:
        return True
    codes = column[~np.isnan(column)]
    return codes.size >= 10 and np.unique(codes).size >= 0.9 * column.size  # genbase: 661 of 662


def _one_hot(table, values, columns, impute) -> tuple[np.ndarray, list[str], str | None]:
    codes = np.array(_dense(values, columns), dtype=np.float64)
    names = [table.attributes[j].name for j in columns]
    note = fill_missing(codes, names, impute=impute, describe_row=table.describe_row,
                        where="features", statistic="mode")
    blocks, block_names = [], []
    for k, j in enumerate(columns):
        categories = table.attributes[j].categories
        blocks.append(codes[:, k, None] == np.arange(len(categories)))
        block_names += [f"{names[k]}={c}" for c in categories]
    return np.hstack(blocks).astype(np.float32), block_names, note


def _meka_label_names(table: ArffTable, path: Path) -> list[str]:
    match = _MEKA_LABELS.search(table.relation)
    if not match:
        raise DataError(f"{path}: no label information: put the Mulan label file "
                        f"{_stem(path)}.xml beside it, or give MEKA's '-C n' in @relation")
    count = int(match.group(1))
    names = [a.name for a in table.attributes]
    if count == 0 or abs(count) >= len(names):
        raise DataError(f"{path}: '-C {count}' leaves no labels or no features "
                        f"({len(names)} attributes)")
    return names[:count] if count > 0 else names[count:]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".bz2", ".gz", ".arff"):
        name = name[: -len(suffix)] if name.lower().endswith(suffix) else name
    return name


def _find_xml(path: Path) -> Path | None:
    base = _PART_SUFFIX.sub("", _stem(path))
    exact = path.with_name(base + ".xml")
    if exact.is_file():
        return exact
    xmls = sorted(path.parent.glob("*.xml"))
    return xmls[0] if len(xmls) == 1 else None


def _choose_files(folder: Path, splits_dir: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    listed = [folder / f for f in _files_from_split(splits_dir / f"{folder.name}.json")]
    if listed and all(f.is_file() for f in listed):
        return listed
    trains = sorted(folder.glob("*-train*.arff*"))
    pairs = [[t, t.with_name(t.name.replace("-train", "-test"))] for t in trains]
    pairs = [p for p in pairs if p[1].is_file()]
    if len(pairs) == 1:
        return pairs[0]
    singles = [f for f in sorted(folder.glob("*.arff*")) if "-train" not in f.name
               and "-test" not in f.name]
    if not pairs and len(singles) == 1:
        return singles
    found = short_list([f.name for f in folder.glob("*.arff*")]) or "none"
    raise DataError(f"{folder}: expected one *-train/*-test ARFF pair or one .arff file, found "
                    f"{found}; load a file directly or list them in splits/{folder.name}.json")


def _files_from_split(path: Path) -> list[str]:
    try:
        files = json.loads(path.read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        return []
    return [str(f) for f in files] if isinstance(files, list) else []
