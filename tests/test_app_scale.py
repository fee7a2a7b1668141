"""The app at scale (issue 12 item 5), on small stand-ins: block-averaged heatmaps with a zoom to
one group, sampled latent maps that say how many points they show, deferred association layers."""

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cgmvae import explore
from cgmvae.explore import heatmaps, projections
from cgmvae.explore.association_views import association_heatmap
from cgmvae.simulate import DEFAULT_NAME

ROOT = Path(__file__).resolve().parents[1]
PAGES_DIR = ROOT / "pages"
CHECKPOINT = ROOT / "assets" / f"{DEFAULT_NAME}.pt"
N_LABELS = 600  # above heatmaps.BLOCK_AVERAGE_ABOVE


def grouped_similarity(n_labels: int = N_LABELS, n_groups: int = 6):
    """Labels in `n_groups` blocks of similar embeddings, their similarity and clustering."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(n_groups, 8)) * 3.0
    embeddings = centres[np.arange(n_labels) % n_groups] + rng.normal(size=(n_labels, 8))
    similarity = (embeddings @ embeddings.T).astype(np.float32)
    return similarity, explore.cluster_labels(similarity, n_groups)


def test_block_average_is_the_mean_over_each_pair_of_groups_without_the_diagonal():
    matrix = np.array([[9.0, 1.0, 2.0], [1.0, 9.0, 4.0], [2.0, 4.0, 9.0]])
    means, sizes = heatmaps.block_average(matrix, np.array([1, 1, 2]))
    np.testing.assert_allclose(means, [[1.0, 3.0], [3.0, np.nan]])  # a lone label: no pair
    assert sizes.tolist() == [2, 1]


def test_heatmap_of_600_labels_is_block_averaged_by_the_dendrogram_groups():
    similarity, clustering = grouped_similarity()
    names = [f"species {i}" for i in range(N_LABELS)]
    figure = explore.similarity_heatmap(similarity, names, clustering, title="learned")
    heat = figure.data[-1]
    assert [t.type for t in figure.data] == ["heatmap"] and heat.z.shape == (6, 6)
    sizes = np.bincount(clustering.groups)[1:]
    assert list(heat.y) == [f"group {g} ({n})" for g, n in enumerate(sizes, start=1)]
    first = np.flatnonzero(clustering.groups == 1)
    expected = explore.without_diagonal(similarity[np.ix_(first, first)])
    assert heat.z[0, 0] == pytest.approx(np.nanmean(expected), rel=1e-5)
    assert "zoom to a group" in figure.layout.title.text


def test_heatmap_at_the_threshold_still_shows_every_label():
    similarity, clustering = grouped_similarity(heatmaps.BLOCK_AVERAGE_ABOVE)
    names = [f"s{i}" for i in range(heatmaps.BLOCK_AVERAGE_ABOVE)]
    figure = explore.similarity_heatmap(similarity, names, clustering)
    assert figure.data[-1].z.shape == (len(names), len(names))


def test_zoom_to_a_group_of_600_labels_shows_its_species_one_by_one():
    similarity, clustering = grouped_similarity()
    names = [f"species {i}" for i in range(N_LABELS)]
    rows = np.flatnonzero(clustering.groups == 2)
    supported = np.ones_like(similarity, dtype=bool)
    figure = association_heatmap(similarity, names, clustering, rows=rows, supported=supported)
    assert sorted(figure.data[0].x) == sorted(names[i] for i in rows)
    assert figure.data[0].z.shape == (rows.size, rows.size)


def test_block_averaged_association_heatmap_has_no_per_pair_grey_layer():
    similarity, clustering = grouped_similarity()
    supported = np.zeros_like(similarity, dtype=bool)
    figure = association_heatmap(similarity, [f"s{i}" for i in range(N_LABELS)], clustering,
                                 supported=supported)
    assert len(figure.data) == 1 and figure.data[0].z.shape == (6, 6)


class ConstantModel:
    """Stands in for a TrainedModel: a 3-d point per sample (its first three features)."""

    def latent_means(self, features):
        assert len(features) <= 30, f"the model saw {len(features)} rows, expected the sample"
        return np.asarray(features[:, :3], dtype=np.float32)


def test_sample_map_runs_the_model_on_a_seeded_sample_and_says_its_size(monkeypatch):
    monkeypatch.setattr(projections, "MAX_DRAWN_POINTS", 30)
    features = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    labels = np.ones((100, 2), dtype=np.uint8)
    frame, notice = explore.sample_map(ConstantModel(), features, labels, space="posterior")
    assert len(frame) == 30 and frame["sample"].is_monotonic_increasing
    assert frame["sample"].max() < 100 and frame["labels"].eq(2).all()
    assert "random 30 of 100 samples" in notice
    again, _ = explore.sample_map(ConstantModel(), features, labels, space="posterior")
    assert again["sample"].tolist() == frame["sample"].tolist()


def test_umap_sample_is_smaller_than_the_drawn_one_and_has_an_eta():
    assert projections.MAX_UMAP_POINTS < projections.MAX_DRAWN_POINTS
    assert explore.map_rows(10**6, "umap").size == projections.MAX_UMAP_POINTS
    assert explore.map_rows(10**6, "pca").size == projections.MAX_DRAWN_POINTS


def test_umap_eta_counts_numba_compilation_only_until_this_process_has_run_it(monkeypatch):
    """A process's first UMAP compiles (59-111 s measured at 10,000 points), later runs take
    about 13 s: the page says which one the user is about to wait for."""
    import sys
    import types

    class FakeUMAP:
        def __init__(self, **_):
            pass

        def fit_transform(self, points):
            return points[:, :2]

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    monkeypatch.setattr(projections, "_compiled", set())
    size = projections.MAX_UMAP_POINTS
    compiled = projections.UMAP_FIXED_S + projections.UMAP_S_PER_POINT * size
    first = compiled + projections.UMAP_COMPILE_S + projections.NN_DESCENT_COMPILE_S
    assert explore.umap_seconds(size) == pytest.approx(first)
    assert 55 <= first <= 90 and 10 <= compiled <= 15
    assert "numba compiling" in explore.umap_eta(size)
    explore.project_2d(np.zeros((100, 3)), "umap")  # exact neighbours: NN-descent not compiled
    assert explore.umap_seconds(size) == pytest.approx(compiled + projections.NN_DESCENT_COMPILE_S)
    assert explore.umap_seconds(100) == pytest.approx(projections.UMAP_FIXED_S + 0.115)
    explore.project_2d(np.zeros((size, 3)), "umap")
    assert explore.umap_seconds(size) == pytest.approx(compiled)
    assert explore.umap_eta(size) == f"about {compiled:.0f} s"


@pytest.mark.skipif(not CHECKPOINT.is_file(), reason="built-in model missing")
def test_latent_page_states_its_sample_size_and_webgl(monkeypatch):
    monkeypatch.setattr(projections, "MAX_DRAWN_POINTS", 1500)
    from ui import cached

    cached.sample_map.clear()
    app = AppTest.from_file(str(PAGES_DIR / "5_latent_space.py"), default_timeout=60).run()
    cached.sample_map.clear()
    assert not app.exception, [e.value for e in app.exception]
    notices = " ".join(str(i.value) for i in app.info)
    assert "random 1,500 of 4,000 samples" in notices and "WebGL" in notices


@pytest.mark.skipif(not CHECKPOINT.is_file(), reason="built-in model missing")
def test_correlation_page_waits_for_a_click_when_the_layers_would_take_long(monkeypatch):
    from ui import cached

    monkeypatch.setattr(cached, "AUTOMATIC_ASSOCIATION_S", 0.0)
    app = AppTest.from_file(str(PAGES_DIR / "3_label_correlations.py"), default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    layers = next(r for r in app.radio if r.label == "Layer")
    assert layers.options == ["Learned", "Environmental"]
    assert any(b.label == "Compute the data layers" for b in app.button)
    assert re.search(r"take about \d+ (s|min) on 2 cores", " ".join(str(i.value) for i in app.info))


def test_cooccurrence_of_a_sample_is_the_whole_tables_within_its_stated_margin():
    rng = np.random.default_rng(0)
    habitat = rng.random((200_000, 1)) < 0.4
    labels = (rng.random((200_000, 6)) < np.where(habitat, 0.5, 0.1)).astype(np.uint8)
    whole = explore.cooccurrence(labels)
    rows = explore.quick_count_rows(*labels.shape)
    assert rows.size == 200_000  # under the budget: every row
    small = np.sort(rng.choice(200_000, 20_000, replace=False))
    sampled = explore.cooccurrence_from_counts(explore.pair_counts(labels[small]), small.size)
    assert np.abs(sampled - whole).max() < explore.phi_margin(small.size)
    jaccard = explore.cooccurrence_from_counts(explore.pair_counts(labels), len(labels),
                                               "jaccard")
    np.testing.assert_array_equal(jaccard, explore.cooccurrence(labels, "jaccard"))


def test_quick_count_rows_shrink_with_the_square_of_the_species_count():
    from cgmvae.explore import correlations

    assert explore.quick_count_rows(1_000_000, 500).size == 200_000
    assert explore.quick_count_rows(1_000_000, 1000).size == 50_000
    assert explore.quick_count_rows(1_000_000, 5000).size == correlations.MIN_QUICK_ROWS
    assert explore.quick_count_rows(400_000, 500).size == 200_000
    assert explore.quick_count_rows(399_999, 500).size == 399_999
    assert explore.quick_count_rows(60_000, 1000).size == 60_000  # a sample of most: all
    rows = explore.quick_count_rows(1_000_000, 500)
    assert np.all(np.diff(rows) > 0) and rows.max() < 1_000_000
    np.testing.assert_array_equal(rows, explore.quick_count_rows(1_000_000, 500))  # seeded
    assert explore.phi_margin(200_000) == pytest.approx(0.00438, abs=1e-5)


@pytest.mark.skipif(not CHECKPOINT.is_file(), reason="built-in model missing")
def test_data_page_counts_a_big_tables_pairs_on_a_sample_until_asked_for_all(monkeypatch):
    from ui import cached

    from cgmvae.explore import correlations

    monkeypatch.setattr(correlations, "QUICK_COUNT_CELLS", 0)
    monkeypatch.setattr(correlations, "MIN_QUICK_ROWS", 1000)
    cached.pair_counts.clear()
    app = AppTest.from_file(str(PAGES_DIR / "1_data.py"), default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    captions = " ".join(str(c.value) for c in app.caption)
    assert "Counted on a seeded random 1,000 of the 4,000 sites" in captions
    assert f"±{explore.phi_margin(1000):.3f}" in captions
    every = next(b for b in app.button if b.label.startswith("Count all 4,000 sites"))
    every.click().run()
    assert not app.exception, [e.value for e in app.exception]
    captions = " ".join(str(c.value) for c in app.caption)
    assert "Counted on a seeded random" not in captions
    assert "Counted on all 4,000 sites." in captions
    assert not any(b.label.startswith("Count all") for b in app.button)
    next(r for r in app.radio if r.label == "Measure").set_value("jaccard").run()
    assert not app.exception and "Counted on a seeded random" not in " ".join(
        str(c.value) for c in app.caption)  # the choice holds for the other measure
    cached.pair_counts.clear()
