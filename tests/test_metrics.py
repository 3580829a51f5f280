"""Leakage measures: Wilson intervals, attack reports, the GridSearchCV scorer."""

import copy
import math
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_dshare import LabelRate, fit_population
from sklearn_dshare.attack import ResponsiveCPIAttack
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.defense import CPIRobustClassifier, PrivacyLeakWarning
from sklearn_dshare.metrics import (
    attack_report,
    make_leakage_scorer,
    most_private_within,
    wilson_interval,
)

RATE = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])
RATE3 = LabelRate(bins=[(0.1, 0.2), (0.25, 0.35), (0.4, 0.5)])


def mlp():
    return MLPClassifier((8,), max_iter=20, learning_rate_init=0.05)


# -- wilson_interval -------------------------------------------------------------------


def z_for(confidence):
    from scipy import stats

    return stats.norm.ppf(0.5 + confidence / 2)


@pytest.mark.parametrize(
    ("n_correct", "n_total", "expected"),
    [
        (50, 100, (0.404, 0.596)),
        (8, 10, (0.490, 0.943)),  # textbook values
        (0, 10, (0.0, 0.278)),
        (10, 10, (0.722, 1.0)),
        (1, 1, (0.207, 1.0)),
        (30, 40, (0.598, 0.858)),
    ],
)
def test_wilson_interval_known_values(n_correct, n_total, expected):
    low, high = wilson_interval(n_correct, n_total)
    assert isinstance(low, float) and isinstance(high, float)
    assert (round(low, 3), round(high, 3)) == expected


def test_wilson_interval_closed_form_edges():
    z2 = z_for(0.95) ** 2
    low, high = wilson_interval(0, 10)
    assert low == 0
    assert high == pytest.approx(z2 / (10 + z2), abs=1e-12)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0, abs=1e-12)
    assert low == pytest.approx(10 / (10 + z2), abs=1e-12)
    # Symmetric: k of n correct mirrors n - k.
    low, high = wilson_interval(3, 17)
    mirror_low, mirror_high = wilson_interval(14, 17)
    assert low == pytest.approx(1 - mirror_high, abs=1e-12)
    assert high == pytest.approx(1 - mirror_low, abs=1e-12)


@pytest.mark.parametrize("n_total", [1, 2, 3, 5, 7, 10, 13, 40, 100])
def test_wilson_interval_lies_in_unit_interval_and_contains_p(n_total):
    for n_correct in range(n_total + 1):
        p = n_correct / n_total
        low, high = wilson_interval(n_correct, n_total)
        assert 0.0 <= low <= p <= high <= 1.0, (n_correct, n_total, low, high)


def test_wilson_interval_confidence_and_size():
    narrow = wilson_interval(30, 40, confidence=0.8)
    usual = wilson_interval(30, 40)
    wide = wilson_interval(30, 40, confidence=0.99)
    assert wide[0] < usual[0] < narrow[0] < 0.75 < narrow[1] < usual[1] < wide[1]
    # More trials at the same rate: a narrower interval around it.
    big = wilson_interval(300, 400)
    assert usual[0] < big[0] < 0.75 < big[1] < usual[1]


@pytest.mark.parametrize("n_total", [0, -1, -10])
def test_wilson_interval_needs_trials(n_total):
    with pytest.raises(ValueError, match="at least one trial"):
        wilson_interval(0, n_total)


@pytest.mark.parametrize(("n_correct", "n_total"), [(11, 10), (-1, 10)])
def test_wilson_interval_refuses_impossible_counts(n_correct, n_total):
    # More successes than trials (or fewer than none) is a caller's mistake,
    # not a NaN interval.
    with pytest.raises(ValueError, match="n_correct"):
        wilson_interval(n_correct, n_total)


# -- attack_report on a stub attack (exact values) -------------------------------------


class StubAttack:
    """Answers fixed bin probabilities: an attack as attack_report sees it."""

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)
        self.classes_ = np.arange(self.proba.shape[1])

    def predict_proba(self, models):
        assert len(models) == len(self.proba)
        return self.proba


