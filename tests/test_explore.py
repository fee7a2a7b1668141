"""Label-correlation analyses, projections, prediction tables and figures of cgmvae.explore."""


import numpy as np
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage

from cgmvae import explore
from cgmvae.data import MultiLabelData


class LinearModel:
    """A stand-in for TrainedModel: probabilities are a sigmoid of a fixed linear map."""

    def __init__(self, weights, feature_names, label_names, embeddings=None):
        self.weights = np.asarray(weights, dtype=np.float32)  # (D, L)
        self.feature_names, self.label_names = list(feature_names), list(label_names)
        self.threshold = 0.5
        self.dataset_name = "linear"
        self.embeddings = embeddings
        self.standardizer = type("S", (), {"mean": np.arange(len(feature_names), dtype=float)})

    def predict_proba(self, features):
        return 1.0 / (1.0 + np.exp(-np.asarray(features, dtype=np.float32) @ self.weights))

    def predict(self, features):
        return (self.predict_proba(features) >= self.threshold).astype(np.int8)

    def label_similarity(self):
        return self.embeddings @ self.embeddings.T

    def prediction_frame(self, features, ids=None):
        from cgmvae.predictor import TrainedModel

        return TrainedModel.prediction_frame(self, features, ids=ids)


def block_embeddings(n_per_block=(4, 5, 3), dim=8, noise=0.1, seed=0):
    """Label embeddings in well-separated directions, one direction per block."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[: len(n_per_block)] * 3.0
    rows = [c + noise * rng.normal(size=(n, dim))
            for c, n in zip(centres, n_per_block, strict=True)]
    truth = np.repeat(np.arange(len(n_per_block)), n_per_block)
    return np.vstack(rows).astype(np.float32), truth


def test_phi_matches_pearson_and_is_zero_for_a_constant_label():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 4)) < 0.3).astype(np.float32)
    y[:, 3] = 1.0
    phi = explore.cooccurrence(y, "phi")
    np.testing.assert_allclose(phi[:3, :3], np.corrcoef(y[:, :3].T), atol=1e-5)
    assert phi.dtype == np.float32 and np.all(phi[3, :] == 0) and np.all(phi[:, 3] == 0)


def test_pair_counts_over_blocks_of_rows_equal_the_whole_product(monkeypatch):
    from cgmvae.explore import correlations

    monkeypatch.setattr(correlations, "PAIR_COUNT_ROWS", 7)  # 50 rows: 8 blocks, the last short
    y = (np.random.default_rng(1).random((50, 5)) < 0.4).astype(np.uint8)
    counts = correlations.pair_counts(y)
    assert counts.dtype == np.float64
    np.testing.assert_array_equal(counts, y.T.astype(np.int64) @ y.astype(np.int64))


def test_jaccard_of_a_worked_example():
    y = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    jaccard = explore.cooccurrence(y, "jaccard")
    assert jaccard[0, 1] == pytest.approx(2 / 4)  # both in 2 rows, either in 4
    assert jaccard[0, 0] == 1.0 and jaccard[2, 2] == 0.0 and jaccard[0, 2] == 0.0


def test_without_diagonal_is_a_float32_copy_with_nan_diagonal():
    matrix = np.ones((3, 3))
    out = explore.without_diagonal(matrix)
    assert out.dtype == np.float32 and np.isnan(np.diag(out)).all() and matrix[0, 0] == 1.0


def test_similarity_distance_is_the_cosine_distance_of_the_embeddings():
    w = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    distance = explore.similarity_distance(w @ w.T)
    np.testing.assert_allclose(distance, [[0, 0, 1], [0, 0, 1], [1, 1, 0]], atol=1e-12)


def test_clustering_recovers_blocks_and_numbers_groups_left_to_right():
    w, truth = block_embeddings()
    clustering = explore.cluster_labels(w @ w.T, n_groups=3)
    assert explore.group_recovery(clustering.groups, truth.tolist(), ignore=None) == 1.0
    in_leaf_order = clustering.groups[clustering.order]
    assert in_leaf_order[0] == 1 and list(dict.fromkeys(in_leaf_order)) == [1, 2, 3]
    assert explore.suggest_n_groups(w @ w.T) == 3


def test_group_recovery_skips_the_ignored_group():
    found = np.array([1, 1, 2, 2, 3])
    truth = ["a", "a", "b", "b", "generalist"]
    assert explore.group_recovery(found, truth) == 1.0
    assert explore.group_recovery(found, truth, ignore=None) == 1.0
    assert explore.group_recovery(np.array([1, 2, 1, 2, 1]), truth) < 0


def test_dendrogram_is_one_polyline_with_a_u_per_merge():
    w, _ = block_embeddings()
    clustering = explore.cluster_labels(w @ w.T, 3)
    xs, ys = explore.dendrogram_lines(clustering.tree)
    n_merges = len(w) - 1
    assert xs.shape == ys.shape == (5 * n_merges,)
    assert np.isnan(xs[4::5]).all() and np.isnan(ys[4::5]).all()
    np.testing.assert_array_equal(ys[1::5], ys[2::5])  # the bar of a "u" is level
    np.testing.assert_allclose(sorted(ys[1::5]), sorted(clustering.tree[:, 2]))  # merge heights
    leaf_x = np.concatenate([xs[0::5][ys[0::5] == 0], xs[3::5][ys[3::5] == 0]])
    assert sorted(leaf_x.tolist()) == list(range(len(w)))  # every leaf at its column, once


def test_dendrogram_legs_stand_on_the_heatmap_columns_of_their_leaves():
    tree = linkage(np.array([[0.0], [1.0], [3.0], [7.0], [15.0]]), method="average")
    column_of = {leaf: column for column, leaf in enumerate(leaves_list(tree))}  # heatmap order
    xs, ys = explore.dendrogram_lines(tree)
    lowest = int(np.argmin(ys[1::5]))  # the first merge: points 0 and 1, at distance 1
    assert ys[5 * lowest + 1] == 1.0
    assert {xs[5 * lowest], xs[5 * lowest + 3]} == {column_of[0], column_of[1]}


def test_heatmap_of_983_labels_has_two_traces_float32_and_no_diagonal():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(983, 16)).astype(np.float32)
    similarity = w @ w.T
    clustering = explore.cluster_labels(similarity, 12)
    figure = explore.similarity_heatmap(similarity, [f"tag{i}" for i in range(983)], clustering,
                                        blocks=False)
    kinds = [trace.type for trace in figure.data]
    assert kinds == ["scatter", "heatmap"]
    z = figure.data[1].z
    assert z.dtype == np.float32 and z.shape == (983, 983) and np.isnan(np.diag(z)).all()
    assert list(figure.data[1].x[:3]) == [0, 1, 2]  # positions, not 983 category names


def test_heatmap_zoomed_to_a_group_shows_only_its_labels_without_tree():
    w, _ = block_embeddings()
    clustering = explore.cluster_labels(w @ w.T, 3)
    rows = np.flatnonzero(clustering.groups == 2)
    names = [f"l{i}" for i in range(len(w))]
    figure = explore.similarity_heatmap(w @ w.T, names, clustering, rows=rows)
    assert [t.type for t in figure.data] == ["heatmap"]
    assert sorted(figure.data[0].x) == sorted(names[i] for i in rows)


def test_group_table_and_nearest_labels():
    w, _ = block_embeddings()
    similarity = w @ w.T
    names = [f"l{i}" for i in range(len(w))]
    clustering = explore.cluster_labels(similarity, 3)
    table = explore.group_table(names, clustering.groups, clustering.order)
    assert sorted(table["group size"].unique()) == [3, 4, 5]
    nearest = explore.nearest_labels(similarity, names, "l0", k=3)
    assert "l0" not in set(nearest["label"]) and set(nearest["label"]) <= {"l1", "l2", "l3"}
    assert nearest["similarity"].is_monotonic_decreasing


def test_rank_agreement_is_spearman_of_the_upper_triangles():
    # upper triangles 1..6 and values ranked (2, 1, 3, 4, 6, 5): two swapped pairs, sum d^2 = 4,
    # Spearman = 1 - 6 * 4 / (6 * (36 - 1)) = 31/35. The values grow tenfold, so Pearson would
    # differ; the lower triangles disagree and the diagonals are NaN, so using them would too.
    upper = np.triu_indices(4, k=1)
    first, second = np.full((4, 4), np.nan), np.full((4, 4), np.nan)
    first[upper] = [1, 2, 3, 4, 5, 6]
    second[upper] = [10, 1, 100, 1000, 1e5, 1e4]
    first[upper[::-1]] = [6, 5, 4, 3, 2, 1]
    second[upper[::-1]] = [1, 2, 3, 4, 5, 6]
    assert explore.rank_agreement(first, second) == pytest.approx(31 / 35)
    assert explore.rank_agreement(first, -first) == pytest.approx(-1.0)


def test_similarity_frame_is_labelled_both_ways():
    w, _ = block_embeddings((2, 2))
    model = LinearModel(np.zeros((1, 4)), ["f"], ["a", "b", "c", "d"], embeddings=w)
    frame = explore.similarity_frame(model)
    assert list(frame.index) == list(frame.columns) == ["a", "b", "c", "d"]
    assert frame.loc["a", "b"] == pytest.approx(float(w[0] @ w[1]), rel=1e-5)


def test_pca_projection_puts_the_main_spread_on_the_first_axis():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 5)) * np.array([10, 1, 1, 1, 1])
    xy = explore.project_2d(points, "pca")
    assert xy.shape == (300, 2) and xy.dtype == np.float32
    assert xy[:, 0].std() > 5 * xy[:, 1].std()


def test_label_gaussians_with_isotropic_sigma_have_that_sd_on_both_axes():
    rng = np.random.default_rng(1)
    mean, sigma = rng.normal(size=(6, 4)), np.full((6, 4), 0.5)
    frame = explore.label_point_frame(mean, sigma, list("abcdef"), np.linspace(0.1, 0.6, 6),
                                      np.array([1, 1, 2, 2, 3, 3]))
    np.testing.assert_allclose(frame[["sd_x", "sd_y"]].to_numpy(), 0.5)
    np.testing.assert_allclose(frame["spread"], 0.5)


def test_latent_frame_subsamples_with_a_notice():
    means, labels = np.zeros((100, 3)), np.ones((100, 2))
    frame, notice = explore.latent_frame(means, labels, max_points=40)
    assert len(frame) == 40 and "40 of 100" in notice and frame["labels"].eq(2).all()
    frame, notice = explore.latent_frame(means, labels)
    assert len(frame) == 100 and notice is None


def test_per_label_f1_of_a_worked_example():
    truth = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
    predicted = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    # label 0: tp 1, fn 1 -> 2/3; label 1: tp 2, fp 1 -> 4/5; label 2: nothing to find -> 0,
    # the macro-F1 convention of cgmvae.metrics
    np.testing.assert_allclose(explore.per_label_f1(truth, predicted), [2 / 3, 4 / 5, 0.0])


def test_response_curves_follow_the_feature_with_others_at_median():
    model = LinearModel([[2.0, -2.0], [0.0, 0.0]], ["x", "z"], ["up", "down"])
    reference = np.column_stack([np.linspace(-3, 3, 101), np.full(101, 7.0)])
    curves = explore.response_curves(model, reference, "x", ["up", "down"], n_points=11)
    up = curves[curves["label"] == "up"]["probability"].to_numpy()
    down = curves[curves["label"] == "down"]["probability"].to_numpy()
    assert len(up) == 11 and np.all(np.diff(up) > 0) and np.all(np.diff(down) < 0)
    assert curves["x"].min() == pytest.approx(np.percentile(reference[:, 0], 1))


def test_sample_values_picks_a_count_a_label_or_a_feature():
    data = MultiLabelData(np.array([[1.0], [2.0]]), np.array([[1, 1], [0, 1]]), ["f"], ["a", "b"])
    rows = np.array([1, 0])
    assert explore.sample_values(data, rows, "number of labels").tolist() == [1, 2]
    assert explore.sample_values(data, rows, "label: a").tolist() == [0, 1]
    assert explore.sample_values(data, rows, "feature: f").tolist() == [2.0, 1.0]


def test_unknown_choices_are_value_errors_naming_the_choices():
    data = MultiLabelData(np.array([[1.0]]), np.array([[1, 0]]), ["f"], ["a", "b"])
    with pytest.raises(ValueError, match="'number of labels'"):
        explore.sample_values(data, np.array([0]), "colour: red")
    with pytest.raises(ValueError, match="pca"):
        explore.project_2d(np.zeros((3, 2)), "tsne")
    with pytest.raises(ValueError, match="gaussian"):
        explore.label_points(None, "flat")
    with pytest.raises(ValueError, match="posterior"):
        explore.sample_points(None, np.zeros((1, 1)), "flat")


def test_prevalence_frame_is_sorted_and_preview_lists_label_sets():
    data = MultiLabelData(np.zeros((3, 1)), np.array([[1, 0], [1, 1], [0, 0]]), ["f"], ["a", "b"])
    prevalence = explore.prevalence_frame(data.labels, data.label_names)
    assert prevalence["label"].tolist() == ["a", "b"]
    assert prevalence["prevalence"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert explore.preview_frame(data)["labels"].tolist() == ["a", "a, b", "-"]
    bars = explore.figures.labels_per_sample_histogram(data.labels).data[0]
    assert list(bars.x) == [0, 1, 2] and list(bars.y) == [1, 1, 1]  # one bar per count


def test_labels_per_sample_histogram_sends_one_bar_per_count_not_per_sample():
    labels = np.zeros((10_000, 4), dtype=np.uint8)
    labels[:2500, :3] = 1
    bars = explore.figures.labels_per_sample_histogram(labels).data[0]
    assert list(bars.x) == [0, 3] and list(bars.y) == [7500, 2500]


def test_collapse_notice_flags_points_that_barely_differ():
    rng = np.random.default_rng(0)
    assert explore.collapse_notice(rng.normal(size=(50, 4)), 1.0, "means") is None
    notice = explore.collapse_notice(1e-6 * rng.normal(size=(50, 4)), 1.0, "means")
    assert notice is not None and "collapsed" in notice


@pytest.mark.slow
def test_umap_projection_keeps_two_far_apart_clusters_apart():
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(0, 1, (60, 6)), rng.normal(20, 1, (60, 6))])
    xy = explore.project_2d(points, "umap")
    gap = np.linalg.norm(xy[:60].mean(axis=0) - xy[60:].mean(axis=0))
    assert xy.shape == (120, 2) and gap > 3 * xy[:60].std(axis=0).max()


def test_training_curves_put_loss_and_validation_in_two_panels():
    history = [{"epoch": e, "train_loss": 30.0 - e, "val_loss": 0.5, "val_micro_f1": 0.1 * e}
               for e in (1, 2, 3)]
    figure = explore.figures.training_curves(history)
    assert [t.name for t in figure.data] == ["training loss", "validation loss (BCE)",
                                             "validation micro_f1"]
    assert len(explore.figures.training_curves([]).data) == 0


def test_label_points_are_unit_embeddings_or_the_gaussians_and_sample_points_pick_the_space():
    class Model:
        def label_embeddings(self):
            return np.array([[3.0, 4.0], [0.0, 2.0]])

        def label_gaussians(self):
            return np.zeros((2, 5)), np.ones((2, 5))

        def latent_means(self, features):
            return np.zeros((len(features), 5))

        def feature_embeddings(self, features):
            return np.ones((len(features), 2))

    points, sigma = explore.label_points(Model(), "embedding")
    np.testing.assert_allclose(points, [[0.6, 0.8], [0.0, 1.0]])
    assert sigma is None
    assert explore.label_points(Model(), "gaussian")[1].shape == (2, 5)
    assert explore.sample_points(Model(), np.zeros((3, 7)), "posterior").shape == (3, 5)
    assert explore.sample_points(Model(), np.zeros((3, 7)), "embedding").shape == (3, 2)
    frame = explore.label_point_frame(points, None, ["a", "b"], np.array([0.1, 0.2]),
                                      np.array([1, 2]))
    assert "spread" not in frame and "sd_x" not in frame


def test_label_aucs_equal_sklearn_with_ties_and_one_class_labels():
    from sklearn.metrics import roc_auc_score

    from cgmvae.metrics import label_aucs

    rng = np.random.default_rng(0)
    truth = (rng.random((300, 5)) < 0.3).astype(np.uint8)
    truth[:, 3], truth[:, 4] = 0, 1
    proba = np.round(rng.random((300, 5)) * 0.5 + 0.4 * truth, 1)  # ties: one decimal
    auc = label_aucs(truth, proba)
    expected = [roc_auc_score(truth[:, j], proba[:, j]) for j in range(3)]
    np.testing.assert_allclose(auc[:3], expected, rtol=1e-12)
    assert np.isnan(auc[3:]).all()


def test_silhouette_is_sklearns_on_a_precomputed_distance():
    from sklearn.metrics import silhouette_score

    from cgmvae.explore.correlations import silhouette

    rng = np.random.default_rng(0)
    for n, k in ((10, 3), (60, 7), (30, 29)):  # 29 groups of 30: mostly one-label groups
        points = rng.normal(size=(n, 4))
        distance = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
        groups = rng.integers(0, k, n)
        groups[:k] = np.arange(k)
        assert silhouette(distance, groups) == pytest.approx(
            silhouette_score(distance, groups, metric="precomputed"), abs=1e-12)


def test_group_support_tells_planted_blocks_from_noise():
    """Silhouette alone cannot: a symmetric noise map scores higher than planted blocks can."""
    rng = np.random.default_rng(0)
    w = np.repeat(np.eye(3), 8, axis=0) + 0.3 * rng.normal(size=(24, 3))  # 3 blocks of 8 labels
    blocks = explore.group_support(w @ w.T)
    assert blocks.p_value <= 0.05 and blocks.silhouette > blocks.shuffled_median
    noise = rng.normal(0.0, 0.05, (40, 40))
    noise = explore.group_support((noise + noise.T) / 2)
    assert noise.p_value > 0.05 and noise.n_shuffles == 49
    assert explore.group_support(np.eye(3)).n_shuffles == 0  # too few labels to test
