"""A feature table matched to a model: columns by name, one-hot rebuilt, scoring, a template."""

import io

import numpy as np
import pytest

from cgmvae.data import DataError
from cgmvae.formats import model_input
from cgmvae.formats.model_input import predict_csv, read_feature_table
from cgmvae.formats.template import template_frame
from cgmvae.predictor import TrainedModel


class LinearModel:
    """A stand-in for TrainedModel: probabilities are a sigmoid of features @ weights."""

    def __init__(self, weights, feature_names, label_names):
        self.weights = np.asarray(weights, dtype=np.float32)  # (D, L)
        self.feature_names, self.label_names = list(feature_names), list(label_names)
        self.threshold = 0.5
        self.standardizer = type("S", (), {"mean": np.arange(len(feature_names), dtype=float)})

    def predict_proba(self, features):
        return 1.0 / (1.0 + np.exp(-np.asarray(features, dtype=np.float32) @ self.weights))

    def prediction_frame(self, features, ids=None, extrapolation=None):
        return TrainedModel.prediction_frame(self, features, ids=ids, extrapolation=extrapolation)

    # no training ranges or spread: no extrapolation columns
    feature_min = feature_max = feature_novelty_metric = None
    outside_training_range = TrainedModel.outside_training_range
    combination_novelty = TrainedModel.combination_novelty
    extrapolation = TrainedModel.extrapolation
    extrapolation_note = TrainedModel.extrapolation_note


def test_read_feature_table_matches_by_name_and_rebuilds_one_hot():
    upload = io.BytesIO(b"extra,region,temp\nx,south,5\ny,north,6\n")
    features = read_feature_table(upload, ["temp", "region=north", "region=south"])
    np.testing.assert_array_equal(features, [[5, 0, 1], [6, 1, 0]])
    assert features.dtype == np.float32


def test_read_feature_table_lists_every_problem_at_once():
    text = "temp,region,rain\nabc,north,1\n2,west,2\n"
    with pytest.raises(DataError) as err:
        read_feature_table(io.StringIO(text), ["temp", "wind", "depth", "region=north", "rain"])
    message = str(err.value)
    assert "wind, depth" in message and "'abc' at data row 1" in message and "'west'" in message


def test_read_feature_table_names_rows_with_missing_values_and_empty_columns():
    with pytest.raises(DataError, match=r"data row\(s\) 2"):
        read_feature_table(io.StringIO("a,b\n1,2\n3,\n"), ["a", "b"])
    with pytest.raises(DataError, match="column 'b' is empty"):
        read_feature_table(io.StringIO("a,b\n1,\n3,\n"), ["a", "b"])


def test_template_has_one_column_per_raw_feature_with_the_commonest_category():
    model = LinearModel(np.zeros((4, 1)), ["x", "veg=1", "veg=2", "y"], ["a"])
    model.standardizer.mean = np.array([1.5, 0.2, 0.8, 3.0])
    template = template_frame(model, n_rows=2)
    assert list(template.columns) == ["x", "veg", "y"] and len(template) == 2
    assert template.loc[0, "veg"] == "2" and template.loc[0, "x"] == 1.5


def test_predict_csv_scores_rows_matched_by_name():
    model = LinearModel([[1.0], [0.0]], ["x", "z"], ["a"])
    table = predict_csv(model, io.StringIO("z,extra,x\n0,hello,5\n0,hi,-5\n"))
    assert list(table.columns) == ["row", "a_probability", "a_predicted", "richness_expected",
                                   "richness_predicted"]
    assert table["a_predicted"].tolist() == [1, 0] and table["row"].tolist() == [1, 2]
    assert table["a_probability"].iloc[0] > 0.99


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("x,z\n", "no data rows"),
    ("x,other\n1,2\n", "missing column"),
    ("x,z\n1,abc\n", "non-numeric"),
    ("x,z\n1,2\n3,\n", "missing values"),
    ("x,z\n1,NaN\n", "empty|missing values"),
    ("x,z\n1,2\n1,inf\n", "column 'z' has the infinite value 'inf' at data row 2"),
])
def test_predict_csv_refuses_bad_files_with_a_message_naming_the_problem(text, message):
    model = LinearModel([[1.0], [0.0]], ["x", "z"], ["a"])
    with pytest.raises(DataError, match=message):
        predict_csv(model, io.StringIO(text))


def test_predict_csv_refuses_huge_files_whole(monkeypatch):
    model = LinearModel([[1.0], [0.0]], ["x", "z"], ["a"])
    with pytest.raises(DataError, match="limit"):
        predict_csv(model, io.StringIO("x,z\n1,2\n"), size_bytes=10**9)
    monkeypatch.setattr(model_input, "MAX_PREDICT_ROWS", 2)
    with pytest.raises(DataError, match="3 rows"):
        predict_csv(model, io.StringIO("x,z\n1,2\n1,2\n1,2\n"))
