"""Tables about a data set and a model's predictions: prevalence, metrics, responses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cgmvae import metrics
from cgmvae.data import MultiLabelData
from cgmvae.extrapolation import unlike_training


def label_sets(labels: np.ndarray, label_names: list[str], *, limit: int = 8) -> list[str]:
    """Each row's labels as a readable string ("A, B, C", "+3 more" beyond `limit`; "-" if none)."""
    names = np.asarray(label_names, dtype=object)
    out = []
    for row in np.asarray(labels) > 0.5:
        present = list(names[row])
        text = ", ".join(present[:limit]) + (f" +{len(present) - limit} more"
                                             if len(present) > limit else "")
        out.append(text or "-")
    return out


def data_summary(data: MultiLabelData) -> dict[str, float]:
    """Sizes and label statistics: samples, features, labels, labels per sample, empty samples."""
    per_sample = data.labels.sum(axis=1)
    return {"samples": data.n_samples, "features": data.n_features, "labels": data.n_labels,
            "mean labels per sample": round(float(per_sample.mean()), 3),
            "samples without labels": int((per_sample == 0).sum())}


def preview_frame(data: MultiLabelData, n_rows: int = 50) -> pd.DataFrame:
    """The first `n_rows` samples: feature columns and their label set."""
    frame = pd.DataFrame(data.features[:n_rows], columns=data.feature_names)
    frame.insert(0, "labels", label_sets(data.labels[:n_rows], data.label_names))
    return frame


def samples_frame(data: MultiLabelData, rows: np.ndarray) -> pd.DataFrame:
    """The given samples: row number, label set, then the features."""
    rows = np.asarray(rows, dtype=np.int64)
    frame = pd.DataFrame(data.features[rows], columns=data.feature_names)
    frame.insert(0, "labels", label_sets(data.labels[rows], data.label_names))
    frame.insert(0, "sample", rows)
    return frame


def sample_values(data: MultiLabelData, rows: np.ndarray, what: str) -> np.ndarray:
    """Per sample: "number of labels", "label: <name>" (0/1) or "feature: <name>" (its value)."""
    rows = np.asarray(rows, dtype=np.int64)
    if what == "number of labels":
        return data.labels[rows].sum(axis=1).astype(int)
    kind, _, name = what.partition(": ")
    if kind == "label":
        return data.labels[rows, data.label_names.index(name)].astype(int)
    if kind != "feature":
        raise ValueError("expected 'number of labels', 'label: ...' or 'feature: ...', "
                         f"got {what!r}")
    return data.features[rows, data.feature_names.index(name)]


def prevalence_frame(labels: np.ndarray, label_names: list[str]) -> pd.DataFrame:
    """One row per label, most frequent first: label, samples with it, prevalence (fraction)."""
    counts = np.asarray(labels).sum(axis=0)
    frame = pd.DataFrame({"label": list(label_names), "samples": counts.astype(int),
                          "prevalence": counts / max(1, len(labels))})
    return frame.sort_values("prevalence", ascending=False, kind="stable").reset_index(drop=True)


def metrics_table(model, features: np.ndarray, labels: np.ndarray, *,
                  proba: np.ndarray | None = None) -> pd.DataFrame:
    """The paper's five metrics on (test) rows: at each metric's validation-best threshold and
    at the single deployed threshold (`proba`: the model's predict_proba(features), if known)."""
    scores = model.evaluate(features, labels, proba=proba)
    return pd.DataFrame({"metric": list(metrics.METRICS),
                         "validation-best threshold": [scores["per_metric"][m]
                                                       for m in metrics.METRICS],
                         "deployed threshold": [scores["deployed"][m] for m in metrics.METRICS]})


