"""Label Gaussians: each label's latent Gaussian N(mu_i, sigma_i^2) projected to 2-D."""

import streamlit as st
from ui import cached
from ui.state import current_workspace
from ui.widgets import group_count_slider

from cgmvae import explore

st.title("Label Gaussians")
st.caption("Every label i owns a Gaussian N(mu_i, diag(sigma_i^2)) in the latent space; a "
           "sample's prior is the mixture of its labels' Gaussians (paper Eq. 1). Shown: the "
           "means mu_i in 2-D, marker size = prevalence, bars = spread (PCA-projected sd), "
           "colour = correlation group of the Label correlations page.")
workspace = current_workspace()
model = workspace.model
left, right = st.columns([2, 1])
with left:
    n_groups = group_count_slider(len(model.label_names),
                                  cached.suggested_groups(model, workspace.key))
method = right.radio("Projection", explore.PROJECTIONS, horizontal=True,
                     format_func=lambda m: {"pca": "PCA", "umap": "UMAP (slower)"}[m])
if method == "umap" and not explore.umap_available():
    st.warning("umap-learn is not installed: showing PCA.")
    method = "pca"
collapse = cached.label_gaussians_collapse(model, workspace.key)
if collapse:
    st.warning(collapse)
with st.spinner("Projecting..."):
    frame = cached.label_gaussians(model, workspace.key, n_groups, method)
st.plotly_chart(explore.figures.label_gaussians_scatter(frame, method))
