"""Import the heavy libraries of the other pages in the background after the first render."""

from __future__ import annotations

import importlib
import threading

MODULES = ("cgmvae.explore", "scipy.stats", "sklearn.metrics", "cgmvae.formats")
_started = threading.Event()


def warm_up_in_background() -> None:
    """Once per server process: import MODULES in a daemon thread, so that the first visit of
    a page does not wait for them (plotly, scipy, scikit-learn: seconds on a small CPU)."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_import_all, name="cgmvae-warm-up", daemon=True).start()


def _import_all() -> None:
    for name in MODULES:
        importlib.import_module(name)
