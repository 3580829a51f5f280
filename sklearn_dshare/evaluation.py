"""Judge a defense by the strongest attacker measured against it.

:func:`evaluate` runs the protocol of the design (section 5, "How we judge a
defense") for any defense object with the face of
:class:`~sklearn_dshare.CPIRobustClassifier`, and returns tidy rows: one per
attack and access mode, plus the undefended baseline. :func:`format_table`
and :func:`write_table` turn those rows into a markdown table and a CSV file.

The protocol, step by step. Threat model: the provider trains a model on a
*portfolio* of its own rows and shares it; the attacker holds auxiliary rows
of the same population and wants the bin of a confidential property of the
portfolio (a default rate, say). The two hold *disjoint* pools of rows:
``provider_data`` yields the targets' portfolios, ``attacker_data`` the
attacks' shadow datasets, and ``test_data``, disjoint from both, measures
utility.

Targets: ``targets_per_bin`` portfolios per bin are drawn from the provider
pool, and each is defended by its own, independent fit of a clone of the
defense (its own seed). Independence matters: the members of one defended
population (:meth:`defend_population`, or a defense's internal shadows) are
trained together and aligned with each other, so they are coupled; scoring
an attack on several members of one population would measure that one
alignment several times, not the defense. Separate fits give independent
trials, which the binomial interval on attack accuracy assumes. The same
portfolios are also fitted without any defense (the defense's base
``estimator``), the reference for utility and for the undefended leakage.

Attackers: every attack is fitted on the attacker pool and scored on all
targets:

- ``"classic"``: :class:`~sklearn_dshare.ResponsiveCPIAttack` whose shadows
  are trained normally;
- ``"responsive"``: the same attack with the shadows trained through the
  provider's defense (Kerckhoffs: the attacker knows the defense and its
  settings, though not the provider's rows or seed);
- ``"mean-output"`` (:class:`~sklearn_dshare.MeanOutputAttack`) and
  ``"kl-divergence"`` (:class:`~sklearn_dshare.KLDivergenceAttack`): attacks
  of other families, classic and reading outputs only.

The classic and responsive attacks run once per access mode. Shadows have
the targets' training size. All attacks share one seed, so they draw the
same shadow datasets and query rows: their differences come from the
attack, not from the draw.

Report: attack accuracy with a 95% Wilson interval next to chance; the
targets' test accuracy, AUC, log loss and calibration next to the undefended
models'; the wall time of the defense and of each attack.
"""

import csv
import numbers
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array

from ._adapters import get_adapter
from .attack import (
    ACCESS_MODES,
    KLDivergenceAttack,
    MeanOutputAttack,
    ResponsiveCPIAttack,
    _check_positive_int,
    sample_shadow_datasets,
)
from .metrics import attack_report
from .population import fit_population

__all__ = ["evaluate", "format_table", "write_table"]

ATTACKS = ("classic", "responsive", "mean-output", "kl-divergence")
# Attacks that read outputs only: they run once, under black-box access.
_OUTPUT_ATTACKS = {"mean-output": MeanOutputAttack, "kl-divergence": KLDivergenceAttack}

COLUMNS = (
    "method",
    "attack",
    "access",
    "accuracy",
    "ci_low",
    "ci_high",
    "auc",
    "chance",
    "n_targets",
    "target_acc",
    "target_auc",
    "target_log_loss",
    "target_calibration",
    "undefended_acc",
    "undefended_auc",
    "undefended_log_loss",
    "undefended_calibration",
    "defense_seconds",
    "defense_seconds_total",
    "attack_seconds",
)

_DEFENSE_INTERFACE = ("fit", "defend_population", "confidential_property", "estimator")


# -- validation ------------------------------------------------------------------
def _check_defense(defense):
    missing = [name for name in _DEFENSE_INTERFACE if not hasattr(defense, name)]
    if missing:
        raise TypeError(
            f"{type(defense).__name__} is not a defense: it lacks {missing}. "
            "evaluate needs an estimator with fit, defend_population, "
            "confidential_property and estimator, like CPIRobustClassifier."
        )
    template = clone(defense)  # refuses objects without get_params
    get_adapter(defense.estimator).recipe()  # unsupported recipes fail first
    return template


