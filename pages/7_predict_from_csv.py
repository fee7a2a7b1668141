"""Predict from CSV: score a table of new samples with the model in use."""

import streamlit as st
from ui.loading import USER_ERRORS
from ui.state import current_workspace
from ui.widgets import csv_download

from cgmvae import explore

st.title("Predict from CSV")
model = current_workspace().model
st.markdown(f"The CSV needs a header row and these **{len(model.feature_names)} feature "
            "columns** (matched by name, in any order; other columns are ignored): "
            + ", ".join(f"`{name}`" for name in model.feature_names))
csv_download(lambda: explore.template_frame(model), "Download a template CSV",
             f"{model.dataset_name}_template.csv", key="template")
upload = st.file_uploader("CSV of samples to score", type=["csv"])
path = st.text_input("...or a CSV path on disk", placeholder="new_sites.csv")
if upload is None and not path.strip():
    st.info("Upload a CSV (or give a path) to see predictions.")
    st.stop()
source, size = (upload, upload.size) if upload is not None else (path.strip(), None)
try:
    predictions = explore.predict_csv(model, source, size_bytes=size)
except USER_ERRORS as err:
    st.error(f"Cannot score this file: {err}")
    st.stop()
st.success(f"Scored {len(predictions):,} rows; a label is predicted when its probability is at "
           f"least {model.threshold:.2f}.")
st.dataframe(predictions)
csv_download(lambda: predictions, "Download the predictions (CSV)",
             f"{model.dataset_name}_predictions.csv", key="download_predictions")
