"""Plotly figures of label x label matrices: clustered heatmap with a one-trace dendrogram."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cgmvae.explore.correlations import LabelClustering, without_diagonal

MAX_TICK_LABELS = 150  # names on the rows up to here (smaller font, taller figure); then hover
# Beyond this, axes are positions 0..L-1 instead of label names: 983 category ticks cost plotly.js
# ~1.5 s more per heatmap (measured in Chromium: 1.7-1.9 s vs 0.5 s at 983 labels).
MAX_NAMED_LABELS = 300
# Beyond this, the full map is one cell per group pair (the mean over its species pairs) and a
# zoom to one group shows its species: 500 x 500 cells are too small to read, and their
# 1 MB of JSON per figure made the app's reruns slow (benchmarks/app_scale.py).
BLOCK_AVERAGE_ABOVE = 400


def colour_limit(matrix: np.ndarray) -> float:
    """Symmetric colour range: the 99th percentile of |off-diagonal|, so outliers don't wash out."""
    values = np.abs(without_diagonal(matrix))
    values = values[np.isfinite(values)]
    return float(np.percentile(values, 99)) if values.size and values.max() > 0 else 1.0


def similarity_heatmap(matrix: np.ndarray, label_names: list[str], clustering: LabelClustering,
                       *, title: str = "", value_name: str = "similarity",
                       rows: np.ndarray | None = None, dendrogram: bool = True,
                       blocks: bool | None = None) -> go.Figure:
    """Heatmap of `matrix` (diagonal removed) in dendrogram order, outlined by group.

    `rows` restricts it to some labels (zoom to a group; then no dendrogram is drawn).
    `blocks`: one cell per pair of groups (`block_heatmap`); by default when more than
    BLOCK_AVERAGE_ABOVE labels are shown.
    """
    if blocks if blocks is not None else is_block_averaged(rows, len(label_names)):
        return block_heatmap(matrix, clustering, title=title, value_name=value_name)
    order = np.asarray(clustering.order, dtype=np.int64)
    if rows is not None:
        order = order[np.isin(order, rows)]
    names = np.asarray(label_names, dtype=object)[order].tolist()
    limit = colour_limit(matrix)
    z = without_diagonal(np.asarray(matrix)[np.ix_(order, order)])  # float32: 4 bytes a cell
    with_tree = dendrogram and rows is None and len(order) > 2
    figure = make_subplots(rows=2 if with_tree else 1, cols=1, vertical_spacing=0.01,
                           row_heights=[0.17, 0.83] if with_tree else None)
    heat_row = 2 if with_tree else 1
    if with_tree:
        _add_dendrogram(figure, clustering, len(order))
    named = len(names) <= MAX_NAMED_LABELS
    axis = names if named else np.arange(len(names))
    where = "%{y}<br>%{x}" if named else "row %{y}, column %{x} (dendrogram order)"
    figure.add_trace(go.Heatmap(
        z=z, x=axis, y=axis, colorscale="RdBu_r", zmid=0.0, zmin=-limit, zmax=limit,
        colorbar={"title": {"text": value_name}, "len": 0.8, "y": 0.42},
        hovertemplate=f"{where}<br>{value_name} %{{z:.3f}}<extra></extra>",
    ), row=heat_row, col=1)
    for shape in group_outlines(clustering.groups[order]):
        figure.add_shape(shape, row=heat_row, col=1)
    show_ticks = len(names) <= MAX_TICK_LABELS
    font = tick_font_size(len(names))
    ticks = {"showticklabels": show_ticks, "tickfont": {"size": font}}
    ticks.update({"dtick": 1} if show_ticks else {"showgrid": False, "zeroline": False})
    # the matrix is symmetric: names on the rows suffice (hover shows both)
    figure.update_xaxes(**{**ticks, "showticklabels": False}, row=heat_row, col=1)
    figure.update_yaxes(autorange="reversed", **ticks, row=heat_row, col=1)
    side = 320 + ((font + 4) * len(names) if show_ticks else 480)  # a row per name, readable
    figure.update_layout(title=title, height=min(side, 1800), margin={"l": 10, "r": 10, "t": 40},
                         plot_bgcolor="white")
    return figure


def is_block_averaged(rows: np.ndarray | None, n_labels: int) -> bool:
    """Whether `similarity_heatmap` shows group means by default: all labels, and many."""
    return rows is None and n_labels > BLOCK_AVERAGE_ABOVE


