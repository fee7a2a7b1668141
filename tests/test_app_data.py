"""Bring your own data in the app: column roles of a sidecar-less CSV, two tables, eBird,
European exports, and Predict from CSV joined back to the sites (AppTest, no browser)."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from ui.column_roles import ROLES_KEY
from ui.state import DATA_KEY, MODEL_KEY, Workspace

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData, random_split
from cgmvae.formats import load_two_tables
from cgmvae.formats.model_input import predict_csv
from cgmvae.simulate import DEFAULT_NAME, write_checklists
from cgmvae.train import fit

ROOT = Path(__file__).resolve().parents[1]
PAGES_DIR = ROOT / "pages"
EBIRD = Path(__file__).parent / "fixtures" / "ebird"
TIMEOUT = 60

pytestmark = pytest.mark.skipif(not (ROOT / "assets" / f"{DEFAULT_NAME}.pt").is_file(),
                                reason="built-in model missing: python app/build_default_model.py")


class Upload(io.BytesIO):
    """What st.file_uploader hands the page: bytes with the user's file name."""

    def __init__(self, content: bytes | str, name: str):
        super().__init__(content.encode() if isinstance(content, str) else content)
        self.name, self.size = name, len(self.getvalue())


def run_page(name: str, session: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGES_DIR / name), default_timeout=TIMEOUT)
    for key, value in (session or {}).items():
        app.session_state[key] = value
    return app.run()


