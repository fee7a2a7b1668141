"""Label correlations: learned label-embedding similarities, clustered, beside co-occurrence."""

import numpy as np
import streamlit as st
from ui import cached
from ui.state import compatible_data, current_workspace
from ui.widgets import csv_download, group_count_slider

from cgmvae import explore

st.title("Label correlations")
st.caption("Inner products w_i . w_j of the learned label embeddings (the paper's Fig. 3), "
           "diagonal removed, ordered by average-linkage clustering of their cosine distances. "
           "Red: labels the model pulls together; blue: labels it pushes apart.")
workspace = current_workspace()
model, names = workspace.model, list(workspace.model.label_names)
similarity = cached.similarity(model, workspace.key)

controls = st.columns([2, 1, 1])
with controls[0]:
    n_groups = group_count_slider(len(names), cached.suggested_groups(model, workspace.key))
clustering = cached.clustering(model, workspace.key, n_groups)
zoom = controls[1].selectbox("Zoom to", ["all labels", *range(1, n_groups + 1)],
                             format_func=lambda g: g if isinstance(g, str) else f"group {g}")
kind = controls[2].radio("Co-occurrence", explore.COOCCURRENCE_KINDS, horizontal=True)
rows = None if isinstance(zoom, str) else np.flatnonzero(clustering.groups == zoom)

data = workspace.data or compatible_data(model)
model_figure = explore.similarity_heatmap(similarity, names, clustering, rows=rows,
                                          title="Model: label-embedding similarity")
if data is None:
    st.plotly_chart(model_figure)
    st.info("Pick the model's data set on the Data page to compare with co-occurrence.")
else:
    train_labels = data.data.labels[data.split.train]
    empirical = cached.cooccurrence(train_labels, f"{data.key}-train", kind)
    st.metric("Rank agreement with co-occurrence in the training rows (Spearman)",
              f"{cached.rank_agreement(similarity, empirical, f'{workspace.key}-{data.key}-{kind}'):.3f}")
    # two 983-label heatmaps take ~2 s each to draw: beyond a few hundred labels, on request
    beside = st.toggle("Show the co-occurrence heatmap beside it",
                       value=rows is not None or len(names) <= explore.heatmaps.MAX_NAMED_LABELS)
    left, right = st.columns(2) if beside else (st.container(), None)
    left.plotly_chart(model_figure)
    if beside:
        right.plotly_chart(explore.similarity_heatmap(
            empirical, names, clustering, rows=rows, value_name=kind,
            title=f"Data: {kind} co-occurrence (same order)"))

groups_column, nearest_column = st.columns(2)
with groups_column:
    st.subheader("Groups")
    table = explore.group_table(names, clustering.groups, clustering.order,
                                model.label_prevalence)
    st.dataframe(table if rows is None else table[table["group"] == zoom], height=360,
                 hide_index=True)
with nearest_column:
    st.subheader("Nearest labels")
    label = st.selectbox("Label (type to search)", names)
    most = min(30, len(names) - 1)
    k = st.slider("How many", 1, most, min(5, most)) if most > 1 else 1
    st.dataframe(explore.nearest_labels(similarity, names, label, k), hide_index=True)

csv_download(lambda: explore.similarity_frame(model), "Download the similarity matrix (CSV)",
              f"{model.dataset_name}_label_similarity.csv", index=True)
