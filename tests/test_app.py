"""The Streamlit app with AppTest: every page on the built-in model, data/checkpoint/CSV flows."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui.state import DATA_KEY, MODEL_KEY, DataChoice, Workspace

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData, random_split
from cgmvae.explore import cluster_labels, group_recovery, suggest_n_groups
from cgmvae.formats.template import template_frame
from cgmvae.predictor import TrainedModel
from cgmvae.simulate import DEFAULT_NAME, species_groups, write_checklists
from cgmvae.train import fit

ROOT = Path(__file__).resolve().parents[1]
APP_DIR, PAGES_DIR = ROOT / "app", ROOT / "pages"
DEFAULT_CHECKPOINT = ROOT / "assets" / f"{DEFAULT_NAME}.pt"
TIMEOUT = 60  # seconds per script run; the first one loads torch, plotly and the model
PAGE_FILES = sorted(PAGES_DIR.glob("*.py"))

pytestmark = pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(),
                                reason=f"{DEFAULT_CHECKPOINT} missing: "
                                       "python app/build_default_model.py")


def run_page(name: str, session: dict | None = None) -> AppTest:
    """Run one page file alone (as a deep link would), optionally with session state set."""
    app = AppTest.from_file(str(PAGES_DIR / name), default_timeout=TIMEOUT)
    for key, value in (session or {}).items():
        app.session_state[key] = value
    return app.run()


def by_label(widgets, label: str):
    matches = [w for w in widgets if w.label == label]
    assert matches, f"no widget labelled {label!r}; found {[w.label for w in widgets]}"
    return matches[0]


def texts(app: AppTest, kind: str) -> list[str]:
    return [str(element.value) for element in getattr(app, kind)]


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, texts(app, "error")


def tiny_model_and_data() -> tuple[TrainedModel, DataChoice]:
    """A 2-epoch model on 120 simulated-like rows (fast), with its data."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(120, 3)).astype(np.float32)
    labels = (features[:, :2] + 0.3 * rng.normal(size=(120, 2)) > 0).astype(np.float32)
    data = MultiLabelData(features, labels, ["a", "b", "c"], ["up", "down"], name="tiny")
    split = random_split(data.n_samples)
    model = fit(data, split, model_config=SMALL, train_config=TrainConfig(max_epochs=2))
    return model, DataChoice(data, split, "test data", "tiny-data")


SMALL = ModelConfig(embedding_dim=8, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                    decoder_hidden=(16,))


@pytest.fixture(scope="module")
def tiny():
    return tiny_model_and_data()


def test_home_builds_the_navigation_and_opens_the_overview():
    app = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=TIMEOUT).run()
    assert_clean(app)
    assert texts(app, "title") == ["C-GMVAE label explorer"]
    assert any("sim_birds" in text for text in texts(app, "markdown"))  # the sidebar status
    assert len(app.get("plotly_chart")) == 1  # training curves, last: plotly loads while one reads


@pytest.mark.parametrize("page", [p.name for p in PAGE_FILES])
def test_every_page_opens_alone_on_the_built_in_model(page):
    app = run_page(page)
    assert_clean(app)
    assert len(app.title) == 1


def test_data_page_summarises_the_built_in_checklists():
    app = run_page("1_data.py")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["samples"] == "4,000" and metrics["labels"] == "42"
    assert len(app.get("plotly_chart")) == 3  # prevalence, labels per sample, co-occurrence


def test_data_page_loads_a_csv_with_sidecar_from_a_path(tmp_path):
    csv_path = write_checklists(tmp_path, n_sites=300, seed=5)
    app = run_page("1_data.py")
    by_label(app.text_input, "Data path on the server").input(str(csv_path))
    by_label(app.button, "Load").click()
    app.run()
    assert_clean(app)
    assert {m.label: m.value for m in app.metric}["samples"] == "300"
    assert app.session_state[DATA_KEY].data.n_samples == 300


def test_data_page_reports_a_bad_path_without_crashing(tmp_path):
    app = run_page("1_data.py")
    by_label(app.text_input, "Data path on the server").input(str(tmp_path / "nothing.csv"))
    by_label(app.button, "Load").click()
    app.run()
    assert not app.exception and "no such file" in " ".join(texts(app, "error"))
    assert {m.label: m.value for m in app.metric}["samples"] == "4,000"  # still the built-in


