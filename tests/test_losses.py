"""The loss terms of Eqs. 3-7 against closed forms and hand-computed values."""

import math

import pytest
import torch
import torch.nn.functional as F

from cgmvae.losses import (
    contrastive_loss,
    cross_entropy_loss,
    gaussian_kl,
    gaussian_log_density,
    label_log_densities,
    mixture_kl_estimate,
    mixture_log_prior,
    reconstruction_loss,
)


def test_gaussian_log_density_matches_torch_distributions():
    z, mean, logvar = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3)
    expected = torch.distributions.Normal(mean, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    assert torch.allclose(gaussian_log_density(z, mean, logvar), expected, atol=1e-5)


def test_label_log_densities_matrix_form_equals_broadcast_form():
    z = torch.randn(7, 4, dtype=torch.float64)
    mean, logvar = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    broadcast = gaussian_log_density(z[:, None, :], mean[None], logvar[None])  # (7, 5)
    assert torch.allclose(label_log_densities(z, mean, logvar), broadcast, atol=1e-9)


def test_mixture_prior_with_one_positive_label_is_that_labels_gaussian():
    z = torch.randn(2, 3)
    mean, logvar = torch.randn(4, 3), torch.randn(4, 3)
    y = torch.tensor([[0, 1, 0, 0], [0, 0, 0, 1.0]])
    expected = torch.stack([gaussian_log_density(z[0], mean[1], logvar[1]),
                            gaussian_log_density(z[1], mean[3], logvar[3])])
    assert torch.allclose(mixture_log_prior(z, mean, logvar, y), expected, atol=1e-5)


def test_mixture_prior_of_two_identical_components_equals_one_component():
    z, mean, logvar = torch.randn(1, 3), torch.zeros(2, 3), torch.zeros(2, 3)
    y = torch.tensor([[1.0, 1.0]])
    assert torch.allclose(mixture_log_prior(z, mean, logvar, y),
                          gaussian_log_density(z, torch.zeros(3), torch.zeros(3)), atol=1e-6)


def test_mixture_prior_is_the_uniform_average_of_the_positive_components():
    z = torch.tensor([[0.0]])
    mean, logvar = torch.tensor([[0.0], [1.0], [5.0]]), torch.zeros(3, 1)
    y = torch.tensor([[1.0, 1.0, 0.0]])
    density = 0.5 * (math.exp(-0.5 * 0.0) + math.exp(-0.5 * 1.0)) / math.sqrt(2 * math.pi)
    log_prior = mixture_log_prior(z, mean, logvar, y).item()
    assert log_prior == pytest.approx(math.log(density), abs=1e-6)


def test_sample_without_labels_gets_the_standard_normal_prior_and_no_nan():
    z = torch.tensor([[1.0, -2.0]])
    mean, logvar = torch.randn(3, 2), torch.randn(3, 2)
    y = torch.zeros(1, 3)
    expected = gaussian_log_density(z, torch.zeros(2), torch.zeros(2))
    assert torch.allclose(mixture_log_prior(z, mean, logvar, y), expected)


def test_kl_estimate_is_zero_when_posterior_equals_single_component_prior():
    mean, logvar = torch.randn(1, 3), torch.randn(1, 3)
    z = mean + torch.exp(0.5 * logvar) * torch.randn(4, 1, 3)  # any sample point
    y = torch.tensor([[1.0]])
    kl = mixture_kl_estimate(z, mean, logvar, mean, logvar, y).item()
    assert kl == pytest.approx(0.0, abs=1e-5)


def test_kl_estimate_averages_to_closed_form_kl_for_one_component():
    torch.manual_seed(0)
    mean_q, logvar_q = torch.tensor([[0.5, -0.3]]), torch.tensor([[-0.2, 0.1]])
    mean_p, logvar_p = torch.tensor([[0.0, 0.2]]), torch.tensor([[0.3, -0.1]])
    z = mean_q + torch.exp(0.5 * logvar_q) * torch.randn(200_000, 1, 2)
    estimate = mixture_kl_estimate(z, mean_q, logvar_q, mean_p, logvar_p, torch.ones(1, 1))
    closed_form = gaussian_kl(mean_q, logvar_q, mean_p, logvar_p).item()
    assert estimate.item() == pytest.approx(closed_form, abs=5e-3)


def test_gaussian_kl_of_identical_gaussians_is_zero_and_known_value_otherwise():
    zero = torch.zeros(1, 2)
    assert gaussian_kl(zero, zero, zero, zero).item() == 0.0
    # KL(N(1, 1) || N(0, 1)) = 0.5 per dimension
    assert gaussian_kl(torch.ones(1, 2), zero, zero, zero).item() == pytest.approx(1.0)


def test_contrastive_loss_hand_computed_example():
    anchor = torch.tensor([[1.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([[1.0, 1.0, 0.0]])
    log_norm = math.log(math.e + 1.0 + math.exp(-1.0))
    expected = 0.5 * ((log_norm - 1.0) + (log_norm - 0.0))
    assert contrastive_loss(anchor, labels, y).item() == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_temperature_scales_the_inner_products():
    anchor = torch.tensor([[1.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[1.0, 0]])
    expected = math.log(math.exp(2.0) + 1.0) - 2.0  # tau = 0.5 doubles the logits
    loss = contrastive_loss(anchor, labels, y, temperature=0.5).item()
    assert loss == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_leaves_label_less_samples_out_of_the_mean():
    anchor = torch.tensor([[1.0, 0.0], [0.3, 0.7]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    alone = contrastive_loss(anchor[:1], labels, y[:1])
    assert contrastive_loss(anchor, labels, y).item() == pytest.approx(alone.item())
    assert torch.isfinite(contrastive_loss(anchor, labels, torch.zeros(2, 2)))


def test_cross_entropy_sums_over_labels_and_averages_over_batch():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    per_entry = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    assert cross_entropy_loss(logits, y).item() == pytest.approx(per_entry.sum().item() / 2)


def test_cross_entropy_is_finite_for_huge_logits():
    logits = torch.tensor([[1e4, -1e4]])
    assert cross_entropy_loss(logits, torch.tensor([[0.0, 1.0]])).item() == pytest.approx(2e4)


def test_reconstruction_loss_is_half_squared_error():
    assert reconstruction_loss(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])).item() == 2.5
