"""C-GMVAE: a Gaussian-mixture VAE with contrastive label embeddings for multi-label classification."""

from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.estimator import CGMVAEClassifier
from cgmvae.model import ModelConfig
from cgmvae.predictor import TrainedModel
from cgmvae.train import TrainConfig, fit

__all__ = ["CGMVAEClassifier", "DataError", "ModelConfig", "MultiLabelData", "Split", "TrainConfig",
           "TrainedModel", "fit"]
