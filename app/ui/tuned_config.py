"""A tuned configuration (best_config.json from `python -m cgmvae tune`) as the start of the
Train page's form: its values fill the form, and its other settings stay under the form's."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cgmvae import tune
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData

MAX_CONFIG_BYTES = 1_000_000  # best_config.json is a few kB


@dataclass(frozen=True)
class TunedStart:
    """The configs of a best_config.json, where it came from, and what it was tuned on."""

    model_config: ModelConfig
    train_config: TrainConfig
    source: str
    tuned_on: object  # the file's "data": its fingerprint (name, rows, features, labels)
    summary: str  # "trial 7 of study cgmvae-yeast, validation mean_auc 0.7123"


def read_tuned_config(raw: bytes, source: str) -> TunedStart:
    """`raw`, the bytes of a best_config.json named `source`; ValueError saying what is wrong."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"{source} has {len(raw):,} bytes: a best_config.json from `python -m "
                         "cgmvae tune` has a few thousand")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not a text file: choose the best_config.json that "
                         "`python -m cgmvae tune` wrote") from None
    model_config, train_config, values = tune.parse_config(text, source)
    # the app trains on its own device ("auto"), whichever the file was tuned on
    train_config = replace(train_config, device=TrainConfig().device)
    parts = []
    if isinstance(values.get("trial"), int):
        parts.append(f"trial {values['trial']}"
                     + (f" of study {values['study']}" if isinstance(values.get("study"), str)
                        else ""))
    if isinstance(values.get("best_value"), (int, float)):
        parts.append(f"validation {values.get('selection_metric', 'score')} "
                     f"{values['best_value']:.4f}")
    return TunedStart(model_config, train_config, source, values.get("data"), ", ".join(parts))


def read_tuned_config_file(path: Path) -> TunedStart:
    """`read_tuned_config` of a file, refused unread when it is too large to be one."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ValueError(f"{path.name} has {size:,} bytes: a best_config.json from `python -m "
                         "cgmvae tune` has a few thousand")
    return read_tuned_config(path.read_bytes(), path.name)


def form_values(start: TunedStart) -> dict:
    """The Train form's fields (names of the page's DEFAULTS) with the configuration's values."""
    model, train = start.model_config, start.train_config
    whole = {"epochs": train.max_epochs, "patience": train.patience, "batch": train.batch_size,
             "embedding": model.embedding_dim, "latent": model.latent_dim, "seed": train.seed}
    real = {"lr": train.learning_rate, "dropout": model.dropout,
            "alpha": train.loss.contrastive, "kl": train.loss.kl}
    # the form's widgets take one number type each (a JSON 1 for a weight is a float here)
    return ({field: int(value) for field, value in whole.items()}
            | {field: float(value) for field, value in real.items()}
            | {"variant": "cgmvae",
               "warmup": bool(train.ema_warmup and train.selection_metric == "val_loss")})


def outside_the_form(values: dict, limits: dict[str, tuple[str, float, float]]) -> list[str]:
    """The values the form cannot show: `limits` maps a field to (its label, lowest, highest)."""
    return [f"{label} {values[field]:g} (the form takes {low:g} to {high:g})"
            for field, (label, low, high) in limits.items()
            if not low <= values[field] <= high]


def other_data_note(start: TunedStart, data: MultiLabelData) -> str | None:
    """A line when the configuration was tuned on data of another shape than `data`."""
    note = tune.other_data_note(start.tuned_on, data.n_features, data.n_labels)
    return None if note is None else note[0].upper() + note[1:] + "."