def widget(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget {label!r}; found {[w.label for w in widgets]}"
    return found[0]


def texts(app: AppTest, kind: str) -> str:
    return " | ".join(str(element.value) for element in getattr(app, kind))


def samples(app: AppTest) -> str:
    return {m.label: m.value for m in app.metric}["samples"]


def load_path(app: AppTest, path) -> AppTest:
    widget(app.text_input, "Data path on the server").input(str(path))
    widget(app.button, "Load").click()
    return app.run()


def assert_no_python_or_temp_words(app: AppTest) -> None:
    shown = texts(app, "error") + texts(app, "warning") + texts(app, "markdown")
    for word in ("label_prefix", "labels=[", "impute=", "cgmvae-upload", "Traceback"):
        assert word not in shown
    assert not app.exception, texts(app, "exception")


@pytest.fixture
def bare_csv(tmp_path):
    """Simulated checklists (site id, 7 covariates, 42 species) without their sidecar."""
    path = write_checklists(tmp_path, n_sites=60, seed=3)
    path.with_suffix(".json").unlink()
    return path


def test_a_csv_without_sidecar_shows_guessed_roles_and_loads_with_the_users_change(bare_csv):
    app = load_path(run_page("1_data.py"), bare_csv)
    assert_no_python_or_temp_words(app)
    assert not app.error and samples(app) == "4,000"  # nothing loaded until the roles are accepted
    ids, species = widget(app.multiselect, "Id column(s)"), widget(app.multiselect,
                                                                   "Species (label) columns")
    assert ids.value == ["site"] and len(species.value) == 42
    assert widget(app.multiselect, "Covariate (feature) columns").value[-1] == "effort_hours"
    species.unselect("Osprey")
    widget(app.button, "Use these columns").click()
    app.run()
    assert_no_python_or_temp_words(app)
    data = app.session_state[DATA_KEY].data
    assert samples(app) == "60" and data.n_labels == 41 and "Osprey" not in data.label_names
    assert not [b for b in app.button if b.label == "Use these columns"]  # the editor is gone
    assert data.sample_ids[:2] == pd.read_csv(bare_csv, dtype=str)["site"][:2].tolist()
    assert app.session_state[ROLES_KEY][1]["id"] == ["site"]
    assert any(b.proto.label == "Download the sidecar JSON" for b in app.get("download_button"))


def test_one_matrix_without_a_header_row_gets_v_names_and_its_roles_guessed(tmp_path):
    rng = np.random.default_rng(4)
    matrix = np.column_stack([rng.normal(size=(30, 2)).round(3),
                              (rng.random((30, 3)) < 0.5).astype(int)])
    path = tmp_path / "matrix.csv"
    pd.DataFrame(matrix).to_csv(path, header=False, index=False)
    app = load_path(run_page("1_data.py"), path)
    assert not app.exception and "matrix.csv has no header row" in texts(app, "info")
    assert widget(app.multiselect, "Species (label) columns").value == ["V3", "V4", "V5"]
    assert widget(app.multiselect, "Covariate (feature) columns").value == ["V1", "V2"]
    widget(app.button, "Use these columns").click()
    app.run()
    assert not app.exception and samples(app) == "30"  # the first row is a site
    np.testing.assert_array_equal(app.session_state[DATA_KEY].data.labels, matrix[:, 2:])


def test_a_csv_with_sidecar_loads_at_once_and_shows_its_roles(tmp_path):
    path = write_checklists(tmp_path, n_sites=50, seed=1)
    app = load_path(run_page("1_data.py"), path)
    assert not app.error and not app.exception and samples(app) == "50"
    assert not [w for w in app.multiselect if w.label == "Id column(s)"]  # no editor
    roles = texts(app, "markdown")
    assert "**Id column(s)** (1): `site`" in roles and "**Species (label) columns** (42)" in roles


def test_a_semicolon_decimal_comma_export_loads_with_its_numbers(tmp_path):
    path = tmp_path / "plots.csv"
    path.write_text("plot;elev;cover;Parus major;Sitta europaea\n"
                    "P1;1,5;0,25;1;0\nP2;2,5;0,75;0;1\nP3;3,0;0,5;1;1\nP4;0,5;0,1;0;0\n")
    app = load_path(run_page("1_data.py"), path)
    widget(app.button, "Use these columns").click()
    app.run()
    data = app.session_state[DATA_KEY].data
    assert not app.error and data.feature_names == ["elev", "cover"]
    np.testing.assert_allclose(data.features[:, 0], [1.5, 2.5, 3.0, 0.5])
    assert data.label_names == ["Parus major", "Sitta europaea"] and data.sample_ids[0] == "P1"


def test_a_releve_table_with_x_marks_and_empty_cells_loads_as_species(tmp_path):
    path = tmp_path / "releves.csv"
    path.write_text("Aufnahme;pH;Dryas;Nardus;Carex\nA1;7,5;x;;+\nA2;4,8;;x;2m\nA3;6,1;x;;\n"
                    "A4;5,0;;X;r\n", encoding="utf-8")
    app = load_path(run_page("1_data.py"), path)
    assert widget(app.multiselect, "Species (label) columns").value == ["Dryas", "Nardus", "Carex"]
    widget(app.button, "Use these columns").click()
    app.run()
    assert_no_python_or_temp_words(app)
    data = app.session_state[DATA_KEY].data
    np.testing.assert_array_equal(data.labels, [[1, 0, 1], [0, 1, 1], [1, 0, 0], [0, 1, 1]])
    assert "read presence marks in all 3 label columns" in texts(app, "caption") + texts(
        app, "markdown")


@pytest.mark.parametrize("content, expected", [
    ("", "plots.csv is empty"),
    ("plot,elev,sp\nP1,1.5,1\nP2,,0\nP3,2,1\n", "column 'elev' at data row 2"),
    ("plot,elev,sp\nP1,1.5,1\nP2,2.5,seen\n", "no label (species) columns chosen"),
])
def test_bad_tables_get_an_error_naming_file_column_and_row(tmp_path, content, expected):
    path = tmp_path / "plots.csv"
    path.write_text(content)
    app = load_path(run_page("1_data.py"), path)
    if not app.error:
        widget(app.button, "Use these columns").click()
        app.run()
    assert_no_python_or_temp_words(app)
    assert expected in texts(app, "error") and "plots.csv" in texts(app, "error")
    assert samples(app) == "4,000"


def test_missing_covariates_can_be_filled_from_the_page(tmp_path):
    path = tmp_path / "plots.csv"
    path.write_text("plot,elev,sp\nP1,1.5,1\nP2,,0\nP3,2,1\n")
    app = load_path(run_page("1_data.py"), path)
    widget(app.button, "Use these columns").click()
    app.run()
    assert "Fill missing covariate values" in texts(app, "error")  # says which box to tick
    widget(app.checkbox, "Fill missing covariate values (median; text: most frequent)").check()
    widget(app.button, "Use these columns").click()
    app.run()
    assert not app.error and samples(app) == "3"


def two_tables(folder: Path, drop_site: str | None = None) -> tuple[Path, Path]:
    """species.csv (site x species) and a `;`/decimal-comma sites.csv (site x covariates)."""
    species = folder / "species.csv"
    species.write_text("site,Parus major,Sitta europaea\nS1,1,0\nS2,0,1\nS3,1,1\nS4,0,0\n")
    rows = {"S4": "S4;0,5;open", "S2": "S2;2,5;forest", "S1": "S1;1,5;forest", "S3": "S3;3;open"}
    sites = folder / "sites.csv"
    kept = [r for s, r in rows.items() if s != drop_site]
    sites.write_text("\n".join(["site;elev;habitat", *kept]))
    return species, sites


def fill_two_tables(app: AppTest, species, sites) -> AppTest:
    widget(app.text_input, "...or the path of the species table on the server").input(str(species))
    widget(app.text_input, "...or the path of the site table on the server").input(str(sites))
    return app.run()


def test_two_tables_join_on_the_shared_id_in_species_order(tmp_path):
    app = fill_two_tables(run_page("1_data.py"), *two_tables(tmp_path))
    assert widget(app.selectbox, "Id column in both tables").options == ["site"]
    widget(app.button, "Join and load").click()
    app.run()
    data = app.session_state[DATA_KEY].data
    assert not app.error and samples(app) == "4" and data.sample_ids == ["S1", "S2", "S3", "S4"]
    np.testing.assert_allclose(data.features[:, 0], [1.5, 2.5, 3.0, 0.5])
    assert data.feature_names == ["elev", "habitat=forest", "habitat=open"]


def test_two_tables_errors_list_the_ids_in_one_table_by_file_name(tmp_path):
    app = fill_two_tables(run_page("1_data.py"), *two_tables(tmp_path, drop_site="S3"))
    widget(app.button, "Join and load").click()
    app.run()
    assert_no_python_or_temp_words(app)
    assert "1 id(s) only in species.csv, not in sites.csv: S3" in texts(app, "error")


def test_two_uploads_are_named_by_their_own_names_never_a_temporary_path(tmp_path):
    from ui.loading import load_tables, user_message

    from cgmvae.data import DataError

    species, sites = two_tables(tmp_path, drop_site="S1")
    uploads = Upload(species.read_bytes(), "my species.csv"), Upload(sites.read_bytes(), "x.csv")
    with pytest.raises(DataError) as caught:
        load_tables(*uploads, "site")
    assert "only in my species.csv, not in x.csv: S1" in user_message(caught.value)
    temp = DataError("cannot read the sidecar /tmp/cgmvae-upload-ab12/a.json: bad")
    assert user_message(temp) == "cannot read the sidecar a.json: bad"


def test_an_uploaded_csv_with_or_without_its_sidecar(tmp_path):
    from ui.loading import load_with_roles, read_table, roles_from_sidecar, uploaded_table

    path = write_checklists(tmp_path, n_sites=30, seed=2)
    table = Upload(path.read_bytes(), "birds.csv")
    sidecar = Upload(path.with_suffix(".json").read_bytes(), "birds.json")
    upload, meta = uploaded_table([table, sidecar])
    frame = read_table(upload)
    data, _, _ = load_with_roles(frame, roles_from_sidecar(meta, list(frame.columns)), "birds.csv")
    assert data.n_samples == 30 and data.n_labels == 42 and data.sample_ids is not None
    assert uploaded_table([table]) == (table, {})
    assert uploaded_table([table, Upload(b"", "x.arff")]) is None  # left to the other readers


def test_two_tables_in_the_upload_box_say_to_load_one_or_join_them(tmp_path):
    from ui.loading import load_uploaded_data, user_message

    from cgmvae.data import DataError

    path = write_checklists(tmp_path, n_sites=30, seed=2)
    uploads = [Upload(path.read_bytes(), "first.csv"), Upload(path.read_bytes(), "second.csv")]
    with pytest.raises(DataError) as caught:
        load_uploaded_data(uploads)
    said = user_message(caught.value)
    assert said.startswith("2 tables among the uploads (first.csv, second.csv): load one table")
    assert "Two tables tab" in said and "cgmvae-upload" not in said


def test_ebird_files_are_zero_filled_and_loaded_with_the_checklist_id():
    app = run_page("1_data.py")
    widget(app.text_input, "...or the path of the observations file on the server").input(
        str(EBIRD / "observations.txt"))
    widget(app.text_input, "...or the path of the sampling-event file on the server").input(
        str(EBIRD / "sampling.txt"))
    app.run()
    widget(app.button, "Zero-fill and load").click()
    app.run()
    assert not app.error and not app.exception
    data = app.session_state[DATA_KEY].data
    title = f"{data.n_samples:,} complete checklists x {data.n_labels:,} species"
    assert title in texts(app, "success")
    assert data.sample_ids[0].startswith(("S", "G")) and "protocol=Traveling" in data.feature_names
    assert app.session_state[ROLES_KEY][1]["id"] == ["checklist_id"]
    assert data.notices[:2] == ["dropped 1 incomplete checklist(s) (ALL SPECIES REPORTED = 0)",
                                "collapsed 1 shared copies of group checklists"]
    assert "dropped 1 incomplete checklist" in texts(app, "caption")  # said on the page
    assert_no_python_or_temp_words(app)


def test_ebird_errors_name_the_file():
    app = run_page("1_data.py")
    widget(app.text_input, "...or the path of the observations file on the server").input(
        str(EBIRD / "sampling.txt"))  # the wrong file
    widget(app.text_input, "...or the path of the sampling-event file on the server").input(
        str(EBIRD / "sampling.txt"))
    app.run()
    widget(app.button, "Zero-fill and load").click()
    app.run()
    assert not app.exception and "sampling.txt: no column(s)" in texts(app, "error")


@pytest.fixture(scope="module")
def habitat_model():
    """A 2-epoch model on covariates elev and a one-hot habitat (forest/open)."""
    rng = np.random.default_rng(0)
    forest = rng.random(80) < 0.5
    features = np.column_stack([rng.normal(size=80), forest, ~forest]).astype(np.float32)
    labels = np.column_stack([forest, ~forest]).astype(np.float32)
    data = MultiLabelData(features, labels, ["elev", "habitat=forest", "habitat=open"],
                          ["Parus major", "Sitta europaea"], name="habitat")
    small = ModelConfig(embedding_dim=8, latent_dim=4, feature_hidden=(8,), label_hidden=(8,),
                        decoder_hidden=(8,))
    model = fit(data, random_split(80), model_config=small, train_config=TrainConfig(max_epochs=2))
    return Workspace(model, None, "test model", "habitat-model")


def predict_page(workspace, path) -> AppTest:
    app = run_page("7_predict_from_csv.py", {MODEL_KEY: workspace})
    widget(app.text_input, "...or a CSV path on the server").input(str(path))
    return app.run()


def test_predict_page_lists_the_raw_columns_and_joins_predictions_to_the_ids(habitat_model,
                                                                               tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("plot;habitat;elev;note\n007;forest;1,5;a\nP2;open;-0,5;b\n")
    app = predict_page(habitat_model, path)
    assert not app.error and not app.exception
    needed = texts(app, "markdown")
    assert "`elev`, `habitat` (text: forest, open)" in needed and "habitat=forest" not in needed
    assert widget(app.multiselect, "Id column(s) to keep in the output").value == ["plot"]
    shown = app.dataframe[0].value
    assert list(shown.columns[:3]) == ["plot", "predicted labels", "Parus major_probability"]
    saved = predict_csv(habitat_model.model, path, ids=["plot"])
    assert list(saved.columns) == ["plot", "Parus major_probability", "Sitta europaea_probability",
                                   "Parus major_predicted", "Sitta europaea_predicted",
                                   "richness_expected", "richness_predicted",
                                   "covariates_outside_training", "covariate_novelty"]
    assert saved["plot"].tolist() == ["007", "P2"]
    assert predict_csv(habitat_model.model, path, ids=[]).columns[0] == "row"


def test_predict_page_warns_when_sites_lie_outside_the_training_range(habitat_model, tmp_path):
    model = habitat_model.model
    inside = model.feature_min[model.feature_names.index("elev")]
    path = tmp_path / "new.csv"
    path.write_text(f"plot,habitat,elev\nA,forest,{inside}\nB,open,1000\n")
    app = predict_page(habitat_model, path)
    assert not app.exception
    warning = texts(app, "warning")
    assert "1 of 2 sites lie outside the covariate range of the training rows" in warning
    assert "elev 1000 (training" in warning
    assert "Sites concerned: B." in warning


def test_predict_page_keeps_the_id_column_chosen_for_the_training_table(habitat_model,
                                                                        tmp_path):
    """`Aufnahme` is not named like an id, but the user chose it as the training table's id."""
    from ui.state import DataChoice

    data = MultiLabelData(np.zeros((2, 3), np.float32), np.eye(2, dtype=np.float32),
                          ["elev", "habitat=forest", "habitat=open"],
                          ["Parus major", "Sitta europaea"], name="habitat")
    choice = DataChoice(data, random_split(2), "uploaded habitat.csv", "habitat-upload")
    workspace = Workspace(habitat_model.model, choice, "trained", "habitat-trained")
    path = tmp_path / "neue.csv"
    path.write_text("Aufnahme;habitat;elev\nA1;forest;1,5\nA2;open;-0,5\n")
    app = AppTest.from_file(str(PAGES_DIR / "7_predict_from_csv.py"), default_timeout=TIMEOUT)
    app.session_state[MODEL_KEY] = workspace
    app.session_state[ROLES_KEY] = ("habitat-upload", {"id": ["Aufnahme"]}, False)
    app.run()
    widget(app.text_input, "...or a CSV path on the server").input(str(path))
    app.run()
    assert widget(app.multiselect, "Id column(s) to keep in the output").value == ["Aufnahme"]
    assert app.dataframe[0].value["Aufnahme"].tolist() == ["A1", "A2"]


def test_predict_page_takes_a_european_upload_by_its_name(habitat_model):
    from cgmvae.data import DataError

    upload = Upload("site;elev;habitat\nA;1,5;forest\nB;0,5;desert\n", "mes sites.csv")
    with pytest.raises(DataError,
                       match=r"mes sites\.csv.*'habitat' has the value 'desert' at data row 2"):
        predict_csv(habitat_model.model, upload, name=upload.name)
    good = Upload("site;elev;habitat\nA;1,5;forest\n", "mes sites.csv")
    assert predict_csv(habitat_model.model, good, name=good.name)["site"].tolist() == ["A"]


def test_excel_workbooks_load_on_the_data_page_and_are_scored_on_the_predict_page(
        habitat_model, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in (["plot", "elev", "Parus major", "Sitta europaea"], ["P1", 1.5, "x", None],
                ["P2", 2.5, None, "x"], ["P3", 3.0, "x", "x"]):
        book.active.append(row)
    path = tmp_path / "Kartierung 2024.xlsx"
    book.save(path)
    app = load_path(run_page("1_data.py"), path)
    widget(app.button, "Use these columns").click()
    app.run()
    assert_no_python_or_temp_words(app)
    data = app.session_state[DATA_KEY].data
    np.testing.assert_array_equal(data.labels, [[1, 0], [0, 1], [1, 1]])
    assert data.feature_names == ["elev"] and data.sample_ids == ["P1", "P2", "P3"]
    new_sites = openpyxl.Workbook()
    for row in (["plot", "habitat", "elev"], ["N1", "forest", 1.0], ["N2", "open", -0.5]):
        new_sites.active.append(row)
    upload = io.BytesIO()
    new_sites.save(upload)
    scored = predict_csv(habitat_model.model, Upload(upload.getvalue(), "neue Flächen.xlsx"),
                         name="neue Flächen.xlsx")
    assert scored["plot"].tolist() == ["N1", "N2"] and "Parus major_probability" in scored


@pytest.mark.parametrize("content, expected", [
    ("", "new.csv is empty"),
    ("plot,elev\nP1,1\n", "new.csv is missing column(s) `habitat` (text: forest, open)"),
    ("plot,elev,habitat\nP1,1,forest\nP2,,open\n", "missing values in data row(s) 2"),
])
def test_predict_page_errors_name_file_column_and_row(habitat_model, tmp_path, content, expected):
    path = tmp_path / "new.csv"
    path.write_text(content)
    app = predict_page(habitat_model, path)
    assert not app.exception and not app.dataframe
    assert expected in texts(app, "error").replace("[", "").replace("]", "")


def test_the_downloaded_predictions_hold_no_shortened_text(habitat_model, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("site,elev,habitat\n" + "".join(f"S{i},{i / 10},forest\n" for i in range(30)))
    saved = predict_csv(habitat_model.model, path)
    text_columns = saved.select_dtypes(exclude="number").columns
    assert list(text_columns) == ["site"]
    assert json.loads(saved.to_json(orient="records"))[0]["site"] == "S0"


def test_a_vegetation_table_with_a_column_per_site_joins_on_the_site_table_s_id(tmp_path):
    species = tmp_path / "Vegetationstabelle.csv"
    species.write_text("Art;A2;A1;A3\nDryas octopetala;x;;+\nNardus stricta;;x;\n"
                       "Carex firma;2m;r;\n")
    sites = tmp_path / "Aufnahmen.csv"
    sites.write_text("Aufnahme;pH;Hoehe\nA1;7,5;1900\nA2;4,8;2100\nA3;6,1;1500\n")
    app = fill_two_tables(run_page("1_data.py"), species, sites)
    id_choice = widget(app.selectbox, "Join on")
    assert id_choice.options == [*(f"the site table's id column {c}" for c in
                                   ("Aufnahme", "pH", "Hoehe")),
                                 "row order (the same sites in the same order)"]
    assert id_choice.value == "Aufnahme"
    widget(app.button, "Join and load").click()
    app.run()
    assert not app.error and not app.exception
    data = app.session_state[DATA_KEY].data
    assert data.label_names == ["Dryas octopetala", "Nardus stricta", "Carex firma"]
    assert data.sample_ids == ["A2", "A1", "A3"]  # the species table's column order
    np.testing.assert_array_equal(data.labels, [[1, 0, 1], [0, 1, 1], [1, 0, 0]])
    np.testing.assert_allclose(data.features[:, 0], [4.8, 7.5, 6.1])


def test_two_tables_without_a_shared_column_or_with_an_empty_file_say_which_file(tmp_path):
    species, sites = two_tables(tmp_path)
    plots = tmp_path / "plots.csv"
    plots.write_text("plot;elev\nS1;1\n")
    app = fill_two_tables(run_page("1_data.py"), species, plots)
    assert not app.exception and "species.csv and plots.csv have no column in common" in texts(
        app, "info")
    widget(app.button, "Join and load").click()
    app.run()
    said = texts(app, "error")
    assert "species.csv has no id column 'plot', and its columns are not the plot values" in said
    sites.write_text("")
    app = fill_two_tables(run_page("1_data.py"), species, sites)
    assert not app.exception and "sites.csv is empty" in texts(app, "error")
    assert not [b for b in app.button if b.label == "Join and load"]


def test_matrices_without_header_rows_join_by_row_order_and_score_new_sites(tmp_path):
    """HMSC's Y and X, or Norberg et al. 2019's Yt and Xt: written without names or ids, the
    same sites in the same order. The tab says why it can only join them by row order, the
    species and covariates get names, and a headerless table of new sites is scored by
    position."""
    rng = np.random.default_rng(3)
    covariates = rng.normal(size=(40, 2)).round(3)
    presence = (rng.random((40, 3)) < 0.5).astype(int)
    species, sites = tmp_path / "Y.csv", tmp_path / "X.csv"
    pd.DataFrame(presence).to_csv(species, header=False, index=False)
    pd.DataFrame(covariates).to_csv(sites, header=False, index=False)
    app = fill_two_tables(run_page("1_data.py"), species, sites)
    assert not app.exception
    assert "Y.csv and X.csv have no header row" in texts(app, "info")
    choice = widget(app.selectbox, "Join on")
    assert choice.options == ["row order (the same sites in the same order)"]
    widget(app.button, "Join and load").click()
    app.run()
    assert not app.error and not app.exception and samples(app) == "40"
    data = app.session_state[DATA_KEY].data
    assert data.label_names == ["species_1", "species_2", "species_3"]
    assert data.feature_names == ["covariate_1", "covariate_2"]
    np.testing.assert_array_equal(data.labels, presence)  # the first row is a site, not names
    np.testing.assert_allclose(data.features, covariates, rtol=1e-6)
    assert "joined Y.csv and X.csv by row order" in " ".join(data.notices)
    model = fit(data, random_split(40), model_config=ModelConfig(embedding_dim=8, latent_dim=4),
                train_config=TrainConfig(max_epochs=1, device="cpu"))
    new_sites = tmp_path / "X_new.csv"
    pd.DataFrame(covariates[:5]).to_csv(new_sites, header=False, index=False)
    scored = predict_csv(model, new_sites)
    assert len(scored) == 5 and "species_1_probability" in scored.columns
    page = predict_page(Workspace(model, None, "test model", "headerless-model"), new_sites)
    assert not page.error and not page.exception
    assert ("X_new.csv has no header row (its first row is numbers): its 2 columns are read, in "
            "order, as the model's covariates covariate_1, covariate_2") in texts(page, "info")
    assert len(page.dataframe[0].value) == 5
    pd.DataFrame(covariates[:5, :1]).to_csv(new_sites, header=False, index=False)
    with pytest.raises(Exception, match=r"no header row .* 1 columns, so they cannot be matched"):
        predict_csv(model, new_sites)
    page = predict_page(Workspace(model, None, "test model", "headerless-model"), new_sites)
    assert not page.exception and "cannot be matched to the model's 2 features" in texts(
        page, "error")


def test_r_s_write_csv_tables_join_on_their_unnamed_row_names(tmp_path):
    species, sites = tmp_path / "Y.csv", tmp_path / "X.csv"
    species.write_text('"","sp1","sp2"\n"1",1,0\n"2",0,1\n"3",1,1\n"4",0,0\n')
    sites.write_text('"","elev","moist"\n"4",0.5,1.25\n"2",1.5,-0.25\n"3",2.5,0.75\n'
                     '"1",3.5,0.5\n')
    app = fill_two_tables(run_page("1_data.py"), species, sites)
    assert widget(app.selectbox, "Id column in both tables").options == [
        "(unnamed: R's row names)"]
    widget(app.button, "Join and load").click()
    app.run()
    assert not app.error and not app.exception and samples(app) == "4"
    np.testing.assert_allclose(app.session_state[DATA_KEY].data.features[:, 0],
                               [3.5, 1.5, 2.5, 0.5])


def test_a_diverged_training_names_the_form_s_field_not_the_command_line_flag():
    from ui.loading import user_message

    from cgmvae.train import TrainingDiverged

    err = TrainingDiverged("training diverged: the training loss became nan in epoch 1 at "
                           "learning rate 0.9; a lower learning rate (--lr) usually trains")
    assert user_message(err).endswith('a lower learning rate ("Learning rate") usually trains')


def test_a_parquet_with_its_sidecar_loads_at_once_and_without_it_asks_for_the_roles(tmp_path):
    from cgmvae.formats.parquet import convert_csv

    csv_path = write_checklists(tmp_path, n_sites=60, seed=3)
    path = convert_csv(csv_path, tmp_path / "survey.parquet")
    app = load_path(run_page("1_data.py"), path)  # the sidecar names the species
    assert not app.error and not app.exception and samples(app) == "60"
    assert not [w for w in app.multiselect if w.label == "Id column(s)"]  # no editor
    path.with_suffix(".json").unlink()
    app = load_path(run_page("1_data.py"), path)
    assert_no_python_or_temp_words(app)
    assert not app.error and samples(app) == "4,000"  # nothing loaded until the roles are accepted
    assert widget(app.multiselect, "Id column(s)").value == ["site"]
    assert len(widget(app.multiselect, "Species (label) columns").value) == 42
    widget(app.button, "Use these columns").click()
    app.run()
    data = app.session_state[DATA_KEY].data
    assert not app.error and samples(app) == "60" and data.n_labels == 42
    assert data.sample_ids[:2] == pd.read_csv(csv_path, dtype=str)["site"][:2].tolist()


def test_an_uploaded_parquet_and_a_parquet_species_table(tmp_path):
    from ui.loading import load_tables, read_table, uploaded_table

    from cgmvae.formats import guess_roles
    from cgmvae.formats.parquet import convert_csv

    path = convert_csv(write_checklists(tmp_path, n_sites=30, seed=2), tmp_path / "birds.parquet")
    upload = Upload(path.read_bytes(), "birds.parquet")
    assert uploaded_table([upload]) == (upload, {})
    roles = guess_roles(read_table(upload))
    assert roles["id"] == ["site"] and len(roles["labels"]) == 42
    species, sites = two_tables(tmp_path)
    species_parquet = convert_csv(species, tmp_path / "species.parquet")
    data, _, _ = load_tables(str(species_parquet), str(sites), "site")
    assert data.sample_ids == ["S1", "S2", "S3", "S4"]


def test_predict_page_reads_a_parquet_of_new_sites(habitat_model, tmp_path):
    from cgmvae.formats.parquet import convert_csv

    csv_path = tmp_path / "new.csv"
    csv_path.write_text("plot,habitat,elev\n007,forest,1.5\nP2,open,-0.5\n")
    path = convert_csv(csv_path, tmp_path / "new.parquet")
    app = predict_page(habitat_model, path)
    assert not app.error and not app.exception
    assert widget(app.multiselect, "Id column(s) to keep in the output").value == ["plot"]
    upload = Upload(path.read_bytes(), "new.parquet")
    from_upload = predict_csv(habitat_model.model, upload, ids=["plot"], name=upload.name)
    pd.testing.assert_frame_equal(  # the ids: object from Parquet, pandas' str dtype from CSV
        from_upload, predict_csv(habitat_model.model, csv_path, ids=["plot"]), check_dtype=False)
    assert from_upload["plot"].tolist() == ["007", "P2"]


RECORDS = """record_id;plot_id;year;month;species_id;weight;plot_type
1;2;1977;7;NL;32,5;Control
2;2;1977;7;DM;40,0;Control
3;3;1977;7;DM;41,0;Rodent Exclosure
4;3;1977;8;;;Rodent Exclosure
5;4;1977;7;PP;18,0;Control
6;4;1977;8;DM;38,0;Control
"""


def records_page(path) -> AppTest:
    app = run_page("1_data.py")
    widget(app.text_input, "...or the path of the records table on the server").input(str(path))
    return app.run()


def test_occurrence_records_are_zero_filled_with_the_guessed_columns_and_come_back(tmp_path):
    from ui.loading import reload_data

    path = tmp_path / "captures.csv"
    path.write_text(RECORDS)
    app = records_page(path)
    assert app.multiselect(key="records_sites").value == ["plot_id", "year", "month"]
    assert app.selectbox(key="records_species").value == "species_id"
    app.button(key="load_records").click()
    app.run()
    assert not app.error and not app.exception
    choice = app.session_state[DATA_KEY]
    assert "5 sites x 3 species" in texts(app, "success")
    assert list(choice.data.sample_ids) == ["2_1977_7", "3_1977_7", "3_1977_8", "4_1977_7",
                                            "4_1977_8"]
    assert choice.data.labels[:, choice.data.label_names.index("DM")].tolist() == [1, 1, 0, 0, 1]
    assert "year" in choice.data.feature_names and "weight" not in choice.data.feature_names
    assert app.session_state[ROLES_KEY][1]["id"] == ["site"]
    captions = texts(app, "caption")
    assert "zero-filled 6 records into 5 sites x 3 species" in captions
    assert "vary within a site (they describe records, not sites): record_id, weight" in captions
    assert choice.recipe["kind"] == "records"
    data, _, source, roles = reload_data(choice.recipe)  # a kept model's data after a reload
    np.testing.assert_array_equal(data.labels, choice.data.labels)
    assert source.startswith("records ") and roles["id"] == ["site"]
    assert_no_python_or_temp_words(app)


def test_records_errors_name_the_file_column_and_site(tmp_path):
    path = tmp_path / "captures.csv"
    path.write_text(RECORDS)
    app = records_page(path)
    app.multiselect(key="records_sites").set_value(["plot_id"])
    app.button(key="load_records").click()
    app.run()
    assert not app.exception and not app.error
    assert app.session_state[DATA_KEY].data.n_samples == 3  # one site per plot: year and month
    assert "vary within a site (they describe records, not sites): record_id, month" in \
        texts(app, "caption")  # now vary within a site and are left out
    app.selectbox(key="records_count").set_value("plot_type")
    app.button(key="load_records").click()
    app.run()
    assert "captures.csv: count column 'plot_type' has 'Control' at data row 1 (line 2)" in \
        texts(app, "error")


def test_covariates_of_a_few_whole_numbers_are_pointed_out_as_possible_classes(tmp_path):
    """ontario_birds' ontveg is a vegetation type coded 1-5: read as a number, type 4 would be
    twice type 2. The page says so until the user chooses it as a category."""
    rng = np.random.default_rng(0)
    n = 40
    table = pd.DataFrame({"site": [f"S{k}" for k in range(n)],
                          "ontveg": rng.integers(1, 6, n), "alt": rng.normal(300, 50, n),
                          "year": rng.integers(2019, 2023, n),
                          "sp1": rng.integers(0, 2, n), "sp2": rng.integers(0, 2, n)})
    path = tmp_path / "birds.csv"
    table.to_csv(path, index=False)
    app = load_path(run_page("1_data.py"), path)
    hints = [c.value for c in app.caption if "class codes" in c.value]
    assert len(hints) == 1 and "`ontveg` (5 values, 1 to 5)" in hints[0]
    assert "alt" not in hints[0] and "year" not in hints[0]
    widget(app.multiselect, "Covariates that are categories").select("ontveg")
    app.run()
    assert not [c for c in app.caption if "class codes" in c.value]
    widget(app.button, "Use these columns").click()
    app.run()
    assert "ontveg=5" in app.session_state[DATA_KEY].data.feature_names


def test_coordinates_in_a_further_site_table_are_joined_as_covariates(tmp_path):
    """HMSC keeps X and xy apart: the xy table (another order) joins on the site id."""
    species, sites = two_tables(tmp_path)
    coords = tmp_path / "xy.csv"
    coords.write_text("site,lon,lat\nS3,7.3,46.3\nS1,7.1,46.1\nS4,7.4,46.4\nS2,7.2,46.2\n")
    app = fill_two_tables(run_page("1_data.py"), species, sites)
    widget(app.text_input, "...or their paths on the server, separated by ;").input(str(coords))
    app.run()
    assert widget(app.selectbox, "Id column in all tables").options == ["site"]
    widget(app.button, "Join and load").click()
    app.run()
    assert not app.error and not app.exception and samples(app) == "4"
    data = app.session_state[DATA_KEY].data
    assert data.feature_names == ["elev", "lon", "lat", "habitat=forest", "habitat=open"]
    np.testing.assert_allclose(data.features[:, 1], [7.1, 7.2, 7.3, 7.4])
    assert "site tables sites.csv + xy.csv joined on site: 4 sites" in " ".join(data.notices)
    coords.write_text("site,lon,elev\nS3,7.3,1\nS1,7.1,1\nS4,7.4,1\nS2,7.2,1\n")
    widget(app.button, "Join and load").click()
    app.run()
    assert "both have the column elev" in texts(app, "error")


def test_new_sites_kept_in_two_files_are_joined_by_row_order_and_scored(tmp_path):
    """A model of covariates and coordinates (Norberg's Xt + St) scores Xv + Sv given together."""
    rng = np.random.default_rng(4)
    covariates, coords = rng.normal(size=(40, 2)).round(3), rng.uniform(0, 9, (40, 1)).round(3)
    presence = (rng.random((40, 3)) < 0.5).astype(int)
    for name, values in (("Y", presence), ("X", covariates), ("S", coords),
                         ("Xv", covariates[:6]), ("Sv", coords[:6])):
        pd.DataFrame(values).to_csv(tmp_path / f"{name}.csv", header=False, index=False)
    data = load_two_tables(tmp_path / "Y.csv", [tmp_path / "X.csv", tmp_path / "S.csv"], None)
    model = fit(data, random_split(40), model_config=ModelConfig(embedding_dim=8, latent_dim=4),
                train_config=TrainConfig(max_epochs=1, device="cpu"))
    page = predict_page(Workspace(model, None, "test model", "xy-model"),
                        f"{tmp_path / 'Xv.csv'}; {tmp_path / 'Sv.csv'}")
    assert not page.error and not page.exception
    assert "Site tables Xv.csv + Sv.csv joined by row order: 6 sites" in texts(page, "info")
    scored = page.dataframe[0].value
    expected = model.predict_proba(np.hstack([covariates[:6], coords[:6]]).astype(np.float32))
    np.testing.assert_allclose(scored["species_1_probability"], expected[:, 0], atol=1e-3)
    page = predict_page(Workspace(model, None, "test model", "xy-model"),
                        f"{tmp_path / 'Xv.csv'}; {tmp_path / 'S.csv'}")
    assert "Xv.csv has 6 rows, S.csv has 40 rows" in texts(page, "error")


def test_two_tables_can_mark_a_numeric_covariate_as_categories_and_load_it_again(tmp_path):
    from ui.loading import reload_data

    species, sites = two_tables(tmp_path)
    sites.write_text("site;elev;veg\nS4;0,5;2\nS2;2,5;1\nS1;1,5;3\nS3;3;2")
    app = fill_two_tables(run_page("1_data.py"), species, sites)
    widget(app.multiselect, "Covariates that are categories").select("veg")
    widget(app.button, "Join and load").click()
    app.run()
    assert not app.error and not app.exception
    choice = app.session_state[DATA_KEY]
    assert choice.data.feature_names == ["elev", "veg=1", "veg=2", "veg=3"]
    assert choice.recipe["categorical"] == ["veg"]
    data, _, _, _ = reload_data(choice.recipe)  # a kept model's data after a reload
    assert data.feature_names == choice.data.feature_names
