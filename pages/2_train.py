"""Train: fit C-GMVAE on the chosen data set in the background, or load a checkpoint."""

from pathlib import Path

import streamlit as st
from ui.loading import USER_ERRORS, checkpoint_bytes, load_checkpoint_bytes, user_message
from ui.model_store import keep_model, kept_table, open_kept
from ui.paths import allowed_path, new_checkpoint_path
from ui.state import current_data, flash, show_flash
from ui.text import plain, safe_message
from ui.train_form import hyper_parameters, tuned_start
from ui.training import (
    JOB_KEY,
    WAITING_MESSAGE,
    adopt_finished_training,
    device_description,
    offer_trained_model,
    start_training,
)

from cgmvae import explore, model_store
from cgmvae.predictor import TrainedModel


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
