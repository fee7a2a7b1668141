"""Settings are checked when made: every bad value is a ValueError naming it and its range, and
the configs live in their own module, so loading a checkpoint never reaches the training code."""

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from cgmvae.config import MAX_SEED, LossWeights, ModelConfig, TrainConfig

PACKAGE = Path(__file__).resolve().parents[1] / "cgmvae"


@pytest.mark.parametrize(("changes", "message"), [
    ({"max_epochs": 0}, r"max_epochs must be an integer >= 1, got 0"),
    ({"max_epochs": 2.5}, r"max_epochs must be an integer >= 1, got 2.5"),
    ({"batch_size": 1}, r"batch_size must be an integer >= 2, got 1"),
    ({"batch_size": 0}, r"batch_size must be an integer >= 2, got 0"),
    ({"patience": 0}, r"patience must be an integer >= 1"),
    ({"learning_rate": 0.0}, r"learning_rate must be a number > 0, got 0.0"),
    ({"learning_rate": float("nan")}, r"learning_rate must be a number > 0"),
    ({"weight_decay": -1e-5}, r"weight_decay must be a number >= 0"),
    ({"latent_samples": 0}, r"latent_samples must be an integer >= 1"),
    ({"restart_epochs": -1}, r"restart_epochs must be an integer >= 0"),
    ({"selection_metric": "accuracy"}, r"selection_metric must be one of micro_f1, macro_f1"),
    ({"selection_window": 0}, r"selection_window must be an integer >= 1"),
    ({"ema_decay": 1.0}, r"ema_decay must be a number in \[0, 1\), got 1.0"),
    ({"seed": -1}, rf"seed must be an integer in \[0, {MAX_SEED}\], got -1"),
    ({"seed": 2**64}, rf"seed must be an integer in \[0, {MAX_SEED}\], got {2**64}"),
    ({"seed": True}, r"seed must be an integer"),
    ({"device": "gpu"}, r"device must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"),
    ({"eval_batch_size": 0}, r"eval_batch_size must be an integer >= 1"),
])
def test_every_bad_training_setting_is_named_with_its_range(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(TrainConfig(), **changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"dropout": 2.0}, r"dropout must be a number in \[0, 1\), got 2.0"),
    ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ({"dropout": -0.1}, r"dropout must be a number in \[0, 1\)"),
    ({"embedding_dim": 0}, r"embedding_dim must be an integer >= 1, got 0"),
    ({"latent_dim": -3}, r"latent_dim must be an integer >= 1"),
    ({"feature_hidden": ()}, r"feature_hidden must be a non-empty list of layer sizes >= 1"),
    ({"decoder_hidden": (16, 0)}, r"decoder_hidden entries must be an integer >= 1, got 0"),
    ({"label_hidden": "64"}, r"label_hidden must be a non-empty list"),
    ({"n_features": -1}, r"n_features must be an integer >= 0"),
    ({"prior": "vamp"}, r"prior must be one of mixture, unigaussian"),
    ({"label_bias": "yes"}, r"label_bias must be True or False, got 'yes'"),
])
def test_every_bad_model_setting_is_named_with_its_range(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(ModelConfig(), **changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"kl": -1.0}, r"kl must be a number >= 0, got -1.0"),
    ({"contrastive": float("inf")}, r"contrastive must be a number >= 0"),
    ({"temperature": 0.0}, r"temperature must be a number > 0, got 0.0"),
])
def test_every_bad_loss_weight_is_named_with_its_range(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(LossWeights(), **changes)


def test_numpy_numbers_become_plain_json_ready_values():
    import numpy as np

    config = TrainConfig(batch_size=np.int64(32), learning_rate=np.float32(0.01), seed=np.uint32(7))
    assert type(config.batch_size) is int and type(config.seed) is int
    assert type(config.learning_rate) is float
    assert ModelConfig(feature_hidden=[8, np.int64(4)]).feature_hidden == (8, 4)


def test_the_extremes_of_each_range_are_accepted():
    TrainConfig(batch_size=2, max_epochs=1, patience=1, seed=MAX_SEED, ema_decay=0.0)
    ModelConfig(dropout=0.0, embedding_dim=1, latent_dim=1, feature_hidden=(1,))
    LossWeights(kl=0.0, contrastive=0.0, cross_entropy=0.0, reconstruction=0.0)


def imported_modules(module: str) -> set[str]:
    """The cgmvae modules `module` imports, at module level or inside functions."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cgmvae"):
            found.add(node.module)
            folder = PACKAGE.joinpath(*node.module.split(".")[1:])
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if folder.joinpath(alias.name).exists()
                         or folder.joinpath(f"{alias.name}.py").exists())
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cgmvae"))
    return found - {"cgmvae"}


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imported_modules(module))
    return seen


def test_loading_a_checkpoint_never_reaches_the_training_module():
    for module in ("cgmvae.checkpoint", "cgmvae.predictor"):
        assert "cgmvae.train" not in reachable(module), module
    assert "cgmvae.config" in reachable("cgmvae.checkpoint")


def test_loading_and_predicting_with_a_checkpoint_imports_no_training_code(repo_root):
    import subprocess
    import sys

    code = ("import sys\nimport numpy as np\nfrom cgmvae import TrainedModel\n"
            "model = TrainedModel.load('assets/sim_birds.pt')\n"
            "model.predict(np.zeros((2, len(model.feature_names))))\n"
            "print(sorted(m for m in ('cgmvae.train', 'cgmvae.losses') if m in sys.modules))\n"
            "from cgmvae import fit\nprint(fit.__module__)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=repo_root, timeout=300, check=False)
    assert result.stdout.split() == ["[]", "cgmvae.train"], result.stderr  # fit when asked for
