"""Occurrence records (one row per species found at a site) zero-filled into a site x species table:
`cgmvae.formats.records` and `python -m cgmvae records`."""

import json

import numpy as np
import pandas as pd
import pytest

from cgmvae.cli import main
from cgmvae.data import DataError
from cgmvae.formats import load_dataset
from cgmvae.formats.records import load_records, read_records, zero_fill_records

CAPTURES = """plot;year;month;species;weight;habitat;cover
007;1977;7;DM;40,5;shrub;12,5
007;1977;7;PP;20,0;shrub;12,5
007;1977;7;DM;41,0;shrub;12,5
008;1977;7;PP;18,0;grass;3,0
008;1977;8;;;grass;3,0
009;1977;7;OT;22,0;grass;7,0
"""


@pytest.fixture
def captures(tmp_path):
    path = tmp_path / "captures.csv"
    path.write_text(CAPTURES)  # a European export: `;` and decimal commas
    return path


def presence(table, site_values):
    frame = table.frame.set_index(table.id_column)
    return {site: {s: int(frame.loc[site, s]) for s in table.species} for site in site_values}


def test_a_species_without_a_record_at_a_surveyed_site_is_absent(captures):
    table = zero_fill_records(read_records(captures), sites=["plot", "year", "month"],
                              species="species", where="captures.csv")
    assert table.species == ["DM", "OT", "PP"] and table.id_column == "site"
    assert presence(table, ["007_1977_7", "008_1977_7", "008_1977_8", "009_1977_7"]) == {
        "007_1977_7": {"DM": 1, "OT": 0, "PP": 1},  # DM twice is once present
        "008_1977_7": {"DM": 0, "OT": 0, "PP": 1},
        "008_1977_8": {"DM": 0, "OT": 0, "PP": 0},  # surveyed, nothing caught: kept, all absent
        "009_1977_7": {"DM": 0, "OT": 1, "PP": 0}}
    # site columns not named like an id are covariates; a catch's weight is not a site's
    assert table.covariates == ["year", "month", "habitat", "cover"]
    notes = " ".join(table.notices)
    assert "6 records into 4 sites x 3 species" in notes and "1 sites have none" in notes
    assert "1 records name no species" in notes
    assert "vary within a site (they describe records, not sites): weight" in notes
    assert "named like an id (give them as covariates to keep them): plot" in notes


def test_one_site_column_is_the_id_as_written(captures):
    records = read_records(captures)
    records = records[records.month == "7"]
    table = zero_fill_records(records, sites=["plot"], species="species")
    assert table.id_column == "plot" and list(table.frame["plot"]) == ["007", "008", "009"]
    assert table.covariates == ["year", "month", "habitat", "cover"]


def test_the_data_set_has_the_covariates_typed_and_the_zero_filling_in_its_notices(captures):
    data = load_records(captures, sites=["plot", "year", "month"], species="species")
    assert data.name == "captures_sites" and data.sample_ids[0] == "007_1977_7"
    assert data.feature_names[:3] == ["year", "month", "cover"]  # numbers first, then one-hot
    assert "habitat=grass" in data.feature_names
    assert data.features[0, data.feature_names.index("cover")] == pytest.approx(12.5)
    assert data.labels.sum(axis=0).tolist() == [1, 1, 2]
    assert any("zero-filled 6 records" in notice for notice in data.notices)


def test_a_named_covariate_must_have_one_value_per_site(captures):
    with pytest.raises(DataError, match=r"captures.csv: covariate 'weight' is not one value per "
                                        r"site: site plot=007, year=1977, month=7 has '40.5' "
                                        r"and '20.0' \(1 such sites\)"):
        zero_fill_records(read_records(captures), sites=["plot", "year", "month"],
                          species="species", covariates=["weight"], where="captures.csv")


def test_a_named_site_column_can_be_a_covariate_when_there_are_several(captures):
    table = zero_fill_records(read_records(captures), sites=["plot", "year", "month"],
                              species="species", covariates=["plot", "habitat"])
    assert table.covariates == ["plot", "habitat"] and table.id_column == "site"
    with pytest.raises(DataError, match=r"plot.*more than one role"):
        zero_fill_records(read_records(captures), sites=["plot"], species="species",
                          covariates=["plot"])


