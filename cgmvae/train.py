"""Training: fit -> fit_loop -> run_epoch -> train_step, validation every epoch, model selection,
early stopping; in one process or in several (`cgmvae.distributed`)."""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from cgmvae import metrics
from cgmvae.associations import fit_temperature, model_layers
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split, Standardizer
from cgmvae.distributed import SINGLE, Context
from cgmvae.extrapolation import novelty_metric
from cgmvae.losses import total_loss
from cgmvae.model import CGMVAE
from cgmvae.optim import (FUSED_DEVICES, FusedAdam, WeightAverage, cosine_restart_rate,
                          set_learning_rate)
from cgmvae.predictor import TrainedModel

Callback = Callable[[dict], None]


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite before any epoch could be kept (too high a
    learning rate, most often)."""
Optimizer = FusedAdam | torch.optim.Optimizer
# epoch number -> that epoch's mini-batches (features float32, labels uint8 or float32) of this
# rank: TensorBatches in memory, streaming.ParquetBatches from disk
Batches = Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; an explicit 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU")
    return torch.device(name)


def train_step(model: nn.Module, optimizer: Optimizer, x: torch.Tensor, y: torch.Tensor,
               config: TrainConfig) -> torch.Tensor:
    """One optimiser step on one mini-batch (`model`: a CGMVAE, or one wrapped in DDP, whose
    backward pass averages the gradients of all ranks); returns the batch's total loss (still on
    the device, so that a GPU is not synchronised after every step)."""
    optimizer.zero_grad(set_to_none=True)
    terms = total_loss(model(x, y, config.latent_samples), x, y, config.loss)
    terms.total.backward()
    optimizer.step()
    return terms.total.detach()


class TensorBatches:
    """In-memory training rows as mini-batches, epoch after epoch: a fresh order drawn from
    `generator` (the same on every rank, which share its seed), this rank's share of it as
    DistributedSampler would take it.

    Labels stay as they are stored (uint8) until `run_epoch` moves a batch to the device.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, batch_size: int,
                 generator: torch.Generator, context: Context = SINGLE):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.generator, self.context = generator, context

    def __call__(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(self.x.shape[0], generator=self.generator)
        order = self.context.shard(order).to(self.x.device)
        for batch in order.split(self.batch_size):
            yield self.x[batch], self.y[batch]


def run_epoch(model: nn.Module, optimizer: Optimizer,
              batches: Iterable[tuple[torch.Tensor, torch.Tensor]], config: TrainConfig,
              averaged: WeightAverage | None, context: Context = SINGLE,
              on_batch: Callable[[int], None] | None = None) -> float:
    """One pass over this rank's mini-batches; returns the mean batch loss over all ranks.
    `on_batch(k)` is called after the k-th step (progress within a long epoch)."""
    model.train()
    network = unwrapped(model)
    device = next(network.parameters()).device
    losses = []
    with context.join(model):  # streamed row groups may give ranks unequal batch counts
        for x, y in batches:
            if len(x) < 2:  # a one-row batch (an epoch's last) makes no useful step
                continue
            x = x.to(device, non_blocking=True)
            y = y.to(device, dtype=torch.float32, non_blocking=True)  # uint8 until here
            losses.append(train_step(model, optimizer, x, y, config))
            if averaged is not None:
                averaged.update(network)
            if on_batch is not None:
                on_batch(len(losses))
    total = float(torch.stack(losses).sum()) if losses else 0.0
    return context.mean(total, len(losses))


def unwrapped(model: nn.Module) -> CGMVAE:
    """The CGMVAE inside a DistributedDataParallel wrapper (or the network itself)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


@torch.no_grad()
def logits_in_batches(network: CGMVAE, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """`network.feature_logits` of standardized rows already on the device, `batch_size` at a
    time (validation; `TrainedModel.predict_logits` is the same from raw numpy features)."""
    network.eval()
    return torch.cat([network.feature_logits(chunk) for chunk in x.split(batch_size)])


def validate(network: CGMVAE, x: torch.Tensor, y: torch.Tensor, config: TrainConfig) -> dict:
    """Validation cross-entropy, micro- and macro-F1 (each at its best validation threshold) and
    mean per-label ROC-AUC; the selection metric's score comes first (the progress bar shows it)."""
    logits = logits_in_batches(network, x, config.eval_batch_size)
    val_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float()).item()
    proba, truth = torch.sigmoid(logits).cpu().numpy(), y.cpu().numpy()
    grid, curves = metrics.threshold_curves(truth, proba)
    scores = {"val_micro_f1": float(curves["micro_f1"].max()),
              "val_macro_f1": float(curves["macro_f1"].max()),
              "val_mean_auc": metrics.mean_label_auc(truth, proba)}
    selected = f"val_{config.selection_metric}"
    scores = {selected: scores[selected], **scores} if selected in scores else scores
    threshold_of = config.selection_metric if config.selection_metric in curves else "micro_f1"
    return {"val_loss": val_loss, **scores,
            "threshold": float(grid[np.argmax(curves[threshold_of])])}


