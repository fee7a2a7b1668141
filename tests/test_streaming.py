"""Streaming: training batches from Parquet row groups (every row once per epoch, seeded order,
rank shards) and predictions written chunk by chunk."""

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader
from toy import toy_data, toy_split

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, Standardizer
from cgmvae.formats import read_feature_table
from cgmvae.streaming import (
    ParquetBatches,
    fit_streamed,
    heldout_data,
    plan_streamed_table,
    predict_in_chunks,
    read_rows,
    training_statistics,
)
from cgmvae.train import fit

N_ROWS, GROUP_ROWS = 103, 10  # 11 row groups, the last one short


@pytest.fixture()
def table(tmp_path):
    """`row` holds each row's number, so batches say which rows they carry; `owl` is a count."""
    rows = np.arange(N_ROWS)
    frame = pa.table({"row": rows.astype(np.float64), "temp": rows * 0.5,
                      "owl": pa.array(rows % 3, pa.uint8()), "jay": pa.array(rows % 2, pa.uint8())})
    path = tmp_path / "sites.parquet"
    pq.write_table(frame, path, row_group_size=GROUP_ROWS)
    return path


def batches(path, **options):
    dataset = ParquetBatches(path, feature_names=["row", "temp"], label_names=["owl", "jay"],
                             **{"batch_size": 8, "buffer_rows": 25, **options})
    return dataset, list(dataset)


def rows_of(batch_list) -> np.ndarray:
    return np.concatenate([x[:, 0].numpy() for x, _ in batch_list]).astype(int)


def test_every_row_is_seen_exactly_once_per_epoch_in_full_batches(table):
    _, found = batches(table)
    np.testing.assert_array_equal(np.sort(rows_of(found)), np.arange(N_ROWS))
    assert [len(x) for x, _ in found[:-1]] == [8] * (len(found) - 1) and 0 < len(found[-1][0]) <= 8
    x, y = found[0]
    assert x.dtype == y.dtype == torch.float32
    np.testing.assert_array_equal(y[:, 0].numpy(), (x[:, 0].numpy() % 3 > 0))  # counts: presence
    np.testing.assert_allclose(x[:, 1].numpy(), 0.5 * x[:, 0].numpy())  # rows stay whole


def test_the_order_changes_with_the_epoch_and_repeats_with_the_seed(table):
    dataset, first = batches(table, seed=3)
    dataset.set_epoch(1)
    second = list(dataset)
    again = ParquetBatches(table, feature_names=["row", "temp"], label_names=["owl", "jay"],
                           batch_size=8, buffer_rows=25, seed=3)
    assert not np.array_equal(rows_of(first), rows_of(second))
    np.testing.assert_array_equal(rows_of(first), rows_of(list(again)))
    np.testing.assert_array_equal(np.sort(rows_of(second)), np.arange(N_ROWS))


