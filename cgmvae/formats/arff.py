"""ARFF reader (dense and sparse rows, plain or .bz2/.gz) into a table of numbers and category codes."""

from __future__ import annotations

import bz2
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from cgmvae.data import DataError
from cgmvae.formats.arff_rows import QUOTED, parse_dense, parse_sparse, unquote

_NAME_AND_TYPE = re.compile(rf"@attribute\s+({QUOTED}|[^\s{{]+)\s*(.*)$", re.IGNORECASE)
_CATEGORY = re.compile(rf"\s*({QUOTED}|[^,]*)\s*(?:,|$)")
_NUMERIC_TYPES = ("numeric", "real", "integer")


@dataclass(frozen=True)
class Attribute:
    """One `@attribute`: its name, kind ("numeric", "nominal", "string", "date") and categories."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()  # a nominal attribute's values in declaration order


@dataclass(frozen=True)
class ArffTable:
    """The rows of one or more ARFF files with the same attributes.

    `values` (N, A) holds numbers for numeric attributes, category codes (0, 1, ...) for nominal
    ones, NaN for '?' and 0 for string/date attributes; it is scipy CSR when the rows were sparse.
    """

    relation: str
    attributes: list[Attribute]
    values: np.ndarray | sp.csr_matrix
    row_origins: list[str]  # "file line n" of each row, for messages
    source: str  # the file name(s)

    def describe_row(self, row: int) -> str:
        return f"data row {row + 1} ({self.row_origins[row]})"


def read_arff(path: str | Path) -> ArffTable:
    """Read an ARFF file (`.arff`, `.arff.bz2` or `.arff.gz`).

    Parameters
    ----------
    path : the file.

    Returns
    -------
    ArffTable with the relation name, attributes and values of every data row.

    Raises
    ------
    DataError for unreadable files, malformed headers and bad data rows (naming file and line).
    """
    path = Path(path)
    lines = _read_text(path).split("\n")
    relation, attributes, data_start = _parse_header(lines, path.name)
    rows, line_numbers = _data_rows(lines, data_start)
    sparse = [row.startswith("{") for row in rows]
    origins = [f"{path.name} line {n}" for n in line_numbers]
    if any(sparse) and not all(sparse):
        first = sparse.index(not sparse[0])
        raise DataError(f"{path.name} line {line_numbers[first]}: mixes dense and sparse rows")
    parse = parse_sparse if rows and sparse[0] else parse_dense
    values = parse(rows, attributes, origins)
    return ArffTable(relation, attributes, values, origins, path.name)


def concat_tables(tables: list[ArffTable]) -> ArffTable:
    """The rows of several tables (e.g. a train and a test file) one after the other."""
    first = tables[0]
    for table in tables[1:]:
        if table.attributes != first.attributes:
            raise DataError(
                f"{first.source} and {table.source} "
                "declare different attributes: they cannot be stacked"
            )
    if any(sp.issparse(t.values) for t in tables):
        values = sp.vstack([sp.csr_matrix(t.values) for t in tables], format="csr")
    else:
        values = np.concatenate([t.values for t in tables])
    origins = [o for t in tables for o in t.row_origins]
    source = " + ".join(t.source for t in tables)
    return ArffTable(first.relation, first.attributes, values, origins, source)


def _read_text(path: Path) -> str:
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(path.suffix, open)
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err}") from err
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # old Weka files are often Latin-1


def _parse_header(lines: list[str], where: str) -> tuple[str, list[Attribute], int]:
    relation, attributes = "", []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        keyword = text[:10].lower()
        if not text or text.startswith("%"):
            continue
        if keyword.startswith("@relation"):
            relation = unquote(text[len("@relation"):])
        elif keyword.startswith("@attribute"):
            attributes.append(_parse_attribute(text, f"{where} line {number}"))
        elif keyword.startswith("@data"):
            if not attributes:
                raise DataError(f"{where}: no @attribute lines before @data (line {number})")
            _check_unique([a.name for a in attributes], where)
            return relation, attributes, number
        else:
            raise DataError(f"{where} line {number}: expected @relation, @attribute or @data, "
                            f"found {text[:40]!r}")
    raise DataError(f"{where}: no @data line: is it an ARFF file?")


def _parse_attribute(text: str, where: str) -> Attribute:
    match = _NAME_AND_TYPE.match(text)
    if not match or not match.group(2):
        raise DataError(f"{where}: cannot read the attribute declaration {text[:60]!r}")
    name, kind = unquote(match.group(1)), match.group(2).strip()
    if kind.startswith("{"):
        if not kind.endswith("}"):
            raise DataError(f"{where}: attribute '{name}' has an unclosed {{...}} list")
        categories = _split_categories(kind[1:-1])
        if len(set(categories)) != len(categories) or "" in categories:
            raise DataError(f"{where}: attribute '{name}' has empty or repeated categories")
        return Attribute(name, "nominal", tuple(categories))
    word = kind.split()[0].lower()
    if word in _NUMERIC_TYPES:
        return Attribute(name, "numeric")
    if word in ("string", "date"):
        return Attribute(name, word)
    raise DataError(f"{where}: attribute '{name}' has unsupported type {kind[:30]!r}")


def _split_categories(body: str) -> list[str]:
    return [unquote(m.group(1)) for m in _CATEGORY.finditer(body) if m.end() > m.start()]


def _check_unique(names: list[str], where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise DataError(f"{where}: attribute '{name}' is declared twice")
        seen.add(name)


def _data_rows(lines: list[str], start: int) -> tuple[list[str], list[int]]:
    rows, numbers = [], []
    for number in range(start + 1, len(lines) + 1):
        text = lines[number - 1].strip()
        if text and not text.startswith("%"):
            rows.append(text)
            numbers.append(number)
    return rows, numbers
