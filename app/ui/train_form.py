"""The Train page's form: its fields and limits, the configuration it starts from (the defaults
or a tuned best_config.json), and the time a run with its values should take."""

from __future__ import annotations

import streamlit as st

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.config_choices import configs_from_choices
from ui.loading import USER_ERRORS
from ui.paths import allowed_path
from ui.state import flash
from ui.text import plain, safe_message
from ui.training import epoch_estimate, expected_time_note, settings_problem
from ui.tuned_config import (
    TunedStart,
    form_values,
    other_data_note,
    outside_the_form,
    read_tuned_config,
    read_tuned_config_file,
)


MODEL_CHOICES = {  # README, "The model": measured trade-off
    "cgmvae": "Default: decoder input [x, z] as in the authors' code (the latent space collapses)",
    "cgmvae-informative-latent": "Informative latent space: decoder input z alone, KL weight 0.03 "
                                 "(accuracy differs by data set)",
}


SETTINGS_KEY = "train_settings"  # the form's last submitted values: the form comes back with them
START_KEY = "train_tuned_start"  # a TunedStart: the configs the form's values change
MODEL, TRAINING = ModelConfig(), TrainConfig()  # the library's defaults, as the command line's
DEFAULTS = {"epochs": TRAINING.max_epochs, "patience": TRAINING.patience,
            "lr": TRAINING.learning_rate, "batch": TRAINING.batch_size,
            "embedding": MODEL.embedding_dim, "latent": MODEL.latent_dim,
            "dropout": MODEL.dropout, "alpha": TRAINING.loss.contrastive,
            "kl": TRAINING.loss.kl, "seed": TRAINING.seed, "variant": "cgmvae",
            "warmup": TRAINING.ema_warmup}
# Fewer training steps per epoch than this: truer probabilities are suggested
SMALL_SURVEY_STEPS = 10
PROBABILITIES_LABEL = "Truer probabilities (warm-up, epoch by log-loss)"
PROBABILITIES_HELP = (
    "Two changes to how the kept model is chosen. The weights kept are an average over training "
    "steps, and an epoch of a few-hundred-site survey is 2-3 steps: the warm-up lets the "
    "average follow the first steps instead of staying mostly at them. And the epoch is chosen "
    "by validation log-loss, which rewards probabilities near the truth, instead of mean "
    "species AUC, which only ranks sites and stops improving long before the probabilities "
    "do. Measured on planted surveys (benchmarks/results/ema_warmup.csv, 3 seeds): mean "
    "|probability - truth| 0.21 -> 0.06 at 300 sites, 0.14 -> 0.04 at 1,000, 0.10 -> 0.04 at "
    "3,000, and the learned species map's error 0.21 -> 0.05 at 300 sites. On 11 real data "
    "sets micro-F1 moved by -0.012 to +0.006 and macro-F1 by -0.020 to +0.13. Not the "
    "library's default until the benchmark tables are re-run with it.")
LIMITS = {  # each number field: its label, lowest and highest value
    "epochs": ("Max epochs", 1, 1000), "patience": ("Early stopping patience (epochs)", 1, 200),
    "lr": ("Learning rate", 1e-5, 1.0), "batch": ("Batch size", 8, 4096),
    "embedding": ("Embedding size E", 8, 4096), "latent": ("Latent size d", 2, 256),
    "dropout": ("Dropout", 0.0, 0.9), "alpha": ("Contrastive weight alpha", 0.0, 10.0),
    "kl": ("KL weight", 0.0, 100.0), "seed": ("Seed", 0, 2**31 - 1)}


