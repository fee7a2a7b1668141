"""Predict from CSV: score a table of new sites with the model in use, joined back to their ids."""

from pathlib import Path

import streamlit as st
from ui.column_roles import chosen_ids
from ui.loading import TABLE_TYPES, USER_ERRORS, read_table, user_message
from ui.paths import allowed_path
from ui.state import current_workspace
from ui.text import code, plain, safe_message
from ui.widgets import csv_download

from cgmvae import explore
from cgmvae.formats import read_id_columns
from cgmvae.formats.encode import short_list
from cgmvae.formats.model_input import input_columns, predict_csv
from cgmvae.formats.site_tables import sites_to_score_csv
from cgmvae.formats.template import template_frame


TEMPLATE_ROWS = {
    "categories": "The template's rows are typical training sites: common values of the "
                  "categories, in combinations the training sites had, with the covariates "
                  "typical of each.",
    "gradient": "The template's rows are typical training sites: their centre, and a site "
                "either side of it along the training sites' main gradient (the covariates "
                "that vary together most).",
    None: "The template's rows are the training sites' means (each category's commonest "
          "value).",
}


def describe(column: str, values: list[str] | str) -> str:
    if values == "date":
        return f"{code(column)} (a date, 2024-07-15 or 15.07.2024)"
    return (f"{code(column)} (text: {plain(', '.join(values))})" if values else code(column))


st.title("Predict from CSV")
workspace = current_workspace()
model = workspace.model
required = input_columns(model.feature_names)
st.markdown(f"The CSV (or Excel sheet) needs a header row and these **{len(required)} columns** "
            "(matched by name, in any order; `,` `;` or tab separated, decimal comma or point; "
            "other columns are ignored, id columns are kept; a CSV without a header row must "
            "hold exactly the model's covariates, in the training order): "
            + ", ".join(describe(c, v) for c, v in required.items()))
template = template_frame(model)
csv_download(lambda: template, "Download a template CSV", f"{model.dataset_name}_template.csv",
             key="template")
st.caption(TEMPLATE_ROWS[template.attrs["varied"]] + " Replace them with your sites' values.")
upload = st.file_uploader("CSV (or Excel, Parquet) of samples to score", type=TABLE_TYPES)
typed = st.text_input("...or a CSV path on the server", placeholder="new_sites.csv",
                      help="A path on the machine that runs this app (not on your computer), "
                           "inside the data folders its operator allows; several separated by "
                           ";").strip()
with st.expander("More files of the same sites (optional): coordinates or further covariates"):
    more = st.file_uploader("Files of the same sites", type=TABLE_TYPES,
                            accept_multiple_files=True, key="more_site_files",
                            help="Joined to the file above on the id column(s) they all have, "
                                 "else by row order (the same sites in the same order).")
uploads = ([upload] if upload is not None else []) + list(more or [])
paths = [p.strip() for p in typed.split(";") if p.strip()]
if not uploads and not paths:
    st.info("Upload a CSV or Parquet file (or give a path) to see predictions.")
    st.stop()
try:
    if len(uploads) + len(paths) > 1:  # tables apart (covariates, coordinates): joined first
        source, notes = sites_to_score_csv(
            [*uploads, *(allowed_path(p) for p in paths)],
            [*(u.name for u in uploads), *(Path(p).name for p in paths)])
        name, size = source.name, len(source.getvalue().encode())
        st.info(plain(" ".join(f"{note[0].upper()}{note[1:]}." for note in notes)))
    else:
        source, name, size = ((uploads[0], uploads[0].name, uploads[0].size) if uploads
                              else (allowed_path(paths[0]), Path(paths[0]).name, None))
    table = read_table(source, name)
    columns, headerless = list(table.columns), table.attrs.get("headerless", False)
    guessed = read_id_columns(source, name=name)
except USER_ERRORS as err:
    st.error(f"Cannot score this file: {safe_message(user_message(err))}")
    st.stop()
missing = [] if headerless else [column for column in required if column not in columns]
if headerless:
    st.info(f"{plain(name)} has no header row (its first row is numbers): its "
            f"{len(columns)} columns are read, in order, as the model's covariates "
            f"{plain(short_list(model.feature_names, 12))}.")
if missing:
    st.error(f"Cannot score this file: {plain(name)} is missing column(s) "
             + ", ".join(describe(c, required[c]) for c in missing)
             + "; its columns are " + ", ".join(code(c) for c in columns[:20]))
    st.stop()
same_as_training = [c for c in chosen_ids(workspace.data) if c in columns]
ids = st.multiselect("Id column(s) to keep in the output", columns,
                     default=same_as_training or ([] if guessed is None else list(guessed.columns)),
                     help="They come first in the output, so the predictions join back to your "
                          "sites. None chosen: a `row` number (1 = first data row).")
try:
    predictions = predict_csv(model, source, size_bytes=size, ids=ids, name=name)
except USER_ERRORS as err:
    st.error(f"Cannot score this file: {safe_message(user_message(err))}")
    st.stop()
st.success(f"Scored {len(predictions):,} rows; a label is predicted when its probability is at "
           f"least {model.threshold:.2f}.")
if note := predictions.attrs.get("extrapolation"):
    unlike = explore.sites_unlike_training(model, predictions)
    st.warning(plain(note) + f". Sites concerned: {plain(short_list(unlike, 20))}. Read them with "
               "care: the model has never seen such sites.")
st.dataframe(explore.prediction_table(model, predictions))
st.caption("The download has, per site: the id column(s), `<species>_probability`, "
           "`<species>_predicted` (0/1), `richness_expected` (sum of the probabilities) and "
           "`richness_predicted` (species predicted)"
           + (", `covariates_outside_training` (covariates outside the training range)"
              if "covariates_outside_training" in predictions else "")
           + (", `covariate_novelty` (how unusual the site's combination of covariates is: "
              "above 1, no training site was as unusual; ExDet's NT2)"
              if "covariate_novelty" in predictions else "") + ".")
csv_download(lambda: predictions, "Download the predictions (CSV)",
             f"{model.dataset_name}_predictions.csv", key="download_predictions")