def test_correlation_page_shows_each_layer_with_support_groups_pairs_and_neighbours():
    app = run_page("3_label_correlations.py")
    assert_clean(app)
    assert len(app.get("plotly_chart")) == 1
    layers = by_label(app.radio, "Layer")
    assert list(layers.options) == ["Learned", "Environmental", "Residual", "Co-occurrence"]
    for layer in ("learned", "environmental", "residual", "cooccurrence"):
        layers.set_value(layer).run()
        assert_clean(app)
        metrics = {m.label: m.value for m in app.metric}
        assert metrics["Training sites"] == "3,200"
        assert 0 < int(metrics["Pairs supported, of 861"].replace(",", "")) <= 861
        weakest = metrics.get("Weakest value that can be supported")
        assert (weakest is None) == (layer == "cooccurrence")  # Veech's p is no value / sd
        pairs = app.dataframe[0].value
        assert layer in pairs.columns and len(pairs) == 500  # the strongest of 861 pairs
        if weakest is not None:  # the strongest pairs clear it
            assert pairs[layer].abs().iloc[0] > float(weakest) > 0
    by_label(app.toggle, "Only pairs supported by the data").set_value(True).run()
    assert app.dataframe[0].value["supported"].all()
    groups, nearest = app.dataframe[1].value, app.dataframe[2].value
    assert len(groups) == 42 and groups["group"].nunique() == app.slider[0].value
    assert len(nearest) == 5
    by_label(app.selectbox, "Zoom to").set_value(1).run()
    assert_clean(app)
    assert len(app.dataframe[1].value) < 42


def test_correlation_page_residual_layer_ranks_the_planted_pairs_first():
    """The built-in data plant residual associations across guilds (sidecar residual_pairs)."""
    from cgmvae.simulate import residual_pairs

    app = run_page("3_label_correlations.py")
    by_label(app.radio, "Layer").set_value("residual").run()
    pairs = app.dataframe[0].value
    top = {frozenset(p) for p in pairs[["species A", "species B"]].head(9).to_numpy().tolist()}
    planted = {frozenset(p) for p in residual_pairs()}
    assert len(top & planted) >= 6
    said = " ".join(texts(app, "caption"))  # what a residual pair does and does not say
    assert "beyond these 7 covariates, not proof that the species interact" in said


def test_environmental_layer_names_the_species_without_a_habitat_and_greys_their_pairs():
    """Planted: none_0-none_3 follow no covariate (benchmarks/environmental_gate.py)."""
    from benchmarks.environmental_gate import planted_survey

    data, _ = planted_survey(300, seed=1)
    split = random_split(data.n_samples)
    model = fit(data, split, model_config=SMALL, train_config=TrainConfig(max_epochs=3))
    choice = DataChoice(data, split, "planted survey", "planted-300")
    app = run_page("3_label_correlations.py", {MODEL_KEY: Workspace(model, choice, "trained",
                                                                    "planted")})
    by_label(app.radio, "Layer").set_value("environmental").run()
    assert_clean(app)
    said = " ".join(texts(app, "caption"))
    assert "No detectable response to the covariates" in said
    assert all(f"none_{k}" in said for k in range(4)) and "habitat_" not in said
    assert "Read the size, not only the colour" in said
    pairs = app.dataframe[0].value
    touching = pairs["species A"].str.startswith("none") | pairs["species B"].str.startswith("none")
    assert touching.any() and not pairs[touching]["supported"].any()


def test_shipped_model_recovers_the_guilds_at_the_default_number_of_groups():
    """ARI >= 0.8 over the guild species on the headline (learned) layer. Generalists share no
    habitat (they follow season and effort only), so they are rightly not one group: the ARI over
    all species with the generalists as one more group is lower (0.68, README)."""
    model = TrainedModel.load(DEFAULT_CHECKPOINT)
    association = model.learned_association
    groups = cluster_labels(association, suggest_n_groups(association)).groups
    truth = [species_groups()[name] for name in model.label_names]
    assert group_recovery(groups, truth, ignore="generalist") >= 0.8


def test_predictions_page_has_the_five_metrics_and_a_response_curve():
    app = run_page("6_predictions.py")
    table = app.dataframe[0].value
    assert len(table) == 5 and table["deployed threshold"].between(0, 1).all()
    assert len(app.get("plotly_chart")) == 3  # F1 bars, one sample, response


