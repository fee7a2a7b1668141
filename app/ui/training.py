"""Training in a background thread that survives reruns and can be cancelled."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st
import torch

from cgmvae.model import ModelConfig
from cgmvae.predictor import TrainedModel
from cgmvae.train import TrainConfig, fit, resolve_device

JOB_KEY = "training_job"  # session_state key of this session's TrainingJob


@dataclass
class TrainingJob:
    """One fit() running in a thread; the page polls `records` and reads `model` or `error`."""

    data: object  # ui.state.DataChoice
    max_epochs: int
    name_hint: str = "model"  # the kept model's name: data set and variant
    records: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    model: TrainedModel | None = None
    error: str | None = None
    installed: bool = False  # the finished model became the session's model
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def progress(self) -> float:
        return len(self.records) / max(1, self.max_epochs)


def start_training(choice, model_config: ModelConfig, train_config: TrainConfig,
                   name_hint: str = "model") -> TrainingJob:
    """Start fit() on `choice` (a DataChoice) in a daemon thread and return its job."""
    job = TrainingJob(data=choice, max_epochs=train_config.max_epochs, name_hint=name_hint)

    def run() -> None:
        try:
            job.model = fit(choice.data, choice.split, model_config=model_config,
                            train_config=train_config, callbacks=[job.records.append],
                            should_stop=job.stop.is_set)
        except Exception as err:  # noqa: BLE001  (any failure is shown on the page; the app lives on)
            job.error = f"{type(err).__name__}: {err}"

    job.thread = threading.Thread(target=run, name="cgmvae-training", daemon=True)
    job.thread.start()
    return job


def adopt_finished_training() -> bool:
    """Make a just-finished training the session's model (once); True when it happened now."""
    from ui.model_store import keep_model

    job = st.session_state.get(JOB_KEY)
    if job is None or job.running or job.model is None or job.installed:
        return False
    job.installed = True  # first: keeping it writes files, and reruns must not keep it twice
    keep_model(job.model, "trained in this session", job.data, name_hint=job.name_hint)
    return True


def device_description() -> str:
    """Which device training uses ("auto": the GPU when PyTorch sees one)."""
    device = resolve_device("auto")
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''}); no CUDA GPU visible to PyTorch"
