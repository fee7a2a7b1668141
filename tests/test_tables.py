"""Your own tables: separators and decimal commas, sidecar ids, two joined tables, guessed roles,
class-code covariates."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cgmvae.data import DataError
from cgmvae.formats import (
    guess_roles,
    load_csv,
    load_dataset,
    load_frame_with_roles,
    load_two_tables,
    read_csv_table,
    read_feature_table,
    sidecar_for,
)
from cgmvae.formats.text_table import detect_format

SITES = "site,temp,region,sp_a,sp_b\nS1,1.5,north,0,1\nS2,2.0,south,1,0\nS3,-4.25,north,1,1\n"
EUROPEAN = (SITES.replace(",", ";").replace("1.5", "1,5").replace("2.0", "2,0")
            .replace("4.25", "4,25"))
TABBED = SITES.replace(",", "\t")
SPECIES = "site,sp_a,sp_b\nS3,1,1\nS1,0,1\nS2,1,0\n"
COVARIATES = "site;temp;alti\nS1;1,5;A0600\nS2;2,0;A1500\nS3;-4,25;A0900\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------- separators and decimal marks
@pytest.mark.parametrize("text, expected", [
    (SITES, (",", ".")),
    (EUROPEAN, (";", ",")),
    (TABBED, ("\t", ".")),
    ("a;b\n1.5;2\n", (";", ".")),
    ('name,note\nx,"a;b;c"\ny,"d;e"\n', (",", ".")),
])
def test_separator_and_decimal_mark_are_detected(text, expected):
    assert detect_format(text) == expected


@pytest.mark.parametrize("text", [EUROPEAN, TABBED, "\ufeff" + EUROPEAN])
def test_load_csv_reads_semicolon_decimal_comma_and_tab_files_like_plain_csv(tmp_path, text):
    data = load_csv(write(tmp_path / "sites.csv", text), label_prefix="sp_")
    assert data.feature_names == ["temp", "region=north", "region=south"]
    np.testing.assert_allclose(data.features[:, 0], [1.5, 2.0, -4.25])
    np.testing.assert_array_equal(data.labels, [[0, 1], [1, 0], [1, 1]])


def test_read_feature_table_reads_a_european_excel_export():
    upload = io.BytesIO(EUROPEAN.encode("utf-8-sig"))
    features = read_feature_table(upload, ["temp", "region=north", "region=south"])
    np.testing.assert_allclose(features, [[1.5, 1, 0], [2.0, 0, 1], [-4.25, 1, 0]])


def test_read_feature_table_names_the_upload_not_a_temporary_path(tmp_path):
    path = write(tmp_path / "tmpab12cd.csv", "a\nxyz\n")
    message = r"^my sites\.csv does not match.*'xyz' at data row 1"
    with pytest.raises(DataError, match=message) as err:
        read_feature_table(path, ["a"], name="my sites.csv")
    assert str(tmp_path) not in str(err.value)


def test_read_csv_table_types_numeric_columns_and_keeps_text():
    frame = read_csv_table(io.StringIO(EUROPEAN), "upload.csv")
    assert frame["temp"].dtype == np.float64 and frame["temp"].tolist() == [1.5, 2.0, -4.25]
    assert frame["site"].tolist() == ["S1", "S2", "S3"] and frame["sp_a"].sum() == 2


def test_read_csv_table_keeps_codes_with_leading_zeros_as_text():
    frame = read_csv_table(io.StringIO("plot,t,sp\n007,0.5,1\n012,1.5,0\n"))
    assert frame["plot"].tolist() == ["007", "012"] and frame["t"].dtype == np.float64
    data = load_frame_with_roles(frame, ids=["plot"], labels=["sp"], features=["t"])
    assert data.sample_ids == ["007", "012"]


# ---------------------------------------------------------------- ids
def test_sidecar_id_is_kept_as_sample_ids_and_not_a_feature(tmp_path):
    path = write(tmp_path / "plots.csv", SITES.replace("site,", "code,"))
    write(tmp_path / "plots.json", json.dumps({"id": "code", "labels": ["sp_a", "sp_b"]}))
    data = load_dataset(path)
    assert data.sample_ids == ["S1", "S2", "S3"]
    assert "code" not in " ".join(data.feature_names)


def test_several_id_columns_are_joined_into_one_sample_id(tmp_path):
    text = "plot,year,t,sp\n007,2020,1,0\n007,2021,2,1\n"
    path = write(tmp_path / "p.csv", text)
    write(tmp_path / "p.json", json.dumps({"id": ["plot", "year"], "labels": ["sp"]}))
    data = load_csv(path)
    assert data.sample_ids == ["007|2020", "007|2021"] and data.feature_names == ["t"]


def test_unknown_sidecar_id_column_is_named(tmp_path):
    path = write(tmp_path / "p.csv", SITES)
    write(tmp_path / "p.json", json.dumps({"id": "plot", "labels": ["sp_a"]}))
    with pytest.raises(DataError, match=r"p\.csv: id column.*plot.*not found"):
        load_csv(path)


# ---------------------------------------------------------------- two tables
def test_two_tables_are_joined_on_the_id_in_species_order(tmp_path):
    species = write(tmp_path / "species.csv", SPECIES)
    sites = write(tmp_path / "sites.csv", COVARIATES)
    data = load_two_tables(species, sites, "site")
    assert data.sample_ids == ["S3", "S1", "S2"] and data.name == "species"
    assert data.label_names == ["sp_a", "sp_b"] and data.feature_names == ["temp", "alti"]
    np.testing.assert_allclose(data.features, [[-4.25, 900], [1.5, 600], [2.0, 1500]])
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 1], [1, 0]])


@pytest.mark.parametrize("species, sites, message", [
    (SPECIES, COVARIATES.replace("S3", "S9"),
     r"1 id\(s\) only in species.csv, not in sites.csv: S3; 1 id\(s\) only in sites.csv.*: S9"),
    (SPECIES + "S1,1,1\n", COVARIATES, r"species.csv: 1 duplicated id.*S1 \(2 rows\)"),
    (SPECIES, COVARIATES.replace("site;", "plot;"), "sites.csv has no id column site"),
    (SPECIES, COVARIATES.replace("2,0;", "abc;"), r"sites.csv: column 'temp'.*'abc' at data row 2"),
    (SPECIES.replace("S2,1,0", "S2,abc,0"), COVARIATES, r"species.csv: label column 'sp_a'.*'abc'"),
])
def test_two_table_errors_name_the_file_and_the_ids(tmp_path, species, sites, message):
    with pytest.raises(DataError, match=message):
        load_two_tables(write(tmp_path / "species.csv", species),
                        write(tmp_path / "sites.csv", sites), "site")


def test_two_table_ids_only_in_one_table_are_listed_up_to_ten(tmp_path):
    many = "site,sp\n" + "".join(f"X{i},1\n" for i in range(15)) + "S1,0\n"
    with pytest.raises(DataError, match=r"15 id\(s\) only in species.csv.*X9, \.\.\. \(\+5 more\)"):
        load_two_tables(write(tmp_path / "species.csv", many), io.StringIO(COVARIATES), "site")


def test_a_species_by_site_table_is_turned_to_a_row_per_site(tmp_path):
    species = write(tmp_path / "veg.csv", "species,S3,S1,S2\nsp_a,1,0,1\nsp_b,1,1,0\n")
    sites = write(tmp_path / "sites.csv", COVARIATES)
    data = load_two_tables(species, sites, "site")
    assert data.sample_ids == ["S3", "S1", "S2"] and data.label_names == ["sp_a", "sp_b"]
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 1], [1, 0]])
    np.testing.assert_allclose(data.features[:, 0], [-4.25, 1.5, 2.0])
    assert "a row per species and a column per site" in data.notices[0]


@pytest.mark.parametrize("species, message", [
    ("species,S1,S2,S4\nsp_a,1,0,1\n", r"1 id\(s\) only in veg.csv, not in sites.csv: S4"),
    ("species,S1,S2,S3\nsp_a,1,0,1\nsp_a,0,0,1\n", "species listed twice .*: sp_a"),
    ("species,S1,S2,S3\nsp_a,1,0,1\n,0,0,1\n", r"species name \(first column, 'species'\) is "
                                                  r"empty at data row 2"),
    ("species,X1,X2,S3\nsp_a,1,0,1\n", "veg.csv has no id column 'site', and its columns are "
                                       "not the site values of sites.csv either"),
])
def test_species_by_site_table_errors_name_the_problem(tmp_path, species, message):
    with pytest.raises(DataError, match=message):
        load_two_tables(write(tmp_path / "veg.csv", species), write(tmp_path / "sites.csv",
                                                                       COVARIATES), "site")


def test_two_tables_from_uploads_use_their_display_names():
    with pytest.raises(DataError, match=r"^species upload\.csv has no id column plot"):
        load_two_tables(io.BytesIO(SPECIES.encode()), io.BytesIO(COVARIATES.encode()), "plot",
                        species_name="/tmp/x/species upload.csv", features_name="covariates.csv")
    with pytest.raises(DataError, match=r"^covariates\.csv has no id column site"):
        load_two_tables(io.BytesIO(SPECIES.encode()), io.BytesIO(b"plot,t\nS1,1\n"), "site",
                        features_name="covariates.csv")
    data = load_two_tables(io.BytesIO(SPECIES.encode()), io.BytesIO(COVARIATES.encode()), "site",
                           species_name="birds.csv")
    assert data.name == "birds" and data.n_samples == 3


# ---------------------------------------------------------------- roles
def test_guess_roles_finds_ids_species_and_covariates():
    frame = pd.DataFrame({
        "plot": ["a", "b", "c", "d"], "code": ["k1", "k2", "k3", "k4"],
        "elev": [600, 1500, 900, 600], "forest": [0.5, 0.1, 0.0, 0.9], "habitat": list("xxyy"),
        "alti": ["A0600", "A1500", "A0900", "A0600"],
        "Parus major": [0, 1, 1, 0], "Sitta europaea": [0, 3, 2, 0],
    })
    assert guess_roles(frame) == {
        "id": ["plot", "code"], "labels": ["Parus major", "Sitta europaea"],
        "features": ["elev", "forest", "habitat", "alti"],
    }


def test_roles_load_a_frame_and_round_trip_through_the_sidecar(tmp_path):
    frame = read_csv_table(io.StringIO(SITES))
    roles = guess_roles(frame)
    data = load_frame_with_roles(frame, ids=roles["id"], labels=roles["labels"],
                                 features=roles["features"], name="upload.csv")
    assert data.sample_ids == ["S1", "S2", "S3"] and data.name == "upload"
    write(tmp_path / "sites.csv", SITES)
    write(tmp_path / "sites.json", json.dumps(sidecar_for(roles, title="t")))
    assert json.loads((tmp_path / "sites.json").read_text())["id"] == "site"
    again = load_csv(tmp_path / "sites.csv")
    np.testing.assert_array_equal(again.features, data.features)
    assert again.feature_names == data.feature_names and again.sample_ids == data.sample_ids


def test_load_frame_with_roles_refuses_a_column_with_two_roles():
    frame = read_csv_table(io.StringIO(SITES))
    with pytest.raises(DataError, match=r"up\.csv: column.*sp_a.*more than one role"):
        load_frame_with_roles(frame, labels=["sp_a"], features=["sp_a", "temp"], name="up.csv")


# ---------------------------------------------------------------- class-code covariates
def test_class_codes_become_numbers_with_a_notice(tmp_path):
    path = write(tmp_path / "c.csv", "alti,sp\nA0600,1\nA1500,0\nA0600,1\n")
    data = load_csv(path, labels=["sp"])
    assert data.feature_names == ["alti"]
    np.testing.assert_array_equal(data.features[:, 0], [600, 1500, 600])
    assert any("A0600 -> 600" in n for n in data.notices)


def test_sidecar_ordinal_forces_numbers_and_categorical_forces_one_hot(tmp_path):
    text = "cls,alti,sp\nc1,A0600,1\nc3,A1500,0\nc2,A0600,1\n"
    path = write(tmp_path / "c.csv", text)
    meta = {"labels": ["sp"], "ordinal": ["cls"], "categorical": ["alti"]}
    write(tmp_path / "c.json", json.dumps(meta))
    data = load_csv(path)
    assert data.feature_names == ["cls", "alti=A0600", "alti=A1500"]
    np.testing.assert_array_equal(data.features, [[1, 1, 0], [3, 0, 1], [2, 1, 0]])


def test_ordinal_value_without_a_number_names_column_and_row(tmp_path):
    path = write(tmp_path / "c.csv", "cls,sp\nc1,1\nhigh,0\n")
    write(tmp_path / "c.json", json.dumps({"labels": ["sp"], "ordinal": ["cls"]}))
    with pytest.raises(DataError, match=r"c.csv: ordinal column 'cls'.*'high'.*data row 2"):
        load_csv(path)


def test_prediction_input_reads_class_codes_too():
    features = read_feature_table(io.StringIO("alti\nA0900\n"), ["alti"])
    np.testing.assert_array_equal(features, [[900]])


def test_prediction_input_reads_the_ordinal_classes_a_model_was_trained_on(tmp_path):
    """A sidecar-ordinal `cls` (c1, c3) trains as the number 1, 3: a table written the same way
    must predict, and a column whose rows do not share one prefix is still refused."""
    features = read_feature_table(io.StringIO("cls,other\nc1,x\nc3,y\n"), ["cls"])
    np.testing.assert_array_equal(features, [[1], [3]])
    with pytest.raises(DataError, match=r"column 'cls' has the non-numeric value 'c1'.*2 such"):
        read_feature_table(io.StringIO("cls\nc1\nd2\n"), ["cls"])


def test_in_a_presence_absence_table_a_small_whole_number_column_is_a_covariate():
    """wood_fungi's AVERDP (decay stage 0-6) was guessed as a species beside 0/1 species."""
    frame = pd.DataFrame({"log_id": ["a", "b", "c", "d"], "decay_stage": ["0", "3", "6", "2"],
                          "Fomes": ["1", "0", "0", "1"], "Trametes": ["0", "0", "1", "1"]})
    roles = guess_roles(frame)
    assert roles == {"id": ["log_id"], "labels": ["Fomes", "Trametes"],
                     "features": ["decay_stage"]}