def test_model_pages_without_matching_data_explain_instead_of_failing(tiny):
    model, _ = tiny
    session = {MODEL_KEY: Workspace(model, None, "loaded from a file", "no-data")}
    for page in ("5_latent_space.py", "6_predictions.py"):
        app = run_page(page, session)
        assert not app.exception and "Data" in " ".join(texts(app, "info"))
    app = run_page("3_label_correlations.py", session)
    assert_clean(app)
    assert len(app.get("plotly_chart")) == 1


def test_a_session_model_is_used_by_its_session_only(tiny):
    model, choice = tiny
    mine = run_page("6_predictions.py", {MODEL_KEY: Workspace(model, choice, "trained", "k1")})
    assert_clean(mine)
    assert "12 test rows" in " ".join(texts(mine, "subheader"))
    other = run_page("6_predictions.py")
    assert "400 test rows" in " ".join(texts(other, "subheader"))


def train_and_wait(app: AppTest):
    """Press Train, wait for the background training, and run the page once more (it notices
    the end of training and hands the model over); the training job."""
    by_label(app.button, "Train").click()
    app.run()
    job = app.session_state["training_job"]
    job.thread.join(timeout=120)
    app.run()
    return job


def test_train_page_trains_in_the_background_and_installs_the_model(tiny):
    _, choice = tiny
    app = run_page("2_train.py", {DATA_KEY: choice})
    by_label(app.number_input, "Max epochs").set_value(2)
    by_label(app.number_input, "Embedding size E").set_value(8)
    by_label(app.number_input, "Latent size d").set_value(4)
    job = train_and_wait(app)
    assert_clean(app)
    assert app.session_state[MODEL_KEY].model is job.model and len(job.records) == 2
    assert any("Trained" in text for text in texts(app, "success"))
    assert job.model.model_config.decoder_sees_features  # the default model unless asked


def test_a_training_that_diverges_says_so_on_the_train_page(tiny):
    """Learning rate 1.0 (the form's maximum) turns the loss into NaN on the tiny data in epoch 2:
    the page keeps epoch 1 and says why training stopped, in the form's words."""
    _, choice = tiny
    app = run_page("2_train.py", {DATA_KEY: choice})
    by_label(app.number_input, "Max epochs").set_value(5)
    by_label(app.number_input, "Learning rate").set_value(1.0)
    with pytest.warns(RuntimeWarning, match="loss became nan"):  # from the training's thread
        by_label(app.button, "Train").click()
        app.run()
        job = app.session_state["training_job"]
        job.thread.join(timeout=120)
        app.run()
    assert_clean(app)
    assert job.model.best_epoch == 1 and len(job.records) == 1
    warning = " ".join(texts(app, "warning"))
    assert "training stopped early, the training loss became nan in epoch 2" in warning
    assert 'a lower learning rate ("Learning rate") usually trains; kept epoch 1' in warning


def test_train_page_can_train_the_informative_latent_variant(tiny):
    _, choice = tiny
    app = run_page("2_train.py", {DATA_KEY: choice})
    by_label(app.number_input, "Max epochs").set_value(1)
    by_label(app.radio, "Model").set_value("cgmvae-informative-latent")
    by_label(app.button, "Train").click()
    app.run()
    job = app.session_state["training_job"]
    job.thread.join(timeout=120)
    assert job.model is not None and not job.model.model_config.decoder_sees_features
    assert job.model.train_config.loss.kl == 0.03


def test_train_page_trains_a_small_survey_for_truer_probabilities_unless_unticked(tiny):
    """The tiny data's training rows are one step per epoch: the page says so and starts with the
    weight average's warm-up and the epoch chosen by validation log-loss; unticked, the
    library's defaults."""
    _, choice = tiny
    label = "Truer probabilities (warm-up, epoch by log-loss)"
    for ticked in (True, False):
        app = run_page("2_train.py", {DATA_KEY: choice})
        assert any("A small survey" in text for text in texts(app, "info"))
        assert by_label(app.checkbox, label).value
        by_label(app.number_input, "Max epochs").set_value(1)
        by_label(app.checkbox, label).set_value(ticked)
        job = train_and_wait(app)
        assert_clean(app)
        assert job.model.train_config.ema_warmup is ticked
        assert job.model.train_config.selection_metric == ("val_loss" if ticked else "mean_auc")


