"""C-GMVAE: a Gaussian-mixture VAE with contrastive label embeddings for multi-label classification."""

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.predictor import TrainedModel

__all__ = ["CGMVAEClassifier", "DataError", "ModelConfig", "MultiLabelData", "Split", "TrainConfig",
           "TrainedModel", "fit"]


def __getattr__(name: str):
    """Import the training code and the scikit-learn estimator only when asked for: loading a
    checkpoint to predict needs neither (scikit-learn costs ~1.4 s to import)."""
    if name == "fit":
        from cgmvae.train import fit

        return fit
    if name == "CGMVAEClassifier":
        from cgmvae.estimator import CGMVAEClassifier

        return CGMVAEClassifier
    raise AttributeError(f"module 'cgmvae' has no attribute {name!r}")
