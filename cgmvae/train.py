"""Training: fit -> run_epoch -> train_step, validation every epoch, model selection, early stopping."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from cgmvae import metrics
from cgmvae.associations import fit_temperature, model_layers
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import DataError, MultiLabelData, Split, Standardizer
from cgmvae.losses import total_loss
from cgmvae.model import CGMVAE
from cgmvae.predictor import TrainedModel

Callback = Callable[[dict], None]


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; an explicit 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU")
    return torch.device(name)


def train_step(network: CGMVAE, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               config: TrainConfig) -> torch.Tensor:
    """One optimiser step on one mini-batch; returns the batch's total loss (still on the device,
    so that a GPU is not synchronised after every step)."""
    optimizer.zero_grad(set_to_none=True)
    terms = total_loss(network(x, y, config.latent_samples), x, y, config.loss)
    terms.total.backward()
    optimizer.step()
    return terms.total.detach()


def run_epoch(network: CGMVAE, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
              config: TrainConfig, generator: torch.Generator, averaged: AveragedModel | None) -> float:
    """One pass over the training rows in a fresh random order; returns the mean batch loss."""
    network.train()
    order = torch.randperm(x.shape[0], generator=generator).to(x.device)
    losses = []
    for batch in order.split(config.batch_size):
        if batch.numel() > 1:  # a one-row batch makes no useful step
            losses.append(train_step(network, optimizer, x[batch], y[batch], config))
            if averaged is not None:
                averaged.update_parameters(network)
    return torch.stack(losses).mean().item()


@torch.no_grad()
def predict_logits(network: CGMVAE, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    network.eval()
    return torch.cat([network.predict_logits(chunk) for chunk in x.split(batch_size)])


def validate(network: CGMVAE, x: torch.Tensor, y: torch.Tensor, config: TrainConfig) -> dict:
    """Validation cross-entropy, micro- and macro-F1 (each at its best validation threshold) and
    mean per-label ROC-AUC; the selection metric's score comes first (the progress bar shows it)."""
    logits = predict_logits(network, x, config.eval_batch_size)
    val_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y).item()
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
    for NaN (no label with both classes in validation), -inf: a lucky first epoch cannot win alone."""
    if len(history) < config.selection_window:
        return -np.inf
    metric = config.selection_metric
    key = metric if metric == "val_loss" else f"val_{metric}"
    score = float(np.mean([record[key] for record in history[-config.selection_window:]]))
    score = -score if metric == "val_loss" else score
    return score if np.isfinite(score) else -np.inf


def replay_selection(history: list[dict], config: TrainConfig) -> tuple[int, int]:
    """(kept epoch, epochs run) that `fit_loop`'s selection and early stopping give on `history`
    under `config`: lets one long run be scored for every rule (`benchmarks.tune_selection`)."""
    best_score, best_epoch, epoch = -np.inf, 0, 0
    for epoch in range(1, min(len(history), config.max_epochs) + 1):
        score = selection_score(history[:epoch], config)
        if best_epoch == 0 or score > best_score:
            best_score, best_epoch = score, epoch
        if epoch - best_epoch >= config.patience:
            break
    return best_epoch, epoch


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig):
    if config.restart_epochs <= 0:
        return None
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=config.restart_epochs)


def generator_on(device: torch.device, seed_source: torch.Generator) -> torch.Generator:
    """A generator on `device` for dropout and latent samples: `seed_source` itself on the CPU,
    elsewhere one seeded by a draw from it (a CUDA op cannot use a CPU generator)."""
    if device.type == "cpu":
        return seed_source
    seed = int(torch.randint(2**62, (1,), generator=seed_source))
    return torch.Generator(device=device).manual_seed(seed)


def fit_loop(network: CGMVAE, train: tuple[torch.Tensor, torch.Tensor],
             val: tuple[torch.Tensor, torch.Tensor], config: TrainConfig,
             callbacks: Iterable[Callback], should_stop: Callable[[], bool] | None,
             generator: torch.Generator) -> tuple[CGMVAE, list[dict], int]:
    """Epochs until `max_epochs`, `patience` epochs without improvement, or `should_stop()`;
    `generator` orders the batches. Returns the network with the weights of the best validation
    epoch, the history, that epoch."""
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    scheduler = make_scheduler(optimizer, config)
    averaged = (AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay))
                if config.ema_decay > 0 else None)
    evaluated = averaged.module if averaged is not None else network
    history, best_score, best_state, best_epoch = [], -np.inf, None, 0  # as `replay_selection`
    for epoch in range(1, config.max_epochs + 1):
        started = time.perf_counter()
        train_loss = run_epoch(network, optimizer, *train, config, generator, averaged)
        if scheduler is not None:
            scheduler.step()
        record = {"epoch": epoch, "max_epochs": config.max_epochs, "train_loss": train_loss,
                  **validate(evaluated, *val, config), "seconds": time.perf_counter() - started}
        history.append(record)
        score = selection_score(history, config)
        if best_epoch == 0 or score > best_score:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(evaluated.state_dict())
        for callback in callbacks:
            callback(record)
        if epoch - best_epoch >= config.patience or (should_stop is not None and should_stop()):
            break
    evaluated.load_state_dict(best_state)
    return evaluated.eval(), history, best_epoch


def fit(data: MultiLabelData, split: Split, *, model_config: ModelConfig | None = None,
        train_config: TrainConfig | None = None, callbacks: Iterable[Callback] = (),
        should_stop: Callable[[], bool] | None = None) -> TrainedModel:
    """Train C-GMVAE on `split.train`, select the epoch by validation score, tune thresholds on val.

    Nothing here looks at `split.test`.
    """
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    split.check(data.n_samples)
    if not data.labels[split.train].any():
        raise DataError(f"no label is positive in any of the {split.train.size} training rows: "
                        "there is nothing to learn (are the label columns the right ones?)")
    device = resolve_device(train_config.device)
    # the training's own random source (never torch's global one, which other trainings in other
    # threads share): initial weights and batch order, then dropout and latent samples
    generator = torch.Generator().manual_seed(train_config.seed)
    standardizer = Standardizer.fit(data.features[split.train])
    x_train, y_train, x_val, y_val = (
        torch.as_tensor(array, device=device)
        for array in (standardizer.transform(data.features[split.train]), data.labels[split.train],
                      standardizer.transform(data.features[split.val]), data.labels[split.val])
    )
    model_config = replace(model_config, n_features=data.n_features, n_labels=data.n_labels)
    network = CGMVAE(model_config, generator=generator).to(device)
    network.use_generator(generator_on(device, generator))
    network, history, best_epoch = fit_loop(network, (x_train, y_train), (x_val, y_val), train_config,
                                            callbacks, should_stop, generator)
    network.use_generator(None)  # the trained model keeps no training state
    trained = TrainedModel(
        network=network,
        standardizer=standardizer, feature_names=list(data.feature_names),
        label_names=list(data.label_names), dataset_name=data.name, history=history,
        label_prevalence=data.labels[split.train].mean(axis=0), model_config=model_config,
        train_config=train_config, best_epoch=best_epoch,
    )
    trained.tune_thresholds(data.features[split.val], data.labels[split.val])
    trained.calibration_temperature = fit_temperature(
        trained.predict_logits(data.features[split.val]), data.labels[split.val])
    trained.learned_association, trained.environmental_association = (
        m.astype(np.float32) for m in model_layers(trained, data.features[split.train]))
    return trained
