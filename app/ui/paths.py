"""Paths typed in the browser: only inside the data folders the server's operator allows."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOTS_ENV = "CGMVAE_DATA_ROOTS"  # os.pathsep-separated folders; default: see data_roots()


class PathNotAllowed(ValueError):
    """A path outside the allowed data folders (the pages show it like any user error)."""


def data_roots() -> list[Path]:
    """The folders a typed path may lie in: $CGMVAE_DATA_ROOTS, else the working folder (the
    repository root under `make app`) and ../shared/data; symlinks resolved."""
    configured = os.environ.get(DATA_ROOTS_ENV, "")
    roots = [Path(p) for p in configured.split(os.pathsep) if p.strip()]
    if not roots:
        roots = [Path.cwd(), Path.cwd().parent / "shared" / "data"]
    return [root.expanduser().resolve() for root in roots]


def allowed_path(text: str | os.PathLike) -> Path:
    """The resolved path `text` names (relative to the working folder; symlinks and `..`
    followed) when it lies inside a data root; PathNotAllowed otherwise. The check runs before
    the path is touched, so the message is the same whether the file exists or not."""
    raw = str(text).strip()
    if not raw or "\x00" in raw:
        raise PathNotAllowed("type a path first")
    roots = data_roots()
    try:
        path = Path(raw).expanduser()
        resolved = (path if path.is_absolute() else Path.cwd() / path).resolve()
    except (RuntimeError, OSError):  # an unknown ~user, a symlink loop: said like any other
        resolved = None
    if resolved is None or not any(resolved.is_relative_to(root) for root in roots):
        raise PathNotAllowed(
            "this path is outside the allowed data folders: "
            + ", ".join(str(root) for root in roots)
            + f" (the server's operator sets them with {DATA_ROOTS_ENV}); upload the file instead")
    return resolved


def new_checkpoint_path(text: str) -> Path:
    """An allowed path for a new checkpoint: a `.pt` name not taken yet (nothing on the server
    is overwritten from the browser)."""
    path = allowed_path(text)
    if path.suffix != ".pt":
        raise PathNotAllowed("a checkpoint's file name ends in .pt")
    if path.exists():
        raise PathNotAllowed(f"{path.name} exists already; choose a new name")
    return path
