"""Label Gaussians: each label's latent Gaussian N(mu_i, sigma_i^2) projected to 2-D."""

import streamlit as st
from ui import cached
from ui.state import current_workspace
from ui.widgets import (
    collapse_warning,
    group_count_slider,
    group_support_note,
    other_data_hint,
    projection_choice,
    space_choice,
)

from cgmvae import explore

st.title("Label Gaussians")
other_data_hint()
st.caption("Every label i owns a Gaussian N(mu_i, diag(sigma_i^2)) in the latent space; a "
           "sample's prior is the mixture of its labels' Gaussians (paper Eq. 1). Shown: the "
           "means mu_i in 2-D, marker size = prevalence, bars = spread (PCA-projected sd), "
           "colour = correlation group of the Label correlations page. The label embeddings "
           "w_i (unit length) are the other map: labels whose embeddings point the same way "
           "tend to occur together.")
workspace = current_workspace()
model = workspace.model
collapse = cached.label_gaussians_collapse(workspace)
left, middle, right = st.columns([2, 1, 1])
with left:
    n_groups = group_count_slider(len(model.label_names), cached.suggested_groups(workspace))
with middle:
    space = space_choice(explore.LABEL_SPACES, collapse)
with right:
    method = projection_choice()
collapse_warning(collapse, explore.LABEL_SPACES, space)
group_support_note(cached.group_support(workspace))
with st.spinner("Projecting..."):
    frame = cached.label_map(workspace, n_groups, method, space)
find = st.selectbox("Find a label on the map (type to search)", sorted(model.label_names),
                    index=None, placeholder="any label...",
                    help="Rings it on the map. Names are written beside the points up to "
                         f"{explore.figures.MAX_TEXT_LABELS} labels; beyond, hover shows them.")
st.plotly_chart(explore.figures.label_map_scatter(
    frame, method, explore.LABEL_SPACES[space].capitalize(), highlight=find))
with st.expander(f"All {len(frame):,} labels: group, prevalence (searchable table)"):
    st.dataframe(frame[["label", "group", "prevalence"]].sort_values("label"), hide_index=True)
