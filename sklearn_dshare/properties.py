"""Confidential properties of a training set: measure, bin and resample.

A confidential property maps a dataset ``(X, y)`` to one number (a default
rate, the share of one region, a mean income). The attacker does not try to
recover that number exactly: it tells apart a few intervals of it, the
*bins*. Each property here therefore does three things:

- ``value(X, y)``: the property of a dataset;
- ``bin_of(value)``: which bin a value falls in (``-1`` for none);
- ``resample(X, y, bin, size)``: draw ``size`` rows whose property lies in
  the given bin, the raw material of shadow models.
"""

import numbers

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import _num_samples, column_or_1d

__all__ = ["LabelRate", "FeatureRate", "FeatureMean"]

_BINS_HELP = (
    "Pass increasing edges such as [0.02, 0.05, 0.08] or disjoint (lo, hi) "
    "intervals such as [(0.04, 0.06), (0.08, 0.10)]."
)

# Bounds of the search for the exponential-tilting parameter of FeatureMean:
# at |theta| = 2**12 on standardized values the tilted sample is, for any
# practical data, the ``size`` extreme rows, so going further gains nothing.
_MAX_THETA = 2.0**12
_MAX_BISECTIONS = 40
_MAX_SWAPS = 100


def _check_random_state(random_state):
    """Turn ``random_state`` into a generator, accepting numpy Generators too.

    scikit-learn's ``check_random_state`` refuses ``np.random.Generator``;
    every method used in this module exists on both generator types.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    return check_random_state(random_state)


def _fmt(value):
    """Format a bound for an error message: ``0.1``, not ``np.float64(0.1)``."""
    return f"{float(value):.10g}"


def _label(value):
    """Format a label or category for an error message, as the user wrote it."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _parse_bins(bins, value_range):
    """Validate ``bins`` and return them as a list of ``(lo, hi)`` floats.

    Parameters
    ----------
    bins : array-like
        Either a 1-d sequence of at least three increasing edges or a
        sequence of at least two ``(lo, hi)`` pairs.
    value_range : tuple of float
        The values the property can take; every bin must lie inside it.

    Returns
    -------
    intervals : list of tuple of float
        The bins, in increasing order.

    Raises
    ------
    ValueError
        If ``bins`` is malformed, not increasing, overlapping, non-finite,
        outside ``value_range`` or holds fewer than two bins.
    """
    if isinstance(bins, str | bytes):
        raise ValueError(f"bins must be a sequence, got {bins!r}. {_BINS_HELP}")
    try:
        array = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        # Ragged or non-numeric input, e.g. [(0.1, 0.2), 0.3] or ["a", "b"].
        raise ValueError(
            f"bins must be numbers in a regular shape, got {bins!r}. {_BINS_HELP}"
        ) from None
    if array.ndim == 0:
        raise ValueError(f"bins must be a sequence, got {bins!r}. {_BINS_HELP}")
    if not np.isfinite(array).all():
        raise ValueError(
            f"bins must be finite numbers, got {bins!r}; replace inf and NaN "
            "with the actual bounds of the property."
        )

    if array.ndim == 1:
        if array.size < 3:
            raise ValueError(
                f"bins given as edges need at least 3 edges (2 bins), got "
                f"{bins!r}; an attacker must tell at least two bins apart."
            )
        steps = np.diff(array)
        if not (steps > 0).all():
            i = int(np.flatnonzero(steps <= 0)[0])
            raise ValueError(
                f"bin edges must be strictly increasing, but edge {i} "
                f"({_fmt(array[i])}) is followed by {_fmt(array[i + 1])} in "
                f"{bins!r}; sort the edges and remove duplicates."
            )
        intervals = list(zip(array[:-1].tolist(), array[1:].tolist(), strict=True))
    elif array.ndim == 2 and array.shape[1] == 2:
        intervals = [(float(lo), float(hi)) for lo, hi in array]
        if len(intervals) < 2:
            raise ValueError(
                f"bins need at least 2 intervals, got {bins!r}; an attacker "
                "must tell at least two bins apart."
            )
        for i, (lo, hi) in enumerate(intervals):
            if lo >= hi:
                raise ValueError(
                    f"bin {i} ({_fmt(lo)}, {_fmt(hi)}) is empty: lo must be "
                    "smaller than hi; swap or widen its bounds."
                )
        for i in range(len(intervals) - 1):
            (lo, hi), (next_lo, next_hi) = intervals[i], intervals[i + 1]
            if next_lo < lo:
                raise ValueError(
                    f"bins must be given in increasing order, but bin {i + 1} "
                    f"({_fmt(next_lo)}, {_fmt(next_hi)}) starts before bin {i} "
                    f"({_fmt(lo)}, {_fmt(hi)}); sort the intervals by lo."
                )
            if next_lo < hi:
                raise ValueError(
                    f"bins must not overlap, but bin {i} ({_fmt(lo)}, "
                    f"{_fmt(hi)}) overlaps bin {i + 1} ({_fmt(next_lo)}, "
                    f"{_fmt(next_hi)}); make each lo at least the previous hi."
                )
    else:
        raise ValueError(
            f"bins must be a 1-d list of edges or a list of (lo, hi) pairs, "
            f"got an array of shape {array.shape}. {_BINS_HELP}"
        )

    range_lo, range_hi = value_range
    for i, (lo, hi) in enumerate(intervals):
        if lo < range_lo or hi > range_hi:
            raise ValueError(
                f"bin {i} ({_fmt(lo)}, {_fmt(hi)}) lies outside [{_fmt(range_lo)}, "
                f"{_fmt(range_hi)}], the values this property can take; keep "
                "every bound inside that range."
            )
    return intervals


