"""Data: pick a data set (built-in, a path, or uploads) and look at its labels."""

import streamlit as st
from ui import cached
from ui.loading import DATA_FILE_TYPES, USER_ERRORS, load_data_path, load_uploaded_data
from ui.state import DATA_KEY, current_data, use_data

from cgmvae import explore

st.title("Data")
builtin_tab, path_tab, upload_tab = st.tabs(["Built-in", "Path on disk", "Upload"])
with builtin_tab:
    st.write("Simulated eBird-style checklists: land cover, elevation, month and effort at each "
             "site; bird species in habitat guilds.")
    if st.button("Use the built-in data set", disabled=DATA_KEY not in st.session_state):
        st.session_state.pop(DATA_KEY, None)
with path_tab:
    path = st.text_input("Data path", placeholder="../shared/data/mulan/yeast",
                         help="A Mulan folder or ARFF file, an npy folder, or a CSV with its "
                              "JSON sidecar (features, labels) beside it.")
    split_path = st.text_input("Split file (optional)",
                               placeholder="../shared/data/splits/yeast.json")
    clicked = st.button("Load", key="load_path")
    if clicked and not path.strip():
        st.warning("Type a data path first.")
    elif clicked:
        try:
            data, split, how = load_data_path(path.strip(), split_path.strip())
            use_data(data, split, f"{path.strip()}, {how}")
        except USER_ERRORS as err:
            st.error(f"Could not load {path}: {err}")
with upload_tab:
    files = st.file_uploader("Data files", type=DATA_FILE_TYPES, accept_multiple_files=True,
                             help="A CSV with its JSON sidecar, an ARFF with its Mulan XML, or "
                                  "<name>_data.npy with its index files.")
    if st.button("Load", key="load_upload", disabled=not files):
        try:
            data, split, how = load_uploaded_data(files)
            use_data(data, split, f"uploaded {', '.join(f.name for f in files)}, {how}")
        except USER_ERRORS as err:
            st.error(f"Could not load the uploaded files: {err}")

choice = current_data()
data = choice.data
st.subheader(f"{data.name}: {choice.source}")
summary = explore.data_summary(data)
for column, (name, value) in zip(st.columns(len(summary)), summary.items()):
    column.metric(name, f"{value:,}" if isinstance(value, int) else value)
for notice in data.notices:
    st.caption(f"Note: {notice}")
st.caption(f"Split: {choice.split.train.size:,} train / {choice.split.val.size:,} validation / "
           f"{choice.split.test.size:,} test rows.")
st.dataframe(explore.preview_frame(data), height=240)

left, right = st.columns(2)
left.plotly_chart(explore.figures.prevalence_bars(
    explore.prevalence_frame(data.labels, data.label_names)))
right.plotly_chart(explore.figures.labels_per_sample_histogram(data.labels))

st.subheader("Empirical co-occurrence")
kind = st.radio("Measure", explore.COOCCURRENCE_KINDS, horizontal=True,
                format_func={"phi": "phi (correlation)", "jaccard": "Jaccard"}.get)
matrix = cached.cooccurrence(data.labels, choice.key, kind)
clustering = cached.cooccurrence_clustering(data.labels, choice.key, kind)
st.plotly_chart(explore.similarity_heatmap(matrix, data.label_names, clustering,
                                           value_name=kind, title=f"{kind} between labels, "
                                           "clustered (diagonal removed)"))
