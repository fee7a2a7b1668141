"""Species written as marks: `x`, `+`, Braun-Blanquet cover codes, yes/no, TRUE/FALSE.

Vegetation releves and spreadsheet exports often mark a species where it was found and leave the
cell empty where it was not. A label cell may hold a whole count (0 = absent), a presence mark or
an absence mark. When any label cell of a table holds a presence mark, the table writes presence
with marks, and an empty cell in any of its label columns is absence; in a table of numbers only,
an empty label cell stays missing (an error), since there it may mean "not surveyed".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cgmvae.data import DataError
from cgmvae.formats.encode import short_list
from cgmvae.formats.text_table import non_numeric

# Compared lower-case. Braun-Blanquet cover codes: r, +, 1, 2 (2m, 2a, 2b), 3, 4, 5; the digits
# read as numbers (a count > 0 is presence).
PRESENCE_MARKS = frozenset({"x", "+", "r", "*", "\u2713", "yes", "y", "true", "present",
                            "2m", "2a", "2b"})
ABSENCE_MARKS = frozenset({"-", ".", "no", "n", "false", "absent"})
# Marks a column of species is written with; yes/no and true/false columns are as often
# covariates (grazed: yes/no), so the column-role guess does not count them as species.
RELEVE_MARKS = frozenset({"x", "+", "r", "*", "\u2713", "2m", "2a", "2b"})
MARKS_HELP = ("0/1, counts, or presence marks (x, +, r, Braun-Blanquet codes, yes/no, "
              "true/false) with empty cells for absence")


def read_marks(text: pd.Series, numbers: np.ndarray, bad: np.ndarray, name: str, where: str,
               first_row: int = 0) -> tuple[np.ndarray, bool]:
    """Read the non-numeric cells `bad` of the label column `name` as marks.

    Parameters
    ----------
    text : the column's cells as text.
    numbers, bad : `to_number(text)`: numbers (NaN where missing) and the non-numeric rows.
    where, first_row : the file, and the table row of the column's first cell, for messages.

    Returns
    -------
    (numbers with presence marks as 1 and absence marks as 0, whether a presence mark was read)

    Raises
    ------
    DataError naming the column, the row and the value of a cell that is no number or mark.
    """
    values = numbers.copy()
    if not bad.size:
        return values, False
    cells = text.iloc[bad].astype(str).str.strip().str.lower().to_numpy()
    present = np.isin(cells, list(PRESENCE_MARKS))
    absent = np.isin(cells, list(ABSENCE_MARKS))
    unknown = bad[~(present | absent)]
    if unknown.size:
        message = non_numeric(text, name, unknown, first_row=first_row, where=where)
        raise DataError(f"{where}: label {message}: labels must be {MARKS_HELP}")
    values[bad[present]] = 1.0
    values[bad[absent]] = 0.0
    return values, bool(present.any())


def empty_cells(text: pd.Series) -> np.ndarray:
    """True where a cell is empty (null or blank), not a missing-value word like NA."""
    return text.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()


def is_marked_column(text: pd.Series) -> bool:
    """Whether a text column reads as species written with releve marks (`x`, `+`, cover codes):
    every filled cell a mark or a whole number 0-5, at least one such mark. For guessing roles."""
    cells = text[~empty_cells(text)].astype(str).str.strip().str.lower()
    if cells.empty:
        return False
    known = cells.isin(RELEVE_MARKS | ABSENCE_MARKS - {"no", "n", "false", "absent"}
                       | {"0", "1", "2", "3", "4", "5"})
    return bool(known.all() and cells.isin(RELEVE_MARKS).any())


def marks_notice(marked: list[str], labels: list[str]) -> list[str]:
    """The notice a table read with presence marks gives ([] when none was): which of the label
    columns `labels` held marks (`marked`)."""
    if not marked:
        return []
    which = (f"all {len(labels)} label columns" if len(marked) == len(labels) else
             f"{len(marked)} of {len(labels)} label columns ({short_list(marked)})")
    return [f"read presence marks in {which}: a mark (x, +, r, a cover code, yes, true) is "
            "presence; an empty cell, '-', '.', no or false is absence"]
