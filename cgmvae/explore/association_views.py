"""What the Label correlations page shows of `cgmvae.associations`: heatmaps with unsupported
pairs greyed, pair tables and the clustered CSV export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cgmvae.associations import Associations, safe_cell
from cgmvae.explore.correlations import LabelClustering
from cgmvae.explore.heatmaps import is_block_averaged, similarity_heatmap

UNSUPPORTED_GREY = "#d0d0d0"


def association_heatmap(matrix: np.ndarray, label_names: list[str], clustering: LabelClustering,
                        *, supported: np.ndarray | None = None, only_supported: bool = False,
                        rows: np.ndarray | None = None, title: str = "",
                        value_name: str = "association") -> go.Figure:
    """The clustered heatmap of `matrix`; pairs not `supported` are grey (or blank when
    `only_supported`), so that only what the data back keeps its colour. Block-averaged (many
    labels, `similarity_heatmap`): the groups' means, of the supported pairs when
    `only_supported`, without the grey."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if supported is not None and only_supported:
        matrix = np.where(supported, matrix, np.nan).astype(np.float32)
    figure = similarity_heatmap(matrix, label_names, clustering, title=title,
                                value_name=value_name, rows=rows)
    if supported is None or only_supported or is_block_averaged(rows, len(label_names)):
        return figure
    heat = figure.data[-1]
    order = np.asarray(clustering.order, dtype=np.int64)
    if rows is not None:
        order = order[np.isin(order, rows)]
    grey = np.where(np.asarray(supported)[np.ix_(order, order)], np.nan, 1.0)
    np.fill_diagonal(grey, np.nan)
    figure.add_trace(go.Heatmap(
        z=grey, x=heat.x, y=heat.y, xaxis=heat.xaxis, yaxis=heat.yaxis, showscale=False,
        colorscale=[[0.0, UNSUPPORTED_GREY], [1.0, UNSUPPORTED_GREY]], zmin=0.0, zmax=1.0,
        hovertemplate="%{y}<br>%{x}<br>not supported by the data<extra></extra>"))
    return figure


def pair_table(associations: Associations, layer: str, *, alpha: float = 0.05,
               many_pairs: bool = False, only_supported: bool = False,
               species: str | None = None) -> pd.DataFrame:
    """One row per species pair, strongest |value| first: the layer's value, its sd and p (Veech's
    p for co-occurrence), whether it is supported, the training records of its rarer species,
    and the recorded co-occurrence beside it."""
    names = np.asarray(associations.label_names, dtype=object)
    first, second = np.triu_indices(len(names), k=1)
    value = associations.layer(layer)[first, second]
    supported = associations.supported(layer, alpha, many_pairs=many_pairs)[first, second]
    columns = {"species A": names[first], "species B": names[second], layer: value.round(4)}
    if layer == "cooccurrence":
        columns["p (Veech)"] = associations.cooccurrence_p[first, second].round(4)
    else:  # the p the pair is judged by: the residual layer's is not a normal p of value / sd
        columns["sd"] = associations.uncertainty(layer)[first, second].round(4)
        columns["p"] = associations.pvalues(layer)[first, second]
    counts = np.asarray(associations.train_counts, dtype=np.int64)
    table = pd.DataFrame({
        **columns,
        "supported": supported,
        # a pair of species seen at fewer than MIN_RECORDS sites is never supported, however small p
        "fewest records": np.minimum(counts[first], counts[second]),
        "co-occurrence phi": associations.cooccurrence[first, second].round(4),
        "co-occurrence p": associations.cooccurrence_p[first, second].round(4),
    })
    if species:
        table = table[(table["species A"] == species) | (table["species B"] == species)]
    if only_supported:
        table = table[table["supported"]]
    return table.iloc[np.argsort(-np.abs(table[layer].to_numpy()), kind="stable")].reset_index(
        drop=True)


def clustered_frame(matrix: np.ndarray, label_names: list[str],
                    clustering: LabelClustering) -> pd.DataFrame:
    """The matrix in dendrogram order, with a `group` column first (the page's CSV download)."""
    order = np.asarray(clustering.order, dtype=np.int64)
    names = [safe_cell(str(label_names[i])) for i in order]
    frame = pd.DataFrame(np.asarray(matrix, dtype=np.float64)[np.ix_(order, order)],
                         index=pd.Index(names, name="label"), columns=names)
    frame.insert(0, "group", np.asarray(clustering.groups)[order])
    return frame
