"""Training across processes: DistributedSampler-style shards, launch checks, and two gloo
processes started by torchrun that train, stay in sync and leave one checkpoint."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DistributedSampler
from toy import toy_data

from cgmvae.cli import main
from cgmvae.distributed import Context, process_device, process_group
from cgmvae.predictor import TrainedModel

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--embedding-dim", "16", "--batch-size", "32", "--device", "cpu", "--patience", "50"]


@pytest.mark.parametrize("n_rows", [10, 11, 12])
def test_shards_are_distributed_sampler_s_padded_strides(n_rows):
    order = torch.randperm(n_rows, generator=torch.Generator().manual_seed(0))
    for rank in range(3):
        sampler = DistributedSampler(range(n_rows), num_replicas=3, rank=rank, shuffle=False)
        expected = order[list(sampler)]
        assert torch.equal(Context(rank=rank, world_size=3).shard(order), expected)


def test_ranks_draw_different_noise_from_one_seed():
    seeds = {Context(rank=rank, world_size=4).noise_seed(7) for rank in range(4)}
    assert len(seeds) == 4 and Context(rank=1, world_size=4).noise_seed(7) in seeds


def test_one_process_context_passes_values_through():
    single = Context()
    assert single.mean(6.0, 3) == 2.0 and single.decide(True) is True
    assert single.shard(torch.arange(5)).tolist() == [0, 1, 2, 3, 4]


def test_a_fixed_gpu_or_mps_is_refused_for_distributed_training():
    with pytest.raises(ValueError, match="LOCAL_RANK"):
        process_device("cuda:1", 0)
    with pytest.raises(ValueError, match="mps"):
        process_device("mps", 0)
    assert process_device("cpu", 3) == torch.device("cpu")


def test_distributed_outside_torchrun_says_how_to_start_it(monkeypatch, tmp_path, capsys):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="torchrun --nproc_per_node"), process_group("cpu"):
        pass
    csv = write_table(tmp_path, ".csv")
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), "--distributed",
                 *FAST]) == 2
    assert "torchrun" in capsys.readouterr().err


def write_table(folder: Path, suffix: str) -> Path:
    """The toy data set (6 features, 4 labels, 300 rows) as CSV or as Parquet of 12 row groups."""
    data = toy_data(300)
    frame = pd.DataFrame(data.features, columns=data.feature_names)
    frame[data.label_names] = data.labels.astype(np.uint8)
    path = folder / f"toy{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=25)
    path.with_suffix(".json").write_text(json.dumps(
        {"features": data.feature_names, "labels": data.label_names}))
    return path


# Run by each of torchrun's processes: `cgmvae train --distributed ARGS...` with
# Context.check_in_sync wrapped to save each rank's final weights and to check that it does
# refuse weights that differ between ranks. Arguments: the folder, the run's name, ARGS.
WORKER = textwrap.dedent("""
    import os, sys, torch
    from cgmvae import distributed
    from cgmvae.cli import main

    folder, run, rank = sys.argv[1], sys.argv[2], os.environ["RANK"]
    real_check = distributed.Context.check_in_sync

    def check_and_save(self, network):
        real_check(self, network)
        torch.save(network.state_dict(), f"{folder}/{run}-weights-{rank}.pt")
        diverged = torch.nn.Linear(2, 1)
        torch.nn.init.constant_(diverged.weight, float(self.rank))
        try:
            real_check(self, diverged)
        except RuntimeError:
            open(f"{folder}/{run}-divergence-caught-{rank}", "w").close()

    distributed.Context.check_in_sync = check_and_save
    sys.exit(main(["train", "--distributed", "--out", f"{folder}/{run}", *sys.argv[3:]]))
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A gloo worker aborted after training ("terminate called without an active exception") in 2 of
# about 20 full-suite runs, never in 30 runs of this file alone; a barrier before leaving the
# process group and an unfused Adam under DDP did not prove it gone. Seen again, it is rerun
# once with a warning, so that the training checks below still decide.
ABORT_AT_EXIT = "terminate called without an active exception"


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Two gloo processes started by torchrun train the toy data in memory, then two more
    stream it from Parquet row groups; {run: the torchrun result}."""
    folder = tmp_path_factory.mktemp("ddp")
    worker = folder / "worker.py"
    worker.write_text(WORKER)
    data = {"memory": [str(write_table(folder, ".csv"))],
            "stream": [str(write_table(folder, ".parquet")), "--stream"]}
    results = {}
    for run, options in data.items():
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                   f"--master_port={free_port()}", str(worker), str(folder), run, "--data",
                   *options, "--epochs", "6", *FAST]
        results[run] = run_process_group(command, timeout=120)
        if ABORT_AT_EXIT in results[run].stderr:  # rare, not about training: see ABORT_AT_EXIT
            warnings.warn(f"{run}: a worker aborted at exit; ran it again", stacklevel=1)
            shutil.rmtree(folder / run, ignore_errors=True)  # rank 0 may have written it
            results[run] = run_process_group(command, timeout=120)
        assert results[run].returncode == 0, results[run].stderr[-3000:]
    return folder, results


def run_process_group(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run torchrun in a session of its own and, if it hangs, kill the whole group: killing
    torchrun alone (what subprocess.run's timeout does) leaves its workers running."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT, start_new_session=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        err += f"\n(killed after {timeout} s with its workers)"
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize("run", ["memory", "stream"])
def test_two_gloo_processes_train_in_sync_and_rank_0_writes_one_checkpoint(two_processes, run):
    folder, _ = two_processes
    report = json.loads((folder / run / "metrics.json").read_text())
    assert report["processes"] == 2 and report["streamed"] == (run == "stream")
    model = TrainedModel.load(folder / run / "model.pt")
    losses = [record["train_loss"] for record in model.history]
    assert len(losses) == 6 and losses[-1] < 0.9 * losses[0]
    weights = [torch.load(folder / f"{run}-weights-{rank}.pt") for rank in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
    assert all((folder / f"{run}-divergence-caught-{rank}").exists() for rank in (0, 1))


@pytest.mark.parametrize("run", ["memory", "stream"])
def test_only_rank_0_prints(two_processes, run):
    result = two_processes[1][run]
    assert result.stdout.count("wrote ") == 1 and result.stdout.count("test_deployed") == 1
    assert result.stderr.count("training on toy") == 1
