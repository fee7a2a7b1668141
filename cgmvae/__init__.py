"""C-GMVAE: a Gaussian-mixture VAE with contrastive label embeddings for multi-label
classification."""

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split

__all__ = ["CGMVAEClassifier", "DataError", "ModelConfig", "MultiLabelData", "Split", "TrainConfig",
           "TrainedModel", "fit"]

# Names whose modules import torch (about 2 s) or scikit-learn (about 1.4 s): imported on first
# use, so that `python -m cgmvae --help` and the data loaders never pay for them.
_LAZY = {"TrainedModel": "cgmvae.predictor", "fit": "cgmvae.train",
         "CGMVAEClassifier": "cgmvae.estimator"}


def __getattr__(name: str):
    """`from cgmvae import TrainedModel` (or `fit`, `CGMVAEClassifier`) imports its module now."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cgmvae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
