"""Command line: ``python -m sklearn_dshare demo``.

The demo loads the Give Me Some Credit data, reports its size and default
rate, and trains the undefended credit model that later releases defend and
audit.
"""

import argparse
import sys
import time

import numpy as np


def _demo(args):
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from .datasets import load_give_me_some_credit
    from .population import fit_population
    from .preprocessing import credit_preprocessor

    X, y = load_give_me_some_credit()
    print(
        f"Give Me Some Credit: {X.shape[0]:,} borrowers, {X.shape[1]} features, "
        f"default rate {y.mean():.2%}"
    )
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=args.random_state
    )
    rng = np.random.default_rng(args.random_state)
    rows = rng.choice(len(y_pool), size=args.portfolio_size, replace=False)
    X_train, y_train = X_pool[rows], y_pool[rows]
    prep = credit_preprocessor().fit(X_train)
    print(
        f"Provider's portfolio: {len(y_train):,} loans, default rate "
        f"{y_train.mean():.2%}"
    )

    model = MLPClassifier(
        hidden_layer_sizes=(32, 16),
        max_iter=args.epochs,
        random_state=args.random_state,
    )
    start = time.perf_counter()
    (fitted,) = fit_population(
        model, [(prep.transform(X_train), y_train)], random_state=args.random_state
    )
    seconds = time.perf_counter() - start
    proba = fitted.predict_proba(prep.transform(X_test))[:, 1]
    print(
        f"Undefended MLPClassifier(32, 16): test accuracy "
        f"{np.mean((proba > 0.5) == y_test):.4f}, AUC "
        f"{roc_auc_score(y_test, proba):.4f}, mean predicted default "
        f"{proba.mean():.2%} ({seconds:.1f} s)"
    )
    return 0


def main(argv=None):
    """Entry point of ``python -m sklearn_dshare`` and ``sklearn-dshare``."""
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_dshare",
        description="Share credit models without leaking confidential "
        "properties of their training data.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="load Give Me Some Credit and train the undefended model"
    )
    demo.add_argument(
        "--portfolio-size",
        type=int,
        default=5000,
        help="loans in the provider's portfolio (default 5000)",
    )
    demo.add_argument("--epochs", type=int, default=50)
    demo.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return _demo(args)
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
