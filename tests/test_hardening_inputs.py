"""Inputs that used to give silent wrong results: values beyond float32, training labels that are
never positive, and split files whose fractions or booleans were cast to row numbers."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from test_cli import write_toy_csv
from toy import toy_data, toy_split

from cgmvae.cli import main
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split, float32_features, load_split
from cgmvae.train import fit

TINY = ModelConfig(embedding_dim=8, latent_dim=2, feature_hidden=(8,), label_hidden=(8,),
                   decoder_hidden=(8,), dropout=0.0)
ONE_EPOCH = TrainConfig(max_epochs=1, device="cpu")


@pytest.fixture(scope="module")
def model():
    data = toy_data(80)
    return fit(data, toy_split(data), model_config=TINY, train_config=ONE_EPOCH)


@pytest.mark.parametrize(("value", "why"), [
    (1e300, "beyond the float32 range"), (-1e39, "beyond the float32 range"),
    (np.inf, "not a finite number"), (np.nan, "not a finite number")])
def test_features_that_are_not_finite_float32_are_refused_by_column_and_row(model, value, why):
    """Issue 10: 1e300 became inf in float32, the row all NaN and nothing was predicted."""
    features = toy_data(5).features.astype(np.float64)
    features[3, 2] = value
    message = f"feature 'f2' has the value {value:g} at data row 4, {why}"
    with pytest.raises(DataError, match=re.escape(message)):
        model.predict_proba(features)
    data = toy_data(5)
    with pytest.raises(DataError, match=rf"feature 'f2' .* at data row 4, {why}"):
        MultiLabelData(features, data.labels, data.feature_names, data.label_names)


def test_a_chunk_of_a_longer_table_names_its_row_in_the_whole_table():
    features = np.zeros((3, 2))
    features[1, 1] = 1e300
    with pytest.raises(DataError, match="'b' has the value 1e\\+300 at data row 1002,"):
        float32_features(features, ["a", "b"], first_row=1000)


def test_the_largest_float32_values_are_still_accepted(model):
    features = toy_data(2).features.astype(np.float64)
    features[0, 0] = 3.0e38
    assert np.isfinite(model.predict_proba(features[:, :6])[1]).all()


def test_predict_refuses_an_overflowing_csv_value_and_writes_nothing(tmp_path, capsys):
    csv = write_toy_csv(tmp_path)
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--embedding-dim", "8", "--device", "cpu"]) == 0
    frame = pd.read_csv(csv).astype({"f5": object})
    frame.loc[6, "f5"] = "1e300"
    frame.to_csv(tmp_path / "in.csv", index=False)
    capsys.readouterr()
    code = main(["predict", "--model", str(tmp_path / "run"), "--input", str(tmp_path / "in.csv"),
                 "--output", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    # the readers cast to float32 before the model sees the value, so it arrives as inf
    assert code == 2 and "feature 'f5' has the value" in err and "at data row 7" in err
    assert not (tmp_path / "out.csv").exists()


def test_training_without_any_positive_label_is_refused():
    """Issue 10: all-zero labels chose threshold 0.05 and predicted every label everywhere."""
    data = toy_data(80)
    split = toy_split(data)
    labels = data.labels.copy()
    labels[split.train] = 0.0  # positives in validation and test only
    empty = MultiLabelData(data.features, labels, data.feature_names, data.label_names)
    with pytest.raises(DataError, match="no label is positive in any of the 64 training rows"):
        fit(empty, split, model_config=TINY, train_config=ONE_EPOCH)


def test_labels_other_than_0_and_1_are_refused():
    data = toy_data(10)
    with pytest.raises(DataError, match="labels must be 0 or 1"):
        MultiLabelData(data.features, data.labels * 2, data.feature_names, data.label_names)


def test_mismatched_names_are_data_errors_not_asserts():
    data = toy_data(10)
    with pytest.raises(DataError, match="expected features of shape \\(n, 5\\)"):
        MultiLabelData(data.features, data.labels, data.feature_names[:5], data.label_names)
    with pytest.raises(DataError, match="4 labels but 3 names"):
        MultiLabelData(data.features, data.labels, data.feature_names, data.label_names[:3])


@pytest.mark.parametrize("train", [[0, 1, 2.5], [0, 1, 2.0], [True, False, True], [0, "1"],
                                   [[0, 1]], 5, None])
def test_a_split_file_with_anything_but_whole_numbers_is_refused(tmp_path, train):
    """Issue 10: 0.5 and true were silently cast to rows 0 and 1."""
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"train": train, "val": [3, 4]}))
    with pytest.raises(DataError, match="part 'train' must be a list of whole row numbers"):
        load_split(path)


def test_a_split_file_of_whole_numbers_still_loads(tmp_path):
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"train": [0, 1, 2], "val": [3], "test": []}))
    split = load_split(path)
    assert split.train.tolist() == [0, 1, 2] and split.test.dtype == np.int64


def test_a_boolean_mask_or_fractions_are_not_row_numbers():
    with pytest.raises(DataError, match="part 'train' must be a list of row numbers, got bool"):
        Split(np.array([True, False, True]), [1], [])
    with pytest.raises(DataError, match="part 'val' holds a fraction"):
        Split([0, 1], np.array([2.5]), [])
    assert Split([0], np.array([1.0]), []).val.tolist() == [1]  # whole floats (npy files) are rows
