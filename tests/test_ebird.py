"""eBird Basic Dataset zero-filling on tests/fixtures/ebird, a hand-written 6-checklist, 5-species
extract: one incomplete checklist, one `X` count, one shared group, an issf, a spuh."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cgmvae.cli import main
from cgmvae.data import DataError
from cgmvae.formats import load_dataset
from cgmvae.formats.ebird import COVARIATES, write_ebird_table, zero_fill

FIXTURES = Path(__file__).parent / "fixtures" / "ebird"
OBSERVATIONS, SAMPLING = FIXTURES / "observations.txt", FIXTURES / "sampling.txt"


@pytest.fixture(scope="module")
def table():
    return zero_fill(OBSERVATIONS, SAMPLING).set_index("checklist_id")


def test_only_complete_checklists_are_kept_and_a_shared_one_once(table):
    # S100000005 is incomplete; S100000003/4 are the group G9000001 (auk's checklist_id)
    assert table.index.tolist() == ["S100000001", "S100000002", "G9000001", "S100000006"]


def test_species_are_zero_filled_in_taxonomic_order_without_spuhs(table):
    species = [c for c in table.columns if c not in COVARIATES]
    assert species == ["Mallard", "Blue Jay", "Black-capped Chickadee", "American Robin",
                       "Song Sparrow"]  # "duck sp." dropped; the issf is its species
    assert table.loc["S100000001", "Black-capped Chickadee"] == 1  # an X count is presence
    assert table.loc["S100000001", "Song Sparrow"] == 0  # not reported: absent
    # the group: Robin and Mallard from one copy, Song Sparrow from the other
    group = table.loc["G9000001", ["Mallard", "American Robin", "Song Sparrow"]]
    assert group.tolist() == [1, 1, 1]
    assert table[species].sum().tolist() == [1, 1, 2, 2, 3]


def test_effort_covariates(table):
    first = table.loc["S100000001"]
    assert (first["duration_minutes"], first["effort_distance_km"], first["number_observers"]) == (
        60, 2.5, 1)
    assert first["time_started_hours"] == 6.5 and first["day_of_year"] == 121
    assert table.loc["S100000006", "time_started_hours"] == 18.75
    assert table.loc["S100000002", "effort_distance_km"] == 0  # stationary: no distance
    assert table["protocol"].tolist() == ["Traveling", "Stationary", "Traveling", "Stationary"]
    assert (table.loc["S100000002", "latitude"], table.loc["S100000002", "longitude"]) == (
        42.4801, -76.4513)


def test_species_min_keeps_species_seen_on_enough_checklists():
    kept = zero_fill(OBSERVATIONS, SAMPLING, species_min=2)
    assert [c for c in kept.columns if c not in COVARIATES][1:] == [
        "Black-capped Chickadee", "American Robin", "Song Sparrow"]
    assert any("kept 3 of 5 species" in n for n in kept.attrs["notices"])


def test_written_table_loads_with_ids_and_one_hot_protocol(tmp_path):
    path = write_ebird_table(io.BytesIO(OBSERVATIONS.read_bytes()),
                             io.BytesIO(SAMPLING.read_bytes()), tmp_path, name="ny",
                             observations_name="ebd_upload.txt", sampling_name="sed_upload.txt")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["id"] == "checklist_id" and meta["features"] == COVARIATES
    assert "ebd_upload.txt" in meta["source"] and meta["title"].startswith("eBird: 4 complete")
    data = load_dataset(path)
    assert data.sample_ids[2] == "G9000001" and data.n_labels == 5
    assert data.feature_names[-2:] == ["protocol=Stationary", "protocol=Traveling"]
    np.testing.assert_array_equal(data.labels.sum(axis=0), [1, 1, 2, 2, 3])


def test_cli_writes_csv_and_sidecar(tmp_path, capsys):
    assert main(["ebird", "--observations", str(OBSERVATIONS), "--sampling", str(SAMPLING),
                 "--out", str(tmp_path), "--species-min", "3"]) == 0
    assert (tmp_path / "ebird.csv").read_text().splitlines()[0].endswith("protocol,Song Sparrow")
    said = capsys.readouterr().err
    assert "dropped 1 incomplete checklist" in said
    for progress in ("sampling.txt: 6 rows read", "observations.txt: 12 rows read, 5 species so "
                     "far", "ebird.csv: 4 of 4 checklists written"):
        assert progress in said  # a state's EBD takes minutes: each chunk is reported


@pytest.mark.parametrize("change, message", [
    (("OBSERVATION COUNT", "COUNT"), r"observations.txt: no column\(s\) OBSERVATION COUNT"),
    (("\t2\t\tUnited", "\tmany\t\tUnited"),
     r"OBSERVATION COUNT has the value 'many' at data row 1"),
])
def test_bad_observation_files_name_file_column_and_row(tmp_path, change, message):
    bad = tmp_path / "observations.txt"
    bad.write_text(OBSERVATIONS.read_text().replace(*change, 1))
    with pytest.raises(DataError, match=message):
        zero_fill(bad, SAMPLING)


def test_bad_sampling_value_names_the_upload_and_row():
    text = SAMPLING.read_text().replace("2023-05-02", "02/05/2023")
    with pytest.raises(DataError, match=r"^sed.txt: OBSERVATION DATE.*'02/05/2023' at data row 2"):
        zero_fill(OBSERVATIONS, io.StringIO(text), sampling_name="/tmp/upload123/sed.txt")


def test_reading_in_chunks_gives_the_table_of_one_read(tmp_path):
    """A synthetic EBD of every protocol, groups, spuhs and X counts, read 97 rows at a time
    (groups and checklists cut across chunks) against one read of each file."""
    from benchmarks.ebird_scale import write_synthetic_ebd

    from cgmvae.formats.ebird import zero_fill_compact

    observations, sampling = write_synthetic_ebd(tmp_path, n_checklists=300, n_species=40,
                                                 per_checklist=6, seed=1)
    whole = zero_fill_compact(observations, sampling, species_min=2, chunk_rows=10**6)
    chunked = zero_fill_compact(observations, sampling, species_min=2, chunk_rows=97)
    assert chunked.species == whole.species and chunked.notices == whole.notices
    assert any("collapsed" in n for n in whole.notices) and any("kept" in n for n in whole.notices)
    n_rows = len(whole.checklists)
    assert 200 < n_rows < 300
    expected = whole.rows(0, n_rows)
    for table in (chunked.rows(0, n_rows),
                  pd.concat([chunked.rows(a, min(a + 64, n_rows)) for a in range(0, n_rows, 64)],
                            ignore_index=True)):
        pd.testing.assert_frame_equal(table, expected)


def test_a_bad_value_is_named_by_its_row_in_the_file_whichever_chunk_holds_it(tmp_path):
    from cgmvae.formats.ebird import zero_fill_compact

    lines = OBSERVATIONS.read_text().splitlines(keepends=True)
    fields = lines[5].split("\t")
    fields[10] = "lots"  # OBSERVATION COUNT of data row 5
    bad = tmp_path / "observations.txt"
    bad.write_text("".join([*lines[:5], "\t".join(fields), *lines[6:]]))
    with pytest.raises(DataError, match=r"'lots' at data row 5 \(line 6\)"):
        zero_fill_compact(bad, SAMPLING, chunk_rows=2)


def test_parquet_output_holds_the_csv_table_with_uint8_species(tmp_path, capsys):
    import pyarrow.parquet as pq

    assert main(["ebird", "--observations", str(OBSERVATIONS), "--sampling", str(SAMPLING),
                 "--out", str(tmp_path), "--format", "parquet"]) == 0
    assert "ebird.parquet and its sidecar" in capsys.readouterr().out
    path = tmp_path / "ebird.parquet"
    assert str(pq.read_schema(path).field("Song Sparrow").type) == "uint8"
    from_parquet, from_csv = load_dataset(path), load_dataset(
        write_ebird_table(OBSERVATIONS, SAMPLING, tmp_path / "csv"))
    np.testing.assert_array_equal(from_parquet.labels, from_csv.labels)
    np.testing.assert_array_equal(from_parquet.features, from_csv.features)
    assert from_parquet.feature_names == from_csv.feature_names  # protocol=... one-hot in both
    assert from_parquet.sample_ids == from_csv.sample_ids
    assert json.loads(path.with_suffix(".json").read_text())["labels"][-1] == "Song Sparrow"


def test_an_ebird_parquet_streams(tmp_path, monkeypatch):
    """Every feature of the Parquet table is a number (protocol one-hot), so `train --stream`
    takes it; 50-checklist row groups make the held-out groups."""
    from benchmarks.ebird_scale import write_synthetic_ebd

    from cgmvae.formats import ebird
    from cgmvae.streaming import plan_streamed_table, training_statistics

    observations, sampling = write_synthetic_ebd(tmp_path, n_checklists=300, n_species=20,
                                                 per_checklist=5, seed=2)
    monkeypatch.setattr(ebird, "BLOCK_ROWS", 50)
    path = write_ebird_table(observations, sampling, tmp_path / "out", file_format="parquet")
    table = plan_streamed_table(path)
    assert table.feature_names[-3:] == ["longitude", "protocol=Stationary", "protocol=Traveling"]
    assert 15 <= len(table.label_names) <= 20 and len(table.train) >= 3  # rare ones unseen
    assert training_statistics(table).n_rows == table.rows(table.train)


def test_gzipped_files_as_ebird_ships_them_give_the_same_table(tmp_path, table):
    import gzip

    paths = []
    for source in (OBSERVATIONS, SAMPLING):
        paths.append(tmp_path / f"{source.stem}.txt.gz")
        paths[-1].write_bytes(gzip.compress(source.read_bytes()))
    pd.testing.assert_frame_equal(zero_fill(*paths).set_index("checklist_id"), table)
    uploads = [io.BytesIO(path.read_bytes()) for path in paths]  # named only by the page
    pd.testing.assert_frame_equal(zero_fill(*uploads, observations_name=paths[0].name,
                                            sampling_name=paths[1].name
                                            ).set_index("checklist_id"), table)


def test_header_only_and_empty_files_get_a_clear_error(tmp_path):
    header_only = {name: tmp_path / f"{name}.txt" for name in ("obs", "sed")}
    header_only["obs"].write_text(OBSERVATIONS.read_text().splitlines()[0] + "\n")
    header_only["sed"].write_text(SAMPLING.read_text().splitlines()[0] + "\n")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match=r"sed\.txt: no complete checklist with effort information"):
        zero_fill(OBSERVATIONS, header_only["sed"])
    with pytest.raises(DataError, match="no species left"):
        write_ebird_table(header_only["obs"], SAMPLING, tmp_path / "out")
    with pytest.raises(DataError, match=r"empty\.txt is empty"):
        zero_fill(OBSERVATIONS, tmp_path / "empty.txt")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
