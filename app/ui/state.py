"""The model and data the pages explore: the built-in default, or this session's own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import streamlit as st

from cgmvae.data import MultiLabelData, Split
from cgmvae.datasets import builtin_data
from cgmvae.explore.projections import subsample
from cgmvae.predictor import TrainedModel
from cgmvae.simulate import DEFAULT_NAME
from ui.fingerprints import data_fingerprint, file_fingerprint, model_fingerprint
from ui.text import plain

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CHECKPOINT = ROOT / "assets" / f"{DEFAULT_NAME}.pt"
BUILD_COMMAND = "python app/build_default_model.py"

# session_state keys (one place, so pages cannot drift apart)
MODEL_KEY = "user_workspace"  # a Workspace the user trained or loaded in this session
DATA_KEY = "user_data"  # a DataChoice picked on the Data page
FLASH_KEY = "flash_message"  # a message to show after the st.rerun that follows a change


# The app scores a model on at most this many rows (a seeded sample, said on the page): on 100k
# test rows the Predictions page took 14 s (benchmarks/app_scale.py); `cgmvae evaluate` scores all.
EVALUATION_ROWS = 20_000


@dataclass(frozen=True)
class DataChoice:
    """A data set with the split to train/evaluate on, and where it came from."""

    data: MultiLabelData
    split: Split
    source: str
    key: str  # this pick in the session (what the page remembers per data set)
    fingerprint: str = ""  # its content, what caches are keyed on; computed when not given
    recipe: dict | None = None  # how to load it again (`ui.loading.reload_data`); None: upload

    def __post_init__(self):
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", data_fingerprint(self.data, self.split))

    def evaluation_rows(self) -> tuple[np.ndarray, str]:
        """The rows a model is scored on and their name: the test part, else validation; a
        seeded random EVALUATION_ROWS of them when there are more (`evaluation_part`: all)."""
        rows, part = self.evaluation_part()
        if rows.size <= EVALUATION_ROWS:
            return rows, part
        return rows[subsample(rows.size, EVALUATION_ROWS)], part

    def evaluation_part(self) -> tuple[np.ndarray, str]:
        """All the rows of the part a model is scored on: test, else validation."""
        if self.split.test.size:
            return self.split.test, "test"
        return self.split.val, "validation"


@dataclass(frozen=True)
class Workspace:
    """A model, the data it can be evaluated on (None: a checkpoint alone), and where it came
    from."""

    model: TrainedModel
    data: DataChoice | None
    source: str
    key: str  # this pick in the session (what the page remembers per model)
    info: dict | None = None  # what the model store knows (name, date, test metrics), if kept
    fingerprint: str = ""  # its checkpoint's content, what caches are keyed on; computed if empty

    def __post_init__(self):
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", model_fingerprint(self.model))


@st.cache_resource(show_spinner="Loading the built-in model...")
def default_model(mtime: float) -> TrainedModel:
    """The shipped checkpoint (cached across sessions; `mtime` reloads it when rebuilt)."""
    return TrainedModel.load(DEFAULT_CHECKPOINT)


@st.cache_resource(show_spinner="Simulating the built-in checklists...")
def default_data() -> DataChoice:
    """The built-in simulated checklists with the split the default model was trained on."""
    data, split = builtin_data()
    return DataChoice(data, split, "built-in simulated checklists", f"builtin-{DEFAULT_NAME}")


def default_workspace() -> Workspace:
    """The built-in model with its data; stops the page with instructions if it is missing."""
    if not DEFAULT_CHECKPOINT.is_file():
        st.error(f"The built-in model {DEFAULT_CHECKPOINT.name} is missing. Create it with "
                 f"`{BUILD_COMMAND}`, or train/load a model on the Train page.")
        st.stop()
    mtime = DEFAULT_CHECKPOINT.stat().st_mtime
    data = default_data()
    built = datetime.fromtimestamp(mtime).isoformat(timespec="seconds")
    return Workspace(default_model(mtime), data, "built-in model", f"builtin-{mtime}",
                     {"date": built, "data_source": data.source},
                     fingerprint=default_fingerprint(mtime))


@st.cache_resource
def default_fingerprint(mtime: float) -> str:
    """The shipped checkpoint file's hash (once per build, not on every page run)."""
    return file_fingerprint(DEFAULT_CHECKPOINT)


def current_workspace() -> Workspace:
    """This session's model if the user trained or loaded one, else the built-in default."""
    workspace = st.session_state.get(MODEL_KEY)
    return workspace if workspace is not None else default_workspace()


def current_data() -> DataChoice:
    """The data set picked on the Data page, else the built-in one."""
    choice = st.session_state.get(DATA_KEY)
    return choice if choice is not None else default_data()


def use_data(data: MultiLabelData, split: Split, source: str,
             recipe: dict | None = None) -> DataChoice:
    """Make `data` this session's data set (for the Data and Train pages); `recipe` says how to
    load it again, when its files are on the server (a kept model reopens it)."""
    choice = DataChoice(data, split, source, f"data-{uuid.uuid4().hex}", recipe=recipe)
    st.session_state[DATA_KEY] = choice
    return choice


def use_model(model: TrainedModel, source: str, data: DataChoice | None = None,
              info: dict | None = None) -> Workspace:
    """Make `model` this session's model, paired with `data` or any compatible data at hand."""
    data = data if data is not None else compatible_data(model)
    workspace = Workspace(model, data, source, f"model-{uuid.uuid4().hex}", info)
    st.session_state[MODEL_KEY] = workspace
    return workspace


def compatible_data(model: TrainedModel) -> DataChoice | None:
    """The session's or the built-in data set if it has the model's features and labels."""
    for choice in (st.session_state.get(DATA_KEY), default_data()):
        if choice is not None and fits(model, choice.data):
            return choice
    return None


def fits(model: TrainedModel, data: MultiLabelData) -> bool:
    return (list(model.feature_names) == list(data.feature_names)
            and list(model.label_names) == list(data.label_names))


def other_data_note(workspace: Workspace) -> str | None:
    """A hint when the data set picked on the Data page is not the one the model was trained
    on (the model pages keep showing the model with its own data), else None."""
    picked = st.session_state.get(DATA_KEY)
    if picked is None or (workspace.data is not None and workspace.data.key == picked.key):
        return None
    return (f"The model in use was trained on **{plain(workspace.model.dataset_name)}**, not on "
            f"**{plain(picked.data.name)}** that you loaded on the Data page; the model pages "
            "show it with its own data. Train a model on the new data on the **Train** page.")


def flash(message: str) -> None:
    """Show `message` on the next run (after the st.rerun that makes a change visible)."""
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    """The message left by `flash`, once."""
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)


def forget_model() -> None:
    """Go back to the built-in model (and take the kept model's name out of the address)."""
    st.session_state.pop(MODEL_KEY, None)
    st.query_params.pop("model", None)


def require_data(workspace: Workspace) -> DataChoice:
    """The workspace's data, or an explanation and a stopped page when there is none."""
    if workspace.data is not None:
        return workspace.data
    found = compatible_data(workspace.model)
    if found is None:
        st.info("This page needs the data set the model was trained on. Pick it on the **Data** "
                "page (same features and labels), or go back to the built-in model.")
        st.stop()
    return found
