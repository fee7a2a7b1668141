"""Date covariates: read as a year and a day of the year in every reader (whole CSV, big table,
streamed Parquet, records), so a site surveyed on a date the model never saw can be scored."""

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, Split
from cgmvae.formats import load_csv
from cgmvae.formats.big_table import load_table
from cgmvae.formats.dates import date_parts, is_date_column, typical_date
from cgmvae.formats.model_input import (
    input_columns,
    predict_csv,
    read_feature_table,
)
from cgmvae.formats.records import zero_fill_records
from cgmvae.formats.template import template_frame
from cgmvae.formats.tables import guess_roles
from cgmvae.streaming import fit_streamed, plan_streamed_table, predict_in_chunks, read_rows
from cgmvae.train import fit

TINY = ModelConfig(embedding_dim=8, latent_dim=2, feature_hidden=(8,), label_hidden=(8,),
                   decoder_hidden=(8,))
SURVEYS = ("plot;surveyed;elev;sp_a;sp_b\nP1;2024-05-02;1,5;1;0\nP2;2024-06-11;2;0;1\n"
           "P3;2024-05-02;3;1;1\nP4;2023-07-30;2,5;0;0\nP5;03.08.2023;4;1;0\nP6;2022-04-12;1;0;1\n")
# year and day of year of the six survey dates
YEAR_DAY = [[2024, 123], [2024, 163], [2024, 123], [2023, 211], [2023, 215], [2022, 102]]


def write(path, text):
    path.write_text(text)
    return path


def test_a_date_is_its_year_and_day_of_year_in_each_way_it_is_written():
    cells = pd.Series(["2019-05-03", "2020-01-02T06:30", "2019-12-31/2020-01-01", "",
                       "3.5.2019", "31.12.2020 06:30", "2019-05-03 06:30:00", "NA"])
    assert is_date_column(cells)
    np.testing.assert_array_equal(date_parts(cells, "d", "t.csv"), [
        [2019, 123], [2020, 2], [2019, 365], [np.nan, np.nan], [2019, 123], [2020, 366],
        [2019, 123], [np.nan, np.nan]])


@pytest.mark.parametrize("cells", [["5/3/2019", "6/3/2019"], ["2019", "2020"], ["x", "2019-01-01"],
                                   ["", "NA"], ["2019-05", "2019-06"]])
def test_what_is_not_a_date_column(cells):
    """Slashed dates are month-first or day-first (which, no one can tell), a bare year is a
    number, and a column must hold dates in every present cell."""
    assert not is_date_column(pd.Series(cells))


def test_a_day_that_does_not_exist_is_named_with_its_row():
    with pytest.raises(DataError, match=re.escape("t.csv: column 'd' holds the date '2019-02-30' "
                                                  "at data row 2 (line 3), which does not exist")):
        date_parts(pd.Series(["2019-02-28", "2019-02-30"]), "d", "t.csv")
    with pytest.raises(DataError, match=re.escape("column 'd' holds dates, but has 'soon' at data "
                                                  "row 1 (line 2)")):
        date_parts(pd.Series(["soon", "2019-02-28"]), "d", "t.csv")


def test_the_whole_file_and_the_big_table_reader_read_dates_as_two_numbers(tmp_path):
    path = write(tmp_path / "plots.csv", SURVEYS)
    for data in (load_csv(path, labels=["sp_a", "sp_b"]),
                 load_table(path, labels=["sp_a", "sp_b"], batch_rows=2)):
        assert data.feature_names == ["surveyed_year", "surveyed_day_of_year", "elev"]
        np.testing.assert_array_equal(data.features[:, :2], YEAR_DAY)
        np.testing.assert_allclose(data.features[:, 2], [1.5, 2, 3, 2.5, 4, 1])
        notice = next(n for n in data.notices if "date column" in n)
        assert "surveyed" in notice and "can be scored" in notice


def test_a_missing_date_is_filled_like_any_number_or_refused(tmp_path):
    path = write(tmp_path / "plots.csv", SURVEYS.replace("2024-06-11", ""))
    with pytest.raises(DataError, match="missing value in column 'surveyed_year'"):
        load_csv(path, labels=["sp_a", "sp_b"])
    data = load_csv(path, labels=["sp_a", "sp_b"], impute="median")
    assert data.features[1, 0] == 2023.0 and data.features[1, 1] == 123.0


def test_a_date_column_named_categorical_stays_one_hot_with_a_warning(tmp_path):
    path = write(tmp_path / "plots.csv", SURVEYS)
    write(tmp_path / "plots.json", '{"labels": ["sp_a", "sp_b"], "categorical": ["surveyed"]}')
    data = load_csv(path)
    assert "surveyed=2024-05-02" in data.feature_names
    assert any("cannot score a site surveyed on a date it never saw" in n for n in data.notices)


def test_the_app_guesses_a_date_on_every_row_as_a_covariate_not_an_id():
    frame = pd.read_csv(pd.io.common.StringIO(SURVEYS.replace("P3;2024-05-02", "P3;2024-05-09")),
                        sep=";", dtype=str)
    assert guess_roles(frame) == {"id": ["plot"], "labels": ["sp_a", "sp_b"],
                                  "features": ["surveyed", "elev"]}


