"""The paper's Table 4 ablations as named changes to the default model and loss settings."""

from __future__ import annotations

from dataclasses import replace

from cgmvae.model import ModelConfig
from cgmvae.train import TrainConfig

VARIANTS = ("cgmvae", "cgmvae-unigaussian", "cgmvae-gm-only", "cgmvae-contrastive-only")


def apply_variant(name: str, model_config: ModelConfig, train_config: TrainConfig
                  ) -> tuple[ModelConfig, TrainConfig]:
    """`cgmvae` = GM + contrastive (the full model); the others remove one part (Table 4)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")
    loss = train_config.loss
    if name == "cgmvae-unigaussian":  # one Gaussian from the summed label embeddings
        model_config = replace(model_config, prior="unigaussian")
    elif name == "cgmvae-gm-only":  # mixture prior, no contrastive term
        loss = replace(loss, contrastive=0.0)
    elif name == "cgmvae-contrastive-only":  # contrastive term, no KL term
        loss = replace(loss, kl=0.0)
    return model_config, replace(train_config, loss=loss)
