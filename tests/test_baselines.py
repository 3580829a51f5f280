"""The fixed-attacker baselines: contract, behaviour, and the responsive hook."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_dshare import (
    AdversarialFineTuneClassifier,
    LabelRate,
    Population,
    PrivacyLeakWarning,
    PropertyUnlearningClassifier,
)
from sklearn_dshare.datasets import make_credit_portfolio

BASELINES = [PropertyUnlearningClassifier, AdversarialFineTuneClassifier]
TINY_RATE = LabelRate(bins=[(0.2, 0.45), (0.55, 0.8)])
quiet = pytest.mark.filterwarnings(
    "ignore::sklearn_dshare.PrivacyLeakWarning",
    "ignore:The training data's LabelRate:UserWarning",
)


@quiet
@parametrize_with_checks(
    [
        cls(
            LogisticRegression(max_iter=200),
            TINY_RATE,
            n_shadow_models=8,
            max_epochs=2,
            random_state=0,
        )
        for cls in BASELINES
    ]
)
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def portfolio():
    X, y = make_credit_portfolio(3000, default_rate=0.3, random_state=0)
    rate = LabelRate(bins=[(0.2, 0.28), (0.32, 0.4)])
    X_p, y_p = rate.resample(X, y, 0, 600, random_state=0)
    return (X_p - X.mean(0)) / X.std(0), y_p, rate


def recipe():
    return MLPClassifier((16,), max_iter=30, learning_rate_init=0.01)


@quiet
@pytest.mark.parametrize("cls", BASELINES)
def test_fine_tuning_changes_the_target_and_keeps_its_type(cls, portfolio):
    X, y, rate = portfolio
    plain = cls(
        recipe(), rate, n_shadow_models=16, defense_strength=0.0, random_state=1
    ).fit(X, y)
    tuned = cls(recipe(), rate, n_shadow_models=16, random_state=1).fit(X, y)
    assert type(tuned.estimator_) is MLPClassifier
    assert len(plain.history_) == 1 and len(tuned.history_) == 2
    assert not np.allclose(plain.predict_proba(X), tuned.predict_proba(X))
    # Round 0 is the same normal training in both.
    assert plain.history_[0, "leakage"] == tuned.history_[0, "leakage"]
    np.testing.assert_array_equal(tuned.predict(X), tuned.estimator_.predict(X))


@quiet
def test_unlearning_brings_the_fixed_attack_to_uniform(portfolio, monkeypatch):
    from sklearn_dshare import baselines

    X, y, rate = portfolio
    gaps = []
    real = baselines._max_gap_to_uniform

    def spy(*args):
        gaps.append(real(*args))
        return gaps[-1]

    monkeypatch.setattr(baselines, "_max_gap_to_uniform", spy)
    PropertyUnlearningClassifier(
        recipe(),
        rate,
        n_shadow_models=16,
        max_epochs=30,
        uniform_tol=0.05,
        random_state=1,
    ).fit(X, y)
    assert gaps[-1] <= 0.05 or len(gaps) == 30
    assert gaps[-1] < 0.5 - 0.05  # the fixed attack lost its certainty


@quiet
@pytest.mark.parametrize("cls", BASELINES)
def test_defend_population_trains_every_member(cls, portfolio):
    X, y, rate = portfolio
    datasets = [
        rate.resample(X, y, 0, 200, random_state=i, replace=True) for i in range(4)
    ]
    datasets += [
        rate.resample(X, y, 1, 200, random_state=i, replace=True) for i in range(4)
    ]
    bins = np.repeat([0, 1], 4)
    defense = cls(recipe(), rate, n_shadow_models=8, max_epochs=2, random_state=0)
    population = defense.defend_population(datasets, bins, random_state=0)
    assert isinstance(population, Population) and population.n_members == 8
    assert np.all(np.isfinite(population.predict_proba(X[:5])))


@pytest.mark.parametrize("cls", BASELINES)
@pytest.mark.parametrize(
    "bad, message",
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"defense_strength": -1.0}, "defense_strength"),
        ({"n_shadow_models": 4}, "n_shadow_models"),
    ],
)
def test_bad_parameters_fail_before_training(cls, bad, message, portfolio, monkeypatch):
    X, y, rate = portfolio

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(Population, "fit", no_training)
    with pytest.raises(ValueError, match=message):
        cls(recipe(), rate, **bad).fit(X, y)


def test_privacy_leak_warning_is_a_user_warning():
    assert issubclass(PrivacyLeakWarning, UserWarning)