def selection_score(history: list[dict], config: TrainConfig) -> float:
    """The last epoch's selection score, higher is better: `config.selection_metric` (negated for
    `val_loss`) averaged over the last `config.selection_window` epochs. Before a full window, and
    for NaN (no label with both classes in validation), -inf: a lucky first epoch cannot win
    alone."""
    if len(history) < config.selection_window:
        return -np.inf
    metric = config.selection_metric
    key = metric if metric == "val_loss" else f"val_{metric}"
    score = float(np.mean([record[key] for record in history[-config.selection_window:]]))
    score = -score if metric == "val_loss" else score
    return score if np.isfinite(score) else -np.inf


def selection_key(history: list[dict], config: TrainConfig) -> tuple[float, float]:
    """(selection score, minus the window's mean validation loss): the second breaks ties of
    the first. A score can saturate: on genbase (46 validation rows) the mean AUC reached 1.0 at
    epoch 10 and stayed there, so the strict '>' kept epoch 10 and stopped at 30 (test micro-F1
    0.80); among equal scores the lower loss now wins and the run goes on."""
    score = selection_score(history, config)
    if config.selection_metric == "val_loss" or not np.isfinite(score):
        return score, 0.0
    loss = float(np.mean([r["val_loss"] for r in history[-config.selection_window:]]))
    return score, (-loss if np.isfinite(loss) else -np.inf)


def replay_selection(history: list[dict], config: TrainConfig) -> tuple[int, int]:
    """(kept epoch, epochs run) that `fit_loop`'s selection and early stopping give on `history`
    under `config`: lets one long run be scored for every rule (`benchmarks.tune_selection`)."""
    best_key, best_epoch, epoch = (-np.inf, -np.inf), 0, 0
    for epoch in range(1, min(len(history), config.max_epochs) + 1):
        key = selection_key(history[:epoch], config)
        if best_epoch == 0 or key > best_key:
            best_key, best_epoch = key, epoch
        if epoch - best_epoch >= config.patience:
            break
    return best_epoch, epoch


def adam(network: CGMVAE, config: TrainConfig, context: Context = SINGLE) -> Optimizer:
    """Adam with PyTorch's fused kernel (one pass over all parameters instead of one per tensor,
    12% of a whole yeast training process on one thread, benchmarks/results/
    speed_yeast_ratio.csv), called by `optim.FusedAdam` without torch.optim's Optimizer, whose
    first step imports torch._dynamo. Under DDP, torch.optim.Adam unfused: a worker of the
    2-process test aborted at exit twice in ~20 runs since the fused kernel came in, none in the
    many runs before (cause not proven)."""
    device = next(network.parameters()).device
    if device.type in FUSED_DEVICES and not context.is_distributed:
        return FusedAdam(network.parameters(), lr=config.learning_rate,
                         weight_decay=config.weight_decay)
    return torch.optim.Adam(network.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)


def learning_rate_after(epochs_done: int, config: TrainConfig) -> float:
    """The rate for the next epoch: constant, or cosine warm restarts every `restart_epochs`."""
    if config.restart_epochs <= 0:
        return config.learning_rate
    return cosine_restart_rate(config.learning_rate, epochs_done, config.restart_epochs)


def generator_on(device: torch.device, seed_source: torch.Generator) -> torch.Generator:
    """A generator on `device` for dropout and latent samples: `seed_source` itself on the CPU,
    elsewhere one seeded by a draw from it (a CUDA op cannot use a CPU generator)."""
    if device.type == "cpu":
        return seed_source
    seed = int(torch.randint(2**62, (1,), generator=seed_source))
    return torch.Generator(device=device).manual_seed(seed)


