"""How well each attack reads the default rate off undefended credit models.

Give Me Some Credit, split into disjoint provider and attacker pools. The
targets are MLPClassifier (32, 16) models trained on provider-pool resamples
of 5,000 rows whose default rate lies in known bins; every attack trains its
256 shadows on the attacker pool. Binary bins [4%, 6%) vs [8%, 10%], and a
3-bin case.

Run: python benchmarks/bench_attack.py [--targets-per-bin 50] [--shadows 256]
"""

import argparse
import time

from _common import credit_mlp, credit_pools, fmt_report, set_threads

from sklearn_dshare import LabelRate, fit_population
from sklearn_dshare.attack import classic_attacks, sample_shadow_datasets
from sklearn_dshare.metrics import attack_report

CASES = {
    "2 bins": [(0.04, 0.06), (0.08, 0.10)],
    "3 bins": [(0.03, 0.05), (0.06, 0.08), (0.09, 0.11)],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets-per-bin", type=int, default=50)
    parser.add_argument("--shadows", type=int, default=256)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default="2 bins,3 bins")
    args = parser.parse_args()
    set_threads(args.threads)
    (Xp, yp), (Xa, ya), _ = credit_pools()
    est = credit_mlp(args.epochs)
    print(
        f"MLP (32, 16), {args.epochs} epochs; portfolios of {args.size} rows; "
        f"{args.shadows} shadows; {args.threads} threads\n"
    )
    for case in args.cases.split(","):
        prop = LabelRate(bins=CASES[case])
        n_targets = args.targets_per_bin * prop.n_bins
        datasets, bins = sample_shadow_datasets(prop, Xp, yp, n_targets, args.size, 1)
        targets = fit_population(est, datasets, random_state=1)
        print(f"### {case}: {prop.intervals}, {n_targets} targets\n")
        print("| attack | accuracy | 95% interval | AUC | chance | targets | fit s |")
        print("|---|---:|---|---:|---:|---:|---:|")
        attacks = classic_attacks(
            est,
            prop,
            n_shadow_models=args.shadows,
            shadow_size=args.size,
            random_state=0,
        )
        for name, attack in attacks.items():
            start = time.perf_counter()
            attack.fit(Xa, ya)
            seconds = time.perf_counter() - start
            print(
                fmt_report(name, attack_report(attack, targets, bins), seconds),
                flush=True,
            )
        print()


if __name__ == "__main__":
    main()
