"""Which columns of a table are ids, species and covariates: the Data page's role editor."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from ui.loading import (
    IMPUTE_LABEL,
    USER_ERRORS,
    load_with_roles,
    roles_from_sidecar,
    table_recipe,
    user_message,
)
from ui.state import DataChoice, use_data
from ui.text import code, plain

PENDING_KEY = "pending_table"  # a table read, waiting for the user's column roles
ROLES_KEY = "data_roles"  # (DataChoice.key, roles, offer a sidecar) of the data set in use
ROLE_WIDGETS = {"id": "Id column(s)", "labels": "Species (label) columns",
                "features": "Covariate (feature) columns"}


def open_table(frame: pd.DataFrame, name: str, meta: dict, source: str,
               split_path: str = "", *, server_path: str | None = None) -> None:
    """Load a table whose sidecar names its species at once; otherwise ask for the column roles,
    pre-filled by `guess_roles`. `server_path`: the path it was read from (None: an upload), so
    that a kept model can load it again."""
    from cgmvae.formats import guess_roles
    from cgmvae.formats.tables import class_like_covariates

    if meta.get("labels"):
        st.session_state.pop(PENDING_KEY, None)
        roles = roles_from_sidecar(meta, list(frame.columns))
        data, split, how = load_with_roles(frame, roles, name, split_path=split_path)
        use_table(data, split, f"{source}, {how}", roles,
                  recipe=table_recipe(server_path, split_path, roles, None))
        return
    roles = guess_roles(frame)
    st.session_state[PENDING_KEY] = {"frame": frame, "name": name, "source": source,
                                     "split_path": split_path, "roles": roles,
                                     "class_like": class_like_covariates(frame, roles["features"]),
                                     "server_path": server_path, "token": uuid.uuid4().hex[:8]}


def use_table(data, split, source: str, roles: dict, *, sidecar: bool = True,
              recipe: dict | None = None) -> DataChoice:
    """Make `data` the session's data set and remember its column roles for the page."""
    choice = use_data(data, split, source, recipe)
    st.session_state[ROLES_KEY] = (choice.key, roles, sidecar)
    return choice


def role_editor() -> None:
    """The pending table's column roles as multiselects, "Use these columns" and the sidecar."""
    pending = st.session_state.get(PENDING_KEY)
    if pending is None:
        return
    frame, name, token = pending["frame"], pending["name"], pending["token"]
    columns = list(frame.columns)
    st.subheader(f"Columns of {name}")
    st.caption(f"{len(frame):,} rows. No sidecar names the species, so the roles below are a guess "
               "from the values (ids: id-like names or unique text; species: 0/1, counts or "
               "marks such as x or +; covariates: the rest). Change them if needed.")
    if frame.attrs.get("headerless"):
        st.info(f"{plain(name)} has no header row: its first row is numbers, read as the first "
                f"site, and its columns are named V1-V{len(columns)} in file order (as R's "
                "read.csv(header = FALSE) names them). If its species and covariates are in two "
                "files, load them with the Two tables tab.")
    roles = {role: st.multiselect(label, columns, default=pending["roles"][role],
                                  key=f"roles-{token}-{role}")
             for role, label in ROLE_WIDGETS.items()}
    if not roles["labels"]:
        st.warning("No column looks like species (0/1 or counts): pick the species columns.")
    left, right = st.columns(2)
    roles["ordinal"] = left.multiselect(
        "Covariates that are ordinal codes", roles["features"], key=f"roles-{token}-ordinal",
        help="Read as the number in each value: A0600 -> 600, low_1 -> 1.")
    roles["categorical"] = right.multiselect(
        "Covariates that are categories", roles["features"], key=f"roles-{token}-categorical",
        help="One-hot encoded even when they hold numbers (e.g. a vegetation class 1-5).")
    unsure = {name: values for name, values in pending.get("class_like", {}).items()
              if name in roles["features"] and name not in roles["categorical"] + roles["ordinal"]}
    if unsure:
        right.caption("Few whole numbers, perhaps class codes: " + ", ".join(
            f"{code(name)} ({plain(values)})" for name, values in unsure.items())
            + ". If they name unordered classes (a vegetation type, a soil class), choose them "
              "here: read as numbers, class 4 counts as twice class 2. Ordered ones (a decay "
              "stage) read well as numbers.")
    impute = st.checkbox(IMPUTE_LABEL, key=f"roles-{token}-impute")
    use, download = st.columns(2)
    sidecar_download(download, roles, name, key=f"roles-{token}-sidecar")
    if use.button("Use these columns", type="primary", key=f"roles-{token}-use"):
        try:
            data, split, how = load_with_roles(frame, roles, name, split_path=pending["split_path"],
                                               impute="median" if impute else None)
        except USER_ERRORS as err:
            st.error(f"Could not load {name} with these columns: {user_message(err)}")
            return
        use_table(data, split, f"{pending['source']}, {how}", roles,
                  recipe=table_recipe(pending["server_path"], pending["split_path"], roles,
                                      "median" if impute else None))
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()  # redraw without the editor


def sidecar_download(where, roles: dict, name: str, key: str) -> None:
    """A download button for the sidecar JSON that lets the CLI read the table the same way."""
    from cgmvae.formats import sidecar_for

    text = json.dumps(sidecar_for(roles), indent=2)
    where.download_button("Download the sidecar JSON", text, file_name=f"{Path(name).stem}.json",
                          mime="application/json", key=key,
                          help=f"Save it beside {name} as {Path(name).stem}.json: "
                               "`python -m cgmvae` then reads the same columns.")


def chosen_ids(choice: DataChoice | None) -> list[str]:
    """The id column(s) chosen for the data set in use when it came from a table, else []: new
    sites for its model usually carry the same id column (`Aufnahme`, `Probefläche`), whatever
    its name."""
    found = st.session_state.get(ROLES_KEY)
    if choice is None or found is None or found[0] != choice.key:
        return []
    return list(found[1].get("id") or [])


def show_roles(choice: DataChoice) -> None:
    """The column roles of the data set in use, when it came from a table."""
    found = st.session_state.get(ROLES_KEY)
    if found is None or found[0] != choice.key:
        return
    _, roles, sidecar = found
    with st.expander("Column roles", expanded=False):
        for role, label in ROLE_WIDGETS.items():
            names = roles.get(role) or []
            st.markdown(f"**{label}** ({len(names)}): "
                        + (", ".join(f"`{n}`" for n in names) or "none"))
        for role in ("ordinal", "categorical"):
            if roles.get(role):
                st.markdown(f"**{role.capitalize()}**: " + ", ".join(f"`{n}`" for n in roles[role]))
        if sidecar:
            sidecar_download(st, roles, f"{choice.data.name}.csv", key=f"sidecar-{choice.key}")