def fit_loop(network: CGMVAE, batches: Batches, val: tuple[torch.Tensor, torch.Tensor],
             config: TrainConfig, callbacks: Iterable[Callback],
             should_stop: Callable[[], bool] | None, context: Context = SINGLE,
             on_batch: Callable[[int], None] | None = None,
             ) -> tuple[CGMVAE, list[dict], int, str]:
    """Epochs until `max_epochs`, `patience` epochs without improvement, or `should_stop()`.
    Rank 0 validates, selects and decides when to stop; every rank follows its decision.
    Returns the network with the weights of the best validation epoch (rank 0; the other ranks
    keep the last epoch's), the history, that epoch (empty and 0 on the other ranks) and why
    training ended before its time when the loss diverged ("" otherwise)."""
    model = context.wrap(network)
    optimizer = adam(network, config, context)
    averaged = (WeightAverage(network, config.ema_decay, warmup=config.ema_warmup)
                if config.ema_decay > 0 else None)
    evaluated = averaged.module if averaged is not None else network
    selection = Selection(config)
    diverged_in = 0
    for epoch in range(1, config.max_epochs + 1):
        started = time.perf_counter()
        train_loss = run_epoch(model, optimizer, batches(epoch), config, averaged, context,
                               on_batch=on_batch if context.is_main else None)
        if not np.isfinite(train_loss):  # the mean over all ranks: every rank stops here
            diverged_in = epoch
            break
        set_learning_rate(optimizer, learning_rate_after(epoch, config))
        stop = False
        if context.is_main:
            record = {"epoch": epoch, "max_epochs": config.max_epochs, "train_loss": train_loss,
                      **validate(evaluated, *val, config), "seconds": time.perf_counter() - started}
            stop = selection.add(record, evaluated)
            for callback in callbacks:
                callback(record)
            stop = stop or (should_stop is not None and should_stop())
        if context.decide(stop):
            break
    stop_note = ""
    if diverged_in:
        stop_note = stop_after_divergence(diverged_in, train_loss, selection, config, context)
    else:
        context.check_in_sync(network)  # (diverged weights hold NaNs, which equal nothing)
    if selection.best_state is not None:
        evaluated.load_state_dict(selection.best_state)
    return evaluated.eval(), selection.history, selection.best_epoch, stop_note


def stop_after_divergence(epoch: int, loss: float, selection: Selection, config: TrainConfig,
                          context: Context) -> str:
    """A NaN or infinite training loss ends training: the best epoch before it is kept, with a
    warning whose text is returned (the model's `stop_note`), or TrainingDiverged when there is
    none (rank 0 decides; the others just stop)."""
    if not context.is_main:
        return ""
    advice = (f"the training loss became {loss} in epoch {epoch} at learning rate "
              f"{config.learning_rate:g}; a lower learning rate (--lr) usually trains")
    if selection.best_state is None:
        raise TrainingDiverged(f"training diverged: {advice}")
    note = (f"training stopped early, {advice}; kept epoch {selection.best_epoch}, the best "
            "validation epoch before it")
    warnings.warn(note, RuntimeWarning, stacklevel=3)
    return note


