"""Time the app in a real browser: first render, page switches (optionally screenshots).

Usage: python benchmarks/app_speed.py [--screenshots DIR] [--data PATH] [--model CHECKPOINT]
Starts `streamlit run app/Home.py` on a free loopback port and drives Debian's Chromium with
Playwright; prints seconds per step. `--data` also loads that data set on the Data page and
times re-rendering its co-occurrence heatmap (e.g. ../shared/data/mulan/delicious, 983 labels);
`--model` loads a checkpoint on the Train page and times the Label correlations page.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["Overview", "Data", "Train", "Label correlations", "Label Gaussians", "Latent space",
         "Predictions", "Predict from CSV"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(timeout: float = 120.0):
    """`streamlit run app/Home.py` on a free loopback port; yields its URL once healthy."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/Home.py", "--server.port", str(port),
         "--server.address", "127.0.0.1"], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"streamlit not healthy after {timeout} s")


def wait_idle(page, timeout_ms: float = 120_000) -> None:
    """Until the script run is over: the app is rendered and no 'running' widget is shown."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.getAttribute('data-test-script-state') === 'notRunning'
                          && !document.querySelector('[data-testid="stSkeleton"]'); }""",
        timeout=timeout_ms)
    page.wait_for_timeout(150)  # let plotly finish drawing


def open_page(page, title: str) -> float:
    """Click a sidebar link and wait for the page; returns seconds."""
    started = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_selector(f'h1:has-text("{title if title != "Overview" else "C-GMVAE"}")')
    wait_idle(page)
    return time.perf_counter() - started


def launch(playwright):
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--data")
    parser.add_argument("--model")
    args = parser.parse_args()
    with streamlit_server() as url, sync_playwright() as playwright:
        browser = launch(playwright)
        height = 2600 if args.screenshots else 1000  # Streamlit scrolls inside: a tall window
        page = browser.new_page(viewport={"width": 1500, "height": height})
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector('h1:has-text("C-GMVAE")', timeout=120_000)
        print(f"first render, title and text shown: {time.perf_counter() - started:.2f} s")
        wait_idle(page)
        print(f"first render, page complete: {time.perf_counter() - started:.2f} s")
        for round_ in (1, 2):
            for title in PAGES[1:] + PAGES[:1]:
                print(f"switch to {title} (visit {round_}): {open_page(page, title):.2f} s")
                if args.screenshots and round_ == 2:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    name = title.lower().replace(" ", "_")
                    page.screenshot(path=str(args.screenshots / f"{name}.png"))
        if args.data:
            time_big_heatmap(page, args.data)
        if args.model:
            time_model_heatmap(page, args.model)
        browser.close()
    return 0


def enter_path(page, page_title: str, tab: str, field_label: str, path: str) -> None:
    """Open `page_title`, switch to `tab`, type `path` into the field and submit it."""
    open_page(page, page_title)
    page.get_by_role("tab", name=tab).click()
    field = page.get_by_role("textbox", name=field_label)
    field.fill(path)
    field.press("Enter")
    wait_idle(page)


def time_big_heatmap(page, data_path: str) -> None:
    """Load a data set on the Data page, then time re-rendering the page with its heatmap."""
    enter_path(page, "Data", "Path on the server", "Data path on the server", data_path)
    started = time.perf_counter()
    page.get_by_role("button", name="Load", exact=True).first.click()
    name = Path(data_path).name.split(".")[0]
    page.locator("h3", has_text=f"{name}:").wait_for(timeout=900_000)
    wait_idle(page, timeout_ms=900_000)
    print(f"load {data_path} + first heatmap: {time.perf_counter() - started:.2f} s")
    print(f"Data page again (cached data, heatmap redrawn): {open_page(page, 'Data'):.2f} s")


def time_model_heatmap(page, checkpoint: str) -> None:
    """Load a checkpoint on the Train page, then time the Label correlations page with it."""
    enter_path(page, "Train", "Load a checkpoint", "...or a checkpoint path on the server",
               checkpoint)
    page.get_by_role("button", name="Load checkpoint").click()
    wait_idle(page)
    for visit in (1, 2):
        print(f"Label correlations with {Path(checkpoint).name} (visit {visit}): "
              f"{open_page(page, 'Label correlations'):.2f} s")
        open_page(page, "Overview")


if __name__ == "__main__":
    sys.exit(main())
