"""The app's rough edges (issue 9): selections, per-label scores, session state, kept models."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_app import (
    APP_DIR,
    DEFAULT_CHECKPOINT,
    TIMEOUT,
    assert_clean,
    by_label,
    run_page,
    texts,
    tiny_model_and_data,
)
from ui.state import DATA_KEY, MODEL_KEY, Workspace

from cgmvae import explore, metrics, model_store
from cgmvae.predictor import TrainedModel

pytestmark = pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(),
                                reason=f"{DEFAULT_CHECKPOINT} missing")


@pytest.fixture(scope="module")
def tiny():
    return tiny_model_and_data()


@pytest.fixture(autouse=True)
def model_dir(tmp_path, monkeypatch):
    """Every test keeps its models in its own folder, not in the repository's runs/."""
    folder = tmp_path / "kept"
    monkeypatch.setenv(model_store.MODEL_DIR_ENV, str(folder))
    return folder


def test_selection_lists_the_samples_whatever_shape_streamlit_gives_customdata():
    traces = [np.array([10, 11, 12]), np.array([20, 21])]
    points = [{"customdata": [12, 3]},  # a list: plotly.js plain arrays
              {"customdata": {"0": 21, "1": 2}},  # a typed array turned into a dict: KeyError 0
              {"customdata": 11},  # a scalar
              {"curve_number": 1, "point_index": 0},  # no customdata: index into its trace
              {"curve_number": 5, "point_index": 0}, {"customdata": 999}, {}]  # unusable
    assert explore.projections.selected_samples(points, traces, n_samples=100) == [11, 12, 20, 21]


def test_latent_scatter_sends_customdata_as_a_typed_array_and_knows_each_traces_samples():
    frame = pd.DataFrame({"sample": [4, 5, 6, 7], "dim 1": [0.0, 1, 2, 3],
                          "dim 2": [1.0, 0, 1, 0], "labels": [1, 0, 2, 1]})
    figure = explore.figures.latent_scatter(frame, pd.Series([1, 0, 1, 0]), "up", "pca", "t")
    # the cause of the KeyError: plotly.js decodes this into a typed array, not a list
    assert "bdata" in json.loads(figure.to_json())["data"][0]["customdata"]
    samples = explore.figures.trace_samples(figure)
    assert sorted(np.concatenate(samples).tolist()) == [4, 5, 6, 7]
    point = {"curve_number": 1, "point_index": 1}
    assert explore.projections.selected_samples([point], samples, 8) == [int(samples[1][1])]


class FixedModel:
    """Probabilities fixed in advance, as far as `label_f1_frame` uses a model."""

    def __init__(self, proba):
        self.proba = np.asarray(proba)
        self.label_names, self.threshold = ["seen", "never", "other"], 0.5

    def predict_proba(self, features):
        return self.proba


def test_a_species_without_test_positives_scores_zero_is_listed_last_and_says_so():
    truth = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1], [0, 0, 0]])
    proba = np.array([[0.9, 0.1, 0.2], [0.2, 0.1, 0.8], [0.4, 0.2, 0.3], [0.1, 0.3, 0.6]])
    frame = explore.label_f1_frame(FixedModel(proba), None, truth)
    assert frame["label"].tolist() == ["seen", "other", "never"]
    assert frame["F1"].iloc[-1] == 0.0  # not 1.0: the macro-F1 convention of cgmvae.metrics
    assert frame["F1"].mean() == pytest.approx(metrics.evaluate(truth, proba, 0.5)["macro_f1"])
    assert frame["ROC-AUC"].tolist()[:2] == [1.0, 0.75] and np.isnan(frame["ROC-AUC"].iloc[-1])
    table = explore.summaries.label_score_table(frame)
    assert table["F1"].tolist() == ["0.667", "0.500", "no test positives"]
    assert explore.summaries.mean_auc_summary(frame) == (pytest.approx(0.875), 1)