def test_in_a_count_table_count_columns_stay_species():
    frame = pd.DataFrame({"site": ["a", "b", "c", "d"], "elev": ["450.5", "900", "1200", "300"],
                          "Parus": ["0", "3", "2", "1"], "Sitta": ["1", "0", "2", "0"],
                          "Lagopus": ["0", "0", "0", "1"]})
    assert guess_roles(frame)["labels"] == ["Parus", "Sitta", "Lagopus"]


SPECTRA = [["0.12", "0.15", ""], ["0.31", "0.33", "0.2"]]  # reflectances under wavelengths


@pytest.mark.parametrize("row, decimal, following, data", [
    (["0", "1", "0", "0"], ".", [["1", "1", "0", "0"], ["0", "0", "1", "1"]], True),  # species
    (["-1.7277", "0.3705", "1.285"], ".", [["-2.1", "0.9", "1.9"], ["0.2", "-0.4", "0.5"]],
     True),  # a covariate row: fractions within the columns' values
    (["1,5", "-0,25"], ",", (), True),  # decimal commas, nothing to compare with
    (["101", "102", "103"], ".", (), False),  # distinct whole numbers: species codes as names
    (["400.5", "401.5", "402.5"], ".", SPECTRA, False),  # names outside their columns' values
    (["505.", "275."], ".", [[str(100 + 40 * k), str(900 - 60 * k)] for k in range(12)],
     True),  # coordinates: distinct whole numbers among their columns' values
    (["2019", "2020"], ".", [[str(k), str(2 * k)] for k in range(12)], False),  # years, counts
    ([str(k) for k in range(1, 6)], ".", [[str((7 * k * j) % 90) for j in range(1, 6)]
                                         for k in range(12)], False),  # species 1-5 over covers
    (["2016", "2017", "2018", "2019"], ".", [[str(2000 + 9 * k + j) for j in range(4)]
                                             for k in range(12)], False),  # years over counts
    (["site", "0", "1"], ".", (), False),
    (["nan", "1", "1"], ".", (), False),
])
def test_a_first_row_of_numbers_that_no_header_would_have_is_data(row, decimal, following,
                                                                   data):
    from cgmvae.formats.header import first_row_is_data

    assert first_row_is_data(row, decimal, following) is data


