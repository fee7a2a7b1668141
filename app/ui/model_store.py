"""App side of `cgmvae.model_store`: keep trained and loaded models, reopen them, deep links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cgmvae import metrics, model_store
from cgmvae.predictor import TrainedModel
from ui.loading import USER_ERRORS, reload_data, user_message
from ui.state import (
    DataChoice,
    Workspace,
    compatible_data,
    current_workspace,
    fits,
    use_data,
    use_model,
)
from ui.text import plain

LINK_KEY = "linked_model"  # the ?model= value already opened, so that it is opened once
SHOWN_METRICS = ("micro_f1", "macro_f1", "mean_species_auc")


def test_scores(model: TrainedModel, choice: DataChoice | None) -> dict:
    """Deployed-threshold metrics and the mean species ROC-AUC on the test (or validation) rows."""
    if choice is None:
        return {}
    rows, _ = choice.evaluation_rows()
    features, labels = choice.data.features[rows], choice.data.labels[rows]
    scores = dict(model.evaluate(features, labels)["deployed"])
    scores["mean_species_auc"] = metrics.macro_roc_auc(labels, model.predict_proba(features))
    return {name: round(float(value), 4) for name, value in scores.items()}


def keep_model(model: TrainedModel, source: str, choice: DataChoice | None,
               name_hint: str) -> Workspace:
    """Make `model` the session's model and save it in the model folder (a warning if that
    folder cannot be written: the model is still used)."""
    choice = choice if choice is not None else compatible_data(model)
    try:
        _, info = model_store.save(model, name_hint, data_source=choice.source if choice else "",
                                   test_metrics=test_scores(model, choice),
                                   data_recipe=choice.recipe if choice else None)
    except OSError as err:
        st.warning(f"Could not keep the model in {model_store.model_dir()}: {err}")
        info = None
    else:
        link_to(info["name"])
    return use_model(model, source, choice, info)


def open_kept(name: str) -> Workspace:
    """Make the kept model `name` the session's model (errors as USER_ERRORS), with its data set
    loaded again when it came from files on the server and none at hand fits it (a warning,
    not an error, when that fails: the model is open either way)."""
    model, info = model_store.load(name)
    link_to(name)
    choice, recipe = compatible_data(model), info.get("data_recipe")
    if choice is None and isinstance(recipe, dict):
        choice = reopen_data(model, recipe)
    return use_model(model, f"kept model {name}", choice, info)


def reopen_data(model: TrainedModel, recipe: dict) -> DataChoice | None:
    """The model's data set loaded again from its recipe and made the session's data set; None,
    with a warning saying why, when it cannot be loaded or no longer fits the model."""
    from ui.column_roles import use_table

    try:
        with st.spinner("Loading the model's data set again..."):
            data, split, source, roles = reload_data(recipe)
    except USER_ERRORS as err:
        st.warning(f"Could not load the model's data set again: {user_message(err)}. Pick it on "
                   "the **Data** page.")
        return None
    if not fits(model, data):
        st.warning(f"{plain(source)} no longer has the model's features and species: pick its data "
                   "set on the **Data** page.")
        return None
    if roles is None:
        return use_data(data, split, source, recipe)
    return use_table(data, split, source, roles, recipe=recipe,
                     sidecar=recipe["kind"] != "two_tables")


def keep_model_in_address() -> None:
    """Put the kept model in use back into the address on every page (switching pages clears
    the query parameters), so that a reload on any page reopens it."""
    name = (current_workspace().info or {}).get("name")
    if name and st.query_params.get("model") != name:
        link_to(name)


def link_to(name: str) -> None:
    """The address bar names the kept model in use (`?model=NAME`), so that a reload or a
    shared link reopens it; marked as opened, so that this session does not open it again."""
    st.query_params["model"] = name
    st.session_state[LINK_KEY] = name


def open_linked_model() -> None:
    """Open the model named by `?model=NAME` once (a deep link); an error names a bad one."""
    name = st.query_params.get("model")
    if not name or st.session_state.get(LINK_KEY) == name:
        return
    st.session_state[LINK_KEY] = name
    if (current_workspace().info or {}).get("name") == name:
        return
    try:
        open_kept(name)
    except USER_ERRORS as err:
        st.error(f"Cannot open the model {name!r} of the link: {err}")


def kept_table(kept: list[dict]) -> pd.DataFrame:
    """One row per kept model: name, data set, variant, key settings, date, test metrics."""
    rows = []
    for info in kept:
        settings = info.get("settings", {})
        scores = info.get("test_metrics", {})
        rows.append({"name": info["name"], "data set": info.get("dataset", "?"),
                     "variant": info.get("variant", "?"),
                     "settings": ", ".join(f"{k} {v}" for k, v in settings.items()
                                           if k in ("embedding size E", "latent size d",
                                                    "learning rate", "max epochs", "seed")),
                     "best epoch": f"{info.get('best_epoch', '?')} of {info.get('epochs', '?')}",
                     "date": str(info.get("date", "")).replace("T", " "),
                     **{name: scores.get(name, np.nan) for name in SHOWN_METRICS}})
    return pd.DataFrame(rows)