def test_the_buffer_mixes_rows_of_several_row_groups_in_one_batch(table):
    _, found = batches(table, buffer_rows=40)
    groups_per_batch = [len(np.unique(x[:, 0].numpy() // GROUP_ROWS)) for x, _ in found]
    assert max(groups_per_batch) >= 3


def test_without_shuffling_rows_come_in_file_order(table):
    _, found = batches(table, shuffle=False)
    np.testing.assert_array_equal(rows_of(found), np.arange(N_ROWS))


def test_ranks_share_out_whole_row_groups_without_overlap(table):
    shards = [batches(table, rank=rank, world_size=3, seed=1)[1] for rank in range(3)]
    rows = [rows_of(shard) for shard in shards]
    np.testing.assert_array_equal(np.sort(np.concatenate(rows)), np.arange(N_ROWS))
    for mine in rows:
        groups = np.unique(mine // GROUP_ROWS)
        assert len(mine) == sum(min(GROUP_ROWS, N_ROWS - g * GROUP_ROWS) for g in groups)
    assert sorted(len(np.unique(r // GROUP_ROWS)) for r in rows) == [3, 4, 4]


def test_dataloader_workers_split_the_row_groups(table):
    dataset = ParquetBatches(table, feature_names=["row"], label_names=["jay"], batch_size=8)
    loader = DataLoader(dataset, batch_size=None, num_workers=2)
    np.testing.assert_array_equal(np.sort(rows_of(list(loader))), np.arange(N_ROWS))


def test_chosen_row_groups_and_a_standardizer(table):
    standardizer = Standardizer(np.array([50.0, 0.0], np.float32),
                                np.array([10.0, 1.0], np.float32))
    _, found = batches(table, row_groups=[0, 10], standardizer=standardizer, shuffle=False)
    x = torch.cat([x for x, _ in found]).numpy()
    np.testing.assert_allclose(x[:, 0], (np.r_[0:10, 100:103] - 50) / 10)


def test_a_missing_feature_is_named_by_column_and_table_row(tmp_path):
    temp = pa.array([1.0] * 25 + [None] + [1.0] * 4)
    path = tmp_path / "gaps.parquet"
    pq.write_table(pa.table({"temp": temp, "owl": pa.array([1] * 30, pa.uint8())}), path,
                   row_group_size=10)
    dataset = ParquetBatches(path, feature_names=["temp"], label_names=["owl"], shuffle=False)
    with pytest.raises(DataError, match="missing value in column 'temp' at data row 26"):
        list(dataset)


# ---------------------------------------------------------------------------- predictions
TINY = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                   decoder_hidden=(16,))


@pytest.fixture(scope="module")
def model():
    data = toy_data(120)
    return fit(data, toy_split(data), model_config=TINY,
               train_config=TrainConfig(max_epochs=2, device="cpu"))


def new_sites(folder, n=50):
    frame = pd.DataFrame(toy_data(n, seed=5).features, columns=[f"f{i}" for i in range(6)])
    frame.insert(0, "site", [f"{i:04d}" for i in range(n)])
    path = folder / "sites.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunked_predictions_equal_the_whole_table_ones(model, tmp_path, suffix):
    path = new_sites(tmp_path)
    out = tmp_path / f"out{suffix}"
    assert predict_in_chunks(model, path, out, chunk_rows=7) == 50
    found = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype={"site": str})
    features = read_feature_table(path, model.feature_names)
    expected = model.prediction_frame(features, ids=pd.read_csv(path, dtype=str)[["site"]])
    assert list(found.columns) == list(expected.columns) and found["site"][3] == "0003"
    np.testing.assert_allclose(found.iloc[:, 1:].to_numpy(float),
                               expected.iloc[:, 1:].to_numpy(float), rtol=1e-5)


def test_parquet_input_is_predicted_too(model, tmp_path):
    csv_path = new_sites(tmp_path)
    pd.read_csv(csv_path, dtype={"site": str}).to_parquet(tmp_path / "sites.parquet")
    predict_in_chunks(model, tmp_path / "sites.parquet", tmp_path / "a.csv", chunk_rows=9)
    predict_in_chunks(model, csv_path, tmp_path / "b.csv", chunk_rows=20)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_a_bad_value_in_a_late_chunk_is_named_and_leaves_no_output(model, tmp_path):
    path = new_sites(tmp_path)
    frame = pd.read_csv(path, dtype=str)
    frame.loc[43, "f2"] = "n/a?"
    frame.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    message = "column 'f2' has the non-numeric value 'n/a?' at data row 44 (line 45)"
    with pytest.raises(DataError, match=re.escape(message)):
        predict_in_chunks(model, path, out, chunk_rows=10)
    assert list(tmp_path.iterdir()) == [path]


def test_missing_columns_are_named_before_anything_is_read(model, tmp_path):
    path = new_sites(tmp_path)
    pd.read_csv(path).drop(columns=["f1", "f4"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) f1, f4"):
        predict_in_chunks(model, path, tmp_path / "out.csv")


@pytest.mark.parametrize("value", ["1e300", "-5e38"])
def test_a_value_beyond_float32_in_a_late_chunk_is_named_with_the_table_row(model, tmp_path,
                                                                             value):
    """Issue 10: 1e300 was reported as 'not finite' at a row counted within its chunk."""
    path = new_sites(tmp_path)
    frame = pd.read_csv(path, dtype=str)
    frame.loc[43, "f2"] = value
    frame.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    message = "feature 'f2' has the value .* at data row 44, beyond the float32 range"
    with pytest.raises(DataError, match=message):
        predict_in_chunks(model, path, out, chunk_rows=10)
    assert not out.exists()


# ---------------------------------------------------------------------------- streamed training
def test_held_out_row_groups_are_seeded_disjoint_and_cover_the_table(table):
    plan = plan_streamed_table(table, labels=["owl", "jay"], seed=4)
    # `row` looks like an id column, which a loaded table would ignore too
    assert plan.feature_names == ["temp"] and plan.label_names == ["owl", "jay"]
    assert len(plan.val) == len(plan.test) == 1  # 10% of 11 row groups, at least one
    assert sorted(plan.train + plan.val + plan.test) == list(range(11))
    assert plan == plan_streamed_table(table, labels=["owl", "jay"], seed=4)
    other_seeds = [plan_streamed_table(table, labels=["owl", "jay"], seed=s) for s in range(5)]
    assert len({(p.val[0], p.test[0]) for p in other_seeds}) > 1


def test_streaming_refuses_a_csv_and_a_table_of_too_few_row_groups(table, tmp_path):
    with pytest.raises(DataError, match="convert"):
        plan_streamed_table(tmp_path / "sites.csv", labels=["owl"])
    pq.write_table(pq.read_table(table), tmp_path / "two.parquet", row_group_size=60)
    with pytest.raises(DataError, match="2 row group"):
        plan_streamed_table(tmp_path / "two.parquet", labels=["owl", "jay"])


def test_streamed_statistics_equal_those_of_the_training_rows_in_memory(table):
    plan = plan_streamed_table(table, labels=["owl", "jay"])
    statistics = training_statistics(plan)
    features, labels = read_rows(plan, plan.train)
    expected = Standardizer.fit(features)
    np.testing.assert_allclose(statistics.standardizer.mean, expected.mean, rtol=1e-6)
    np.testing.assert_allclose(statistics.standardizer.scale, expected.scale, rtol=1e-6)
    assert statistics.n_rows == len(features) == plan.rows(plan.train)
    np.testing.assert_array_equal(statistics.label_counts, labels.sum(axis=0))


def test_fit_streamed_trains_from_row_groups_and_matches_the_held_out_data(tmp_path):
    data = toy_data(300)
    frame = pa.table({**{n: data.features[:, j] for j, n in enumerate(data.feature_names)},
                      **{n: data.labels[:, k] for k, n in enumerate(data.label_names)}})
    path = tmp_path / "toy.parquet"
    pq.write_table(frame, path, row_group_size=25)
    plan = plan_streamed_table(path, labels=data.label_names)
    model = fit_streamed(plan, model_config=TINY,
                         train_config=TrainConfig(max_epochs=8, patience=50, device="cpu"))
    losses = [record["train_loss"] for record in model.history]
    assert len(losses) == 8 and losses[-1] < 0.8 * losses[0]
    heldout, split = heldout_data(plan)
    assert split.val.size == split.test.size == 25 and split.train.size == 0
    scores = model.evaluate(heldout.features[split.test], heldout.labels[split.test])
    assert scores["per_metric"]["micro_f1"] > 0.5


def test_train_stream_refuses_options_that_need_the_table_in_memory(table, tmp_path, capsys):
    from cgmvae.cli import main

    code = main(["train", "--data", str(table), "--labels", "owl,jay", "--stream",
                 "--split", "split.json", "--out", str(tmp_path / "run")])
    assert code == 2 and "--split do(es) not apply with --stream" in capsys.readouterr().err


def test_held_out_parts_stop_growing_with_the_table(table, monkeypatch):
    """10% of the row groups each, but at most about HELDOUT_ROWS rows (whole groups, at least
    one): on a 1M-row table 200k held-out rows scored every epoch set the memory peak."""
    import cgmvae.streaming as streaming

    monkeypatch.setattr(streaming, "HELDOUT_SHARE", 0.3)  # 3 of the 11 groups of GROUP_ROWS
    plan = plan_streamed_table(table, labels=["owl", "jay"], seed=4)
    assert len(plan.val) == len(plan.test) == 3
    monkeypatch.setattr(streaming, "HELDOUT_ROWS", 2 * GROUP_ROWS)
    plan = plan_streamed_table(table, labels=["owl", "jay"], seed=4)
    assert len(plan.val) == len(plan.test) == 2
    assert sorted(plan.train + plan.val + plan.test) == list(range(11))
    monkeypatch.setattr(streaming, "HELDOUT_ROWS", 1)
    plan = plan_streamed_table(table, labels=["owl", "jay"], seed=4)
    assert len(plan.val) == len(plan.test) == 1  # one group at least


# ---------------------------------------------------------------------------- text covariates
@pytest.fixture()
def survey_with_text(tmp_path):
    """A survey whose covariates are a habitat category, an altitude class code (A0600), a
    sidecar-ordinal disturbance class (`cls_2`) and a number: what an ecologist's export holds."""
    n = 120
    rng = np.random.default_rng(3)
    habitat = rng.choice(["forest", "meadow", "wetland"], n)
    altitude = rng.choice([600, 900, 1500], n)
    frame = pd.DataFrame({
        "site": [f"S{i}" for i in range(n)],
        "temp": rng.normal(10, 3, n),
        "habitat": habitat,
        "altitude": [f"A{a:04d}" for a in altitude],
        "disturbance": [f"cls_{k}" for k in rng.integers(0, 4, n)],
        "heron": (habitat == "wetland").astype(np.uint8),
        "owl": (habitat == "forest").astype(np.uint8),
        "lark": ((habitat == "meadow") & (altitude < 1000)).astype(np.uint8),
    })
    path = tmp_path / "survey.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=12)
    (tmp_path / "survey.json").write_text(
        '{"id": "site", "labels": ["heron", "owl", "lark"], "ordinal": ["disturbance"]}')
    return path, frame


def test_text_covariates_stream_as_a_loaded_table_encodes_them(survey_with_text):
    from cgmvae.formats.big_table import load_table

    path, _ = survey_with_text
    plan = plan_streamed_table(path)
    loaded = load_table(path)
    assert plan.feature_names == loaded.feature_names == [
        "temp", "altitude", "disturbance", "habitat=forest", "habitat=meadow", "habitat=wetland"]
    features, labels = read_rows(plan, range(10))  # every row group, in file order
    np.testing.assert_array_equal(features, loaded.features)
    np.testing.assert_array_equal(labels, loaded.labels)
    assert any("one-hot encoded category column(s) habitat (3 values)" in n for n in plan.notices)
    assert any(re.search(r"class-code column\(s\) altitude \(A\d+ -> \d+\)", n)
               for n in plan.notices)


def test_a_model_trained_streamed_on_text_covariates_predicts_from_the_raw_columns(
        survey_with_text, tmp_path):
    path, frame = survey_with_text
    model = fit_streamed(plan_streamed_table(path), model_config=TINY,
                         train_config=TrainConfig(max_epochs=3, patience=50, device="cpu"))
    assert model.feature_names[-3:] == ["habitat=forest", "habitat=meadow", "habitat=wetland"]
    out = tmp_path / "predicted.csv"
    assert predict_in_chunks(model, path, out, chunk_rows=50) == len(frame)
    assert pd.read_csv(out)["site"].tolist() == frame["site"].tolist()


@pytest.mark.parametrize(("column", "value", "message"), [
    ("habitat", None, "missing value in column 'habitat' at data row 38: streamed tables must"),
    ("altitude", "B0900", "column 'altitude' holds class codes like A0600, but has 'B0900' at "
                          "data row 38"),
    ("disturbance", "often", "ordinal column 'disturbance' has the value 'often' without a "
                             "number at data row 38"),
])
def test_a_bad_text_covariate_is_named_by_column_and_table_row(survey_with_text, column, value,
                                                              message):
    path, frame = survey_with_text
    frame.loc[37, column] = value
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=12)
    if column == "altitude":  # two letters: the whole column reads as categories, not codes
        assert "altitude=B0900" in plan_streamed_table(path).feature_names
        return
    with pytest.raises(DataError, match=re.escape(message)):  # when planned or when read
        read_rows(plan_streamed_table(path), range(10))
