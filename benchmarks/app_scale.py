"""The app at scale: each page's first and second render, 1,000,000 sites x 500 species.

Usage: python -m benchmarks.app_scale [--sites 1000000] [--species 500] [--fit-rows 20000]
       [--no-layers] [--runs 1] [--timeout 600] [--out benchmarks/results/app_scale.csv]

The data set is simulated in memory by `cgmvae.simulate.simulate_checklists` (the sites and
species of `cgmvae simulate --sites --species`), with the app's 80/10/10 split. The model is a
real `TrainedModel` made by `cgmvae.train.fit` with ONE epoch on the first `--fit-rows` sites
(500 species, its learned association and tuned thresholds; its quality is not the point).

Each page of `app/Home.py` is opened through Streamlit's AppTest in a fresh session holding that
model and data set, as after loading them on the Data and Train pages (what loading costs is
benchmarks/scale.py's subject, not this one). "first": the first render of the page in a
session, pages visited in the sidebar's order after every cache was cleared; "second": the same
session run again (a rerun, e.g. after a widget change that the page does not depend on). A few
interactions are timed after them (the Jaccard co-occurrence, counting every site's pairs, a
zoom to a group, the data layers of the associations on their sample of training sites, UMAP on
its sample). Every row
records the 1-minute load average before it: on a shared machine it says what else was running.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks.results_io import RowWriter

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "app" / "Home.py"
PAGES = [("Overview", "0_overview.py"), ("Data", "1_data.py"), ("Train", "2_train.py"),
         ("Label correlations", "3_label_correlations.py"),
         ("Label Gaussians", "4_label_gaussians.py"), ("Latent space", "5_latent_space.py"),
         ("Predictions", "6_predictions.py"), ("Predict from CSV", "7_predict_from_csv.py")]
COLUMNS = ("page", "render", "seconds", "n_sites", "n_species", "load_average", "note")
TARGET_S = 3.0  # issue 12: every page answers in under 3 s


def simulated_workspace(n_sites: int, n_species: int, fit_rows: int):
    """(Workspace, DataChoice): the simulated data set and a one-epoch model of its species."""
    from ui.state import DataChoice, Workspace

    from cgmvae.config import TrainConfig
    from cgmvae.data import MultiLabelData, random_split
    from cgmvae.simulate import simulate_checklists
    from cgmvae.train import fit

    started = time.perf_counter()
    data = simulate_checklists(n_sites, n_species=n_species)
    print(f"simulated {n_sites:,} sites x {n_species} species: "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    subset = MultiLabelData(data.features[:fit_rows], data.labels[:fit_rows], data.feature_names,
                            data.label_names, name=data.name)
    model = fit(subset, random_split(fit_rows), train_config=TrainConfig(max_epochs=1))
    print(f"one-epoch model on {fit_rows:,} sites: {time.perf_counter() - started:.1f} s",
          flush=True)
    started = time.perf_counter()
    choice = DataChoice(data, random_split(n_sites), f"simulated, {n_sites:,} sites", "scale-data")
    workspace = Workspace(model, choice, "one-epoch model (benchmark)", "scale-model")
    print(f"fingerprints of the data set and the model: {time.perf_counter() - started:.1f} s",
          flush=True)
    return workspace, choice


def new_session(workspace, choice, timeout: float):
    """An AppTest of the whole app (sidebar included) holding the model and the data set."""
    from streamlit.testing.v1 import AppTest
    from ui.state import DATA_KEY, MODEL_KEY

    app = AppTest.from_file(str(HOME), default_timeout=timeout)
    app.session_state[MODEL_KEY] = workspace
    app.session_state[DATA_KEY] = choice
    return app


def timed(app, action=None) -> float:
    """Seconds of one script run (after `action(app)`, a widget change); fails on any error."""
    started = time.perf_counter()
    (action(app) if action is not None else app).run()
    seconds = time.perf_counter() - started
    problems = [e.value for e in app.exception] + [e.value for e in app.error]
    if problems:
        raise RuntimeError(f"the page failed: {problems}")
    return seconds


def widget(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    if not found:
        raise RuntimeError(f"the page shows no widget labelled {label!r}")
    return found[0]


INTERACTIONS = [  # (page file, what is done, the widget change)
    ("1_data.py", "co-occurrence measure: Jaccard",
     lambda app: widget(app.radio, "Measure").set_value("jaccard")),
    ("1_data.py", "count all sites' pairs",
     lambda app: next(b for b in app.button if b.label.startswith("Count all")).click()),
    ("3_label_correlations.py", "zoom to group 1",
     lambda app: widget(app.selectbox, "Zoom to").set_value(1)),
    ("3_label_correlations.py", "compute the data layers",
     lambda app: widget(app.button, "Compute the data layers").click()),
    ("5_latent_space.py", "projection: UMAP",
     lambda app: widget(app.radio, "Projection").set_value("umap")),
]


def run(args: argparse.Namespace) -> list[dict]:
    """Time every page and interaction `args.runs` times (every cache cleared before each run);
    writes and returns one row per step: the median, with each run's seconds in its note."""
    import statistics

    import streamlit as st

    import cgmvae.explore  # noqa: F401  (plotly, scipy: imported once, as the app's warm-up does)

    workspace, choice = simulated_workspace(args.sites, args.species, args.fit_rows)
    steps: dict[tuple[str, str, str], list[float]] = {}  # (page, render, note) -> seconds
    loads: dict[tuple[str, str, str], float] = {}
    for number in range(1, args.runs + 1):
        st.cache_data.clear()
        for page, render, seconds, note in one_run(workspace, choice, args):
            steps.setdefault((page, render, note), []).append(seconds)
            loads[page, render, note] = max(loads.get((page, render, note), 0.0),
                                            round(os.getloadavg()[0], 2))
            flag = "" if seconds < TARGET_S else f"  (over {TARGET_S:g} s)"
            print(f"run {number}: {page:20s} {render:40s} {seconds:6.2f} s{flag}", flush=True)
    writer = RowWriter(args.out, COLUMNS)
    rows = []
    for (page, render, note), seconds in steps.items():
        runs = " ".join(f"{s:.2f}" for s in seconds)
        row = {"page": page, "render": render, "seconds": round(statistics.median(seconds), 2),
               "n_sites": args.sites, "n_species": args.species,
               "load_average": loads[page, render, note],
               "note": "; ".join(filter(None, [note, f"runs: {runs}" if len(seconds) > 1
                                              else ""]))}
        writer.write(row)
        rows.append(row)
    return rows


