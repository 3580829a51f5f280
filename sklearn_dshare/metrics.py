"""Measures of leakage: how well an attack reads the confidential property."""

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

__all__ = [
    "attack_report",
    "leakage_gap",
    "make_leakage_scorer",
    "most_private_within",
    "wilson_interval",
]


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
    if not 0 <= n_correct <= n_total:
        raise ValueError(
            f"n_correct must lie in [0, n_total] = [0, {n_total}], got {n_correct}."
        )
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = n_correct / n_total
    denominator = 1 + z**2 / n_total
    center = (p + z**2 / (2 * n_total)) / denominator
    half = z * np.sqrt(p * (1 - p) / n_total + z**2 / (4 * n_total**2)) / denominator
    # Exact at the ends, where rounding would step outside [0, 1].
    low = 0.0 if n_correct == 0 else max(0.0, float(center - half))
    high = 1.0 if n_correct == n_total else min(1.0, float(center + half))
    return low, high


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
        sub = proba[:, present]
        if len(present) < proba.shape[1]:
            # Some bins hold no target: renormalize over the ones present.
            sub = sub / sub.sum(1, keepdims=True)
        auc = roc_auc_score(
            bins,
            sub if len(present) > 2 else sub[:, 1],
            multi_class="ovr",
            labels=present,
        )
    return {
        "accuracy": n_correct / len(bins),
        "ci_low": low,
        "ci_high": high,
        "chance": float(np.max(np.bincount(bins)) / len(bins)),
        "auc": float(auc),
        "n_models": int(len(bins)),
    }


def _defended(estimator):
    """The CPIRobustClassifier in ``estimator``: itself, or a pipeline's last step."""
    while not hasattr(estimator, "leakage_"):
        if hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        else:
            raise TypeError(
                f"{type(estimator).__name__} has no leakage_: the leakage scorer "
                "reads a fitted CPIRobustClassifier, alone or as a pipeline's "
                "last step."
            )
    return estimator


def leakage_gap(leakage, leakage_auc, chance):
    """How far an attack is from guessing: ``max(|acc - chance|, |AUC - 0.5|)``.

    Both sides count: an attack far *below* chance, or with an AUC far below
    0.5, separates the bins with the labels flipped, which is as good as
    reading them. A NaN AUC (one bin only) is left out.
    """
    gap = abs(float(leakage) - chance)
    if np.isfinite(leakage_auc):
        gap = max(gap, abs(float(leakage_auc) - 0.5))
    return gap


def make_leakage_scorer():
    """A scorer for ``GridSearchCV``: minus the held-out leakage gap.

    The score is ``-leakage_gap(leakage_, leakage_auc_, chance)`` read off
    the fitted :class:`~sklearn_dshare.CPIRobustClassifier` (alone or as the
    last step of a pipeline): 0 for a model whose simulated attacker does no
    better than guessing, negative otherwise (above chance, or below it,
    which means the bins are read with the labels flipped), so that greater
    is better as scikit-learn expects. It ignores the rows it is given:
    leakage is a property of the model's training, measured during ``fit``
    on held-out shadow models.

    Pair it with an accuracy or AUC scorer and :func:`most_private_within`
    as ``refit``, so the search does not simply pick the weakest defense.

    Examples
    --------
    >>> from sklearn_dshare.metrics import make_leakage_scorer, most_private_within
    >>> scoring = {"accuracy": "accuracy", "privacy": make_leakage_scorer()}
    >>> refit = most_private_within(0.01)  # doctest: +SKIP
    >>> GridSearchCV(clf, {"defense_strength": [0, 1, 4]}, scoring=scoring,
    ...              refit=refit)  # doctest: +SKIP
    """

    def leakage_score(estimator, X, y=None):
        clf = _defended(estimator)
        chance = 1.0 / clf.confidential_property.n_bins
        return -leakage_gap(clf.leakage_, getattr(clf, "leakage_auc_", np.nan), chance)

    return leakage_score


def most_private_within(tolerance=0.01, *, utility="accuracy", privacy="privacy"):
    """A ``refit`` rule: the most private candidate close to the best utility.

    Parameters
    ----------
    tolerance : float, default=0.01
        How much mean test utility may be given up for privacy.
    utility, privacy : str
        Names of the two scorers in ``scoring``.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> index`` for ``GridSearchCV(refit=...)``; ties
        in privacy go to the higher utility.
    """

    def refit(cv_results):
        util = np.asarray(cv_results[f"mean_test_{utility}"], dtype=float)
        priv = np.asarray(cv_results[f"mean_test_{privacy}"], dtype=float)
        # Candidates whose scorers failed (NaN) cannot be chosen.
        scored = ~np.isnan(util) & ~np.isnan(priv)
        if not scored.any():
            raise ValueError("Every candidate has a NaN utility or privacy score.")
        eligible = np.flatnonzero(scored & (util >= np.max(util[scored]) - tolerance))
        best = max(eligible, key=lambda i: (priv[i], util[i]))
        return int(best)

    return refit
