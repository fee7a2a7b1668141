"""Tests of the data loaders on tiny hand-written files and on the shared real data sets."""

import bz2
import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cgmvae.data import DataError, load_split
from cgmvae.formats import (
    find_split,
    load_arff,
    load_csv,
    load_dataset,
    load_mulan_folder,
    load_norberg,
    load_npy_folder,
    read_label_names,
    read_sidecar,
)

SHARED = Path(__file__).parents[1] / ".." / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/data (the real data sets) is not present"
)



@functools.cache
def shared(relative: str):
    """A real data set loaded once per test run (several tests look at the same ones)."""
    return load_dataset(SHARED / relative)


# Labels in the middle (like yeast), a quoted name, a comment, a nominal, a YES/NO, a string, an id.
DENSE_ARFF = """% a comment
@relation tiny
@attribute 'Att 1' numeric
@attribute lab1 {0,1}
@attribute colour {red, green,'dark blue'}
@attribute flag {YES,NO}
@attribute note string
@attribute lab2 {0,1}
@attribute id {a,b,c}
@data
1.5,1,red,YES,'hello',0,a
% comment in the data
-2,0,'dark blue',NO,x,1,b
3e1,1,green,NO,y,1,c
"""
LABELS_XML = """<?xml version="1.0" encoding="utf-8"?>
<labels xmlns="http://mulan.sourceforge.net/labels">
<label name="lab2"></label><label name="lab1"></label>
</labels>"""
Y_XML = LABELS_XML.replace('"lab2"', '"y2"').replace('"lab1"', '"y1"')
SPARSE_ARFF = """@relation sparse
@attribute w1 numeric
@attribute w2 numeric
@attribute w3 {0,1}
@attribute y1 {0,1}
@attribute y2 {0,1}
@data
{0 2.5,3 1}
{}
{1 -1,2 1,4 1}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def mulan_file(tmp_path, text=DENSE_ARFF, xml=LABELS_XML, name="tiny") -> Path:
    write(tmp_path / f"{name}.xml", xml)
    return write(tmp_path / f"{name}.arff", text)


# ---------------------------------------------------------------- ARFF
def test_dense_arff_selects_xml_labels_in_file_order_wherever_they_are(tmp_path):
    data = load_arff(mulan_file(tmp_path))
    assert data.label_names == ["lab1", "lab2"]
    np.testing.assert_array_equal(data.labels, [[1, 0], [0, 1], [1, 1]])
    assert data.name == "tiny"


def test_dense_arff_encodes_nominals_and_drops_strings_and_ids(tmp_path):
    data = load_arff(mulan_file(tmp_path))
    assert data.feature_names == ["Att 1", "flag", "colour=red", "colour=green", "colour=dark blue"]
    np.testing.assert_array_equal(
        data.features, [[1.5, 1, 1, 0, 0], [-2, 0, 0, 0, 1], [30, 0, 0, 1, 0]]
    )
    assert data.features.dtype == np.float32
    notes = " ".join(data.notices)
    assert "yes/no" in notes and "one-hot" in notes and "note, id" in notes


def test_sparse_arff_omitted_entries_are_zero(tmp_path):
    data = load_arff(mulan_file(tmp_path, SPARSE_ARFF, Y_XML))
    assert data.feature_names == ["w1", "w2", "w3"]
    np.testing.assert_array_equal(data.features, [[2.5, 0, 0], [0, 0, 0], [0, -1, 1]])
    np.testing.assert_array_equal(data.labels, [[1, 0], [0, 0], [0, 1]])


def test_sparse_arff_with_nominal_words_and_quotes_uses_the_careful_path(tmp_path):
    text = SPARSE_ARFF.replace("{0,1}\n@attribute y1", "{no,yes}\n@attribute y1")
    text = text.replace("{1 -1,2 1,4 1}", "{1 -1,2 'yes',4 1}")
    data = load_arff(mulan_file(tmp_path, text, Y_XML))
    np.testing.assert_array_equal(data.features[:, 2], [0, 0, 1])


def test_meka_c_counts_first_or_last_attributes_and_reads_bz2(tmp_path):
    first = "@relation 'm: -C 2'\n@attribute y1 {0,1}\n@attribute y2 {0,1}\n@attribute w numeric\n"
    path = tmp_path / "first.arff.bz2"
    path.write_bytes(bz2.compress((first + "@data\n{0 1,2 0.5}\n{1 1}\n").encode()))
    data = load_arff(path)
    assert data.label_names == ["y1", "y2"] and data.feature_names == ["w"]
    np.testing.assert_array_equal(data.labels, [[1, 0], [0, 1]])
    last = write(tmp_path / "last.arff", SPARSE_ARFF.replace("sparse", "'sparse: -C -2'"))
    data = load_arff(last)
    assert data.label_names == ["y1", "y2"] and data.name == "last"


def test_hierarchical_xml_labels_are_all_found(tmp_path):
    xml = write(tmp_path / "h.xml", '<labels><label name="a"><label name="b"/></label></labels>')
    assert read_label_names(xml) == ["a", "b"]


def test_missing_value_names_attribute_and_row_unless_imputed(tmp_path):
    path = mulan_file(tmp_path, DENSE_ARFF.replace("3e1,", "?,"))
    with pytest.raises(DataError, match=r"'Att 1'.*data row 3 \(tiny.arff line 14\)"):
        load_arff(path)
    data = load_arff(path, impute="median")
    assert data.features[2, 0] == pytest.approx(-0.25)
    assert any("median" in n for n in data.notices)


@pytest.mark.parametrize("bad, message", [
    ("@relation x\n@attribute lab1 numeric\n", "no @data"),
    (DENSE_ARFF.replace("@data\n", ""), "line 10: expected @relation, @attribute or @data"),
    (DENSE_ARFF.replace("numeric", "complex"), "unsupported type"),
    (DENSE_ARFF.replace("1.5,1,red", "1.5,red"), "line 11: 6 values, expected 7"),
    (DENSE_ARFF.replace("3e1", "abc"), "non-numeric value 'abc'"),
    (DENSE_ARFF.replace("green,NO", "blue,NO"), "'blue' of attribute 'colour'"),
    (DENSE_ARFF.replace("@attribute id", "@attribute lab2"), "declared twice"),
    (SPARSE_ARFF.replace("{}", "{9 1}"), "index 9 is outside"),
    (SPARSE_ARFF.replace("{}", "{1 1,0 1}"), "must increase"),
    (SPARSE_ARFF.replace("{1 -1", "{1 x"), "non-numeric value 'x'"),
    (SPARSE_ARFF.replace("{}", "1,2,3,4,5"), "mixes dense and sparse"),
    (SPARSE_ARFF.split("{0 2.5")[0], "no data rows"),
])
def test_malformed_arff_raises_a_clear_error(tmp_path, bad, message):
    xml = LABELS_XML if "lab1" in bad else Y_XML
    with pytest.raises(DataError, match=message):
        load_arff(mulan_file(tmp_path, bad, xml))


def test_xml_label_missing_from_arff_is_named(tmp_path):
    with pytest.raises(DataError, match=r"'lab3'|lab3"):
        load_arff(mulan_file(tmp_path, xml=LABELS_XML.replace('"lab2"', '"lab3"')))


def test_arff_without_xml_or_meka_option_asks_for_labels(tmp_path):
    with pytest.raises(DataError, match="no label information"):
        load_arff(write(tmp_path / "alone.arff", DENSE_ARFF))


def test_mulan_folder_stacks_train_then_test_with_a_split(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    write(folder / "tiny.xml", LABELS_XML)
    write(folder / "tiny-train.arff", DENSE_ARFF)
    write(folder / "tiny-test.arff", DENSE_ARFF.replace("1.5,", "7,"))
    data = load_dataset(folder)
    assert data.name == "tiny" and data.n_samples == 6
    assert data.features[3, 0] == 7
    np.testing.assert_array_equal(data.split.test, [3, 4, 5])
    assert sorted([*data.split.train, *data.split.val]) == [0, 1, 2]


def test_mulan_folder_takes_its_files_from_the_splits_json(tmp_path):
    folder = tmp_path / "mulan" / "tiny"
    folder.mkdir(parents=True)
    write(folder / "tiny.xml", LABELS_XML)
    write(folder / "tiny.arff", DENSE_ARFF)
    write(folder / "a-train.arff", DENSE_ARFF)
    write(folder / "a-test.arff", DENSE_ARFF)
    (tmp_path / "splits").mkdir()
    write(tmp_path / "splits" / "tiny.json", json.dumps({"files": ["tiny.arff"]}))
    assert load_mulan_folder(folder).n_samples == 3


# ---------------------------------------------------------------- CSV
SITES_CSV = "site,temp,region,sp_a,sp_b\ns1,1.0,north,0,3\ns2,2.0,south,1,0\ns3,4.0,north,2,1\n"


def test_csv_with_sidecar_counts_become_presence_with_a_notice(tmp_path):
    path = write(tmp_path / "sites.csv", SITES_CSV)
    sidecar = {"features": ["temp"], "labels": ["sp_a", "sp_b"], "groups": {"g": ["sp_a"]}}
    write(tmp_path / "sites.json", json.dumps(sidecar))
    data = load_dataset(path)
    np.testing.assert_array_equal(data.labels, [[0, 1], [1, 0], [1, 1]])
    assert data.feature_names == ["temp"] and data.name == "sites"
    assert any("counts" in n and "presence" in n for n in data.notices)
    assert read_sidecar(path)["groups"] == {"g": ["sp_a"]}


def test_csv_label_prefix_one_hot_encodes_text_and_ignores_the_id(tmp_path):
    data = load_csv(write(tmp_path / "sites.csv", SITES_CSV), label_prefix="sp_")
    assert data.feature_names == ["temp", "region=north", "region=south"]
    np.testing.assert_array_equal(data.features[:, 1:], [[1, 0], [0, 1], [1, 0]])
    notes = " ".join(data.notices)
    assert "one-hot" in notes and "site" in notes


def test_csv_missing_value_is_named_unless_imputed(tmp_path):
    path = write(tmp_path / "s.csv", SITES_CSV.replace("2.0", "NA"))
    with pytest.raises(DataError, match=r"'temp' at data row 2 \(line 3\)"):
        load_csv(path, labels=["sp_a", "sp_b"])
    data = load_csv(path, labels=["sp_a", "sp_b"], impute="median")
    assert data.features[1, 0] == pytest.approx(2.5)


@pytest.mark.parametrize("text, options, message", [
    ("", {"labels": ["a"]}, "is empty"),
    ("a,b\n", {"labels": ["a"]}, "no data rows"),
    ("a,a,b\n1,2,3\n", {"labels": ["b"]}, "duplicate column"),
    (SITES_CSV, {"labels": ["sp_z"]}, "label column.*sp_z.*not found"),
    (SITES_CSV, {}, "which columns are labels"),
    (SITES_CSV.replace("4.0", "abc"), {"label_prefix": "sp_"}, "'temp'.*'abc'.*data row 3"),
    (SITES_CSV.replace("2,1\n", "0.5,1\n"), {"label_prefix": "sp_"}, "'sp_a' has value 0.5"),
    (SITES_CSV.replace("1,0\n", "-1,0\n"), {"label_prefix": "sp_"}, "value -1"),
    (SITES_CSV.replace("1,0\n", "maybe,0\n"), {"label_prefix": "sp_"}, "label column 'sp_a'"),
    (SITES_CSV, {"label_prefix": "zz"}, "no column starts with"),
])
def test_bad_csv_raises_a_clear_error(tmp_path, text, options, message):
    with pytest.raises(DataError, match=message):
        load_csv(write(tmp_path / "bad.csv", text), **options)


def test_explicit_labels_override_the_sidecar_and_leave_its_other_features(tmp_path):
    path = write(tmp_path / "sites.csv", SITES_CSV)
    write(tmp_path / "sites.json", json.dumps({"features": ["temp", "sp_b"], "labels": ["sp_a"]}))
    data = load_csv(path, labels=["sp_b"])
    assert data.label_names == ["sp_b"] and data.feature_names == ["temp"]


# ---------------------------------------------------------------- npy and Norberg
def npy_folder(tmp_path, with_meta=True) -> Path:
    rows = np.array([[1, 0, 0.5, 2], [0, 1, 1.5, 3], [1, 1, 2.5, 4], [0, 0, 3.5, 5]])
    np.save(tmp_path / "toy_data.npy", rows)
    for part, idx in {"train": [0, 1], "val": [2], "test": [3]}.items():
        np.save(tmp_path / f"toy_{part}_idx.npy", np.array(idx))
    if with_meta:
        write(tmp_path / "toy_meta.json", json.dumps({"n_labels": 2}))
    return tmp_path


def test_npy_folder_splits_labels_then_features_and_attaches_the_split(tmp_path):
    data = load_dataset(npy_folder(tmp_path))
    np.testing.assert_array_equal(data.labels[:, 1], [0, 1, 1, 0])
    np.testing.assert_array_equal(data.features[:, 1], [2, 3, 4, 5])
    np.testing.assert_array_equal(data.split.val, [2])
    assert data.name == "toy"


def test_npy_needs_the_number_of_labels(tmp_path):
    folder = npy_folder(tmp_path, with_meta=False)
    with pytest.raises(DataError, match="n_labels"):
        load_npy_folder(folder)
    assert load_dataset(folder, n_labels=1).n_features == 3


def norberg_folder(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    for t, n in (("t", 20), ("v", 10)):
        np.savetxt(tmp_path / f"X{t}_1_owls.csv", rng.normal(size=(n, 3)), delimiter=",")
        np.savetxt(tmp_path / f"S{t}_1_owls.csv", rng.normal(size=(n, 2)), delimiter=",")
        np.savetxt(tmp_path / f"Y{t}_1_owls.csv", rng.integers(0, 2, (n, 4)), delimiter=",",
                   fmt="%d")
    return tmp_path


def test_norberg_rows_are_train_then_test_with_a_seeded_val(tmp_path):
    data = load_dataset(norberg_folder(tmp_path) / "owls_coords")
    assert data.features.shape == (30, 5) and data.labels.shape == (30, 4)
    assert data.feature_names[-1] == "coord_2" and data.label_names[0] == "owls_001"
    assert (len(data.split.train), len(data.split.val)) == (18, 2)
    np.testing.assert_array_equal(data.split.test, np.arange(20, 30))


def test_norberg_folder_itself_or_unknown_taxon_say_what_to_choose(tmp_path):
    folder = norberg_folder(tmp_path)
    with pytest.raises(DataError, match="choose one"):
        load_dataset(folder)
    with pytest.raises(DataError, match="taxa here: owls"):
        load_norberg(folder, "cats")


def test_unknown_paths_and_misplaced_options_are_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nothing")
    with pytest.raises(DataError, match="unknown data file type"):
        load_dataset(write(tmp_path / "x.txt", "hi"))
    with pytest.raises(DataError, match="CSV"):
        load_dataset(mulan_file(tmp_path), labels=["lab1"])
    with pytest.raises(DataError, match="impute"):
        load_dataset(mulan_file(tmp_path), impute="mean")


# ---------------------------------------------------------------- the shared real data
@needs_shared
def test_yeast_has_2417_rows_103_features_14_labels():
    data = shared("mulan/yeast")
    assert data.features.shape == (2417, 103) and data.labels.shape == (2417, 14)
    assert data.label_names == [f"Class{i}" for i in range(1, 15)]


@needs_shared
def test_scene_genbase_and_enron_shapes():
    scene = shared("mulan/scene")
    assert scene.features.shape == (2407, 294) and scene.n_labels == 6
    genbase = shared("mulan/genbase")
    assert "protein" not in genbase.feature_names and genbase.n_features == 1185
    assert set(np.unique(genbase.features)) == {0.0, 1.0}
    enron = load_dataset(SHARED / "mulan" / "enron" / "enron.arff")
    assert enron.features.shape == (1702, 1001) and enron.n_labels == 53


@needs_shared
def test_ecology_csvs_counts_and_one_hot():
    butterflies = shared("ecology/uk_butterflies")
    assert butterflies.features.shape == (2609, 6) and butterflies.n_labels == 55
    birds = load_dataset(SHARED / "ecology" / "swiss_birds" / "swiss_birds.csv")
    assert birds.labels.max() == 1 and any("counts" in n for n in birds.notices)
    assert any(n.startswith("13 labels are never present") for n in birds.notices)
    fungi = shared("ecology/wood_fungi")
    assert "REGION=R1" in fungi.feature_names and "REGION" not in fungi.feature_names


@needs_shared
def test_norberg_birds_mode_1():
    data = load_dataset(SHARED / "ecology" / "norberg2019" / "birds")
    assert data.labels.shape == (1200, 141) and data.n_features == 5
    assert data.split.test.size == 600


SPLIT_NAMES = [p.stem for p in sorted((SHARED / "splits").glob("*.json"))] or ["yeast"]


@needs_shared
@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.slow) if n == "delicious" else n for n in SPLIT_NAMES
])
def test_each_shared_split_indexes_rows_of_its_data(name):
    data = shared(f"mulan/{name}" if (SHARED / "mulan" / name).is_dir() else f"ecology/{name}")
    split = load_split(SHARED / "splits" / f"{name}.json")
    split.check(data.n_samples)
    if data.split is not None:  # a Mulan train/test pair: the same split, rebuilt
        for part in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(data.split, part), getattr(split, part))


@needs_shared
@pytest.mark.slow
def test_imdb_meka_bz2_loads_with_28_first_labels():
    data = load_dataset(SHARED / "meka" / "Imdb.arff.bz2")
    assert data.features.shape == (120919, 1001) and data.n_labels == 28
    assert data.label_names[0] == "Sci-Fi" and find_split(SHARED / "mulan" / "flags") is not None


def test_only_covariates_of_a_few_small_whole_numbers_are_pointed_out_as_possible_classes():
    from cgmvae.formats.tables import class_like_covariates

    frame = pd.DataFrame({"veg": ["1", "2", "5", "4", "2"],
                          "year": ["2019", "2020", "2021", "2019", "2020"],
                          "elev": ["1.5", "2", "3", "4", "5"],
                          "wet": ["0", "1", "0", "1", "1"], "stage": ["0", "6", "3", "1", "x"],
                          "pair": ["1", "2", "1", "2", "1"], "species": ["1", "2", "3", "4", "5"]})
    assert class_like_covariates(frame, ["veg", "year", "elev", "wet", "stage", "pair",
                                         "absent"]) == {"veg": "4 values, 1 to 5"}
