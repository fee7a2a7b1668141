"""Latent space: samples' posterior means in 2-D; select points to see those samples."""

import streamlit as st
from ui import cached
from ui.state import current_workspace, require_data

from cgmvae import explore

st.title("Latent space")
st.caption("Each point is a sample's posterior mean mu_phi(x) from the feature encoder. "
           "Drag a box or lasso around points to list those samples below.")
workspace = current_workspace()
choice = require_data(workspace)
data = choice.data
left, right = st.columns([1, 2])
method = left.radio("Projection", explore.PROJECTIONS, horizontal=True,
                    format_func=lambda m: {"pca": "PCA", "umap": "UMAP (slower)"}[m],
                    help="UMAP separates clusters better; on a small CPU its first run takes "
                         "a minute. Above 50,000 samples a random subsample is shown.")
if method == "umap" and not explore.umap_available():
    st.warning("umap-learn is not installed: showing PCA.")
    method = "pca"
colour_by = right.selectbox(
    "Colour by", ["number of labels", *(f"label: {n}" for n in data.label_names),
                  *(f"feature: {n}" for n in data.feature_names)])
with st.spinner(f"Projecting {data.n_samples:,} samples with {method.upper()}..."):
    frame, notices = cached.latent(workspace.model, data, f"{workspace.key}-{choice.key}", method)
for notice in notices:
    st.warning(notice)
colour = explore.sample_values(data, frame["sample"].to_numpy(), colour_by)
figure = explore.figures.latent_scatter(frame, colour, colour_by.partition(": ")[2] or colour_by,
                                        method)
event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box", "lasso"),
                        key="latent_plot")
selected = sorted({int(point["customdata"][0]) for point in event.selection.points
                   if point.get("customdata")})
if selected:
    st.subheader(f"{len(selected):,} selected samples")
    st.dataframe(explore.samples_frame(data, selected), hide_index=True, height=320)
else:
    st.caption("No samples selected.")
