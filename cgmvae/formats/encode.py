"""Column helpers shared by the loaders: yes/no values, missing values, label checks, notices."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cgmvae.data import DataError, Split

IMPUTE_CHOICES = (None, "median")
VAL_FRACTION = 0.1  # of the training rows, as in shared/data/splits

# Two category names that mean absent/present; compared lower-case.
_BINARY_WORDS = {"0": 0, "1": 1, "no": 0, "yes": 1, "false": 0, "true": 1, "n": 0, "y": 1}


def check_impute(impute: str | None) -> None:
    """Raise DataError unless `impute` is None or "median"."""
    if impute not in IMPUTE_CHOICES:
        raise DataError(f"impute must be None or 'median', not {impute!r}")


def binary_map(categories: Sequence[str]) -> np.ndarray | None:
    """0/1 values of two categories that read as a yes/no pair ({0,1}, {YES,NO}...), else None."""
    if len(categories) != 2:
        return None
    mapped = [_BINARY_WORDS.get(str(c).strip().lower()) for c in categories]
    if None in mapped or sorted(mapped) != [0, 1]:
        return None
    return np.array(mapped, dtype=np.float32)


def check_unique_names(header: Sequence[str], where: str) -> None:
    """DataError naming `where` and the column names that occur more than once in `header`."""
    duplicated = sorted({h for h in header if list(header).count(h) > 1})
    if duplicated:
        raise DataError(f"{where}: duplicate column name(s) {short_list(duplicated)}")


def short_list(names: Sequence[str], limit: int = 8) -> str:
    """`a, b, c` or `a, b, ... (+12 more)` for messages."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... (+{len(names) - limit} more)"


def fill_missing(
    matrix: np.ndarray,
    names: Sequence[str],
    *,
    impute: str | None,
    describe_row: Callable[[int], str],
    where: str,
    statistic: str = "median",
) -> str | None:
    """Replace NaN in `matrix` (N, k) in place by each column's median (or mode) when imputing.

    Returns
    -------
    A notice saying what was filled, or None when nothing was missing.

    Raises
    ------
    DataError naming the first missing value's column and row when `impute` is None.
    """
    missing = np.isnan(matrix)
    if not missing.any():
        return None
    rows, cols = np.nonzero(missing)
    if impute is None:
        raise DataError(
            f"{where}: missing value in column '{names[cols[0]]}' at {describe_row(rows[0])} "
            f"({rows.size} missing values in all); fix the file or load with impute='median'"
        )
    bad_cols = np.unique(cols)
    for j in bad_cols:
        present = matrix[~missing[:, j], j]
        if present.size == 0:
            raise DataError(f"{where}: column '{names[j]}' has no values at all: cannot impute")
        matrix[missing[:, j], j] = _statistic(present, statistic)
    filled = short_list([names[j] for j in bad_cols])
    return f"filled {rows.size} missing values with the column {statistic} ({filled})"


def _statistic(values: np.ndarray, statistic: str) -> float:
    if statistic == "mode":
        uniques, counts = np.unique(values, return_counts=True)
        return uniques[np.argmax(counts)]
    return np.median(values)


def binarize_labels(
    labels: np.ndarray,
    names: Sequence[str],
    *,
    describe_row: Callable[[int], str],
    where: str,
) -> tuple[np.ndarray, list[str]]:
    """Check labels (N, L) are 0/1 or counts; counts become presence (> 0).

    Returns
    -------
    (labels as float32 0/1, notices about counts converted and labels never present)

    Raises
    ------
    DataError naming the label and row of a missing, negative or fractional value.
    """
    labels = np.asarray(labels, dtype=np.float64)
    bad = np.isnan(labels) | (labels < 0) | (labels != np.round(labels))
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        value = "missing" if np.isnan(labels[row, col]) else f"{labels[row, col]:g}"
        raise DataError(
            f"{where}: label '{names[col]}' has value {value} at {describe_row(row)}: "
            "labels must be 0/1 (or whole counts, read as presence)"
            + ("; write 0 where the species was not found (an empty cell reads as absence only "
               "in a table that marks presence with x or +)" if value == "missing" else "")
        )
    notices = []
    counted = labels.max(axis=0, initial=0) > 1
    if counted.any():
        notices.append(
            f"{int(counted.sum())} label columns held counts (max {labels.max():g}): "
            f"read as presence = count > 0 ({short_list(np.asarray(names)[counted])})"
        )
    binary = (labels > 0).astype(np.float32)
    notices += never_present_notice(binary, names)
    return binary, notices


def never_present_notice(labels: np.ndarray, names: Sequence[str]) -> list[str]:
    """A one-item list warning about labels with no positive row, else []."""
    absent = labels.sum(axis=0) == 0
    if not absent.any():
        return []
    return [
        f"{int(absent.sum())} labels are never present: {short_list(np.asarray(names)[absent])}"
    ]


def train_test_split(n_train: int, n_samples: int, *, seed: int = 0) -> Split:
    """Rows 0..n_train-1 are training data, the rest test; val = a seeded 10% of the training rows.

    Matches `shared/data/splits/<name>.json` of the Mulan train/test pairs (val = sorted first 10%
    of `default_rng(seed).permutation(n_train)`).
    """
    order = np.random.default_rng(seed).permutation(n_train)
    n_val = round(VAL_FRACTION * n_train)
    return Split(np.sort(order[n_val:]), np.sort(order[:n_val]), np.arange(n_train, n_samples))
