"""Label Gaussians: each label's latent Gaussian N(mu_i, sigma_i^2) projected to 2-D."""

import streamlit as st
from ui import cached
from ui.state import current_workspace
from ui.widgets import group_count_slider, projection_choice

from cgmvae import explore

st.title("Label Gaussians")
st.caption("Every label i owns a Gaussian N(mu_i, diag(sigma_i^2)) in the latent space; a "
           "sample's prior is the mixture of its labels' Gaussians (paper Eq. 1). Shown: the "
           "means mu_i in 2-D, marker size = prevalence, bars = spread (PCA-projected sd), "
           "colour = correlation group of the Label correlations page. The label embeddings "
           "w_i (unit length) are the other map: labels whose embeddings point the same way "
           "tend to occur together.")
workspace = current_workspace()
model = workspace.model
collapse = cached.label_gaussians_collapse(model, workspace.key)
left, middle, right = st.columns([2, 1, 1])
with left:
    n_groups = group_count_slider(len(model.label_names),
                                  cached.suggested_groups(model, workspace.key))
space = middle.radio("Show", list(explore.LABEL_SPACES), index=1 if collapse else 0,
                     format_func=explore.LABEL_SPACES.get,
                     help="Opens on the embeddings when the Gaussians have collapsed.")
with right:
    method = projection_choice()
if collapse:
    st.warning(collapse if space == "gaussian" else
               f"{collapse} Showing the label embeddings instead.")
with st.spinner("Projecting..."):
    frame = cached.label_map(model, workspace.key, n_groups, method, space)
st.plotly_chart(explore.figures.label_map_scatter(frame, method,
                                                  explore.LABEL_SPACES[space].capitalize()))
