"""Species associations in four layers, each with its uncertainty (the app's headline view).

- **learned**: the co-occurrence (phi) a trained model implies across the survey's training sites:
  each site's predicted occurrence probabilities, treated as independent Bernoulli draws, give
  the expected joint occurrence of every pair. Computed from the model, never from the labels.
  The probabilities are first calibrated by one temperature fitted on the validation rows
  (`fit_temperature`, Guo et al. 2017): the contrastive loss does not make C-GMVAE's scores
  calibrated probabilities, and on swiss_birds the calibrated map agrees better with held-out
  co-occurrence for each of 3 seeds (benchmarks/associations.py).
- **environmental**: correlation across sites of the model's predicted responses (logits), the
  "environmental correlation" of joint species distribution models (Pollock et al. 2014).
- **residual**: correlation of observed minus predicted occurrence where every site is predicted
  by a covariate model NOT fitted on it (5-fold cross-fitted logistic regression on the
  covariates and their squares): the JSDM "residual correlation", association beyond the covariates.
- **co-occurrence**: phi of the training rows, with the probabilistic co-occurrence model of
  Veech (2013) as its significance (the hypergeometric null of R's `cooccur`).

Uncertainty: `spread` is the sd across several models; every model-based layer also gets a
bootstrap sd over sites; the environmental layer also how much two species' responses would
correlate differently if estimated from another sample of sites (`response_estimation_sd`); the
residual layer's is at least that of species independent given the covariates (`residual_null_sd`).
A pair is "supported" when both species were recorded at >= 5 training sites and its value tells
from 0 at alpha = 0.05 (normal p of value / sd, the models' and the sites' variation, and for the
environmental layer the estimation, together; for the residual layer also Student's t p on the
null surveys' sd, itself estimated from 20 draws); for co-occurrence when Veech's p < alpha; the
learned layer, which claims co-occurrence, needs both (and the same sign as the records). The
environmental layer also needs both species to respond to the covariates at all: a correlation of
predicted responses is scale-free, so a species whose prediction barely moves across sites still
gets correlations of +-0.5 or more with the habitat species, from noise the model fitted (a planted
association without any habitat showed 0.63). A species responds when the cross-fitted covariate
model ranks its occupied sites above its empty ones (one-sided Mann-Whitney p < alpha). Optionally
Benjamini-Hochberg across all pairs, since a survey of L species tests L(L-1)/2 pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LAYERS = ("learned", "environmental", "residual", "cooccurrence")
LAYER_TITLES = {
    "learned": "Learned: co-occurrence the model expects",
    "environmental": "Environmental: shared response to the covariates",
    "residual": "Residual: association beyond the covariates",
    "cooccurrence": "Co-occurrence: recorded together at the training sites (phi)",
}
LAYER_EXPLANATIONS = {
    "learned": "How often two species are expected together across the survey's sites, on the "
               "phi scale, from the model's predicted occurrence at each site (not from the "
               "recorded lists).",
    "environmental": "Whether two species respond alike to the covariates: the correlation of "
                     "the model's predicted responses across sites, the environmental "
                     "correlation of joint species distribution models.",
    "residual": "Whether two species co-occur more (red) or less (blue) than their habitats "
                "predict: the correlation of observed minus predicted occurrence, each site "
                "predicted by a covariate model not fitted on it (JSDM residual correlation).",
    "cooccurrence": "How often the two species were recorded together at the training sites "
                    "(phi), significant when Veech's (2013) probabilistic model, as in R's "
                    "cooccur, says chance would rarely give as many or as few joint records.",
}
# Measured by benchmarks/environmental_gate.py (planted surveys of 200 and 1,000 sites, 3 seeds).
ENVIRONMENTAL_CAUTION = (
    "Read the size, not only the colour: in planted surveys, species that follow different, "
    "independent covariates still reached |value| 0.17-0.59 (median 0.09-0.18), since the "
    "covariates never vary quite independently over the sites and the model mixes them a "
    "little; species that share one reached 0.83 or more. The uncertainty counts how much the "
    "responses move when estimated from other sites, which leaves 1 to 16 of 32 such pairs per "
    "survey looking supported (17 to 27 with the site bootstrap alone).")
RESIDUAL_CAUTION = (
    "Association beyond these {covariates} covariates, not proof that the species interact: "
    "whatever both species follow that the model was not given (soil, disturbance, a gradient "
    "in space, the observer) shows up here too, as JSDM residual correlations do (Zurell et al. "
    "2018; Blanchet, Cazelles & Gravel 2020). The fewer the covariates, the more of the "
    "environment lies here; the sites' coordinates among the covariates take up broad "
    "gradients in space (Data, Two tables: More site tables).")
MIN_RECORDS = 5  # a species seen at fewer training sites supports no pair (too few to tell)
CROSSFIT_FOLDS = 5  # the covariate model is fitted this many times, each without one fold
BOOTSTRAP_ROWS = 4000  # resample at most this many sites (sd rescaled to all sites)
BOOTSTRAP_FLOPS = 2e10  # fewer draws (>= 10) when one draw's (L, L) products cost more
MAX_CURVED_FEATURES = 100  # above this many covariates the covariate model drops the squares
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 10.0  # calibration beyond these is a broken model


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 for which sigmoid(logits / T) has the smallest mean Bernoulli log loss on these
    (validation) rows: temperature scaling, one number for all labels. Ranks, and so AUC and
    the environmental layer, do not change; only how sharp the probabilities are. 1.0 when the
    rows cannot tell (none, or no label both present and absent).

    The loss is convex in 1/T, so one minimum in log T: a golden-section search over
    [MIN_TEMPERATURE, MAX_TEMPERATURE] finds it to 1e-6 in log T (numpy only; scipy.optimize
    would add ~0.5 s to the import time of every training process)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = (np.asarray(labels) > 0.5).astype(np.float64)
    if logits.size == 0 or labels.min() == labels.max():
        return 1.0

    def log_loss(log_temperature: float) -> float:
        scaled = logits / np.exp(log_temperature)
        return float(np.mean(np.logaddexp(0.0, scaled) - labels * scaled))

    return float(np.exp(golden_section_minimum(
        log_loss, np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE), tolerance=1e-6)))


def golden_section_minimum(function, low: float, high: float, tolerance: float) -> float:
    """The x in [low, high] where a function with one minimum there is smallest, to `tolerance`
    (the bounds themselves when it is monotone)."""
    inverse_phi = (np.sqrt(5.0) - 1.0) / 2.0
    left, right = high - inverse_phi * (high - low), low + inverse_phi * (high - low)
    f_left, f_right = function(left), function(right)
    while high - low > tolerance:
        if f_left <= f_right:  # the minimum is in [low, right]
            high, right, f_right = right, left, f_left
            left = high - inverse_phi * (high - low)
            f_left = function(left)
        else:  # in [left, high]
            low, left, f_left = left, right, f_right
            right = low + inverse_phi * (high - low)
            f_right = function(right)
    return (low + high) / 2.0


def model_temperature(model) -> float:
    """The model's calibration temperature (1.0 for a model saved before calibration existed)."""
    return float(getattr(model, "calibration_temperature", None) or 1.0)