def test_train_page_cancel_stops_after_the_current_epoch(tiny):
    _, choice = tiny
    app = run_page("2_train.py", {DATA_KEY: choice})
    by_label(app.number_input, "Max epochs").set_value(1000)
    by_label(app.number_input, "Early stopping patience (epochs)").set_value(1000)
    by_label(app.button, "Train").click()
    app.run()
    job = app.session_state["training_job"]
    deadline = time.monotonic() + 120
    while not job.records and time.monotonic() < deadline:  # cancel mid-training, not before it
        time.sleep(0.05)
    assert job.records, "training did not start"
    job.stop.set()  # what the Cancel button's callback does
    done_at_cancel = len(job.records)
    job.thread.join(timeout=120)
    assert not job.thread.is_alive() and job.model is not None
    # the epoch running at the cancel finishes, no other starts
    assert done_at_cancel <= len(job.records) <= done_at_cancel + 1
    assert len(job.model.history) == len(job.records)


def test_train_page_loads_a_checkpoint_from_a_path_and_refuses_garbage(tmp_path):
    app = run_page("2_train.py")
    by_label(app.text_input, "...or a checkpoint path on the server").input(str(DEFAULT_CHECKPOINT))
    by_label(app.button, "Load checkpoint").click()
    app.run()
    assert_clean(app)
    assert app.session_state[MODEL_KEY].data is not None  # paired with the built-in data
    garbage = tmp_path / "model.pt"
    garbage.write_bytes(b"not a checkpoint")
    app = run_page("2_train.py")
    by_label(app.text_input, "...or a checkpoint path on the server").input(str(garbage))
    by_label(app.button, "Load checkpoint").click()
    app.run()
    assert not app.exception and "Cannot load" in " ".join(texts(app, "error"))


HEADER = "open_water,forest,developed,farmland,elevation_m,month,effort_hours\n"


def predict_page_with(path) -> AppTest:
    app = run_page("7_predict_from_csv.py")
    by_label(app.text_input, "...or a CSV path on the server").input(str(path))
    return app.run()


def test_predict_page_scores_a_good_csv(tmp_path):
    csv_path = write_checklists(tmp_path, n_sites=25, seed=2)  # extra columns are ignored
    app = predict_page_with(csv_path)
    assert_clean(app)
    table = app.dataframe[0].value
    assert len(table) == 25
    assert "predicted labels" in table.columns and "Osprey_probability" in table.columns


