"""Plotly figures for data summaries, training curves, projections and predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_BARS = 60  # a bar chart of more labels is unreadable: show the top ones and say so
WEBGL_ABOVE = 1_000  # points; above, WebGL: on a 2-core machine SVG took ~0.5 s longer at 4000


def prevalence_bars(prevalence: pd.DataFrame) -> go.Figure:
    """Horizontal bars of label prevalence (the `prevalence_frame`), top MAX_BARS labels."""
    shown = prevalence.head(MAX_BARS)
    title = "Label prevalence" + (f" (top {MAX_BARS} of {len(prevalence)})"
                                  if len(prevalence) > MAX_BARS else "")
    figure = px.bar(shown, x="prevalence", y="label", orientation="h", title=title,
                    hover_data={"samples": True})
    figure.update_yaxes(autorange="reversed", title=None)
    return figure.update_layout(height=max(320, 16 * len(shown) + 120))


def labels_per_sample_histogram(labels: np.ndarray) -> go.Figure:
    """Histogram of how many labels each sample has, counted here: one bar per count, not one
    value per sample sent to the browser (1M samples made a 10 MB figure)."""
    per_sample = np.asarray(labels).sum(axis=1, dtype=np.int64)
    samples = np.bincount(per_sample)
    counts = pd.DataFrame({"labels per sample": np.flatnonzero(samples),
                           "samples": samples[samples > 0]})
    figure = px.bar(counts, x="labels per sample", y="samples", title="Labels per sample")
    return figure.update_layout(bargap=0.05, yaxis_title="samples")


def training_curves(history: list[dict]) -> go.Figure:
    """Per epoch: the training loss (Eq. 7) on the left; validation loss and micro-F1 on the
    right (different scales, so different panels)."""
    frame = pd.DataFrame(list(history))
    figure = make_subplots(rows=1, cols=2, specs=[[{}, {"secondary_y": True}]],
                           subplot_titles=("training loss (Eq. 7)", "validation"))
    if not frame.empty:
        figure.add_trace(go.Scatter(x=frame["epoch"], y=frame["train_loss"], mode="lines+markers",
                                    name="training loss"), row=1, col=1)
        figure.add_trace(go.Scatter(x=frame["epoch"], y=frame["val_loss"], mode="lines+markers",
                                    name="validation loss (BCE)"), row=1, col=2)
        scores = [c for c in frame if c.startswith("val_") and c != "val_loss"]
        for column in scores:
            figure.add_trace(go.Scatter(x=frame["epoch"], y=frame[column], mode="lines+markers",
                                        name=column.replace("val_", "validation "),
                                        line={"dash": "dot"}), row=1, col=2, secondary_y=True)
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="score", row=1, col=2, secondary_y=True)
    return figure.update_layout(height=360, margin={"t": 40},
                                legend={"orientation": "h", "y": -0.3})


MAX_TEXT_LABELS = 150  # names written beside the points up to here; beyond, hover and search


def label_map_scatter(frame: pd.DataFrame, method: str, title: str,
                      highlight: str | None = None) -> go.Figure:
    """Each label as a point in 2-D (`label_point_frame`): size = prevalence, colour = group,
    error bars = spread when the points are Gaussian means; names beside the points when they
    fit (MAX_TEXT_LABELS), and the label `highlight` ringed and named."""
    has_sd = "sd_x" in frame
    hover = {"x": False, "y": False, "prevalence": ":.3f", "group": True}
    if "spread" in frame:
        hover["spread"] = ":.3f"
    named = len(frame) <= MAX_TEXT_LABELS
    figure = px.scatter(
        frame, x="x", y="y", size="prevalence", color="group", hover_name="label",
        hover_data=hover, error_x="sd_x" if has_sd else None, error_y="sd_y" if has_sd else None,
        text="label" if named else None, size_max=28, title=f"{title} ({method.upper()})",
        category_orders={"group": sorted(frame["group"].unique(), key=int)},
    )
    if named:
        size = max(7, min(11, 1100 // max(len(frame), 1)))
        figure.update_traces(textposition="top center", textfont={"size": size})
    if has_sd:
        figure.update_traces(error_x={"thickness": 0.6}, error_y={"thickness": 0.6})
    if highlight is not None and highlight in set(frame["label"]):
        _ring(figure, frame[frame["label"] == highlight].iloc[0])
    axis = "PC" if method == "pca" else "UMAP "
    return figure.update_layout(height=600 if len(frame) <= 60 else 800,
                                xaxis_title=f"{axis}1", yaxis_title=f"{axis}2")


def _ring(figure: go.Figure, row: pd.Series) -> None:
    """A black ring and an arrow with the name at one label's point."""
    figure.add_trace(go.Scatter(x=[row["x"]], y=[row["y"]], mode="markers", showlegend=False,
                                hoverinfo="skip", name="highlight",
                                marker={"size": 30, "color": "rgba(0,0,0,0)",
                                        "line": {"color": "black", "width": 3}}))
    figure.add_annotation(x=row["x"], y=row["y"], text=f"<b>{row['label']}</b>", showarrow=True,
                          arrowhead=2, ax=40, ay=-40, bgcolor="rgba(255,255,255,0.85)")


