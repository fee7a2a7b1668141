"""`train --out DIR` writes the run whole or not at all: an existing run is replaced only with
--overwrite, and a full disk, an error or a kill during the final write leave the old run as it
was and no temporary files behind."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import write_toy_csv

from cgmvae import checkpoint, run_folder
from cgmvae.cli import main

TINY = ["--epochs", "1", "--embedding-dim", "8", "--device", "cpu"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def old_run(tmp_path):
    """A finished run in tmp_path/run, its data, and its files' bytes."""
    csv = write_toy_csv(tmp_path)
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), *TINY]) == 0
    return csv, tmp_path / "run", snapshot(tmp_path / "run")


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_an_existing_run_is_refused_without_overwrite_and_replaced_with_it(old_run, capsys):
    csv, run, before = old_run
    capsys.readouterr()
    assert main(["train", "--data", str(csv), "--out", str(run), *TINY, "--seed", "1"]) == 2
    assert "already holds a run" in capsys.readouterr().err and snapshot(run) == before
    assert main(["train", "--data", str(csv), "--out", str(run), *TINY, "--seed", "1",
                 "--overwrite"]) == 0
    after = snapshot(run)
    assert set(after) == {"model.pt", "metrics.json"} and after["model.pt"] != before["model.pt"]
    assert leftovers(run.parent) == []


def test_a_folder_holding_other_files_is_never_replaced(tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    assert main(["train", "--data", str(csv), "--out", str(folder), *TINY, "--overwrite"]) == 2
    assert "not a run's (notes.txt)" in capsys.readouterr().err
    assert snapshot(folder) == {"notes.txt": b"keep me"}


def test_a_full_disk_while_saving_the_model_leaves_the_old_run_and_no_leftovers(
        old_run, monkeypatch, capsys):
    csv, run, before = old_run

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", disk_full)
    capsys.readouterr()
    assert main(["train", "--data", str(csv), "--out", str(run), *TINY, "--overwrite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: [Errno 28] No space left on device"
    assert snapshot(run) == before and leftovers(run.parent) == []


def test_a_write_error_on_the_metrics_leaves_the_old_run_and_no_leftovers(old_run, monkeypatch):
    csv, run, before = old_run
    write_text = Path.write_text

    def failing_write(path, text, *args, **kwargs):
        if path.name == "metrics.json":
            write_text(path, text[:10])  # a part is written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write)
    assert main(["train", "--data", str(csv), "--out", str(run), *TINY, "--overwrite"]) == 2
    assert snapshot(run) == before and leftovers(run.parent) == []


def test_an_interrupt_during_the_final_rename_puts_the_old_run_back(old_run, monkeypatch):
    csv, run, before = old_run
    rename = Path.rename

    def interrupted(source, target):
        if source.name.startswith(".run.partial-"):
            # the kill arrives between setting the old run aside and the swap
            raise KeyboardInterrupt
        return rename(source, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--data", str(csv), "--out", str(run), *TINY, "--overwrite"])
    assert snapshot(run) == before and leftovers(run.parent) == []


def test_a_process_killed_during_the_final_write_leaves_the_old_run_whole(old_run, tmp_path):
    """SIGKILL while metrics.json is being written: nothing can clean up, yet the old run is
    untouched; only a hidden .run.partial-* folder is left (the README says so)."""
    csv, run, before = old_run
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "write_text = Path.write_text\n"
        "def killed(path, text, *a, **k):\n"
        "    if path.name == 'metrics.json':\n"
        "        write_text(path, text[:10])\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return write_text(path, text, *a, **k)\n"
        "Path.write_text = killed\n"
        "from cgmvae.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    result = subprocess.run(
        [sys.executable, "-c", script, "train", "--data", str(csv), "--out", str(run), *TINY,
         "--overwrite"], capture_output=True, cwd=Path(__file__).resolve().parents[1],
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}, timeout=300, check=False)
    assert result.returncode == -9
    assert snapshot(run) == before
    assert [name.split("-")[0] for name in leftovers(run.parent)] == [".run.partial"]
    json.loads(before["metrics.json"])  # the old metrics are whole
    main(["train", "--data", str(csv), "--out", str(run), *TINY, "--overwrite"])
    assert leftovers(run.parent) == []  # the next run into it removes the dead one's folder


def test_a_live_process_s_partial_folder_is_left_alone(tmp_path):
    run = tmp_path / "run"
    live = tmp_path / f".run.partial-{os.getppid()}-abcd1234"  # the process that started pytest
    dead = tmp_path / ".run.partial-999999999-abcd1234"  # above any pid the kernel hands out
    unnamed = tmp_path / ".run.partial-abcd1234"  # written before folders named their process
    for folder in (live, dead, unnamed):
        folder.mkdir()
    with run_folder.writing_run(run) as folder:
        (folder / "model.pt").write_bytes(b"x")
    assert live.is_dir() and unnamed.is_dir() and not dead.exists()


def test_writing_run_replaces_an_empty_folder_and_creates_missing_parents(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (empty, tmp_path / "a" / "b"):
        with run_folder.writing_run(out) as folder:
            (folder / "model.pt").write_bytes(b"x")
        assert snapshot(out) == {"model.pt": b"x"}