def implied_cooccurrence(proba: np.ndarray) -> np.ndarray:
    """(L, L) phi implied by independent Bernoulli(p_si) occurrences at every site s.

    E[y_i y_j] = mean_s p_si p_sj (i != j) and E[y_i] = mean_s p_si, so the covariance across
    sites is cov_s(p_i, p_j); each species' variance is pbar_i (1 - pbar_i). Diagonal 1.
    """
    p = np.asarray(proba, dtype=np.float64)
    mean = p.mean(axis=0)
    covariance = p.T @ p / len(p) - np.outer(mean, mean)
    return _scale_to_correlation(covariance, mean * (1.0 - mean))


def column_correlation(values: np.ndarray) -> np.ndarray:
    """(L, L) Pearson correlation of the columns; constant columns get 0 off the diagonal."""
    centred = np.asarray(values, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    covariance = centred.T @ centred / max(len(centred), 1)
    return _scale_to_correlation(covariance, np.diag(covariance).copy())


def _scale_to_correlation(covariance: np.ndarray, variance: np.ndarray) -> np.ndarray:
    scale = np.sqrt(np.outer(np.clip(variance, 0.0, None), np.clip(variance, 0.0, None)))
    out = np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 1e-12)
    out = np.clip((out + out.T) / 2.0, -1.0, 1.0)
    np.fill_diagonal(out, 1.0)
    return out


def curved_columns(features: np.ndarray) -> np.ndarray:
    """Which covariates get a squared term: the non-binary ones, none for text-like data (more
    than MAX_CURVED_FEATURES covariates)."""
    if features.shape[1] > MAX_CURVED_FEATURES:
        return np.zeros(features.shape[1], dtype=bool)
    return np.array([np.unique(column).size > 2 for column in features.T], dtype=bool)


class CovariateModel:
    """Per-species logistic regression on the covariates and the squares of the non-binary ones
    (curved responses), all standardised on the fitted rows: the fixed-effect part of a JSDM."""

    def __init__(self, l2: float = 1.0):
        self.l2 = l2

    def _design(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        return np.column_stack([x, x[:, self.curved] ** 2])

    def fit(self, features: np.ndarray, labels: np.ndarray,
            start: np.ndarray | None = None) -> CovariateModel:
        """Fitted to these rows; `start`: weights to start from (another fit's, on like rows)."""
        features = np.asarray(features, dtype=np.float64)
        self.curved = curved_columns(features)
        design = self._design(features)
        self.mean, self.scale = design.mean(axis=0), design.std(axis=0)
        self.scale[self.scale == 0] = 1.0
        self.weights = fit_logistic((design - self.mean) / self.scale, labels, self.l2, start)
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return _sigmoid(self.response(features) + self.weights[-1])

    def response(self, features: np.ndarray) -> np.ndarray:
        """(N, L) each species' predicted response to the covariates: its logit without the
        intercept (the fixed-effect linear predictor)."""
        return (self._design(features) - self.mean) / self.scale @ self.weights[:-1]


NEWTON_MAX_INPUTS = 160  # covariate models this wide or less are fitted by Newton, wider by L-BFGS


def fit_logistic(design: np.ndarray, labels: np.ndarray, l2: float = 1.0,
                 start: np.ndarray | None = None) -> np.ndarray:
    """(D + 1, L) weights of one L2-penalised logistic regression per label; the last row is the
    unpenalised intercept. Newton's method per label when D + 1 <= NEWTON_MAX_INPUTS (each
    label's (D + 1)^2 Hessian is cheap there, and 10-15 steps reach the optimum where L-BFGS took
    300-500: wood_fungi's 5 cross-fits in 2.6 s instead of 18 s), else L-BFGS on all labels."""
    x = np.column_stack([design, np.ones(len(design))])
    y = np.asarray(labels, dtype=np.float64)
    if start is None or np.shape(start) != (x.shape[1], y.shape[1]):
        prevalence = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
        start = np.zeros((x.shape[1], y.shape[1]))
        start[-1] = np.log(prevalence / (1 - prevalence))
    penalty = np.full(x.shape[1], float(l2))
    penalty[-1] = 0.0
    solve = _newton_logistic if x.shape[1] <= NEWTON_MAX_INPUTS else _lbfgs_logistic
    return solve(x, y, penalty, start)


def _logistic_losses(x, y, penalty, weights):
    """Each column's penalised negative log-likelihood, and the occurrence probabilities (both
    from one exp(-|logit|))."""
    logits = x @ weights
    shrunk = np.exp(-np.abs(logits))
    softplus = np.maximum(logits, 0.0) + np.log1p(shrunk)
    losses = (softplus.sum(axis=0) - (y * logits).sum(axis=0)
              + 0.5 * (penalty[:, None] * weights**2).sum(axis=0))
    return losses, np.where(logits >= 0.0, 1.0, shrunk) / (1.0 + shrunk)


def _newton_logistic(x, y, penalty, weights, *, max_steps: int = 50, tolerance: float = 1e-6):
    """Damped Newton per column, iterating only on the columns not yet converged (Newton
    decrement above `tolerance`, in nats); a step is halved until it lowers the loss enough."""
    weights = weights.copy()
    active = np.arange(y.shape[1])
    losses, probability = _logistic_losses(x, y, penalty, weights)
    for _ in range(max_steps):
        current, targets = weights[:, active], y[:, active]
        gradient = x.T @ (probability - targets) + penalty[:, None] * current
        hessians = _weighted_grams(x, probability * (1 - probability)) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessians, gradient.T[..., None])[..., 0].T
        decrement = (gradient * step).sum(axis=0)
        new, new_losses, new_probability, short = _halving_steps(x, targets, penalty, current,
                                                                 step, losses, decrement)
        weights[:, active] = np.where(short, current, new)
        going = (decrement > tolerance) & ~short
        if not going.any():
            break
        active, losses, probability = active[going], new_losses[going], new_probability[:, going]
    return weights