def test_predictions_page_shows_the_mean_species_roc_auc_beside_the_f1s():
    app = run_page("6_predictions.py")
    assert_clean(app)
    values = {m.label: m.value for m in app.metric}
    assert 0.6 < float(values["Mean species ROC-AUC"]) <= 1.0
    assert "no test positives" not in " ".join(texts(app, "markdown"))


def home() -> AppTest:
    return AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=TIMEOUT)


def sidebar_text(app: AppTest) -> str:
    return " ".join(str(m.value) for m in app.sidebar.markdown)


def test_loading_a_checkpoint_renames_the_sidebar_model_at_once_and_keeps_it(model_dir):
    app = home().run()
    app.switch_page("../pages/2_train.py").run()
    by_label(app.text_input, "...or a checkpoint path on the server").input(str(DEFAULT_CHECKPOINT))
    by_label(app.button, "Load checkpoint").click()
    app.run()
    assert_clean(app)
    assert "loaded from" in sidebar_text(app)
    assert any("Loaded a model" in text for text in texts(app, "success"))
    assert [info["name"] for info in model_store.list_models()] == ["sim_birds"]


def test_train_form_keeps_the_last_choices_after_a_run(tiny):
    _, choice = tiny
    app = run_page("2_train.py", {DATA_KEY: choice})
    by_label(app.number_input, "Max epochs").set_value(2)
    by_label(app.number_input, "Embedding size E").set_value(8)
    by_label(app.number_input, "Latent size d").set_value(4)
    by_label(app.button, "Train").click()
    app.run()
    app.session_state["training_job"].thread.join(timeout=120)
    app.run()
    app.run()  # the form is back
    assert_clean(app)
    assert by_label(app.number_input, "Max epochs").value == 2
    assert by_label(app.number_input, "Latent size d").value == 4
    kept = model_store.list_models()
    assert len(kept) == 1 and kept[0]["name"].startswith("tiny-cgmvae")
    assert set(kept[0]["test_metrics"]) >= {"macro_f1", "mean_species_auc"}


def test_overview_says_which_variant_settings_data_and_date_made_the_model(tiny):
    app = run_page("0_overview.py")
    text = " ".join(texts(app, "markdown"))
    assert "cgmvae-informative-latent" in text and "latent size d" in text
    assert "best epoch" in text and "Date" in text and "not recorded" not in text
    model, choice = tiny
    app = run_page("0_overview.py", {MODEL_KEY: Workspace(model, choice, "trained", "k")})
    text = " ".join(texts(app, "markdown"))
    assert "`cgmvae`" in text and "not recorded" in text
    calibrated = replace(model, train_config=replace(model.train_config, ema_warmup=True,
                                                     selection_metric="val_loss"))
    app = run_page("0_overview.py", {MODEL_KEY: Workspace(calibrated, choice, "trained", "k")})
    assert_clean(app)
    text = " ".join(texts(app, "markdown"))
    assert "weight-average warm-up on" in text and "epoch chosen by val_loss" in text


def test_number_of_groups_starts_at_the_suggestion_for_each_new_model():
    app = run_page("4_label_gaussians.py")
    suggested = by_label(app.slider, "Number of groups").value
    by_label(app.slider, "Number of groups").set_value(suggested + 3).run()
    assert by_label(app.slider, "Number of groups").value == suggested + 3
    same_model_new_load = Workspace(TrainedModel.load(DEFAULT_CHECKPOINT), None, "loaded", "new")
    app.session_state[MODEL_KEY] = same_model_new_load
    app.run()
    assert_clean(app)
    assert by_label(app.slider, "Number of groups").value == suggested


def test_model_pages_say_when_the_model_is_not_the_loaded_datas(tiny):
    _, choice = tiny
    for page in ("0_overview.py", "4_label_gaussians.py", "6_predictions.py"):
        app = run_page(page, {DATA_KEY: choice})
        assert "not on **tiny**" in " ".join(texts(app, "info")), page
    assert not any("not on" in text for text in texts(run_page("6_predictions.py"), "info"))


