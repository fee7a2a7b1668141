"""Latent space: the samples in 2-D; select points to see those samples."""

import streamlit as st
from ui import cached
from ui.state import current_workspace, require_data
from ui.widgets import collapse_warning, other_data_hint, projection_choice, space_choice

from cgmvae import explore

st.title("Latent space")
other_data_hint()
st.caption("Each point is a sample: its posterior mean mu(x) from the feature encoder (the VAE's "
           "latent space), or its decoded feature embedding w_x (the space where the contrastive "
           "loss compares it with the label embeddings; its label probabilities are "
           "sigmoid(w_x . w_i)). Drag a box or lasso around points to list those samples below.")
workspace = current_workspace()
choice = require_data(workspace)
data = choice.data
collapse = cached.latent_collapse(workspace, choice)
left, middle, right = st.columns([1, 1, 2])
with left:
    space = space_choice(explore.SAMPLE_SPACES, collapse)
with middle:
    method = projection_choice()
colour_by = right.selectbox(
    "Colour by", ["number of labels", *(f"label: {n}" for n in data.label_names),
                  *(f"feature: {n}" for n in data.feature_names)])
collapse_warning(collapse, explore.SAMPLE_SPACES, space)
shown = explore.map_rows(data.n_samples, method).size
eta = f" ({explore.umap_eta(shown)})" if method == "umap" else ""
with st.spinner(f"Projecting {shown:,} samples with {method.upper()}{eta}..."):
    frame, notice = cached.sample_map(workspace, choice, method, space)
st.info(notice, icon=":material/scatter_plot:")
colour = explore.sample_values(data, frame["sample"].to_numpy(), colour_by)
figure = explore.figures.latent_scatter(frame, colour, colour_by.partition(": ")[2] or colour_by,
                                        method, explore.SAMPLE_SPACES[space].capitalize())
event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box", "lasso"),
                        key="latent_plot")
selected = explore.projections.selected_samples(
    event.selection.get("points", []), explore.figures.trace_samples(figure), data.n_samples)
if selected:
    st.subheader(f"{len(selected):,} selected samples")
    st.dataframe(explore.samples_frame(data, selected), hide_index=True, height=320)
else:
    st.caption("No samples selected.")