@pytest.mark.parametrize("cells, present", [
    (["3", "X", "0", "", "absent", "x"], [1, 1, 0, 1, 0, 1]),
    (["+", "-", "present", "p", ".", "r"], [1, 0, 1, 1, 0, 1]),  # a species table's marks too
])
def test_counts_say_presence_and_recorded_absence(cells, present):
    records = pd.DataFrame({"site": list("abcdef"), "species": ["s"] * 6, "n": cells})
    table = zero_fill_records(records, sites=["site"], species="species", count="n")
    assert table.frame.s.tolist() == present
    assert len(table.frame) == 6  # a recorded absence keeps its site


def test_bad_counts_are_named_with_their_row_and_line():
    records = pd.DataFrame({"site": ["a", "b", "c"], "species": ["s"] * 3, "n": ["1", "two", "1"]})
    with pytest.raises(DataError, match=r"r.csv: count column 'n' has 'two' at data row 2 "
                                        r"\(line 3\) \(1 such rows\)"):
        zero_fill_records(records, sites=["site"], species="species", count="n", where="r.csv")
    records["n"] = ["1", "-2", "1"]
    with pytest.raises(DataError, match="negative count '-2' at data row 2"):
        zero_fill_records(records, sites=["site"], species="species", count="n", where="r.csv")


def test_a_record_without_a_site_is_an_error_not_a_lost_row():
    records = pd.DataFrame({"site": ["a", "", "c"], "species": ["s", "t", "s"]})
    with pytest.raises(DataError, match=r"r.csv: site column 'site' is empty at data row 2 "
                                        r"\(line 3\) \(1 such rows\)"):
        zero_fill_records(records, sites=["site"], species="species", where="r.csv")


def test_unknown_columns_and_doubled_roles_are_named():
    records = pd.DataFrame({"site": ["a"], "species": ["s"]})
    with pytest.raises(DataError, match=r"no column.*taxon; the columns are site, species"):
        zero_fill_records(records, sites=["site"], species="taxon")
    with pytest.raises(DataError, match=r"species.*more than one role"):
        zero_fill_records(records, sites=["site"], species="species", count="species")
    with pytest.raises(DataError, match="name the site column"):
        zero_fill_records(records, sites=[], species="species")


def test_rare_species_are_left_out_and_named():
    records = pd.DataFrame({"site": ["a", "b", "b", "c"], "species": ["s", "s", "t", "s"]})
    table = zero_fill_records(records, sites=["site"], species="species", species_min=2)
    assert table.species == ["s"] and "1 species at fewer than 2 sites left out: t" in \
        " ".join(table.notices)
    with pytest.raises(DataError, match="no species left"):
        zero_fill_records(records, sites=["site"], species="species", species_min=9)


def test_text_with_a_value_per_site_is_not_a_covariate():
    n = 80
    records = pd.DataFrame({"event": [f"e{i}" for i in range(n)], "species": ["s", "t"] * 40,
                            "remark": [f"cloudy, walk {i}" for i in range(n)],
                            "habitat": ["wood", "meadow"] * 40})
    table = zero_fill_records(records, sites=["event"], species="species")
    assert table.covariates == ["habitat"]
    assert "value for nearly every site (an id or a date?): remark" in " ".join(table.notices)


def test_the_command_writes_a_table_and_sidecar_that_load_dataset_reads(captures, tmp_path,
                                                                         capsys):
    out = tmp_path / "out"
    assert main(["records", "--records", str(captures), "--site", "plot", "year", "month",
                 "--species", "species", "--out", str(out), "--name", "rodents"]) == 0
    printed = capsys.readouterr()
    assert "4 sites x 3 species" in printed.out and "covariates: year, month, habitat, cover" \
        in printed.out
    assert "note: 1 records name no species" in printed.err
    meta = json.loads((out / "rodents.json").read_text())
    assert meta["id"] == ["site"] and meta["labels"] == ["DM", "OT", "PP"]
    data = load_dataset(out / "rodents.csv")
    assert data.labels.tolist() == load_records(
        captures, sites=["plot", "year", "month"], species="species").labels.tolist()


