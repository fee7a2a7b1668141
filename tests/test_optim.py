"""cgmvae.optim against the torch.optim parts it stands in for: the same numbers, step by step."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from cgmvae.associations import fit_temperature, golden_section_minimum
from cgmvae.optim import FusedAdam, WeightAverage, cosine_restart_rate, set_learning_rate


def small_network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    network = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3), nn.Linear(3, 2))
    network[3].requires_grad_(False)  # a frozen layer gets no state and no update
    return network


def losses_and_weights(network: nn.Module, optimizer, steps: int, rates=None) -> list:
    x = torch.randn(32, 6, generator=torch.Generator().manual_seed(1))
    trace = []
    for step in range(steps):
        if rates is not None:
            set_learning_rate(optimizer, rates[step])
        optimizer.zero_grad(set_to_none=True)
        head = network[:3](x) if step % 3 == 2 else network(x)  # the last layer sits out a step
        loss = (head ** 2).mean()
        loss.backward()
        optimizer.step()
        trace.append([p.detach().clone() for p in network.parameters()])
    return trace


def test_fused_adam_takes_the_steps_of_torch_fused_adam():
    rates = [0.01, 0.005, 0.02, 0.01, 0.001, 0.01, 0.01]
    ours, theirs = small_network(0), small_network(0)
    mine = losses_and_weights(ours, FusedAdam(ours.parameters(), lr=0.01, weight_decay=1e-3),
                              7, rates)
    reference = losses_and_weights(
        theirs, torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=1e-3, fused=True),
        7, rates)
    for step_mine, step_reference in zip(mine, reference, strict=True):
        for a, b in zip(step_mine, step_reference, strict=True):
            assert torch.equal(a, b)
    assert not torch.equal(mine[0][0], mine[-1][0])  # it did move


def test_fused_adam_leaves_a_parameter_without_gradient_alone():
    network = small_network(0)
    optimizer = FusedAdam(network.parameters(), lr=0.1)
    frozen = network[3].weight.detach().clone()
    losses_and_weights(network, optimizer, 2)
    assert torch.equal(network[3].weight, frozen)
    assert len(optimizer.parameters) == 4  # the frozen layer's two tensors are not held


def test_fused_adam_refuses_nothing_to_optimise():
    with pytest.raises(ValueError, match="no parameter"):
        FusedAdam([nn.Parameter(torch.ones(2), requires_grad=False)], lr=0.1)


def test_weight_average_matches_torch_ema_averaged_model():
    network = small_network(0)
    ours = WeightAverage(network, decay=0.9)
    theirs = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1)
    x = torch.randn(16, 6)
    for _ in range(5):
        optimizer.zero_grad()
        (network(x) ** 2).mean().backward()
        optimizer.step()
        ours.update(network)
        theirs.update_parameters(network)
    for a, b in zip(ours.module.parameters(), theirs.module.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    assert not torch.equal(ours.module[0].weight, network[0].weight)  # an average, not a copy


def test_weight_average_warmup_follows_the_steps_taken_then_the_decay():
    """min(decay, (1 + n) / (10 + n)) after n updates: 2/11 after one, 0.99 from 890 on."""
    network = small_network(0)
    average = WeightAverage(network, decay=0.99, warmup=True)
    decays = []
    for _ in range(1000):
        decays.append(average.current_decay())
        average.updates += 1
    assert decays[1] == pytest.approx(2 / 11) and decays[10] == pytest.approx(11 / 20)
    assert max(decays) == 0.99 and decays.index(0.99) == 890
    with torch.no_grad():  # two updates: the copy, then 2/11 of the old and 9/11 of the new
        first = network[0].weight.clone()
        average = WeightAverage(network, decay=0.99, warmup=True)
        average.update(network)
        network[0].weight.add_(1.0)
        average.update(network)
    torch.testing.assert_close(average.module[0].weight, first + 9 / 11)


def test_cosine_restart_rate_matches_torch_scheduler():
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=4)
    for epochs_done in range(1, 11):
        optimizer.step()
        scheduler.step()
        assert cosine_restart_rate(0.3, epochs_done, 4) == pytest.approx(
            optimizer.param_groups[0]["lr"], rel=1e-12, abs=1e-15)


def test_golden_section_finds_the_minimum_and_the_bounds():
    assert golden_section_minimum(lambda x: (x - 0.3) ** 2, -2.0, 2.0, 1e-8) == pytest.approx(
        0.3, abs=1e-7)
    assert golden_section_minimum(lambda x: x, -2.0, 2.0, 1e-8) == pytest.approx(-2.0, abs=1e-7)
    assert golden_section_minimum(lambda x: -x, -2.0, 2.0, 1e-8) == pytest.approx(2.0, abs=1e-7)


def test_fit_temperature_agrees_with_a_dense_grid():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(400, 10)) * 2.0
    labels = rng.random(logits.shape) < 1.0 / (1.0 + np.exp(-logits))
    grid = np.exp(np.linspace(np.log(0.1), np.log(10.0), 20001))
    losses = [np.mean(np.logaddexp(0.0, 2.5 * logits / t) - labels * 2.5 * logits / t)
              for t in grid]
    assert fit_temperature(2.5 * logits, labels) == pytest.approx(grid[np.argmin(losses)],
                                                                  rel=1e-3)
