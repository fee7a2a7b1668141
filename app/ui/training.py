"""Training in a background thread that survives reruns and can be cancelled; at most
$CGMVAE_MAX_TRAININGS run at once per server, and one whose browser session is gone stops."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import streamlit as st
import torch
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.model import parameter_count
from cgmvae.predictor import TrainedModel
from cgmvae.timing import EpochEstimate, duration, estimate_epoch_time
from cgmvae.train import fit, resolve_device
from ui.loading import user_message
from ui.state import MODEL_KEY, DataChoice

JOB_KEY = "training_job"  # session_state key of this session's TrainingJob
MAX_TRAININGS_ENV = "CGMVAE_MAX_TRAININGS"  # default: one per CPU core
SESSION_GRACE_S = 60.0  # a session away this long (tab closed, not a network blip) is gone
WAITING_MESSAGE = "Another training is running on this server; yours starts when it ends."


def max_trainings() -> int:
    """How many trainings may run at once in this server process."""
    try:
        value = int(os.environ.get(MAX_TRAININGS_ENV, ""))
    except ValueError:
        value = 0
    return value if value >= 1 else (os.cpu_count() or 1)


class TrainingSlots:
    """At most `max_trainings()` fits at once in this process; the others wait in line."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.running = 0

    def acquire(self, give_up: Callable[[], bool]) -> bool:
        """Wait for a free slot and take it (True), or return False once `give_up()` is True."""
        with self._changed:
            while self.running >= max_trainings():
                if give_up():
                    return False
                self._changed.wait(timeout=0.2)
            self.running += 1
            return True

    def release(self) -> None:
        with self._changed:
            self.running -= 1
            self._changed.notify_all()


SLOTS = TrainingSlots()  # process-wide: every session's trainings share them


def session_is_active(session_id: str) -> bool:
    """Whether the browser session `session_id` is connected (True outside a Streamlit server,
    e.g. under AppTest, where there is no runtime to ask)."""
    if not runtime.exists():
        return True
    return runtime.get_instance().is_active_session(session_id)


@dataclass
class SessionWatch:
    """Whether the browser session that started a training has gone: away for `grace_s`."""

    session_id: str | None
    grace_s: float = SESSION_GRACE_S
    is_active: Callable[[str], bool] = session_is_active
    last_seen: float = field(default_factory=time.monotonic)

    @classmethod
    def current(cls) -> SessionWatch:
        ctx = get_script_run_ctx(suppress_warning=True)
        return cls(ctx.session_id if ctx is not None else None)

    def gone(self) -> bool:
        if self.session_id is None or self.is_active(self.session_id):
            self.last_seen = time.monotonic()
            return False
        return time.monotonic() - self.last_seen > self.grace_s


@dataclass
class TrainingJob:
    """One fit() running in a thread; the page polls `records` and reads `model` or `error`."""

    data: object  # ui.state.DataChoice
    max_epochs: int
    name_hint: str = "model"  # the kept model's name: data set and variant
    model_key: str | None = None  # the session's model (Workspace.key) when training started
    watch: SessionWatch = field(default_factory=lambda: SessionWatch(None))
    records: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    waiting: bool = False  # for a free slot
    abandoned: bool = False  # stopped because its browser session has gone
    model: TrainedModel | None = None
    error: str | None = None
    installed: bool = False  # the finished model was kept (and used, or offered)
    offered: object | None = None  # its Workspace, when the user had opened another model
    thread: threading.Thread | None = None
    batches_per_epoch: int = 1  # training steps in one epoch
    batches_done: int = 0  # in the epoch running now

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def progress(self) -> float:
        within = min(self.batches_done, self.batches_per_epoch) / self.batches_per_epoch
        return min(1.0, (len(self.records) + within) / max(1, self.max_epochs))

    def epoch_done(self, record: dict) -> None:
        """`fit`'s per-epoch callback: keep the record, start counting the next epoch's steps."""
        self.records.append(record)
        self.batches_done = 0

    def progress_text(self) -> str:
        """'Epoch 7 of up to 300 · 0.4 s per epoch · at most 2 min left' (from the epochs run),
        with 'epoch 8: batch 120 of 6,250' while a long epoch runs."""
        records = list(self.records)
        text = f"Epoch {len(records)} of up to {self.max_epochs}"
        if self.batches_done and self.batches_per_epoch > 1:
            text += (f" · epoch {len(records) + 1}: batch {self.batches_done:,} of "
                     f"{self.batches_per_epoch:,}")
        if records:
            per_epoch = sum(r["seconds"] for r in records) / len(records)
            left = per_epoch * (self.max_epochs - len(records))
            text += f" · {per_epoch:.2g} s per epoch · at most {duration(left)} left"
        return text

    def should_stop(self) -> bool:
        """Cancelled, or its session gone (then it also stops waiting for a slot)."""
        if not self.stop.is_set() and self.watch.gone():
            self.abandoned = True
            self.stop.set()
        return self.stop.is_set()


