"""Species written as marks (`x`, `+`, Braun-Blanquet codes, yes/no) with empty cells for
absence, read alike by every loader: a whole CSV, a big table by batches, two tables, streamed
Parquet."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cgmvae.data import DataError
from cgmvae.formats import (
    guess_roles,
    load_csv,
    load_frame_with_roles,
    load_table,
    load_two_tables,
    read_csv_table,
)
from cgmvae.streaming import plan_streamed_table

# A releve table as a German Excel exports it: `;`, decimal commas, `x` / cover codes / empty.
RELEVES = """Aufnahme;pH;Exposition;Dryas;Nardus;Carex;Orchis
A1;7,5;N;x;;2m;
A2;4,8;S;;x;+;x
A3;6,1;W;r;.;;
A4;5,0;N;;X;3;-
A5;7,9;S;x;;;
"""
EXPECTED = np.array([[1, 0, 1, 0],
                     [0, 1, 1, 1],
                     [1, 0, 0, 0],
                     [0, 1, 1, 0],
                     [1, 0, 0, 0]], dtype=np.float32)
SPECIES = ["Dryas", "Nardus", "Carex", "Orchis"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_marks_are_presence_and_empty_cells_absence_with_a_notice(tmp_path):
    data = load_csv(write(tmp_path / "releves.csv", RELEVES), labels=SPECIES, ids=["Aufnahme"])
    np.testing.assert_array_equal(data.labels, EXPECTED)
    assert data.sample_ids == ["A1", "A2", "A3", "A4", "A5"]
    assert data.feature_names == ["pH", "Exposition=N", "Exposition=S", "Exposition=W"]
    np.testing.assert_allclose(data.features[:, 0], [7.5, 4.8, 6.1, 5.0, 7.9])
    notice = next(n for n in data.notices if "presence marks" in n)
    assert "all 4 label columns" in notice and "empty cell" in notice


def test_yes_no_and_true_false_columns_read_as_presence_and_absence(tmp_path):
    text = "site,temp,owl,jay\nS1,1,yes,TRUE\nS2,2,no,FALSE\nS3,3,Yes,\n"
    data = load_csv(write(tmp_path / "sites.csv", text), labels=["owl", "jay"], ids=["site"])
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 0], [1, 0]])


def test_the_big_table_reader_agrees_batch_by_batch(tmp_path):
    """Batches of 2 rows: the first batch of `Orchis` is all empty, before any mark in it."""
    path = write(tmp_path / "releves.csv", RELEVES)
    whole = load_csv(path, labels=SPECIES, ids=["Aufnahme"])
    batched = load_table(path, labels=SPECIES, ids=["Aufnahme"], batch_rows=2)
    np.testing.assert_array_equal(batched.labels, whole.labels)
    assert batched.labels.dtype == np.uint8
    assert [n for n in batched.notices if "presence marks" in n] == [
        n for n in whole.notices if "presence marks" in n]


def test_the_app_guesses_marked_columns_as_species_and_loads_them(tmp_path):
    frame = read_csv_table(write(tmp_path / "releves.csv", RELEVES))
    roles = guess_roles(frame)
    assert roles == {"id": ["Aufnahme"], "labels": SPECIES, "features": ["pH", "Exposition"]}
    data = load_frame_with_roles(frame, ids=roles["id"], labels=roles["labels"],
                                 features=roles["features"], name="releves.csv")
    np.testing.assert_array_equal(data.labels, EXPECTED)


def test_an_empty_column_of_a_marked_table_is_a_species_recorded_nowhere(tmp_path):
    """In an export that marks presence with x and leaves absence empty, a species found at no
    site is an empty column: before, the guess made it a covariate and loading failed on its
    missing values."""
    text = RELEVES.replace("Orchis\n", "Orchis;Ophrys\n").replace("\n", ";\n").replace(
        "Orchis;Ophrys;", "Orchis;Ophrys")
    frame = read_csv_table(write(tmp_path / "releves.csv", text))
    roles = guess_roles(frame)
    assert roles["labels"] == [*SPECIES, "Ophrys"] and roles["features"] == ["pH", "Exposition"]
    data = load_frame_with_roles(frame, ids=roles["id"], labels=roles["labels"],
                                 features=roles["features"], name="releves.csv")
    np.testing.assert_array_equal(data.labels[:, :4], EXPECTED)
    assert not data.labels[:, 4].any()


def test_cover_codes_are_not_demoted_to_covariates_in_a_mostly_binary_table():
    """A 0/1 table would read a column of whole numbers 1-5 as a score (a covariate); a column
    written with cover codes (`+`, `r`) is a species."""
    frame = pd.DataFrame({"plot": ["P1", "P2", "P3"], "a": [0, 1, 1], "b": [1, 0, 1],
                          "c": [1, 1, 0], "cover": ["+", "3", ""], "stage": [0, 3, 5],
                          "grazed": ["yes", "no", "yes"]})
    roles = guess_roles(frame)
    assert roles["labels"] == ["a", "b", "c", "cover"]
    assert roles["features"] == ["stage", "grazed"]  # yes/no is as often a covariate


def test_two_tables_read_marks_in_the_species_table(tmp_path):
    species = write(tmp_path / "species.csv", "site;owl;jay\nS2;;x\nS1;x;\nS3;x;x\n")
    sites = write(tmp_path / "sites.csv", "site,temp\nS1,1\nS2,2\nS3,3\n")
    data = load_two_tables(species, sites, "site")
    np.testing.assert_array_equal(data.labels, [[0, 1], [1, 0], [1, 1]])
    np.testing.assert_allclose(data.features[:, 0], [2, 1, 3])


@pytest.mark.parametrize("batch_rows", [None, 2])
def test_a_numbers_only_table_keeps_an_empty_label_cell_an_error_with_advice(tmp_path,
                                                                            batch_rows):
    path = write(tmp_path / "sites.csv", "site,temp,owl,jay\nS1,1,1,0\nS2,2,0,1\nS3,3,,1\n")
    with pytest.raises(DataError, match=r"label 'owl' has value missing at data row 3 "
                                        r"\(line 4\).*write 0 where the species was not found"):
        if batch_rows is None:
            load_csv(path, labels=["owl", "jay"], ids=["site"])
        else:
            load_table(path, labels=["owl", "jay"], ids=["site"], batch_rows=batch_rows)


@pytest.mark.parametrize("batch_rows", [None, 2])
def test_an_unknown_mark_names_column_row_and_the_accepted_marks(tmp_path, batch_rows):
    path = write(tmp_path / "releves.csv", RELEVES.replace("A5;7,9;S;x;", "A5;7,9;S;vielleicht;"))
    with pytest.raises(DataError, match=r"releves.csv: label column 'Dryas' has the non-numeric "
                                        r"value 'vielleicht' at data row 5 \(line 6\).*presence "
                                        r"marks \(x, \+, r"):
        if batch_rows is None:
            load_csv(path, labels=SPECIES, ids=["Aufnahme"])
        else:
            load_table(path, labels=SPECIES, ids=["Aufnahme"], batch_rows=batch_rows)


def test_a_missing_word_is_never_read_as_absence(tmp_path):
    """NA says "not recorded"; only an empty cell (or `-`, `.`, no) is an absence."""
    path = write(tmp_path / "releves.csv", RELEVES.replace("A3;6,1;W;r;.;;", "A3;6,1;W;r;.;NA;"))
    with pytest.raises(DataError, match="label 'Carex' has value missing at data row 3"):
        load_csv(path, labels=SPECIES, ids=["Aufnahme"])


def test_a_streamed_parquet_table_reads_marks_and_empty_cells(tmp_path):
    n = 40
    rng = np.random.default_rng(0)
    present = rng.random((n, 2)) < 0.4
    marks = [pa.array(["x" if p else None for p in column]) for column in present.T]
    table = pa.table({"temp": rng.normal(size=n), "owl": marks[0], "jay": marks[1]})
    path = tmp_path / "sites.parquet"
    pq.write_table(table, path, row_group_size=5)
    plan = plan_streamed_table(path, labels=["owl", "jay"])
    assert plan.labels_marked
    assert any("presence marks in all 2 label columns" in n for n in plan.notices)
    reader = plan.reader(shuffle=False, batch_size=n, row_groups=list(range(8)))
    (_, labels), = list(reader)
    np.testing.assert_array_equal(labels.numpy(), present.astype(np.float32))
