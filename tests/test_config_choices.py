"""Configs from a user's choices: each lands in its config, None keeps the base, variant last."""

import pytest

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.config_choices import configs_from_choices
from cgmvae.variants import apply_variant


def test_no_choice_gives_the_defaults_with_the_variant():
    assert configs_from_choices() == (ModelConfig(), TrainConfig())
    assert configs_from_choices("cgmvae-unigaussian") == apply_variant(
        "cgmvae-unigaussian", ModelConfig(), TrainConfig())


def test_each_choice_lands_in_its_config_and_none_keeps_the_base():
    model_config, train_config = configs_from_choices("cgmvae", {
        "latent_dim": ("Latent size d", 4), "max_epochs": ("--epochs", 7),
        "contrastive": ("alpha", 2.5), "dropout": ("--dropout", None)})
    assert model_config.latent_dim == 4 and model_config.dropout == ModelConfig().dropout
    assert train_config.max_epochs == 7 and train_config.loss.contrastive == 2.5
    assert train_config.loss.kl == TrainConfig().loss.kl


def test_choices_change_the_base_and_the_variant_comes_last():
    base = (ModelConfig(embedding_dim=16), TrainConfig(patience=3))
    model_config, train_config = configs_from_choices(
        "cgmvae-gm-only", {"contrastive": ("alpha", 2.5), "seed": ("--seed", 9)}, base=base)
    assert model_config.embedding_dim == 16 and train_config.patience == 3
    assert train_config.seed == 9 and train_config.loss.contrastive == 0.0  # GM only: no alpha


def test_a_value_out_of_range_names_the_choice_as_the_user_calls_it():
    with pytest.raises(ValueError, match=r"^--epochs: max_epochs must be"):
        configs_from_choices("cgmvae", {"max_epochs": ("--epochs", 0)})


def test_a_field_no_config_has_is_a_type_error():
    with pytest.raises(TypeError, match="epochs"):
        configs_from_choices("cgmvae", {"epochs": ("--epochs", 3)})