def test_the_command_says_what_is_wrong_and_writes_nothing(captures, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["records", "--records", str(captures), "--site", "plot", "--species", "species",
                 "--covariates", "weight", "--out", str(out)]) != 0
    assert "covariate 'weight' is not one value per site" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_a_real_survey_melted_into_records_zero_fills_back_to_its_table(shared_data, tmp_path):
    """Swiss breeding birds as one row per detected species per quadrat (quadrats where nothing
    was detected keep one row with no species): zero-filling gives back the same presence."""
    source = shared_data / "ecology" / "swiss_birds" / "swiss_birds.csv"
    wide = load_dataset(source)
    frame = pd.read_csv(source, dtype=str)
    covariates = list(wide.feature_names)
    long = frame.melt(id_vars=["site", *covariates], value_vars=list(wide.label_names),
                      var_name="species", value_name="detections")
    long = long[long.detections.astype(float) > 0]
    empty = frame.loc[~frame.site.isin(long.site), ["site", *covariates]]
    long = pd.concat([long, empty]).sample(frac=1.0, random_state=0)  # records in any order
    long.to_csv(tmp_path / "mhb_records.csv", index=False)

    data = load_records(tmp_path / "mhb_records.csv", sites=["site"], species="species",
                        count="detections")
    assert data.feature_names == covariates
    order = pd.Index(data.sample_ids).get_indexer(wide.sample_ids)
    seen = [wide.label_names.index(name) for name in data.label_names]
    assert len(seen) == int((wide.labels.sum(axis=0) > 0).sum())  # never-detected ones: no record
    np.testing.assert_array_equal(data.labels[order], wide.labels[:, seen])
    np.testing.assert_allclose(data.features[order], wide.features)


def test_the_columns_are_guessed_from_darwin_core_and_survey_names():
    from cgmvae.formats.records import guess_record_columns

    portal = ["record_id", "month", "day", "year", "plot_id", "species_id", "sex", "weight",
              "genus", "species", "plot_type"]  # `species` is the epithet: the code is the species
    assert guess_record_columns(portal) == {"sites": ["plot_id", "year", "month"],
                                            "species": "species_id", "count": None}
    gbif = ["gbifID", "eventID", "eventDate", "scientificName", "individualCount"]
    assert guess_record_columns(gbif) == {"sites": ["eventID"], "species": "scientificName",
                                          "count": "individualCount"}  # an event is one visit
    assert guess_record_columns(["a", "b"]) == {"sites": [], "species": None, "count": None}


def test_site_ids_stay_apart_when_the_values_hold_the_joining_underscore():
    records = pd.DataFrame({"plot": ["a_b", "a"], "visit": ["c", "b_c"], "species": ["s", "s"]})
    table = zero_fill_records(records, sites=["plot", "visit"], species="species")
    assert list(table.frame.site) == ["a_b | c", "a | b_c"]


def test_a_date_that_does_not_exist_is_named_when_the_sites_become_data():
    """Darwin Core's eventDate is kept as the sites' date (tests/test_dates.py: it trains as a
    year and a day of year); a day that does not exist is named."""
    records = pd.DataFrame({"eventID": ["e1", "e2"], "scientificName": ["a", "b"],
                            "eventDate": ["2019-05-03", "2019-02-30"]})
    table = zero_fill_records(records, sites=["eventID"], species="scientificName")
    with pytest.raises(DataError, match=r"column 'eventDate' holds the date '2019-02-30' at data "
                                        r"row 2 .*which does not exist"):
        table.as_data("events")


def test_names_that_are_not_one_species_are_kept_and_named():
    records = pd.DataFrame({"site": list("abcdef"),
                            "species": ["Dipodomys sp.", "Dipodomys merriami", "Sorex spp",
                                        "Parus cf. major", "Larus argentatus/cachinnans",
                                        "Anas platyrhynchos x acuta"]})
    table = zero_fill_records(records, sites=["site"], species="species")
    assert len(table.species) == 6
    notice = next(n for n in table.notices if "not one species" in n)
    assert notice.endswith("Anas platyrhynchos x acuta, Dipodomys sp., "
                           "Larus argentatus/cachinnans, Parus cf. major, Sorex spp")