def test_attack_report_binary_values():
    proba = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]]
    bins = np.array([0, 0, 0, 1, 1])
    report = attack_report(StubAttack(proba), [None] * 5, bins)

    assert set(report) == {"accuracy", "ci_low", "ci_high", "chance", "auc", "n_models"}
    assert report["accuracy"] == pytest.approx(3 / 5)  # rows 2 and 3 wrong
    assert (report["ci_low"], report["ci_high"]) == wilson_interval(3, 5)
    assert report["chance"] == pytest.approx(3 / 5)  # the majority bin's share
    assert report["auc"] == pytest.approx(roc_auc_score(bins, np.array(proba)[:, 1]))
    assert report["n_models"] == 5 and isinstance(report["n_models"], int)
    assert all(
        isinstance(report[k], float)
        for k in ("accuracy", "ci_low", "ci_high", "chance", "auc")
    )

    wide = attack_report(StubAttack(proba), [None] * 5, bins, confidence=0.99)
    assert wide["ci_low"] < report["ci_low"] and wide["ci_high"] > report["ci_high"]


def test_attack_report_three_bins_one_vs_rest():
    rng = np.random.RandomState(0)
    proba = rng.dirichlet(np.ones(3), size=12)
    bins = np.arange(12) % 3
    report = attack_report(StubAttack(proba), [None] * 12, bins)
    assert report["chance"] == pytest.approx(1 / 3)
    expected = np.mean([roc_auc_score(bins == k, proba[:, k]) for k in range(3)])
    assert report["auc"] == pytest.approx(expected)
    assert report["accuracy"] == pytest.approx(np.mean(proba.argmax(1) == bins))


def test_attack_report_targets_in_some_bins_only():
    proba = np.array(
        [[0.7, 0.2, 0.1], [0.3, 0.1, 0.6], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6]]
    )
    # Bins 0 and 2 only: the AUC compares those two columns.
    bins = np.array([0, 0, 2, 2])
    report = attack_report(StubAttack(proba), [None] * 4, bins)
    assert np.isfinite(report["auc"]) and report["auc"] == pytest.approx(1.0)
    assert report["accuracy"] == pytest.approx(3 / 4)
    # One bin only: no AUC.
    one = attack_report(StubAttack(proba), [None] * 4, np.array([2, 2, 2, 2]))
    assert math.isnan(one["auc"])
    assert one["chance"] == 1.0 and one["accuracy"] == pytest.approx(3 / 4)


def test_attack_report_length_mismatch():
    with pytest.raises(ValueError, match="3 models but 2 bins"):
        attack_report(StubAttack(np.full((3, 2), 0.5)), [None] * 3, [0, 1])


# -- attack_report on a real attack ----------------------------------------------------


@pytest.fixture(scope="module")
def credit():
    X, y = make_credit_portfolio(4000, default_rate=0.3, random_state=1)
    X = StandardScaler().fit_transform(X)
    return X[:2000], y[:2000], X[2000:], y[2000:]


def test_attack_report_of_a_fitted_attack(credit):
    X_a, y_a, X_p, y_p = credit
    attack = ResponsiveCPIAttack(
        mlp(), RATE, n_shadow_models=16, shadow_size=200, n_queries=32, random_state=0
    ).fit(X_a, y_a)
    bins = np.array([0, 1, 0, 1, 1, 0, 0, 0, 1, 0])  # 6 in bin 0
    models = fit_population(
        mlp(),
        [
            RATE.resample(X_p, y_p, int(b), 200, random_state=i)
            for i, b in enumerate(bins)
        ],
        random_state=0,
    )
    report = attack_report(attack, models, bins)

    assert report["accuracy"] == attack.score(models, bins)
    assert (report["ci_low"], report["ci_high"]) == wilson_interval(
        round(report["accuracy"] * 10), 10
    )
    assert report["chance"] == pytest.approx(0.6)
    assert report["n_models"] == 10
    assert report["auc"] == pytest.approx(
        roc_auc_score(bins, attack.predict_proba(models)[:, 1])
    )
    # The interval holds the accuracy, also a perfect one.
    assert report["ci_low"] <= report["accuracy"] <= report["ci_high"]


# -- make_leakage_scorer ---------------------------------------------------------------


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        # One round may leave the leakage high; the scorer reads it either way.
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        return estimator.fit(X, y)


def small_defense(**kwargs):
    return CPIRobustClassifier(
        mlp(), RATE, n_shadow_models=8, n_rounds=1, random_state=0, **kwargs
    )


@pytest.fixture(scope="module")
def provider_data(credit):
    _, _, X_p, y_p = credit
    return RATE.resample(X_p, y_p, 0, 300, random_state=0)


@pytest.fixture(scope="module")
def defended(provider_data):
    return fit_quietly(small_defense(), *provider_data)


def gap(clf, chance=0.5):
    return max(abs(clf.leakage_ - chance), abs(clf.leakage_auc_ - 0.5))