def headerless(path: Path, matrix) -> Path:
    pd.DataFrame(matrix).to_csv(path, header=False, index=False)
    return path


def test_headerless_tables_join_by_row_order_only_with_equal_rows_and_no_shared_column(tmp_path):
    rng = np.random.default_rng(0)
    y = headerless(tmp_path / "Y.csv", (rng.random((6, 3)) < 0.5).astype(int))
    x = headerless(tmp_path / "X.csv", rng.normal(size=(6, 2)).round(3))
    data = load_two_tables(y, x, None)
    assert data.labels.shape == (6, 3) and data.sample_ids is None
    np.testing.assert_array_equal(data.labels, pd.read_csv(y, header=None).to_numpy())
    assert data.notices[:3] == [
        "joined Y.csv and X.csv by row order (no id column in common): 6 sites; row k of one is "
        "taken to be the site of row k of the other",
        "Y.csv has no header row (its first row is numbers, and is read as the first site): its "
        "3 columns are named species_1-species_3 in file order",
        "X.csv has no header row (its first row is numbers, and is read as the first site): its "
        "2 columns are named covariate_1-covariate_2 in file order"]
    named = tmp_path / "sites.csv"  # a named site table without ids joins by row order too
    named.write_text("elev,moist\n" + "".join(f"{k},{k / 7:.3f}\n" for k in range(6)))
    assert load_two_tables(y, named, None).feature_names == ["elev", "moist"]
    short = headerless(tmp_path / "X5.csv", rng.normal(size=(5, 2)).round(3))
    with pytest.raises(DataError, match=r"by row order, but Y\.csv has 6 rows and X5\.csv 5"):
        load_two_tables(y, short, None)
    species, covariates = tmp_path / "species.csv", tmp_path / "cov.csv"
    species.write_text(SPECIES)
    covariates.write_text(COVARIATES)
    with pytest.raises(DataError, match=r"share the column\(s\) site: name the id column"):
        load_two_tables(species, covariates, None)