def one_run(workspace, choice, args: argparse.Namespace):
    """(page, render, seconds, note) of each page's first and second render, then of each
    interaction, first time and again, in fresh sessions."""
    sessions = {}
    for title, page in PAGES:
        app = new_session(workspace, choice, args.timeout)
        app.run()  # the default page first: the session exists, as after a click in the sidebar
        try:  # a page that fails is a row that says so, not the end of the benchmark
            yield title, "first", timed(app.switch_page(f"../pages/{page}")), ""
            yield title, "second", timed(app), ""
        except RuntimeError as err:
            yield title, "first", float("nan"), str(err)
            continue
        sessions[page] = app
    for page, what, action in INTERACTIONS:
        if page not in sessions or (args.no_layers and what == "compute the data layers"):
            continue
        title = {p: t for t, p in PAGES}[page]
        try:
            yield title, what, timed(sessions[page], action), "first time"
            yield title, what, timed(sessions[page]), "again"
        except RuntimeError as err:
            yield title, what, float("nan"), str(err)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--species", type=int, default=500)
    parser.add_argument("--fit-rows", type=int, default=20_000)
    parser.add_argument("--no-layers", action="store_true",
                        help="skip the association layers' computation (about 20 s at 500 species)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per script run")
    parser.add_argument("--runs", type=int, default=1,
                        help="times every step is measured (the rows give the median)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "app_scale.csv")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "app"))  # the pages import `ui` as `streamlit run` allows
    rows = run(args)
    slow = [f"{r['page']} ({r['render']}): {r['seconds']} s" for r in rows
            if r["seconds"] >= TARGET_S]
    print(f"over {TARGET_S:g} s: {', '.join(slow) if slow else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