def _column(X, column):
    """Return ``column`` of ``X`` (a name for DataFrames, else an index)."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        if column not in X.columns:
            shown = list(X.columns[:10]) + (["..."] if X.shape[1] > 10 else [])
            raise ValueError(
                f"column {column!r} is not a column of X; pass one of {shown}."
            )
        values = X.loc[:, column]
        if values.ndim != 1:
            raise ValueError(
                f"column {column!r} appears more than once in X; rename "
                "the duplicated columns."
            )
        return values.to_numpy()

    if sparse.issparse(X):
        n_features = X.shape[1]
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-d (n_samples, n_features), got shape "
                f"{X.shape}; reshape it or pass a DataFrame."
            )
        n_features = X.shape[1]
    if not isinstance(column, numbers.Integral) or isinstance(column, bool):
        raise ValueError(
            f"X has no column names, so column must be an integer index, "
            f"got {column!r}; pass an integer or X as a pandas DataFrame."
        )
    if not -n_features <= column < n_features:
        raise ValueError(
            f"column {column} does not exist: X has {n_features} columns; "
            f"pass an index from 0 to {n_features - 1}."
        )
    if sparse.issparse(X):
        return X[:, [column]].toarray().ravel()
    return X[:, column]


def check_property(prop):
    """``prop`` if it is a confidential property instance; a clear TypeError if not."""
    if isinstance(prop, type) or not all(
        hasattr(prop, name) for name in ("n_bins", "value", "resample_index")
    ):
        raise TypeError(
            "confidential_property must be a property instance such as "
            "LabelRate(bins=[(0.2, 0.3), (0.4, 0.5)]), FeatureRate or "
            f"FeatureMean, got {prop!r}."
        )
    return prop


class _BaseProperty(BaseEstimator):
    """Shared machinery of the confidential properties.

    Subclasses store their constructor arguments untouched (as every
    scikit-learn estimator does, so that ``clone`` and ``set_params`` work),
    define ``_value_range`` and implement ``_statistic`` and
    ``_resample_indices``.
    """

    # The values the property can take; bins must lie inside.
    _value_range = (-np.inf, np.inf)
    # Whether ``y`` is needed to compute the property.
    _needs_y = False

    def _intervals(self):
        """Validate ``self.bins`` and return the list of intervals."""
        return _parse_bins(self.bins, self._value_range)

    @property
    def intervals(self):
        """The bins as a list of ``(lo, hi)`` float pairs.

        Every bin is half-open ``[lo, hi)`` except the last, which is closed
        ``[lo, hi]``.
        """
        return self._intervals()

    @property
    def n_bins(self):
        """The number of bins, an int."""
        return len(self._intervals())

    def _describe_bin(self, bin, intervals):
        """Return e.g. ``"bin 1 [0.08, 0.1]"`` with the right bracket."""
        lo, hi = intervals[bin]
        closing = "]" if bin == len(intervals) - 1 else ")"
        return f"bin {bin} [{_fmt(lo)}, {_fmt(hi)}{closing}"

    def bin_of(self, value):
        """Return the bin that a property value falls in.

        Parameters
        ----------
        value : float or array-like of float
            One property value or an array of them.

        Returns
        -------
        bin : int or ndarray of int
            The index of the bin holding each value, or ``-1`` for a value
            in no bin (below the first, above the last, in a gap between
            intervals, or NaN). A scalar in gives an ``int`` out; an array
            gives an integer array of the same shape.

        Raises
        ------
        ValueError
            If the bins are invalid or ``value`` is not numeric.

        Examples
        --------
        >>> from sklearn_dshare.properties import LabelRate
        >>> rate = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
        >>> rate.bin_of(0.05), rate.bin_of(0.06), rate.bin_of(0.10)
        (0, -1, 1)
        >>> rate.bin_of([0.04, 0.07, 0.09])
        array([ 0, -1,  1])
        """
        intervals = self._intervals()
        try:
            values = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"value must be a number or an array of numbers, got {value!r}."
            ) from None
        los = np.array([lo for lo, _ in intervals])
        his = np.array([hi for _, hi in intervals])
        last = len(intervals) - 1
        # The candidate is the last interval starting at or below the value;
        # the value is inside it if it lies below its (open) upper bound, or
        # on the closed upper bound of the last bin.
        candidate = np.searchsorted(los, values, side="right") - 1
        safe = np.clip(candidate, 0, None)
        upper = his[safe]
        inside = (candidate >= 0) & (
            (values < upper) | ((safe == last) & (values <= upper))
        )
        bins = np.where(inside, candidate, -1).astype(np.intp)
        if bins.ndim == 0:
            return int(bins)
        return bins

    def _in_bin(self, value, bin, intervals):
        """Whether a scalar value lies inside interval ``bin``."""
        lo, hi = intervals[bin]
        if bin == len(intervals) - 1:
            return lo <= value <= hi
        return lo <= value < hi

    def _check_data(self, X, y):
        """Check that ``X`` and ``y`` agree in length; return the row count."""
        if X is None:
            raise ValueError("X is None; pass the dataset whose property to use.")
        n_samples = _num_samples(X)
        if n_samples == 0:
            raise ValueError(
                "X has no rows; a property of an empty dataset is "
                "undefined, pass at least one row."
            )
        if y is None:
            if self._needs_y:
                raise ValueError(
                    f"{type(self).__name__} reads the labels, but y is None; "
                    "pass the labels y."
                )
        elif _num_samples(y) != n_samples:
            raise ValueError(
                f"X has {n_samples} rows but y has {_num_samples(y)}; pass one "
                "label per row of X."
            )
        return n_samples

    def _check_bin(self, bin, intervals):
        if (
            not isinstance(bin, numbers.Integral)
            or isinstance(bin, bool)
            or not 0 <= bin < len(intervals)
        ):
            raise ValueError(
                f"bin must be an integer from 0 to {len(intervals) - 1} (this "
                f"property has {len(intervals)} bins), got {bin!r}."
            )
        return int(bin)

    def value(self, X, y=None):
        """Compute the property of a dataset.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The features.
        y : array-like of shape (n_samples,), default=None
            The labels. Required by :class:`LabelRate`.

        Returns
        -------
        value : float
            The property of ``(X, y)``.

        Raises
        ------
        ValueError
            If ``X`` and ``y`` differ in length, the column does not exist,
            or the bins are invalid.
        """
        self._intervals()
        self._check_data(X, y)
        return float(self._statistic(X, y))

    def resample_index(self, X, y, bin, size, random_state=None, replace=False):
        """Row positions of a resample whose property lies inside bin ``bin``.

        The same draw as :meth:`resample` (same arguments, same seed, same
        rows), returned as integer positions into ``X``: handy to carry other
        arrays along, such as the features a model sees when the property
        reads separate columns.

        Returns
        -------
        indices : ndarray of int of shape (size,)
        """
        intervals = self._intervals()
        n_samples = self._check_data(X, y)
        bin = self._check_bin(bin, intervals)
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}.")
        size = int(size)
        if not replace and size > n_samples:
            raise ValueError(
                f"size={size} exceeds the {n_samples} rows available; lower "
                "`size` or pass replace=True."
            )
        rng = _check_random_state(random_state)
        return self._resample_indices(X, y, bin, size, rng, replace, intervals)

    def resample(self, X, y, bin, size, random_state=None, replace=False):
        """Draw ``size`` rows whose property lies inside bin ``bin``.

        The target value is drawn uniformly inside the bin (restricted to
        what the data can reach), so that shadow datasets cover the whole
        bin rather than piling up at one point.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The pool of rows to draw from.
        y : array-like of shape (n_samples,) or None
            The labels, drawn along with ``X``. May be None for properties
            of the features only.
        bin : int
            Index of the bin the resample must fall in.
        size : int
            The exact number of rows of the resample.
        random_state : int, RandomState instance, Generator or None, \
                default=None
            Controls the draw; the same seed gives the same rows.
        replace : bool, default=False
            Draw rows with replacement. Needed when the pool is too small to
            reach the bin with distinct rows.

        Returns
        -------
        X_resampled : same type as X, of shape (size, n_features)
            The drawn rows, in random order; a DataFrame keeps its columns
            and the index labels of the drawn rows.
        y_resampled : same type as y, of shape (size,), or None
            The matching labels, or None when ``y`` is None.

        Raises
        ------
        ValueError
            If the data cannot reach the bin at this size (the message says
            what the data allows), or on invalid ``bin``, ``size``, data or
            bins.
        """
        indices = self.resample_index(X, y, bin, size, random_state, replace)
        X_resampled = _safe_indexing(X, indices)
        y_resampled = None if y is None else _safe_indexing(y, indices)
        return X_resampled, y_resampled


class _BaseRate(_BaseProperty):
    """A share of rows matching a condition; its values lie in [0, 1]."""

    _value_range = (0.0, 1.0)

    def _statistic(self, X, y):
        # The float division matches the one in _resample_indices, so that a
        # resample's value() lands exactly where the sampler put it.
        hits = self._hits(X, y)
        return np.count_nonzero(hits) / hits.size

    def _resample_indices(self, X, y, bin, size, rng, replace, intervals):
        hits = self._hits(X, y)
        hit_rows = np.flatnonzero(hits)
        miss_rows = np.flatnonzero(~hits)
        n_hits, n_misses = hit_rows.size, miss_rows.size
        where = self._describe_bin(bin, intervals)

        counts = np.arange(size + 1)
        in_bin = self.bin_of(counts / size) == bin
        if not in_bin.any():
            raise ValueError(
                f"{where} holds no rate k/{size} for any whole number k of "
                f"rows; widen the bin or change `size`."
            )
        k_min, k_max = np.flatnonzero(in_bin)[[0, -1]]
        if replace:
            # Any count works as long as each kind of row it needs exists.
            feasible = ((counts == 0) | (n_hits > 0)) & (
                (counts == size) | (n_misses > 0)
            )
            if not (in_bin & feasible).any():
                hit_name, miss_name = self._describe_rows(X, y)
                missing = hit_name if n_hits == 0 else miss_name
                raise ValueError(
                    f"{where} needs {missing} but the data has none; choose "
                    "reachable bins or add such rows."
                )
        else:
            feasible = (counts <= n_hits) & (size - counts <= n_misses)
            if k_min > n_hits:
                hit_name, _ = self._describe_rows(X, y)
                raise ValueError(
                    f"{where} needs at least {k_min} {hit_name} among {size} "
                    f"rows but the data has {n_hits}; lower `size`, choose "
                    "reachable bins, or pass replace=True."
                )
            if size - k_max > n_misses:
                _, miss_name = self._describe_rows(X, y)
                raise ValueError(
                    f"{where} needs at least {size - k_max} {miss_name} among "
                    f"{size} rows but the data has {n_misses}; lower `size`, "
                    "choose reachable bins, or pass replace=True."
                )
        n_take = int(rng.choice(np.flatnonzero(in_bin & feasible)))
        indices = np.concatenate(
            [
                rng.choice(hit_rows, n_take, replace=replace),
                rng.choice(miss_rows, size - n_take, replace=replace),
            ]
        )
        return rng.permutation(indices)


class LabelRate(_BaseRate):
    """The share of rows with a given label, e.g. a portfolio's default rate.

    Parameters
    ----------
    bins : array-like
        The intervals the attacker tells apart. Either increasing edges,
        ``[0.02, 0.05, 0.08]`` meaning ``[0.02, 0.05)`` and ``[0.05, 0.08]``,
        or disjoint ``(lo, hi)`` intervals in increasing order,
        ``[(0.04, 0.06), (0.08, 0.10)]``, gaps allowed. Every bin is
        half-open ``[lo, hi)`` except the last, which is closed. Bounds must
        lie in [0, 1].
    positive_label : int, str or None, default=None
        The label counted. None takes the largest label of ``y``
        (scikit-learn's ``classes_[-1]``, the positive class of a binary
        problem); when ``y`` holds a single label in {-1, 0, 1} the positive
        label is 1. Set it explicitly for string labels whose samples may
        hold one class only.

    Attributes
    ----------
    intervals : list of tuple of float
        The bins as ``(lo, hi)`` pairs.
    n_bins : int
        The number of bins.

    See Also
    --------
    FeatureRate : The share of rows with a given feature value.
    FeatureMean : The mean of a feature.

    Notes
    -----
    ``resample`` picks the number ``k`` of positive rows uniformly among the
    counts with ``k / size`` inside the bin that the data can supply, then
    draws ``k`` positive and ``size - k`` other rows and shuffles them. The
    resample's rate is therefore exact, and resamples spread over the bin.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dshare.properties import LabelRate
    >>> X = np.arange(200, dtype=float).reshape(100, 2)
    >>> y = np.r_[np.ones(20, dtype=int), np.zeros(80, dtype=int)]
    >>> default_rate = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
    >>> default_rate.value(X, y)
    0.2
    >>> X_r, y_r = default_rate.resample(X, y, bin=1, size=50, random_state=0)
    >>> X_r.shape, default_rate.bin_of(default_rate.value(X_r, y_r))
    ((50, 2), 1)
    """

    _needs_y = True

    def __init__(self, bins, positive_label=None):
        self.bins = bins
        self.positive_label = positive_label
        # Fail at construction on bad bins rather than deep inside a fit.
        self._intervals()

    def _labels(self, y):
        return column_or_1d(np.asarray(y))

    def _positive(self, labels):
        if self.positive_label is not None:
            return self.positive_label
        classes = np.unique(labels)
        if classes.size >= 2:
            return classes[-1]
        if (
            classes.size == 1
            and classes.dtype.kind in "biuf"
            and classes[0] in (-1, 0, 1)
        ):
            # A one-class sample of 0/1 (or -1/1) labels: 1 is positive, as
            # in scikit-learn's binary metrics.
            return 1
        shown = ", ".join(_label(c) for c in classes[:5])
        raise ValueError(
            f"cannot tell which label is positive: y holds {classes.size} "
            f"distinct labels ({shown}{', ...' if classes.size > 5 else ''}); "
            "pass positive_label explicitly."
        )

    def _hits(self, X, y):
        labels = self._labels(y)
        return np.asarray(labels == self._positive(labels), dtype=bool)

    def _describe_rows(self, X, y):
        label = _label(self._positive(self._labels(y)))
        return f"rows with y == {label}", f"rows with y != {label}"


class FeatureRate(_BaseRate):
    """The share of rows whose feature ``column`` equals ``category``.

    Parameters
    ----------
    column : int or str
        The feature: an integer index for arrays, a column name for pandas
        DataFrames.
    category : object
        The value counted, compared with ``==`` (e.g. ``"north"`` or ``1``).
        NaN equals nothing, so fill missing values first to count them.
        Named ``category`` rather than ``value`` because ``value`` is the
        method that computes the property.
    bins : array-like
        The intervals the attacker tells apart, within [0, 1]; see
        :class:`LabelRate` for the two accepted forms.

    Attributes
    ----------
    intervals : list of tuple of float
        The bins as ``(lo, hi)`` pairs.
    n_bins : int
        The number of bins.

    See Also
    --------
    LabelRate : The share of rows with a given label.
    FeatureMean : The mean of a feature.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dshare.properties import FeatureRate
    >>> X = np.c_[np.arange(100.0), np.r_[np.ones(30), np.zeros(70)]]
    >>> region = FeatureRate(column=1, category=1.0, bins=[0.0, 0.25, 0.5])
    >>> region.value(X)
    0.3
    >>> X_r, _ = region.resample(X, None, bin=0, size=40, random_state=0)
    >>> region.bin_of(region.value(X_r))
    0
    """

    def __init__(self, column, category, bins):
        self.column = column
        self.category = category
        self.bins = bins
        self._intervals()

    def _hits(self, X, y):
        return np.asarray(_column(X, self.column) == self.category, dtype=bool)

    def _describe_rows(self, X, y):
        column, category = _label(self.column), _label(self.category)
        return (
            f"rows with X[{column}] == {category}",
            f"rows with X[{column}] != {category}",
        )


class FeatureMean(_BaseProperty):
    """The mean of a numeric feature, e.g. the mean income of a portfolio.

    Parameters
    ----------
    column : int or str
        The feature: an integer index for arrays, a column name for pandas
        DataFrames. It must be numeric and free of missing values.
    bins : array-like
        The intervals the attacker tells apart, any finite numbers; see
        :class:`LabelRate` for the two accepted forms. Whether the data can
        reach a bin is checked when resampling.

    Attributes
    ----------
    intervals : list of tuple of float
        The bins as ``(lo, hi)`` pairs.
    n_bins : int
        The number of bins.

    See Also
    --------
    LabelRate : The share of rows with a given label.
    FeatureRate : The share of rows with a given feature value.

    Notes
    -----
    ``resample`` draws a target mean uniformly in the bin (clipped to the
    means the data can reach), then draws rows with weights
    ``exp(theta * z)`` on the standardized feature ``z`` (exponential
    tilting: the reweighting of the data closest to it, in Kullback-Leibler
    divergence, with the target mean), with ``theta`` found by bisection.
    A few greedy swaps of one row in for one row out then bring the mean
    onto the target.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dshare.properties import FeatureMean
    >>> X = np.c_[np.arange(1000.0), np.ones(1000)]
    >>> mean_income = FeatureMean(column=0, bins=[(300, 400), (600, 700)])
    >>> X_r, _ = mean_income.resample(X, None, bin=1, size=100, random_state=0)
    >>> 600 <= mean_income.value(X_r) <= 700
    True
    """

    def __init__(self, column, bins):
        self.column = column
        self.bins = bins
        self._intervals()

    def _numeric_column(self, X):
        column = _column(X, self.column)
        try:
            values = np.asarray(column, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {self.column!r} must be numeric to take its mean; "
                "encode it as numbers or use FeatureRate for categories."
            ) from None
        if not np.isfinite(values).all():
            raise ValueError(
                f"column {self.column!r} holds missing or infinite values; "
                "impute or drop them before using FeatureMean."
            )
        return values

    def _statistic(self, X, y):
        return np.mean(self._numeric_column(X))

    def _resample_indices(self, X, y, bin, size, rng, replace, intervals):
        x = self._numeric_column(X)
        n_samples = x.size
        lo, hi = intervals[bin]
        where = self._describe_bin(bin, intervals)
        order = np.argsort(x, kind="stable")
        x_sorted = x[order]

        # The means a sample of this size can take.
        if replace:
            reach_lo, reach_hi = x_sorted[0], x_sorted[-1]
            how = "any rows"
        else:
            reach_lo = x_sorted[:size].mean()
            reach_hi = x_sorted[n_samples - size :].mean()
            how = f"{size} distinct rows"
        closed = bin == len(intervals) - 1
        if reach_hi < lo or reach_lo > hi or (reach_lo == hi and not closed):
            advice = (
                "choose bins that overlap it"
                if replace
                else "lower `size`, choose reachable bins, or pass replace=True"
            )
            raise ValueError(
                f"{where} is out of reach: the mean of column {self.column!r} "
                f"over {how} lies in [{_fmt(reach_lo)}, {_fmt(reach_hi)}]; "
                f"{advice}."
            )
        low, high = max(lo, reach_lo), min(hi, reach_hi)
        target = rng.uniform(low, high) if high > low else low
        # Close enough to the target: well inside the bin, at a scale that
        # keeps the drawn means spread uniformly over it.
        tolerance = 1e-3 * (hi - lo)

        scale = x.std()
        z = (x - x.mean()) / scale if scale > 0 else np.zeros_like(x)
        if replace:
            # Inverse-CDF draws over the sorted values with fixed uniforms:
            # raising theta moves every draw to a larger value, so the
            # sample mean is monotone in theta and bisection is exact.
            uniforms = rng.random(size)
            z_sorted = z[order]

            def draw(theta):
                log_w = theta * z_sorted
                cdf = np.cumsum(np.exp(log_w - log_w.max()))
                positions = np.searchsorted(cdf / cdf[-1], uniforms, side="right")
                return order[np.minimum(positions, n_samples - 1)]

        else:
            # Gumbel-top-k with fixed noise is weighted sampling without
            # replacement; raising theta only lets larger values overtake
            # smaller ones, so the sample mean is monotone in theta too.
            gumbel = rng.gumbel(size=n_samples)
            first = n_samples - size

            def draw(theta):
                keys = theta * z + gumbel
                if first == 0:
                    return np.arange(n_samples)
                return np.argpartition(keys, first)[first:]

        # Bisection only needs to come within what a swap or two can close:
        # one swap moves the mean by up to (max - min) / size.
        coarse = max(tolerance, 0.25 * (x_sorted[-1] - x_sorted[0]) / size)
        indices = self._tilt(draw, x, target, coarse)
        indices = rng.permutation(indices)
        indices = self._swap_towards(
            indices, x, x_sorted, order, target, tolerance, bin, intervals, replace
        )
        achieved = np.mean(x[indices])
        if not self._in_bin(achieved, bin, intervals):
            raise ValueError(
                f"could not draw {size} rows whose mean of column "
                f"{self.column!r} lies in {where} (closest mean "
                f"{_fmt(achieved)}); the data is too coarse at this size: "
                "widen the bin, change `size`, or pass replace=True."
            )
        return indices

    @staticmethod
    def _tilt(draw, x, target, tolerance):
        """Bisect the tilt ``theta`` so that ``draw(theta)`` has mean ~target."""

        def gap(theta):
            indices = draw(theta)
            return indices, x[indices].mean() - target

        best, best_gap = gap(0.0)
        if abs(best_gap) <= tolerance:
            return best
        # Bracket the root by doubling theta away from 0, then bisect. The
        # sign of theta that moves the mean towards the target:
        direction = 1.0 if best_gap < 0 else -1.0
        inner, outer = 0.0, direction
        while True:
            indices, g = gap(outer)
            if abs(g) < abs(best_gap):
                best, best_gap = indices, g
            crossed = (g >= 0) if direction > 0 else (g <= 0)
            if crossed or abs(outer) >= _MAX_THETA:
                break
            inner, outer = outer, 2.0 * outer
        for _ in range(_MAX_BISECTIONS):
            if abs(best_gap) <= tolerance:
                break
            middle = 0.5 * (inner + outer)
            indices, g = gap(middle)
            if abs(g) < abs(best_gap):
                best, best_gap = indices, g
            if (g >= 0) if direction > 0 else (g <= 0):
                outer = middle
            else:
                inner = middle
        return best

    def _swap_towards(
        self, indices, x, x_sorted, order, target, tolerance, bin, intervals, replace
    ):
        """Swap rows in and out, one at a time, to bring the mean to target.

        Each step makes the single swap that brings the sample sum closest
        to ``size * target``, in place so that the row order stays random.
        """
        indices = indices.copy()
        size = indices.size
        in_sample = np.zeros(x.size, dtype=bool)
        in_sample[indices] = True
        for _ in range(_MAX_SWAPS):
            mean = np.mean(x[indices])
            if self._in_bin(mean, bin, intervals) and abs(mean - target) <= tolerance:
                break
            needed = size * target - x[indices].sum()
            if replace:
                candidates, candidate_rows = x_sorted, order
            else:
                outside = ~in_sample[order]
                candidates, candidate_rows = x_sorted[outside], order[outside]
            if candidates.size == 0:
                break
            # For each row in the sample, the outside value nearest to the
            # one that would close the gap exactly.
            wanted = x[indices] + needed
            right = np.searchsorted(candidates, wanted).clip(0, candidates.size - 1)
            left = (right - 1).clip(0, None)
            use_left = np.abs(candidates[left] - wanted) < np.abs(
                candidates[right] - wanted
            )
            nearest = np.where(use_left, left, right)
            residual = np.abs(candidates[nearest] - wanted)
            out = int(np.argmin(residual))
            if residual[out] >= abs(needed):
                break  # no single swap gets closer
            in_sample[indices[out]] = False
            indices[out] = candidate_rows[nearest[out]]
            in_sample[indices[out]] = True
        return indices
