"""Species associations: learned, environmental, residual and co-occurrence layers, one order."""

import streamlit as st
from ui import cached
from ui.state import compatible_data, current_workspace
from ui.widgets import csv_download, group_count_slider, group_support_note, group_zoom

from cgmvae import explore
from cgmvae.associations import (
    ENVIRONMENTAL_CAUTION,
    RESIDUAL_CAUTION,
    LAYER_EXPLANATIONS,
    LAYER_TITLES,
    LAYERS,
    MIN_RECORDS,
)
from cgmvae.formats.encode import short_list
from cgmvae.formats.model_input import input_columns
from cgmvae.explore.association_views import association_heatmap, clustered_frame, pair_table
from cgmvae.timing import duration

MAX_PAIRS_SHOWN = 500  # a longer table only slows the page; the CSV has every pair
HOW_SURE = {
    "cooccurrence": "Veech's p per pair.",
    "environmental": "the sd of each pair over a bootstrap of the training sites, together with "
                     "how much it moves when the responses are estimated without a fifth of the "
                     "sites (a jackknife of the covariate model).",
    "residual": "the sd of each pair over a bootstrap of the training sites, or, when larger, "
                "the sd that species unrelated beyond the covariates get in surveys drawn from "
                "the covariate model (its estimation errors correlate by chance); a pair must "
                "stand out from both, the drawn surveys judged by Student's t since they are "
                "few. In planted surveys of 200 sites this missed a third of true associations "
                "and left one false pair in about 17 surveys; of 1,000 sites it missed none.",
    "model": "the sd of each pair over a bootstrap of the training sites.",
}

st.title("Label correlations")
st.caption("Which species go together, and why: the co-occurrence the model expects, split into "
           "shared response to the covariates (environmental) and association beyond them "
           "(residual), beside the recorded co-occurrence. All layers share one clustering "
           "order, from the learned layer. Red: together more than chance; blue: apart.")
workspace = current_workspace()
model, names = workspace.model, list(workspace.model.label_names)
headline = cached.similarity(workspace)
data = workspace.data or compatible_data(model)
# The data layers take about 50 s on a large survey (20,000 sites x 500 species): computed on
# opening the page when quick, else when asked for (remembered per model and data set).
asked_key = f"associations-{workspace.key}-{data.key if data is not None else ''}"
with_layers = data is not None and (
    cached.association_seconds(data) <= cached.AUTOMATIC_ASSOCIATION_S
    or st.session_state.get(asked_key, False))

controls = st.columns([2, 1, 2])
with controls[0]:
    n_groups = group_count_slider(len(names), cached.suggested_groups(workspace))
clustering = cached.clustering(workspace, n_groups)
group_support_note(cached.group_support(workspace))
rows = group_zoom(controls[1], clustering.groups)
available = LAYERS if with_layers else ("learned", "environmental")
layer = controls[2].radio("Layer", available, horizontal=True,
                          format_func=lambda name: LAYER_TITLES[name].split(":")[0])
st.markdown(f"**{LAYER_TITLES[layer]}.** {LAYER_EXPLANATIONS[layer]}")

if model.learned_association is None:
    st.warning("This checkpoint was saved before models stored their learned association: the "
               "map shows raw label-embedding inner products, which were unstable across seeds "
               "(see the README). Retrain the model to get the learned association.")

if not with_layers:
    matrix = headline if layer == "learned" else model.environmental_association
    if matrix is None:
        st.info("Pick the model's data set on the Data page to see this layer.")
        st.stop()
    st.plotly_chart(association_heatmap(matrix, names, clustering, rows=rows,
                                        title=LAYER_TITLES[layer], value_name=layer))
    if data is None:
        st.info("Pick the model's data set on the **Data** page to see the residual and "
                "recorded co-occurrence layers, and how sure each pair is.")
    else:
        n_rows = cached.association_rows(data).size
        st.info(f"Shown: the layers stored in the model. The residual and recorded "
                f"co-occurrence layers, and how sure each pair is, take about "
                f"{duration(cached.association_seconds(data))} "
                f"on 2 cores here ({n_rows:,} training sites x {len(names):,} species).")
        if st.button("Compute the data layers", key="compute_associations"):
            st.session_state[asked_key] = True
            st.rerun()
    result = None
