"""evaluate: the protocol's rows, reproducibility, early errors; the tables.

Everything is tiny: three disjoint pools of a synthetic credit portfolio,
an MLP with 8 hidden units for 20 epochs, 300-row portfolios, 3 targets per
bin, defenses of 8 shadows and one round, attacks of 16 shadows. Such fits
legitimately leak, so PrivacyLeakWarning is expected where they run.
"""

import csv
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import sklearn_dshare.evaluation as evaluation
from sklearn_dshare import CPIRobustClassifier, LabelRate, Population, fit_population
from sklearn_dshare.baselines import (
    AdversarialFineTuneClassifier,
    PropertyUnlearningClassifier,
)
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.defense import PrivacyLeakWarning
from sklearn_dshare.evaluation import evaluate, format_table, write_table
from sklearn_dshare.population import member_seeds

leaky = pytest.mark.filterwarnings("ignore::sklearn_dshare.defense.PrivacyLeakWarning")

# A strong planted signal: default rates of 10-20% versus 40-50%.
RATE = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])
SMALL = {"targets_per_bin": 3, "portfolio_size": 300, "n_shadow_models": 16}
MODES = ["black-box", "white-box"]
NUMBERS = [c for c in evaluation.COLUMNS if c not in ("method", "attack", "access")]
TIMES = ["defense_seconds", "defense_seconds_total", "attack_seconds"]


def mlp():
    return MLPClassifier((8,), max_iter=20, learning_rate_init=0.05)


def tiny_defense(**kwargs):
    params = {"n_shadow_models": 8, "n_rounds": 1, "random_state": 0}
    params.update(kwargs)
    return CPIRobustClassifier(mlp(), RATE, **params)