def _halving_steps(x, targets, penalty, current, step, losses, decrement):
    """Each column's Newton step, halved until it lowers the loss by at least 1e-4 of the
    decrement it promises: the new weights, losses and probabilities, and the columns where no
    step did (`short`, which keep their `current` weights)."""
    new = current - step
    new_losses, new_probability = _logistic_losses(x, targets, penalty, new)
    short = ~(new_losses <= losses - 1e-4 * decrement)
    size = 1.0
    while short.any() and size > 1e-9:
        size /= 2
        cols = np.flatnonzero(short)
        trial = current[:, cols] - size * step[:, cols]
        trial_losses, trial_probability = _logistic_losses(x, targets[:, cols], penalty, trial)
        better = trial_losses <= losses[cols] - 1e-4 * size * decrement[cols]
        done = cols[better]
        new[:, done], new_losses[done], new_probability[:, done] = (
            trial[:, better], trial_losses[better], trial_probability[:, better])
        short[done] = False
    return new, new_losses, new_probability, short


def _weighted_grams(x: np.ndarray, weights: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """(L, D, D) sums over rows of weights[n, l] * outer(x[n], x[n]): the upper triangles in one
    float32 product per chunk of rows (Newton needs only a good direction, not exact curvature)."""
    upper, lower = np.triu_indices(x.shape[1])
    x32, w32 = x.astype(np.float32), weights.astype(np.float32)
    sums = np.zeros((weights.shape[1], upper.size), dtype=np.float32)
    for first in range(0, len(x), chunk):
        rows = x32[first:first + chunk]
        sums += w32[first:first + chunk].T @ (rows[:, upper] * rows[:, lower])
    grams = np.empty((weights.shape[1], x.shape[1], x.shape[1]))
    grams[:, upper, lower] = sums
    grams[:, lower, upper] = sums
    return grams


def _lbfgs_logistic(x, y, penalty, start):
    """All columns at once by L-BFGS (the loss is a sum over them): for wide covariates."""
    from scipy.optimize import minimize

    n_in, n_out = start.shape

    def loss_and_gradient(flat):
        weights = flat.reshape(n_in, n_out)
        losses, probability = _logistic_losses(x, y, penalty, weights)
        gradient = x.T @ (probability - y) + penalty[:, None] * weights
        return losses.sum(), gradient.ravel()

    result = minimize(loss_and_gradient, start.ravel(), jac=True, method="L-BFGS-B",
                      options={"maxiter": 500})
    return result.x.reshape(n_in, n_out)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -logits))


def crossfit_covariate_probabilities(features: np.ndarray, labels: np.ndarray, *,
                                     folds: int = CROSSFIT_FOLDS,
                                     seed: int = 0) -> np.ndarray:
    """(N, L) occurrence probabilities from the covariates, each row predicted by a logistic
    model fitted on the other folds only (so its residual is out of sample)."""
    return crossfit_covariate_models(features, labels, folds=folds, seed=seed)[0]


def crossfit_covariate_models(features: np.ndarray, labels: np.ndarray, *,
                              folds: int = CROSSFIT_FOLDS, seed: int = 0,
                              start: np.ndarray | None = None
                              ) -> tuple[np.ndarray, list[CovariateModel]]:
    """`crossfit_covariate_probabilities` and the fold models behind it (each fitted on all
    rows but one fold, from the weights `start` when given)."""
    n = len(features)
    folds = max(2, min(folds, n))
    assignment = np.random.default_rng(seed).permutation(n) % folds
    proba = np.empty(np.shape(labels), dtype=np.float64)
    models = []
    for fold in range(folds):
        held, fitted = assignment == fold, assignment != fold
        models.append(CovariateModel().fit(features[fitted], labels[fitted], start))
        proba[held] = models[-1].predict_proba(features[held])
    return proba, models


def response_estimation_sd(fold_models: list[CovariateModel], features: np.ndarray, *,
                           seed: int = 0) -> np.ndarray:
    """(L, L) how much the correlation of two species' responses moves when the responses are
    estimated from another sample of sites: the grouped jackknife sd over the cross-fit's K fold
    models (each fitted without one fold), sqrt((K - 1)^2 / K * var), of the correlation of
    their responses over the sites (a seeded BOOTSTRAP_ROWS of them at most).

    The site bootstrap holds the fitted responses fixed, so it misses this: a species following
    elevation gets a small, spurious pH slope from the sample, which correlates it with the pH
    species; in planted surveys such pairs of independent covariates were "supported" 17-27
    times of 32 without it (benchmarks/environmental_gate.py). Measured with the covariate
    model, whose fits are cheap, as a stand-in for the network's own estimation noise."""
    rows = np.arange(len(features))
    if rows.size > BOOTSTRAP_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, BOOTSTRAP_ROWS, replace=False))
    maps = np.array([column_correlation(model.response(features[rows])) for model in fold_models])
    k = len(fold_models)
    return np.sqrt((k - 1) ** 2 / k * maps.var(axis=0, ddof=1))


NULL_DRAWS = 20  # surveys drawn from the covariate model for `residual_null_sd`
MIN_NULL_DRAWS = 10  # ...at least, when NULL_DRAWS would take longer than NULL_SECONDS
NULL_SECONDS = 45.0  # by crossfit_seconds; 8 draws left wood_fungi no pair after BH
NULL_ROWS = 1000  # sites they have at most (the sd is rescaled to all sites)


