"""The arms race on a real portfolio: exact versus approximate, both access modes.

Give Me Some Credit; the provider's portfolio is 5,000 rows of the provider
pool with a default rate in [4%, 6%); the confidential question is "4-6% or
8-10%?". MLPClassifier (32, 16); 64 shadows; 10 rounds; defense_strength 1.
Reports, per configuration and averaged over seeds: wall time, the time saved
by the approximate strategy, the final held-out leakage (accuracy and AUC of
the meta-classifier fitted on one group of shadows and scored on the other),
and the target's test AUC and log loss next to the undefended model's.

With --fresh-targets N it also trains N independently defended targets per
bin and attacks them with a fresh responsive attacker (256 shadows from the
attacker pool, trained through the same defense) and a classic one.

Run: python benchmarks/bench_arms_race.py [--seeds 3] [--fresh-targets 0]
"""

import argparse
import time
import warnings

import numpy as np
from _common import credit_mlp, credit_pools, fmt_report, set_threads
from sklearn.metrics import log_loss, roc_auc_score

from sklearn_dshare import LabelRate
from sklearn_dshare.attack import ResponsiveCPIAttack, sample_shadow_datasets
from sklearn_dshare.defense import CPIRobustClassifier, PrivacyLeakWarning
from sklearn_dshare.metrics import attack_report


def test_scores(clf, X_test, y_test):
    proba = clf.predict_proba(X_test)[:, 1]
    return roc_auc_score(y_test, proba), log_loss(y_test, proba), proba.mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--shadows", type=int, default=64)
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--fresh-targets", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="black-box,white-box")
    args = parser.parse_args()
    set_threads(args.threads)
    warnings.simplefilter("ignore", PrivacyLeakWarning)
    (Xp, yp), (Xa, ya), (Xt, yt) = credit_pools()
    prop = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
    est = credit_mlp(args.epochs)

    def defense(access, approximate, seed, strength=args.strength):
        return CPIRobustClassifier(
            est,
            prop,
            access=access,
            defense_strength=strength,
            n_rounds=args.rounds,
            n_shadow_models=args.shadows,
            approximate=approximate,
            tol=0.0,
            random_state=seed,
        )

    print(
        f"MLP (32, 16), {args.epochs} epochs; 5,000-row portfolio; "
        f"{args.shadows} shadows; {args.rounds} rounds; strength "
        f"{args.strength}; {args.seeds} seeds; {args.threads} threads\n"
    )
    print(
        "| access | strategy | wall s | time saved | held-out leakage | "
        "leakage AUC | test AUC | test log loss | mean score |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    base = []
    for seed in range(args.seeds):
        X, y = prop.resample(Xp, yp, 0, 5000, random_state=seed)
        start = time.perf_counter()
        clf = defense("black-box", True, seed, strength=0.0).fit(X, y)
        base.append(
            (
                time.perf_counter() - start,
                *test_scores(clf, Xt, yt),
                clf.history_[0, "leakage"],
                clf.history_[0, "leakage_auc"],
            )
        )
    b = np.mean(base, axis=0)
    print(
        f"| - | undefended (round 0) | {b[0]:.1f} | | {b[4]:.3f} | {b[5]:.3f} "
        f"| {b[1]:.4f} | {b[2]:.4f} | {b[3]:.4f} |",
        flush=True,
    )
    for access in args.modes.split(","):
        times = {}
        for approximate in (False, True):
            rows = []
            for seed in range(args.seeds):
                X, y = prop.resample(Xp, yp, 0, 5000, random_state=seed)
                start = time.perf_counter()
                clf = defense(access, approximate, seed).fit(X, y)
                rows.append(
                    (
                        time.perf_counter() - start,
                        clf.leakage_,
                        clf.history_[-1, "leakage_auc"],
                        *test_scores(clf, Xt, yt),
                    )
                )
            r = np.mean(rows, axis=0)
            sd = np.std([row[1] for row in rows])
            times[approximate] = r[0]
            saved = "" if not approximate else f"{100 * (1 - r[0] / times[False]):.1f}%"
            name = "approximate" if approximate else "exact"
            print(
                f"| {access} | {name} | {r[0]:.1f} | {saved} | {r[1]:.3f} ± {sd:.3f} "
                f"| {r[2]:.3f} | {r[3]:.4f} | {r[4]:.4f} | {r[5]:.4f} |",
                flush=True,
            )

    if args.fresh_targets:
        print(
            "\nFresh attackers on independently defended targets "
            f"({args.fresh_targets} per bin, approximate strategy):\n"
        )
        print(
            "| access | attack | accuracy | 95% interval | AUC | chance | targets "
            "| fit s |"
        )
        print("|---|---|---:|---|---:|---:|---:|---:|")
        for access in args.modes.split(","):
            portfolios, bins = sample_shadow_datasets(
                prop, Xp, yp, 2 * args.fresh_targets, 5000, 7
            )
            fitted = [
                defense(access, True, 100 + i).fit(X, y)
                for i, (X, y) in enumerate(portfolios)
            ]
            targets = [clf.estimator_ for clf in fitted]
            targets_size = fitted[0].n_samples_fit_
            for name, responsive in (
                ("classic", None),
                ("responsive", defense(access, True, 0)),
            ):
                start = time.perf_counter()
                attack = ResponsiveCPIAttack(
                    est,
                    prop,
                    access=access,
                    n_shadow_models=256,
                    # the targets' training rows: the portfolio less validation
                    shadow_size=targets_size,
                    defense=responsive,
                    random_state=0,
                ).fit(Xa, ya)
                seconds = time.perf_counter() - start
                print(
                    fmt_report(
                        f"{access} | {name}",
                        attack_report(attack, targets, bins),
                        seconds,
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
