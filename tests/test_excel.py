"""Excel workbooks (.xlsx): the first sheet read as a CSV would be, by every table reader."""

import datetime as dt
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from cgmvae.data import DataError
from cgmvae.formats import guess_roles, load_csv, load_dataset, read_csv_table
from cgmvae.formats import excel as excel_format

openpyxl = pytest.importorskip("openpyxl")

HEADER = ["plot", "elev", "habitat", "grazed", "Parus major", "Sitta europaea", "surveyed"]
ROWS = [["P1", 1200, "forest", True, 1, 0, dt.datetime(2024, 5, 2)],
        ["P2", 1500.5, "meadow", False, 0, 1, dt.datetime(2024, 5, 3)],
        ["P3", 900, "forest", True, 1, 1, dt.datetime(2024, 5, 3)]]
SAME_AS_CSV = ("plot,elev,habitat,grazed,Parus major,Sitta europaea,surveyed\n"
               "P1,1200,forest,1,1,0,2024-05-02\nP2,1500.5,meadow,0,0,1,2024-05-03\n"
               "P3,900,forest,1,1,1,2024-05-03\n")


def workbook(path, rows=ROWS, header=HEADER, extra_sheet=True):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.cell(row=10, column=12).number_format = "0.00"  # formatting without a value
    if extra_sheet:
        book.create_sheet("notes").append(["collected by the county group"])
    book.save(path)
    return path


def test_the_first_sheet_reads_as_the_same_table_as_its_csv(tmp_path):
    book = workbook(tmp_path / "plots.xlsx")
    csv = tmp_path / "plots.csv"
    csv.write_text(SAME_AS_CSV)
    options = {"labels": ["Parus major", "Sitta europaea"], "ids": ["plot"], "impute": "median"}
    from_book, from_csv = load_dataset(book, **options), load_csv(csv, **options)
    np.testing.assert_array_equal(from_book.labels, from_csv.labels)
    np.testing.assert_array_equal(from_book.features, from_csv.features)
    assert from_book.feature_names == from_csv.feature_names
    assert from_book.sample_ids == ["P1", "P2", "P3"] and from_book.name == "plots"


def test_cells_become_the_text_a_csv_holds():
    header, body = excel_format.read_excel_cells(
        workbook(io.BytesIO(), extra_sheet=False), "plots.xlsx")
    assert header == HEADER
    assert body.iloc[0].tolist() == ["P1", "1200", "forest", "1", "1", "0", "2024-05-02"]
    assert body.iloc[1]["elev"] == "1500.5"


def test_an_upload_gets_its_roles_guessed(tmp_path):
    frame = read_csv_table(workbook(tmp_path / "plots.xlsx"))
    roles = guess_roles(frame)
    assert roles["id"] == ["plot"] and roles["labels"] == ["grazed", "Parus major",
                                                           "Sitta europaea"]


def test_a_sidecar_beside_the_workbook_names_its_roles(tmp_path):
    rows = [r[:6] for r in ROWS]
    book = workbook(tmp_path / "plots.xlsx", rows=rows, header=HEADER[:6])
    (tmp_path / "plots.json").write_text(
        '{"id": "plot", "labels": ["Parus major", "Sitta europaea"], "features": ["elev"]}')
    data = load_dataset(book)
    assert data.feature_names == ["elev"] and data.label_names == ["Parus major", "Sitta europaea"]
    rows[1][5] = None  # an empty species cell in a table of numbers: an error naming the row
    workbook(book, rows=rows, header=HEADER[:6])
    with pytest.raises(DataError, match=r"label 'Sitta europaea' has value missing at data row 2:"):
        load_dataset(book)


