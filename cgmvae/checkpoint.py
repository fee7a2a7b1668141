"""One-file checkpoints of plain tensors and JSON text, read back without unpickling objects."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import Standardizer
from cgmvae.model import CGMVAE

if TYPE_CHECKING:
    from cgmvae.predictor import TrainedModel

FORMAT = "cgmvae-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, hostile, from another version or for other data."""


def write_checkpoint(model: TrainedModel, path: Path) -> Path:
    """Save weights (tensors) and everything else as one JSON string in a single torch file."""
    meta = {
        "format": FORMAT, "version": VERSION,
        "model_config": model.model_config.to_dict(),
        "train_config": model.train_config.to_dict(),
        "feature_names": model.feature_names, "label_names": model.label_names,
        "dataset_name": model.dataset_name, "history": model.history, "best_epoch": model.best_epoch,
        "threshold": model.threshold, "metric_thresholds": model.metric_thresholds,
        "macro_per_label": model.macro_per_label,
    }
    arrays = {
        "standardizer_mean": model.standardizer.mean, "standardizer_scale": model.standardizer.scale,
        "label_prevalence": model.label_prevalence,
    }
    for name in ("label_thresholds", "learned_association", "environmental_association"):
        if getattr(model, name) is not None:
            arrays[name] = getattr(model, name)
    payload = {
        "meta": json.dumps(meta),
        "weights": {k: v.detach().cpu() for k, v in model.network.state_dict().items()},
        "arrays": {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in arrays.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint under the real name
    return path


def _load_payload(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)  # refuses arbitrary objects
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path} holds objects other than tensors and plain data; refusing to "
                              f"load it (it may be hostile): {str(err).splitlines()[0]}") from err
    except Exception as err:  # a damaged file can fail in any layer (zip, pickle opcodes, storage)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): {err}") from err
    if not isinstance(payload, dict) or not {"meta", "weights", "arrays"} <= payload.keys():
        raise CheckpointError(f"{path} is a torch file but not a cgmvae checkpoint")
    return payload


def read_checkpoint(cls: type[TrainedModel], path: Path) -> TrainedModel:
    """Rebuild a TrainedModel from `write_checkpoint`'s file; CheckpointError on any problem."""
    payload = _load_payload(path)
    try:
        meta = json.loads(payload["meta"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable metadata: {err}") from err
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: format {meta.get('format')!r} version {meta.get('version')!r}, "
                              f"expected {FORMAT!r} version {VERSION}")
    arrays = {k: v.numpy() for k, v in payload["arrays"].items()}
    try:
        model_config = ModelConfig.from_dict(meta["model_config"])
        network = CGMVAE(model_config)
        network.load_state_dict(payload["weights"])
        network.eval()
        return cls(
            network=network,
            standardizer=Standardizer(arrays["standardizer_mean"], arrays["standardizer_scale"]),
            feature_names=list(meta["feature_names"]), label_names=list(meta["label_names"]),
            dataset_name=meta["dataset_name"], history=list(meta["history"]),
            label_prevalence=arrays["label_prevalence"], model_config=model_config,
            train_config=TrainConfig.from_dict(meta["train_config"]), best_epoch=meta["best_epoch"],
            threshold=float(meta["threshold"]), metric_thresholds=dict(meta["metric_thresholds"]),
            label_thresholds=arrays.get("label_thresholds"),
            macro_per_label=bool(meta.get("macro_per_label", False)),
            learned_association=arrays.get("learned_association"),
            environmental_association=arrays.get("environmental_association"),
        )
    except (KeyError, TypeError, RuntimeError, AssertionError) as err:
        raise CheckpointError(f"{path}: checkpoint content does not fit this version of cgmvae: {err}") from err
