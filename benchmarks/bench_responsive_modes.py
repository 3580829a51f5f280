"""Responsive attacker, exact (refit) versus fast (replicas), on defended targets.

Twenty Give Me Some Credit portfolios (10 per bin, 5,000 rows, provider
pool), each defended by its own CPIRobustClassifier fit (32 shadows, 6
rounds). Two responsive attackers with 64 shadows from the attacker pool:
"refit" trains every shadow as the target of its own defended fit, exactly
as the provider trains its model; "replicas" trains the shadows as members
of a few defended populations side by side.

Run: python benchmarks/bench_responsive_modes.py [--access black-box]
"""

import argparse
import time
import warnings

from _common import credit_mlp, credit_pools, set_threads
from sklearn.base import clone

from sklearn_dshare import (
    CPIRobustClassifier,
    LabelRate,
    PrivacyLeakWarning,
    ResponsiveCPIAttack,
)
from sklearn_dshare.attack import sample_shadow_datasets
from sklearn_dshare.metrics import attack_report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--access", default="black-box")
    parser.add_argument("--targets-per-bin", type=int, default=10)
    parser.add_argument("--shadows", type=int, default=64)
    args = parser.parse_args()
    set_threads(2)
    warnings.simplefilter("ignore", PrivacyLeakWarning)
    (Xp, yp), (Xa, ya), _ = credit_pools()
    prop = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
    est = credit_mlp(30)
    clf = CPIRobustClassifier(
        est, prop, access=args.access, n_shadow_models=32, n_rounds=6, random_state=0
    )
    portfolios, bins = sample_shadow_datasets(
        prop, Xp, yp, 2 * args.targets_per_bin, 5000, 0
    )
    start = time.perf_counter()
    fits = [
        clone(clf).set_params(random_state=100 + i).fit(X, y)
        for i, (X, y) in enumerate(portfolios)
    ]
    print(f"{len(fits)} defended targets in {time.perf_counter() - start:.0f} s\n")
    print("| access | responsive mode | accuracy | 95% interval | AUC | s |")
    print("|---|---|---:|---|---:|---:|")
    for mode in ("refit", "replicas"):
        start = time.perf_counter()
        attack = ResponsiveCPIAttack(
            est,
            prop,
            access=args.access,
            n_shadow_models=args.shadows,
            shadow_size=fits[0].n_samples_fit_,
            defense=clf,
            responsive_mode=mode,
            random_state=0,
        ).fit(Xa, ya)
        r = attack_report(attack, [f.estimator_ for f in fits], bins)
        print(
            f"| {args.access} | {mode} | {r['accuracy']:.2f} | "
            f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}] | {r['auc']:.2f} | "
            f"{time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