class Selection:
    """The history of validation records and the best epoch so far by `selection_key`, with a
    copy of its weights; the same rule as `replay_selection`."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.history: list[dict] = []
        self.best_key, self.best_epoch, self.best_state = (-np.inf, -np.inf), 0, None

    def add(self, record: dict, evaluated: nn.Module) -> bool:
        """Record an epoch; True when `patience` epochs have passed without a better one."""
        self.history.append(record)
        key = selection_key(self.history, self.config)
        if self.best_epoch == 0 or key > self.best_key:
            self.best_key, self.best_epoch = key, record["epoch"]
            self.best_state = copy.deepcopy(evaluated.state_dict())
        return record["epoch"] - self.best_epoch >= self.config.patience


def fit(data: MultiLabelData, split: Split, *, model_config: ModelConfig | None = None,
        train_config: TrainConfig | None = None, callbacks: Iterable[Callback] = (),
        should_stop: Callable[[], bool] | None = None, context: Context = SINGLE,
        on_batch: Callable[[int], None] | None = None) -> TrainedModel | None:
    """Train C-GMVAE on `split.train`, select the epoch by validation score, tune thresholds on val.
    `callbacks` get each epoch's record; `on_batch(k)` hears of each step within an epoch.

    Nothing here looks at `split.test`. With several processes (`context` from
    `distributed.process_group`), every rank holds the data and trains on its share of the
    rows; rank 0 validates and returns the model, the other ranks return None.
    """
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    split.check(data.n_samples)
    if not data.labels[split.train].any():
        raise DataError(f"no label is positive in any of the {split.train.size} training rows: "
                        "there is nothing to learn (are the label columns the right ones?)")
    device = context.device or resolve_device(train_config.device)
    # the training's own random source (never torch's global one, which other trainings in other
    # threads share): initial weights and batch order, then dropout and latent samples
    generator = torch.Generator().manual_seed(train_config.seed)
    standardizer = Standardizer.fit(data.features[split.train])
    x_train, y_train, x_val, y_val = (
        torch.as_tensor(array, device=device)
        for array in (standardizer.transform(data.features[split.train]), data.labels[split.train],
                      standardizer.transform(data.features[split.val]), data.labels[split.val])
    )  # labels stay uint8 (a quarter of float32) until a batch needs them
    batches = TensorBatches(x_train, y_train, batch_size=train_config.batch_size,
                            generator=generator, context=context)
    model_config = replace(model_config, n_features=data.n_features, n_labels=data.n_labels)
    network = new_network(model_config, generator, device, context)
    network, history, best_epoch, stop_note = fit_loop(
        network, batches, (x_val, y_val), train_config, callbacks, should_stop, context,
        on_batch=on_batch)
    if not context.is_main:
        return None
    train_features = data.features[split.train]  # a copy (fancy indexing): made once here
    return finished_model(network, TrainingSummary(
        standardizer=standardizer, feature_names=list(data.feature_names),
        label_names=list(data.label_names), dataset_name=data.name,
        label_prevalence=data.labels[split.train].mean(axis=0), model_config=model_config,
        train_config=train_config, history=history, best_epoch=best_epoch, stop_note=stop_note,
        feature_min=train_features.min(axis=0), feature_max=train_features.max(axis=0)),
        val=(data.features[split.val], data.labels[split.val]), train_features=train_features)


def new_network(model_config: ModelConfig, generator: torch.Generator, device: torch.device,
                context: Context = SINGLE) -> CGMVAE:
    """The untrained network, its weights drawn from `generator` (the same on every rank).
    Dropout masks and latent samples come from `generator` too in one process, and from a
    generator of the rank's own in several, so that ranks do not draw the same noise."""
    network = CGMVAE(model_config, generator=generator).to(device)
    noise = (torch.Generator().manual_seed(context.noise_seed(generator.initial_seed()))
             if context.is_distributed else generator)
    network.use_generator(generator_on(device, noise))
    return network


@dataclass(frozen=True)
class TrainingSummary:
    """What a TrainedModel keeps of its training, besides the network."""

    standardizer: Standardizer
    feature_names: list[str]
    label_names: list[str]
    dataset_name: str
    label_prevalence: np.ndarray
    model_config: ModelConfig
    train_config: TrainConfig
    history: list[dict]
    best_epoch: int
    stop_note: str = ""  # why training ended before its time (a diverged loss), if it did
    feature_min: np.ndarray | None = None  # (D,) each input's range over the training rows
    feature_max: np.ndarray | None = None


def finished_model(network: CGMVAE, summary: TrainingSummary, *,
                   val: tuple[np.ndarray, np.ndarray], train_features: np.ndarray) -> TrainedModel:
    """The TrainedModel of a trained network: thresholds tuned and temperature calibrated on the
    validation rows (`val`: raw features, 0/1 labels), association layers and the training
    sites' spread (`extrapolation.novelty_metric`) over `train_features` (all training rows, or a
    sample of them when they are streamed)."""
    network.use_generator(None)  # the trained model keeps no training state
    trained = TrainedModel(network=network, **vars(summary))
    trained.tune_thresholds(*val)
    trained.calibration_temperature = fit_temperature(trained.predict_logits(val[0]), val[1])
    trained.feature_novelty_metric = novelty_metric(train_features, trained.standardizer.transform)
    trained.learned_association, trained.environmental_association = (
        m.astype(np.float32) for m in model_layers(trained, train_features))
    return trained
