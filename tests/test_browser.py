"""End to end in a real browser: `streamlit run app/Home.py` driven by Debian's Chromium."""

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from benchmarks.app_speed import PAGES, launch, open_page, streamlit_server, wait_idle
from cgmvae.simulate import write_checklists

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None,
                       reason="chromium not installed (apt-get install -y chromium)"),
]
ARTIFACTS = Path(os.environ.get("CGMVAE_ARTIFACTS", tempfile.gettempdir())) / "cgmvae-browser"


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with streamlit_server() as url, sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(url)
        wait_idle(tab)
        yield tab
        browser.close()


@pytest.fixture
def screenshot_on_failure(page, request):
    """Save a screenshot under ARTIFACTS when the test fails (conftest records `rep_call`)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot saved to {path}")


def assert_no_exception(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()}"


@pytest.mark.usefixtures("screenshot_on_failure")
def test_every_page_renders_without_an_exception(page):
    for title in PAGES[1:] + PAGES[:1]:
        open_page(page, title)
        assert_no_exception(page, title)
    open_page(page, "Label correlations")
    assert page.locator(".js-plotly-plot").count() == 1  # the chosen layer's heatmap
    page.get_by_text("Residual", exact=True).click()
    wait_idle(page)
    page.get_by_text("Residual: association beyond the covariates.").wait_for(timeout=60_000)
    assert_no_exception(page, "Label correlations, residual layer")


@pytest.mark.usefixtures("screenshot_on_failure")
def test_uploading_a_csv_shows_the_predictions_table(page, tmp_path):
    csv_path = write_checklists(tmp_path, n_sites=25, seed=4)
    open_page(page, "Predict from CSV")
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    uploader.set_input_files(str(csv_path))  # the first box: the further files' is in an expander
    page.get_by_text("Scored 25 rows").wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page, "Predict from CSV")
    assert page.locator('[data-testid="stDataFrame"]').count() == 1


@pytest.mark.usefixtures("screenshot_on_failure")
def test_training_shows_live_progress_and_hands_the_model_to_the_session(page):
    open_page(page, "Train")
    page.get_by_role("spinbutton", name="Max epochs").fill("3")
    page.get_by_role("button", name="Train").click()
    # the fragment polls every second: a fast machine may finish before the first poll
    page.get_by_text(re.compile(r"Epoch \d of up to 3|Trained: best epoch")).first.wait_for(
        timeout=120_000)
    page.get_by_text("Trained: best epoch").wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_exception(page, "Train")
    assert "trained in this session" in page.locator('[data-testid="stSidebar"]').inner_text()
    page.get_by_role("button", name="Back to the built-in model").click()
    wait_idle(page)


@pytest.mark.usefixtures("screenshot_on_failure")
def test_a_training_that_fails_says_why_without_a_click(page):
    """The fragment that polls a running training redraws the whole page when it ends: a failure
    (the form's top learning rate makes the loss NaN at once) shows without the user doing
    anything, and the session keeps its model."""
    open_page(page, "Train")
    page.get_by_role("spinbutton", name="Max epochs").fill("3")
    page.get_by_role("spinbutton", name="Learning rate").fill("1.0")
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Training failed: TrainingDiverged").wait_for(timeout=120_000)
    assert 'a lower learning rate ("Learning rate") usually trains' in page.locator(
        '[data-testid="stAlert"]').first.inner_text()
    assert "built-in model" in page.locator('[data-testid="stSidebar"]').inner_text()


def drag_path(tool: str, x: float, y: float, radius: float) -> list[tuple[float, float]]:
    """Where the mouse goes with the button down: a box's diagonal, or a lasso's circle."""
    if tool == "Box Select":
        return [(x - radius, y - radius), (x, y), (x + radius, y + radius)]
    turns = np.linspace(0.0, 2 * np.pi, 41)
    return [(x + radius * np.cos(t), y + radius * np.sin(t)) for t in turns]


@pytest.mark.usefixtures("screenshot_on_failure")
@pytest.mark.parametrize("tool", ["Box Select", "Lasso Select"])
def test_selecting_on_the_latent_space_lists_the_selected_samples(page, tool):
    open_page(page, "Overview")  # leaving the page drops an earlier selection
    open_page(page, "Latent space")
    page.get_by_text("No samples selected.").wait_for(timeout=60_000)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    chart.locator(f'.modebar-btn[data-title="{tool}"]').click()
    area = chart.locator(".nsewdrag").first.bounding_box()
    x, y = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    path = drag_path(tool, x, y, min(area["width"], area["height"]) / 4)
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*point, steps=3)
    page.mouse.up()
    page.get_by_text(re.compile(r"[\d,]+ selected samples")).wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page, "Latent space after a box selection")
    table = page.locator('[data-testid="stDataFrame"]')
    assert table.count() == 1 and table.first.is_visible()


@pytest.mark.usefixtures("screenshot_on_failure")
def test_a_csv_without_sidecar_uploads_with_its_guessed_column_roles(page, tmp_path):
    csv_path = write_checklists(tmp_path, n_sites=30, seed=6)
    csv_path.with_suffix(".json").unlink()
    open_page(page, "Data")
    page.get_by_role("tab", name="Upload").click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Data files")
    uploader.locator('input[type="file"]').set_input_files(str(csv_path))
    wait_idle(page)
    page.locator("button:visible", has_text=re.compile(r"^Load$")).click()
    page.get_by_role("button", name="Use these columns").wait_for(timeout=60_000)
    wait_idle(page)
    assert "Parus" not in page.inner_text("body") and "label_prefix" not in page.inner_text("body")
    page.get_by_role("button", name="Use these columns").click()
    page.get_by_text("uploaded sim_birds.csv, a seeded random 80/10/10 split").wait_for(
        timeout=60_000)
    wait_idle(page)
    assert page.get_by_test_id("stMetricValue").first.inner_text() == "30"  # samples
    assert page.get_by_role("button", name="Use these columns").count() == 0
    assert_no_exception(page, "Data page after accepting the guessed columns")
    page.get_by_role("tab", name="Built-in").click()
    page.get_by_role("button", name="Use the built-in data set").click()
    wait_idle(page)