@pytest.fixture(scope="module")
def dated_model(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("dates") / "plots.csv", SURVEYS)
    data = load_csv(path, labels=["sp_a", "sp_b"])
    split = Split(train=np.arange(4), val=np.arange(4, 6), test=np.arange(0))
    return fit(data, split, model_config=TINY, train_config=TrainConfig(max_epochs=1, device="cpu"))


def test_a_site_surveyed_on_a_new_date_is_scored_from_its_date_or_its_two_numbers(dated_model,
                                                                                  tmp_path):
    by_date = write(tmp_path / "new.csv", "plot,surveyed,elev\nQ1,2025-07-15,2\nQ2,15.07.2025,3\n")
    by_numbers = write(tmp_path / "numbers.csv", "plot,surveyed_year,surveyed_day_of_year,elev\n"
                                                 "Q1,2025,196,2\nQ2,2025,196,3\n")
    features = read_feature_table(by_date, dated_model.feature_names)
    np.testing.assert_array_equal(features, [[2025, 196, 2], [2025, 196, 3]])
    np.testing.assert_array_equal(read_feature_table(by_numbers, dated_model.feature_names),
                                  features)
    whole = predict_csv(dated_model, by_date)
    assert whole["plot"].tolist() == ["Q1", "Q2"]
    out = tmp_path / "streamed.csv"
    assert predict_in_chunks(dated_model, by_date, out, chunk_rows=1) == 2
    np.testing.assert_allclose(pd.read_csv(out).iloc[:, 1:].to_numpy(float),
                               whole.iloc[:, 1:].to_numpy(float), rtol=1e-5)


def test_a_bad_date_to_score_is_named_in_both_predict_paths(dated_model, tmp_path):
    path = write(tmp_path / "new.csv", "plot,surveyed,elev\nQ1,2025-07-15,2\nQ2,2025-02-30,3\n")
    message = "column 'surveyed' holds the date '2025-02-30' at data row 2 (line 3)"
    with pytest.raises(DataError, match=re.escape(message)):
        read_feature_table(path, dated_model.feature_names)
    with pytest.raises(DataError, match=re.escape(message)):
        predict_in_chunks(dated_model, path, tmp_path / "out.csv", chunk_rows=1)
    assert not (tmp_path / "out.csv").exists()


def test_the_template_and_the_column_list_ask_for_the_date_itself(dated_model):
    assert input_columns(dated_model.feature_names) == {"surveyed": "date", "elev": []}
    template = template_frame(dated_model)
    assert list(template.columns) == ["surveyed", "elev"]
    year, day = np.mean(YEAR_DAY[:4], axis=0)  # the training rows' means: 2023.75 and 155
    assert template["surveyed"].iat[0] == typical_date(year, day) == "2024-06-03"
    assert read_feature_table(pd.io.common.StringIO(template.to_csv(index=False)),
                              dated_model.feature_names).shape == (3, 3)


@pytest.mark.parametrize("arrow_dates", [False, True])
def test_a_streamed_parquet_table_reads_dates_as_a_loaded_one_does(tmp_path, arrow_dates):
    """Dates stored as text or as Parquet's own date type."""
    n = 40
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    frame = pd.DataFrame({"site": [f"S{i}" for i in range(n)], "temp": rng.normal(size=n),
                          "surveyed": days.date if arrow_dates else days.strftime("%Y-%m-%d"),
                          "owl": rng.integers(0, 2, n), "jay": rng.integers(0, 2, n)})
    path = tmp_path / "survey.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=8)
    write(tmp_path / "survey.json", '{"id": "site", "labels": ["owl", "jay"]}')
    plan = plan_streamed_table(path)
    loaded = load_table(path)
    assert plan.feature_names == loaded.feature_names == [
        "temp", "surveyed_year", "surveyed_day_of_year"]
    features, _ = read_rows(plan, range(5))  # every row group, in file order
    np.testing.assert_array_equal(features, loaded.features)
    np.testing.assert_array_equal(features[:, 1:], np.column_stack([days.year, days.day_of_year]))
    model = fit_streamed(plan, model_config=TINY, train_config=TrainConfig(max_epochs=1,
                                                                           device="cpu"))
    assert predict_in_chunks(model, path, tmp_path / "out.csv", chunk_rows=16) == n


def test_records_keep_the_date_and_train_on_its_year_and_day_of_year():
    records = pd.DataFrame({
        "eventID": ["e1", "e1", "e2", "e3"], "scientificName": ["a", "b", "a", "b"],
        "eventDate": ["2019-05-03", "2019-05-03", "2020-01-02T06:30", "2019-12-31/2020-01-01"],
        "decimalLatitude": ["46.5", "46.5", "47", "45.25"]})
    table = zero_fill_records(records, sites=["eventID"], species="scientificName")
    assert table.covariates == ["eventDate", "decimalLatitude"]
    data = table.as_data("events")
    assert data.feature_names == ["eventDate_year", "eventDate_day_of_year", "decimalLatitude"]
    np.testing.assert_array_equal(data.features[:, :2], [[2019, 123], [2020, 2], [2019, 365]])