def block_average(matrix: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, k) mean of `matrix` over the label pairs of each pair of groups 1..k, the diagonal and
    NaN cells left out, and (k,) group sizes."""
    groups = np.asarray(groups, dtype=np.int64)
    k = int(groups.max())
    member = np.zeros((groups.size, k))  # (L, k) one-hot group membership
    member[np.arange(groups.size), groups - 1] = 1.0
    values = np.asarray(without_diagonal(matrix), dtype=np.float64)
    known = np.isfinite(values)
    sums = member.T @ np.where(known, values, 0.0) @ member
    counts = member.T @ known.astype(np.float64) @ member
    means = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    return means.astype(np.float32), member.sum(axis=0).astype(np.int64)


def block_heatmap(matrix: np.ndarray, clustering: LabelClustering, *, title: str = "",
                  value_name: str = "similarity") -> go.Figure:
    """One cell per pair of correlation groups (in dendrogram order): the mean of `matrix` over
    their species pairs; a group's own cell averages its distinct pairs."""
    means, sizes = block_average(matrix, clustering.groups)
    names = [f"group {g} ({n})" for g, n in enumerate(sizes, start=1)]
    limit = colour_limit(matrix)
    figure = go.Figure(go.Heatmap(
        z=means, x=names, y=names, colorscale="RdBu_r", zmid=0.0, zmin=-limit, zmax=limit,
        colorbar={"title": {"text": f"mean {value_name}"}},
        hovertemplate=f"%{{y}}<br>%{{x}}<br>mean {value_name} %{{z:.3f}}<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    label_count = int(sizes.sum())
    note = (f"{label_count} labels in {len(sizes)} groups, one cell per pair of groups "
            "(mean over their pairs); zoom to a group to see its labels")
    return figure.update_layout(
        title=f"{title}<br><sup>{note}</sup>" if title else note, plot_bgcolor="white",
        height=min(320 + 28 * len(sizes), 1400), margin={"l": 10, "r": 10, "t": 60})


def tick_font_size(n_names: int) -> int:
    """Font size (px) of `n_names` names on an axis: 10 up to 80 names, down to 6 at 150."""
    return max(6, min(10, 800 // max(n_names, 1)))


def dendrogram_lines(tree: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of every link of a scipy linkage `tree` as one polyline with NaN separators (one
    plotly trace), from `scipy.cluster.hierarchy.dendrogram(no_plot=True)`.

    Each link is a "u" (left child -> up -> across -> down to the right child) at its merge
    height; leaves sit at y = 0 and x = their position 0..L-1 in the leaf order, which is
    `leaves_list(tree)`, the heatmap's column order.
    """
    from scipy.cluster.hierarchy import dendrogram

    links = dendrogram(tree, no_plot=True)
    gaps = np.full((len(links["icoord"]), 1), np.nan)
    xs = (np.hstack([np.asarray(links["icoord"]), gaps]) - 5.0) / 10.0  # scipy: leaf i at 10i+5
    ys = np.hstack([np.asarray(links["dcoord"]), gaps])
    return xs.ravel(), ys.ravel()


def _add_dendrogram(figure: go.Figure, clustering: LabelClustering, n_labels: int) -> None:
    """The whole tree as ONE scatter trace (NaN-separated links), above the heatmap columns."""
    xs, ys = dendrogram_lines(clustering.tree)
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#555", "width": 1},
                                hoverinfo="skip", showlegend=False, connectgaps=False),
                     row=1, col=1)
    figure.update_xaxes(range=[-0.5, n_labels - 0.5], visible=False, row=1, col=1)
    figure.update_yaxes(title_text="distance", row=1, col=1)


def group_outlines(groups_in_order: np.ndarray) -> list[dict]:
    """One rectangle per run of equal group ids along the diagonal (category positions)."""
    groups_in_order = np.asarray(groups_in_order)
    if groups_in_order.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, groups_in_order[1:] != groups_in_order[:-1]])
    ends = np.r_[starts[1:], groups_in_order.size]
    return [{"type": "rect", "x0": s - 0.5, "x1": e - 0.5, "y0": s - 0.5, "y1": e - 0.5,
             "line": {"color": "black", "width": 1.5}, "fillcolor": "rgba(0,0,0,0)"}
            for s, e in zip(starts, ends, strict=True) if e - s > 1]