def test_kept_models_are_listed_on_the_train_page_and_reopen(tiny):
    model, _ = tiny
    name, _ = model_store.save(model, "tiny run", data_source="test",
                               test_metrics={"macro_f1": 0.5})
    app = run_page("2_train.py")
    table = app.dataframe[0].value
    assert table["name"].tolist() == [name] and table["macro_f1"].tolist() == [0.5]
    assert table["variant"].tolist() == ["cgmvae"]
    by_label(app.button, "Open this model").click()
    app.run()
    assert_clean(app)
    assert app.session_state[MODEL_KEY].info["name"] == name
    assert app.query_params["model"] in (name, [name])  # the address bar links to it


def test_a_model_link_opens_the_kept_model_on_any_page_and_a_bad_name_is_refused(tiny):
    model, _ = tiny
    name, _ = model_store.save(model, "linked")
    app = home()
    app.query_params["model"] = name
    app.run()
    assert_clean(app)
    assert f"kept model {name}" in sidebar_text(app)
    app = home()
    app.query_params["model"] = "../../etc/passwd"
    app.run()
    assert not app.exception and "not a model name" in " ".join(texts(app, "error"))


def many_labels_heatmap(n_labels: int):
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(n_labels, 6))
    similarity = embeddings @ embeddings.T
    names = [f"species {i}" for i in range(n_labels)]
    return explore.similarity_heatmap(similarity, names, explore.cluster_labels(similarity, 5))


def test_heatmap_names_120_species_in_a_smaller_font_and_leaves_983_to_hover():
    axis = many_labels_heatmap(120).layout.yaxis2
    assert axis.showticklabels and 6 <= axis.tickfont.size < 10
    assert not many_labels_heatmap(400).layout.yaxis2.showticklabels


def label_frame(n_labels: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"label": [f"species {i}" for i in range(n_labels)],
                         "x": rng.normal(size=n_labels), "y": rng.normal(size=n_labels),
                         "prevalence": rng.uniform(0.01, 0.5, n_labels),
                         "group": [str(1 + i % 3) for i in range(n_labels)]})


def test_label_map_writes_names_where_they_fit_and_rings_a_searched_label():
    named = explore.figures.label_map_scatter(label_frame(120), "pca", "Means")
    assert all(trace.mode and "text" in trace.mode for trace in named.data)
    crowded = explore.figures.label_map_scatter(label_frame(400), "pca", "Means",
                                                highlight="species 7")
    assert not any(trace.mode and "text" in trace.mode for trace in crowded.data)
    assert [a.text for a in crowded.layout.annotations] == ["<b>species 7</b>"]


def test_label_gaussians_page_finds_a_label_on_the_map():
    app = run_page("4_label_gaussians.py")
    by_label(app.selectbox, "Find a label on the map (type to search)").set_value("Osprey").run()
    assert_clean(app)
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["<b>Osprey</b>"]


def test_predictions_on_many_rows_are_scored_on_a_stated_seeded_sample(tiny, monkeypatch):
    import ui.state

    model, choice = tiny
    monkeypatch.setattr(ui.state, "EVALUATION_ROWS", 5)
    rows, part = choice.evaluation_rows()
    assert len(rows) == 5 and set(rows) <= set(choice.split.test) and part == "test"
    assert np.array_equal(rows, choice.evaluation_rows()[0])  # the same sample every time
    app = run_page("6_predictions.py", {MODEL_KEY: Workspace(model, choice, "test model", "tiny"),
                                        DATA_KEY: choice})
    assert_clean(app)
    assert f"A seeded random 5 of the {choice.split.test.size:,} test rows" in " ".join(
        texts(app, "caption"))


