"""A folder of trained models that outlives a session: `<folder>/<name>/model.pt` + `info.json`.

The folder is $CGMVAE_MODEL_DIR, else `runs/` at the repository root. Names hold only
[A-Za-z0-9._-] (never a path); models are read with the safe `TrainedModel.load`.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

from cgmvae.predictor import TrainedModel
from cgmvae.variants import INFORMATIVE_LATENT_KL

MODEL_DIR_ENV = "CGMVAE_MODEL_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "runs"
NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
CHECKPOINT, INFO = "model.pt", "info.json"


def model_dir() -> Path:
    """Where models are kept: $CGMVAE_MODEL_DIR, else `runs/` at the repository root."""
    return Path(os.environ.get(MODEL_DIR_ENV) or DEFAULT_DIR).expanduser()


def safe_name(text: str) -> str:
    """`text` made into a valid name: other characters become "-", no leading dot, <= 80 long."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80]
    return name or "model"


def check_name(name: str) -> str:
    """`name` if it is a valid model name, else ValueError (no separators, no leading dot)."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or name.startswith("."):
        raise ValueError(f"not a model name: {name!r} (letters, digits, '.', '_' and '-' only)")
    return name


def variant_of(model: TrainedModel) -> str:
    """Which `cgmvae.variants` variant the model's settings are (see `apply_variant`)."""
    loss = model.train_config.loss
    if model.model_config.prior == "unigaussian":
        return "cgmvae-unigaussian"
    if not model.model_config.decoder_sees_features and loss.kl == INFORMATIVE_LATENT_KL:
        return "cgmvae-informative-latent"
    if loss.contrastive == 0.0:
        return "cgmvae-gm-only"
    if loss.kl == 0.0:
        return "cgmvae-contrastive-only"
    return "cgmvae"


def describe(model: TrainedModel) -> dict:
    """What produced the model: data set, variant, key settings, best epoch and epochs run."""
    config, train = model.model_config, model.train_config
    return {"dataset": model.dataset_name, "variant": variant_of(model),
            "settings": {"embedding size E": config.embedding_dim,
                         "latent size d": config.latent_dim,
                         "dropout": config.dropout, "learning rate": train.learning_rate,
                         "batch size": train.batch_size, "max epochs": train.max_epochs,
                         "patience": train.patience,
                         "contrastive weight": train.loss.contrastive,
                         "KL weight": train.loss.kl, "seed": train.seed}
                        | ({"weight-average warm-up": "on"} if train.ema_warmup else {})
                        | ({"epoch chosen by": train.selection_metric}
                           if train.selection_metric != "mean_auc" else {}),
            "best_epoch": model.best_epoch, "epochs": len(model.history),
            "labels": len(model.label_names), "features": len(model.feature_names)}


def save(model: TrainedModel, name_hint: str, *, data_source: str = "",
         test_metrics: dict | None = None, folder: Path | None = None,
         data_recipe: dict | None = None) -> tuple[str, dict]:
    """Keep `model` under a new name made from `name_hint`; returns the name and its info.
    `data_recipe`: how the app can load the model's data again (JSON; kept as given)."""
    folder = folder or model_dir()
    base = safe_name(name_hint)
    name, copy = base, 1
    while (folder / name).exists():
        copy += 1
        name = f"{base}-{copy}"
    info = {**describe(model), "name": name, "data_source": data_source,
            "date": datetime.now().isoformat(timespec="seconds"),
            "test_metrics": test_metrics or {}}
    if data_recipe:
        info["data_recipe"] = data_recipe
    target = folder / name
    target.mkdir(parents=True)
    model.save(target / CHECKPOINT)
    (target / INFO).write_text(json.dumps(info, indent=1, default=float))
    return name, info


def list_models(folder: Path | None = None) -> list[dict]:
    """The info of every kept model, newest first (folders without a readable info skipped)."""
    folder = folder or model_dir()
    found = []
    for info_path in folder.glob(f"*/{INFO}") if folder.is_dir() else []:
        try:
            info = json.loads(info_path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and (info_path.parent / CHECKPOINT).is_file():
            found.append({**info, "name": info_path.parent.name})
    return sorted(found, key=lambda info: str(info.get("date", "")), reverse=True)


def load(name: str, folder: Path | None = None) -> tuple[TrainedModel, dict]:
    """The kept model `name` and its info; ValueError for a bad name, CheckpointError/OSError
    for a missing or unusable one."""
    target = (folder or model_dir()) / check_name(name)
    model = TrainedModel.load(target / CHECKPOINT)
    try:
        info = json.loads((target / INFO).read_text())
    except (OSError, ValueError):
        info = {}
    return model, {**describe(model), **(info if isinstance(info, dict) else {}), "name": name}
