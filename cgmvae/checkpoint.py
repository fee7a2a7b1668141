"""One-file checkpoints of plain tensors and JSON text with a SHA-256 of both, read back without
unpickling objects and checked part by part, so that a corrupt or hostile file is refused with
one clear line (CheckpointError) instead of predicting nonsense or crashing somewhere later."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import Standardizer
from cgmvae.model import CGMVAE

FORMAT = "cgmvae-checkpoint"
VERSION = 2  # 2 adds the SHA-256; version 1 files (no checksum) still load, with a warning
OPTIONAL_ARRAYS = ("label_thresholds", "learned_association", "environmental_association",
                   "feature_min", "feature_max", "feature_novelty_metric")


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, hostile, from another version or for other data."""


class UncheckedCheckpointWarning(UserWarning):
    """A checkpoint written before checkpoints carried a checksum: corruption cannot be detected."""


def content_digest(meta: str, weights: dict[str, torch.Tensor],
                   arrays: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the metadata text and every tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(meta.encode("utf-8"))
    for group, tensors in (("weights", weights), ("arrays", arrays)):
        for name in sorted(tensors):
            tensor = tensors[name].detach().cpu().contiguous()
            digest.update(f"\0{group}/{name}/{tensor.dtype}/{tuple(tensor.shape)}\0".encode())
            digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def write_checkpoint(model, path: Path) -> Path:
    """Save a `predictor.TrainedModel`'s weights (tensors), everything else as one JSON string, and
    their SHA-256, in a single torch file; written beside `path` and renamed, so that `path` is
    never half-written. (This module names no TrainedModel: it sits below predictor.py.)"""
    meta = json.dumps({
        "format": FORMAT, "version": VERSION,
        "model_config": model.model_config.to_dict(),
        "train_config": model.train_config.to_dict(),
        "feature_names": model.feature_names, "label_names": model.label_names,
        "dataset_name": model.dataset_name, "history": model.history,
        "best_epoch": model.best_epoch, "stop_note": model.stop_note,
        "threshold": model.threshold, "metric_thresholds": model.metric_thresholds,
        "macro_per_label": model.macro_per_label,
        "calibration_temperature": model.calibration_temperature,
    })
    arrays = {
        "standardizer_mean": model.standardizer.mean,
        "standardizer_scale": model.standardizer.scale,
        "label_prevalence": model.label_prevalence,
    }
    arrays.update({name: getattr(model, name) for name in OPTIONAL_ARRAYS
                   if getattr(model, name) is not None})
    weights = {k: v.detach().cpu() for k, v in model.network.state_dict().items()}
    tensors = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in arrays.items()}
    payload = {"meta": meta, "weights": weights, "arrays": tensors,
               "sha256": content_digest(meta, weights, tensors)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        torch.save(payload, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # after a failure (a full disk): no leftover
    return path


def one_line(err: BaseException, limit: int = 300) -> str:
    """An error's message on one line, cut to `limit` characters (a hostile value can be huge)."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    text = "; ".join(lines[:2]) if lines else type(err).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The fields of the TrainedModel `write_checkpoint` saved (network rebuilt, every part
    checked), as keyword arguments; CheckpointError on any problem."""
    payload = load_payload(path)
    meta = parse_meta(payload["meta"], path)
    if "sha256" not in payload:
        if meta["version"] >= 2:
            raise CheckpointError(f"{path} has lost the SHA-256 every version {VERSION} checkpoint "
                                  "carries: damaged or edited")
        warnings.warn(f"{path} was written before checkpoints carried a checksum, so corruption "
                      "cannot be detected; save it again to add one",
                      UncheckedCheckpointWarning, stacklevel=3)
    try:
        model_config = ModelConfig.from_dict(meta["model_config"])
        train_config = TrainConfig.from_dict(version_1_seed(meta) if meta["version"] == 1
                                             else meta["train_config"])
        n_features, n_labels = check_names(meta, model_config)
        arrays = check_arrays(payload["arrays"], n_features, n_labels)
        network = CGMVAE(model_config)
        check_weights_fit(payload["weights"], network)
        network.load_state_dict(payload["weights"])
        return dict(
            network=network.eval(),
            standardizer=Standardizer(arrays["standardizer_mean"], arrays["standardizer_scale"]),
            feature_names=meta["feature_names"], label_names=meta["label_names"],
            dataset_name=meta["dataset_name"], history=meta["history"],
            label_prevalence=arrays["label_prevalence"], model_config=model_config,
            train_config=train_config, best_epoch=meta["best_epoch"],
            stop_note=meta["stop_note"], threshold=meta["threshold"],
            metric_thresholds=meta["metric_thresholds"], macro_per_label=meta["macro_per_label"],
            calibration_temperature=meta["calibration_temperature"],
            **{name: arrays.get(name) for name in OPTIONAL_ARRAYS},
        )
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: checkpoint content does not fit this version of cgmvae: "
                              f"{one_line(err)}") from err


def version_1_seed(meta: dict[str, Any]) -> dict[str, Any]:
    """A version 1 train_config, whose seed may be negative (accepted then when the data came with
    its own split), with that seed as torch read it: plus 2**64."""
    values = dict(meta["train_config"])
    if isinstance(values.get("seed"), int) and values["seed"] < 0:
        values["seed"] += 2**64
    return values


def load_payload(path: Path) -> dict[str, Any]:
    """The file's tensors and text (never other objects): types, checksum (when the file has
    one), then finite values, checked in that order (a flipped byte is called corrupt)."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        # weights_only refuses arbitrary objects
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path} holds objects other than tensors and plain data; "
                              f"refusing to load it (it may be hostile): {one_line(err)}") from err
    except Exception as err:  # a damaged file can fail in any layer (zip, pickle opcodes, storage)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): "
                              f"{one_line(err)}") from err
    if not isinstance(payload, dict) or not {"meta", "weights", "arrays"} <= payload.keys():
        raise CheckpointError(f"{path} is a torch file but not a cgmvae checkpoint")
    if not isinstance(payload["meta"], str):
        raise CheckpointError(f"{path}: the metadata is a {type(payload['meta']).__name__}, "
                              "not text")
    for group in ("weights", "arrays"):
        tensors = payload[group]
        if not isinstance(tensors, dict) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()):
            raise CheckpointError(f"{path}: '{group}' is not a table of named tensors")
        for name, tensor in tensors.items():
            if tensor.dtype != torch.float32:
                raise CheckpointError(f"{path}: {group} '{name}' is {tensor.dtype}, not float32")
    if "sha256" in payload and (not isinstance(payload["sha256"], str) or payload["sha256"]
                                != content_digest(payload["meta"], payload["weights"],
                                                  payload["arrays"])):
        raise CheckpointError(f"{path} is corrupt: its content does not match the SHA-256 stored "
                              "when it was saved (a damaged copy or an edited file)")
    for group in ("weights", "arrays"):
        for name, tensor in payload[group].items():
            if not torch.isfinite(tensor).all():
                raise CheckpointError(f"{path}: {group} '{name}' holds NaN or infinite values")
    return payload


def parse_meta(text: str, path: Path) -> dict[str, Any]:
    """The metadata JSON as a dict whose every field has the type and range the model needs."""
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{path}: unreadable metadata: {one_line(err)}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: the metadata is a JSON {type(meta).__name__}, "
                              "not an object")
    if meta.get("format") != FORMAT or meta.get("version") not in (1, VERSION):
        raise CheckpointError(f"{path}: format {meta.get('format')!r} "
                              f"version {meta.get('version')!r}, "
                              f"expected {FORMAT!r} version {VERSION} (or 1)")
    expected = {"model_config": dict, "train_config": dict, "feature_names": list,
                "label_names": list, "dataset_name": str, "history": list, "best_epoch": int,
                "metric_thresholds": dict}
    for key, kind in expected.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise CheckpointError(f"{path}: metadata '{key}' should be a {kind.__name__}, found "
                                  f"{type(meta.get(key)).__name__}")
    if not all(isinstance(record, dict) for record in meta["history"]):
        raise CheckpointError(f"{path}: metadata 'history' should hold one object per epoch")
    meta["threshold"] = checked_threshold(meta.get("threshold"), "threshold", path)
    meta["metric_thresholds"] = {
        str(name): checked_threshold(value, f"metric_thresholds.{name}", path)
        for name, value in meta["metric_thresholds"].items()}
    meta["stop_note"] = meta.get("stop_note", "")  # absent before diverged trainings kept one
    if not isinstance(meta["stop_note"], str):
        raise CheckpointError(f"{path}: metadata 'stop_note' should be a string")
    meta["macro_per_label"] = meta.get("macro_per_label", False)
    if not isinstance(meta["macro_per_label"], bool):
        raise CheckpointError(f"{path}: metadata 'macro_per_label' should be true or false")
    temperature = meta.get("calibration_temperature")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, (int, float))
                                    or not math.isfinite(temperature) or temperature <= 0):
        raise CheckpointError(f"{path}: metadata 'calibration_temperature' should be a positive "
                              f"number or null, found {repr(temperature)[:60]}")
    meta["calibration_temperature"] = None if temperature is None else float(temperature)
    return meta


def checked_threshold(value, name: str, path: Path) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not 0.0 <= value <= 1.0):
        raise CheckpointError(f"{path}: metadata '{name}' should be a number in [0, 1], found "
                              f"{repr(value)[:60]}")
    return float(value)


def check_names(meta: dict[str, Any], model_config: ModelConfig) -> tuple[int, int]:
    """(n_features, n_labels): unique text names, as many as the network's inputs and outputs."""
    sizes = {"feature_names": model_config.n_features, "label_names": model_config.n_labels}
    for key, size in sizes.items():
        names = meta[key]
        if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
            raise CheckpointError(f"'{key}' should be distinct texts")
        if len(names) != size:
            raise CheckpointError(f"{len(names)} {key.replace('_', ' ')} for a network built "
                                  f"for {size}")
    return model_config.n_features, model_config.n_labels


def check_arrays(tensors: dict[str, torch.Tensor], n_features: int, n_labels: int
                 ) -> dict[str, np.ndarray]:
    """The preprocessing and per-label arrays, each present (or optional) with its shape."""
    shapes = {"standardizer_mean": (n_features,), "standardizer_scale": (n_features,),
              "label_prevalence": (n_labels,), "label_thresholds": (n_labels,),
              "learned_association": (n_labels, n_labels),
              "environmental_association": (n_labels, n_labels),
              "feature_min": (n_features,), "feature_max": (n_features,),
              "feature_novelty_metric": (n_features, n_features)}
    arrays = {}
    for name, shape in shapes.items():
        if name not in tensors:
            if name in OPTIONAL_ARRAYS:
                continue
            raise CheckpointError(f"the array '{name}' is missing")
        if tuple(tensors[name].shape) != shape:
            raise CheckpointError(f"the array '{name}' has shape {tuple(tensors[name].shape)}, "
                                  f"the model needs {shape}")
        arrays[name] = tensors[name].numpy()
    if not (arrays["standardizer_scale"] > 0).all():
        raise CheckpointError("the array 'standardizer_scale' holds values <= 0")
    return arrays


def check_weights_fit(weights: dict[str, torch.Tensor], network: CGMVAE) -> None:
    """CheckpointError naming the first missing, unexpected or misshapen weight."""
    needed = {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}
    missing = sorted(needed.keys() - weights.keys())
    unexpected = sorted(weights.keys() - needed.keys())
    if missing or unexpected:
        raise CheckpointError(f"the weights' names do not fit the network its config builds "
                              f"(this checkpoint does not fit): missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}")
    for name, shape in needed.items():
        found = tuple(weights[name].shape)
        if found != shape:
            raise CheckpointError(f"weight '{name}' has shape {found} where the network needs "
                                  f"{shape}: the checkpoint does not fit its config")
