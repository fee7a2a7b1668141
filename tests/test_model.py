"""The network: shapes, gradients, ablation switches, and that it can learn."""

from dataclasses import replace

import pytest
import torch

from cgmvae.config import LossWeights, ModelConfig
from cgmvae.losses import total_loss
from cgmvae.model import CGMVAE, parameter_count, reparameterize

TINY = ModelConfig(n_features=5, n_labels=4, embedding_dim=16, latent_dim=3, feature_hidden=(8,),
                   label_hidden=(8,), decoder_hidden=(8,), dropout=0.0)


def batch(n=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=generator)
    y = (torch.rand(n, 4, generator=generator) > 0.5).float()
    return x, y


def test_forward_shapes():
    x, y = batch()
    out = CGMVAE(TINY)(x, y, n_samples=2)
    assert out.latent_samples.shape == (2, 6, 3)
    assert out.feature_embeddings.shape == (2, 6, 16)
    assert out.logits.shape == (2, 6, 4)
    assert out.labels.mean.shape == (4, 3) and out.labels.embeddings.shape == (4, 16)
    assert out.label_path_logits.shape == (6, 4)


def test_normalised_feature_embeddings_have_unit_norm():
    x, y = batch()
    out = CGMVAE(replace(TINY, normalize_feature_embedding=True))(x, y)
    assert torch.allclose(out.feature_embeddings.norm(dim=-1), torch.ones(1, 6), atol=1e-5)


@pytest.mark.parametrize("changes", [
    {}, {"prior": "unigaussian"}, {"decoder_sees_features": False}, {"decode_label_path": False},
    {"reconstruct_features": True}, {"label_bias": True}, {"normalize_feature_embedding": True},
])
def test_every_parameter_gets_a_finite_gradient(changes):
    x, y = batch()
    y[0] = 0.0  # a label-less sample must not produce NaN
    network = CGMVAE(replace(TINY, **changes))
    terms = total_loss(network(x, y, n_samples=2), x, y, LossWeights())
    terms.total.backward()
    assert torch.isfinite(terms.total)
    for name, parameter in network.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_prediction_uses_the_posterior_mean_and_is_deterministic():
    x, _ = batch()
    network = CGMVAE(TINY).eval()
    assert torch.equal(network.feature_logits(x), network.feature_logits(x))


def test_a_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    x, y = batch(n=16, seed=1)
    network = CGMVAE(replace(TINY, feature_hidden=(32,), decoder_hidden=(32,)))
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    for _ in range(300):
        optimizer.zero_grad()
        total_loss(network(x, y), x, y, LossWeights(kl=0.1)).total.backward()
        optimizer.step()
    predicted = (torch.sigmoid(network.eval().feature_logits(x)) > 0.5).float()
    assert (predicted == y).float().mean().item() == 1.0


def test_config_round_trips_through_a_dict():
    assert ModelConfig.from_dict(TINY.to_dict()) == TINY


def test_config_rejects_an_unknown_prior():
    with pytest.raises(ValueError, match="prior must be one of mixture, unigaussian, got 'vamp'"):
        ModelConfig(prior="vamp")


def test_a_network_needs_its_data_sizes_even_under_python_O():
    with pytest.raises(ValueError, match="n_features >= 1 and n_labels >= 1"):
        CGMVAE(ModelConfig())


def test_a_generator_gives_the_same_weights_and_samples_without_touching_the_global_one():
    x, y = batch()
    networks = [CGMVAE(replace(TINY, dropout=0.5), generator=torch.Generator().manual_seed(7))
                for _ in range(2)]
    first, second = networks[0].state_dict(), networks[1].state_dict()
    assert all(torch.equal(first[name], second[name]) for name in first)
    global_state = torch.get_rng_state()
    outputs = [network.train()(x, y, n_samples=2) for network in networks]
    assert torch.equal(torch.get_rng_state(), global_state)  # forward drew only from its generator
    assert torch.equal(outputs[0].logits, outputs[1].logits)
    other = CGMVAE(TINY, generator=torch.Generator().manual_seed(8)).state_dict()
    assert not torch.equal(first["label_embeddings"], other["label_embeddings"])


