"""Which split a data set uses (split file, its own, seeded 80/10/10) and the built-in recipe."""

import json

import numpy as np
import pytest

from cgmvae.data import DataError, MultiLabelData, Split
from cgmvae.datasets import SEEDED_SPLIT, builtin_data, choose_split, load_with_split


def tiny(n=20, split=None) -> MultiLabelData:
    rng = np.random.default_rng(0)
    return MultiLabelData(rng.normal(size=(n, 2)), rng.random((n, 3)) < 0.5, ["a", "b"],
                          ["x", "y", "z"], split=split)


def write_split(path, train, val, test=()):
    path.write_text(json.dumps({"train": list(train), "val": list(val), "test": list(test)}))
    return path


def test_a_split_file_wins_over_the_split_that_comes_with_the_data(tmp_path):
    own = Split(range(10), range(10, 15), range(15, 20))
    path = write_split(tmp_path / "mine.json", range(5), range(5, 8))
    split, how = choose_split(tiny(split=own), path)
    assert split.train.tolist() == [0, 1, 2, 3, 4] and how == "split from mine.json"
    split, how = choose_split(tiny(split=own))
    assert split is own and how == "the split that comes with the data"


def test_without_either_the_split_is_a_seeded_80_10_10():
    split, how = choose_split(tiny(), seed=3)
    again, _ = choose_split(tiny(), seed=3)
    other, _ = choose_split(tiny(), seed=4)
    assert how == SEEDED_SPLIT and (split.train.size, split.val.size, split.test.size) == (16, 2, 2)
    assert split.train.tolist() == again.train.tolist() != other.train.tolist()


def test_a_split_of_another_data_set_is_refused(tmp_path):
    path = write_split(tmp_path / "big.json", range(30), range(30, 40))
    with pytest.raises(DataError, match="another data set"):
        choose_split(tiny(), path)


def test_load_with_split_passes_load_options_and_reads_the_split_file(tmp_path):
    table = tmp_path / "sites.csv"
    table.write_text("temp,sp_a,sp_b\n" + "".join(f"{i},{i % 2},{(i + 1) % 2}\n" for i in range(6)))
    split_file = write_split(tmp_path / "s.json", [0, 1, 2], [3], [4, 5])
    data, split, how = load_with_split(table, split_file, label_prefix="sp_")
    assert data.label_names == ["sp_a", "sp_b"] and data.feature_names == ["temp"]
    assert split.test.tolist() == [4, 5] and how == "split from s.json"


def test_the_builtin_data_is_the_same_every_time():
    data, split = builtin_data()
    again, same_split = builtin_data()
    assert np.array_equal(data.features, again.features)
    assert np.array_equal(data.labels, again.labels)
    assert split.train.tolist() == same_split.train.tolist()