def residual_null_sd(features: np.ndarray, fold_models: list[CovariateModel], *,
                     draws: int | None = None, seed: int = 0) -> tuple[np.ndarray, int]:
    """((L, L) sd, draws): the sd of the residual correlation of two species that are
    independent given the covariates, over `draws` surveys (default `null_draws`: 20, as few as 10
    where the covariate model is slow to fit, e.g. 18 for wood_fungi's 215 species and 67
    covariates) drawn from the covariate model (each species on its own, with the fold models'
    mean probability at each site), cross-fitted again, their residuals correlated; over a seeded
    NULL_ROWS of the sites at most, the sd rescaled by sqrt(rows / N) to all. The layer's sd is
    the larger of it (moderated across pairs, `moderated_null_sd`) and the site bootstrap's; its
    p the larger of the bootstrap's normal p and Student's t p on this sd (`pair_pvalues`), since
    an sd from 20 draws is itself uncertain.

    It counts what the site bootstrap cannot: each species' residuals share the covariate
    model's estimation error, a function of the covariates, and two such errors correlate by
    chance across the sites. In planted surveys (benchmarks/residual_null.py: 12 species, 1
    associated pair, 50 surveys each of 200 and of 1,000 sites), false pairs supported per survey
    (Benjamini-Hochberg at 5%): 0.32 and 0.36 with the site bootstrap alone, 0.12 and 0.12 with
    this sd and a normal p, 0.08 and 0.04 with the layer's p; the planted pair found in 28 of 50
    surveys of 200 sites (39 and 29) and all of 1,000."""
    n = len(features)
    rng = np.random.default_rng([seed, 2])
    rows = np.sort(rng.choice(n, NULL_ROWS, replace=False)) if n > NULL_ROWS else np.arange(n)
    x = features[rows]
    expected = np.mean([model.predict_proba(x) for model in fold_models], axis=0)
    draws = null_draws(x, expected.shape[1]) if draws is None else draws
    # drawn from the fitted model, so their fits lie near its weights: Newton starts there
    start = np.mean([model.weights for model in fold_models], axis=0)
    maps = []
    for draw in range(draws):
        drawn = (rng.random(expected.shape) < expected).astype(np.float64)
        proba = crossfit_covariate_models(x, drawn, seed=seed + 1 + draw, start=start)[0]
        maps.append(column_correlation(drawn - proba))
    return np.std(maps, axis=0, ddof=1) * np.sqrt(len(rows) / n), draws


def pair_pvalues(value: np.ndarray, sd: np.ndarray, null_sd: np.ndarray | None = None,
                 null_df: float | np.ndarray = 0.0) -> np.ndarray:
    """(L, L) two-sided p of pair values `value`: the normal p of value / sd, or, given the null
    surveys' sd and its degrees of freedom (`moderated_null_sd`; a number or one per pair), the
    larger of that and Student's t p of value / null_sd (an sd from few draws is uncertain: the
    normal p on it would claim too much). Infinite `null_df`: the normal p on null_sd."""
    from scipy.stats import norm, t

    p = 2.0 * norm.sf(_ratio(value, sd))
    if null_sd is not None and np.all(np.asarray(null_df) > 0):
        p = np.maximum(p, 2.0 * t.sf(_ratio(value, null_sd), df=null_df))
    return p


def smallest_supported_value(sd: np.ndarray, level: float, null_sd: np.ndarray | None = None,
                             null_df: float | np.ndarray = 0.0) -> np.ndarray:
    """(L, L) the |value| at which `pair_pvalues` would give exactly `level`: below it a pair
    cannot be supported, however real its association."""
    from scipy.stats import norm, t

    smallest = norm.isf(level / 2) * np.asarray(sd, dtype=np.float64)
    if null_sd is not None and np.all(np.asarray(null_df) > 0):
        smallest = np.maximum(smallest, t.isf(level / 2, df=null_df) * null_sd)
    return smallest


