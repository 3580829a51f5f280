"""Command line: ``python -m sklearn_dshare demo`` and ``... audit MODEL.pkl``.

``demo`` shows the whole story on Give Me Some Credit: a provider's credit
model leaks its portfolio's default rate; the defended model does not, even
to an attacker who knows the defense.

``audit`` attacks a model the user already has and reports what it leaks.
"""

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_BINS = "0.04-0.06,0.08-0.10"


class CommandError(Exception):
    """An error whose message is the whole story for the user."""


def parse_property(spec):
    """A confidential property from ``KIND[:COLUMN[=CATEGORY]]:LO-HI,LO-HI,...``.

    ``label-rate:0.04-0.06,0.08-0.10`` is the default rate in two bins;
    ``feature-mean:3:30-40,50-60`` the mean of column 3;
    ``feature-rate:2=1:0.1-0.3,0.6-0.9`` the share of rows with column 2 == 1.
    """
    from .properties import FeatureMean, FeatureRate, LabelRate

    parts = spec.split(":")
    kind, bins_text = parts[0], parts[-1]
    try:
        bins = [
            tuple(float(v) for v in item.split("-")) for item in bins_text.split(",")
        ]
    except ValueError:
        raise CommandError(
            f"cannot read the bins {bins_text!r}; write them as LO-HI pairs "
            "separated by commas, e.g. 0.04-0.06,0.08-0.10"
        ) from None
    if kind == "label-rate" and len(parts) == 2:
        return LabelRate(bins=bins)
    if kind == "feature-mean" and len(parts) == 3:
        return FeatureMean(column=_column(parts[1]), bins=bins)
    if kind == "feature-rate" and len(parts) == 3 and "=" in parts[1]:
        column, category = parts[1].split("=", 1)
        return FeatureRate(column=_column(column), category=float(category), bins=bins)
    raise CommandError(
        f"cannot read the property {spec!r}; use label-rate:BINS, "
        "feature-mean:COLUMN:BINS or feature-rate:COLUMN=VALUE:BINS"
    )


def _column(text):
    return int(text) if text.lstrip("-").isdigit() else text


def _load_data(name):
    from .datasets import load_credit_data, load_give_me_some_credit

    if name == "give-me-some-credit":
        return load_give_me_some_credit()
    if name == "credit-data":
        return load_credit_data()
    path = Path(name)
    if not path.is_file():
        raise CommandError(
            f"no data file {name!r}; pass give-me-some-credit, credit-data, or "
            "a CSV file whose last column is the label"
        )
    table = np.genfromtxt(path, delimiter=",", skip_header=1)
    if table.ndim != 2 or table.shape[1] < 2 or np.isnan(table).any():
        raise CommandError(
            f"{name} must be a numeric CSV with a header row, no missing values, "
            "and the label in its last column"
        )
    return table[:, :-1], table[:, -1].astype(int)


def _report_rows(rows):
    print(
        "| target | attack | accuracy | 95% interval | attack AUC | target AUC "
        "| s (fits + attack) |"
    )
    print("|---|---|---:|---|---:|---:|---:|")
    for target, attack, report, target_auc, seconds in rows:
        print(
            f"| {target} | {attack} | {report['accuracy']:.2f} | "
            f"[{report['ci_low']:.2f}, {report['ci_high']:.2f}] | "
            f"{report['auc']:.2f} | {target_auc:.4f} | {seconds:.0f} |"
        )


