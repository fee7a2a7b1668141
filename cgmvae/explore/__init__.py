"""Exploring data and trained models: label correlations, projections, predictions and figures.

Pure functions returning numbers, tables or plotly figures (no Streamlit), used by the app's
pages and by the CLI (`similarity_frame`).
"""

from cgmvae.explore import figures
from cgmvae.explore.correlations import (
    COOCCURRENCE_KINDS,
    LabelClustering,
    cluster_labels,
    cooccurrence,
    dendrogram_lines,
    group_recovery,
    group_table,
    nearest_labels,
    rank_agreement,
    representative_labels,
    similarity_distance,
    similarity_frame,
    suggest_n_groups,
    without_diagonal,
)
from cgmvae.explore.heatmaps import similarity_heatmap
from cgmvae.explore.projections import (
    MAX_UMAP_POINTS,
    PROJECTIONS,
    label_gaussian_frame,
    latent_frame,
    project_2d,
    subsample,
    umap_available,
)
from cgmvae.explore.summaries import (
    data_summary,
    label_f1_frame,
    label_sets,
    metrics_table,
    per_label_f1,
    predict_csv,
    prediction_table,
    prevalence_frame,
    preview_frame,
    response_curves,
    sample_prediction_frame,
    sample_values,
    samples_frame,
    template_frame,
)

__all__ = [
    "COOCCURRENCE_KINDS",
    "MAX_UMAP_POINTS",
    "PROJECTIONS",
    "LabelClustering",
    "cluster_labels",
    "cooccurrence",
    "data_summary",
    "dendrogram_lines",
    "figures",
    "group_recovery",
    "group_table",
    "label_f1_frame",
    "label_gaussian_frame",
    "label_sets",
    "latent_frame",
    "metrics_table",
    "nearest_labels",
    "per_label_f1",
    "predict_csv",
    "prediction_table",
    "prevalence_frame",
    "preview_frame",
    "project_2d",
    "rank_agreement",
    "representative_labels",
    "response_curves",
    "sample_prediction_frame",
    "sample_values",
    "samples_frame",
    "similarity_distance",
    "similarity_frame",
    "similarity_heatmap",
    "subsample",
    "suggest_n_groups",
    "template_frame",
    "umap_available",
    "without_diagonal",
]
