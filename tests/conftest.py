"""Shared fixtures: paths, and the app folder on sys.path (pages import its `ui` helpers)."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "app"
PAGES_DIR = ROOT / "pages"
SHARED_DATA = ROOT.parent / "shared" / "data"

# `streamlit run app/Home.py` puts app/ on sys.path; AppTest on a page file alone does not.
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))


@pytest.fixture(autouse=True)
def kept_models_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """Models the app keeps (runs/ by default) go to a temporary folder during tests."""
    monkeypatch.setenv("CGMVAE_MODEL_DIR", str(tmp_path_factory.mktemp("kept-models")))


@pytest.fixture(autouse=True)
def typed_paths_allowed_in_temporary_folders(tmp_path_factory, monkeypatch):
    """The app reads typed paths only inside CGMVAE_DATA_ROOTS; tests use pytest's temp folder."""
    monkeypatch.setenv("CGMVAE_DATA_ROOTS", os.pathsep.join(
        [str(ROOT), str(SHARED_DATA), str(tmp_path_factory.getbasetemp())]))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip saying it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (`item.rep_call.failed`), for fixtures that
    save artifacts such as screenshots when a test fails."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())
