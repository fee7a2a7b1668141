"""Named variants change exactly what they say, and every one of them trains."""

import pytest
from toy import toy_data, toy_split

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.train import fit
from cgmvae.variants import INFORMATIVE_LATENT_KL, VARIANTS, apply_variant

SMALL = ModelConfig(embedding_dim=8, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                    decoder_hidden=(16,))


def changes(name: str) -> dict:
    """{field: (default, variant)} of everything the variant changes in the model/loss configs."""
    model, train = apply_variant(name, SMALL, TrainConfig())
    before = {**SMALL.to_dict(), **TrainConfig().loss.to_dict()}
    after = {**model.to_dict(), **train.loss.to_dict()}
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


def test_each_variant_changes_only_its_own_switches():
    assert changes("cgmvae") == {}
    assert changes("cgmvae-unigaussian") == {"prior": ("mixture", "unigaussian")}
    assert changes("cgmvae-gm-only") == {"contrastive": (1.0, 0.0)}
    assert changes("cgmvae-contrastive-only") == {"kl": (6.0, 0.0)}
    assert changes("cgmvae-informative-latent") == {"decoder_sees_features": (True, False),
                                                    "kl": (6.0, INFORMATIVE_LATENT_KL)}


def test_an_unknown_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="cgmvae-gm-only"):
        apply_variant("gm", SMALL, TrainConfig())


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_trains_and_predicts(name):
    data = toy_data(80)
    model_config, train_config = apply_variant(name, SMALL, TrainConfig(max_epochs=2, device="cpu"))
    model = fit(data, toy_split(data), model_config=model_config, train_config=train_config)
    proba = model.predict_proba(data.features)
    assert proba.shape == (80, data.n_labels) and ((proba >= 0) & (proba <= 1)).all()
