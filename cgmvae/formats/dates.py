"""Date columns as the two numbers a model can use: the year (a trend) and the day of the year
(the season). A date is one-hot encoded nowhere: a site surveyed on a date the model never saw
must still be scored. A date column `D` becomes the inputs `D_year` and `D_day_of_year`, and a
table to score may give either those two numbers or the column `D` itself."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.text_table import describe_row, is_missing

PARTS = ("year", "day_of_year")
# A date as ISO writes it (and as Excel dates are read): 2019-05-03, 2019-05-03T06:30, or an
# interval 2019-05-03/2019-05-05 (its start); or day first with dots, as German, Swiss and
# Scandinavian field sheets write it: 3.5.2019, 03.05.2019 06:30. Slashed dates (5/3/2019) are
# not read: month-first and day-first cannot be told apart.
_ISO = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:$|[T /])")
_DOTTED = re.compile(r"^(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})(?:$|[T ])")
_FORMATS = (_ISO, _DOTTED)


def part_names(name: str) -> list[str]:
    """The model inputs of the date column `name`: `name_year`, `name_day_of_year`."""
    return [f"{name}_{part}" for part in PARTS]


def is_date_column(column: pd.Series) -> bool:
    """Whether a text column has a present cell and every present cell starts with a date (ISO,
    or day.month.year)."""
    present = column[~is_missing(column)].astype("string").str.strip()
    if present.empty or not any(pattern.match(present.iat[0]) for pattern in _FORMATS):
        return False  # most columns are numbers or words: decided on their first cell
    dated = np.zeros(len(present), dtype=bool)
    for pattern in _FORMATS:
        dated |= present.str.match(pattern).to_numpy(dtype=bool)
    return bool(dated.all())


def date_parts(column: pd.Series, name: str, where: str, first_row: int = 0) -> np.ndarray:
    """(N, 2) float64 year and day of year of a date column, NaN where a cell is missing;
    DataError naming the row of a cell that is not a date or names a day that does not exist
    (2019-02-30)."""
    missing = is_missing(column)
    text = column.astype("string").str.strip().where(~missing)
    parts = text.str.extract(_ISO)
    for pattern in _FORMATS[1:]:  # each cell in the first format it is written in
        parts = parts.fillna(text.str.extract(pattern)[list(parts.columns)])
    bad = np.flatnonzero(parts["year"].isna().to_numpy() & ~missing)
    if bad.size:
        raise DataError(f"{where}: column '{name}' holds dates, but has {text.iat[bad[0]]!r} at "
                        f"{describe_row(first_row + int(bad[0]), where)}")
    dates = pd.to_datetime(parts[["year", "month", "day"]].astype(float), errors="coerce")
    wrong = np.flatnonzero(dates.isna().to_numpy() & ~missing)
    if wrong.size:
        raise DataError(f"{where}: column '{name}' holds the date {text.iat[wrong[0]]!r} at "
                        f"{describe_row(first_row + int(wrong[0]), where)}, which does not exist")
    return np.column_stack([dates.dt.year.to_numpy(dtype=np.float64, na_value=np.nan),
                            dates.dt.day_of_year.to_numpy(dtype=np.float64, na_value=np.nan)])


def date_source(feature: str, present: set[str]) -> tuple[str, int] | None:
    """(the date column, 0 for the year or 1 for the day of year) that the model input `feature`
    (`D_year`, `D_day_of_year`) is read from, when the table has the column `D` and not the
    input itself; else None."""
    for index, part in enumerate(PARTS):
        suffix = f"_{part}"
        if feature.endswith(suffix) and feature[:-len(suffix)] in present:
            return feature[:-len(suffix)], index
    return None


def date_inputs(feature_names) -> dict[str, str]:
    """Each pair of model inputs that a date column `D` gives (`D_year` and `D_day_of_year`,
    both present) as input -> `D`."""
    present = set(feature_names)
    columns = [name.removesuffix("_year") for name in feature_names
               if name.endswith("_year") and not name.endswith("_day_of_year")]
    return {part: column for column in columns if set(part_names(column)) <= present
            for part in part_names(column)}


def typical_date(year: float, day_of_year: float) -> str:
    """An ISO date for a year and a day of the year (rounded, within the year's days)."""
    year = round(float(year))
    days = pd.Timestamp(year=year, month=12, day=31).day_of_year
    day = min(max(round(float(day_of_year)), 1), days)
    return (pd.Timestamp(year=year, month=1, day=1) + pd.Timedelta(days=day - 1)).date().isoformat()