def _check_pool(data, name):
    """``(X, y)`` with as many labels as rows; returns it untouched, and X's width."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a pair (X, y), got {type(data).__name__}.")
    X, y = data
    try:
        shape = check_array(X, dtype=None, ensure_all_finite=False).shape
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: X is not a 2-d array of rows: {exc}") from exc
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise ValueError(f"{name}: y must be 1-d, got shape {y_arr.shape}.")
    if len(y_arr) != shape[0]:
        raise ValueError(f"{name}: X has {shape[0]} rows but y has {len(y_arr)}.")
    return X, y, shape[1]


def _check_attacks(attacks):
    if isinstance(attacks, str):
        attacks = (attacks,)
    attacks = list(dict.fromkeys(attacks))  # drop repeats, keep the order
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown or not attacks:
        raise ValueError(
            f"Unknown attacks {unknown}; choose one or more of {list(ATTACKS)}."
            if unknown
            else f"attacks is empty; choose one or more of {list(ATTACKS)}."
        )
    return attacks


def _check_access_modes(access_modes, defense):
    if access_modes is None:
        access = getattr(defense, "access", None)
        access_modes = ACCESS_MODES if access is None else (access,)
    elif isinstance(access_modes, str):
        access_modes = (access_modes,)
    access_modes = list(dict.fromkeys(access_modes))
    unknown = [a for a in access_modes if a not in ACCESS_MODES]
    if unknown or not access_modes:
        raise ValueError(
            f"access modes must be among {list(ACCESS_MODES)}, got "
            f"{list(access_modes)!r}."
        )
    return access_modes


# -- the defended targets --------------------------------------------------------
def _fit_target(defense, X, y, seed):
    """Fit one clone of ``defense`` with its own seed; module level, for loky.

    Returns the fitted defense, its wall time, and the warnings it raised as
    ``(category, message)`` pairs: warnings raised in a worker process would
    otherwise never reach the caller. The caller's warning filters apply
    (scikit-learn's ``delayed`` carries them to the workers), so an ignored
    warning is not recorded and an "error" filter raises, as in one process.
    """
    with warnings.catch_warnings(record=True) as caught:
        start = time.perf_counter()
        fitted = clone(defense).set_params(random_state=int(seed)).fit(X, y)
        seconds = time.perf_counter() - start
    return fitted, seconds, [(w.category, str(w.message)) for w in caught]


def _reraise_warnings(caught, n_fits):
    """One warning per category seen in the fits: how many fits raised it, the first."""
    by_category = {}
    for fit_warnings in caught:
        seen = set()
        for category, message in fit_warnings:
            first, count = by_category.get(category, (message, 0))
            by_category[category] = (first, count + (category not in seen))
            seen.add(category)
    for category, (first, count) in by_category.items():
        warnings.warn(
            f"{count} of {n_fits} defended target fits raised "
            f"{category.__name__}; the first: {first}",
            category,
            stacklevel=3,
        )


# -- utility ---------------------------------------------------------------------
def _utility(models, X_test, y_test):
    """Mean test accuracy, AUC, log loss and calibration-in-the-large of models.

    Calibration-in-the-large is the mean predicted probability of the second
    class minus its rate in ``y_test`` (0 is calibrated); NaN for more than
    two classes. AUC is one-vs-rest for more than two classes.
    """
    y_test = np.asarray(y_test)
    scores = []
    for model in models:
        classes = model.classes_
        proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
        acc = float(np.mean(classes[proba.argmax(1)] == y_test))
        loss = log_loss(y_test, proba, labels=classes)
        if len(classes) == 2:
            auc = roc_auc_score(y_test == classes[1], proba[:, 1])
            calibration = proba[:, 1].mean() - np.mean(y_test == classes[1])
        else:
            auc = roc_auc_score(y_test, proba, multi_class="ovr", labels=classes)
            calibration = np.nan
        scores.append((acc, auc, loss, calibration))
    return dict(zip(("acc", "auc", "log_loss", "calibration"), np.mean(scores, 0)))


# -- evaluate --------------------------------------------------------------------
def evaluate(
    defense,
    provider_data,
    attacker_data,
    test_data,
    *,
    targets_per_bin=25,
    portfolio_size=5000,
    n_shadow_models=256,
    access_modes=None,
    attacks=ATTACKS,
    include_undefended=True,
    name=None,
    n_jobs=None,
    random_state=0,
    verbose=0,
):
    """Attack independently defended targets with fresh attackers; tidy rows.

    The protocol (module docstring, and section 5 of the design): from the
    provider pool, draw ``targets_per_bin`` portfolios per bin of the
    defense's confidential property; defend each with its own fit of a clone
    of ``defense``, and fit the undefended base estimator on the same
    portfolios; fit every attack on the attacker pool and score it on the
    targets; measure utility on the test pool.

    The three pools must be disjoint rows of one population: the attacker
    never sees the provider's rows. Targets come from *separate* fits,
    because the members of one defended population are trained together
    and coupled by the defense's alignment: they are not independent trials.

    Parameters
    ----------
    defense : estimator instance
        Unfitted, with the face of :class:`~sklearn_dshare.CPIRobustClassifier`:
        parameters ``estimator``, ``confidential_property`` and
        ``random_state`` (``access`` and ``device`` are read when present);
        ``fit(X, y)`` setting ``estimator_`` (and ``n_samples_fit_``, the rows
        the target trained on, when it holds some out); and
        ``defend_population(datasets, bins, *, random_state, device)``,
        which the responsive attacker calls to train its shadows.
    provider_data : tuple (X, y)
        The provider's pool; the targets' portfolios are drawn from it
        without replacement.
    attacker_data : tuple (X, y)
        The attacker's auxiliary pool, disjoint from the provider's; it must
        also supply ``portfolio_size`` rows in every bin.
    test_data : tuple (X, y)
        Held-out rows for the targets' utility.
    targets_per_bin : int, default=25
        Independently defended targets per bin.
    portfolio_size : int, default=5000
        Rows of each target's portfolio.
    n_shadow_models : int, default=256
        Shadow models of each attack, at least 2 per bin.
    access_modes : str or sequence of {"black-box", "white-box"}, default=None
        Access of the classic and responsive attacks. None takes the
        defense's ``access`` when it has one, else both.
    attacks : sequence of str, default=("classic", "responsive", \
"mean-output", "kl-divergence")
        Attacks to run. ``"mean-output"`` and ``"kl-divergence"`` read outputs
        only, so they run once, with access ``"black-box"``.
    include_undefended : bool, default=True
        Add one row per access mode for the classic attack against the
        undefended targets (method ``"none"``). With the same ``random_state``,
        base estimator, property and access modes these rows do not depend
        on the defense, so when
        evaluating several defenses they are needed once.
    name : str, default=None
        The ``method`` of the rows; None uses the defense's class name.
    n_jobs : int, default=None
        Defended fits, and then the attacks' shadows, run in parallel
        (joblib, through scikit-learn's wrappers, which carry the
        configuration and warning filters to the workers; None is one job
        unless a ``joblib.parallel_config`` says otherwise). The results do
        not depend on it. Warnings of the fits
        are summarized: one per category, saying how many fits raised it.
    random_state : int or RandomState instance, default=0
        Seeds the portfolios, every fit and every attack.
    verbose : int, default=0
        1 prints progress; the attacks print their fits too.

    Returns
    -------
    rows : list of dict
        One per attack and access mode, undefended rows first, with keys:

        - ``method``, ``attack``, ``access``;
        - ``accuracy``, ``ci_low``, ``ci_high`` (95% Wilson interval),
          ``auc``, ``chance``, ``n_targets``: the attack on the targets
          (:func:`~sklearn_dshare.metrics.attack_report`);
        - ``target_acc``, ``target_auc``, ``target_log_loss``,
          ``target_calibration``: the attacked targets' mean test utility;
          calibration-in-the-large is the mean predicted probability minus
          the test base rate (NaN beyond two classes);
        - ``undefended_acc``, ``undefended_auc``, ``undefended_log_loss``,
          ``undefended_calibration``: the same for the undefended models;
        - ``defense_seconds``: mean wall seconds to produce one target (one
          defended fit; for method ``"none"``, the undefended population's
          training divided by the number of targets);
          ``defense_seconds_total``: wall seconds of all of them (less than
          the sum with ``n_jobs`` > 1);
        - ``attack_seconds``: wall seconds to fit and score the attack.

    Raises
    ------
    TypeError
        If ``defense`` lacks the interface above.
    ValueError
        For invalid arguments or data, before anything is trained.

    See Also
    --------
    format_table, write_table : Present the rows.

    Examples
    --------
    >>> rows = evaluate(defense, provider, attacker, test)  # doctest: +SKIP
    >>> print(format_table(rows, ["method", "attack", "access", "accuracy",
    ...                           "ci_low", "ci_high", "target_auc"]))  # doctest: +SKIP
    """
    # 1. Validate everything before any training.
    template = _check_defense(defense)
    prop = defense.confidential_property
    n_bins = prop.n_bins
    targets_per_bin = _check_positive_int(targets_per_bin, "targets_per_bin", 1)
    portfolio_size = _check_positive_int(portfolio_size, "portfolio_size", 1)
    n_shadow_models = _check_positive_int(
        n_shadow_models, "n_shadow_models", 2 * n_bins
    )
    attacks = _check_attacks(attacks)
    access_modes = _check_access_modes(access_modes, defense)
    X_p, y_p, width_p = _check_pool(provider_data, "provider_data")
    X_a, y_a, width_a = _check_pool(attacker_data, "attacker_data")
    X_t, y_t, width_t = _check_pool(test_data, "test_data")
    if not width_p == width_a == width_t:
        raise ValueError(
            "The pools have different numbers of features: provider "
            f"{width_p}, attacker {width_a}, test {width_t}."
        )
    unseen = np.setdiff1d(np.asarray(y_t), np.asarray(y_p))
    if unseen.size:
        raise ValueError(
            f"test_data holds labels {unseen.tolist()} that the provider pool "
            "lacks; the targets cannot be scored on them."
        )
    method = type(defense).__name__ if name is None else str(name)
    device = getattr(defense, "device", "cpu")
    rng = check_random_state(random_state)
    portfolio_seed, target_seed, reference_seed, attack_seed = (
        int(s) for s in rng.randint(np.iinfo(np.int32).max, size=4)
    )
    n_targets = n_bins * targets_per_bin
    # Sampling trains nothing: a pool too small for the portfolios fails here.
    portfolios, bins = sample_shadow_datasets(
        prop, X_p, y_p, n_targets, portfolio_size, portfolio_seed
    )
    try:
        sample_shadow_datasets(prop, X_a, y_a, n_bins, portfolio_size, attack_seed)
    except ValueError as exc:
        raise ValueError(f"attacker_data is too small: {exc}") from exc

    # 2. Independently defended targets, and the undefended reference.
    if verbose:
        print(f"{method}: {n_targets} defended targets (n_jobs={n_jobs})", flush=True)
    seeds = check_random_state(target_seed).randint(
        np.iinfo(np.int32).max, size=n_targets
    )
    start = time.perf_counter()
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_target)(template, X, y, seed)
        for (X, y), seed in zip(portfolios, seeds)
    )
    defense_total = time.perf_counter() - start
    targets = [fitted for fitted, _, _ in results]
    defense_seconds = float(np.mean([seconds for _, seconds, _ in results]))
    _reraise_warnings([caught for _, _, caught in results], n_targets)

    start = time.perf_counter()
    undefended = fit_population(
        defense.estimator, portfolios, random_state=reference_seed, device=device
    )
    undefended_total = time.perf_counter() - start
    defended_models = [t.estimator_ for t in targets]

    defended_utility = _utility(defended_models, X_t, y_t)
    undefended_utility = _utility(undefended, X_t, y_t)
    if verbose:
        print(
            f"{method}: targets in {defense_total:.1f} s; test accuracy "
            f"{defended_utility['acc']:.4f} (undefended "
            f"{undefended_utility['acc']:.4f})",
            flush=True,
        )

    # 3. The attacks, fitted on the attacker pool.
    sizes = [getattr(t, "n_samples_fit_", portfolio_size) for t in targets]
    shadow_size = int(round(np.median(sizes)))
    common = {
        "n_shadow_models": n_shadow_models,
        "n_jobs": n_jobs,
        "device": device,
        "random_state": attack_seed,
    }
    fitted_attacks = {}

    def fitted_attack(kind, access, size):
        """Fit an attack once; ``(attack, fit seconds)``."""
        key = (kind, access, size)
        if key not in fitted_attacks:
            begin = time.perf_counter()
            if kind in _OUTPUT_ATTACKS:
                attack = _OUTPUT_ATTACKS[kind](
                    defense.estimator, prop, shadow_size=size, **common
                )
            else:
                attack = ResponsiveCPIAttack(
                    defense.estimator,
                    prop,
                    access=access,
                    shadow_size=size,
                    defense=clone(defense) if kind == "responsive" else None,
                    verbose=verbose,
                    **common,
                )
            attack.fit(X_a, y_a)
            fitted_attacks[key] = (attack, time.perf_counter() - begin)
        return fitted_attacks[key]

    def row(row_method, kind, access, models, size, target_utility, seconds):
        """One result row; ``seconds``: per target and in all to produce them."""
        attack, fit_seconds = fitted_attack(kind, access, size)
        begin = time.perf_counter()
        report = attack_report(attack, models, bins)
        attack_seconds = fit_seconds + time.perf_counter() - begin
        result = {
            "method": row_method,
            "attack": kind,
            "access": access,
            "accuracy": float(report["accuracy"]),
            "ci_low": float(report["ci_low"]),
            "ci_high": float(report["ci_high"]),
            "auc": float(report["auc"]),
            "chance": float(report["chance"]),
            "n_targets": int(report["n_models"]),
            **{f"target_{k}": float(v) for k, v in target_utility.items()},
            **{f"undefended_{k}": float(v) for k, v in undefended_utility.items()},
            "defense_seconds": float(seconds[0]),
            "defense_seconds_total": float(seconds[1]),
            "attack_seconds": float(attack_seconds),
        }
        if verbose:
            print(
                f"{row_method} | {kind} | {access}: accuracy "
                f"{result['accuracy']:.3f} [{result['ci_low']:.3f}, "
                f"{result['ci_high']:.3f}], chance {result['chance']:.2f}",
                flush=True,
            )
        return result

    rows = []
    if include_undefended:
        seconds = (undefended_total / n_targets, undefended_total)
        for access in access_modes:
            # Undefended targets trained on the whole portfolio.
            rows.append(
                row(
                    "none",
                    "classic",
                    access,
                    undefended,
                    portfolio_size,
                    undefended_utility,
                    seconds,
                )
            )
    seconds = (defense_seconds, defense_total)
    for kind in attacks:
        modes = ["black-box"] if kind in _OUTPUT_ATTACKS else access_modes
        for access in modes:
            rows.append(
                row(
                    method,
                    kind,
                    access,
                    defended_models,
                    shadow_size,
                    defended_utility,
                    seconds,
                )
            )
    return rows


# -- presentation ----------------------------------------------------------------
def _columns(rows, columns):
    if columns is not None:
        return list(columns)
    if not rows:
        raise ValueError("rows is empty and no columns were given.")
    return list(dict.fromkeys(key for r in rows for key in r))


def _is_number(value):
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if _is_number(value):
        value = float(value)
        return "n/a" if not np.isfinite(value) else f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def format_table(rows, columns=None):
    """The rows as a markdown table.

    Parameters
    ----------
    rows : list of dict
        For example the rows of :func:`evaluate`.
    columns : sequence of str, default=None
        Columns to show, in order; None shows every key, in the order first
        seen. A row lacking a column leaves its cell empty.

    Returns
    -------
    table : str
        A header row, an alignment row (numbers right-aligned) and one line
        per row. Floats have three decimals; NaN reads ``n/a``.

    Examples
    --------
    >>> print(format_table([{"attack": "classic", "accuracy": 0.5}]))
    | attack | accuracy |
    |---|---:|
    | classic | 0.500 |
    """
    columns = _columns(rows, columns)
    if not columns:
        raise ValueError("columns is empty; name at least one column.")
    numeric = [
        any(_is_number(r.get(c)) for r in rows)
        and all(r.get(c) is None or _is_number(r.get(c)) for r in rows)
        for c in columns
    ]
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def write_table(rows, path_stem, columns=None):
    """Write the rows to ``<path_stem>.md`` (markdown) and ``<path_stem>.csv``.

    The CSV keeps full precision (``repr`` of floats, ``nan`` for NaN) and
    reads back with :class:`csv.DictReader`; missing parent folders are
    created.

    Parameters
    ----------
    rows : list of dict
    path_stem : str or path-like
        The path without extension; ``"results/eval"`` writes
        ``results/eval.md`` and ``results/eval.csv``.
    columns : sequence of str, default=None
        As in :func:`format_table`; also the CSV's columns.

    Returns
    -------
    (md_path, csv_path) : tuple of pathlib.Path
    """
    columns = _columns(rows, columns)
    stem = Path(path_stem)
    md_path = stem.parent / f"{stem.name}.md"
    csv_path = stem.parent / f"{stem.name}.csv"
    stem.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(format_table(rows, columns) + "\n", encoding="utf-8")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return md_path, csv_path
