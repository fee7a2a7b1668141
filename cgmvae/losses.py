"""C-GMVAE loss terms (paper Eqs. 3-7) as pure functions of tensors."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from cgmvae.config import LossWeights
from cgmvae.model import Output

LOG_2PI = math.log(2.0 * math.pi)


class LossTerms(NamedTuple):
    total: torch.Tensor
    kl: torch.Tensor
    contrastive: torch.Tensor
    cross_entropy: torch.Tensor
    reconstruction: torch.Tensor


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z | mean, diag(exp(logvar))), summed over the last axis (broadcasting)."""
    return -0.5 * (LOG_2PI + logvar + (z - mean) ** 2 * torch.exp(-logvar)).sum(dim=-1)


def label_log_densities(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z_b | mu_i, sigma_i^2) for every sample b and label i.

    z (..., B, d), mean and logvar (L, d) -> (..., B, L).

    Expands the square so that the (B, L) table comes from two matrix products instead of a
    (B, L, d) broadcast: sum_k (z_k - mu_k)^2 / s_k = z^2 @ (1/s) - 2 z @ (mu/s) + sum mu^2/s.
    """
    precision = torch.exp(-logvar)  # (L, d)
    squared = (z * z) @ precision.T - 2.0 * z @ (mean * precision).T  # (B, L)
    constant = (mean * mean * precision + logvar).sum(dim=-1) + z.shape[-1] * LOG_2PI  # (L,)
    return -0.5 * (squared + constant)


def mixture_log_prior(z: torch.Tensor, label_mean: torch.Tensor, label_logvar: torch.Tensor,
                      y: torch.Tensor) -> torch.Tensor:
    """log p(z | y) of Eq. 1: uniform mixture of the positive labels' Gaussians.

    z (..., B, d) -> (..., B).

    A sample without positive labels has no mixture; it gets the standard normal N(0, I) prior,
    which is what the mixture would give if every label's Gaussian were at its initial N(0, I).
    """
    log_densities = label_log_densities(z, label_mean, label_logvar)  # (B, L)
    positives = y > 0.5
    n_positive = positives.sum(dim=-1)  # (B,)
    # Label-less rows keep all components here so that no row is all -inf (whose logsumexp
    # gradient is NaN even where torch.where discards it); their value is replaced below.
    kept = positives | (n_positive == 0)[:, None]
    masked = log_densities.masked_fill(~kept, float("-inf"))
    mixture = torch.logsumexp(masked, dim=-1) - torch.log(n_positive.clamp(min=1).to(z.dtype))
    standard = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
    return torch.where(n_positive > 0, mixture, standard)


def mixture_kl_estimate(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
                        label_mean: torch.Tensor, label_logvar: torch.Tensor,
                        y: torch.Tensor) -> torch.Tensor:
    """Eq. 3: single-sample KL estimate log q(z0|x) - log p(z0|y), averaged over samples and batch.

    `z` is (S, B, d): S latent samples per row, each an independent one-sample estimate.
    """
    log_posterior = gaussian_log_density(z, mean, logvar)  # (S, B)
    log_prior = mixture_log_prior(z, label_mean, label_logvar, y)  # (S, B)
    return (log_posterior - log_prior).mean()


def gaussian_kl(mean_q: torch.Tensor, logvar_q: torch.Tensor,
                mean_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(N_q || N_p) between diagonal Gaussians, summed over the last axis."""
    ratio = torch.exp(logvar_q - logvar_p)
    mean_term = (mean_p - mean_q) ** 2 * torch.exp(-logvar_p)
    return 0.5 * (ratio + mean_term - 1.0 - logvar_q + logvar_p).sum(-1)


def unigaussian_kl(mean: torch.Tensor, logvar: torch.Tensor, prior_mean: torch.Tensor,
                   prior_logvar: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Table 4's uni-Gaussian ablation: closed-form KL to one Gaussian per label set, batch mean.

    Label-less samples are compared with N(0, I), as in `mixture_log_prior`.
    """
    has_labels = (y.sum(dim=1, keepdim=True) > 0).to(mean.dtype)
    prior_mean = prior_mean * has_labels
    prior_logvar = prior_logvar * has_labels
    return gaussian_kl(mean, logvar, prior_mean, prior_logvar).mean()


def contrastive_loss(anchors: torch.Tensor, label_embeddings: torch.Tensor, y: torch.Tensor,
                     temperature: float = 1.0) -> torch.Tensor:
    """Eq. 5 with sim(a, b) = exp(a . b / tau): the anchor (feature embedding) against all L labels.

    Each positive label is a softmax "class" among all labels; the loss is the mean negative
    log-probability over a sample's positives, then over samples. Samples without positives have
    no term and are left out of the batch mean (Eq. 5 would divide by |P(y)| = 0).
    `anchors` is (..., B, E); leading axes (latent samples) are averaged too.
    """
    logits = anchors @ label_embeddings.T / temperature  # (..., B, L)
    log_prob = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    n_positive = y.sum(dim=-1)  # (B,)
    per_sample = -(log_prob * y).sum(dim=-1) / n_positive.clamp(min=1.0)
    has_positive = (n_positive > 0).to(per_sample.dtype)
    return (per_sample * has_positive).sum(dim=-1).mean() / has_positive.sum().clamp(min=1.0)


def cross_entropy_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. 6 from logits (stable): binary cross-entropy summed over labels, mean over the batch."""
    y = y.expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(dim=-1).mean()


def reconstruction_loss(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Eq. 4 with a unit-variance Gaussian p(x|z): 0.5 * squared error summed over features."""
    return 0.5 * ((reconstruction - x) ** 2).sum(dim=-1).mean()


def total_loss(out: Output, x: torch.Tensor, y: torch.Tensor, weights: LossWeights) -> LossTerms:
    """Eq. 7; the authors'-code extras (decoded label path) add their own CE and contrastive
    terms."""
    zero = x.new_zeros(())
    labels = out.labels
    kl = zero
    if weights.kl:
        if out.prior_mean is not None:
            kl = unigaussian_kl(out.feature_mean, out.feature_logvar,
                                out.prior_mean, out.prior_logvar, y)
        else:
            kl = mixture_kl_estimate(out.latent_samples, out.feature_mean, out.feature_logvar,
                                     labels.mean, labels.logvar, y)
    contrastive = zero
    if weights.contrastive:
        contrastive = contrastive_loss(out.feature_embeddings, labels.embeddings, y,
                                       weights.temperature)
        if out.label_path_embeddings is not None:
            contrastive = contrastive + contrastive_loss(
                out.label_path_embeddings, labels.embeddings, y, weights.temperature)
    cross_entropy = cross_entropy_loss(out.logits, y)
    if out.label_path_logits is not None:
        cross_entropy = cross_entropy + cross_entropy_loss(out.label_path_logits, y)
    reconstruction = zero
    if out.reconstruction is not None:
        reconstruction = reconstruction_loss(out.reconstruction, x)
    total = (weights.kl * kl + weights.contrastive * contrastive
             + weights.cross_entropy * cross_entropy + weights.reconstruction * reconstruction)
    return LossTerms(total=total, kl=kl, contrastive=contrastive, cross_entropy=cross_entropy,
                     reconstruction=reconstruction)
