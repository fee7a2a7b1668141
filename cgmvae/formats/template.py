"""An example table of sites to score with a trained model: one column per raw covariate (a
category as its text, a date as a date), each row a typical training site.

A row of training means with each category's commonest value can be a site no survey had (the
commonest reserve need not lie in the commonest region), and scoring it would warn that the
model extrapolates. So where the model keeps its training sites' spread (ExDet's NT2), each row
takes the combination of categories that is least novel, starting from a different common value
of the widest category, with its numbers at their typical values for that combination; without
categories (or too few combinations), the rows go either side of the centre along the training
sites' main gradient (e.g. a wetter, lower site and a drier, higher one), still typical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cgmvae.extrapolation import NOVEL, least_novel_completion, novelty
from cgmvae.formats.dates import date_inputs, part_names, typical_date

SWEEPS = 3  # passes of the category search; each pass changes a category only to lower NT2
SIGNIFICANT_DIGITS = 6
GRADIENT_NOVELTY = 0.4  # how far along the main gradient a varied row goes, in NT2


def template_frame(model, n_rows: int = 3) -> pd.DataFrame:
    """`n_rows` example sites in the model's raw columns (`input_columns`): typical training
    sites (`_typical_rows`) where the model keeps its training sites' spread, else training
    means with each category's commonest value. `attrs["novelty"]`: each row's NT2 (None when
    not known); `attrs["varied"]`: what tells the rows apart ("categories", "gradient", or
    None when they are copies of one site)."""
    names = list(model.feature_names)
    # equal lengths: fit builds both from one table, and load_model checks both against n_features
    mean = np.asarray(model.standardizer.mean, dtype=np.float64)
    metric = getattr(model, "feature_novelty_metric", None)
    groups = _category_groups(names)
    if metric is None:
        rows = _significant(np.repeat(_commonest(mean, groups)[None], n_rows, axis=0))
        nt2, varied = None, None
    else:
        scale = np.asarray(model.standardizer.scale, dtype=np.float64)
        low, high = getattr(model, "feature_min", None), getattr(model, "feature_max", None)
        bounds = None if low is None or high is None else (np.asarray(low, dtype=np.float64),
                                                           np.asarray(high, dtype=np.float64))
        rows, varied = _typical_rows(mean, scale, metric, groups, n_rows, bounds)
        rows = _significant(rows)
        if bounds is not None:  # never outside a covariate's training range (NT1), as written
            rows = np.clip(rows, *bounds)
        nt2 = novelty((rows - mean) / scale, metric)
    dated = date_inputs(names)
    frame = pd.DataFrame([_raw_columns(names, dated, row) for row in rows])
    frame.attrs["novelty"] = None if nt2 is None else [float(v) for v in nt2]
    frame.attrs["varied"] = varied
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


def _typical_rows(mean, scale, metric, groups, n_rows, bounds):
    """(rows in raw units, what varies): up to `n_rows` distinct least-novel combinations of
    categories, each starting from a different common value of the widest category (one that
    stays novel is skipped), with their numbers at their least novel values; rows still missing
    go along the main gradient of the training sites' numbers, either side of those sites,
    shortened where a step would leave a covariate's training range (`bounds`: min, max)."""
    numbers = np.ones(len(mean), dtype=bool)
    for members in groups.values():
        numbers[members] = False
    complete = least_novel_completion(metric, numbers)

    def completed(row):
        """The row with its numbers at their least novel values, and its NT2."""
        standardized = complete((row - mean) / scale)
        return standardized * scale + mean, float(novelty(standardized[None], metric)[0])

    widest = max(groups.values(), key=len) if groups else []
    found: dict[bytes, tuple[np.ndarray, float]] = {}
    for start in sorted(widest, key=lambda j: -mean[j]) or [None]:
        row = _commonest(mean, groups)
        if start is not None:
            _set_category(row, widest, start)
        row, nt2 = _least_novel(completed(row), completed, groups, keep=widest)
        if nt2 <= NOVEL or not found:
            found.setdefault(row[~numbers].tobytes(), (row, nt2))
        if len(found) == n_rows:
            break
    rows = [row for row, _ in found.values()]
    varied = "categories" if len(rows) > 1 else None
    step = _gradient_step(metric, numbers) * scale
    for k in range(2 * len(rows)):
        if len(rows) >= n_rows or not step.any():
            break
        base, signed = rows[k // 2], (-step if k % 2 == 0 else step)
        rows.append(base + signed * _room(base, signed, bounds))
        varied = varied or "gradient"
    return np.array([rows[k % len(rows)] for k in range(n_rows)]), varied


def _significant(rows: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """`rows` rounded to `digits` significant digits (a template a user reads), before they are
    clipped to the training ranges, so that a value at a bound is written as the bound."""
    return np.array([[float(f"{value:.{digits}g}") for value in row] for row in rows])


def _room(row: np.ndarray, step: np.ndarray, bounds) -> float:
    """The largest share (at most 1) of `step` that keeps `row` within `bounds` (min, max)."""
    if bounds is None:
        return 1.0
    low, high = bounds
    with np.errstate(divide="ignore", invalid="ignore"):
        limits = np.where(step > 0, (high - row) / step, np.where(step < 0, (low - row) / step,
                                                                  np.inf))
    return float(np.clip(np.min(limits, initial=1.0), 0.0, 1.0))


def _gradient_step(metric: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """(D,) a standardized step along the direction in which the training sites' numbers spread
    most (for fixed categories), sized to add GRADIENT_NOVELTY to a site's NT2 (in quadrature);
    zeros without numbers."""
    step = np.zeros(len(numbers))
    if numbers.any():
        weights, directions = np.linalg.eigh(metric[np.ix_(numbers, numbers)])
        # a model saved before the floor has a pseudo-inverse: its constraints weigh 0 (skipped)
        k = int(np.argmax(weights > 1e-6 * max(float(weights[-1]), 1e-300)))  # float32 noise
        axis = directions[:, k] * np.sign(directions[np.argmax(np.abs(directions[:, k])), k])
        step[numbers] = GRADIENT_NOVELTY * axis / np.sqrt(max(float(weights[k]), 1e-300))
    return step


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


def _raw_columns(names: list[str], dated: dict[str, str], row: np.ndarray) -> dict[str, object]:
    """One site's inputs as the raw columns a table to score has (`dated`: `date_inputs`)."""
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
            columns[name] = float(value)
    return columns