def test_the_page_s_template_scores_as_typical_sites_along_the_main_gradient(tmp_path):
    """The built-in model's covariates have no category: the rows are its centre and either side
    of it; none is flagged as unlike the training sites."""
    app = run_page("7_predict_from_csv.py")
    assert any("main gradient" in caption.value for caption in app.caption)
    path = tmp_path / "template.csv"
    template_frame(TrainedModel.load(ROOT / "assets" / "sim_birds.pt")).to_csv(path, index=False)
    app = predict_page_with(path)
    assert_clean(app)
    assert len(app.dataframe[0].value) == 3 and not texts(app, "warning")


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("site,colour\nS1,red\n", "missing column"),
    (HEADER + "0.1,0.2,0.3,0.4,100,5,oops\n", "non-numeric"),
    (HEADER + "0.1,0.2,0.3,0.4,100,5,1\n0.1,0.2,NaN,0.4,100,5,1\n", "missing values"),
    (HEADER + "0.1,0.2,0.3,0.4,100,5,1\n0.1,0.2,0.3,0.4,100,5,\n", "missing values"),
])
def test_predict_page_names_the_problem_of_a_bad_csv_and_shows_no_table(tmp_path, content,
                                                                         message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    app = predict_page_with(path)
    assert not app.exception and not app.dataframe
    assert message in " ".join(texts(app, "error"))


def test_predict_page_refuses_a_huge_csv_whole(tmp_path, monkeypatch):
    from cgmvae.formats import model_input

    monkeypatch.setattr(model_input, "MAX_PREDICT_ROWS", 10)
    path = write_checklists(tmp_path, n_sites=11)
    app = predict_page_with(path)
    assert not app.exception and not app.dataframe
    assert "11 rows; the limit is 10" in " ".join(texts(app, "error"))


MAP_PAGES = {"4_label_gaussians.py": ("gaussian", "embedding"),
             "5_latent_space.py": ("posterior", "embedding")}


def chart_title(app: AppTest) -> str:
    import json

    charts = app.get("plotly_chart")
    assert len(charts) == 1, [c.proto for c in charts]
    return json.loads(charts[0].proto.spec)["layout"]["title"]["text"]


@pytest.mark.parametrize("page", MAP_PAGES)
def test_map_pages_open_on_the_latent_space_of_the_built_in_model_and_switch_to_embeddings(page):
    """The shipped model's latent space is informative: no collapse warning, latent map first."""
    latent, embedding = MAP_PAGES[page]
    app = run_page(page)
    assert_clean(app)
    assert by_label(app.radio, "Show").value == latent and not app.warning
    assert "mean" in chart_title(app)
    by_label(app.radio, "Show").set_value(embedding).run()
    assert_clean(app)
    assert "embeddings" in chart_title(app)


def collapsed(model: TrainedModel) -> TrainedModel:
    """A copy whose posterior means and label Gaussians' means no longer depend on the input."""
    import copy

    import torch

    model = copy.deepcopy(model)
    with torch.no_grad():
        model.network.feature_encoder.mean.weight.zero_()
        model.network.label_encoder.mean.weight.zero_()
    return model


@pytest.mark.parametrize("page", MAP_PAGES)
def test_map_pages_open_on_the_embeddings_with_a_warning_when_the_latent_space_collapsed(
        page, tiny):
    model, choice = tiny
    app = run_page(page, {MODEL_KEY: Workspace(collapsed(model), choice, "trained", "flat")})
    assert_clean(app)
    assert by_label(app.radio, "Show").value == "embedding"
    assert "collapsed" in " ".join(texts(app, "warning")) and "embeddings" in chart_title(app)


class Upload:
    """What st.file_uploader returns, as far as the loaders use it."""

    def __init__(self, path):
        self.name, self._bytes = path.name, path.read_bytes()
        self.size = len(self._bytes)

    def getvalue(self):
        return self._bytes


def test_uploaded_csv_and_sidecar_load_together_and_a_lone_sidecar_is_refused(tmp_path):
    from ui.loading import load_uploaded_data

    from cgmvae.data import DataError

    csv_path = write_checklists(tmp_path, n_sites=40)
    data, split, how = load_uploaded_data([Upload(csv_path), Upload(csv_path.with_suffix(".json"))])
    assert data.n_samples == 40 and data.n_labels == 42
    assert "80/10/10" in how and split.train.size == 32
    with pytest.raises(DataError, match="no data file"):
        load_uploaded_data([Upload(csv_path.with_suffix(".json"))])


def test_data_page_zooms_the_co_occurrence_heatmap_to_one_group():
    from cgmvae.datasets import builtin_data

    app = run_page("1_data.py")
    zoom = by_label(app.selectbox, "Zoom to")
    app = zoom.set_value(1).run()
    assert_clean(app)
    figure = json.loads(app.get("plotly_chart")[-1].proto.spec)
    heatmap = next(trace for trace in figure["data"] if trace["type"] == "heatmap")
    data = builtin_data()[0]
    names = set(heatmap["x"])
    assert 1 < len(names) < data.n_labels and names <= set(data.label_names)


def unstructured(model: TrainedModel) -> TrainedModel:
    """A copy whose learned association is symmetric noise: no grouping of its labels is real."""
    import copy

    model = copy.deepcopy(model)
    n = len(model.label_names)
    noise = np.random.default_rng(0).normal(0.0, 0.05, (n, n))
    model.learned_association = ((noise + noise.T) / 2).astype(np.float32)
    return model


@pytest.mark.parametrize("page", ["3_label_correlations.py", "4_label_gaussians.py"])
def test_group_pages_say_how_sure_the_groups_are(page):
    builtin = run_page(page)  # three guilds
    assert_clean(builtin)
    assert any(t.startswith("Groups: the map's best grouping is clearer than with its pairs "
                            "shuffled (silhouette 0.23") for t in texts(builtin, "caption"))
    noise = unstructured(TrainedModel.load(DEFAULT_CHECKPOINT))  # 42 species, no groups
    app = run_page(page, {MODEL_KEY: Workspace(noise, None, "loaded", "noise")})
    assert_clean(app)
    assert any(t.startswith("No clear groups: the map's best grouping is no clearer than the "
                            "same map with its pairs shuffled") for t in texts(app, "info"))
