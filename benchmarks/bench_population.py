"""Population training versus one model at a time, on Give Me Some Credit.

128 members, each an ``MLPClassifier(hidden_layer_sizes=(32, 16))`` recipe
trained for the same number of epochs on its own 5,000-row resample. Three
ways: ``fit_population``; a sequential loop of ``clone(est).fit``; a
sequential loop of skorch nets with the same architecture and optimizer. The
sequential loops are timed on a subset of members (per-member time is what
is compared). Also measures this machine's float32 matmul rate in the same
run, and the share of it that population training reaches.

Run: python benchmarks/bench_population.py [--members 128] [--epochs 20]
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch import NeuralNetClassifier

from sklearn_dshare import fit_population
from sklearn_dshare.datasets import load_give_me_some_credit


def matmul_gflops(n=2048, repeat=10):
    """Best-of float32 matmul rate of this machine, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def bare_step_gflops(sizes, members, batch, repeat=50):
    """GFLOP/s of forward + backward alone, for the same stacked network.

    No data gathering, no loss bookkeeping, no optimizer: the ceiling that
    population training of this architecture could reach on this machine.
    """
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(members, batch, sizes[0], generator=gen)
    y = (torch.rand(members, batch, 1, generator=gen) < 0.1).float()
    Ws = [
        torch.randn(members, a, b, generator=gen).mul_(0.1).requires_grad_()
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    bs = [torch.zeros(members, b, requires_grad=True) for b in sizes[1:]]

    def step():
        h = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            h = torch.baddbmm(b.unsqueeze(1), h, W)
            if i < len(Ws) - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(h, y)
        loss.backward()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    seconds = (time.perf_counter() - start) / repeat
    return mlp_training_flops(sizes, members * batch, 1) / seconds / 1e9


def mlp_training_flops(sizes, n_rows, epochs):
    """Forward + backward FLOPs of training a dense chain: about 3x the forward."""
    forward = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 3 * forward * n_rows * epochs


class Net(torch.nn.Module):
    """The MLPClassifier architecture as a torch module (logits out)."""

    def __init__(self, n_features=10, hidden=(32, 16)):
        super().__init__()
        sizes = [n_features, *hidden]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(sizes[-1], 2))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def evaluate(models, X_test, y_test, to_float32=False):
    X = X_test.astype(np.float32) if to_float32 else X_test
    acc, auc = [], []
    for m in models:
        proba = m.predict_proba(X)[:, 1]
        acc.append(np.mean((proba > 0.5) == y_test))
        auc.append(roc_auc_score(y_test, proba))
    return np.mean(acc), np.mean(auc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=128)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--sequential",
        type=int,
        default=16,
        help="members timed in each sequential loop",
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    X, y = load_give_me_some_credit()
    # Heavy-tailed ratios and counts: log1p, then standardize.
    prep = make_pipeline(
        FunctionTransformer(lambda Z: np.log1p(np.clip(Z, 0, None))), StandardScaler()
    )
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=20_000, random_state=0, stratify=y
    )
    prep.fit(X_pool)
    X_pool, X_test = prep.transform(X_pool), prep.transform(X_test)
    rng = np.random.default_rng(0)
    datasets = []
    for _ in range(args.members):
        rows = rng.choice(len(y_pool), size=args.rows, replace=False)
        datasets.append((X_pool[rows], y_pool[rows]))

    est = MLPClassifier(
        hidden_layer_sizes=(32, 16),
        max_iter=args.epochs,
        n_iter_no_change=args.epochs + 1,
        random_state=0,
    )
    gflops_peak = matmul_gflops()

    t = time.perf_counter()
    pop_models = fit_population(est, datasets, random_state=0)
    t_pop = (time.perf_counter() - t) / args.members

    k = min(args.sequential, args.members)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        sk_models = [
            clone(est).set_params(random_state=i).fit(*datasets[i]) for i in range(k)
        ]
        t_sk = (time.perf_counter() - t) / k

    t = time.perf_counter()
    sko_models = []
    for i in range(k):
        torch.manual_seed(i)
        net = NeuralNetClassifier(
            Net,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            optimizer__weight_decay=0.0,
            batch_size=200,
            max_epochs=args.epochs,
            train_split=None,
            verbose=0,
        )
        Xi, yi = datasets[i]
        sko_models.append(net.fit(Xi.astype(np.float32), yi))
    t_sko = (time.perf_counter() - t) / k

    flops = mlp_training_flops([X.shape[1], 32, 16, 1], args.rows, args.epochs)
    gflops_pop = flops / t_pop / 1e9
    rows = [
        ("fit_population", t_pop, *evaluate(pop_models[:k], X_test, y_test)),
        ("sklearn loop", t_sk, *evaluate(sk_models, X_test, y_test)),
        ("skorch loop", t_sko, *evaluate(sko_models, X_test, y_test, True)),
    ]
    print(
        f"{args.members} members x {args.rows} rows x {args.epochs} epochs, "
        f"MLP(32, 16), {torch.get_num_threads()} threads"
    )
    print("| method | s / member | speed-up of fit_population | test acc | test AUC |")
    print("|---|---:|---:|---:|---:|")
    for name, sec, acc, auc in rows:
        print(f"| {name} | {sec:.4f} | {sec / t_pop:.1f}x | {acc:.4f} | {auc:.4f} |")
    sizes = [X.shape[1], 32, 16, 1]
    gflops_bare = bare_step_gflops(sizes, min(args.members, 128), 200)
    print(
        f"\nmatmul rate (2048^2 float32): {gflops_peak:.1f} GFLOP/s; "
        f"population training: {gflops_pop:.1f} GFLOP/s "
        f"= {100 * gflops_pop / gflops_peak:.1f}% of it; bare stacked "
        f"forward + backward of the same network: {gflops_bare:.1f} GFLOP/s "
        f"= {100 * gflops_bare / gflops_peak:.1f}%"
    )


if __name__ == "__main__":
    main()
