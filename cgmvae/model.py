"""C-GMVAE network (Bai, Kong & Gomes, ICML 2022, section 2.2): label/feature encoders, decoder."""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cgmvae.config import ModelConfig


class Dropout(nn.Module):
    """nn.Dropout whose masks come from `generator` when one is set (CGMVAE.use_generator): torch's
    own dropout draws from the global generator, which trainings in other threads share."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return inputs
        # uniform draws compared with p: the same Bernoulli(1 - p) mask as bernoulli_, but on the
        # CPU torch.rand is about 3x faster (bernoulli_ was 10% of a yeast epoch: profile_epoch);
        # the draws become the scaled mask in place (no bool tensor and cast: 2.1 -> 1.7 ms of
        # masks per yeast step, the same values)
        mask = torch.rand(inputs.shape, device=inputs.device, dtype=inputs.dtype,
                          generator=self.generator)
        return inputs * mask.ge_(self.p).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    """Linear -> ReLU -> Dropout for each hidden layer (sizes[0] is the input size)."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU(), Dropout(dropout)]
    return nn.Sequential(*layers)


class GaussianEncoder(nn.Module):
    """An MLP that maps its input to the mean and log-variance of a diagonal Gaussian."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], latent_dim: int, dropout: float):
        super().__init__()
        self.body = mlp([n_in, *hidden], dropout)
        self.mean = nn.Linear(hidden[-1], latent_dim)
        self.logvar = nn.Linear(hidden[-1], latent_dim)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(inputs)
        return self.mean(hidden), self.logvar(hidden)


class LabelGaussians(NamedTuple):
    embeddings: torch.Tensor  # (L, E) learnable label embeddings w_i
    mean: torch.Tensor  # (L, d) mu_i
    logvar: torch.Tensor  # (L, d) log sigma_i^2


class Output(NamedTuple):
    """What one training forward pass produces; every loss term reads from here."""

    feature_mean: torch.Tensor  # (B, d) posterior mean mu_x
    feature_logvar: torch.Tensor  # (B, d) posterior log-variance
    latent_samples: torch.Tensor  # (S, B, d) z ~ q(z|x)
    feature_embeddings: torch.Tensor  # (S, B, E) decoded w_x, one per latent sample
    logits: torch.Tensor  # (S, B, L) w_x . w_i
    labels: LabelGaussians
    prior_mean: torch.Tensor | None  # (B, d) unigaussian prior only
    prior_logvar: torch.Tensor | None  # (B, d) unigaussian prior only
    label_path_embeddings: torch.Tensor | None  # (B, E) decoded label-side latent
    label_path_logits: torch.Tensor | None  # (B, L)
    reconstruction: torch.Tensor | None  # (S, B, D) decoded features


def parameter_count(config: ModelConfig) -> int:
    """How many weights a network of `config` (n_features and n_labels set) has, counted on
    PyTorch's meta device: nothing is allocated, so a configuration too large to build is
    counted, not built."""
    with torch.device("meta"):
        network = CGMVAE(config)
    return sum(parameter.numel() for parameter in network.parameters())


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """(S, ...) samples mean + sigma * eps, differentiable in mean and logvar; eps is drawn from
    `generator` (None: torch's global one)."""
    eps = torch.randn((n_samples, *mean.shape), device=mean.device, dtype=mean.dtype,
                      generator=generator)
    return mean + torch.exp(0.5 * logvar) * eps


class CGMVAE(nn.Module):
    """Labels -> Gaussian mixture prior; features -> posterior; latent -> feature embedding."""

    def __init__(self, config: ModelConfig, *, generator: torch.Generator | None = None):
        """`generator`: the source of the initial weights, dropout masks and latent samples, so
        that a seed gives the same model whatever else runs (None: torch's global generator)."""
        super().__init__()
        if config.n_features < 1 or config.n_labels < 1:
            raise ValueError(f"a network needs n_features >= 1 and n_labels >= 1 in its config, "
                             f"got {config.n_features} and {config.n_labels} (fit() sets them "
                             "from the data)")
        self.config = config
        E, d = config.embedding_dim, config.latent_dim
        self.label_embeddings = nn.Parameter(torch.randn(config.n_labels, E) / E**0.5)
        self.label_encoder = GaussianEncoder(E, config.label_hidden, d, config.dropout)
        self.feature_encoder = GaussianEncoder(config.n_features, config.feature_hidden, d,
                                               config.dropout)
        decoder_in = d + (config.n_features if config.decoder_sees_features else 0)
        self.decoder = nn.Sequential(
            mlp([decoder_in, *config.decoder_hidden], config.dropout),
            nn.Linear(config.decoder_hidden[-1], E),
        )
        self.bias = nn.Parameter(torch.zeros(config.n_labels)) if config.label_bias else None
        self.feature_decoder = (
            nn.Sequential(mlp([d, *config.decoder_hidden], 0.0),
                          nn.Linear(config.decoder_hidden[-1], config.n_features))
            if config.reconstruct_features else None
        )
        if generator is not None:
            self.initialize(generator)
        self.use_generator(generator)

    @torch.no_grad()
    def initialize(self, generator: torch.Generator) -> None:
        """Draw every weight from `generator` as PyTorch's defaults would from the global one:
        nn.Linear's Kaiming-uniform weights and uniform biases, label embeddings N(0, 1/E)."""
        self.label_embeddings.normal_(0.0, self.config.embedding_dim ** -0.5, generator=generator)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                bound = 1.0 / math.sqrt(module.in_features)
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)

    def use_generator(self, generator: torch.Generator | None) -> None:
        """Draw dropout masks and latent samples from `generator` (on the network's device), or
        from torch's global generator (None)."""
        self.generator = generator
        for module in self.modules():
            if isinstance(module, Dropout):
                module.generator = generator

    def label_gaussians(self) -> LabelGaussians:
        mean, logvar = self.label_encoder(self.label_embeddings)  # (L, d) each
        return LabelGaussians(embeddings=self.label_embeddings, mean=mean, logvar=logvar)

    def decode(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Latent (..., B, d) -> feature embedding (..., B, E), L2-normalised if configured."""
        if self.config.decoder_sees_features:
            # the first layer on [x, z] is W_x x + W_z z + b: the x part once per row, not once
            # per latent sample (S + 1 decodes share x), and no gradient towards x
            first, n_x = self.decoder[0][0], x.shape[-1]
            hidden = (F.linear(z, first.weight[:, n_x:], first.bias)
                      + F.linear(x, first.weight[:, :n_x]))
            embedding = self.decoder[1](self.decoder[0][1:](hidden))
        else:
            embedding = self.decoder(z)
        if self.config.normalize_feature_embedding:
            return F.normalize(embedding, dim=-1)
        return embedding

    def score(self, feature_embeddings: torch.Tensor) -> torch.Tensor:
        """Logits w_x . w_i (+ bias) for every label (section 2.2.4)."""
        logits = feature_embeddings @ self.label_embeddings.T
        return logits + self.bias if self.bias is not None else logits

    def forward(self, x: torch.Tensor, y: torch.Tensor, n_samples: int = 1) -> Output:
        labels = self.label_gaussians()
        mean, logvar = self.feature_encoder(x)
        z = reparameterize(mean, logvar, n_samples, self.generator)  # (S, B, d)
        prior_mean = prior_logvar = None
        # Table 4: one Gaussian from the summed label embeddings
        if self.config.prior == "unigaussian":
            prior_mean, prior_logvar = self.label_encoder(y @ labels.embeddings)
        latents = z
        if self.config.decode_label_path:  # decoded with z in one pass: the decoder is row-wise
            label_latent = self.label_path_latent(labels, y, prior_mean, prior_logvar)  # (B, d)
            latents = torch.cat([z, label_latent[None]])  # (S + 1, B, d)
        embeddings = self.decode(latents, x)  # (S or S + 1, B, E)
        logits = self.score(embeddings)  # (S or S + 1, B, L)
        label_path = label_path_logits = None
        if self.config.decode_label_path:
            label_path, label_path_logits = embeddings[n_samples], logits[n_samples]
        reconstruction = self.feature_decoder(z) if self.feature_decoder is not None else None
        return Output(feature_mean=mean, feature_logvar=logvar, latent_samples=z,
                      feature_embeddings=embeddings[:n_samples], logits=logits[:n_samples],
                      labels=labels, prior_mean=prior_mean, prior_logvar=prior_logvar,
                      label_path_embeddings=label_path, label_path_logits=label_path_logits,
                      reconstruction=reconstruction)

    def label_path_latent(self, labels: LabelGaussians, y: torch.Tensor,
                          prior_mean: torch.Tensor | None,
                          prior_logvar: torch.Tensor | None) -> torch.Tensor:
        """A sample of the label-side latent: mean of the positive labels' samples (authors'
        code). A label-less sample draws from its prior N(0, I) (`losses.mixture_log_prior`).

        Not z = 0: the decoder then learned "z = 0 means no label", and z = 0 is where a
        collapsed posterior puts every test row (ontario_birds, 38% label-less checklists:
        validation micro-F1 0.40 after one epoch, 0.00 after twelve)."""
        if prior_mean is not None:
            return reparameterize(prior_mean, prior_logvar, generator=self.generator)[0]
        per_label = reparameterize(labels.mean, labels.logvar,
                                   generator=self.generator)[0]  # (L, d)
        counts = y.sum(dim=1, keepdim=True)
        latent = (y @ per_label) / counts.clamp(min=1.0)
        if not bool((counts == 0).any()):  # (no draw: the random stream stays as it was)
            return latent
        noise = torch.randn(latent.shape, generator=self.generator, device=latent.device,
                            dtype=latent.dtype)
        return torch.where(counts > 0, latent, noise)

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_encoder(x)[0]

    @torch.no_grad()
    def feature_embedding(self, x: torch.Tensor) -> torch.Tensor:
        """Test-time feature embedding w_x: the posterior mean decoded (no sampling), 2.2.4."""
        return self.decode(self.posterior_mean(x), x)

    @torch.no_grad()
    def feature_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits w_x . w_i from the feature path alone: what the model predicts at test time
        (section 2.2.4; the label path needs the labels)."""
        return self.score(self.feature_embedding(x))
