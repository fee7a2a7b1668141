"""How long a training will take, measured before it starts: a few real optimiser steps of the
model about to be trained, on this machine, scaled to an epoch."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData, Split, Standardizer
from cgmvae.model import CGMVAE
from cgmvae.train import adam, resolve_device, train_step


@dataclass(frozen=True)
class EpochEstimate:
    seconds_per_epoch: float  # the training steps of one epoch plus a validation pass
    max_epochs: int
    patience: int

    @property
    def at_most_seconds(self) -> float:
        """If no epoch stops early: `max_epochs` epochs."""
        return self.seconds_per_epoch * self.max_epochs

    @property
    def at_least_seconds(self) -> float:
        """If the best epoch is the first: it still runs `patience` more."""
        return self.seconds_per_epoch * min(self.max_epochs, 1 + self.patience)


VALIDATION_ROWS_TIMED = 4096  # validation rows whose forward pass is timed, then scaled


def estimate_epoch_time(data: MultiLabelData, split: Split, model_config: ModelConfig,
                        train_config: TrainConfig, *, steps: int = 3) -> EpochEstimate:
    """Time `steps` optimiser steps (after one untimed warm-up step) of a fresh network with
    these settings on real training rows, and one forward pass over (at most
    VALIDATION_ROWS_TIMED of) the validation rows; scale the steps to the epoch's batch count
    and the pass to all validation rows. Nothing is kept: the network is thrown away."""
    device = resolve_device(train_config.device)
    generator = torch.Generator().manual_seed(train_config.seed)
    config = replace(model_config, n_features=data.n_features, n_labels=data.n_labels)
    network = CGMVAE(config, generator=generator).to(device)
    optimizer = adam(network, train_config)
    rows = split.train[:max(2, min(train_config.batch_size, split.train.size))]
    standardizer = Standardizer.fit(data.features[rows])  # a step's time ignores the scaling
    x = torch.as_tensor(standardizer.transform(data.features[rows]), device=device)
    y = torch.as_tensor(data.labels[rows], dtype=torch.float32, device=device)
    network.train()
    train_step(network, optimizer, x, y, train_config)  # warm-up: allocations, lazy inits
    started = time.perf_counter()
    for _ in range(steps):
        train_step(network, optimizer, x, y, train_config)
    step_seconds = (time.perf_counter() - started) / steps
    network.eval()
    timed_val = split.val[:VALIDATION_ROWS_TIMED]
    with torch.no_grad():
        val = torch.as_tensor(standardizer.transform(data.features[timed_val]), device=device)
        started = time.perf_counter()
        for chunk in val.split(train_config.eval_batch_size):
            network.feature_logits(chunk)
    # a forward pass is row by row: its time scales with the rows (100,000 validation rows of
    # a 1M-site table took 2 s of the Train page's first answer when all were timed)
    val_seconds = (time.perf_counter() - started) * split.val.size / max(1, timed_val.size)
    n_batches = -(-split.train.size // train_config.batch_size)
    return EpochEstimate(step_seconds * n_batches + val_seconds, train_config.max_epochs,
                         train_config.patience)


def duration(seconds: float) -> str:
    """'45 s', '3 min', '1 h 20 min': how long, in the words of a progress note."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"