def test_predictions_for_a_workbook_equal_those_for_its_csv(tmp_path):
    from cgmvae.config import TrainConfig
    from cgmvae.data import random_split
    from cgmvae.streaming import predict_in_chunks
    from cgmvae.train import fit

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"site": [f"S{k}" for k in range(40)], "temp": rng.normal(size=40),
                          "owl": rng.random(40) < 0.5, "jay": rng.random(40) < 0.5})
    frame[["owl", "jay"]] = frame[["owl", "jay"]].astype(int)
    csv = tmp_path / "sites.csv"
    frame.to_csv(csv, index=False)
    book = openpyxl.Workbook()
    book.active.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        book.active.append(list(row))
    book.save(tmp_path / "sites.xlsx")
    data = load_csv(csv, labels=["owl", "jay"], ids=["site"])
    model = fit(data, random_split(40), train_config=TrainConfig(max_epochs=2, batch_size=16))
    assert predict_in_chunks(model, tmp_path / "sites.xlsx", tmp_path / "a.csv") == 40
    predict_in_chunks(model, csv, tmp_path / "b.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


@pytest.mark.parametrize("name, content, message", [
    ("plots.xlsx", b"not a workbook", r"cannot read plots.xlsx as an Excel workbook .*old \.xls"),
    ("plots.xls", b"\xd0\xcf\x11\xe0", r"an old binary Excel file; save it as \.xlsx or CSV"),
])
def test_files_that_are_not_workbooks_get_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_dataset(path, labels=["a"])


def test_empty_and_badly_headed_sheets_are_named(tmp_path):
    empty = openpyxl.Workbook()
    empty.active.title = "Tabelle1"
    empty.save(tmp_path / "empty.xlsx")
    with pytest.raises(DataError, match=r"empty\.xlsx is empty .*'Tabelle1'"):
        read_csv_table(tmp_path / "empty.xlsx")
    unnamed = workbook(tmp_path / "unnamed.xlsx", header=[*HEADER[:-1], None])
    with pytest.raises(DataError, match=r"column\(s\) 7 of sheet 'survey' have values but no name"):
        read_csv_table(unnamed)
    twice = workbook(tmp_path / "twice.xlsx", header=[*HEADER[:-1], "elev"])
    with pytest.raises(DataError, match="duplicate column name"):
        read_csv_table(twice)


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_before_parsing(tmp_path, monkeypatch):
    book = workbook(tmp_path / "plots.xlsx")
    with zipfile.ZipFile(book) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(excel_format, "MAX_UNPACKED_BYTES", unpacked - 1)
    with pytest.raises(DataError, match="more than a spreadsheet holds: save the sheet as CSV"):
        read_csv_table(book)


def test_xml_entities_in_a_sheet_are_refused_not_expanded(tmp_path):
    """A "billion laughs" sheet: its entities are never expanded (defusedxml, or the reader's
    own parser), and the user gets one line."""
    plain = workbook(tmp_path / "plain.xlsx", extra_sheet=False)
    hostile = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                entities = ('<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">'
                            '<!ENTITY c "&b;&b;&b;&b;&b;">]>')
                data = data.decode().replace("?>", "?>" + entities, 1).replace(
                    "<v>1200</v>", "<v>&c;</v>").encode()
            target.writestr(item, data)
    with pytest.raises(DataError, match=r"cannot read laughs\.xlsx as an Excel workbook"):
        read_csv_table(hostile)


def test_a_sheet_without_a_header_row_reads_as_its_csv_does(tmp_path):
    matrix = [[0.25, -1.5, 1, 0], [1.75, 0.5, 0, 0], [-0.5, 2.25, 1, 1]]
    workbook(tmp_path / "m.xlsx", rows=matrix[1:], header=matrix[0])
    (tmp_path / "m.csv").write_text("\n".join(",".join(str(v) for v in row) for row in matrix))
    for name in ("m.xlsx", "m.csv"):
        table = read_csv_table(tmp_path / name)
        assert list(table.columns) == ["V1", "V2", "V3", "V4"] and table.attrs["headerless"]
        np.testing.assert_allclose(table.to_numpy(dtype=float), matrix)