def start_training(choice, model_config: ModelConfig, train_config: TrainConfig,
                   name_hint: str = "model", watch: SessionWatch | None = None) -> TrainingJob:
    """Start fit() on `choice` (a DataChoice) in a daemon thread, once a slot is free."""
    job = TrainingJob(data=choice, max_epochs=train_config.max_epochs, name_hint=name_hint,
                      model_key=session_model_key(),
                      watch=watch if watch is not None else SessionWatch.current(),
                      batches_per_epoch=max(1, -(-choice.split.train.size
                                                 // train_config.batch_size)))

    def run() -> None:
        if not SLOTS.acquire(give_up=job.should_stop):
            job.waiting = False
            return
        job.waiting = False
        try:
            job.model = fit(choice.data, choice.split, model_config=model_config,
                            train_config=train_config, callbacks=[job.epoch_done],
                            should_stop=job.should_stop,
                            on_batch=lambda done: setattr(job, "batches_done", done))
        except Exception as err:  # any failure is shown on the page; the app lives on
            job.error = f"{type(err).__name__}: {user_message(err)}"
        finally:
            SLOTS.release()

    job.waiting = True
    job.thread = threading.Thread(target=run, name="cgmvae-training", daemon=True)
    job.thread.start()
    return job


def session_model_key() -> str | None:
    """The key of the model this session uses (None: the built-in one)."""
    return getattr(st.session_state.get(MODEL_KEY), "key", None)


def adopt_finished_training() -> bool:
    """Keep a just-finished training's model (once) and make it the session's model, unless the
    user opened another model meanwhile: then it is offered (`offer_trained_model`). True when
    this happened now."""
    from ui.model_store import keep_model

    job = st.session_state.get(JOB_KEY)
    if job is None or job.running or job.model is None or job.installed:
        return False
    job.installed = True  # first: keeping it writes files, and reruns must not keep it twice
    chosen, changed = st.session_state.get(MODEL_KEY), session_model_key() != job.model_key
    workspace = keep_model(job.model, "trained in this session", job.data,
                           name_hint=job.name_hint)
    if changed:  # never replace a model the user picked after pressing Train
        st.session_state.pop(MODEL_KEY, None)
        if chosen is not None:
            st.session_state[MODEL_KEY] = chosen
        job.offered = workspace
    return True


def offer_trained_model(key: str) -> None:
    """A note and a "Use the newly trained model" button while a finished model is offered."""
    job = st.session_state.get(JOB_KEY)
    if job is None or job.offered is None:
        return
    st.info("Your training ended after you opened another model, so the pages keep showing "
            "yours. The new model is kept (Train page, Kept models).", icon=":material/info:")
    st.button("Use the newly trained model", on_click=use_offered_model, key=key)


def use_offered_model() -> None:
    job = st.session_state.get(JOB_KEY)
    if job is not None and job.offered is not None:
        st.session_state[MODEL_KEY], job.offered = job.offered, None


def device_description() -> str:
    """Which device training uses ("auto": the GPU when PyTorch sees one)."""
    device = resolve_device("auto")
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''}); no CUDA GPU visible to PyTorch"


# The largest network the app trains: 100 million weights (0.4 GB, about 1.6 GB with Adam's state
# and gradients). The form's limits stay far below it (E 4096 on 1,000 labels is about 10 million);
# a configuration file can name any hidden size, and one the server cannot hold would end it. The
# same for the posterior samples decoded per row (not on the form; the authors' code decodes 2).
MAX_APP_PARAMETERS = 100_000_000
MAX_APP_LATENT_SAMPLES = 64


def settings_problem(choice: DataChoice, model_config: ModelConfig,
                     train_config: TrainConfig) -> str | None:
    """Why the app will not train these settings on the chosen data (a network or a step too
    large for a shared server), or None."""
    if train_config.latent_samples > MAX_APP_LATENT_SAMPLES:
        return (f"these settings decode {train_config.latent_samples:,} posterior samples per "
                f"row, more than the {MAX_APP_LATENT_SAMPLES} the app trains with; train them "
                "with `python -m cgmvae train --config` on a machine that holds them")
    count = parameter_count(replace(model_config, n_features=choice.data.n_features,
                                    n_labels=choice.data.n_labels))
    if count <= MAX_APP_PARAMETERS:
        return None
    return (f"these settings make a network of {count:,} weights on this data, more than the "
            f"{MAX_APP_PARAMETERS:,} the app trains; train it with `python -m cgmvae train "
            "--config` on a machine that holds it")


@st.cache_data(max_entries=8, show_spinner=False,
               hash_funcs={DataChoice: lambda choice: choice.fingerprint})
def epoch_estimate(choice: DataChoice, model_config: ModelConfig,
                   train_config: TrainConfig) -> EpochEstimate:
    """`cgmvae.timing.estimate_epoch_time`, once per data set and settings."""
    return estimate_epoch_time(choice.data, choice.split, model_config, train_config)


def expected_time_note(estimate: EpochEstimate) -> str:
    """What a run with these settings should cost, said before it starts."""
    start = (f"Expected time on this machine, with the settings the form opened with: about "
             f"{estimate.seconds_per_epoch:.2g} s per epoch (measured on a few batches), so ")
    least, most = duration(estimate.at_least_seconds), duration(estimate.at_most_seconds)
    if least == most:  # patience at least max epochs: every epoch runs
        return start + f"about {most} for {estimate.max_epochs} epochs."
    return (start + f"between {least} and {most}: early stopping ends the run "
            f"{estimate.patience} epochs after the best validation score, at the latest after "
            f"{estimate.max_epochs} epochs.")
