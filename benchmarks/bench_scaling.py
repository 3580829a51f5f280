"""How a defended fit grows with the portfolio and with the shadow population.

Give Me Some Credit (all 150,000 rows, scaled); the provider's portfolio is
the first n rows of a fixed shuffle, with its natural default rate (6.7%),
inside the first bin of "6-7.5% or 9-11%?". CPIRobustClassifier with
MLPClassifier (32, 16), black-box, 5 rounds, tol=0 so that every fit runs
every round, shadows as large as the portfolio.

Two sweeps: rows (5k, 20k, 75k) at 64 shadows, and shadows (32 .. 512) at
5k rows. The work of one round is proportional to members x rows, so the
table also gives microseconds per (member, row): flat means linear growth.
The slope of log(time) against log(size) is printed for each sweep. Each
point is the fastest of ``--repeats`` identical fits (the machine is noisy).

Run: python benchmarks/bench_scaling.py [--rows 5000,20000,75000]
     [--shadows 32,64,128,256,512] [--rounds 5]
"""

import argparse
import time
import warnings

import numpy as np
from _common import credit_mlp, set_threads

from sklearn_dshare import CPIRobustClassifier, LabelRate, PrivacyLeakWarning
from sklearn_dshare.datasets import load_give_me_some_credit
from sklearn_dshare.preprocessing import credit_preprocessor

BINS = [(0.06, 0.075), (0.09, 0.11)]


def portfolio(n_rows, random_state=0):
    X, y = load_give_me_some_credit()
    order = np.random.default_rng(random_state).permutation(len(y))[:n_rows]
    X = credit_preprocessor().fit(X[order]).transform(X[order])
    return X, y[order]


def timed_fit(X, y, n_shadows, rounds, repeats=1):
    """The fastest of ``repeats`` identical fits: seconds, and the fitted model."""
    clf = CPIRobustClassifier(
        credit_mlp(30),
        LabelRate(bins=BINS),
        n_shadow_models=n_shadows,
        n_rounds=rounds,
        tol=0.0,
        random_state=0,
    )
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clf.fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times), clf


def sweep(label, points, fit):
    print(f"\n| {label} | members x rows | seconds | us per (member, row) |")
    print("|---:|---:|---:|---:|")
    sizes, seconds = [], []
    for point in points:
        elapsed, clf = fit(point)
        work = (clf.n_shadow_models + 1) * clf.n_samples_fit_
        print(
            f"| {point:,} | {work:,} | {elapsed:.1f} | {1e6 * elapsed / work:.3f} |",
            flush=True,
        )
        sizes.append(point)
        seconds.append(elapsed)
    slope = np.polyfit(np.log(sizes), np.log(seconds), 1)[0]
    print(f"\nlog-log slope of seconds against {label}: {slope:.2f} (1 is linear)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5000,20000,75000")
    parser.add_argument("--shadows", default="32,64,128,256,512")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="fastest of n fits")
    args = parser.parse_args()
    set_threads(args.threads)
    warnings.simplefilter("ignore", PrivacyLeakWarning)
    rows = [int(r) for r in args.rows.split(",")]
    shadows = [int(s) for s in args.shadows.split(",")]
    data = {n: portfolio(n) for n in rows}
    small = data[min(rows)]
    timed_fit(*small, 8, 1)  # warm-up: imports, thread pools
    sweep("rows", rows, lambda n: timed_fit(*data[n], 64, args.rounds, args.repeats))
    sweep("shadows", shadows, lambda m: timed_fit(*small, m, args.rounds, args.repeats))


if __name__ == "__main__":
    main()