def test_row_order_leaves_out_id_named_columns_and_keeps_the_species_table_s_ids(tmp_path):
    """R's write.csv(Y) writes its row names as a first column headed "": no species."""
    species = tmp_path / "Y.csv"
    species.write_text('"","Parus major","Sitta europaea"\n"s1",1,0\n"s2",0,1\n"s3",1,1\n')
    sites = headerless(tmp_path / "X.csv", [[0.5, 1.25], [1.5, -0.25], [2.5, 0.75]])
    data = load_two_tables(species, sites, None)
    assert data.label_names == ["Parus major", "Sitta europaea"]
    assert data.sample_ids == ["s1", "s2", "s3"] and data.features.shape == (3, 2)
    assert "Y.csv's column(s) (unnamed: R's row names) named like ids, left out" in data.notices[0]


def test_r_s_default_write_csv_of_y_and_x_joins_on_its_row_names_or_by_row_order(tmp_path):
    """write.csv(Y) and write.csv(X) both start with R's row names under an empty name."""
    species, sites = tmp_path / "Y.csv", tmp_path / "X.csv"
    species.write_text('"","sp1","sp2"\n"1",1,0\n"2",0,1\n"3",1,1\n')
    sites.write_text('"","elev","moist"\n"1",0.5,1.25\n"2",1.5,-0.25\n"3",2.5,0.75\n')
    for id_column in ("", None):
        data = load_two_tables(species, sites, id_column)
        assert data.label_names == ["sp1", "sp2"] and data.feature_names == ["elev", "moist"]
        assert data.sample_ids == ["1", "2", "3"]
        np.testing.assert_allclose(data.features[:, 0], [0.5, 1.5, 2.5])
    sites.write_text('"","elev","moist"\n"3",0.5,1.25\n"2",1.5,-0.25\n"1",2.5,0.75\n')
    with pytest.raises(DataError, match=r"share the column\(s\) \(unnamed: R's row names\): name"):
        load_two_tables(species, sites, None)  # row names that differ: join on them
    np.testing.assert_allclose(load_two_tables(species, sites, "").features[:, 0], [2.5, 1.5, 0.5])


