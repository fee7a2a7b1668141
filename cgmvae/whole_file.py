"""Files written whole or not at all, as every writer of tables and predictions here needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def whole_file(path: Path) -> Iterator[Path]:
    """The path to write `path`'s content to (`<name>.partial` beside it): it takes `path`'s name
    when the block ends, and is removed when the block raises, so a failed or interrupted write
    never leaves a half-written `path` (nor replaces a good one)."""
    partial = path.with_name(path.name + ".partial")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
