"""Configs from what a user chose (command-line options, the app's training form): one assembly."""

from __future__ import annotations

from dataclasses import fields, replace

from cgmvae.config import LossWeights, ModelConfig, TrainConfig
from cgmvae.variants import apply_variant

# Field names are unique across the three configs, so a choice names its field alone.
_FIELDS = {config: {f.name for f in fields(config)}
           for config in (ModelConfig, TrainConfig, LossWeights)}


def configs_from_choices(variant: str = "cgmvae",
                         choices: dict[str, tuple[str, object]] | None = None, *,
                         base: tuple[ModelConfig, TrainConfig] | None = None
                         ) -> tuple[ModelConfig, TrainConfig]:
    """The configs a user chose: `base` (default: the defaults), each choice made, then `variant`.

    Parameters
    ----------
    variant : a name of `cgmvae.variants.VARIANTS`, applied last (it may override a choice, as
        "cgmvae-gm-only" sets the contrastive weight to 0).
    choices : {field of ModelConfig, TrainConfig or LossWeights: (what the user calls it, value)};
        a value of None is no choice (the base value stays).
    base : the configs the choices change, e.g. those of a config file.

    Raises
    ------
    ValueError naming the choice as the user calls it ("--epochs: max_epochs must be ...") for a
    value out of range; TypeError for a field no config has.
    """
    model_config, train_config = base if base is not None else (ModelConfig(), TrainConfig())
    made = {field: choice for field, choice in (choices or {}).items() if choice[1] is not None}
    unknown = set(made) - set().union(*_FIELDS.values())
    if unknown:
        raise TypeError(f"no config has the field(s) {', '.join(sorted(unknown))}")
    loss = _with_choices(train_config.loss, made)
    train_config = _with_choices(replace(train_config, loss=loss), made)
    return apply_variant(variant, _with_choices(model_config, made), train_config)


def _with_choices(config, made: dict[str, tuple[str, object]]):
    """`config` with the choices that are its fields, one at a time (an error names its choice)."""
    for field, (name, value) in made.items():
        if field not in _FIELDS[type(config)]:
            continue
        try:
            config = replace(config, **{field: value})
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
    return config
