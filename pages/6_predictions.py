"""Predictions: test metrics, per-label F1, one sample's probabilities, species responses."""

import numpy as np
import streamlit as st
from ui import cached
from ui.state import current_workspace, require_data
from ui.widgets import GROUPS_KEY

from cgmvae import explore

st.title("Predictions")
workspace = current_workspace()
choice = require_data(workspace)
model, data, split = workspace.model, choice.data, choice.split
rows, part = (split.test, "test") if split.test.size else (split.val, "validation")
key = f"{workspace.key}-{choice.key}-{part}"
features, labels = data.features[rows], data.labels[rows]

st.subheader(f"Metrics on the {len(rows):,} {part} rows")
st.dataframe(cached.test_metrics(model, features, labels, key), hide_index=True)
st.plotly_chart(explore.figures.label_f1_bars(cached.label_f1(model, features, labels, key)))

st.subheader("One sample")
position = st.number_input(f"{part.capitalize()} row (0-{len(rows) - 1})", 0, len(rows) - 1, 0)
sample = explore.sample_prediction_frame(model, features[position], labels[position])
st.plotly_chart(explore.figures.sample_prediction_bars(sample, model.threshold))
st.dataframe(explore.samples_frame(data, rows[[position]]), hide_index=True)

st.subheader("Response to one feature")
st.caption("Predicted occurrence as one feature varies over its range in the training rows, "
           "every other feature at its training median.")
train_features = data.features[split.train]
left, right = st.columns([1, 2])
feature = left.selectbox("Feature", model.feature_names)
groups = cached.clustering(model, workspace.key, st.session_state.get(
    GROUPS_KEY, cached.suggested_groups(model, workspace.key))).groups
chosen = right.multiselect("Labels", model.label_names, default=explore.representative_labels(
    list(model.label_names), groups, model.label_prevalence))
if chosen:
    curves = explore.response_curves(model, train_features, feature, chosen)
    st.plotly_chart(explore.figures.response_lines(curves, feature))
else:
    st.info("Choose one or more labels.")
st.caption(f"Decision threshold {model.threshold:.2f} (best validation micro-F1); "
           f"{int(np.asarray(labels).sum()):,} label occurrences in these rows.")
