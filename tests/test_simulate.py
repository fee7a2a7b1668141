"""The simulated eBird-style checklists: shape, determinism, sidecar, and the guild structure."""

import json

import numpy as np
import pytest

from cgmvae import simulate
from cgmvae.cli import main
from cgmvae.explore import cluster_labels, cooccurrence, group_recovery
from cgmvae.formats import load_dataset
from cgmvae.simulate import (
    DEFAULT_NAME,
    FEATURES,
    GUILDS,
    residual_pairs,
    simulate_checklists,
    species_groups,
    write_checklists,
)


@pytest.fixture(scope="module")
def checklists():
    return simulate_checklists(2000, seed=0)


def test_species_are_30_to_60_real_names_in_four_guilds_with_paper_examples():
    groups = species_groups()
    assert 30 <= len(groups) <= 60
    assert set(groups.values()) == {"water", "forest", "residential", "generalist"}
    for species, guild in [("Great Black-backed Gull", "water"), ("Tufted Titmouse", "forest"),
                           ("House Sparrow", "residential"), ("Mourning Dove", "residential")]:
        assert groups[species] == guild
    assert len(groups) == sum(len(members) for members in GUILDS.values())  # no duplicates


def test_same_seed_gives_identical_data_and_another_seed_different_sites(checklists):
    again = simulate_checklists(2000, seed=0)
    other = simulate_checklists(2000, seed=1)
    np.testing.assert_array_equal(checklists.features, again.features)
    np.testing.assert_array_equal(checklists.labels, again.labels)
    assert not np.array_equal(checklists.labels, other.labels)


def test_covariates_are_plausible(checklists):
    x = dict(zip(checklists.feature_names, checklists.features.T, strict=True))
    cover = x["open_water"] + x["forest"] + x["developed"] + x["farmland"]
    np.testing.assert_allclose(cover, 1.0, atol=1e-5)
    assert set(np.unique(x["month"])) == set(range(1, 13))
    assert x["elevation_m"].min() > 0 and x["effort_hours"].min() >= 0.1


def test_every_species_is_neither_rare_nor_everywhere(checklists):
    prevalence = checklists.labels.mean(axis=0)
    assert prevalence.min() > 0.05 and prevalence.max() < 0.7, prevalence


def test_water_birds_follow_open_water(checklists):
    water = checklists.features[:, FEATURES.index("open_water")]
    heron = checklists.labels[:, checklists.label_names.index("Great Blue Heron")]
    assert heron[water > 0.5].mean() > 3 * heron[water < 0.1].mean()


def test_summer_visitors_are_rarer_in_winter(checklists):
    month = checklists.features[:, FEATURES.index("month")]
    osprey = checklists.labels[:, checklists.label_names.index("Osprey")]
    assert osprey[np.isin(month, [6, 7])].mean() > 2 * osprey[np.isin(month, [12, 1])].mean()


def test_empirical_cooccurrence_recovers_the_guilds(checklists):
    clustering = cluster_labels(cooccurrence(checklists.labels, "phi"), n_groups=3)
    true = [species_groups()[name] for name in checklists.label_names]
    assert group_recovery(clustering.groups, true) == pytest.approx(1.0)


def test_planted_residual_pairs_cooccur_beyond_the_covariates_and_guilds_do_not(checklists):
    """Guilds share a habitat only; the residual pairs share a hidden site factor, so at sites
    with similar water cover a planted pair still goes together, two gulls hardly."""
    water = checklists.features[:, FEATURES.index("open_water")]
    similar_sites = (water > 0.2) & (water < 0.4)
    names = checklists.label_names
    phi = cooccurrence(checklists.labels[similar_sites], "phi")
    planted = [phi[names.index(a), names.index(b)] for a, b in residual_pairs()]
    assert np.median(planted) > 0.1
    assert abs(phi[names.index("Herring Gull"), names.index("Ring-billed Gull")]) < 0.1


