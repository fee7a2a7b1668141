"""A trained C-GMVAE with its preprocessing, names and thresholds: numpy in, numpy out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cgmvae import metrics
from cgmvae.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.data import MultiLabelData, Standardizer, float32_features
from cgmvae.extrapolation import NOVEL, novelty
from cgmvae.model import CGMVAE


@dataclass
class TrainedModel:
    """Everything needed to predict from raw features and to explore what the model learned."""

    network: CGMVAE
    standardizer: Standardizer
    feature_names: list[str]
    label_names: list[str]
    dataset_name: str
    history: list[dict]
    label_prevalence: np.ndarray  # (L,) fraction of training rows with each label
    model_config: ModelConfig
    train_config: TrainConfig
    best_epoch: int = 0
    stop_note: str = ""  # why training ended before its time (a diverged loss), "" if it did not
    threshold: float = 0.5  # deployed threshold: best validation micro-F1
    metric_thresholds: dict[str, float] = field(default_factory=dict)  # best on val, per metric
    label_thresholds: np.ndarray | None = None  # (L,) best validation F1 per label
    # macro-F1 uses label_thresholds (when cross-fitting on val says so)
    macro_per_label: bool = False
    # (L, L) maps over the training sites, set by fit() (cgmvae.associations.model_layers), so a
    # checkpoint alone can show them: the co-occurrence the model implies, and the correlation of
    # its predicted responses (None for checkpoints written before they existed)
    learned_association: np.ndarray | None = None
    environmental_association: np.ndarray | None = None
    # T of the temperature scaling fitted on the validation rows
    # (cgmvae.associations.fit_temperature): the learned association map uses
    # sigmoid(logit / T). Predictions and thresholds do not (a
    # monotone change would move the fixed threshold grid). None: saved before calibration existed.
    calibration_temperature: float | None = None
    # (D,) each input's smallest and largest value over the training rows, to flag a site to
    # score outside them (an extrapolation); None: saved before ranges were kept
    feature_min: np.ndarray | None = None
    feature_max: np.ndarray | None = None
    # (D, D) the metric of ExDet's NT2 over the training rows (cgmvae.extrapolation), to flag a
    # site whose covariates are each in range but in a combination no training site had; None:
    # saved before it was kept, or more than extrapolation.MAX_INPUTS inputs
    feature_novelty_metric: np.ndarray | None = None

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def _inputs(self, features: np.ndarray) -> torch.Tensor:
        """Standardised features on the network's device; DataError naming the column and row of
        a value that is not a finite float32 (it would come out as a row of NaN)."""
        features = float32_features(features, self.feature_names)
        return torch.as_tensor(self.standardizer.transform(features), device=self.device)

    @torch.no_grad()
    def _in_batches(self, step, features: np.ndarray, batch_size: int) -> np.ndarray:
        self.network.eval()
        x = self._inputs(features)
        return torch.cat([step(chunk) for chunk in x.split(batch_size)]).cpu().numpy()

    def predict_logits(self, features: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """(N, L) logits w_x . w_i from the posterior mean."""
        return self._in_batches(self.network.feature_logits, features, batch_size)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """(N, L) probabilities sigmoid(w_x . w_i) from the posterior mean (section 2.2.4)."""
        # torch's sigmoid: no overflow, and a tenth of numpy's exp(-logaddexp(0, -z)) time
        return torch.sigmoid(torch.from_numpy(self.predict_logits(features))).numpy()

    def predict(self, features: np.ndarray, *, per_label: bool = False) -> np.ndarray:
        """(N, L) 0/1 predictions at the deployed threshold (or the per-label ones)."""
        use_labels = per_label and self.label_thresholds is not None
        threshold = self.label_thresholds if use_labels else self.threshold
        return (self.predict_proba(features) >= threshold).astype(np.int8)

    def latent_means(self, features: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """(N, d) posterior means mu_x of the samples."""
        return self._in_batches(self.network.posterior_mean, features, batch_size)

    def feature_embeddings(self, features: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """(N, E) decoded feature embeddings w_x: the space in which the contrastive loss
        compares a sample with the label embeddings (its logits are w_x . w_i)."""
        return self._in_batches(self.network.feature_embedding, features, batch_size)

    def latent_spread(self, features: np.ndarray) -> dict[str, float]:
        """How far the latent space is from collapse (~0 = collapsed): the sd across `features`'
        posterior means and across the label Gaussians' means, each averaged over latent dims."""
        label_means, _ = self.label_gaussians()
        return {"posterior_mean_sd": float(self.latent_means(features).std(axis=0).mean()),
                "label_mean_sd": float(label_means.std(axis=0).mean())}

    def prediction_frame(self, features: np.ndarray, ids=None,
                         extrapolation: Extrapolation | None = None) -> pd.DataFrame:
        """A table an ecologist can use, one row per sample.

        The id column(s) first (when `ids` is given: a DataFrame keeps its columns, a Series its
        name, a list becomes `id`), then one `<label>_probability` and one 0/1 `<label>_predicted`
        column per label, then `richness_expected` (sum of the probabilities),
        `richness_predicted` (labels predicted) and, when the model knows its training ranges,
        `covariates_outside_training` (how many of the sample's inputs lie outside the range of
        the training rows: its predictions extrapolate) and, when it knows their spread,
        `covariate_novelty` (ExDet's NT2, `combination_novelty`: above 1, a combination of
        covariates no training site had). `extrapolation`: `self.extrapolation(features)` when
        the caller has it already.
        """
        extrapolation = extrapolation or self.extrapolation(features)
        proba = self.predict_proba(features)
        predicted = (proba >= self.threshold).astype(np.int8)
        summary = {"richness_expected": proba.sum(axis=1, dtype=np.float64),
                   "richness_predicted": predicted.sum(axis=1, dtype=np.int64)}
        if extrapolation.outside is not None:
            summary["covariates_outside_training"] = extrapolation.outside.sum(axis=1,
                                                                               dtype=np.int64)
        if extrapolation.novelty is not None:
            summary["covariate_novelty"] = np.round(extrapolation.novelty, 3)
        parts = [
            pd.DataFrame(proba, columns=[f"{n}_probability" for n in self.label_names]),
            pd.DataFrame(predicted, columns=[f"{n}_predicted" for n in self.label_names]),
            pd.DataFrame(summary),
        ]
        if ids is not None:
            id_frame = ids.to_frame() if isinstance(ids, pd.Series) else pd.DataFrame(
                ids if isinstance(ids, pd.DataFrame) else {"id": list(ids)})
            if len(id_frame) != len(proba):
                raise ValueError(f"{len(id_frame)} ids for {len(proba)} rows of features")
            parts.insert(0, id_frame.reset_index(drop=True))
        return pd.concat(parts, axis=1)

    def outside_training_range(self, features: np.ndarray) -> np.ndarray | None:
        """(N, D) True where an input lies below its smallest or above its largest value over the
        training rows; None when the model does not know its training ranges."""
        if self.feature_min is None or self.feature_max is None:
            return None
        features = np.asarray(features, dtype=np.float32)
        return (features < self.feature_min) | (features > self.feature_max)

    def combination_novelty(self, features: np.ndarray) -> np.ndarray | None:
        """(N,) ExDet's NT2 of each row (`cgmvae.extrapolation`): its Mahalanobis distance from
        the training sites' centre over the largest of a training site; None when the model does
        not keep their spread."""
        if self.feature_novelty_metric is None:
            return None
        return novelty(self.standardizer.transform(features), self.feature_novelty_metric)

    def extrapolation(self, features: np.ndarray) -> Extrapolation:
        """Both extrapolation flags of these rows, computed once for the prediction table and
        the note (`OutsideTraining`)."""
        return Extrapolation(self.outside_training_range(features),
                             self.combination_novelty(features))

    def extrapolation_note(self, features: np.ndarray, what: str = "sites",
                           extrapolation: Extrapolation | None = None) -> str | None:
        """One line for a user when some rows are unlike the training rows (`OutsideTraining`;
        `extrapolation`: their flags, when the caller has them already); None when none is, or
        the model does not know."""
        tally = OutsideTraining(self)
        tally.add(features, extrapolation)
        return tally.note(what)

    def label_embeddings(self) -> np.ndarray:
        """(L, E) learned label embeddings w_i."""
        return self.network.label_embeddings.detach().cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def label_gaussians(self) -> tuple[np.ndarray, np.ndarray]:
        """(mu (L, d), sigma (L, d)) of each label's Gaussian component."""
        self.network.eval()
        gaussians = self.network.label_gaussians()
        sigma = torch.exp(0.5 * gaussians.logvar)
        return gaussians.mean.cpu().numpy(), sigma.cpu().numpy()

    def label_similarity(self) -> np.ndarray:
        """(L, L) float32 inner products w_i . w_j of the label embeddings (the paper's Fig. 3)."""
        embeddings = self.label_embeddings()
        return (embeddings @ embeddings.T).astype(np.float32)

    def tune_thresholds(self, val_features: np.ndarray, val_labels: np.ndarray) -> None:
        """Choose every threshold on the validation rows (never on test)."""
        proba = self.predict_proba(val_features)
        best, per_label, self.macro_per_label = metrics.validation_threshold_parts(val_labels,
                                                                                   proba)
        self.metric_thresholds = {k: float(v) for k, v in best.items()}
        self.threshold = self.metric_thresholds["micro_f1"]
        self.label_thresholds = np.asarray(per_label, dtype=np.float32)

    def evaluate(self, features: np.ndarray, labels: np.ndarray, *,
                 proba: np.ndarray | None = None) -> dict[str, dict[str, float]]:
        """The paper's five metrics two ways: `per_metric` (each at its validation-best threshold)
        and `deployed` (all at the single deployed threshold). `proba`: this model's
        `predict_proba(features)`, when the caller has it already."""
        proba = self.predict_proba(features) if proba is None else proba
        thresholds = metrics.metric_thresholds(
            {name: self.metric_thresholds.get(name, self.threshold) for name in metrics.METRICS},
            self.label_thresholds, self.macro_per_label)
        scores = {}  # metrics.evaluate once per distinct threshold (a per-label one: per metric)

        def scored_at(threshold, name: str) -> dict[str, float]:
            key = float(threshold) if np.ndim(threshold) == 0 else name
            if key not in scores:
                scores[key] = metrics.evaluate(labels, proba, threshold)
            return scores[key]

        deployed = scored_at(self.threshold, "deployed")
        per_metric = {name: scored_at(thresholds[name], name)[name] for name in metrics.METRICS}
        return {"per_metric": per_metric, "deployed": deployed}

    def check_compatible(self, data: MultiLabelData) -> None:
        """Raise CheckpointError unless `data` has this model's features and labels, by name."""
        for kind, ours, theirs in (("feature", self.feature_names, data.feature_names),
                                   ("label", self.label_names, data.label_names)):
            if list(ours) != list(theirs):
                missing = [n for n in ours if n not in set(theirs)][:5]
                raise CheckpointError(
                    f"the model was trained on '{self.dataset_name}' with {len(ours)} {kind}s, "
                    f"the data '{data.name}' has {len(theirs)}"
                    + (f"; missing e.g. {missing}" if missing else " in another order"))

    def save(self, path: str | Path) -> Path:
        return write_checkpoint(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> TrainedModel:
        return cls(**read_checkpoint(Path(path)))


class Extrapolation(NamedTuple):
    """A model's two extrapolation flags for some rows; None where the model does not know."""

    outside: np.ndarray | None  # (N, D) an input outside its training range (NT1)
    novelty: np.ndarray | None  # (N,) ExDet's NT2


class OutsideTraining:
    """Rows unlike the training rows, tallied chunk by chunk (`add`), and the line that tells a
    user (`note`): rows with an input outside its training range (ExDet's NT1), with each input
    concerned and the values seen outside against its range; and rows whose inputs are each in
    range but in a combination no training site had (NT2 above 1, `combination_novelty`)."""

    def __init__(self, model: TrainedModel):
        self.model, self.rows, self.total, self.combination_rows = model, 0, 0, 0
        self.seen: dict[int, tuple[float, float]] = {}  # input -> (lowest, highest) value outside

    def add(self, features: np.ndarray, extrapolation: Extrapolation | None = None) -> None:
        """Tally these rows (`extrapolation`: their flags, when the caller has them already)."""
        features = np.asarray(features, dtype=np.float32)
        outside, combination = extrapolation or self.model.extrapolation(features)
        self.total += len(features)
        in_range = np.ones(len(features), bool) if outside is None else ~outside.any(axis=1)
        if combination is not None:
            self.combination_rows += int(((combination > NOVEL) & in_range).sum())
        if outside is None:
            return
        self.rows += int((~in_range).sum())
        for j in np.flatnonzero(outside.any(axis=0)):
            values = features[outside[:, j], j]
            low, high = self.seen.get(j, (np.inf, -np.inf))
            self.seen[j] = (min(low, float(values.min())), max(high, float(values.max())))

    def note(self, what: str = "sites") -> str | None:
        lines = []
        if self.rows:
            lines.append(self._range_line(what))
        if self.combination_rows:
            lines.append(f"{self.combination_rows:,} of {self.total:,} {what} have every "
                         f"covariate within its training range, but in a combination no "
                         f"training site had (covariate_novelty above 1: ExDet's NT2, the "
                         f"distance from the training sites' centre over the largest of a "
                         f"training site), so their predictions extrapolate too")
        return ". ".join(lines) or None

    def _range_line(self, what: str) -> str:
        model = self.model
        inputs = [f"{model.feature_names[j]} {low:g}" + (f" to {high:g}" if high > low else "")
                  + f" (training {model.feature_min[j]:g} to {model.feature_max[j]:g})"
                  for j, (low, high) in sorted(self.seen.items())]
        shown = "; ".join(inputs[:5]) + (f"; and {len(inputs) - 5} more" if len(inputs) > 5
                                         else "")
        return (f"{self.rows:,} of {self.total:,} {what} lie outside the covariate range of the "
                f"training rows, so their predictions extrapolate (the column "
                f"covariates_outside_training counts the covariates per row): {shown}")