@pytest.fixture(scope="module")
def pools():
    """Standardized credit rows split into disjoint provider/attacker/test pools."""
    X, y = make_credit_portfolio(3600, default_rate=0.3, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return (X[:1200], y[:1200]), (X[1200:2400], y[1200:2400]), (X[2400:], y[2400:])


@pytest.fixture(scope="module")
def result(pools):
    """Every attack, both access modes, one job; and the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = evaluate(tiny_defense(), *pools, access_modes=MODES, n_jobs=1, **SMALL)
    return rows, caught


def by_key(rows):
    return {(r["method"], r["attack"], r["access"]): r for r in rows}


# -- the rows -------------------------------------------------------------------


def test_rows_and_keys(result):
    rows, _ = result
    keys = [(r["method"], r["attack"], r["access"]) for r in rows]
    defended = "CPIRobustClassifier"
    assert keys == [
        ("none", "classic", "black-box"),
        ("none", "classic", "white-box"),
        (defended, "classic", "black-box"),
        (defended, "classic", "white-box"),
        (defended, "responsive", "black-box"),
        (defended, "responsive", "white-box"),
        (defended, "mean-output", "black-box"),
        (defended, "kl-divergence", "black-box"),
    ]
    for r in rows:
        assert list(r) == list(evaluation.COLUMNS)
        assert r["n_targets"] == 6
        assert r["chance"] == 0.5
        assert all(np.isfinite(r[c]) for c in NUMBERS)
        assert all(r[c] >= 0 for c in TIMES)


def test_accuracy_lies_in_its_interval(result):
    rows, _ = result
    for r in rows:
        assert 0 <= r["ci_low"] <= r["accuracy"] <= r["ci_high"] <= 1
        assert 0 <= r["auc"] <= 1


def test_undefended_rows_read_the_planted_property(result):
    rows, _ = result
    for r in rows:
        if r["method"] == "none":
            assert r["accuracy"] >= 5 / 6
            assert r["auc"] >= 0.8
            # Its targets are the undefended models themselves.
            for k in ("acc", "auc", "log_loss", "calibration"):
                assert r[f"target_{k}"] == r[f"undefended_{k}"]


def test_utility_is_plausible(result):
    rows, _ = result
    r = rows[-1]
    for who in ("target", "undefended"):
        assert 0.6 < r[f"{who}_acc"] <= 1
        assert 0.6 < r[f"{who}_auc"] <= 1
        assert 0 < r[f"{who}_log_loss"] < 1
        assert abs(r[f"{who}_calibration"]) < 0.2
    # One set of defended targets: the same utility and fit time on every row.
    defended = [r for r in rows if r["method"] != "none"]
    for c in ("target_acc", "target_auc", "defense_seconds_total"):
        assert len({r[c] for r in defended}) == 1


def test_fit_warnings_are_summarized_once(result):
    _, caught = result
    categories = [w.category for w in caught]
    assert set(categories) <= {PrivacyLeakWarning}
    assert len(categories) <= 1
    for w in caught:
        assert "of 6 defended target fits raised PrivacyLeakWarning" in str(w.message)


@leaky
def test_parallel_fits_give_the_same_numbers(pools, result):
    # Two jobs, one access mode, fewer attacks: the rows that remain do not
    # change, bit for bit, since every seed comes from random_state alone.
    rows = evaluate(
        tiny_defense(),
        *pools,
        access_modes="black-box",
        attacks=("classic", "mean-output"),
        n_jobs=2,
        **SMALL,
    )
    expected = by_key(result[0])
    assert [k[1:] for k in by_key(rows)] == [
        ("classic", "black-box"),
        ("classic", "black-box"),
        ("mean-output", "black-box"),
    ]
    for key, row in by_key(rows).items():
        for c in NUMBERS:
            if c not in TIMES:
                a, b = row[c], expected[key][c]
                assert a == b or (np.isnan(a) and np.isnan(b)), (key, c, a, b)


class PlainDefense(BaseEstimator):
    """No defense at all, through the defense interface only (duck typing):
    no ``access`` and no ``n_samples_fit_``."""

    def __init__(self, estimator, confidential_property, random_state=None):
        self.estimator = estimator
        self.confidential_property = confidential_property
        self.random_state = random_state

    def fit(self, X, y):
        (self.estimator_,) = fit_population(
            self.estimator, [(X, y)], random_state=self.random_state
        )
        self.classes_ = self.estimator_.classes_
        return self

    def defend_population(self, datasets, bins, *, random_state=None, device="cpu"):
        classes = np.unique(np.concatenate([d[1] for d in datasets]))
        population = Population.initialize(
            self.estimator,
            len(datasets),
            n_features=datasets[0][0].shape[1],
            classes=classes,
            seeds=member_seeds(random_state, len(datasets)),
            device=device,
        )
        return population.fit(datasets)


def test_any_object_with_the_defense_interface(pools):
    rows = evaluate(
        PlainDefense(mlp(), RATE),
        *pools,
        attacks=("classic", "responsive"),
        name="plain",
        **SMALL,
    )
    keys = [(r["method"], r["attack"], r["access"]) for r in rows]
    # No ``access``: both modes.
    assert keys == [
        ("none", "classic", "black-box"),
        ("none", "classic", "white-box"),
        ("plain", "classic", "black-box"),
        ("plain", "classic", "white-box"),
        ("plain", "responsive", "black-box"),
        ("plain", "responsive", "white-box"),
    ]
    # Undefended "defended" targets leak like the undefended ones.
    assert all(r["accuracy"] >= 5 / 6 for r in rows)


@leaky
@pytest.mark.parametrize(
    "cls", [PropertyUnlearningClassifier, AdversarialFineTuneClassifier]
)
def test_the_baselines(pools, cls):
    defense = cls(mlp(), RATE, n_shadow_models=8, max_epochs=2, random_state=0)
    rows = evaluate(
        defense, *pools, attacks=("responsive",), include_undefended=False, **SMALL
    )
    assert [(r["method"], r["attack"], r["access"]) for r in rows] == [
        (cls.__name__, "responsive", "black-box")
    ]
    assert 0 <= rows[0]["ci_low"] <= rows[0]["accuracy"] <= rows[0]["ci_high"] <= 1


# -- errors before any training -------------------------------------------------


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained before validating")

    monkeypatch.setattr(CPIRobustClassifier, "fit", refuse)
    monkeypatch.setattr(CPIRobustClassifier, "defend_population", refuse)
    monkeypatch.setattr(evaluation, "fit_population", refuse)
    monkeypatch.setattr(Population, "fit", refuse)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"targets_per_bin": 0}, "targets_per_bin must be an integer >= 1"),
        ({"targets_per_bin": 1.5}, "targets_per_bin must be an integer >= 1"),
        ({"portfolio_size": 0}, "portfolio_size must be an integer >= 1"),
        ({"n_shadow_models": 3}, "n_shadow_models must be an integer >= 4"),
        ({"attacks": ("classic", "oracle")}, r"\['oracle'\].*'kl-divergence'"),
        ({"attacks": ()}, "attacks is empty"),
        ({"access_modes": ("grey-box",)}, "access modes must be among"),
        ({"portfolio_size": 1100}, "cannot provide shadow datasets of 1100"),
    ],
)
def test_bad_arguments_raise_before_training(pools, no_training, kwargs, match):
    params = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=match):
        evaluate(tiny_defense(), *pools, **params)


def test_bad_data_raise_before_training(pools, no_training):
    (X_p, y_p), attacker, test = pools
    cases = [
        (((X_p, y_p[:-1]), attacker, test), "provider_data: X has 1200 rows"),
        (((X_p, y_p, y_p), attacker, test), r"provider_data must be a pair \(X, y\)"),
        (((X_p, y_p), X_p, test), r"attacker_data must be a pair"),
        (((X_p[:, :5], y_p), attacker, test), "different numbers of features"),
        (((X_p, y_p), attacker, (test[0], test[1] + 2)), "labels"),
        (((X_p, y_p), (X_p[:50], y_p[:50]), test), "attacker_data is too small"),
    ]
    for data, match in cases:
        with pytest.raises(ValueError, match=match):
            evaluate(tiny_defense(), *data, **SMALL)


def test_not_a_defense_is_a_type_error(pools, no_training):
    with pytest.raises(TypeError, match="defend_population"):
        evaluate(mlp(), *pools, **SMALL)


# -- tables ---------------------------------------------------------------------


def test_format_table(result):
    rows, _ = result
    lines = format_table(rows).splitlines()
    assert lines[0] == "| " + " | ".join(evaluation.COLUMNS) + " |"
    assert lines[1].startswith("|---|---|---|---:|")
    assert len(lines) == 2 + len(rows)
    assert lines[2].startswith("| none | classic | black-box | ")

    short = format_table(rows, ["attack", "accuracy"]).splitlines()
    assert short[:2] == ["| attack | accuracy |", "|---|---:|"]
    assert short[2] == f"| classic | {rows[0]['accuracy']:.3f} |"


def test_format_table_cells():
    rows = [{"a": "x|y", "b": float("nan"), "c": 3}, {"a": "z", "c": 4}]
    assert format_table(rows).splitlines() == [
        "| a | b | c |",
        "|---|---:|---:|",
        "| x\\|y | n/a | 3 |",
        "| z |  | 4 |",
    ]
    with pytest.raises(ValueError, match="rows is empty"):
        format_table([])


def test_write_table(result, tmp_path):
    rows, _ = result
    md, csv_path = write_table(rows, tmp_path / "out" / "eval.v1")
    assert md == tmp_path / "out" / "eval.v1.md"
    assert md.read_text().splitlines() == format_table(rows).splitlines()
    with open(csv_path, newline="") as f:
        read = list(csv.DictReader(f))
    assert len(read) == len(rows)
    assert list(read[0]) == list(evaluation.COLUMNS)
    for got, row in zip(read, rows):
        assert got["attack"] == row["attack"]
        assert float(got["accuracy"]) == row["accuracy"]
        assert int(got["n_targets"]) == row["n_targets"]