def moderated_null_sd(null_sd: np.ndarray, draws: int, overlap: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """((L, L) sd, (L, L) degrees of freedom): the null surveys' sd of each pair, estimated from
    `draws` surveys (draws - 1 df), moderated towards what the other pairs say, as limma does for
    gene-wise variances (Smyth 2004, empirical Bayes with a trend): the log variance of pair
    (i, j) is modelled as a_i + a_j (each species' own share of chance correlation) plus, given
    `overlap` (`response_overlap`), b times how much the two species' uncertain sites overlap;
    the scatter of the pairs around that trend beyond the draws' own noise sets the prior's
    degrees of freedom d0, and each pair's variance becomes (d0 prior + (draws - 1) own) /
    (d0 + draws - 1), with as many degrees of freedom.

    Why the overlap: two species' residuals correlate by chance through the sites where both are
    uncertain (p(1 - p) large), so two species of one habitat share more of the covariate
    model's errors than their species shares say. On the training rows of 4 real surveys the
    excess scatter of the log variances falls from 0.56 / 4.1 / 0.37 / 4.7 (species trend alone)
    to 0.23 / 0.50 / 0.09 / 2.1 with it (swiss_birds, uk_butterflies, norberg_birds,
    wood_fungi; fitted b 0.9-1.6, where the variance of a sum of independent products says 1),
    so d0 rises from 4.5 / 1.1 / 6.3 / 1.0 to 9.7 / 4.9 / 23.5 / 1.7. Where the trend explains
    everything (the planted surveys of benchmarks/residual_null.py: d0 about 30 to infinite) the
    p is nearly normal on a steadier sd. Pairs with a species of no variation keep their raw sd
    and draws - 1 df."""
    from scipy.special import digamma, polygamma

    k = draws - 1
    variance = np.asarray(null_sd, dtype=np.float64) ** 2
    active = _fully_varying(variance)
    n = active.size
    if k < 1 or n < 4:
        return np.asarray(null_sd, dtype=np.float64), np.full(variance.shape, float(max(k, 0)))
    block = variance[np.ix_(active, active)]
    np.fill_diagonal(block, 1.0)  # a copy; log 1 = 0 on the diagonal, which the fit skips
    log_var = np.log(block)
    upper = np.triu_indices(n, k=1)
    trend, parameters = _species_trend(log_var), n
    if overlap is not None:  # Frisch-Waugh: b from both sides' residuals of the species trend
        pair_term = np.array(overlap, dtype=np.float64)[np.ix_(active, active)]
        np.fill_diagonal(pair_term, 0.0)
        term_left = (pair_term - _species_trend(pair_term))[upper]
        spread = np.sum(term_left**2)
        if np.isfinite(spread) and spread > 1e-12:
            slope = np.sum((log_var - trend)[upper] * term_left) / spread
            trend = _species_trend(log_var - slope * pair_term) + slope * pair_term
            parameters += 1
    scatter = np.sum((log_var - trend)[upper] ** 2) / max(upper[0].size - parameters, 1)
    excess = scatter - polygamma(1, k / 2)  # beyond the chi-square noise of k df
    own_bias = digamma(k / 2) - np.log(k / 2)  # E log(chi2_k / k)
    if excess <= 1e-8:  # the trend explains all: the prior decides
        prior_df, prior_shift = np.inf, 0.0
    else:
        prior_df = 2 * _trigamma_inverse(excess)
        prior_shift = digamma(prior_df / 2) - np.log(prior_df / 2)
    prior = np.exp(trend - own_bias + prior_shift)
    own = variance[np.ix_(active, active)]
    moderated_block = prior if np.isinf(prior_df) else (prior_df * prior + k * own) / (prior_df + k)
    moderated, df = variance.copy(), np.full(variance.shape, float(k))
    moderated[np.ix_(active, active)] = moderated_block
    df[np.ix_(active, active)] = prior_df + k
    np.fill_diagonal(moderated, np.diag(variance))
    return np.sqrt(moderated), df


def _species_trend(matrix: np.ndarray) -> np.ndarray:
    """(n, n) a_i + a_j, the least-squares fit of a symmetric matrix's pairs i < j (its diagonal
    must be 0), in closed form: the normal equations are (n - 2) a + sum(a) = row sums."""
    n = len(matrix)
    row_sums = matrix.sum(axis=1)
    total = row_sums.sum() / (2 * n - 2)
    share = (row_sums - total) / (n - 2)
    return share[:, None] + share[None, :]


def response_overlap(probabilities: np.ndarray) -> np.ndarray:
    """(L, L) log of sum over sites of w_i w_j, w = p (1 - p) of the covariate model: how much
    two species are uncertain at the same sites, where their residuals' estimation errors meet
    (`moderated_null_sd`'s pair term). A pair that never is: log of the smallest positive."""
    weights = np.asarray(probabilities, dtype=np.float64)
    weights = weights * (1.0 - weights)
    shared = weights.T @ weights
    positive = shared[shared > 0]
    return np.log(np.maximum(shared, positive.min() if positive.size else 1.0))


def _fully_varying(variance: np.ndarray) -> np.ndarray:
    """The species whose pairs with each other all have a positive variance: those without any
    (a species at no or every site) dropped first, then, while a zero is left, the one with most."""
    zero = variance <= 0
    np.fill_diagonal(zero, False)
    keep = ~zero.all(axis=1) | (len(variance) == 1)
    while True:
        counts = (zero & keep[None, :]).sum(axis=1) * keep
        if not counts.any():
            return np.flatnonzero(keep)
        keep[np.argmax(counts)] = False


def _trigamma_inverse(value: float) -> float:
    """y with trigamma(y) = value (limma's Newton iteration, from 0.5 + 1 / value)."""
    from scipy.special import polygamma

    if value > 1e7:
        return 1.0 / np.sqrt(value)
    if value < 1e-6:
        return 1.0 / value
    y = 0.5 + 1.0 / value
    for _ in range(50):
        tri = polygamma(1, y)
        step = tri * (1 - tri / value) / polygamma(2, y)
        y += step
        if -step / y < 1e-8:
            break
    return float(y)


def _ratio(value: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """|value| / sd, infinite where sd is 0."""
    return np.divide(np.abs(value), sd, out=np.full(sd.shape, np.inf), where=sd > 0)


RESPONSE_ROWS = 20_000  # sites the response test ranks at most (a seeded sample beyond)


def response_pvalues(proba: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """(L,) one-sided Mann-Whitney p per species that `proba` (cross-fitted covariate-model
    probabilities) rank the sites where it was recorded above those where it was not: small when
    the covariates predict the species out of sample. 1.0 for a species at no site or every site.
    Normal approximation with a tie correction, over at most RESPONSE_ROWS sites."""
    from scipy.stats import norm, rankdata

    proba, labels = np.asarray(proba, dtype=np.float64), np.asarray(labels) > 0.5
    if len(proba) > RESPONSE_ROWS:
        rows = np.random.default_rng(seed).choice(len(proba), RESPONSE_ROWS, replace=False)
        proba, labels = proba[rows], labels[rows]
    n = len(proba)
    ranks = rankdata(proba, axis=0)
    positives = labels.sum(axis=0).astype(np.float64)
    negatives = n - positives
    u = (ranks * labels).sum(axis=0) - positives * (positives + 1) / 2
    ties = np.array([_tie_term(ranks[:, k]) for k in range(ranks.shape[1])])
    variance = positives * negatives / 12 * ((n + 1) - ties / max(n * (n - 1), 1))
    z = np.divide(u - positives * negatives / 2, np.sqrt(variance),
                  out=np.zeros_like(u), where=variance > 0)
    return np.where(variance > 0, norm.sf(z), 1.0)


def _tie_term(ranks: np.ndarray) -> float:
    """sum(t^3 - t) over groups of tied ranks, the Mann-Whitney variance's tie correction."""
    _, counts = np.unique(ranks, return_counts=True)
    return float((counts.astype(np.float64) ** 3 - counts).sum())


def _pair_counts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(L, L) sites where both species of a pair were recorded, (L,) sites of each, and the
    number of sites; counted in float64 (exact; an int64 product gets no BLAS)."""
    y = (np.asarray(labels) > 0.5).astype(np.float64)
    together = np.rint(y.T @ y)
    return together, np.diag(together).copy(), len(y)


def cooccurrence_pvalues(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veech (2013): P(K <= observed) and P(K >= observed) joint sites of every pair, where K is
    hypergeometric (N sites, n_i sites with species i, n_j draws): R cooccur's p_lt and p_gt."""
    from scipy.stats import hypergeom

    together, counts, n_sites = _pair_counts(labels)
    n_i, n_j = np.meshgrid(counts, counts, indexing="ij")
    p_lower = hypergeom.cdf(together, n_sites, n_i, n_j)
    p_upper = hypergeom.sf(together - 1, n_sites, n_i, n_j)
    for p in (p_lower, p_upper):
        np.fill_diagonal(p, 1.0)
    return np.clip(p_lower, 0.0, 1.0), np.clip(p_upper, 0.0, 1.0)


def directional_pvalue(labels: np.ndarray) -> np.ndarray:
    """One p per pair: p_gt where the pair co-occurs at least as often as expected, else p_lt
    (how R's cooccur classifies pairs as positive, negative or random). Only that tail, once per
    pair: the hypergeometric tails are the costly part at hundreds of species."""
    from scipy.stats import hypergeom

    together, counts, n_sites = _pair_counts(labels)
    first, second = np.triu_indices(len(counts), k=1)
    joint, n_first, n_second = together[first, second], counts[first], counts[second]
    above = joint >= n_first * n_second / max(n_sites, 1)
    pair_p = np.empty(joint.size)
    pair_p[above] = hypergeom.sf(joint[above] - 1, n_sites, n_first[above], n_second[above])
    below = ~above
    pair_p[below] = hypergeom.cdf(joint[below], n_sites, n_first[below], n_second[below])
    pvalues = np.ones_like(together)
    pvalues[first, second] = pvalues[second, first] = np.clip(pair_p, 0.0, 1.0)
    return pvalues


def bootstrap_sd(statistic, rows: np.ndarray, *, n_boot: int = 50, seed: int = 0) -> np.ndarray:
    """sd of `statistic(rows[resample])` over site bootstraps (at most BOOTSTRAP_ROWS sites per
    draw; the sd is rescaled by sqrt(draw / N) to all N sites)."""
    rng = np.random.default_rng(seed)
    n = len(rows)
    draw = min(n, BOOTSTRAP_ROWS)
    values = [statistic(rows[rng.integers(0, n, size=draw)]) for _ in range(n_boot)]
    return np.std(values, axis=0) * np.sqrt(draw / n)


@dataclass(frozen=True)
class Associations:
    """The four layers (L, L), their uncertainty, and what they were computed from."""

    label_names: list[str]
    learned: np.ndarray
    spread: np.ndarray  # sd of `learned` across the models (zeros for one)
    learned_sd: np.ndarray  # models' and sites' variation together
    environmental: np.ndarray
    environmental_sd: np.ndarray
    residual: np.ndarray
    residual_sd: np.ndarray
    cooccurrence: np.ndarray
    cooccurrence_p: np.ndarray
    n_models: int
    n_sites: int
    train_counts: np.ndarray  # (L,) training sites with each species
    # (L,) one-sided p that the covariates predict each species out of sample (None: not tested)
    response_p: np.ndarray | None = None
    # (L, L) the residual correlation's sd over surveys drawn without associations, and how many
    residual_null_sd: np.ndarray | None = None
    residual_null_df: np.ndarray | float = 0.0  # their degrees of freedom (`moderated_null_sd`)
    # each layer's p, computed once: a page asks for them several times per rerun (0.1 s at 500
    # species for the residual layer's t p)
    _pvalues: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def reliable_pairs(self) -> np.ndarray:
        """(L, L) bool: both species were recorded at >= MIN_RECORDS training sites."""
        frequent = self.train_counts >= MIN_RECORDS
        return np.outer(frequent, frequent)

    def layer(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def pvalues(self, name: str) -> np.ndarray:
        """(L, L) p per pair: Veech's for co-occurrence, else two-sided normal p of value / sd
        (for the residual layer also the null surveys' t p, `pair_pvalues`)."""
        if name == "cooccurrence":
            return self.cooccurrence_p
        if name not in self._pvalues:
            pvalues = pair_pvalues(self.layer(name), self.uncertainty(name),
                                   *self._null_terms(name))
            pvalues.flags.writeable = False  # shared by every caller
            self._pvalues[name] = pvalues
        return self._pvalues[name]

    def _null_terms(self, name: str) -> tuple:
        """(null sd, its degrees of freedom) for the residual layer, nothing for the others."""
        return (self.residual_null_sd, self.residual_null_df) if name == "residual" else ()

    def supported(self, name: str, alpha: float = 0.05, *, many_pairs: bool = False) -> np.ndarray:
        """(L, L) bool: both species well recorded and the pair's value tells from 0 at `alpha`
        (the learned layer also needs Veech-significant records of the same sign); with
        `many_pairs`, Benjamini-Hochberg over all pairs keeps the false discovery rate at alpha."""
        significant = _significant(self.pvalues(name), alpha, many_pairs)
        if name == "learned":  # it claims co-occurrence: the records must agree, in sign too
            significant &= _significant(self.cooccurrence_p, alpha, many_pairs) & (
                np.sign(self.cooccurrence) == np.sign(self.learned))
        if name == "environmental" and self.response_p is not None:
            responds = self.response_p < alpha  # a shared response needs a response
            significant &= np.outer(responds, responds)
        return significant & self.reliable_pairs()

    def smallest_supported(self, name: str, alpha: float = 0.05, *,
                           many_pairs: bool = False) -> float | None:
        """The median, over the pairs of well recorded species, of the smallest |value| that
        could be supported on layer `name` (not co-occurrence, whose Veech p is no value / sd):
        with Benjamini-Hochberg, at the level one more pair would need. None without such pairs.
        How strong an association must be for this survey to show it."""
        if name == "cooccurrence":
            return None
        upper = np.triu(self.reliable_pairs(), k=1)
        if not upper.any():
            return None
        level = alpha
        if many_pairs:
            tested = len(self.label_names) * (len(self.label_names) - 1) // 2
            passed = np.triu(_significant(self.pvalues(name), alpha, True), k=1).sum()
            level = alpha * (passed + 1) / tested
        return float(np.median(smallest_supported_value(self.uncertainty(name), level,
                                                        *self._null_terms(name))[upper]))

    def supported_fraction(self, name: str, alpha: float = 0.05, *,
                           many_pairs: bool = False) -> float:
        """The share of species pairs (upper triangle) that `supported` keeps."""
        count, pairs = self.supported_count(name, alpha, many_pairs=many_pairs)
        return count / pairs if pairs else 0.0

    def supported_count(self, name: str, alpha: float = 0.05, *,
                        many_pairs: bool = False) -> tuple[int, int]:
        """(pairs that `supported` keeps, species pairs), over the upper triangle."""
        upper = np.triu_indices(len(self.label_names), k=1)
        return int(self.supported(name, alpha, many_pairs=many_pairs)[upper].sum()), upper[0].size

    def without_response(self, alpha: float = 0.05) -> list[str]:
        """The species the covariates do not predict out of sample (response p >= alpha): the
        environmental layer supports none of their pairs."""
        if self.response_p is None:
            return []
        return [n for n, p in zip(self.label_names, self.response_p, strict=True) if p >= alpha]

    def uncertainty(self, name: str) -> np.ndarray:
        return self.cooccurrence_p if name == "cooccurrence" else getattr(self, f"{name}_sd")


def _significant(pvalues: np.ndarray, alpha: float, many_pairs: bool) -> np.ndarray:
    """p < alpha, or the Benjamini-Hochberg rejections over the upper triangle (symmetric)."""
    if not many_pairs:
        return pvalues < alpha
    upper = np.triu_indices(len(pvalues), k=1)
    p = pvalues[upper]
    order = np.argsort(p, kind="stable")
    passed = p[order] <= alpha * np.arange(1, p.size + 1) / max(p.size, 1)
    cut = np.flatnonzero(passed).max() + 1 if passed.any() else 0
    keep = np.zeros(p.size, dtype=bool)
    keep[order[:cut]] = True
    out = np.zeros(pvalues.shape, dtype=bool)
    out[upper] = keep
    return out | out.T


def model_layers(model, train_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A model's learned (implied co-occurrence) and environmental maps over training sites."""
    return layers_from_logits(model.predict_logits(train_features).astype(np.float64),
                              model_temperature(model))


def layers_from_logits(logits: np.ndarray, temperature: float = 1.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(learned, environmental) from (N, L) logits over the sites; the learned map from the
    probabilities calibrated by `temperature`."""
    return implied_cooccurrence(_sigmoid(logits / temperature)), column_correlation(logits)


def compute_associations(models: list, features: np.ndarray, labels: np.ndarray, *,
                         n_boot: int = 50, seed: int = 0) -> Associations:
    """All four layers from trained `models` and the TRAINING rows (`features`, `labels`)."""
    if not models:
        raise ValueError("need at least one model")
    features = np.asarray(features, dtype=np.float64)
    labels = (np.asarray(labels) > 0.5).astype(np.float64)
    temperatures = [model_temperature(m) for m in models]
    model_logits = [m.predict_logits(features).astype(np.float64) for m in models]  # once each
    # one logit matrix and one temperature per model: equal lengths
    per_model = [layers_from_logits(lg, t)
                 for lg, t in zip(model_logits, temperatures, strict=True)]
    learned = np.mean([p[0] for p in per_model], axis=0)
    environmental = np.mean([p[1] for p in per_model], axis=0)
    spread = np.std([p[0] for p in per_model], axis=0)
    env_spread = np.std([p[1] for p in per_model], axis=0)
    logits = np.mean([lg / t for lg, t in zip(model_logits, temperatures, strict=True)], axis=0)
    rows = np.arange(len(features))
    n_labels = labels.shape[1]
    n_boot = bootstrap_draws(len(rows), n_labels, n_boot)
    learned_boot = bootstrap_sd(lambda r: implied_cooccurrence(_sigmoid(logits[r])), rows,
                                n_boot=n_boot, seed=seed)
    env_boot = bootstrap_sd(lambda r: column_correlation(logits[r]), rows, n_boot=n_boot, seed=seed)
    covariate_proba, fold_models = crossfit_covariate_models(features, labels, seed=seed)
    estimation_sd = response_estimation_sd(fold_models, features, seed=seed)
    residuals = labels - covariate_proba
    null_sd, null_df = moderated_null_sd(*residual_null_sd(features, fold_models, seed=seed),
                                         response_overlap(covariate_proba))
    residual_sd = np.maximum(
        bootstrap_sd(lambda r: column_correlation(residuals[r]), rows, n_boot=n_boot, seed=seed),
        null_sd)
    return Associations(
        label_names=list(models[0].label_names), learned=learned, spread=spread,
        learned_sd=np.hypot(spread, learned_boot), environmental=environmental,
        environmental_sd=np.sqrt(env_spread**2 + env_boot**2 + estimation_sd**2),
        residual=column_correlation(residuals), residual_sd=residual_sd,
        cooccurrence=column_correlation(labels),
        cooccurrence_p=directional_pvalue(labels), n_models=len(models), n_sites=len(features),
        train_counts=labels.sum(axis=0),
        response_p=response_pvalues(covariate_proba, labels, seed=seed),
        residual_null_sd=null_sd, residual_null_df=null_df)


def bootstrap_draws(n_sites: int, n_species: int, n_boot: int = 50) -> int:
    """How many bootstrap draws `compute_associations` makes: `n_boot`, fewer (>= 10) when one
    draw's (L, L) products cost more than BOOTSTRAP_FLOPS / n_boot."""
    return int(np.clip(BOOTSTRAP_FLOPS / (min(n_sites, BOOTSTRAP_ROWS) * n_species**2), 10,
                       n_boot))


# Seconds per unit of work of `compute_associations`, fitted (non-negative least squares) to its
# timings alone on one core of the 2-core AMD vm, 2026-12-06: wood_fungi, swiss_birds,
# uk_butterflies, ontario_birds and simulated 2,000-20,000 sites x 100-500 species (Newton), and
# scene and enron (L-BFGS); the covariate model's rates x 1.4 on 2026-12-07, when
# benchmarks/association_cost.py found the whole computation 1.15-1.55x the estimate on 6 of 7
# sets (ontario_birds' 11,657 sites x 20 species 2.9x) once the null surveys were added; after,
# 0.70-1.17x (ontario_birds 1.6x; the same benchmark run again: its times vary 25% run to run).
SECONDS_PER_SITE_SPECIES = 1.8e-6  # the covariate model's probabilities and losses
SECONDS_PER_NEWTON_GRAM = 1.7e-9  # per site x species x design width^2 (its Hessians)
SECONDS_PER_LBFGS_INPUT = 7e-7  # per site x species x design width (about 500 L-BFGS steps)
SECONDS_PER_PAIR = 3e-6  # co-occurrence p-values
SECONDS_PER_BOOTSTRAP_PRODUCT = 1.1e-10  # per draw x site x species^2


def expected_seconds(features: np.ndarray, n_species: int) -> float:
    """About how long `compute_associations` takes on these training `features` with
    `n_species` labels and one model, on one core of a 2-core machine with nothing else running
    (model logits not included)."""
    n_sites = len(features)
    draws = null_draws(features, n_species)
    # one cross-fit over all sites, `draws` more over NULL_ROWS at most (residual_null_sd)
    covariates = (crossfit_seconds(features, n_species)
                  + draws * crossfit_seconds(features[:NULL_ROWS], n_species))
    # the unit is one draw of each of the 3 bootstraps; a cross-fit fold adds one correlation
    products = bootstrap_draws(n_sites, n_species) + CROSSFIT_FOLDS / 3
    return (covariates + SECONDS_PER_PAIR * n_species**2
            + SECONDS_PER_BOOTSTRAP_PRODUCT * n_species**2 * (
                products * min(n_sites, BOOTSTRAP_ROWS) + draws * min(n_sites, NULL_ROWS)))


def crossfit_seconds(features: np.ndarray, n_species: int) -> float:
    """About how long `crossfit_covariate_models` takes on these sites (one core, alone)."""
    width = features.shape[1] + int(curved_columns(np.asarray(features)).sum()) + 1
    return len(features) * n_species * (
        SECONDS_PER_SITE_SPECIES + SECONDS_PER_NEWTON_GRAM * width**2
        if width <= NEWTON_MAX_INPUTS else SECONDS_PER_LBFGS_INPUT * width)


def null_draws(features: np.ndarray, n_species: int) -> int:
    """How many surveys `residual_null_sd` draws: NULL_DRAWS, fewer (>= MIN_NULL_DRAWS) when
    their cross-fits would take longer than NULL_SECONDS."""
    one = crossfit_seconds(features[:NULL_ROWS], n_species)
    return int(np.clip(NULL_SECONDS // max(one, 1e-9), MIN_NULL_DRAWS, NULL_DRAWS))


def stability(maps: list[np.ndarray], keep: np.ndarray | None = None) -> float | None:
    """Mean pairwise Spearman between the off-diagonal parts of several models' maps."""
    if len(maps) < 2:
        return None
    keep = np.ones(len(maps[0]), dtype=bool) if keep is None else keep
    pairs = [(a, b) for a in range(len(maps)) for b in range(a + 1, len(maps))]
    return float(np.mean([rank_agreement(_sub(maps[a], keep), _sub(maps[b], keep))
                          for a, b in pairs]))


def rank_agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman correlation of the off-diagonal upper triangles of two (L, L) matrices."""
    from scipy.stats import spearmanr

    upper = np.triu_indices(len(first), k=1)
    a, b = np.asarray(first)[upper], np.asarray(second)[upper]
    finite = np.isfinite(a) & np.isfinite(b)
    if finite.sum() < 3 or np.ptp(a[finite]) == 0 or np.ptp(b[finite]) == 0:
        return float("nan")
    return float(spearmanr(a[finite], b[finite]).statistic)


def _sub(matrix: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return np.asarray(matrix)[np.ix_(keep, keep)]


def well_observed(train_labels: np.ndarray, test_labels: np.ndarray, *, min_train: int = 5,
                  min_test: int = 2) -> np.ndarray:
    """(L,) bool: species seen at least `min_train` times in train and `min_test` in test."""
    return ((np.asarray(train_labels) > 0.5).sum(axis=0) >= min_train) & (
        (np.asarray(test_labels) > 0.5).sum(axis=0) >= min_test)


def heldout_agreement(learned: np.ndarray, train_labels: np.ndarray,
                      test_labels: np.ndarray) -> dict:
    """Spearman of `learned` with the test rows' phi, and of the training rows' phi with it
    (the counting baseline), over pairs of well-observed species."""
    keep = well_observed(train_labels, test_labels)
    test_phi = column_correlation(np.asarray(test_labels) > 0.5)
    train_phi = column_correlation(np.asarray(train_labels) > 0.5)
    return {"learned_vs_test_phi": rank_agreement(_sub(learned, keep), _sub(test_phi, keep)),
            "train_phi_vs_test_phi": rank_agreement(_sub(train_phi, keep), _sub(test_phi, keep)),
            "species_compared": int(keep.sum()), "test_rows": len(test_labels)}


FILES = {"learned": "learned.csv", "spread": "spread.csv", "environmental": "environmental.csv",
         "residual": "residual.csv", "cooccurrence": "cooccurrence.csv",
         "cooccurrence_p": "cooccurrence_p.csv", "learned_sd": "learned_sd.csv",
         "environmental_sd": "environmental_sd.csv", "residual_sd": "residual_sd.csv"}
P_LAYERS = ("learned", "environmental", "residual")  # also written as <layer>_p.csv


def safe_cell(text: str) -> str:
    """A name that a spreadsheet will not run as a formula (OWASP CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def square_frame(matrix: np.ndarray, label_names: list[str]):
    """An (L, L) matrix as a DataFrame indexed and headed by the label names, in data order."""
    import pandas as pd

    names = [safe_cell(str(n)) for n in label_names]
    return pd.DataFrame(np.asarray(matrix, dtype=np.float64), index=pd.Index(names, name="label"),
                        columns=names)


def write_associations(associations: Associations, out_dir, summary: dict) -> list:
    """Write every layer as a square CSV plus `summary.json` into `out_dir`; the paths written."""
    import json
    from pathlib import Path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for attribute, file_name in FILES.items():
        path = out_dir / file_name
        square_frame(getattr(associations, attribute), associations.label_names).to_csv(path)
        written.append(path)
    for layer in P_LAYERS:  # the p each pair is judged by (the page's "supported", before BH)
        path = out_dir / f"{layer}_p.csv"
        square_frame(associations.pvalues(layer), associations.label_names).to_csv(path)
        written.append(path)
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return [*written, path]
