"""The template of sites to score: typical training sites, not a combination no survey had."""

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd

from cgmvae.data import Standardizer
from cgmvae.extrapolation import NOVEL, novelty, novelty_metric
from cgmvae.formats.model_input import read_feature_table
from cgmvae.formats.template import template_frame

REGION_OF = {"A": "R2", "B": "R1", "C": "R1", "D": "R2"}  # reserve -> its region
SHARE = {"A": 0.35, "B": 0.3, "C": 0.3, "D": 0.05}  # A is the commonest reserve, R1 the region
ELEVATION = {"A": 200.0, "B": 900.0, "C": 1500.0, "D": 400.0}


def surveyed_model(n=400, seed=0):
    """A model's view of training sites: a reserve lies in one region and sets the elevation."""
    rng = np.random.default_rng(seed)
    reserves = np.repeat(list(SHARE), [round(n * share) for share in SHARE.values()])
    elevation = np.array([ELEVATION[r] for r in reserves]) + rng.normal(0, 50, n)
    names = ["elevation", "region=R1", "region=R2"] + [f"reserve={r}" for r in SHARE]
    features = np.column_stack(
        [elevation] + [[REGION_OF[r] == g for r in reserves] for g in ("R1", "R2")]
        + [reserves == r for r in SHARE]).astype(np.float32)
    standardizer = Standardizer.fit(features)
    return SimpleNamespace(
        feature_names=names, standardizer=standardizer,
        feature_novelty_metric=novelty_metric(standardizer.transform(features)),
        feature_min=features.min(axis=0), feature_max=features.max(axis=0))


def read_back(model, template):
    return read_feature_table(io.StringIO(template.to_csv(index=False)), model.feature_names)


def test_the_means_with_each_commonest_category_would_be_a_site_no_survey_had():
    """The case the template avoids: the commonest reserve (A) outside the commonest region."""
    model = surveyed_model()
    naive = pd.DataFrame([{"elevation": float(model.standardizer.mean[0]), "region": "R1",
                           "reserve": "A"}])
    scaled = model.standardizer.transform(read_back(model, naive))
    assert novelty(scaled, model.feature_novelty_metric)[0] > NOVEL


def test_template_rows_are_distinct_typical_sites_each_reserve_in_its_own_region():
    model = surveyed_model()
    template = template_frame(model, n_rows=3)
    assert list(template.columns) == ["elevation", "region", "reserve"]
    assert template["reserve"].tolist() == ["A", "B", "C"]  # the commonest three
    regions = zip(template["reserve"], template["region"], strict=True)
    assert all(REGION_OF[reserve] == region for reserve, region in regions)
    for reserve, elevation in zip(template["reserve"], template["elevation"], strict=True):
        assert abs(elevation - ELEVATION[reserve]) < 60  # the reserve's typical elevation
    scaled = model.standardizer.transform(read_back(model, template))
    nt2 = novelty(scaled, model.feature_novelty_metric)
    assert (nt2 < 0.5 * NOVEL).all() and template.attrs["varied"] == "categories"
    np.testing.assert_allclose(template.attrs["novelty"], nt2, rtol=1e-4)


def test_more_rows_than_typical_sites_repeat_them_and_a_model_without_spread_gets_means():
    model = surveyed_model()
    template = template_frame(model, n_rows=6)
    assert len(template) == 6 and set(template["reserve"]) == {"A", "B", "C", "D"}
    model.feature_novelty_metric = None
    plain = template_frame(model, n_rows=2)
    assert plain["reserve"].tolist() == ["A", "A"] and plain["region"].tolist() == ["R1", "R1"]
    assert plain.attrs["novelty"] is None


def test_without_categories_the_rows_go_along_the_training_sites_main_gradient():
    """Wet sites are the low ones: the template's sites are the centre, a wetter lower site and
    a drier higher one, each typical; not three copies of the means."""
    rng = np.random.default_rng(3)
    moisture = rng.normal(50, 10, size=300)
    elevation = 800 - 9 * moisture + rng.normal(0, 30, size=300)
    features = np.column_stack([moisture, elevation]).astype(np.float32)
    standardizer = Standardizer.fit(features)
    model = SimpleNamespace(
        feature_names=["moisture", "elevation"], standardizer=standardizer,
        feature_novelty_metric=novelty_metric(standardizer.transform(features)),
        feature_min=features.min(axis=0), feature_max=features.max(axis=0))
    template = template_frame(model)
    centre, one_side, other_side = template[["moisture", "elevation"]].to_numpy()
    np.testing.assert_allclose(centre, standardizer.mean, rtol=1e-4)
    for side in (one_side, other_side):
        wetter, higher = side - centre
        assert abs(wetter) > 2 and wetter * higher < 0  # along the gradient, not across it
    np.testing.assert_allclose(one_side - centre, centre - other_side, rtol=1e-4)
    assert template.attrs["varied"] == "gradient"
    assert np.allclose(template.attrs["novelty"], [0.0, 0.4, 0.4], atol=1e-3)
