"""Predictions: test metrics, per-label F1, one sample's probabilities, species responses."""

import numpy as np
import streamlit as st
from ui import cached
from ui.state import current_workspace, require_data
from ui.widgets import other_data_hint, remembered_groups

from cgmvae import explore

st.title("Predictions")
other_data_hint()
workspace = current_workspace()
choice = require_data(workspace)
model, data, split = workspace.model, choice.data, choice.split
rows, part = choice.evaluation_rows()
features, labels = data.features[rows], data.labels[rows]

st.subheader(f"Metrics on the {len(rows):,} {part} rows")
all_rows = choice.evaluation_part()[0].size
if all_rows > len(rows):
    st.caption(f"A seeded random {len(rows):,} of the {all_rows:,} {part} rows, so that the page "
               "answers in seconds; `python -m cgmvae evaluate` scores them all.")
st.dataframe(cached.test_metrics(workspace, choice), hide_index=True)
per_label = cached.label_f1(workspace, choice)
mean_auc, one_class = explore.summaries.mean_auc_summary(per_label)
no_positives = int((per_label["positives"] == 0).sum())
left, middle, right = st.columns(3)
left.metric("Mean species ROC-AUC", f"{mean_auc:.3f}",
            help="Mean over species of the area under the ROC curve of their probabilities "
                 "(threshold-free); species with one class only in these rows are skipped.")
middle.metric("Species skipped for ROC-AUC (one class)", f"{one_class:,}")
right.metric("Species without positives here", f"{no_positives:,}",
             help="Their F1 counts as 0 in macro-F1 (never true, never predicted).")
st.plotly_chart(explore.figures.label_f1_bars(per_label))
with st.expander("Per-species F1 and ROC-AUC (table)"):
    st.dataframe(explore.summaries.label_score_table(per_label), hide_index=True)

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
groups = cached.clustering(workspace, remembered_groups(cached.suggested_groups(workspace))).groups
chosen = right.multiselect("Labels", model.label_names, default=explore.representative_labels(
    list(model.label_names), groups, model.label_prevalence))
if chosen:
    curves = explore.response_curves(model, train_features, feature, chosen)
    st.plotly_chart(explore.figures.response_lines(curves, feature))
else:
    st.info("Choose one or more labels.")
st.caption(f"Decision threshold {model.threshold:.2f} (best validation micro-F1); "
           f"{int(np.asarray(labels).sum()):,} label occurrences in these rows.")
