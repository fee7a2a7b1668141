"""An example table of sites to score with a trained model: one column per raw covariate (a
category as its text, a date as a date), each row a typical training site.

A row of training means with each category's commonest value can be a site no survey had (the
commonest reserve need not lie in the commonest region), and scoring it would warn that the
model extrapolates. So where the model keeps its training sites' spread (ExDet's NT2), each row
takes the combination of categories that is least novel, starting from a different common value
of the widest category, with its numbers at their typical values for that combination.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cgmvae.extrapolation import NOVEL, least_novel_completion, novelty
from cgmvae.formats.dates import date_inputs, part_names, typical_date

SWEEPS = 3  # passes of the category search; each pass changes a category only to lower NT2


def template_frame(model, n_rows: int = 3) -> pd.DataFrame:
    """`n_rows` example sites in the model's raw columns (`input_columns`): typical training
    sites, distinct where the model's categories allow, else training means with each
    category's commonest value. `attrs["novelty"]`: each row's NT2 (None when not known)."""
    names = list(model.feature_names)
    # equal lengths: fit builds both from one table, and load_model checks both against n_features
    mean = np.asarray(model.standardizer.mean, dtype=np.float64)
    metric = getattr(model, "feature_novelty_metric", None)
    groups = _category_groups(names)
    if metric is None:
        rows = np.repeat(_commonest(mean, groups)[None], n_rows, axis=0)
        nt2 = None
    else:
        scale = np.asarray(model.standardizer.scale, dtype=np.float64)
        rows, nt2 = _typical_rows(mean, scale, metric, groups, n_rows)
        low, high = getattr(model, "feature_min", None), getattr(model, "feature_max", None)
        if low is not None and high is not None:
            rows = np.clip(rows, low, high)  # never outside a covariate's training range (NT1)
    frame = pd.DataFrame([_raw_columns(names, row) for row in rows])
    frame.attrs["novelty"] = None if nt2 is None else [float(v) for v in nt2]
    return frame


def _category_groups(names: list[str]) -> dict[str, list[int]]:
    """The one-hot inputs `col=value` of each raw column `col`, by index."""
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        column, equals, _ = name.partition("=")
        if equals:
            groups.setdefault(column, []).append(j)
    return groups


def _commonest(mean: np.ndarray, groups: dict[str, list[int]]) -> np.ndarray:
    """Training means, each category's one-hot set to its commonest value."""
    row = mean.copy()
    for members in groups.values():
        _set_category(row, members, max(members, key=lambda j: mean[j]))
    return row


def _set_category(row: np.ndarray, members: list[int], chosen: int) -> None:
    row[members] = 0.0
    row[chosen] = 1.0


def _typical_rows(mean, scale, metric, groups, n_rows):
    """(rows, their NT2): up to `n_rows` distinct least-novel sites, repeated to fill."""
    numbers = np.ones(len(mean), dtype=bool)
    for members in groups.values():
        numbers[members] = False
    complete = least_novel_completion(metric, numbers)

    def completed(row):
        """The row with its numbers at their least novel values, and its NT2."""
        standardized = complete((row - mean) / scale)
        return standardized * scale + mean, float(novelty(standardized[None], metric)[0])

    widest = max(groups.values(), key=len) if groups else []
    starts = sorted(widest, key=lambda j: -mean[j]) or [None]
    found: dict[bytes, tuple[np.ndarray, float]] = {}
    for start in starts:
        row = _commonest(mean, groups)
        if start is not None:
            _set_category(row, widest, start)
        row, nt2 = _least_novel(completed(row), completed, groups, keep=widest)
        if nt2 <= NOVEL or not found:  # a rare start that stays novel is skipped
            found.setdefault(row[~numbers].tobytes(), (row, nt2))
        if len(found) == n_rows:
            break
    chosen = list(found.values())
    chosen = [chosen[k % len(chosen)] for k in range(n_rows)]
    return np.array([row for row, _ in chosen]), np.array([nt2 for _, nt2 in chosen])


def _least_novel(start, completed, groups, keep):
    """From `start` (row, NT2), the categories (but `keep`) changed one at a time while that
    lowers NT2; (row in raw units, NT2)."""
    best, best_nt2 = start
    for _ in range(SWEEPS):
        improved = False
        for members in groups.values():
            if members is keep:
                continue
            for value in members:
                candidate = best.copy()
                _set_category(candidate, members, value)
                raw, nt2 = completed(candidate)
                if nt2 < best_nt2 - 1e-9:
                    best, best_nt2, improved = raw, nt2, True
        if not improved:
            break
    return best, best_nt2


def _raw_columns(names: list[str], row: np.ndarray) -> dict[str, object]:
    """One site's inputs as the raw columns a table to score has."""
    dated = date_inputs(names)
    values = dict(zip(names, row, strict=True))
    columns: dict[str, object] = {}
    for name, value in values.items():
        if name in dated:
            year, day = part_names(dated[name])
            columns[dated[name]] = typical_date(values[year], values[day])
        elif "=" in name:
            column, text = name.split("=", 1)
            if value >= 0.5 or column not in columns:
                columns[column] = text
        else:
            columns[name] = round(float(value), 4)
    return columns