def test_generator_dropout_keeps_the_mean_and_is_the_identity_in_eval():
    from cgmvae.model import Dropout

    dropout = Dropout(0.25)
    dropout.generator = torch.Generator().manual_seed(0)
    ones = torch.ones(200_000)
    dropped = dropout.train()(ones)
    assert torch.equal(dropped.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert abs(dropped.mean().item() - 1.0) < 0.01
    assert abs((dropped == 0).float().mean() - 0.25) < 0.01
    assert torch.equal(dropout.eval()(ones), ones)


def test_dropout_masks_equal_the_old_bernoulli_formula_on_the_same_uniform_draws():
    """The rand-based mask keeps x where u >= p: the Bernoulli(1 - p) mask bernoulli_ drew, scaled
    by 1 / (1 - p) as before; values and gradient equal the old formula on random inputs."""
    from cgmvae.model import Dropout

    p = 0.3
    dropout = Dropout(p).train()
    dropout.generator = torch.Generator().manual_seed(1)
    x = torch.randn(64, 32, generator=torch.Generator().manual_seed(2), requires_grad=True)
    new = dropout(x)
    uniform = torch.rand(x.shape, generator=torch.Generator().manual_seed(1))
    old = x * (uniform >= p).float().div_(1.0 - p)  # the old `keep.div_(1 - p)` with this keep
    assert torch.equal(new, old)
    (grad_new,) = torch.autograd.grad(new.sum(), x)
    assert torch.allclose(grad_new, (uniform >= p).float() / (1.0 - p))


@pytest.mark.parametrize("prior", ["mixture", "unigaussian"])
def test_one_decoder_pass_equals_decoding_samples_and_label_path_separately(prior):
    """forward decodes [z; label-path latent] in one pass; the old forward decoded them in two."""
    config = replace(TINY, prior=prior, dropout=0.4)
    # eval: no dropout masks, so that the two ways see the same function of their inputs
    network = CGMVAE(config, generator=torch.Generator().manual_seed(0)).eval()
    x, y = batch(7)
    network.use_generator(torch.Generator().manual_seed(3))
    out = network(x, y, n_samples=3)
    network.use_generator(torch.Generator().manual_seed(3))  # the same z and label-path draws
    labels = network.label_gaussians()
    mean, logvar = network.feature_encoder(x)
    z = reparameterize(mean, logvar, 3, network.generator)
    prior_mean = prior_logvar = None
    if prior == "unigaussian":
        prior_mean, prior_logvar = network.label_encoder(y @ labels.embeddings)
    label_latent = network.label_path_latent(labels, y, prior_mean, prior_logvar)
    assert torch.allclose(out.feature_embeddings, network.decode(z, x), atol=1e-6)
    assert torch.allclose(out.logits, network.score(network.decode(z, x)), atol=1e-6)
    assert torch.allclose(out.label_path_embeddings, network.decode(label_latent, x), atol=1e-6)
    assert torch.allclose(out.label_path_logits, network.score(network.decode(label_latent, x)),
                          atol=1e-6)


def test_decoder_on_features_and_latent_is_the_layer_on_their_concatenation():
    """decode splits the first layer's W [x, z] into W_x x + W_z z (x once per row): the same
    function as the paper's decoder on the concatenated input, for every latent sample."""
    network = CGMVAE(ModelConfig(n_features=10, n_labels=5),
                     generator=torch.Generator().manual_seed(0)).eval()
    x, z = torch.randn(7, 10), torch.randn(3, 7, 64)
    concatenated = network.decoder(torch.cat([x.expand(3, 7, 10), z], dim=-1))
    torch.testing.assert_close(network.decode(z, x), concatenated, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(network.decode(z[0], x), concatenated[0], rtol=1e-5, atol=1e-6)


def test_a_label_less_sample_decodes_a_draw_from_its_prior_not_zero():
    """Decoding z = 0 for every label-less row taught the decoder that z = 0 means "no label",
    where a collapsed posterior puts every test row (ontario_birds)."""
    network = CGMVAE(replace(TINY, latent_dim=64), generator=torch.Generator().manual_seed(0))
    labels = network.label_gaussians()
    y = torch.zeros(200, 4)
    y[:100, 1] = 1.0
    network.use_generator(torch.Generator().manual_seed(5))
    latent = network.label_path_latent(labels, y, None, None)
    network.use_generator(torch.Generator().manual_seed(5))
    per_label = reparameterize(labels.mean, labels.logvar, generator=network.generator)[0]
    assert torch.equal(latent[:100], per_label[1].expand(100, 64))  # labelled rows: unchanged
    empty = latent[100:]
    assert empty.mean().abs() < 0.05 and (empty.std() - 1.0).abs() < 0.05  # N(0, I) draws
    assert empty.std(dim=0).min() > 0.5  # a different draw for every row


def test_without_label_less_samples_the_label_path_draws_nothing_more():
    network = CGMVAE(TINY, generator=torch.Generator().manual_seed(0))
    y = torch.eye(4)
    network.use_generator(torch.Generator().manual_seed(5))
    network.label_path_latent(network.label_gaussians(), y, None, None)
    after = torch.rand(1, generator=network.generator)
    network.use_generator(torch.Generator().manual_seed(5))
    reparameterize(network.label_gaussians().mean, network.label_gaussians().logvar,
                   generator=network.generator)
    assert torch.equal(after, torch.rand(1, generator=network.generator))


def test_parameter_count_is_the_built_network_s_without_building_it():
    config = replace(ModelConfig(), n_features=7, n_labels=5, embedding_dim=32,
                     feature_hidden=(16,), label_hidden=(8,), decoder_hidden=(12,))
    assert parameter_count(config) == sum(p.numel() for p in CGMVAE(config).parameters())
    huge = replace(config, feature_hidden=(1_000_000, 1_000_000))  # 4 TB were it built
    assert parameter_count(huge) > 10**12
