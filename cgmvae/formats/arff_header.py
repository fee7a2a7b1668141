"""ARFF header: `@relation`, `@attribute` declarations (names, kinds, categories) and `@data`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cgmvae.data import DataError

QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_NAME_AND_TYPE = re.compile(rf"@attribute\s+({QUOTED}|[^\s{{]+)\s*(.*)$", re.IGNORECASE)
_CATEGORY = re.compile(rf"\s*({QUOTED}|[^,]*)\s*(?:,|$)")
_NUMERIC_TYPES = ("numeric", "real", "integer")


@dataclass(frozen=True)
class Attribute:
    """One `@attribute`: its name, kind ("numeric", "nominal", "string", "date") and categories."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()  # a nominal attribute's values in declaration order


def unquote(token: str) -> str:
    """A name or value without its quotes and backslash escapes."""
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def parse_header(lines: list[str], where: str) -> tuple[str, list[Attribute], int]:
    """The relation name, the attributes and the (1-based) line number of `@data`."""
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
