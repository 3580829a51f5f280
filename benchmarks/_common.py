"""Shared set-up of the benchmarks: the Give Me Some Credit split, the recipe."""

import numpy as np
import torch
from sklearn.neural_network import MLPClassifier

from sklearn_dshare.datasets import load_give_me_some_credit
from sklearn_dshare.preprocessing import credit_preprocessor


def credit_pools(random_state=0):
    """Scaled Give Me Some Credit, split into disjoint provider and attacker pools.

    Returns ``(X_provider, y_provider), (X_attacker, y_attacker), (X_test, y_test)``:
    60,000 + 60,000 rows for the pools, 30,000 held out for utility.
    """
    X, y = load_give_me_some_credit()
    order = np.random.default_rng(random_state).permutation(len(y))
    X = credit_preprocessor().fit(X[order[:120_000]]).transform(X)
    provider, attacker, test = order[:60_000], order[60_000:120_000], order[120_000:]
    return (X[provider], y[provider]), (X[attacker], y[attacker]), (X[test], y[test])


def credit_mlp(epochs=30):
    """The benchmark recipe: MLPClassifier (32, 16), a fixed number of epochs."""
    return MLPClassifier(
        hidden_layer_sizes=(32, 16), max_iter=epochs, n_iter_no_change=epochs + 1
    )


def set_threads(n):
    torch.set_num_threads(n)
    return n


def fmt_report(name, report, seconds=None):
    """One markdown row of an attack report."""
    row = (
        f"| {name} | {report['accuracy']:.3f} | "
        f"[{report['ci_low']:.3f}, {report['ci_high']:.3f}] | "
        f"{report['auc']:.3f} | {report['chance']:.2f} | {report['n_models']}"
    )
    if seconds is not None:
        row += f" | {seconds:.1f}"
    return row + " |"