def _demo(args):
    import warnings

    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.neural_network import MLPClassifier

    from .attack import ResponsiveCPIAttack, sample_shadow_datasets
    from .datasets import load_give_me_some_credit
    from .defense import CPIRobustClassifier, PrivacyLeakWarning
    from .metrics import attack_report
    from .preprocessing import credit_preprocessor

    start = time.perf_counter()
    X, y = load_give_me_some_credit()
    print(
        f"Give Me Some Credit: {X.shape[0]:,} borrowers, {X.shape[1]} features, "
        f"default rate {y.mean():.2%}"
    )
    rng = np.random.default_rng(args.random_state)
    order = rng.permutation(len(y))
    X = credit_preprocessor().fit(X[order[:100_000]]).transform(X)
    provider, attacker, test = order[:50_000], order[50_000:100_000], order[100_000:]
    prop = parse_property(f"label-rate:{args.bins}")
    model = MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=args.epochs)
    clf = CPIRobustClassifier(
        model,
        prop,
        access=args.access,
        defense_strength=args.defense_strength,
        n_rounds=args.rounds,
        n_shadow_models=args.shadows,
        random_state=args.random_state,
    )
    print(
        f"Confidential question: is the portfolio's default rate in "
        f"{' or '.join(f'[{lo:.0%}, {hi:.0%}]' for lo, hi in prop.intervals)}? "
        f"{args.targets} portfolios of {args.portfolio_size:,} loans per bin."
    )
    portfolios, bins = sample_shadow_datasets(
        prop,
        X[provider],
        y[provider],
        args.targets * prop.n_bins,
        args.portfolio_size,
        args.random_state,
    )
    undefended, defended = [], []
    target_seconds = {"undefended": 0.0, "defended": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        for i, (Xp, yp) in enumerate(portfolios):
            for name, strength, models in (
                ("undefended", 0.0, undefended),
                ("defended", None, defended),
            ):
                t = time.perf_counter()
                fit = clone(clf).set_params(random_state=args.random_state + i)
                if strength is not None:
                    fit.set_params(defense_strength=strength)
                models.append(fit.fit(Xp, yp))
                target_seconds[name] += time.perf_counter() - t
    X_test, y_test = X[test], y[test]

    def target_auc(fits):
        return np.mean(
            [roc_auc_score(y_test, f.predict_proba(X_test)[:, 1]) for f in fits]
        )

    rows = []
    size = defended[0].n_samples_fit_
    for attack_name, defense in (("classic", None), ("responsive", clf)):
        t = time.perf_counter()
        attack = ResponsiveCPIAttack(
            model,
            prop,
            access=args.access,
            # The responsive attacker refits the defense once per shadow.
            n_shadow_models=4 * args.shadows if defense is None else args.shadows,
            shadow_size=size,
            defense=defense,
            random_state=args.random_state,
        ).fit(X[attacker], y[attacker])
        seconds = time.perf_counter() - t
        targets = [("defended", defended)]
        if defense is None:
            targets.insert(0, ("undefended", undefended))
        for target_name, fits in targets:
            report = attack_report(attack, [f.estimator_ for f in fits], bins)
            rows.append(
                (
                    target_name,
                    f"{attack_name} {args.access}",
                    report,
                    target_auc(fits),
                    seconds + target_seconds[target_name],
                )
            )
    print()
    _report_rows(rows)
    chance = 1 / prop.n_bins
    print(
        f"\nChance is {chance:.2f}. Mean predicted default rate: undefended "
        f"{np.mean([f.predict_proba(X_test)[:, 1].mean() for f in undefended]):.2%}"
        f", defended "
        f"{np.mean([f.predict_proba(X_test)[:, 1].mean() for f in defended]):.2%}"
        f" (test set {y_test.mean():.2%})."
    )
    _save_figure(args.out, rows, chance)
    print(f"Total {time.perf_counter() - start:.0f} s.")
    return 0


def _save_figure(out, rows, chance):
    """Leakage per (target, attack) with intervals; skipped without matplotlib."""
    try:
        from .display import LeakageDisplay
    except ImportError:  # pragma: no cover - display lands with the plot extra
        return
    try:
        display = LeakageDisplay.from_report(
            {f"{target}, {attack}": report for target, attack, report, *_ in rows}
        )
    except ImportError:
        print(
            "matplotlib is not installed; no figure (pip install "
            "'sklearn-dshare[plot]')."
        )
        return
    display.figure_.savefig(out, bbox_inches="tight", dpi=120)
    print(f"Figure saved to {out}.")


def _audit(args):
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from ._adapters import get_adapter
    from .attack import classic_attacks

    path = Path(args.model)
    if not path.is_file():
        raise CommandError(f"no model file {args.model!r}")
    with path.open("rb") as handle:
        model = pickle.load(handle)
    X, y = _load_data(args.data)
    if isinstance(model, Pipeline):
        # Attack the final model on the features it sees.
        X, model = model[:-1].transform(X), model[-1]
    try:
        get_adapter(model)
    except TypeError as exc:
        raise CommandError(str(exc)) from None
    prop = parse_property(args.property)
    recipe = clone(model)
    attacks = classic_attacks(
        recipe,
        prop,
        n_shadow_models=args.shadows,
        shadow_size=args.shadow_size,
        random_state=0,
    )
    print(
        f"Auditing {path.name} ({type(model).__name__}) for "
        f"{type(prop).__name__} bins {prop.intervals} with {args.shadows} "
        f"shadows of {args.shadow_size} rows each.\n"
    )
    print("| attack | predicted bin | confidence | shadow accuracy (held out) | s |")
    print("|---|---:|---:|---:|---:|")
    held_out = np.arange(len(y)) % 2 == 1
    for name, attack in attacks.items():
        t = time.perf_counter()
        attack.fit(X[~held_out], y[~held_out])
        proba = attack.predict_proba([model])[0]
        check = _held_out_check(attack, X[held_out], y[held_out], prop)
        guess = int(np.argmax(proba))
        print(
            f"| {name} | {guess} {prop.intervals[guess]}"
            f" | {proba.max():.2f} | {check['accuracy']:.2f} "
            f"[{check['ci_low']:.2f}, {check['ci_high']:.2f}] | "
            f"{time.perf_counter() - t:.0f} |"
        )
    print(
        "\nThe held-out accuracy is the attack's accuracy on fresh models of "
        "the same recipe, trained on the other half of the data: how much "
        "to trust its guess. Chance is "
        f"{1 / prop.n_bins:.2f}."
    )
    return 0


def _held_out_check(attack, X, y, prop):
    from .attack import sample_shadow_datasets
    from .metrics import attack_report
    from .population import fit_population

    datasets, bins = sample_shadow_datasets(
        prop, X, y, 10 * prop.n_bins, attack.shadow_size, 1
    )
    models = fit_population(attack.estimator, datasets, random_state=1)
    return attack_report(attack, models, bins)


def main(argv=None):
    """Entry point of ``python -m sklearn_dshare`` and ``sklearn-dshare``."""
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_dshare",
        description="Share credit models without leaking confidential "
        "properties of their training data.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="defend a credit model and attack it, on Give Me Some Credit"
    )
    demo.add_argument(
        "--access", choices=["black-box", "white-box"], default="black-box"
    )
    demo.add_argument("--defense-strength", type=float, default=1.0)
    demo.add_argument(
        "--out",
        default="sklearn_dshare_demo.png",
        help="where to save the figure (PNG)",
    )
    demo.add_argument(
        "--bins",
        default=DEFAULT_BINS,
        help="default-rate bins, e.g. 0.04-0.06,0.08-0.10",
    )
    demo.add_argument(
        "--targets", type=int, default=3, help="provider portfolios per bin (default 3)"
    )
    demo.add_argument("--portfolio-size", type=int, default=5000)
    demo.add_argument(
        "--shadows",
        type=int,
        default=32,
        help="shadows of each defended fit and of the responsive attack; "
        "the classic attack uses 4x",
    )
    demo.add_argument("--rounds", type=int, default=6)
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--random-state", type=int, default=0)

    audit = commands.add_parser("audit", help="attack a pickled model")
    audit.add_argument("model", help="a pickled fitted model or Pipeline")
    audit.add_argument(
        "--data",
        required=True,
        help="the attacker's data: give-me-some-credit, "
        "credit-data, or a numeric CSV (label last)",
    )
    audit.add_argument(
        "--property", required=True, help="e.g. label-rate:0.04-0.06,0.08-0.10"
    )
    audit.add_argument(
        "--shadow-size",
        type=int,
        default=5000,
        help="rows the model was trained on (default 5000)",
    )
    audit.add_argument("--shadows", type=int, default=128)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        return _audit(args)
    except (CommandError, ImportError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
