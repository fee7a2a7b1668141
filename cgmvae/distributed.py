"""Training across processes with PyTorch's own engine: the process group torchrun describes,
DistributedDataParallel, each rank's share of the rows, and rank 0's decisions sent to all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

# What torchrun sets in every process it starts; without them there is no group to join.
LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
TORCHRUN_HINT = "torchrun --nproc_per_node=N -m cgmvae train ... --distributed"


@dataclass(frozen=True)
class Context:
    """Where this process stands: rank `rank` of `world_size`, on `device` (None: the caller
    picks, as a single process does). `SINGLE` is the one-process context, whose collectives
    return their input: training code has one path for one process and for many."""

    rank: int = 0
    world_size: int = 1
    device: torch.device | None = None
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Rank 0: validates, selects the epoch, writes the model and prints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1 or self.backend is not None

    def wrap(self, network: nn.Module) -> nn.Module:
        """The network DistributedDataParallel averages the gradients of; itself alone."""
        if not self.is_distributed:
            return network
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(network, device_ids=device_ids)

    def join(self, model: nn.Module):
        """A context for one epoch's steps in which ranks may run different numbers of batches
        (row groups of unequal sizes): DDP's Join shadows the collectives of finished ranks."""
        if isinstance(model, DistributedDataParallel):
            return model.join()
        return contextlib.nullcontext()

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's rows of the epoch's `order`, as DistributedSampler takes them: the order
        padded with its own start to a multiple of `world_size`, then every world_size-th row
        from `rank`, so that every rank runs the same number of batches."""
        if self.world_size == 1:
            return order
        padding = -len(order) % self.world_size
        padded = torch.cat([order, order[:padding]]) if padding else order
        return padded[self.rank::self.world_size]

    def noise_seed(self, seed: int) -> int:
        """A seed for this rank's dropout masks and latent samples: different on every rank,
        where the weights and the batch order share `seed`."""
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0])

    def mean(self, total: float, count: int) -> float:
        """sum(total) / sum(count) over the ranks: the mean batch loss of an epoch whose ranks
        ran `count` batches each (NaN when none ran any)."""
        if self.is_distributed:
            tensor = torch.tensor([total, count], dtype=torch.float64,
                                  device=self.collective_device)
            dist.all_reduce(tensor)
            total, count = tensor.tolist()
        return total / count if count else float("nan")

    def decide(self, flag: bool) -> bool:
        """Rank 0's `flag` on every rank (rank 0 alone decides when training stops)."""
        if not self.is_distributed:
            return flag
        tensor = torch.tensor([int(flag)], device=self.collective_device)
        dist.broadcast(tensor, src=0)
        return bool(tensor.item())

    def check_in_sync(self, network: nn.Module) -> None:
        """RuntimeError unless every rank holds rank 0's weights bit for bit, as DDP promises:
        a cheap end-of-training check that what rank 0 saves is what all ranks trained."""
        if not self.is_distributed:
            return
        with torch.no_grad():
            mine = torch.cat([p.detach().reshape(-1) for p in network.parameters()])
            reference = mine.clone()
            dist.broadcast(reference, src=0)
            differs = torch.tensor([int(not torch.equal(mine, reference))],
                                   device=self.collective_device)
            dist.all_reduce(differs)
        if differs.item():
            raise RuntimeError(f"{differs.item()} of {self.world_size} ranks ended training with "
                               "weights that differ from rank 0's")

    @property
    def collective_device(self) -> torch.device:
        """NCCL moves CUDA tensors only; gloo CPU ones."""
        return self.device if self.backend == "nccl" else torch.device("cpu")


SINGLE = Context()


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in LAUNCH_VARIABLES)


def process_device(device_name: str, rank_on_node: int) -> torch.device:
    """The device of one rank: its own GPU (cuda:LOCAL_RANK) for 'cuda' or for 'auto' when
    CUDA is there, else the CPU. ValueError for 'cuda' without a GPU, a fixed 'cuda:N' (every
    rank would take the same GPU) and 'mps' (no backend for it in torch.distributed)."""
    if device_name.startswith("cuda:"):
        raise ValueError(f"with --distributed each process uses the GPU of its LOCAL_RANK: give "
                         f"--device cuda (or auto), not {device_name}")
    if device_name == "mps":
        raise ValueError("--distributed runs on CPUs (gloo) or CUDA GPUs (NCCL), not on mps")
    cuda = torch.cuda.is_available()
    if device_name == "cuda" and not cuda:
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU")
    if device_name in ("cuda", "auto") and cuda:
        if rank_on_node >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK {rank_on_node} but only {torch.cuda.device_count()} "
                             "GPU(s) here: start at most one process per GPU")
        return torch.device("cuda", rank_on_node)
    return torch.device("cpu")


@contextlib.contextmanager
def process_group(device_name: str) -> Iterator[Context]:
    """Join the process group that torchrun describes (NCCL on GPUs, gloo on CPUs) for the
    duration of the block, and leave it after. ValueError outside torchrun."""
    if not launched_by_torchrun():
        missing = ", ".join(n for n in LAUNCH_VARIABLES if n not in os.environ)
        raise ValueError(f"--distributed needs the variables torchrun sets ({missing} missing): "
                         f"start it as `{TORCHRUN_HINT}`")
    device = process_device(device_name, int(os.environ["LOCAL_RANK"]))
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
    try:
        yield Context(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device,
                      backend=backend)
        # Every rank done before any leaves: a rank that tore its connections down while rank 0
        # still wrote the checkpoint aborted at exit ("terminate called without an active
        # exception", seen once in a CI-like run), and torchrun then killed rank 0. Skipped on
        # an error (the exception leaves at the yield), which must not wait for the others.
        dist.barrier()
    finally:
        dist.destroy_process_group()
