"""Measures of leakage: how well an attack reads the confidential property."""

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

__all__ = ["attack_report", "wilson_interval"]


def wilson_interval(n_correct, n_total, confidence=0.95):
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    n_correct : int
    n_total : int
    confidence : float, default=0.95

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    >>> low, high = wilson_interval(50, 100)
    >>> round(low, 3), round(high, 3)
    (0.404, 0.596)
    """
    if n_total <= 0:
        raise ValueError("wilson_interval needs at least one trial.")
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = n_correct / n_total
    denominator = 1 + z**2 / n_total
    center = (p + z**2 / (2 * n_total)) / denominator
    half = z * np.sqrt(p * (1 - p) / n_total + z**2 / (4 * n_total**2)) / denominator
    return float(center - half), float(center + half)


def attack_report(attack, models, bins, *, confidence=0.95):
    """Accuracy with a Wilson interval, chance level and AUC of an attack.

    Parameters
    ----------
    attack : fitted attack
        Any of :class:`~sklearn_dshare.ResponsiveCPIAttack`,
        :class:`~sklearn_dshare.MeanOutputAttack`,
        :class:`~sklearn_dshare.KLDivergenceAttack`.
    models : list of fitted estimators or Population
        The targets.
    bins : array-like of shape (n_models,)
        The true bin of each target.
    confidence : float, default=0.95

    Returns
    -------
    report : dict
        ``accuracy``, ``ci_low``, ``ci_high`` (Wilson interval), ``chance``
        (the share of the most common true bin: what always guessing it
        scores; 1/k for balanced bins), ``auc`` (one-vs-rest macro average
        for more than two bins; NaN when the targets hold one bin only) and
        ``n_models``.
    """
    bins = np.asarray(bins)
    proba = attack.predict_proba(models)
    if len(bins) != len(proba):
        raise ValueError(f"Got {len(proba)} models but {len(bins)} bins.")
    predicted = attack.classes_[proba.argmax(1)]
    n_correct = int(np.sum(predicted == bins))
    low, high = wilson_interval(n_correct, len(bins), confidence)
    present = np.unique(bins)
    if len(present) < 2:
        auc = float("nan")
    elif proba.shape[1] == 2:
        auc = roc_auc_score(bins, proba[:, 1])
    else:
        sub = proba[:, present] / proba[:, present].sum(1, keepdims=True)
        auc = roc_auc_score(bins, sub if len(present) > 2 else sub[:, 1],
                            multi_class="ovr", labels=present)
    return {
        "accuracy": n_correct / len(bins),
        "ci_low": low,
        "ci_high": high,
        "chance": float(np.max(np.bincount(bins)) / len(bins)),
        "auc": float(auc),
        "n_models": int(len(bins)),
    }