def latent_scatter(frame: pd.DataFrame, colour: pd.Series, colour_name: str,
                   method: str, title: str) -> go.Figure:
    """Samples in 2-D (`latent_frame`), coloured by `colour` (a label, a count or a feature)."""
    plotted = frame.assign(**{colour_name: np.asarray(colour)})
    discrete = colour.dtype == bool or set(np.unique(colour)) <= {0, 1}
    if discrete:
        plotted[colour_name] = np.where(np.asarray(colour) > 0, "present", "absent")
    figure = px.scatter(
        plotted, x="dim 1", y="dim 2", color=colour_name, custom_data=["sample"],
        hover_data={"sample": True, "labels": True, "dim 1": False, "dim 2": False},
        render_mode="webgl" if len(frame) > WEBGL_ABOVE else "svg",
        color_discrete_map={"present": "#d62728", "absent": "#c7c7c7"},
        category_orders={colour_name: ["absent", "present"]},
        title=f"{title} ({method.upper()})",
    )
    figure.update_traces(marker={"size": 4, "opacity": 0.7})
    return figure.update_layout(height=560, dragmode="lasso")


def trace_samples(figure: go.Figure) -> list[np.ndarray]:
    """The sample rows of each trace of a `latent_scatter`, in point order (for selections)."""
    return [np.asarray(trace.customdata)[:, 0].astype(np.int64) for trace in figure.data]


def label_f1_bars(frame: pd.DataFrame) -> go.Figure:
    """Per-label F1 bars (the `label_f1_frame`), coloured by prevalence; labels without test
    positives have no F1 to show and are left out (the title says how many)."""
    scored = frame[frame["positives"] > 0] if "positives" in frame else frame
    shown = scored.head(MAX_BARS)
    notes = [f"top {MAX_BARS} of {len(scored)}"] if len(scored) > MAX_BARS else []
    if len(scored) < len(frame):
        notes.append(f"{len(frame) - len(scored)} without test positives left out")
    title = "Per-label F1 on the test rows" + (f" ({'; '.join(notes)})" if notes else "")
    figure = px.bar(shown, x="label", y="F1", color="prevalence", title=title,
                    hover_data=[c for c in ("ROC-AUC", "positives") if c in shown],
                    color_continuous_scale="Viridis")
    return figure.update_layout(height=420, xaxis_tickangle=-60, xaxis_title=None)


def sample_prediction_bars(frame: pd.DataFrame, threshold: float) -> go.Figure:
    """One sample's predicted probabilities, bars coloured by whether the label is present."""
    shown = frame.head(MAX_BARS)
    colour = shown["present"].map({True: "present", False: "absent"}) if "present" in shown \
        else None
    figure = px.bar(shown, x="label", y="probability", color=colour,
                    color_discrete_map={"present": "#2ca02c", "absent": "#7f7f7f"},
                    title="Predicted probability vs truth")
    figure.add_hline(y=threshold, line_dash="dash", annotation_text=f"threshold {threshold:.2f}")
    return figure.update_layout(height=420, xaxis_tickangle=-60, xaxis_title=None,
                                yaxis_range=[0, 1], legend_title_text="truth")


def response_lines(frame: pd.DataFrame, feature: str) -> go.Figure:
    """Predicted occurrence of chosen labels along one feature (the `response_curves` frame)."""
    figure = px.line(frame, x=feature, y="probability", color="label",
                     title=f"Predicted occurrence along {feature} (other features at median)")
    return figure.update_layout(height=420, yaxis_range=[0, 1])
