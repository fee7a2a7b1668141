"""A training run's folder (`train --out DIR`), written whole or not at all: the files go to a
hidden sibling folder that is renamed into place at the end, so a kill or a full disk never
leaves a new model next to old metrics, or a half-written file under a real name."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RUN_FILES = ("model.pt", "metrics.json")  # what a run folder holds


def check_run_target(out: Path, *, overwrite: bool) -> None:
    """FileExistsError unless `out` is new, empty, or a run to be replaced (`overwrite`).

    A folder holding anything else is never replaced: the swap would delete it.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a run folder: choose another --out")
    entries = sorted(entry.name for entry in out.iterdir())
    others = [name for name in entries if name not in RUN_FILES]
    if others:
        raise FileExistsError(
            f"{out} holds files that are not a run's ({', '.join(others[:5])}); a run folder is "
            "replaced as a whole, so choose a new or empty folder")
    if entries and not overwrite:
        raise FileExistsError(f"{out} already holds a run ({', '.join(entries)}); pass "
                              "--overwrite to replace it")


@contextmanager
def writing_run(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty hidden folder beside `out` to write the run into. When the block ends
    without error it becomes `out` in one rename (an old run is moved aside first and deleted
    after); on an error or an interrupt it is deleted and `out` is left as it was."""
    out = Path(os.path.abspath(out))
    check_run_target(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(out)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        yield staging
        check_run_target(out, overwrite=overwrite)  # it may have appeared while we trained
        move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful move


def remove_abandoned(out: Path) -> None:
    """Delete the hidden folders of earlier runs into `out` whose process is gone (killed with
    `kill -9` or by a power cut, so that no `finally` ran). The folder names the writing
    process; a live process's folder, or one with no readable process id, is left alone."""
    for staging in out.parent.glob(f".{out.name}.partial-*"):
        pid = staging.name.rsplit(".partial-", 1)[1].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but belongs to someone else
    return True


def move_into_place(staging: Path, out: Path) -> None:
    """Rename `staging` to `out`; an existing `out` is set aside and put back if that fails."""
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
