"""The displays: their data equal the source, plot() draws it, errors are clear."""

import copy
import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_dshare import CPIRobustClassifier, LabelRate, PrivacyLeakWarning
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.display import (
    ArmsRaceDisplay,
    LeakageDisplay,
    PrivacyUtilityDisplay,
    pareto_front,
)
from sklearn_dshare.history import History

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROPERTY = LabelRate(bins=[(0.2, 0.28), (0.32, 0.4)])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    X, y = make_credit_portfolio(600, default_rate=0.25, random_state=0)
    clf = CPIRobustClassifier(
        LogisticRegression(),
        PROPERTY,
        n_shadow_models=8,
        n_rounds=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        # Two rounds of eight shadows may still leak; that is not under test.
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        return clf.fit(X, y)


# -- ArmsRaceDisplay --------------------------------------------------------------
def test_arms_race_from_estimator_holds_the_history(fitted):
    display = ArmsRaceDisplay.from_estimator(fitted)

    history = fitted.history_
    assert display.rounds.tolist() == history[:, "round"] == [0, 1, 2]
    assert display.leakage.tolist() == history[:, "leakage"]
    np.testing.assert_array_equal(display.leakage_auc, history[:, "leakage_auc"])
    assert display.utility.tolist() == history[:, "valid_auc"]
    assert display.chance == 0.5
    assert display.utility_name == "valid_auc"


def test_arms_race_plot_draws_the_curves(fitted):
    display = ArmsRaceDisplay.from_estimator(fitted)

    lines = display.lines_
    assert set(lines) == {"leakage", "leakage_auc", "chance", "utility"}
    np.testing.assert_array_equal(lines["leakage"].get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(
        lines["leakage"].get_ydata(), fitted.history_[:, "leakage"]
    )
    np.testing.assert_array_equal(
        lines["leakage_auc"].get_ydata(), fitted.history_[:, "leakage_auc"]
    )
    np.testing.assert_array_equal(lines["chance"].get_ydata(), [0.5, 0.5])
    np.testing.assert_array_equal(
        lines["utility"].get_ydata(), fitted.history_[:, "valid_auc"]
    )
    # Leakage on the main axes, utility on its twin, one legend for all.
    assert lines["leakage"].axes is display.ax_
    assert lines["utility"].axes is display.ax_utility_
    assert display.ax_utility_ is not display.ax_
    assert display.figure_ is display.ax_.figure
    assert len(display.legend_.get_texts()) == 4
    assert display.ax_.get_ylim() == (-0.02, 1.02)


def test_arms_race_plot_returns_self_and_uses_the_given_ax(fitted):
    display = ArmsRaceDisplay.from_estimator(fitted)
    fig, ax = plt.subplots()

    assert display.plot(ax=ax) is display
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.lines_["leakage"] in ax.lines


def test_arms_race_from_pipeline(fitted):
    pipeline = Pipeline([("scale", StandardScaler()), ("defense", fitted)])
    display = ArmsRaceDisplay.from_estimator(pipeline, utility="valid_log_loss")

    assert display.leakage.tolist() == fitted.history_[:, "leakage"]
    assert display.utility.tolist() == fitted.history_[:, "valid_log_loss"]
    assert display.ax_utility_.get_ylabel() == "validation log loss"


def test_arms_race_without_utility(fitted):
    display = ArmsRaceDisplay.from_estimator(fitted, utility=None)

    assert display.utility is None
    assert display.ax_utility_ is None
    assert "utility" not in display.lines_


def test_arms_race_utility_axis_does_not_magnify_noise():
    display = ArmsRaceDisplay(
        [0, 1], [1.0, 0.5], [1.0, 0.5], 0.5, utility=[0.790, 0.791]
    ).plot()
    low, high = display.ax_utility_.get_ylim()
    assert high - low == pytest.approx(0.1)
    # In the top third, above the chance line where leakage settles.
    assert (0.790 - low) / (high - low) == pytest.approx(0.62)
    assert high >= 0.791


def test_arms_race_more_bins_draws_both_chance_levels():
    display = ArmsRaceDisplay(
        rounds=[0, 1], leakage=[0.9, 0.4], leakage_auc=[0.95, 0.6], chance=1 / 3
    ).plot()

    np.testing.assert_allclose(display.lines_["chance"].get_ydata(), [1 / 3] * 2)
    np.testing.assert_allclose(display.lines_["auc_chance"].get_ydata(), [0.5] * 2)


def test_arms_race_plot_keywords_override_the_style():
    display = ArmsRaceDisplay([0, 1], [1.0, 0.5], [1.0, 0.5], 0.5).plot(
        leakage_kw={"color": "black", "label": "acc"}
    )
    assert display.lines_["leakage"].get_color() == "black"
    assert display.lines_["leakage"].get_label() == "acc"


def test_arms_race_unfitted_estimator_raises():
    clf = CPIRobustClassifier(LogisticRegression(), PROPERTY)
    with pytest.raises(NotFittedError):
        ArmsRaceDisplay.from_estimator(clf)
    with pytest.raises(NotFittedError):
        ArmsRaceDisplay.from_estimator(Pipeline([("defense", clf)]))


def test_arms_race_rejects_other_estimators():
    with pytest.raises(TypeError, match="CPIRobustClassifier"):
        ArmsRaceDisplay.from_estimator(LogisticRegression())


def test_arms_race_missing_utility_says_how_to_plot_without(fitted):
    clf = copy.copy(fitted)
    clf.history_ = History(
        [{k: v for k, v in e.items() if k != "valid_auc"} for e in fitted.history_]
    )
    with pytest.raises(ValueError, match="valid_auc.*utility=None"):
        ArmsRaceDisplay.from_estimator(clf)
    # Without utility it plots.
    ArmsRaceDisplay.from_estimator(clf, utility=None)


def test_arms_race_missing_leakage_raises(fitted):
    clf = copy.copy(fitted)
    clf.history_ = History([{"round": 0, "valid_auc": 0.8}])
    with pytest.raises(ValueError, match="needs the history keys.*leakage"):
        ArmsRaceDisplay.from_estimator(clf)


def test_arms_race_lengths_must_agree():
    with pytest.raises(ValueError, match="lengths"):
        ArmsRaceDisplay([0, 1, 2], [1.0, 0.5], [1.0, 0.5], 0.5).plot()


# -- PrivacyUtilityDisplay ----------------------------------------------------------
def _cv_results():
    """A search over five strengths, in a pipeline, as GridSearchCV stores it."""
    strengths = np.ma.MaskedArray([0, 0.25, 1, 4, 16], mask=False, dtype=object)
    return {
        "param_cpirobustclassifier__defense_strength": strengths,
        "params": [{"cpirobustclassifier__defense_strength": s} for s in strengths],
        # -max(leakage - chance, 0)
        "mean_test_privacy": np.array([-0.5, -0.3, -0.1, -0.1, 0.0]),
        "std_test_privacy": np.array([0.0, 0.05, 0.02, 0.03, 0.0]),
        "mean_test_accuracy": np.array([0.94, 0.92, 0.93, 0.91, 0.85]),
        "std_test_accuracy": np.full(5, 0.01),
        "mean_test_roc_auc": np.array([0.80, 0.79, 0.79, 0.78, 0.70]),
    }


def test_privacy_utility_from_cv_results_reads_the_columns():
    display = PrivacyUtilityDisplay.from_cv_results(_cv_results(), chance=0.5)

    assert display.strengths.tolist() == [0, 0.25, 1, 4, 16]
    # The x-axis is the attacker's advantage: minus the privacy score.
    assert display.leakage.tolist() == [0.5, 0.3, 0.1, 0.1, 0.0]
    assert display.utility.tolist() == [0.94, 0.92, 0.93, 0.91, 0.85]
    assert display.leakage_std.tolist() == [0.0, 0.05, 0.02, 0.03, 0.0]
    assert display.chance == 0.5
    # 0.25 is beaten by 1 (less leakage, more accuracy), 4 by 1 (tie in
    # leakage, less accuracy); 0, 1 and 16 each win on one axis.
    assert display.pareto.tolist() == [True, False, True, False, True]


def test_privacy_utility_plot_draws_points_front_and_labels():
    display = PrivacyUtilityDisplay.from_cv_results(
        _cv_results(), utility="roc_auc", best_index=2
    )

    points = display.lines_["candidates"]
    np.testing.assert_array_equal(points.get_xdata(), [0.5, 0.3, 0.1, 0.1, 0.0])
    np.testing.assert_array_equal(points.get_ydata(), [0.80, 0.79, 0.79, 0.78, 0.70])
    # roc_auc: 0.25 loses to 1 (same AUC, more leakage), 4 to 1.
    front = display.lines_["pareto"]
    np.testing.assert_array_equal(front.get_xdata(), [0.0, 0.1, 0.5])
    np.testing.assert_array_equal(front.get_ydata(), [0.70, 0.79, 0.80])
    assert [t.get_text() for t in display.texts_] == ["0", "0.25", "1", "4", "16"]
    np.testing.assert_array_equal(display.lines_["chance"].get_xdata(), [0, 0])
    np.testing.assert_array_equal(display.lines_["best"].get_xdata(), [0.1])
    # std_test_privacy gives x error bars; there is no std_test_roc_auc.
    assert display.utility_std is None and display.errorbar_ is not None
    assert display.ax_.get_ylabel() == "mean test roc_auc"


def test_privacy_utility_error_bars_from_std_columns():
    display = PrivacyUtilityDisplay.from_cv_results(_cv_results())
    assert display.utility_std.tolist() == [0.01] * 5
    assert display.errorbar_ is not None

    results = {k: v for k, v in _cv_results().items() if not k.startswith("std_")}
    display = PrivacyUtilityDisplay.from_cv_results(results)
    assert display.leakage_std is None and display.utility_std is None
    assert display.errorbar_ is None


def test_privacy_utility_plot_on_existing_ax():
    display = PrivacyUtilityDisplay.from_cv_results(_cv_results())
    fig, ax = plt.subplots()

    assert display.plot(ax=ax, annotate=False) is display
    assert display.ax_ is ax and display.figure_ is fig
    assert display.texts_ == []


@pytest.mark.parametrize(
    "param",
    [
        "defense_strength",
        "cpirobustclassifier__defense_strength",
        "param_cpirobustclassifier__defense_strength",
    ],
)
def test_privacy_utility_finds_the_parameter(param):
    display = PrivacyUtilityDisplay.from_cv_results(_cv_results(), param=param)
    assert display.strengths.tolist() == [0, 0.25, 1, 4, 16]


def test_privacy_utility_unset_parameter_is_nan():
    results = _cv_results()
    results["param_cpirobustclassifier__defense_strength"].mask = [
        False,
        False,
        False,
        False,
        True,
    ]
    display = PrivacyUtilityDisplay.from_cv_results(results)
    assert np.isnan(display.strengths[-1])


def test_privacy_utility_parameter_errors():
    results = _cv_results()
    with pytest.raises(ValueError, match="no parameter column for 'n_rounds'"):
        PrivacyUtilityDisplay.from_cv_results(results, param="n_rounds")
    with pytest.raises(ValueError, match="no parameter column"):
        PrivacyUtilityDisplay.from_cv_results(
            results, param="param_other__defense_strength"
        )
    results["param_other__defense_strength"] = results[
        "param_cpirobustclassifier__defense_strength"
    ]
    with pytest.raises(ValueError, match="Several parameter columns"):
        PrivacyUtilityDisplay.from_cv_results(results)


@pytest.mark.parametrize(
    "kwargs, missing",
    [({"privacy": "leak"}, "mean_test_leak"), ({"utility": "f1"}, "mean_test_f1")],
)
def test_privacy_utility_missing_scores_raise(kwargs, missing):
    with pytest.raises(ValueError, match=f"lacks.*{missing}.*make_leakage_scorer"):
        PrivacyUtilityDisplay.from_cv_results(_cv_results(), **kwargs)


def test_pareto_front_ties_and_nan():
    on_front = pareto_front([0.1, 0.1, 0.2, np.nan, 0.0], [0.9, 0.9, 0.95, 1.0, np.nan])
    # Equal candidates do not beat each other; NaN candidates are skipped
    # and beat no one.
    assert on_front.tolist() == [True, True, True, False, False]


# -- LeakageDisplay ------------------------------------------------------------------
def _report(accuracy, low, high, chance=0.5, auc=0.9, n_models=20):
    return {
        "accuracy": accuracy,
        "ci_low": low,
        "ci_high": high,
        "chance": chance,
        "auc": auc,
        "n_models": n_models,
    }


def test_leakage_from_report_holds_the_reports():
    reports = {
        "classic": _report(0.95, 0.76, 0.99, auc=0.99),
        "responsive": _report(0.6, 0.39, 0.78, auc=0.62),
    }
    display = LeakageDisplay.from_report(reports)

    assert display.names == ["classic", "responsive"]
    assert display.accuracy.tolist() == [0.95, 0.6]
    assert display.ci_low.tolist() == [0.76, 0.39]
    assert display.ci_high.tolist() == [0.99, 0.78]
    assert display.chance.tolist() == [0.5, 0.5]
    assert display.auc.tolist() == [0.99, 0.62]
    assert display.n_models.tolist() == [20, 20]


def test_leakage_plot_draws_points_intervals_and_chance():
    reports = [
        ("classic", _report(0.95, 0.76, 0.99)),
        ("responsive", _report(0.6, 0.39, 0.78)),
    ]
    display = LeakageDisplay.from_report(reports)

    data_line, _, (xerr,) = display.errorbar_.lines
    np.testing.assert_array_equal(data_line.get_xdata(), [0.95, 0.6])
    # The first attack on top.
    np.testing.assert_array_equal(data_line.get_ydata(), [1, 0])
    segments = [seg[:, 0].tolist() for seg in xerr.get_segments()]
    np.testing.assert_allclose(segments, [[0.76, 0.99], [0.39, 0.78]])
    np.testing.assert_array_equal(display.lines_["chance"].get_xdata(), [0.5, 0.5])
    labels = {t.get_position()[1]: t.get_text() for t in display.ax_.get_yticklabels()}
    assert labels == {1: "classic", 0: "responsive"}
    assert [t.get_text() for t in display.texts_] == [
        "AUC 0.90, n=20",
        "AUC 0.90, n=20",
    ]


def test_leakage_different_chance_levels_get_one_segment_each():
    display = LeakageDisplay(
        ["a", "b"], [0.9, 0.5], [0.8, 0.3], [0.95, 0.7], chance=[0.5, 0.6]
    ).plot()
    segments = display.lines_["chance"].get_segments()
    assert [seg[0, 0] for seg in segments] == [0.5, 0.6]


def test_leakage_plot_on_existing_ax_returns_self():
    display = LeakageDisplay(["a"], [0.9], [0.8], [0.95], 0.5)
    fig, ax = plt.subplots()
    assert display.plot(ax=ax) is display
    assert display.ax_ is ax and display.figure_ is fig
    assert display.texts_ == []


def test_leakage_from_report_errors():
    with pytest.raises(ValueError, match="empty"):
        LeakageDisplay.from_report({})
    with pytest.raises(ValueError, match="'x' lacks \\['ci_low'\\]"):
        LeakageDisplay.from_report({"x": {"accuracy": 1, "ci_high": 1, "chance": 0.5}})


# -- without matplotlib ----------------------------------------------------------
def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    display = LeakageDisplay(["a"], [0.9], [0.8], [0.95], 0.5)
    with pytest.raises(ImportError, match=r"sklearn-dshare\[plot\]"):
        display.plot()


def test_importing_the_displays_does_not_import_matplotlib():
    code = (
        "import sys, sklearn_dshare.display; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
