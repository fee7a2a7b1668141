"""Cached derived results for the pages; `key` names the model/data, `_objects` are not hashed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cgmvae import explore

CACHE = {"max_entries": 16, "show_spinner": False}


@st.cache_data(**CACHE)
def similarity(_model, key: str) -> np.ndarray:
    """The headline map every page clusters by: the learned association stored in the model
    (the label-embedding inner products for checkpoints saved before it existed)."""
    stored = _model.learned_association
    return np.asarray(stored if stored is not None else _model.label_similarity(), dtype=np.float32)


@st.cache_data(**CACHE)
def associations(_model, _features, _labels, key: str):
    """All four association layers on the training rows (`cgmvae.associations`)."""
    from cgmvae.associations import compute_associations

    return compute_associations([_model], _features, _labels)


@st.cache_data(**CACHE)
def clustering(_model, key: str, n_groups: int) -> explore.LabelClustering:
    return explore.cluster_labels(similarity(_model, key), n_groups)


@st.cache_data(**CACHE)
def suggested_groups(_model, key: str) -> int:
    return explore.suggest_n_groups(similarity(_model, key))


@st.cache_data(**CACHE)
def cooccurrence(_labels, key: str, kind: str) -> np.ndarray:
    return explore.cooccurrence(_labels, kind)


@st.cache_data(**CACHE)
def label_map(_model, key: str, n_groups: int, method: str, space: str) -> pd.DataFrame:
    points, sigma = explore.label_points(_model, space)
    groups = clustering(_model, key, n_groups).groups
    return explore.label_point_frame(points, sigma, _model.label_names, _model.label_prevalence,
                                     groups, method)


@st.cache_data(**CACHE)
def label_gaussians_collapse(_model, key: str) -> str | None:
    mean, sigma = _model.label_gaussians()
    return explore.collapse_notice(mean, float(sigma.mean()), "label Gaussians' means")


@st.cache_data(**CACHE)
def latent_collapse(_model, _data, key: str) -> str | None:
    return explore.collapse_notice(_model.latent_means(_data.features), 1.0,
                                   "samples' posterior means")


@st.cache_data(**CACHE)
def sample_map(_model, _data, key: str, method: str, space: str) -> tuple[pd.DataFrame, str | None]:
    """The samples projected to 2-D, and a notice when they are a subsample."""
    points = explore.sample_points(_model, _data.features, space)
    return explore.latent_frame(points, _data.labels, method=method)


@st.cache_data(**CACHE)
def test_metrics(_model, _features, _labels, key: str) -> pd.DataFrame:
    return explore.metrics_table(_model, _features, _labels)


@st.cache_data(**CACHE)
def label_f1(_model, _features, _labels, key: str) -> pd.DataFrame:
    return explore.label_f1_frame(_model, _features, _labels)


@st.cache_data(**CACHE)
def cooccurrence_clustering(_labels, key: str, kind: str) -> explore.LabelClustering:
    matrix = cooccurrence(_labels, key, kind)
    return explore.cluster_labels(matrix, explore.suggest_n_groups(matrix))


@st.cache_data(**CACHE)
def rank_agreement(_first, _second, key: str) -> float:
    return explore.rank_agreement(_first, _second)
