"""Big tables: Parquet read like CSV (sidecar, options, messages), CSV read batch by batch into the
same data as the text reader, and CSV converted to Parquet."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cgmvae import formats
from cgmvae.cli import main
from cgmvae.data import DataError
from cgmvae.formats import (
    load_csv,
    load_dataset,
    load_table,
    load_two_tables,
    read_feature_table,
    read_id_columns,
)
from cgmvae.formats.arrow_text import column_text
from cgmvae.formats.parquet import ROW_GROUP_ROWS, column_numbers, convert_csv

SIDECAR = {"id": "site", "features": ["temp", "region", "alti"], "labels": ["sp_a", "sp_b"]}


def sites(n: int = 40, separator: str = ",", decimal: str = ".") -> str:
    """n sites: an id with leading zeros, a number, a category, a class code, a count species."""
    rng = np.random.default_rng(n)
    lines = [separator.join(["site", "temp", "region", "alti", "sp_a", "sp_b"])]
    for i in range(n):
        temp = f"{rng.normal(10, 5):.3f}".replace(".", decimal)
        lines.append(separator.join([
            f"{i:03d}", temp, ["north", "south", "east"][i % 3], f"A{600 + 100 * (i % 4):04d}",
            str(i % 2), str(int(rng.integers(0, 4)))]))
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, sidecar: dict | None = None) -> Path:
    path.write_text(text)
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def assert_same_data(found, expected):
    assert found.feature_names == expected.feature_names
    assert found.label_names == expected.label_names
    np.testing.assert_allclose(found.features, expected.features, rtol=1e-6)
    np.testing.assert_array_equal(found.labels, expected.labels)
    assert found.sample_ids == expected.sample_ids
    assert found.notices == expected.notices
    assert found.name == expected.name


# ------------------------------------------------------------- chunked CSV = the text reader
@pytest.mark.parametrize("separator, decimal", [(",", "."), (";", ","), ("\t", ".")])
def test_csv_read_in_small_batches_equals_the_text_reader(tmp_path, separator, decimal):
    path = write(tmp_path / "sites.csv", sites(40, separator, decimal), SIDECAR)
    assert_same_data(load_table(path, batch_rows=4), load_csv(path))


@pytest.mark.parametrize("options", [
    {"label_prefix": "sp_"},
    {"labels": ["sp_b"]},
    {"label_prefix": "sp_", "ids": ["site", "region"]},
])
def test_chunked_csv_takes_the_same_label_and_id_options(tmp_path, options):
    path = write(tmp_path / "sites.csv", sites(25))
    assert_same_data(load_table(path, batch_rows=3, **options), load_csv(path, **options))


def test_chunked_csv_imputes_like_the_text_reader(tmp_path):
    lines = sites(30).splitlines()
    lines[20] = ",".join(["019", "NA", *lines[20].split(",")[2:]])
    path = write(tmp_path / "gaps.csv", "\n".join(lines) + "\n", SIDECAR)
    found = load_table(path, batch_rows=4, impute="median")
    expected = load_csv(path, impute="median")
    assert_same_data(found, expected)
    assert "filled 1 missing values" in found.notices[0]


# ----------------------------------------------------------------------------- Parquet tables
@pytest.fixture()
def parquet_and_csv(tmp_path):
    csv_path = write(tmp_path / "sites.csv", sites(40), SIDECAR)
    return convert_csv(csv_path, tmp_path / "sites.parquet", row_group_rows=8), csv_path


def test_convert_keeps_ids_as_text_labels_as_uint8_and_copies_the_sidecar(parquet_and_csv):
    parquet_path, _ = parquet_and_csv
    parquet = pq.ParquetFile(parquet_path)
    types = dict(zip(parquet.schema_arrow.names, parquet.schema_arrow.types, strict=True))
    assert types == {"site": pa.string(), "temp": pa.float64(), "region": pa.string(),
                     "alti": pa.string(), "sp_a": pa.uint8(), "sp_b": pa.uint8()}
    assert parquet.metadata.num_row_groups == 5
    assert json.loads(parquet_path.with_suffix(".json").read_text()) == SIDECAR
    assert pq.read_table(parquet_path)["site"].to_pylist()[:3] == ["000", "001", "002"]


def test_parquet_with_its_sidecar_loads_like_the_csv(parquet_and_csv):
    parquet_path, csv_path = parquet_and_csv
    found, expected = load_dataset(parquet_path), load_csv(csv_path)
    assert_same_data(found, expected)
    assert found.sample_ids[:2] == ["000", "001"]
    assert load_csv(parquet_path).feature_names == expected.feature_names  # the text reader too


def test_parquet_takes_label_prefix_labels_and_ids_like_a_csv(parquet_and_csv):
    parquet_path, csv_path = parquet_and_csv
    parquet_path.with_suffix(".json").unlink()
    options = {"labels": ["sp_a"], "ids": ["site", "region"]}
    assert_same_data(load_dataset(parquet_path, **options), load_csv(csv_path, **options))


def test_typed_parquet_columns_read_as_numbers_counts_and_ids(tmp_path):
    table = pa.table({"plot": pa.array([7, 8, 9], pa.int64()),
                      "rain": pa.array([1.5, None, 2.0], pa.float32()),
                      "wet": pa.array([True, False, True]),
                      "owl": pa.array([0, 3, 1], pa.int16())})
    pq.write_table(table, tmp_path / "plots.parquet")
    data = load_dataset(tmp_path / "plots.parquet", labels=["owl"], impute="median", ids=["plot"])
    assert data.feature_names == ["rain", "wet"] and data.sample_ids == ["7", "8", "9"]
    np.testing.assert_allclose(data.features, [[1.5, 1], [1.75, 0], [2.0, 1]])
    np.testing.assert_array_equal(data.labels[:, 0], [0, 1, 1])
    assert any("held counts" in notice for notice in data.notices)


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_missing_label_column_is_named_with_the_columns(tmp_path, suffix):
    path = convert_or_keep(write(tmp_path / "t.csv", "a,b\n1,0\n2,1\n"), suffix)
    message = rf"t{suffix}: label column\(s\) owl not found; the columns are a, b"
    with pytest.raises(DataError, match=message):
        load_table(path, labels=["owl"])


@pytest.mark.parametrize("suffix, row", [(".csv", "data row 23 (line 24)"),
                                         (".parquet", "data row 23")])
def test_text_in_a_label_is_named_by_column_and_table_row_in_a_later_batch(tmp_path, suffix, row):
    lines = ["temp,owl"] + [f"{i}.5,{i % 2}" for i in range(30)]
    lines[23] = "22.5,maybe"
    path = convert_or_keep(write(tmp_path / "t.csv", "\n".join(lines) + "\n"), suffix)
    with pytest.raises(DataError, match=re.escape(
            f"label column 'owl' has the non-numeric value 'maybe' at {row} (1 such rows)")):
        load_table(path, labels=["owl"], batch_rows=5)


@pytest.mark.parametrize("suffix, row", [(".csv", "data row 18 (line 19)"),
                                         (".parquet", "data row 18")])
def test_missing_feature_value_is_named_by_column_and_row_unless_imputed(tmp_path, suffix, row):
    lines = ["temp,rain,owl"] + [f"{i}.5,{i},{i % 2}" for i in range(30)]
    lines[18] = "17.5,,1"
    path = convert_or_keep(write(tmp_path / "t.csv", "\n".join(lines) + "\n"), suffix)
    with pytest.raises(DataError, match=re.escape(
            f"missing value in column 'rain' at {row} (1 missing values in all)")):
        load_table(path, labels=["owl"], batch_rows=4)
    assert load_table(path, labels=["owl"], batch_rows=4, impute="median").features[17, 1] == 14


def test_a_typo_in_a_numeric_feature_is_named_not_one_hot_encoded(tmp_path):
    lines = ["temp,owl"] + [f"{i}.5,{i % 2}" for i in range(30)]
    lines[12] = "1O.5,1"
    path = write(tmp_path / "t.csv", "\n".join(lines) + "\n")
    message = "column 'temp' has the non-numeric value '1O.5' at data row 12"
    with pytest.raises(DataError, match=message):
        load_table(path, labels=["owl"], batch_rows=4)


@pytest.mark.parametrize("text, message", [
    ("", "t.csv is empty"),
    ("a,b\n", "t.csv has a header but no data rows"),
    ("a,a\n1,2\n", "duplicate column name"),
    ("a,b\n1,2\n3,4,5\n", "cannot read t.csv as a table separated by commas"),
])
def test_unreadable_csv_is_named(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_table(write(tmp_path / "t.csv", text), labels=["b"])


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    with pytest.raises(DataError, match=re.escape("cannot read t.parquet as Parquet")):
        load_dataset(write(tmp_path / "t.parquet", "a,b\n1,2\n"), labels=["b"])


def convert_or_keep(csv_path: Path, suffix: str) -> Path:
    return csv_path if suffix == ".csv" else convert_csv(csv_path, csv_path.with_suffix(suffix))


# -------------------------------------------------------------- the other readers and routing
def test_two_tables_prediction_inputs_and_ids_read_parquet_too(parquet_and_csv, tmp_path):
    parquet_path, csv_path = parquet_and_csv
    parquet_path.with_suffix(".json").write_text(json.dumps({"features": ["temp", "alti"]}))
    species = pd.read_csv(csv_path, dtype=str)[["site", "sp_a", "sp_b"]]
    species.to_csv(tmp_path / "species.csv", index=False)
    joined = load_two_tables(tmp_path / "species.csv", parquet_path, "site")
    assert joined.feature_names == ["temp", "alti"] and joined.n_samples == 40
    assert joined.sample_ids[:2] == ["000", "001"]
    one_hot = ["region=north", "region=south", "region=east"]
    features = read_feature_table(parquet_path, ["temp", *one_hot])
    np.testing.assert_allclose(features[:, 0], pd.read_csv(csv_path)["temp"], rtol=1e-6)
    upload = io.BytesIO(parquet_path.read_bytes())
    assert read_id_columns(upload, ["site"], name="new.parquet")["site"].iloc[1] == "001"


def test_load_dataset_reads_a_big_csv_in_batches(tmp_path, monkeypatch):
    path = write(tmp_path / "sites.csv", sites(10), SIDECAR)
    calls = []
    monkeypatch.setattr(formats, "CHUNKED_CSV_BYTES", 100)
    monkeypatch.setattr(formats, "load_table",
                        lambda *a, **k: calls.append(a) or load_table(*a, **k))
    assert_same_data(load_dataset(path), load_csv(path))
    assert calls == [(path,)]


@pytest.mark.parametrize("cells, numbers, bad", [
    (pa.array([" 1.5", "NA", "", None, "2e3", "inf"]),
     [1.5, np.nan, np.nan, np.nan, 2000, np.inf], [5]),
    (pa.array(["1", "x", "?"]), [1, np.nan, np.nan], [1]),
    (pa.array([1, None, 3], pa.int32()), [1, np.nan, 3], []),
    (pa.array([0.5, float("nan")]), [0.5, np.nan], []),
])
def test_column_numbers_reads_cells_as_to_number_does(cells, numbers, bad):
    found, found_bad = column_numbers(cells)
    np.testing.assert_array_equal(found, numbers)
    np.testing.assert_array_equal(found_bad, bad)


def test_column_text_writes_whole_numbers_without_a_point():
    assert column_text(pa.array([1.0, 0.25, None])).tolist() == ["1", "0.25", ""]
    assert column_text(pa.array([True, False])).tolist() == ["1", "0"]
    assert column_text(pa.array([" a ", None])).tolist() == ["a", ""]


def test_cli_converts_a_csv_to_parquet_with_its_sidecar(tmp_path, capsys):
    csv_path = write(tmp_path / "sites.csv", sites(12), SIDECAR)
    out = tmp_path / "sites.parquet"
    assert main(["convert", "--input", str(csv_path), "--output", str(out)]) == 0
    assert "and its sidecar" in capsys.readouterr().out
    assert_same_data(load_dataset(out), load_csv(csv_path))
    assert main(["convert", "--input", str(csv_path), "--output", str(tmp_path / "x.csv")]) == 2
    assert "must end in .parquet" in capsys.readouterr().err


def test_cli_convert_writes_the_row_groups_asked_for_and_refuses_a_bad_count(tmp_path, capsys):
    csv_path = write(tmp_path / "sites.csv", sites(12), SIDECAR)
    out = tmp_path / "sites.parquet"
    assert main(["convert", "--input", str(csv_path), "--output", str(out)]) == 0
    assert pq.ParquetFile(out).metadata.num_row_groups == 1  # the default holds 65,536 rows
    args = ["convert", "--input", str(csv_path), "--output", str(out), "--row-group-rows"]
    assert main([*args, "4"]) == 0
    assert [pq.ParquetFile(out).metadata.row_group(g).num_rows for g in range(3)] == [4, 4, 4]
    assert_same_data(load_dataset(out), load_csv(csv_path))
    assert main([*args, "0"]) == 2
    assert "--row-group-rows must be an integer >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    assert f"default {ROW_GROUP_ROWS:,}" in " ".join(capsys.readouterr().out.split())