def test_leakage_scorer_reads_a_fitted_defense(defended, provider_data):
    scorer = make_leakage_scorer()
    X, y = provider_data
    expected = -gap(defended)
    assert scorer(defended, X, y) == pytest.approx(expected)
    assert scorer(defended, None) == pytest.approx(expected)  # rows are ignored

    leaky = copy.deepcopy(defended)
    leaky.leakage_, leaky.leakage_auc_ = 0.9, 0.6
    assert scorer(leaky, X, y) == pytest.approx(-0.4)
    flipped = copy.deepcopy(defended)
    flipped.leakage_, flipped.leakage_auc_ = 0.45, 0.1  # separable, labels flipped
    assert scorer(flipped, X, y) == pytest.approx(-0.4)
    private = copy.deepcopy(defended)
    private.leakage_, private.leakage_auc_ = 0.5, 0.5
    assert scorer(private, X, y) == 0.0
    # Chance is 1 / n_bins; a NaN AUC is left out.
    private.set_params(confidential_property=RATE3)
    private.leakage_auc_ = np.nan
    assert scorer(private, X, y) == pytest.approx(-(0.5 - 1 / 3))


def test_leakage_scorer_reads_a_pipelines_last_step(provider_data):
    X, y = provider_data
    pipeline = fit_quietly(make_pipeline(StandardScaler(), small_defense()), X, y)
    clf = pipeline.steps[-1][1]
    assert make_leakage_scorer()(pipeline, X, y) == pytest.approx(-gap(clf))


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        make_pipeline(StandardScaler(), LogisticRegression()),
        small_defense(),  # unfitted: no leakage_ to read
    ],
    ids=["logreg", "pipeline-logreg", "unfitted-defense"],
)
def test_leakage_scorer_refuses_other_estimators(estimator, provider_data):
    X, y = provider_data
    if not isinstance(estimator, CPIRobustClassifier):
        estimator.fit(X, y)
    with pytest.raises(TypeError, match="leakage_"):
        make_leakage_scorer()(estimator, X, y)


def test_grid_search_with_leakage_scorer_and_privacy_refit(provider_data):
    X, y = provider_data
    search = GridSearchCV(
        small_defense(),
        {"defense_strength": [0.0, 1.0]},
        cv=2,
        scoring={"accuracy": "accuracy", "privacy": make_leakage_scorer()},
        refit=most_private_within(1.0),
    )
    fit_quietly(search, X, y)
    privacy = search.cv_results_["mean_test_privacy"]
    assert np.all(privacy <= 0)
    assert search.best_index_ == most_private_within(1.0)(search.cv_results_)
    assert privacy[search.best_index_] == privacy.max()
    # The scorer also reads a search's best estimator.
    assert make_leakage_scorer()(search, X, y) == pytest.approx(
        -gap(search.best_estimator_)
    )


# -- most_private_within ---------------------------------------------------------------


CV_RESULTS = {
    "mean_test_accuracy": np.array([0.900, 0.895, 0.850, 0.899, 0.70]),
    "mean_test_privacy": np.array([-0.40, -0.10, 0.00, -0.10, 0.00]),
}


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [
        (0.0, 0),  # only the best utility qualifies
        (0.002, 3),  # 0 and 3: 3 is more private
        (0.01, 3),  # 0, 1, 3: 1 and 3 tie on privacy, 3 has more utility
        (0.06, 2),  # 2 is fully private
        (0.5, 2),  # 2 and 4 tie on privacy, 2 has more utility
    ],
)
def test_most_private_within_tolerance(tolerance, expected):
    best = most_private_within(tolerance)(CV_RESULTS)
    assert best == expected and type(best) is int


def test_most_private_within_custom_scorer_names():
    results = {"mean_test_auc": [0.8, 0.79, 0.6], "mean_test_leak": [-0.3, -0.2, 0.0]}
    assert most_private_within(0.02, utility="auc", privacy="leak")(results) == 1
    with pytest.raises(KeyError):
        most_private_within(0.02)(results)


def test_most_private_within_skips_failed_candidates():
    # A failed fit scores NaN: it is neither the utility benchmark nor a pick.
    results = {
        "mean_test_accuracy": [np.nan, 0.9, 0.895],
        "mean_test_privacy": [0.0, -0.2, -0.1],
    }
    assert most_private_within(0.01)(results) == 2
    results = {
        "mean_test_accuracy": [0.9, 0.9, 0.9],
        "mean_test_privacy": [np.nan, -0.2, -0.1],
    }
    assert most_private_within(0.01)(results) == 2
