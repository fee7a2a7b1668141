"""Training progress on the command line: epochs done, loss, validation score and time left."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from tqdm import tqdm

if TYPE_CHECKING:
    from typing_extensions import Self


class EpochProgress:
    """A `fit` callback showing each epoch's training loss and validation score, and the time
    left if every epoch runs (early stopping usually ends sooner).

    On a terminal it is one tqdm bar redrawn in place; elsewhere (a log file, CI) it writes plain
    lines, the first epoch's and every `log_every`-th, without carriage returns, each starting
    with `prefix` ("trial 3: "). Use it as a context manager (or call `close`) so that the output
    ends cleanly.
    """

    def __init__(self, *, file: TextIO | None = None, log_every: int = 10, prefix: str = ""):
        self.file = file if file is not None else sys.stderr
        self.log_every, self.prefix = log_every, prefix
        self.interactive = self.file.isatty()
        self.bar: tqdm | None = None
        self.seconds = 0.0  # spent in the epochs so far
        self.unlogged: dict | None = None  # the last record, until a plain line shows it

    def __call__(self, record: dict) -> None:
        self.seconds += record["seconds"]
        if self.interactive:
            self._draw(record)
        elif record["epoch"] == 1 or record["epoch"] % self.log_every == 0:
            self._log(record)
        else:
            self.unlogged = record

    def _draw(self, record: dict) -> None:
        if self.bar is None:
            self.bar = tqdm(total=record["max_epochs"], unit="epoch", file=self.file,
                            dynamic_ncols=True, desc=self.prefix.rstrip(": ") or None)
        self.bar.set_postfix(scores(record), refresh=False)
        self.bar.update(1)

    def _log(self, record: dict) -> None:
        epoch, total = record["epoch"], record["max_epochs"]
        per_epoch = self.seconds / epoch
        shown = ", ".join(f"{name} {value:.4f}" for name, value in scores(record).items())
        print(f"{self.prefix}epoch {epoch}/{total}: {shown}; {per_epoch:.2f} s/epoch, at most "
              f"{tqdm.format_interval(per_epoch * (total - epoch))} left",
              file=self.file, flush=True)
        self.unlogged = None

    def close(self) -> None:
        """End the bar with a new line, or write the last epoch's line if it is not written."""
        if self.bar is not None:
            self.bar.close()
        elif self.unlogged is not None:
            self._log(self.unlogged)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def scores(record: dict) -> dict[str, float]:
    """The training loss and the first validation score of a `fit` record (the one that
    selects the epoch: `cgmvae.train.validate` puts it first; micro-F1 when selecting by loss)."""
    name = next(k for k in record if k.startswith("val_") and k != "val_loss")
    return {"loss": record["train_loss"], name: record[name]}
