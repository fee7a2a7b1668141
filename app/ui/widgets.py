"""Small pieces of UI used by several pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cgmvae.associations import safe_cell
from cgmvae.explore.heatmaps import BLOCK_AVERAGE_ABOVE, is_block_averaged
from ui.state import MODEL_KEY, current_workspace, forget_model, other_data_note
from ui.text import plain
from ui.training import offer_trained_model

GROUPS_KEY = "n_groups"  # + the model's key: shared by the pages, one value per model


def model_status() -> None:
    """Sidebar: which model the pages show, and a way back to the built-in one."""
    workspace = current_workspace()
    model = workspace.model
    st.caption("Model in use")
    st.markdown(f"**{plain(model.dataset_name)}** · {len(model.label_names)} labels · "
                f"{len(model.feature_names)} features  \n_{plain(workspace.source)}_")
    if other_data_note(workspace):
        st.caption(":orange[Not the model of the data set loaded on the Data page.]")
    if st.session_state.get(MODEL_KEY) is not None:
        st.button("Back to the built-in model", on_click=forget_model, key="forget_model")
    offer_trained_model(key="use_trained_sidebar")


def group_count_slider(n_labels: int, suggested: int) -> int:
    """The number of correlation groups of the model in use, remembered across pages; a new
    model starts at its own `suggested` number."""
    upper = min(40, n_labels - 1)
    if upper <= 2:
        return 2
    value = min(remembered_groups(suggested), upper)
    chosen = st.slider("Number of groups", 2, upper, value, key=f"{groups_key()}-slider",
                       help=f"Where to cut the dendrogram. Suggested: {suggested} "
                            "(best silhouette of the cosine distances between label embeddings).")
    st.session_state[groups_key()] = chosen
    return chosen


def group_support_note(support) -> None:
    """How sure the groups are (`explore.group_support`): a warning-like note when the map's best
    grouping is no clearer than the same map with its pairs shuffled, else a caption."""
    if support.n_shuffles == 0:
        return
    numbers = (f"silhouette {support.silhouette:.2f} against a median of "
               f"{support.shuffled_median:.2f} over {support.n_shuffles} shuffles; "
               f"p = {support.p_value:.2f}")
    if support.p_value > 0.05:
        st.info(f"No clear groups: the map's best grouping is no clearer than the same map with "
                f"its pairs shuffled ({numbers}). The boxes are cuts of a tree, not groups: read "
                "the pairs.")
    else:
        st.caption(f"Groups: the map's best grouping is clearer than with its pairs shuffled "
                   f"({numbers}).")


def group_zoom(where, groups: np.ndarray, *, key: str | None = None) -> np.ndarray | None:
    """A "Zoom to" select box over the dendrogram groups (`groups`: each label's group, 1..k);
    returns the rows (labels) of the chosen group, None for all labels. Says so when the map of
    all labels is block-averaged."""
    zoom = where.selectbox("Zoom to", ["all labels", *range(1, int(groups.max()) + 1)],
                           format_func=lambda g: g if isinstance(g, str) else f"group {g}",
                           key=key, help=f"Above {BLOCK_AVERAGE_ABOVE} labels the map of all "
                                         "labels shows one cell per pair of groups; a group "
                                         "shows its species.")
    rows = None if isinstance(zoom, str) else np.flatnonzero(groups == zoom)
    if is_block_averaged(rows, len(groups)):
        st.caption(f"{len(groups):,} labels: each cell is the mean over the species pairs of two "
                   "groups (block average by the dendrogram's groups). Zoom to a group to see "
                   "its species.")
    return rows


def groups_key() -> str:
    """The session_state key of the number of groups chosen for the model in use."""
    return f"{GROUPS_KEY}-{current_workspace().key}"


def remembered_groups(suggested: int) -> int:
    """The number of groups chosen for the model in use, else `suggested`."""
    return st.session_state.get(groups_key(), suggested)


def other_data_hint() -> None:
    """An info box when the model in use was not trained on the data set of the Data page."""
    note = other_data_note(current_workspace())
    if note:
        st.info(note, icon=":material/info:")


def csv_download(make_frame, label: str, file_name: str, *, index: bool = False, key=None) -> None:
    """A download button for the DataFrame `make_frame()` as CSV, built only when clicked."""
    st.download_button(label, lambda: csv_bytes(make_frame(), index=index),
                       file_name=file_name, mime="text/csv", key=key, on_click="ignore")


def csv_bytes(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """`frame` as CSV bytes that a spreadsheet opens without running any cell as a formula:
    text (headers, index, cells) starting with = + - @ tab or CR gets a leading `'` (OWASP
    CSV injection advice); numbers, negative ones too, stay numbers. Lines end in CRLF (RFC
    4180), so that a carriage return inside a cell is quoted instead of splitting its row."""
    return spreadsheet_safe(frame).to_csv(index=index, lineterminator="\r\n").encode()


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells, column names and index values are `safe_cell`ed."""
    safe = frame.copy()
    safe.columns, safe.index = _safe_index(safe.columns), _safe_index(safe.index)
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if not pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            safe.isetitem(position, column.astype(object).map(_cell))
    return safe


def _cell(value):
    return safe_cell(value) if isinstance(value, str) else value


def _safe_index(index: pd.Index) -> pd.Index:
    """An index (or columns) with its text values and level names made safe (MultiIndex too)."""
    if isinstance(index, pd.MultiIndex):
        safe = index.map(lambda values: tuple(_cell(v) for v in values))
    else:
        safe = index.map(_cell)
    safe.names = [_cell(name) for name in index.names]
    return safe


def space_choice(spaces: dict[str, str], collapse: str | None) -> str:
    """Which space a 2-D map shows (`spaces`: the latent one first, then the embeddings): the
    latent one, unless `collapse` (a collapse notice) says it collapsed."""
    _, embeddings = spaces
    return st.radio("Show", list(spaces), index=1 if collapse else 0, format_func=spaces.get,
                    help=f"Opens on the {spaces[embeddings]} when the latent space has collapsed.")


def collapse_warning(collapse: str | None, spaces: dict[str, str], space: str) -> None:
    """The collapse notice, if any, saying what the map shows instead."""
    if collapse:
        latent = next(iter(spaces))
        st.warning(collapse if space == latent
                   else f"{collapse} Showing the {spaces[space]} instead.")


def projection_choice() -> str:
    """PCA or UMAP for the 2-D maps; PCA (with a warning) when umap-learn is missing."""
    from cgmvae import explore

    method = st.radio("Projection", explore.PROJECTIONS, horizontal=True,
                      format_func=lambda m: {"pca": "PCA", "umap": "UMAP (slower)"}[m],
                      help="UMAP separates clusters better, but is slower: it runs on a random "
                           f"{explore.MAX_UMAP_POINTS:,} samples at most (PCA: "
                           f"{explore.MAX_DRAWN_POINTS:,}), and takes "
                           f"{explore.umap_eta(explore.MAX_UMAP_POINTS)} on 2 cores.")
    if method == "umap" and not explore.umap_available():
        st.warning("umap-learn is not installed: showing PCA.")
        return "pca"
    return method