def per_label_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(L,) F1 of each label; a label neither present nor predicted scores 0, the convention of
    `cgmvae.metrics` macro-F1 (so that their mean is the macro-F1)."""
    truth, predicted = np.asarray(y_true) > 0.5, np.asarray(y_pred) > 0.5
    tp = (truth & predicted).sum(axis=0)
    wrong = (truth ^ predicted).sum(axis=0)
    denominator = 2 * tp + wrong
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


NO_POSITIVES = "no test positives"


def label_f1_frame(model, features: np.ndarray, labels: np.ndarray, *,
                   proba: np.ndarray | None = None) -> pd.DataFrame:
    """Per label at the deployed threshold: F1 (0 without true and predicted positives, as in
    macro-F1), ROC-AUC (NaN with one class), positives and prevalence in these rows
    (`proba`: the model's predict_proba(features), if known).

    Labels with positives come first, best F1 first; those without any come last.
    """
    proba = model.predict_proba(features) if proba is None else proba
    labels = np.asarray(labels)
    frame = pd.DataFrame({"label": list(model.label_names),
                          "F1": per_label_f1(labels, proba >= model.threshold),
                          "ROC-AUC": metrics.label_aucs(labels, proba),
                          "positives": (labels > 0.5).sum(axis=0).astype(int),
                          "prevalence": labels.mean(axis=0)})
    frame = frame.sort_values("F1", ascending=False, kind="stable")
    frame = frame.sort_values("positives", key=lambda p: p == 0, kind="stable")
    return frame.reset_index(drop=True)


def label_score_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The `label_f1_frame` for reading: F1 and ROC-AUC as text, NO_POSITIVES instead of a number
    for labels without positives (their F1 of 0 is a convention, not a score)."""
    table = frame.copy()
    absent = table["positives"] == 0
    table["F1"] = np.where(absent, NO_POSITIVES, table["F1"].map("{:.3f}".format))
    table["ROC-AUC"] = np.where(table["ROC-AUC"].isna(), "one class only",
                                table["ROC-AUC"].map("{:.3f}".format))
    table["prevalence"] = table["prevalence"].round(4)
    return table


def mean_auc_summary(frame: pd.DataFrame) -> tuple[float, int]:
    """Mean species ROC-AUC over labels with both classes, and how many labels were skipped."""
    auc = frame["ROC-AUC"]
    return float(auc.mean()) if auc.notna().any() else float("nan"), int(auc.isna().sum())


def sample_prediction_frame(model, features_row: np.ndarray,
                            labels_row: np.ndarray | None = None) -> pd.DataFrame:
    """One sample: every label's predicted probability, the decision, and the truth if known."""
    proba = model.predict_proba(np.asarray(features_row, dtype=np.float32)[None, :])[0]
    frame = pd.DataFrame({"label": list(model.label_names), "probability": proba,
                          "predicted": proba >= model.threshold})
    if labels_row is not None:
        frame["present"] = np.asarray(labels_row) > 0.5
    return frame.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)


def response_curves(model, reference: np.ndarray, feature: str, labels: list[str], *,
                    n_points: int = 60) -> pd.DataFrame:
    """Predicted occurrence of `labels` as `feature` sweeps its 1st-99th percentile range in
    `reference`, every other feature held at its median. Long format: value, label, probability."""
    column = list(model.feature_names).index(feature)
    low, high = np.percentile(reference[:, column], [1, 99])
    values = np.linspace(low, high, n_points) if high > low else np.array([low])
    grid = np.repeat(np.median(reference, axis=0)[None, :], values.size, axis=0)
    grid[:, column] = values
    proba = model.predict_proba(grid.astype(np.float32))
    chosen = [list(model.label_names).index(name) for name in labels]
    return pd.DataFrame({feature: np.tile(values, len(chosen)),
                         "label": np.repeat(labels, values.size),
                         "probability": proba[:, chosen].T.ravel()})


def prediction_table(model, predictions: pd.DataFrame) -> pd.DataFrame:
    """`cgmvae.formats.model_input.predict_csv`'s table for the screen: a readable "predicted
    labels" column (the first few names, "+3 more" beyond) after the id column(s). Not for files:
    its text is shortened."""
    predicted = predictions[[f"{name}_predicted" for name in model.label_names]].to_numpy()
    table = predictions.copy()
    first = list(table.columns).index(f"{model.label_names[0]}_probability")
    table.insert(first, "predicted labels", label_sets(predicted, model.label_names))
    return table


def sites_unlike_training(model, predictions: pd.DataFrame) -> list[str]:
    """The ids (the id column(s) before the first probability, joined by " / ") of the rows of
    `prediction_table`'s input that extrapolate: a covariate outside its training range, or a
    combination no training site had (`covariate_novelty` above 1)."""
    unlike = unlike_training(predictions.get("covariates_outside_training"),
                             predictions.get("covariate_novelty"), len(predictions))
    first = list(predictions.columns).index(f"{model.label_names[0]}_probability")
    ids = predictions.iloc[:, :first].astype(str)
    return [" / ".join(row) for row in ids[unlike].itertuples(index=False)]