def hyper_parameters(choice) -> tuple[str, ModelConfig, TrainConfig] | None:
    """The form, filled with the last submitted values, and the time a run with them should
    take; returns the variant and configs when submitted."""
    steps = -(-choice.split.train.size // int(DEFAULTS["batch"]))
    small = steps < SMALL_SURVEY_STEPS
    last = {**DEFAULTS, "warmup": small, **st.session_state.get(SETTINGS_KEY, {})}
    show_expected_time(choice, last)
    if small:
        st.info(f"A small survey: {choice.split.train.size:,} training rows are {steps} "
                "training step(s) per epoch. With the library's default settings the model's "
                "probabilities would stay near each species' prevalence and the learned "
                "species map would be flattened, so *Truer probabilities* starts ticked here "
                "(its help says what was measured; untick it for the settings of the "
                "benchmark tables).")
    with st.form("hyper_parameters"):
        left, middle, right = st.columns(3)
        chosen = {
            "epochs": left.number_input(*LIMITS["epochs"], last["epochs"]),
            "patience": left.number_input(*LIMITS["patience"], last["patience"]),
            "lr": left.number_input(*LIMITS["lr"], last["lr"], format="%.6f"),
            "batch": left.number_input(*LIMITS["batch"], last["batch"]),
            "embedding": middle.number_input(*LIMITS["embedding"], last["embedding"]),
            "latent": middle.number_input(*LIMITS["latent"], last["latent"]),
            "dropout": middle.slider(*LIMITS["dropout"], last["dropout"]),
            "alpha": right.number_input(*LIMITS["alpha"], last["alpha"]),
            "kl": right.number_input(*LIMITS["kl"], last["kl"], format="%.4f",
                                     help="Weight of the KL term between the posterior and the "
                                          "label-mixture prior (6 in the authors' code)"),
            "seed": right.number_input(*LIMITS["seed"], last["seed"]),
            "variant": st.radio("Model", list(MODEL_CHOICES), format_func=MODEL_CHOICES.get,
                                index=list(MODEL_CHOICES).index(last["variant"]),
                                horizontal=True),
            "warmup": st.checkbox(PROBABILITIES_LABEL, value=bool(last.get("warmup", False)),
                                  help=PROBABILITIES_HELP),
        }
        if not st.form_submit_button("Train", type="primary"):
            return None
    st.session_state[SETTINGS_KEY] = chosen
    try:
        model_config, train_config = configs_of(chosen)
    except ValueError as err:
        st.error(f"Cannot train with these settings: {safe_message(err)}")
        return None
    if problem := settings_problem(choice, model_config, train_config):
        st.error(f"Cannot train with these settings: {plain(problem)}")
        return None
    return chosen["variant"], model_config, train_config


def configs_of(chosen: dict) -> tuple[ModelConfig, TrainConfig]:
    """The configs of the form's values on top of the tuned configuration, if one was chosen, else
    the defaults (ValueError naming the field for a bad one)."""
    start = st.session_state.get(START_KEY)
    base = (start.model_config, start.train_config) if start is not None else None
    return configs_from_choices(chosen["variant"], base=base, choices={
            "max_epochs": ("Max epochs", int(chosen["epochs"])),
            "patience": ("Early stopping patience (epochs)", int(chosen["patience"])),
            "learning_rate": ("Learning rate", float(chosen["lr"])),
            "batch_size": ("Batch size", int(chosen["batch"])),
            "embedding_dim": ("Embedding size E", int(chosen["embedding"])),
            "latent_dim": ("Latent size d", int(chosen["latent"])),
            "dropout": ("Dropout", float(chosen["dropout"])),
            "contrastive": ("Contrastive weight alpha", float(chosen["alpha"])),
            "kl": ("KL weight", float(chosen["kl"])),
            "seed": ("Seed", int(chosen["seed"])),
            "ema_warmup": (PROBABILITIES_LABEL, bool(chosen.get("warmup", False))),
            "selection_metric": (PROBABILITIES_LABEL,
                                 "val_loss" if chosen.get("warmup") else None)})


def tuned_start(choice) -> None:
    """Start the form from a best_config.json of `python -m cgmvae tune`, or go back to the
    defaults; says which configuration the form starts from."""
    start: TunedStart | None = st.session_state.get(START_KEY)
    if start is not None:
        st.info(f"The form starts from the tuned configuration {plain(start.source)}"
                + (f" ({plain(start.summary)})" if start.summary else "")
                + "; settings the form does not show (hidden sizes, weight decay...) are the "
                  "file's.")
        if note := other_data_note(start, choice.data):
            st.warning(plain(note))
        if st.button("Back to the defaults"):
            st.session_state.pop(START_KEY)
            st.session_state.pop(SETTINGS_KEY, None)
            st.rerun()
    with st.expander("Start from a tuned configuration"):
        st.caption("`python -m cgmvae tune ... --out DIR` searches learning rate, dropout, E and "
                   "the KL weight on validation rows and writes `DIR/best_config.json`; its "
                   "values fill the form.")
        upload = st.file_uploader("best_config.json", type=["json"])
        path = st.text_input("...or its path on the server", placeholder="tuned/best_config.json",
                             help="A path on the machine that runs this app, inside the data "
                                  "folders its operator allows.")
        if not st.button("Use this configuration"):
            return
        if upload is None and not path.strip():
            st.warning("Upload a best_config.json or type its path first.")
            return
        try:
            start = (read_tuned_config(upload.getvalue(), upload.name) if upload is not None
                     else read_tuned_config_file(allowed_path(path)))
        except USER_ERRORS as err:
            st.error(f"Cannot use this configuration: {safe_message(err)}")
            return
        values = form_values(start)
        if problem := settings_problem(choice, start.model_config, start.train_config):
            st.error(f"Cannot use {plain(start.source)}: {plain(problem)}")
            return
        if outside := outside_the_form(values, LIMITS):
            st.error(f"Cannot use {plain(start.source)}: the form cannot take "
                     f"{plain('; '.join(outside))}. Train it with `python -m cgmvae train "
                     "--config` instead.")
            return
        st.session_state[START_KEY], st.session_state[SETTINGS_KEY] = start, values
        flash(f"The form now holds the tuned configuration {plain(start.source)}.")
        st.rerun()


def show_expected_time(choice, chosen: dict) -> None:
    """How long training with the form's values takes, measured on this machine's data set."""
    try:
        model_config, train_config = configs_of(chosen)
        if problem := settings_problem(choice, model_config, train_config):
            raise ValueError(problem)
        estimate = epoch_estimate(choice, model_config, train_config)
    except (ValueError, RuntimeError) as err:  # the form says why when submitted
        st.caption(f"No time estimate: {safe_message(err)}")
        return
    st.caption(expected_time_note(estimate))