else:
    n_rows = cached.association_rows(data).size
    with st.spinner(f"Computing the layers on {n_rows:,} training sites: a covariate model "
                    "fitted on 5 folds and a bootstrap of the sites (once per model and data "
                    f"set; about {duration(cached.association_seconds(data))})..."):
        result = cached.associations(workspace, data)
    matrix = result.layer(layer)
    many_pairs = st.toggle("Correct for testing many pairs (Benjamini-Hochberg)", value=True,
                           help=f"{len(names) * (len(names) - 1) // 2:,} pairs are tested: at "
                                "p < 0.05 one in twenty unrelated pairs would look supported. "
                                "On: at most 5% of the supported pairs are expected to be false "
                                "(false discovery rate). Off: each pair at p < 0.05, as R's "
                                "cooccur.")
    supported = result.supported(layer, many_pairs=many_pairs)
    stats = st.columns(4)
    n_supported, n_pairs = result.supported_count(layer, many_pairs=many_pairs)
    stats[0].metric(f"Pairs supported, of {n_pairs:,}", f"{n_supported:,}",
                    help="Both species at >= 5 training sites and the value tells from 0 "
                         "(site bootstrap sd, for the environmental and residual layers also "
                         "the covariate model's estimation noise; co-occurrence: Veech's p); "
                         "the learned layer also "
                         "needs the records to agree, the environmental layer both species to "
                         "respond to the covariates (a covariate model predicts them on sites "
                         "it was not fitted on).")
    stats[1].metric("Rank agreement with co-occurrence in the training rows (Spearman)",
                    f"{explore.rank_agreement(matrix, result.cooccurrence):.3f}")
    stats[2].metric("Training sites", f"{result.n_sites:,}",
                    help=f"A seeded random {cached.ASSOCIATION_ROWS:,} at most.")
    smallest = result.smallest_supported(layer, many_pairs=many_pairs)
    if smallest is not None:
        stats[3].metric("Weakest value that can be supported",
                        f"{smallest:.2f}" if smallest >= 0.01 else f"{smallest:.1g}",
                        help="The smallest |value| a pair needs to be supported on this survey "
                             "(median over the pairs; with the correction, at the level one "
                             "more pair would need). A grey pair below it may still be real: "
                             "the survey cannot tell. More sites lower it.")
    only_supported = st.toggle("Only pairs supported by the data", value=False,
                               help="Unsupported pairs are grey; this hides them.")
    st.plotly_chart(association_heatmap(matrix, names, clustering, supported=supported,
                                        only_supported=only_supported, rows=rows,
                                        title=LAYER_TITLES[layer], value_name=layer))
    without_response = result.without_response()
    if layer == "environmental" and without_response:
        st.caption(f"No detectable response to the covariates, so no shared one (their pairs "
                   f"are grey, however strong they look): {short_list(without_response, 20)}.")
    if layer == "environmental":
        st.caption(ENVIRONMENTAL_CAUTION)
    if layer == "residual":
        st.caption(RESIDUAL_CAUTION.format(covariates=len(input_columns(model.feature_names))))
    st.caption("Grey: not supported by the data (too few records, or within the uncertainty). "
               "How sure: " + HOW_SURE.get(layer, HOW_SURE["model"]))
    st.subheader("Pairs")
    species = st.selectbox("Species (type to search)", ["all species", *names])
    pairs = pair_table(result, layer, only_supported=only_supported, many_pairs=many_pairs,
                       species=None if species == "all species" else species)
    st.dataframe(pairs.head(MAX_PAIRS_SHOWN), hide_index=True, height=300, column_config={
        name: st.column_config.NumberColumn(format="%.1e") for name in ("p", "p (Veech)")})
    st.caption(f"A pair whose rarer species was recorded at fewer than {MIN_RECORDS} training "
               "sites is never supported, however small its p: too few records to tell.")
    if len(pairs) > MAX_PAIRS_SHOWN:
        st.caption(f"The strongest {MAX_PAIRS_SHOWN} of {len(pairs):,} pairs; the download has "
                   "them all.")
    # the download is built on click, after this script ran on: it must not read a name that is
    # reused below (it gave the groups table instead of the pairs)
    csv_download(lambda: pairs, "Download these pairs (CSV)",
                 f"{model.dataset_name}_{layer}_pairs.csv", key="pairs_download")

groups_column, nearest_column = st.columns(2)
with groups_column:
    st.subheader("Groups")
    groups = explore.group_table(names, clustering.groups, clustering.order,
                                 model.label_prevalence)
    st.dataframe(groups if rows is None else groups[groups["group"] == clustering.groups[rows[0]]],
                 height=360, hide_index=True)
with nearest_column:
    st.subheader("Nearest labels")
    label = st.selectbox("Label (type to search)", names)
    most = min(30, len(names) - 1)
    k = st.slider("How many", 1, most, min(5, most)) if most > 1 else 1
    st.dataframe(explore.nearest_labels(matrix, names, label, k), hide_index=True)

csv_download(lambda: clustered_frame(matrix, names, clustering),
             f"Download the {layer} layer (CSV, clustered order, with groups)",
             f"{model.dataset_name}_{layer}_associations.csv", index=True)
