"""The training loop's optimiser, learning-rate schedule and weight average.

One process on a CPU or CUDA device steps Adam with PyTorch's fused kernel directly
(`FusedAdam`), not through `torch.optim.Optimizer`: the Optimizer's first step imports
torch._dynamo, 1.5-2.8 s of a 20-epoch yeast training process (benchmarks/results/profile.txt,
speed_yeast_ratio.csv), for a compiler this project never uses. The update is the same kernel
`torch.optim.Adam(fused=True)` calls, so the steps agree to the bit (tests/test_optim.py). Under
DistributedDataParallel, and on other devices, `torch.optim.Adam` itself steps (unfused under DDP:
train.adam says why).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import nn

FUSED_DEVICES = frozenset({"cpu", "cuda"})


class FusedAdam:
    """Adam (Kingma & Ba 2015) with L2 weight decay, as `torch.optim.Adam(..., fused=True)`:
    one `torch._fused_adam_` call per step over every parameter that has a gradient.

    The learning rate is `param_groups[0]["lr"]`, where a schedule sets it, as on a torch
    optimiser."""

    def __init__(self, parameters: Iterable[nn.Parameter], *, lr: float, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.parameters = [p for p in parameters if p.requires_grad]
        if not self.parameters:
            raise ValueError("FusedAdam got no parameter that requires a gradient")
        if {p.device.type for p in self.parameters} - FUSED_DEVICES:
            raise ValueError(f"FusedAdam runs on {sorted(FUSED_DEVICES)} only")
        self.param_groups = [{"lr": float(lr)}]
        self.weight_decay, self.betas, self.eps = float(weight_decay), betas, float(eps)
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format)
                         for p in self.parameters]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format)
                            for p in self.parameters]
        # one float32 step count per parameter, on its device, as torch.optim.Adam keeps them
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device)
                      for p in self.parameters]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for parameter in self.parameters:
            if set_to_none:
                parameter.grad = None
            elif parameter.grad is not None:
                parameter.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter with a gradient (as torch.optim.Adam, a parameter
        without one keeps its value and its moments)."""
        chosen = [i for i, p in enumerate(self.parameters) if p.grad is not None]
        if not chosen:
            return
        for device in {self.parameters[i].device for i in chosen}:
            on_device = [i for i in chosen if self.parameters[i].device == device]
            steps = [self.steps[i] for i in on_device]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                [self.parameters[i] for i in on_device],
                [self.parameters[i].grad for i in on_device],
                [self.exp_avgs[i] for i in on_device],
                [self.exp_avg_sqs[i] for i in on_device],
                [], steps, amsgrad=False, lr=self.param_groups[0]["lr"],
                beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay,
                eps=self.eps, maximize=False, grad_scale=None, found_inf=None)


def cosine_restart_rate(base_rate: float, epochs_done: int, period: int) -> float:
    """The learning rate after `epochs_done` epochs under cosine annealing with warm restarts
    every `period` epochs, down to 0 (SGDR, Loshchilov & Hutter 2017; the authors' schedule), as
    torch's CosineAnnealingWarmRestarts(T_0=period) gives after as many `step()` calls."""
    return base_rate * (1.0 + math.cos(math.pi * (epochs_done % period) / period)) / 2.0


def set_learning_rate(optimizer, rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = rate


class WeightAverage:
    """An exponential moving average of a network's parameters, updated after each step:
    `average = decay * average + (1 - decay) * current` (buffers copied), as
    torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn(decay), whose first update
    copies the weights. With `warmup`, the n-th update uses min(decay, (1 + n) / (10 + n))
    instead (TensorFlow's ExponentialMovingAverage with num_updates), so that after a few
    dozen steps the average is not still mostly the first step's weights. `module` is the
    averaged copy to validate and keep."""

    def __init__(self, network: nn.Module, decay: float, warmup: bool = False):
        self.module = copy.deepcopy(network)
        self.decay, self.warmup, self.updates = float(decay), bool(warmup), 0
        self._averaged = [p.detach() for p in self.module.parameters()]

    def current_decay(self) -> float:
        """The decay of the next update."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        current = [p.detach() for p in network.parameters()]
        if self.updates == 0:
            torch._foreach_copy_(self._averaged, current)
        else:
            torch._foreach_lerp_(self._averaged, current, 1.0 - self.current_decay())
        for mine, theirs in zip(self.module.buffers(), network.buffers(), strict=True):
            mine.copy_(theirs)
        self.updates += 1
