"""Peak memory of a defended fit and of an attack as the shadow population grows.

Every configuration runs in a fresh process, which reports its peak resident
set size (``ru_maxrss``) and its resident size before the fit; their
difference is what the fit added. The data is 5,000 Give Me Some Credit rows
(the provider's portfolio of the other benchmarks), saved once and loaded
by each process as a small array, so loading the dataset does not set the
peak. Shadows are as large as the portfolio.

- defense: CPIRobustClassifier, MLPClassifier (32, 16), 2 rounds; its
  members are trained together (the privacy loss couples them), so the
  whole population is in memory at once.
- attack: the classic black-box ResponsiveCPIAttack on the provider pool
  (60,000 rows), shadows of 5,000 rows; they train in chunks of at most 10
  million (member, row) pairs.

The stacked training data alone takes members x rows x features x 4 bytes;
the table prints it next to the measured increase.

Run: python benchmarks/bench_memory.py [--shadows 128,256,512,1024]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import credit_mlp, credit_pools, set_threads

BINS = [(0.04, 0.06), (0.08, 0.10)]


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def child(kind, n_shadows, data_path):
    from sklearn_dshare import (
        CPIRobustClassifier,
        LabelRate,
        PrivacyLeakWarning,
        ResponsiveCPIAttack,
    )

    set_threads(2)
    warnings.simplefilter("ignore", PrivacyLeakWarning)
    data = np.load(data_path)
    prop = LabelRate(bins=BINS)
    if kind == "defense":
        X, y = data["X"], data["y"]
        estimator = CPIRobustClassifier(
            credit_mlp(30),
            prop,
            n_shadow_models=n_shadows,
            n_rounds=2,
            tol=0.0,
            random_state=0,
        )
    else:
        X, y = data["X_pool"], data["y_pool"]
        estimator = ResponsiveCPIAttack(
            credit_mlp(30),
            prop,
            n_shadow_models=n_shadows,
            shadow_size=len(data["y"]),
            random_state=0,
        )
    before = current_mib()
    start = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - start
    print(json.dumps({"before": before, "peak": peak_mib(), "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shadows", default="128,256,512,1024")
    parser.add_argument("--kinds", default="defense,attack")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n_shadows, path = args.child
        child(kind, int(n_shadows), path)
        return

    (Xp, yp), _, _ = credit_pools()
    rows = (
        np.flatnonzero(yp == 1)[:250].tolist() + np.flatnonzero(yp == 0)[:4750].tolist()
    )
    X, y = Xp[rows], yp[rows]  # 5% defaults, inside the first bin
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "portfolio.npz"
        np.savez(path, X=X, y=y, X_pool=Xp, y_pool=yp)
        print(
            "| fit | shadows | stacked data (MiB) | RSS before (MiB) | peak RSS (MiB) "
            "| added (MiB) | seconds |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for kind in args.kinds.split(","):
            for n_shadows in [int(s) for s in args.shadows.split(",")]:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        kind,
                        str(n_shadows),
                        str(path),
                    ],
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    sys.exit(out.stderr)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                members = n_shadows + (kind == "defense")
                stacked = members * len(y) * X.shape[1] * 4 / 2**20
                print(
                    f"| {kind} | {n_shadows} | {stacked:.0f} | {result['before']:.0f} "
                    f"| {result['peak']:.0f} | {result['peak'] - result['before']:.0f} "
                    f"| {result['seconds']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