def test_write_checklists_writes_csv_and_sidecar_like_the_shared_ecology_data(tmp_path):
    csv_path = write_checklists(tmp_path / "out", n_sites=50, seed=3)
    assert csv_path == tmp_path / "out" / f"{DEFAULT_NAME}.csv"
    meta = json.loads(csv_path.with_suffix(".json").read_text())
    assert {"title", "source", "licence", "notes", "features", "labels", "groups",
            "residual_pairs"} <= set(meta)
    assert all(meta["groups"][a] != meta["groups"][b] for a, b in meta["residual_pairs"])
    assert meta["groups"]["Cedar Waxwing"] == "forest"
    assert meta["groups"]["American Crow"] == "generalist"
    header = csv_path.read_text().splitlines()[0].split(",")
    assert header == ["site", *meta["features"], *meta["labels"]]
    assert len(csv_path.read_text().splitlines()) == 51


# ------------------------------------------------------------------ bigger worlds, in blocks
@pytest.fixture()
def small_blocks(monkeypatch):
    monkeypatch.setattr(simulate, "SIMULATION_BLOCK", 40)


def test_sites_are_drawn_in_blocks_and_the_first_block_is_the_set_of_that_size(small_blocks):
    first, whole = simulate_checklists(40, seed=2), simulate_checklists(100, seed=2)
    np.testing.assert_array_equal(whole.features[:40], first.features)
    np.testing.assert_array_equal(whole.labels[:40], first.labels)
    assert not np.array_equal(whole.labels[40:80], first.labels)  # block 1 has its own stream


@pytest.mark.parametrize("name", ["sites.csv", "sites.parquet"])
def test_written_blocks_are_the_simulated_sites(small_blocks, tmp_path, name):
    path = write_checklists(tmp_path / name, n_sites=100, seed=5, n_species=50, n_covariates=9)
    data = load_dataset(path)
    expected = simulate_checklists(100, seed=5, n_species=50, n_covariates=9)
    np.testing.assert_allclose(data.features, expected.features, rtol=1e-6)
    np.testing.assert_array_equal(data.labels, expected.labels)
    assert data.sample_ids[::45] == ["S00001", "S00046", "S00091"]
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["source"].endswith("(n_sites=100, seed=5, n_species=50, n_covariates=9)")
    assert meta["n_rows"] == 100 and len(meta["groups"]) == 50


def test_more_species_and_covariates_extend_the_named_world():
    data = simulate_checklists(3000, seed=0, n_species=60, n_covariates=10)
    assert data.label_names[:42] == list(species_groups()) and data.label_names[42] == "Species 043"
    assert data.feature_names == [*FEATURES, "covariate_08", "covariate_09", "covariate_10"]
    added = data.features[:, 7:]
    assert abs(added.mean()) < 0.05 and abs(added.std() - 1) < 0.05
    prevalence = data.labels.mean(axis=0)
    assert prevalence.min() > 0.02 and prevalence.max() < 0.8, prevalence
    water = data.features[:, FEATURES.index("open_water")]
    water_bird = data.labels[:, data.label_names.index("Species 043")]  # the first added: water
    assert water_bird[water > 0.5].mean() > 2 * water_bird[water < 0.1].mean()


def test_fewer_species_keep_only_their_residual_pairs_and_bad_sizes_are_refused():
    data = simulate_checklists(50, n_species=20)
    assert data.label_names == list(species_groups())[:20]
    assert all(a in data.label_names and b in data.label_names
               for a, b in residual_pairs(data.label_names))
    with pytest.raises(ValueError, match="7 covariates"):
        simulate_checklists(50, n_covariates=5)


def test_cli_simulates_a_parquet_table_of_any_size(tmp_path, capsys):
    out = tmp_path / "big.parquet"
    assert main(["simulate", "--out", str(out), "--sites", "30", "--species", "45",
                 "--covariates", "8"]) == 0
    data = load_dataset(out)
    assert (data.n_samples, data.n_labels, data.n_features) == (30, 45, 8)
