"""Cached derived results for the pages, keyed by what identifies their model and data: the
content fingerprints of the `Workspace` and `DataChoice` they are given (`ui.state`)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from cgmvae import explore
from ui.state import DataChoice, Workspace

BY_CONTENT = {Workspace: lambda workspace: workspace.fingerprint,
              DataChoice: lambda choice: choice.fingerprint}
CACHE = {"max_entries": 16, "show_spinner": False, "hash_funcs": BY_CONTENT}


@st.cache_data(**CACHE)
def similarity(workspace: Workspace) -> np.ndarray:
    """The headline map every page clusters by: the learned association stored in the model
    (the label-embedding inner products for checkpoints saved before it existed)."""
    model = workspace.model
    stored = model.learned_association
    return np.asarray(stored if stored is not None else model.label_similarity(), dtype=np.float32)


ASSOCIATION_ROWS = 20_000  # training sites the layers are computed on, at most (seeded sample)
# The data layers are computed on opening the page when expected faster than this (the page
# target of issue 12); slower ones wait for a click on a button that says how long they take.
AUTOMATIC_ASSOCIATION_S = 3.0


def association_rows(choice: DataChoice) -> np.ndarray:
    """The training rows the layers use: all, or a seeded random ASSOCIATION_ROWS of them."""
    train = choice.split.train
    return train[explore.subsample(train.size, ASSOCIATION_ROWS)]


@st.cache_data(**CACHE)
def association_seconds(choice: DataChoice) -> float:
    """About how long `associations` takes on a 2-core machine."""
    from cgmvae.associations import expected_seconds

    return expected_seconds(choice.data.features[association_rows(choice)], choice.data.n_labels)


@st.cache_data(**CACHE)
def associations(workspace: Workspace, choice: DataChoice):
    """All four association layers on the `association_rows` (`cgmvae.associations`)."""
    from cgmvae.associations import compute_associations

    rows = association_rows(choice)
    return compute_associations([workspace.model], choice.data.features[rows],
                                choice.data.labels[rows])


@st.cache_data(**CACHE)
def clustering(workspace: Workspace, n_groups: int) -> explore.LabelClustering:
    return explore.cluster_labels(similarity(workspace), n_groups)


@st.cache_data(**CACHE)
def group_support(workspace: Workspace) -> explore.GroupSupport:
    return explore.group_support(similarity(workspace))


@st.cache_data(**CACHE)
def suggested_groups(workspace: Workspace) -> int:
    return explore.suggest_n_groups(similarity(workspace))


@st.cache_data(**CACHE)
def pair_counts(choice: DataChoice, every_row: bool) -> tuple[np.ndarray, int, float]:
    """(pair counts, rows counted, seconds it took): on every row, or on the seeded sample
    `explore.quick_count_rows` draws from a big table (the Data page's first look)."""
    started = time.perf_counter()
    labels = choice.data.labels
    if not every_row:
        labels = labels[explore.quick_count_rows(*labels.shape)]
    return explore.pair_counts(labels), labels.shape[0], time.perf_counter() - started


@st.cache_data(**CACHE)
def cooccurrence(choice: DataChoice, kind: str, every_row: bool = True) -> np.ndarray:
    """phi or Jaccard from one cached count (switching the measure counts nothing again)."""
    counts, n_rows, _ = pair_counts(choice, every_row)
    return explore.cooccurrence_from_counts(counts, n_rows, kind)


@st.cache_data(**CACHE)
def cooccurrence_clustering(choice: DataChoice, kind: str,
                            every_row: bool = True) -> explore.LabelClustering:
    matrix = cooccurrence(choice, kind, every_row)
    return explore.cluster_labels(matrix, explore.suggest_n_groups(matrix))


@st.cache_data(**CACHE)
def label_map(workspace: Workspace, n_groups: int, method: str, space: str) -> pd.DataFrame:
    model = workspace.model
    points, sigma = explore.label_points(model, space)
    groups = clustering(workspace, n_groups).groups
    return explore.label_point_frame(points, sigma, model.label_names, model.label_prevalence,
                                     groups, method)


@st.cache_data(**CACHE)
def label_gaussians_collapse(workspace: Workspace) -> str | None:
    mean, sigma = workspace.model.label_gaussians()
    return explore.collapse_notice(mean, float(sigma.mean()), "label Gaussians' means")


@st.cache_data(**CACHE)
def latent_collapse(workspace: Workspace, choice: DataChoice) -> str | None:
    rows = explore.map_rows(choice.data.n_samples, "pca")  # the drawn sample, not 1M rows
    return explore.collapse_notice(workspace.model.latent_means(choice.data.features[rows]), 1.0,
                                   "samples' posterior means")


@st.cache_data(**CACHE)
def sample_map(workspace: Workspace, choice: DataChoice, method: str,
               space: str) -> tuple[pd.DataFrame, str]:
    """A seeded sample of the samples projected to 2-D, and a sentence saying how many."""
    return explore.sample_map(workspace.model, choice.data.features, choice.data.labels,
                              space=space, method=method)


@st.cache_data(**CACHE)
def evaluation_proba(workspace: Workspace, choice: DataChoice) -> np.ndarray:
    """The model's probabilities on the evaluation rows: one forward pass for the page's
    metrics and per-label scores."""
    rows, _ = choice.evaluation_rows()
    return workspace.model.predict_proba(choice.data.features[rows])


@st.cache_data(**CACHE)
def test_metrics(workspace: Workspace, choice: DataChoice) -> pd.DataFrame:
    """The paper's metrics on the evaluation rows (`DataChoice.evaluation_rows`)."""
    rows, _ = choice.evaluation_rows()
    return explore.metrics_table(workspace.model, choice.data.features[rows],
                                 choice.data.labels[rows],
                                 proba=evaluation_proba(workspace, choice))


@st.cache_data(**CACHE)
def label_f1(workspace: Workspace, choice: DataChoice) -> pd.DataFrame:
    """Per-label F1 and ROC-AUC on the evaluation rows (`DataChoice.evaluation_rows`)."""
    rows, _ = choice.evaluation_rows()
    return explore.label_f1_frame(workspace.model, choice.data.features[rows],
                                  choice.data.labels[rows],
                                  proba=evaluation_proba(workspace, choice))
