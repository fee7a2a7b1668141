"""The pages' caches are keyed by content: a model or data set loaded twice is computed once."""

from dataclasses import replace

import numpy as np
import pytest
from ui import cached
from ui.fingerprints import data_fingerprint
from ui.state import DEFAULT_CHECKPOINT, Workspace

from cgmvae import explore
from cgmvae.data import MultiLabelData, random_split
from cgmvae.predictor import TrainedModel

needs_model = pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(),
                                 reason=f"{DEFAULT_CHECKPOINT} missing: "
                                        "python app/build_default_model.py")


@pytest.fixture
def loaded_twice():
    first, second = TrainedModel.load(DEFAULT_CHECKPOINT), TrainedModel.load(DEFAULT_CHECKPOINT)
    return (Workspace(first, None, "loaded", "first"),
            Workspace(second, None, "loaded again", "second"))


@needs_model
def test_a_model_loaded_twice_has_one_fingerprint_and_a_changed_model_another(loaded_twice):
    first, second = loaded_twice
    assert first.key != second.key and first.fingerprint == second.fingerprint
    changed = replace(second.model, threshold=second.model.threshold + 0.1)
    assert Workspace(changed, None, "changed", "third").fingerprint != first.fingerprint


def test_a_data_fingerprint_follows_values_names_and_split():
    rng = np.random.default_rng(0)
    data = MultiLabelData(rng.normal(size=(30, 2)), rng.random((30, 3)) < 0.5, ["a", "b"],
                          ["x", "y", "z"])
    split = random_split(30, seed=0)
    same = data_fingerprint(replace(data, features=data.features.copy()), random_split(30, seed=0))
    assert data_fingerprint(data, split) == same
    flipped = data.labels.copy()
    flipped[0, 0] = 1 - flipped[0, 0]
    for other in (data_fingerprint(replace(data, labels=flipped), split),
                  data_fingerprint(replace(data, label_names=["x", "y", "w"]), split),
                  data_fingerprint(data, random_split(30, seed=1))):
        assert other != same


@needs_model
def test_cached_results_are_shared_by_equal_content_only(loaded_twice, monkeypatch):
    calls = []
    monkeypatch.setattr(explore, "suggest_n_groups", lambda similarity: calls.append(1) or 3)
    cached.suggested_groups.clear()
    first, second = loaded_twice
    assert cached.suggested_groups(first) == cached.suggested_groups(second) == 3
    assert len(calls) == 1  # the second load of the same checkpoint is a cache hit
    changed = replace(second.model, threshold=second.model.threshold + 0.1)
    cached.suggested_groups(Workspace(changed, None, "changed", "third"))
    assert len(calls) == 2
