"""The README's "your own data" walkthrough in a real browser, screenshots in docs/screenshots/.

Usage: python docs/walkthrough.py [--data ../shared/data/ecology/swiss_birds] [--epochs N]

It writes an ecologist's files from the Swiss breeding-bird survey into a temporary folder, the
way they come out of a spreadsheet or a database:
- `alpine_birds.csv`: one table, `;`-separated with decimal commas (a European Excel export), no
  sidecar, so the app must guess which columns are species;
- `quadrats_species.csv` + `quadrats_habitat.csv`: species and covariates in two tables that
  share the `site` column (the way R's JSDM packages take Y and X);
- the eBird fixture of the tests (`tests/fixtures/ebird/`: observations + sampling events);
- `mhb_records.csv`: the same survey as occurrence records, one row per species detected at a
  quadrat with its detection count, the quadrat's covariates repeated on each row (as a database
  export or a GBIF download gives them);
- `new_quadrats.csv`: covariates of sites to predict, with their ids.
Then it drives `streamlit run app/Home.py` with Chromium through each path: load, pick the
columns, train, look at the species associations, predict for the new sites. It fails loudly
when a page shows an exception, so it doubles as an end-to-end check of the whole path.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# E402: a script run by path finds `benchmarks` only once the repository root is on sys.path
from benchmarks.app_speed import launch, open_page, streamlit_server, wait_idle  # noqa: E402

SHOTS = ROOT / "docs" / "screenshots"
EBIRD = ROOT / "tests" / "fixtures" / "ebird"


def write_user_files(data_dir: Path, folder: Path) -> dict[str, Path]:
    """The survey as an ecologist would have it, split into the shapes the walkthrough loads."""
    frame = pd.read_csv(next(data_dir.glob("*.csv")))
    covariates = ["coordx", "coordy", "elev", "rlength", "nsurvey", "forest"]
    species = [c for c in frame.columns if c not in covariates and c != "site"]
    known, new = frame.iloc[:240], frame.iloc[240:]
    files = {"one_table": folder / "alpine_birds.csv",
             "species": folder / "quadrats_species.csv",
             "habitat": folder / "quadrats_habitat.csv",
             "records": folder / "mhb_records.csv",
             "new_sites": folder / "new_quadrats.csv"}
    known.to_csv(files["one_table"], sep=";", decimal=",", index=False)
    known[["site", *species]].to_csv(files["species"], index=False)
    known[["site", *covariates]].to_csv(files["habitat"], index=False)
    new[["site", *covariates]].to_csv(files["new_sites"], index=False)
    records = known.melt(id_vars=["site", *covariates], value_vars=species, var_name="species",
                         value_name="detections")
    records = records[records.detections > 0].sort_values(["site", "species"])
    records[["site", "species", "detections", *covariates]].to_csv(files["records"], index=False)
    return files


def shoot(page, name: str) -> None:
    failures = page.locator('[data-testid="stException"]')
    if failures.count():
        raise SystemExit(f"{name}: the page shows an exception: {failures.first.inner_text()}")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    print(f"  {name}.png")


def upload(page, files: list[Path], index: int = 0) -> None:
    page.locator('[data-testid="stFileUploader"] input[type="file"]').nth(index).set_input_files(
        [str(f) for f in files])
    wait_idle(page)


def walk(page, files: dict[str, Path], epochs: int | None) -> None:
    print("two tables joined on their site id")
    open_page(page, "Data")
    page.get_by_role("tab", name="Two tables").click()
    wait_idle(page)
    tab = page.get_by_role("tabpanel", name="Two tables")
    tab.locator('[data-testid="stFileUploader"] input[type="file"]').nth(0).set_input_files(
        str(files["species"]))
    wait_idle(page)
    tab.locator('[data-testid="stFileUploader"] input[type="file"]').nth(1).set_input_files(
        str(files["habitat"]))
    wait_idle(page)
    page.get_by_role("button", name="Join and load").click()
    page.locator("h3", has_text="quadrats_species").first.wait_for(timeout=120_000)
    wait_idle(page)
    shoot(page, "02_two_tables")

    print("eBird: observations + sampling events, zero-filled")
    page.get_by_role("tab", name="eBird").click()
    wait_idle(page)
    tab = page.get_by_role("tabpanel", name="eBird")
    inputs = tab.locator('[data-testid="stFileUploader"] input[type="file"]')
    inputs.nth(0).set_input_files(str(EBIRD / "observations.txt"))
    wait_idle(page)
    inputs.nth(1).set_input_files(str(EBIRD / "sampling.txt"))
    wait_idle(page)
    page.get_by_role("button", name="Zero-fill and load").click()
    page.get_by_text("complete checklists x").first.wait_for(timeout=120_000)
    wait_idle(page)
    shoot(page, "03_ebird")

    print("occurrence records, zero-filled")
    page.get_by_role("tab", name="Records").click()
    wait_idle(page)
    tab = page.get_by_role("tabpanel", name="Records")
    tab.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(files["records"]))
    wait_idle(page)
    tab.get_by_role("button", name="Zero-fill and load").click()
    page.get_by_text("sites x").first.wait_for(timeout=120_000)
    wait_idle(page)
    shoot(page, "03b_records")

    print("one ;-separated table with decimal commas and no sidecar")
    page.get_by_role("tab", name="Upload").click()
    wait_idle(page)
    page.get_by_role("tabpanel", name="Upload").locator(
        'input[type="file"]').set_input_files(str(files["one_table"]))
    wait_idle(page)
    page.get_by_role("tabpanel", name="Upload").get_by_role("button", name="Load",
                                                            exact=True).click()
    use_columns = page.get_by_role("button", name="Use these columns")
    use_columns.wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_text("Species (label) columns").first.scroll_into_view_if_needed()
    shoot(page, "01_guessed_columns")
    use_columns.click()
    use_columns.wait_for(state="detached", timeout=120_000)  # not the editor's own heading
    page.locator("h3", has_text="alpine_birds").first.wait_for(timeout=120_000)
    wait_idle(page)

    print("train with the default settings (early stopping decides)" if epochs is None
          else f"train ({epochs} epochs at most)")
    open_page(page, "Train")
    if epochs is not None:
        page.get_by_role("spinbutton", name="Max epochs").fill(str(epochs))
    page.get_by_role("button", name="Train", exact=True).click()
    trained = page.locator('[data-testid="stAlert"]').filter(has_text="Trained").first
    trained.wait_for(timeout=600_000)
    wait_idle(page)
    trained.scroll_into_view_if_needed()
    shoot(page, "04_trained")

    print("species associations")
    open_page(page, "Label correlations")
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    wait_idle(page)
    heatmap = page.locator(".js-plotly-plot").first
    heatmap.scroll_into_view_if_needed()
    shoot(page, "05_associations")
    page.get_by_text("Residual", exact=True).click()
    wait_idle(page)
    heatmap.scroll_into_view_if_needed()
    shoot(page, "06_residual")

    print("predictions for new sites")
    open_page(page, "Predict from CSV")
    upload(page, [files["new_sites"]])
    page.get_by_text("Scored").first.wait_for(timeout=120_000)
    wait_idle(page)
    shoot(page, "07_predictions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared/data/ecology/swiss_birds")
    parser.add_argument("--epochs", type=int, default=None,
                        help="max epochs (default: the app's, early stopping decides)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data} not found: give --data, a folder holding the Swiss bird CSV")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cgmvae-walkthrough-") as folder:
        files = write_user_files(args.data, Path(folder))
        os.environ.setdefault("CGMVAE_MODEL_DIR", str(Path(folder) / "models"))
        with streamlit_server() as url, sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            wait_idle(page)
            try:
                walk(page, files, args.epochs)
            except Exception:
                page.screenshot(path=str(SHOTS / "failed.png"), full_page=True)
                print(f"failed: the page at that moment is {SHOTS / 'failed.png'}")
                raise
            browser.close()
    print(f"screenshots in {SHOTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
