"""Train: fit C-GMVAE on the chosen data set in the background, or load a checkpoint."""

from pathlib import Path

import streamlit as st
from ui.loading import USER_ERRORS, checkpoint_bytes, load_checkpoint_bytes, user_message
from ui.model_store import keep_model, kept_table, open_kept
from ui.paths import allowed_path, new_checkpoint_path
from ui.state import current_data, flash, show_flash
from ui.text import plain, safe_message
from ui.training import (
    JOB_KEY,
    WAITING_MESSAGE,
    adopt_finished_training,
    device_description,
    epoch_estimate,
    expected_time_note,
    settings_problem,
    offer_trained_model,
    start_training,
)
from ui.tuned_config import (
    TunedStart,
    form_values,
    other_data_note,
    outside_the_form,
    read_tuned_config,
    read_tuned_config_file,
)

from cgmvae import explore, model_store
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.config_choices import configs_from_choices
from cgmvae.predictor import TrainedModel

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
            "kl": TRAINING.loss.kl, "seed": TRAINING.seed, "variant": "cgmvae"}
LIMITS = {  # each number field: its label, lowest and highest value
    "epochs": ("Max epochs", 1, 1000), "patience": ("Early stopping patience (epochs)", 1, 200),
    "lr": ("Learning rate", 1e-5, 1.0), "batch": ("Batch size", 8, 4096),
    "embedding": ("Embedding size E", 8, 4096), "latent": ("Latent size d", 2, 256),
    "dropout": ("Dropout", 0.0, 0.9), "alpha": ("Contrastive weight alpha", 0.0, 10.0),
    "kl": ("KL weight", 0.0, 100.0), "seed": ("Seed", 0, 2**31 - 1)}


def hyper_parameters(choice) -> tuple[str, ModelConfig, TrainConfig] | None:
    """The form, filled with the last submitted values, and the time a run with them should
    take; returns the variant and configs when submitted."""
    last = {**DEFAULTS, **st.session_state.get(SETTINGS_KEY, {})}
    show_expected_time(choice, last)
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
            "seed": ("Seed", int(chosen["seed"]))})


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


def show_progress(job, live: bool = False) -> None:
    """Progress bar, curves and a cancel button; hands the model over when training ends.
    `live`: drawn by the fragment that polls a running job, which redraws the whole page when the
    job has ended (its outcome, a failure included, is drawn outside the fragment)."""
    if job.running:
        if job.waiting:
            st.info(WAITING_MESSAGE, icon=":material/hourglass_top:")
        else:
            st.progress(job.progress(), text=job.progress_text())
        st.button("Cancel", on_click=job.stop.set, disabled=job.stop.is_set(), key="cancel")
    elif live or adopt_finished_training():
        st.rerun()  # the whole app: the outcome, and the sidebar's new model
    records = list(job.records)  # a snapshot: the training thread appends meanwhile
    if records or job.running:  # (a training that failed in its first epoch has no curve)
        st.plotly_chart(explore.figures.training_curves(records), key="curves")


def save_or_download(model: TrainedModel) -> None:
    """Download the checkpoint, or write it to a new .pt file inside the allowed data folders."""
    st.download_button("Download the checkpoint", lambda: checkpoint_bytes(model),
                       file_name=f"{model.dataset_name}.pt", on_click="ignore")
    target = st.text_input("...or save it to a path on the server", placeholder="runs/my_model.pt",
                           help="A new .pt file on the machine that runs this app, inside the "
                                "data folders its operator allows.")
    clicked = st.button("Save")
    if clicked and not target.strip():
        st.warning("Type a path first.")
    elif clicked:
        try:
            st.success(f"Saved {plain(model.save(new_checkpoint_path(target)))}")
        except USER_ERRORS as err:
            st.error(f"Cannot save to {plain(target)}: {safe_message(err)}")

def kept_models() -> None:
    """The models kept in the model folder, and a way to reopen one."""
    kept = model_store.list_models()
    st.caption(f"Every trained or loaded model is kept in `{model_store.model_dir()}` "
               f"(${model_store.MODEL_DIR_ENV}); open one here, or on any page with the link "
               "`?model=NAME`.")
    if not kept:
        st.info("No kept models yet: train or load one.")
        return
    st.dataframe(kept_table(kept), hide_index=True)
    name = st.selectbox("Kept model", [info["name"] for info in kept])
    if st.button("Open this model"):
        try:
            open_kept(name)
        except USER_ERRORS as err:
            st.error(f"Cannot open {plain(name)}: {safe_message(err)}")
        else:
            flash(f"Opened the kept model {name}.")
            st.rerun()


st.title("Train")
show_flash()
train_tab, load_tab, kept_tab = st.tabs(["Train a model", "Load a checkpoint", "Kept models"])
with train_tab:
    choice = current_data()
    st.write(f"Data: **{plain(choice.data.name)}** ({plain(choice.source)}): "
             f"{choice.split.train.size:,} "
             f"training and {choice.split.val.size:,} validation rows. Change it on the Data "
             "page.")
    st.caption(f"Device: {device_description()}")
    job = st.session_state.get(JOB_KEY)
    if job is None or not job.running:
        tuned_start(choice)
        configs = hyper_parameters(choice)
        if configs is not None:
            variant, model_config, train_config = configs
            st.session_state[JOB_KEY] = start_training(
                choice, model_config, train_config, name_hint=f"{choice.data.name}-{variant}")
            st.rerun()  # redraw without the form while the job runs
    if job is not None:
        if job.running:
            st.fragment(show_progress, run_every=1.0)(job, live=True)
        else:
            show_progress(job)
        if job.error:
            st.error(f"Training failed: {safe_message(job.error)}")
        elif job.model is not None:
            stopped = " (cancelled)" if job.stop.is_set() else ""
            shown = ("" if job.offered is not None or not job.installed
                     else " The other pages now show this model.")
            st.success(f"Trained{stopped}: best epoch {job.model.best_epoch} of "
                       f"{len(job.records)}.{shown}")
            if job.model.stop_note:  # the loss diverged after a good epoch
                st.warning(safe_message(user_message(job.model.stop_note)))
            offer_trained_model(key="use_trained_train_page")
            save_or_download(job.model)
with load_tab:
    upload = st.file_uploader("Checkpoint (.pt)", type=["pt"])
    path = st.text_input("...or a checkpoint path on the server", placeholder="runs/yeast/model.pt",
                         help="A path on the machine that runs this app (not on your computer), "
                              "inside the data folders its operator allows.")
    clicked = st.button("Load checkpoint")
    if clicked and upload is None and not path.strip():
        st.warning("Upload a checkpoint or type its path first.")
    elif clicked:
        source = upload.name if upload else path.strip()
        try:
            if upload is not None:
                model = load_checkpoint_bytes(upload.getvalue(), upload.name)
            else:
                model = TrainedModel.load(allowed_path(source))
        except USER_ERRORS as err:
            st.error(f"Cannot load the checkpoint: {safe_message(err)}")
        else:
            workspace = keep_model(model, f"loaded from {source}", None,
                                   name_hint=Path(source).stem or model.dataset_name)
            flash(f"Loaded a model of {plain(model.dataset_name)}."
                  + ("" if workspace.data else " Pick its data set on the Data page to "
                     "see metrics and the latent space."))
            st.rerun()  # the sidebar, drawn before this page, now names the new model
with kept_tab:
    kept_models()
