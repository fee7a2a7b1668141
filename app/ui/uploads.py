"""Uploaded files on the server's disk: only while they are read, in a folder removed after."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

UPLOAD_PREFIX = "cgmvae-upload-"
STALE_AFTER_S = 6 * 3600  # a folder this old was left by a server that died while reading it


@contextlib.contextmanager
def upload_folder(files) -> Iterator[Path]:
    """A fresh temporary folder holding `files` (Streamlit uploads) under their base names,
    deleted when the block ends, whatever happens in it; stale folders are swept first."""
    sweep_stale_uploads()
    with tempfile.TemporaryDirectory(prefix=UPLOAD_PREFIX) as folder:
        for file in files:
            name = Path(file.name).name or "upload"
            (Path(folder) / name).write_bytes(file.getvalue())
        yield Path(folder)


def sweep_stale_uploads(max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete upload folders older than `max_age_s` (from a crash); the folders deleted."""
    cutoff = time.time() - max_age_s
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{UPLOAD_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
                removed.append(folder)
    return removed
