"""The app as a server (issue 10): loopback address, allowed data folders, safe CSV exports,
names shown as text, training lifecycle and uploads removed once read."""

import io
import os
import re
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
from streamlit.testing.v1 import AppTest
from test_app import APP_DIR, DEFAULT_CHECKPOINT, PAGES_DIR, ROOT, SMALL, TIMEOUT, by_label
from ui import training, widgets
from ui.loading import load_data, load_uploaded_data, table_columns
from ui.paths import (
    DATA_ROOTS_ENV,
    PathNotAllowed,
    allowed_path,
    data_roots,
    new_checkpoint_path,
)
from ui.state import DATA_KEY, MODEL_KEY, DataChoice, Workspace
from ui.text import plain, safe_message
from ui.training import JOB_KEY, SessionWatch, TrainingJob, start_training
from ui.uploads import sweep_stale_uploads

from cgmvae import model_store
from cgmvae.config import TrainConfig
from cgmvae.data import MultiLabelData, random_split
from cgmvae.simulate import write_checklists
from cgmvae.train import fit

EVIL = "[x](http://evil) ![i](http://evil/i.png)"
SECRET = "cell-only-in-the-secret-file"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Data roots: `root/` under this test's folder (the rest of it is "outside"); kept models
    in their own folder."""
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv(DATA_ROOTS_ENV, str(root))
    monkeypatch.setenv(model_store.MODEL_DIR_ENV, str(tmp_path / "kept"))
    return root


def evil_choice(n: int = 120) -> DataChoice:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(n, 2)).astype(np.float32)
    labels = (features + 0.3 * rng.normal(size=(n, 2)) > 0).astype(np.float32)
    data = MultiLabelData(features, labels, [EVIL, "b"], [EVIL, "down"], name=EVIL,
                          notices=[f"a note on {EVIL}"])
    return DataChoice(data, random_split(n), f"uploaded {EVIL}", "evil-data")


@pytest.fixture(scope="module")
def evil():
    """A 2-epoch model whose data set, label and feature names are markdown links, with its data."""
    choice = evil_choice()
    return fit(choice.data, choice.split, model_config=SMALL,
               train_config=TrainConfig(max_epochs=2)), choice


def run_file(path: Path, session: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    for key, value in (session or {}).items():
        app.session_state[key] = value
    return app.run()


def errors(app: AppTest) -> str:
    return " | ".join(str(e.value) for e in app.error)


# 1. Address ---------------------------------------------------------------------------------

def test_the_server_listens_on_loopback_unless_opened_on_purpose():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    app_target = (ROOT / "Makefile").read_text().split("\napp:")[1].split("\n\n")[0]
    assert "--server.address" not in app_target  # `make app` keeps the config's loopback
    assert '"--server.address", "127.0.0.1"' in (ROOT / "benchmarks" / "app_speed.py").read_text()


# 2. Paths on disk ---------------------------------------------------------------------------

def test_paths_inside_the_data_roots_are_allowed_and_resolved(isolated):
    inside = isolated / "sites.csv"
    inside.write_text("a\n1\n")
    assert allowed_path(str(inside)) == inside.resolve()
    assert allowed_path(f"{isolated}/sub/../sites.csv") == inside.resolve()
    assert allowed_path(str(isolated / "not yet.csv")) == (isolated / "not yet.csv").resolve()


def test_paths_outside_get_one_message_whether_the_file_exists_or_not(isolated, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(f"a\n{SECRET}\n")
    link = isolated / "link.csv"
    link.symlink_to(secret)
    messages = set()
    for text in [secret, tmp_path / "missing.csv", f"{isolated}/../secret.csv", link, "/etc/passwd",
                 "~/x.csv", "~nobody-at-all/x.csv"]:
        with pytest.raises(PathNotAllowed, match="outside the allowed data folders") as caught:
            allowed_path(str(text))
        messages.add(str(caught.value))
    assert len(messages) == 1 and SECRET not in messages.pop()


def test_default_data_roots_are_the_working_folder_and_shared_data(monkeypatch):
    monkeypatch.delenv(DATA_ROOTS_ENV)
    assert data_roots() == [Path.cwd().resolve(), (Path.cwd().parent / "shared" / "data").resolve()]
    monkeypatch.setenv(DATA_ROOTS_ENV, os.pathsep.join(["/a", "/b"]))
    assert data_roots() == [Path("/a"), Path("/b")]


def test_every_loader_refuses_a_path_outside_the_roots(tmp_path):
    species, sites = tmp_path / "species.csv", tmp_path / "sites.csv"
    species.write_text("site,sp\nS1,1\n")
    sites.write_text(f"site,elev\nS1,{SECRET}\n")
    from ui.loading import load_ebird, load_tables, read_table, table_at

    for call in [lambda: load_data(str(species)), lambda: table_at(str(sites)),
                 lambda: read_table(str(sites)), lambda: table_columns(str(sites)),
                 lambda: load_tables(str(species), str(sites), "site"),
                 lambda: load_ebird(str(species), str(sites), 1)]:
        with pytest.raises(PathNotAllowed):
            call()


needs_model = pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="built-in model missing")


@needs_model
def test_data_page_refuses_a_path_outside_and_shows_none_of_its_cells(tmp_path):
    secret = tmp_path / "plots.csv"
    secret.write_text(f"plot,elev,sp\n{SECRET},1,1\n")
    shown = []
    for path in (secret, tmp_path / "missing.csv"):
        app = run_file(PAGES_DIR / "1_data.py")
        by_label(app.text_input, "Data path on the server").input(str(path))
        app.button(key="load_path").click()
        app.run()
        assert not app.exception and "outside the allowed data folders" in errors(app)
        shown.append(errors(app).replace(path.name, "NAME"))
    assert shown[0] == shown[1] and SECRET not in shown[0]  # nothing says whether it exists
    assert "Path on the server" in [tab.label for tab in app.tabs]


@needs_model
def test_predict_and_train_pages_refuse_paths_outside(tmp_path):
    secret = tmp_path / "new.csv"
    secret.write_text(f"plot,elev\n{SECRET},1\n")
    app = run_file(PAGES_DIR / "7_predict_from_csv.py")
    by_label(app.text_input, "...or a CSV path on the server").input(str(secret)).run()
    assert "outside the allowed data folders" in errors(app) and SECRET not in errors(app)
    assert not app.dataframe
    app = run_file(PAGES_DIR / "2_train.py")
    by_label(app.text_input, "...or a checkpoint path on the server").input(str(DEFAULT_CHECKPOINT))
    by_label(app.button, "Load checkpoint").click()
    app.run()
    assert "outside the allowed data folders" in errors(app)
    assert MODEL_KEY not in app.session_state  # still the built-in model


def test_checkpoints_are_saved_only_as_new_pt_files_inside_the_roots(isolated, tmp_path):
    assert "model.save(new_checkpoint_path(target))" in (PAGES_DIR / "2_train.py").read_text()
    assert new_checkpoint_path(str(isolated / "m.pt")) == (isolated / "m.pt").resolve()
    (isolated / "taken.pt").write_bytes(b"")
    for target, message in [(tmp_path / "m.pt", "outside"), (isolated / "app.py", ".pt"),
                            (isolated / "taken.pt", "exists")]:
        with pytest.raises(PathNotAllowed, match=message):
            new_checkpoint_path(str(target))


# 3. Exports ---------------------------------------------------------------------------------

def test_csv_exports_neutralise_formulas_in_text_but_keep_numbers(monkeypatch):
    frame = pd.DataFrame({"=HYPERLINK(\"http://evil\")": ["=1+2", "+x", "-y", "@z", "\tq", "ok"],
                          "count": [-1.5, 2, 3, 4, 5, 6],
                          "kind": pd.Categorical(["\rr", "a", "a", "a", "a", "a"])},
                         index=pd.Index(["-i", "j", "k", "l", "m", "n"], name="@site"))
    captured = {}
    monkeypatch.setattr(widgets.st, "download_button",
                        lambda label, data, **kwargs: captured.setdefault("data", data))
    widgets.csv_download(lambda: frame, "Download", "x.csv", index=True)
    back = pd.read_csv(io.BytesIO(captured["data"]()), keep_default_na=False)
    assert list(back.columns) == ["'@site", "'=HYPERLINK(\"http://evil\")", "count", "kind"]
    assert back["'@site"].tolist()[:2] == ["'-i", "j"]
    assert back.iloc[:, 1].tolist() == ["'=1+2", "'+x", "'-y", "'@z", "'\tq", "ok"]
    assert back["count"].tolist() == [-1.5, 2, 3, 4, 5, 6]  # numbers stay numbers
    assert back["kind"].tolist()[0] == "'\rr"
    assert frame.iloc[0, 0] == "=1+2"  # the page's own frame is not changed


# 4. Names -----------------------------------------------------------------------------------

def live_links(markdown: str) -> list[str]:
    """The links, images and autolinks a markdown text would render."""
    text = re.sub(r"`[^`]*`", "", markdown)  # code spans render their text as it is
    text = re.sub(r"\\[!-/:-@\[-`{-~]", "", text)  # escaped characters are plain text
    return re.findall(r"!?\[[^\]]*\]\([^)]*\)|!?\[[^\]]*\]\[[^\]]*\]|https?://\S+|www\.\S+", text)


def rendered_markdown(app: AppTest) -> list[str]:
    kinds = ("title", "header", "subheader", "markdown", "caption", "success", "info", "warning",
             "error")
    return [str(element.value) for kind in kinds for element in getattr(app, kind)]


def test_the_link_check_finds_the_links_it_must():
    assert len(live_links(EVIL)) == 2 and live_links(plain(EVIL)) == []
    assert live_links(safe_message(f"`{EVIL}` and www.evil.com a@b.c")) == []
    assert "http\\://evil" in plain("http://evil") and plain("sim_birds (x)") == "sim_birds (x)"


@needs_model
@pytest.mark.parametrize("where", ["Home.py", "0_overview.py", "1_data.py", "2_train.py",
                                   "7_predict_from_csv.py"])
def test_names_from_data_and_checkpoints_never_become_links_or_images(evil, where):
    model, choice = evil
    session = {MODEL_KEY: Workspace(model, choice, f"loaded from {EVIL}", "evil-model",
                                    {"data_source": EVIL}),
               DATA_KEY: replace(choice, key="other-data")}
    app = run_file((APP_DIR if where == "Home.py" else PAGES_DIR) / where, session)
    assert not app.exception, [e.value for e in app.exception]
    shown = rendered_markdown(app)
    assert any("evil" in text for text in shown)  # the names are shown...
    assert [link for text in shown for link in live_links(text)] == []  # ...as text


# 5. Training lifecycle ----------------------------------------------------------------------

def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


ENDLESS = TrainConfig(max_epochs=100_000, patience=100_000)


def test_a_training_whose_browser_session_has_gone_stops():
    choice = evil_choice()
    watch = SessionWatch("closed-tab", grace_s=0.0, is_active=lambda session_id: False)
    job = start_training(choice, SMALL, ENDLESS, watch=watch)
    job.thread.join(timeout=60)
    assert not job.running and job.abandoned and len(job.records) <= 1


def test_a_session_away_for_less_than_the_grace_period_is_not_gone(monkeypatch):
    away = SessionWatch("blip", grace_s=3600.0, is_active=lambda session_id: False)
    assert not away.gone()
    assert not SessionWatch(None, grace_s=0.0, is_active=lambda session_id: False).gone()
    assert training.session_is_active("no-runtime-here")  # AppTest, scripts: nothing to ask


def test_trainings_beyond_the_limit_wait_for_a_free_slot(monkeypatch):
    monkeypatch.setenv(training.MAX_TRAININGS_ENV, "1")
    choice = evil_choice()
    first = start_training(choice, SMALL, ENDLESS)
    wait_for(lambda: first.records)
    second = start_training(choice, SMALL, TrainConfig(max_epochs=2))
    third = start_training(choice, SMALL, TrainConfig(max_epochs=2))
    time.sleep(0.5)
    assert second.waiting and not second.records and third.waiting
    third.stop.set()  # cancelled while waiting: leaves the line
    third.thread.join(timeout=10)
    assert not third.running and third.model is None and not third.records
    first.stop.set()
    second.thread.join(timeout=60)
    assert second.model is not None and len(second.records) == 2
    assert training.SLOTS.running == 0


def test_the_training_limit_defaults_to_the_cpu_count(monkeypatch):
    monkeypatch.delenv(training.MAX_TRAININGS_ENV, raising=False)
    assert training.max_trainings() == (os.cpu_count() or 1)
    monkeypatch.setenv(training.MAX_TRAININGS_ENV, "nonsense")
    assert training.max_trainings() == (os.cpu_count() or 1)


@needs_model
def test_a_waiting_training_says_so_on_the_train_page():
    release = threading.Event()
    job = TrainingJob(data=evil_choice(), max_epochs=5, waiting=True,
                      thread=threading.Thread(target=release.wait, daemon=True))
    job.thread.start()
    try:
        app = run_file(PAGES_DIR / "2_train.py", {JOB_KEY: job})
        assert training.WAITING_MESSAGE in [str(i.value) for i in app.info]
        assert by_label(app.button, "Cancel")
    finally:
        release.set()


@needs_model
def test_a_model_opened_during_training_is_kept_and_the_new_one_offered(evil):
    model, choice = evil
    mine = Workspace(model, choice, "kept model mine", "mine")
    finished = TrainingJob(data=choice, max_epochs=2, model=model, model_key=None)
    app = run_file(APP_DIR / "Home.py", {MODEL_KEY: mine, JOB_KEY: finished})
    assert not app.exception
    assert app.session_state[MODEL_KEY].key == "mine"  # the user's choice stays
    assert len(model_store.list_models()) == 1  # the new model is kept all the same
    by_label(app.button, "Use the newly trained model").click()
    app.run()
    assert app.session_state[MODEL_KEY].source == "trained in this session"
    assert not [b for b in app.button if b.label == "Use the newly trained model"]


@needs_model
def test_a_training_with_no_model_change_meanwhile_becomes_the_sessions_model(evil):
    model, choice = evil
    finished = TrainingJob(data=choice, max_epochs=2, model=model, model_key=None)
    app = run_file(APP_DIR / "Home.py", {JOB_KEY: finished})
    assert app.session_state[MODEL_KEY].source == "trained in this session"
    assert not [b for b in app.button if b.label == "Use the newly trained model"]


# 6. Uploads ---------------------------------------------------------------------------------

class Upload(io.BytesIO):
    def __init__(self, path: Path):
        super().__init__(path.read_bytes())
        self.name = path.name


def test_uploaded_files_are_deleted_once_read_even_when_reading_fails(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    csv = write_checklists(tmp_path / "in", n_sites=40, seed=1)
    data, _, _ = load_uploaded_data([Upload(csv), Upload(csv.with_suffix(".json"))])
    assert data.n_samples == 40
    bad = tmp_path / "bad.arff"
    bad.write_text("not arff")
    with pytest.raises(Exception):  # noqa: B017  (whatever the reader says)
        load_uploaded_data([Upload(bad)])
    assert list((tmp_path / "tmp").iterdir()) == []


def test_stale_upload_folders_are_swept(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    old, fresh, other = (tmp_path / n for n in ("cgmvae-upload-old", "cgmvae-upload-new", "x"))
    for folder in (old, fresh, other):
        folder.mkdir()
    os.utime(old, (time.time() - 7 * 3600,) * 2)
    os.utime(other, (time.time() - 7 * 3600,) * 2)
    assert sweep_stale_uploads() == [old]
    assert not old.exists() and fresh.exists() and other.exists()
