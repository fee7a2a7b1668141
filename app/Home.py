"""Entry point of the C-GMVAE label-correlation explorer: `streamlit run app/Home.py`."""

import streamlit as st
from ui.model_store import keep_model_in_address, open_linked_model
from ui.training import adopt_finished_training
from ui.warmup import warm_up_in_background
from ui.widgets import model_status

st.set_page_config(page_title="C-GMVAE label explorer", page_icon=":material/hub:",
                   layout="wide")

PAGES = [
    st.Page("../pages/0_overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("../pages/1_data.py", title="Data", icon=":material/table_chart:", url_path="data"),
    st.Page("../pages/2_train.py", title="Train", icon=":material/model_training:",
            url_path="train"),
    st.Page("../pages/3_label_correlations.py", title="Label correlations",
            icon=":material/grid_on:", url_path="label_correlations"),
    st.Page("../pages/4_label_gaussians.py", title="Label Gaussians",
            icon=":material/scatter_plot:", url_path="label_gaussians"),
    st.Page("../pages/5_latent_space.py", title="Latent space", icon=":material/bubble_chart:",
            url_path="latent_space"),
    st.Page("../pages/6_predictions.py", title="Predictions", icon=":material/insights:",
            url_path="predictions"),
    st.Page("../pages/7_predict_from_csv.py", title="Predict from CSV",
            icon=":material/upload_file:", url_path="predict_from_csv"),
]

navigation = st.navigation(PAGES)
adopt_finished_training()  # a training that ended while the user was on another page
open_linked_model()  # ?model=NAME: a kept model, opened once
keep_model_in_address()  # and the address names the kept model in use, on every page
with st.sidebar:
    model_status()
navigation.run()
warm_up_in_background()