def test_a_headerless_csv_reads_alike_whole_and_in_chunks_and_says_so(tmp_path):
    from cgmvae.formats.big_table import load_table

    rng = np.random.default_rng(1)
    matrix = np.column_stack([rng.normal(size=(30, 2)).round(4),
                              (rng.random((30, 3)) < 0.5).astype(int)])
    path = headerless(tmp_path / "m.csv", matrix)
    whole = load_csv(path, labels=["V3", "V4", "V5"])
    chunked = load_table(path, labels=["V3", "V4", "V5"], batch_rows=7)
    for data in (whole, chunked):
        assert data.feature_names == ["V1", "V2"] and len(data.labels) == 30
        np.testing.assert_allclose(data.features, matrix[:, :2], rtol=1e-6)
        np.testing.assert_array_equal(data.labels, matrix[:, 2:])
        assert data.notices[0].startswith("m.csv has no header row")
    assert list(read_csv_table(path).columns) == ["V1", "V2", "V3", "V4", "V5"]
    assert read_csv_table(path).attrs["headerless"]
    spectra = tmp_path / "spectra.csv"  # numeric names outside their values: a header
    spectra.write_text("400.5,401.5,present\n0.12,0.13,1\n0.2,0.25,0\n0.3,0.1,1\n")
    for data in (load_csv(spectra, labels=["present"]),
                 load_table(spectra, labels=["present"], batch_rows=2)):
        assert data.feature_names == ["400.5", "401.5"] and len(data.labels) == 3