def test_a_kept_model_is_named_in_the_address_and_forgotten_with_it(tiny):
    """A reload after training reopened the built-in model: only 'Open this model' put
    ?model= in the address. Every kept model does now; back to the built-in model removes it."""

    def script():
        import streamlit as st
        from ui.model_store import keep_model
        from ui.state import forget_model

        if st.session_state.get("forget"):
            forget_model()
        else:
            keep_model(st.session_state["model"], "trained", st.session_state["data"], "tiny")

    model, choice = tiny
    app = AppTest.from_function(script, default_timeout=TIMEOUT)
    app.session_state["model"], app.session_state["data"] = model, choice
    app.run()
    assert_clean(app)
    name = app.session_state[MODEL_KEY].info["name"]
    assert app.query_params["model"] in (name, [name])
    assert [info["name"] for info in model_store.list_models()] == [name]
    on_another_page = home()  # switching pages clears the address's parameters
    on_another_page.session_state[MODEL_KEY] = app.session_state[MODEL_KEY]
    on_another_page.run()
    assert on_another_page.query_params["model"] in (name, [name])
    app.session_state["forget"] = True
    app.run()
    assert "model" not in app.query_params


def write_tiny_table(folder, choice, *, sidecar: bool, suffix: str = ".csv") -> str:
    """The tiny data set as a CSV or Parquet file on the server (with its sidecar, or without:
    roles to pick)."""
    data = choice.data
    frame = pd.DataFrame(data.features, columns=data.feature_names)
    frame[data.label_names] = data.labels.astype(int)
    frame.insert(0, "site", [f"S{i}" for i in range(data.n_samples)])
    folder.mkdir(exist_ok=True)
    path = folder / f"tiny{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    if sidecar:
        (folder / "tiny.json").write_text(json.dumps(
            {"id": "site", "features": data.feature_names, "labels": data.label_names}))
    return str(path)


def load_on_the_data_page(path: str, *, pick_roles: bool = False) -> AppTest:
    app = run_page("1_data.py")
    by_label(app.text_input, "Data path on the server").set_value(path)
    app.button(key="load_path").click().run()
    if pick_roles:
        by_label(app.button, "Use these columns").click().run()
    assert_clean(app)
    return app


@pytest.mark.parametrize(("suffix", "sidecar", "kind"), [
    (".csv", True, "table"), (".csv", False, "table"), (".parquet", True, "path")])
def test_a_reload_reopens_the_kept_models_data_set_read_from_the_server(tiny, tmp_path, suffix,
                                                                        sidecar, kind):
    """After a reload the kept model came back but its data set did not: every model page said
    to pick it on the Data page again. A data set read from server files now comes back too."""
    model, choice = tiny
    path = write_tiny_table(tmp_path / "survey", choice, sidecar=sidecar, suffix=suffix)
    loaded = load_on_the_data_page(path, pick_roles=not sidecar).session_state[DATA_KEY]
    assert loaded.recipe["kind"] == kind and loaded.recipe["path"] == path
    name, _ = model_store.save(model, "survey run", data_recipe=loaded.recipe)
    app = home()  # a reload: a new session, the address names the kept model
    app.query_params["model"] = name
    app.run()
    assert_clean(app)
    workspace = app.session_state[MODEL_KEY]
    assert workspace.data is not None and workspace.data.data.name == "tiny"
    np.testing.assert_array_equal(workspace.data.data.features, loaded.data.features)
    assert app.session_state[DATA_KEY].key == workspace.data.key  # the Data page shows it too


def test_a_kept_models_data_that_moved_is_a_warning_and_the_model_still_opens(tiny, tmp_path):
    model, _ = tiny
    gone = {"kind": "path", "path": str(tmp_path / "moved.csv"), "split": ""}
    name, _ = model_store.save(model, "moved", data_recipe=gone)
    other, _ = model_store.save(model, "odd", data_recipe={"kind": "path"})
    for kept, says in ((name, "Could not load the model's data set again"),
                       (other, "record of where the data came from is unreadable")):
        app = home()
        app.query_params["model"] = kept
        app.run()
        assert not app.exception and not texts(app, "error")
        assert says in " ".join(texts(app, "warning"))
        assert app.session_state[MODEL_KEY].info["name"] == kept


def test_uploads_keep_no_recipe_for_they_are_gone_once_read(tiny):
    from ui.loading import two_tables_recipe

    assert two_tables_recipe("species.csv", "sites.csv", "site")["kind"] == "two_tables"
    assert two_tables_recipe(object(), "sites.csv", "site") is None