def test_new_sites_without_a_header_are_scored_by_position_in_both_predict_paths(tmp_path):
    from cgmvae.config import ModelConfig, TrainConfig
    from cgmvae.data import MultiLabelData, random_split
    from cgmvae.streaming import predict_in_chunks
    from cgmvae.train import fit

    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    data = MultiLabelData(x, (rng.random((40, 2)) < 0.5).astype(np.float32), ["elev", "moist"],
                          ["a", "b"], name="toy")
    model = fit(data, random_split(40), model_config=ModelConfig(embedding_dim=8, latent_dim=2),
                train_config=TrainConfig(max_epochs=1, device="cpu"))
    new = headerless(tmp_path / "new.csv", x[:4].round(4))
    np.testing.assert_allclose(read_feature_table(new, model.feature_names), x[:4], atol=1e-4)
    out = tmp_path / "scored.csv"
    assert predict_in_chunks(model, new, out) == 4
    np.testing.assert_allclose(pd.read_csv(out)["a_probability"],
                               model.predict_proba(x[:4].round(4))[:, 0], atol=1e-5)
    wide = headerless(tmp_path / "wide.csv", rng.normal(size=(4, 3)).round(4))
    said = r"no header row .* 3 columns, .* 2 features .*\(elev, moist\)"
    for score in (lambda: read_feature_table(wide, model.feature_names),
                  lambda: predict_in_chunks(model, wide, tmp_path / "never.csv")):
        with pytest.raises(DataError, match=said):
            score()
    assert not (tmp_path / "never.csv").exists()
