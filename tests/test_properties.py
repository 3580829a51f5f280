import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_dshare.properties import FeatureMean, FeatureRate, LabelRate

# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def credit():
    """A numpy portfolio: 1,000 rows, 10% defaulters, one 30% region flag."""
    rng = np.random.RandomState(0)
    n = 1000
    y = np.zeros(n, dtype=np.int64)
    y[:100] = 1
    region = np.zeros(n)
    region[rng.permutation(n)[:300]] = 1.0
    income = rng.lognormal(8.0, 0.5, n)
    X = np.c_[income, region, rng.standard_normal(n)]
    perm = rng.permutation(n)
    return X[perm], y[perm]


@pytest.fixture
def credit_frame(credit):
    X, y = credit
    index = pd.Index([f"loan{i}" for i in range(len(y))])
    frame = pd.DataFrame(X, columns=["income", "north", "noise"], index=index)
    return frame, pd.Series(y, index=index, name="default")


def all_properties():
    return [
        LabelRate(bins=[(0.04, 0.06), (0.08, 0.12)]),
        FeatureRate(column=1, category=1.0, bins=[0.1, 0.25, 0.35]),
        FeatureMean(column=0, bins=[(2500, 3000), (3200, 3600)]),
    ]


# --------------------------------------------------------------------------
# Bins


def test_edges_become_contiguous_intervals():
    prop = LabelRate(bins=[0.02, 0.05, 0.08])
    assert prop.intervals == [(0.02, 0.05), (0.05, 0.08)]
    assert prop.n_bins == 2
    assert all(isinstance(b, float) for pair in prop.intervals for b in pair)


def test_intervals_are_kept_with_gaps():
    prop = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10), (0.5, 1)])
    assert prop.intervals == [(0.04, 0.06), (0.08, 0.10), (0.5, 1.0)]
    assert prop.n_bins == 3


def test_bins_accept_numpy_arrays():
    assert LabelRate(np.array([0.0, 0.5, 1.0])).intervals == [(0.0, 0.5), (0.5, 1)]
    pairs = np.array([[0.1, 0.2], [0.3, 0.4]])
    assert LabelRate(pairs).intervals == [(0.1, 0.2), (0.3, 0.4)]


def test_intervals_is_read_only():
    prop = LabelRate(bins=[0.0, 0.5, 1.0])
    with pytest.raises(AttributeError):
        prop.intervals = [(0.0, 1.0)]


def test_bin_of_half_open_and_last_closed():
    prop = LabelRate(bins=[0.02, 0.05, 0.08])
    assert prop.bin_of(0.02) == 0
    assert prop.bin_of(0.0499) == 0
    assert prop.bin_of(0.05) == 1  # an inner edge belongs to the upper bin
    assert prop.bin_of(0.08) == 1  # the last bin is closed
    assert prop.bin_of(0.0800001) == -1
    assert prop.bin_of(0.0199) == -1


def test_bin_of_gaps_and_touching_intervals():
    prop = LabelRate(bins=[(0.04, 0.06), (0.06, 0.07), (0.08, 0.10)])
    assert prop.bin_of(0.06) == 1  # touching intervals: [0.04, 0.06) then 0.06
    assert prop.bin_of(0.07) == -1  # gap, and 0.07 closes bin 1 openly
    assert prop.bin_of(0.075) == -1
    assert prop.bin_of(0.10) == 2
    assert prop.bin_of(float("nan")) == -1


def test_bin_of_is_vectorized():
    prop = FeatureMean(column=0, bins=[(-1, 0), (2, 3)])
    values = np.array([[-1.0, -0.5, 0.0], [1.0, 2.5, 3.0]])
    bins = prop.bin_of(values)
    assert bins.shape == values.shape
    assert np.issubdtype(bins.dtype, np.integer)
    np.testing.assert_array_equal(bins, [[0, 0, -1], [-1, 1, 1]])
    assert type(prop.bin_of(np.float64(2.5))) is int
    np.testing.assert_array_equal(prop.bin_of([0.5, -0.5]), [-1, 0])


def test_bin_of_rejects_non_numbers():
    with pytest.raises(ValueError, match="number or an array of numbers"):
        LabelRate(bins=[0, 0.5, 1]).bin_of("high")


@pytest.mark.parametrize(
    "bins, match",
    [
        ([0.1, 0.2], r"at least 3 edges \(2 bins\)"),
        ([0.5], "at least 3 edges"),
        ([(0.1, 0.2)], "at least 2 intervals"),
        ([0.2, 0.1, 0.3], r"strictly increasing, but edge 0 \(0.2\)"),
        ([0.1, 0.2, 0.2], r"strictly increasing, but edge 1 \(0.2\)"),
        ([(0.3, 0.4), (0.1, 0.2)], r"increasing order, but bin 1 \(0.1, 0.2\)"),
        ([(0.1, 0.3), (0.2, 0.4)], r"bin 0 \(0.1, 0.3\) overlaps bin 1"),
        ([(0.2, 0.1), (0.3, 0.4)], r"bin 0 \(0.2, 0.1\) is empty"),
        ([(0.2, 0.2), (0.3, 0.4)], r"bin 0 \(0.2, 0.2\) is empty"),
        ([0.0, 0.5, 1.5], r"bin 1 \(0.5, 1.5\) lies outside \[0, 1\]"),
        ([(-0.1, 0.2), (0.3, 0.4)], r"bin 0 \(-0.1, 0.2\) lies outside"),
        ([0.0, np.nan, 1.0], "finite numbers"),
        ([0.0, 0.5, np.inf], "finite numbers"),
        ("0.1,0.2", "must be a sequence"),
        (0.5, "must be a sequence"),
        ([(0.1, 0.2), (0.3,)], "numbers in a regular shape"),
        (["low", "mid", "high"], "numbers in a regular shape"),
        ([[0.1, 0.2, 0.3]], r"shape \(1, 3\)"),
    ],
)
def test_invalid_bins_fail_at_construction(bins, match):
    with pytest.raises(ValueError, match=match):
        LabelRate(bins=bins)


def test_feature_mean_bins_may_exceed_unit_interval():
    prop = FeatureMean(column=0, bins=[-1e6, 0, 1e6])
    assert prop.intervals == [(-1e6, 0.0), (0.0, 1e6)]
    with pytest.raises(ValueError, match="finite numbers"):
        FeatureMean(column=0, bins=[-np.inf, 0, 1])


def test_feature_rate_bins_must_be_rates():
    with pytest.raises(ValueError, match=r"lies outside \[0, 1\]"):
        FeatureRate(column=0, category=1, bins=[0, 50, 100])


def test_bins_are_revalidated_after_set_params(credit):
    X, y = credit
    prop = LabelRate(bins=[0.0, 0.5, 1.0]).set_params(bins=[0.5, 0.1, 0.9])
    for call in (
        lambda: prop.value(X, y),
        lambda: prop.bin_of(0.2),
        lambda: prop.resample(X, y, 0, 10),
        lambda: prop.intervals,
    ):
        with pytest.raises(ValueError, match="strictly increasing"):
            call()


# --------------------------------------------------------------------------
# value()


def test_label_rate_value_numpy_and_pandas(credit, credit_frame):
    prop = LabelRate(bins=[0.0, 0.5, 1.0])
    assert prop.value(*credit) == pytest.approx(0.1)
    assert prop.value(*credit_frame) == pytest.approx(0.1)
    assert isinstance(prop.value(*credit), float)


def test_label_rate_string_labels():
    X = np.zeros((5, 1))
    y = np.array(["bad", "good", "good", "good", "bad"])
    # None takes the larger label, as scikit-learn's classes_[1].
    assert LabelRate(bins=[0, 0.5, 1]).value(X, y) == pytest.approx(0.6)
    prop = LabelRate(bins=[0, 0.5, 1], positive_label="bad")
    assert prop.value(X, y) == pytest.approx(0.4)
    assert prop.value(X, pd.Series(y)) == pytest.approx(0.4)


def test_label_rate_single_class_samples():
    X = np.zeros((3, 1))
    assert LabelRate(bins=[0, 0.5, 1]).value(X, [0, 0, 0]) == 0.0
    assert LabelRate(bins=[0, 0.5, 1]).value(X, [1, 1, 1]) == 1.0
    with pytest.raises(ValueError, match="pass positive_label explicitly"):
        LabelRate(bins=[0, 0.5, 1]).value(X, ["good"] * 3)
    assert LabelRate([0, 0.5, 1], positive_label="bad").value(X, ["good"] * 3) == 0


def test_label_rate_multiclass_counts_the_largest_label():
    X, y = np.zeros((4, 1)), np.array([0, 1, 2, 2])
    assert LabelRate(bins=[0, 0.5, 1]).value(X, y) == 0.5
    assert LabelRate([0, 0.5, 1], positive_label=1).value(X, y) == 0.25
    X, y = np.zeros((4, 1)), np.array(["a", "c", "b", "c"])
    assert LabelRate(bins=[0, 0.5, 1]).value(X, y) == 0.5


def test_label_rate_needs_y():
    with pytest.raises(ValueError, match="pass the labels y"):
        LabelRate(bins=[0, 0.5, 1]).value(np.zeros((3, 1)))


def test_lengths_must_match():
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        LabelRate(bins=[0, 0.5, 1]).value(np.zeros((3, 1)), [0, 1])
    with pytest.raises(ValueError, match="X has 3 rows but y has 4"):
        FeatureMean(0, bins=[0, 1, 2]).resample(np.zeros((3, 1)), [0] * 4, 0, 1)


def test_empty_data_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        FeatureMean(0, bins=[0, 1, 2]).value(np.zeros((0, 2)))


def test_feature_rate_value(credit, credit_frame):
    assert FeatureRate(1, 1.0, [0, 0.5, 1]).value(credit[0]) == pytest.approx(0.3)
    prop = FeatureRate("north", 1.0, [0, 0.5, 1])
    assert prop.value(*credit_frame) == pytest.approx(0.3)
    # Negative indices count from the end, as in numpy.
    assert FeatureRate(-2, 1.0, [0, 0.5, 1]).value(credit[0]) == pytest.approx(0.3)
    frame = pd.DataFrame({"region": ["north", "south", "north", "east"]})
    assert FeatureRate("region", "north", [0, 0.5, 1]).value(frame) == 0.5


def test_feature_mean_value(credit, credit_frame):
    X, _ = credit
    assert FeatureMean(0, [0, 1, 2]).value(X) == pytest.approx(X[:, 0].mean())
    assert FeatureMean("income", [0, 1, 2]).value(credit_frame[0]) == pytest.approx(
        X[:, 0].mean()
    )


@pytest.mark.parametrize(
    "prop, X, match",
    [
        (FeatureMean("nope", [0, 1, 2]), "frame", r"'nope' is not a column of X"),
        (FeatureRate(3, 1, [0, 0.5, 1]), "array", "X has 3 columns; pass an index"),
        (FeatureRate(-4, 1, [0, 0.5, 1]), "array", "X has 3 columns"),
        (FeatureRate("income", 1, [0, 0.5, 1]), "array", "integer index"),
        (FeatureMean(0, [0, 1, 2]), "strings", "must be numeric"),
        (FeatureMean(0, [0, 1, 2]), "nan", "missing or infinite"),
        (FeatureMean(0, [0, 1, 2]), "1d", "must be 2-d"),
    ],
)
def test_bad_columns(credit, credit_frame, prop, X, match):
    data = {
        "frame": credit_frame[0],
        "array": credit[0],
        "strings": np.array([["a"], ["b"]], dtype=object),
        "nan": np.array([[1.0], [np.nan]]),
        "1d": np.array([1.0, 2.0]),
    }[X]
    with pytest.raises(ValueError, match=match):
        prop.value(data)


def test_sparse_input(credit):
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.csr_matrix(credit[0])
    prop = FeatureRate(1, 1.0, [0.1, 0.25, 0.35])
    assert prop.value(X) == pytest.approx(0.3)
    X_r, _ = prop.resample(X, None, 1, 100, random_state=0)
    assert sparse.issparse(X_r) and X_r.shape == (100, 3)
    assert prop.bin_of(prop.value(X_r)) == 1


# --------------------------------------------------------------------------
# resample()


@pytest.mark.parametrize("prop", all_properties(), ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("bin", [0, 1])
def test_resample_exact_size_inside_bin(credit, prop, bin):
    X, y = credit
    X_r, y_r = prop.resample(X, y, bin, 200, random_state=0)
    assert X_r.shape == (200, 3) and y_r.shape == (200,)
    assert prop.bin_of(prop.value(X_r, y_r)) == bin
    # Rows travel with their labels.
    rows = {tuple(row): label for row, label in zip(X, y, strict=True)}
    assert all(rows[tuple(row)] == label for row, label in zip(X_r, y_r, strict=True))
    # Without replacement, no row is drawn twice.
    assert len(np.unique(X_r, axis=0)) == 200


@pytest.mark.parametrize("prop", all_properties(), ids=lambda p: type(p).__name__)
def test_resample_same_seed_same_rows(credit, prop):
    X, y = credit
    first = prop.resample(X, y, 1, 150, random_state=7)
    second = prop.resample(X, y, 1, 150, random_state=7)
    other = prop.resample(X, y, 1, 150, random_state=8)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])
    rng_a, rng_b = np.random.RandomState(3), np.random.RandomState(3)
    np.testing.assert_array_equal(
        prop.resample(X, y, 0, 50, random_state=rng_a)[0],
        prop.resample(X, y, 0, 50, random_state=rng_b)[0],
    )


@pytest.mark.parametrize("prop", all_properties(), ids=lambda p: type(p).__name__)
def test_resample_accepts_numpy_generator(credit, prop):
    X, y = credit
    X_a, y_a = prop.resample(X, y, 0, 100, random_state=np.random.default_rng(1))
    X_b, _ = prop.resample(X, y, 0, 100, random_state=np.random.default_rng(1))
    np.testing.assert_array_equal(X_a, X_b)
    assert prop.bin_of(prop.value(X_a, y_a)) == 0


@pytest.mark.parametrize("prop", all_properties(), ids=lambda p: type(p).__name__)
def test_resample_keeps_pandas_containers(credit_frame, prop):
    X, y = credit_frame
    if not isinstance(prop, LabelRate):
        prop = clone(prop).set_params(column=["income", "north"][prop.column])
    X_r, y_r = prop.resample(X, y, 1, 120, random_state=0)
    assert isinstance(X_r, pd.DataFrame) and isinstance(y_r, pd.Series)
    assert list(X_r.columns) == ["income", "north", "noise"]
    assert y_r.name == "default"
    # The index labels of the drawn rows are kept, and match X and y.
    assert X_r.index.equals(y_r.index)
    assert X_r.index.isin(X.index).all() and X_r.index.is_unique
    pd.testing.assert_frame_equal(X_r, X.loc[X_r.index])
    assert prop.bin_of(prop.value(X_r, y_r)) == 1


def test_resample_keeps_numpy_and_lists(credit):
    X, y = credit
    prop = LabelRate(bins=[0.0, 0.5, 1.0])
    X_r, y_r = prop.resample(X, y, 0, 10, random_state=0)
    assert isinstance(X_r, np.ndarray) and isinstance(y_r, np.ndarray)
    X_l, y_l = prop.resample(X[:20].tolist(), y[:20].tolist(), 0, 5, random_state=0)
    assert isinstance(X_l, list) and len(X_l) == 5 and isinstance(y_l, list)


def test_feature_properties_accept_no_labels(credit):
    X, _ = credit
    X_r, y_r = FeatureMean(0, [(2500, 3000), (3200, 3600)]).resample(
        X, None, 0, 100, random_state=0
    )
    assert X_r.shape == (100, 3) and y_r is None


@pytest.mark.parametrize("prop", all_properties(), ids=lambda p: type(p).__name__)
def test_resample_rows_come_in_random_order(credit, prop):
    # Shadow models may train on rows in order: matching rows must not come
    # in one block, nor in the order of the data or of the feature.
    X, y = credit
    X_r, y_r = prop.resample(X, y, 1, 300, random_state=0)
    key = X_r[:, 0]  # continuous, unique per row
    assert not (np.all(np.diff(key) > 0) or np.all(np.diff(key) < 0))
    position = {value: i for i, value in enumerate(X[:, 0])}
    drawn = np.array([position[value] for value in key])
    assert not np.all(np.diff(drawn) > 0)
    assert abs(np.corrcoef(np.arange(300), key)[0, 1]) < 0.3
    if isinstance(prop, LabelRate):
        hits = np.flatnonzero(y_r == 1)
        assert hits.max() - hits.min() > 100


def test_label_rate_resample_string_labels():
    X = np.arange(40.0).reshape(20, 2)
    y = np.array(["bad"] * 6 + ["good"] * 14)
    prop = LabelRate(bins=[(0.1, 0.3), (0.5, 0.7)], positive_label="bad")
    X_r, y_r = prop.resample(X, y, 0, 10, random_state=0)
    assert 1 <= np.sum(y_r == "bad") <= 2
    X_r, y_r = prop.resample(X, y, 1, 10, random_state=0)
    assert 5 <= np.sum(y_r == "bad") <= 7


def test_rate_targets_spread_over_the_bin(credit):
    # The target count is drawn uniformly among the reachable ones, so
    # resamples cover the bin instead of piling up at one value.
    X, y = credit
    prop = LabelRate(bins=[(0.0, 0.05), (0.08, 0.12)])
    rates = {
        prop.value(*prop.resample(X, y, 1, 200, random_state=s)) for s in range(60)
    }
    assert rates <= {k / 200 for k in range(16, 25)}
    assert len(rates) >= 6
    assert min(rates) == 0.08 and max(rates) <= 0.12


def test_feature_mean_targets_spread_over_the_bin(credit):
    X, _ = credit
    prop = FeatureMean(0, bins=[(2500, 3000), (3200, 3600)])
    means = [
        prop.value(prop.resample(X, None, 1, 200, random_state=s)[0]) for s in range(40)
    ]
    assert all(3200 <= m < 3600 for m in means)
    # Roughly uniform: both halves of the bin are hit.
    assert min(means) < 3350 and max(means) > 3450


def test_feature_mean_hits_a_narrow_bin():
    rng = np.random.RandomState(0)
    X = rng.lognormal(8, 1, size=(5000, 1))
    lo = float(np.mean(X)) + 500
    prop = FeatureMean(0, bins=[(0, 1), (lo, lo + 0.01)])
    X_r, _ = prop.resample(X, None, 1, 500, random_state=0)
    assert lo <= prop.value(X_r) < lo + 0.01


def test_feature_mean_large_shift_keeps_the_shape():
    # Far from the data's mean, a few swaps cannot do the job: exponential
    # tilting shifts the whole sample, which keeps the shape of the data
    # (a tilted normal is a shifted normal with the same spread).
    X = np.random.RandomState(0).standard_normal((5000, 1))
    prop = FeatureMean(0, bins=[(-0.1, 0.1), (0.5, 0.6)])
    X_r, _ = prop.resample(X, None, 1, 2000, random_state=0)
    assert 0.5 <= prop.value(X_r) < 0.6
    assert 0.8 < X_r[:, 0].std() < 1.1


def test_last_mean_bin_is_closed():
    # Only the 3 largest values reach a mean of 4: the closed upper edge.
    X = np.array([[0.0], [0.0], [0.0], [3.0], [4.0], [5.0]])
    prop = FeatureMean(0, bins=[(0, 1), (3.5, 4)])
    X_r, _ = prop.resample(X, None, 1, 3, random_state=0)
    assert prop.value(X_r) == 4.0
    # Half-open: a mean of 4 is not in [3.5, 4), and no other sample gets
    # above 3, so the data is too coarse for that bin.
    prop = FeatureMean(0, bins=[(3.5, 4), (5, 6)])
    with pytest.raises(ValueError, match=r"could not draw 3 rows.*closest mean 4\)"):
        prop.resample(X, None, 0, 3, random_state=0)


def test_unreachable_label_bin_message():
    X = np.zeros((5000, 1))
    y = np.r_[np.ones(312), np.zeros(4688)].astype(int)
    prop = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
    message = (
        r"bin 1 \[0.08, 0.1\] needs at least 400 rows with y == 1 among 5000 "
        r"rows but the data has 312; lower `size`, choose reachable bins, or "
        r"pass replace=True"
    )
    with pytest.raises(ValueError, match=message):
        prop.resample(X, y, 1, 5000)
    X_r, y_r = prop.resample(X, y, 0, 4000, random_state=0)
    assert 160 <= y_r.sum() < 240


def test_unreachable_other_rows_message():
    X, y = np.zeros((100, 1)), np.r_[np.ones(90), np.zeros(10)].astype(int)
    prop = LabelRate(bins=[(0.04, 0.06), (0.5, 0.6)])
    with pytest.raises(ValueError, match=r"needs at least 40 rows with y != 1"):
        prop.resample(X, y, 1, 100)


def test_feature_rate_unreachable_message(credit):
    X, y = credit
    prop = FeatureRate(1, 1.0, bins=[(0.1, 0.2), (0.9, 1.0)])
    with pytest.raises(ValueError, match=r"rows with X\[1\] == 1.0 among 500"):
        prop.resample(X, y, 1, 500)


def test_bin_without_any_whole_count():
    prop = LabelRate(bins=[(0.041, 0.042), (0.5, 0.6)])
    X, y = np.zeros((100, 1)), np.r_[np.ones(50), np.zeros(50)]
    with pytest.raises(ValueError, match=r"holds no rate k/100.*widen the bin"):
        prop.resample(X, y, 0, 100)


def test_unreachable_mean_message(credit):
    X, _ = credit
    prop = FeatureMean(0, bins=[(0, 100), (1e6, 2e6)])
    with pytest.raises(
        ValueError,
        match=r"bin 1 \[1000000, 2000000\] is out of reach.*over 10 distinct",
    ):
        prop.resample(X, None, 1, 10)
    with pytest.raises(ValueError, match=r"over any rows.*choose bins that overlap"):
        prop.resample(X, None, 1, 10, replace=True)


def test_replace_true_for_tiny_data():
    X = np.arange(8.0).reshape(4, 2)
    y = np.array([1, 0, 0, 0])
    prop = LabelRate(bins=[(0.0, 0.3), (0.4, 0.6)])
    with pytest.raises(ValueError, match="exceeds the 4 rows available"):
        prop.resample(X, y, 1, 50)
    X_r, y_r = prop.resample(X, y, 1, 50, random_state=0, replace=True)
    assert X_r.shape == (50, 2) and 20 <= y_r.sum() <= 30
    # Labels still travel with their rows.
    np.testing.assert_array_equal(y_r, (X_r[:, 0] == 0).astype(int))

    mean = FeatureMean(0, bins=[(0, 1), (5, 6)])
    X_r, _ = mean.resample(X, None, 1, 30, random_state=0, replace=True)
    assert X_r.shape == (30, 2) and 5 <= mean.value(X_r) < 6


def test_replace_true_needs_each_kind_of_row():
    X, y = np.zeros((5, 1)), np.zeros(5, dtype=int)
    prop = LabelRate(bins=[(0.2, 0.4), (0.5, 1.0)])
    with pytest.raises(ValueError, match=r"needs rows with y == 1 but the data has"):
        prop.resample(X, y, 0, 10, replace=True)


@pytest.mark.parametrize("bin", [-1, 2, 1.0, "0", True, None])
def test_bin_out_of_range(credit, bin):
    with pytest.raises(ValueError, match="bin must be an integer from 0 to 1"):
        LabelRate(bins=[0, 0.5, 1]).resample(*credit, bin, 10)


@pytest.mark.parametrize("size", [0, -3, 2.5, "10", None, False])
def test_invalid_size(credit, size):
    with pytest.raises(ValueError, match="size must be a positive integer"):
        LabelRate(bins=[0, 0.5, 1]).resample(*credit, 0, size)


def test_numpy_integers_are_accepted(credit):
    X_r, _ = LabelRate(bins=[0, 0.5, 1]).resample(
        *credit, np.int64(0), np.int32(10), random_state=0
    )
    assert len(X_r) == 10


# --------------------------------------------------------------------------
# scikit-learn contract


@pytest.mark.parametrize("prop", all_properties(), ids=lambda p: type(p).__name__)
def test_clone_and_params_round_trip(prop):
    params = prop.get_params()
    copy = clone(prop)
    assert copy is not prop and copy.get_params() == params
    rebuilt = type(prop)(**params)
    assert rebuilt.intervals == prop.intervals
    assert repr(copy) == repr(prop)
    restored = pickle.loads(pickle.dumps(prop))
    assert restored.get_params() == params


def test_params_are_stored_untouched():
    bins = np.array([0.0, 0.5, 1.0])
    prop = FeatureRate(column="north", category="yes", bins=bins)
    assert prop.get_params() == {"column": "north", "category": "yes", "bins": bins}
    assert prop.bins is bins
    assert set(LabelRate([0, 0.5, 1]).get_params()) == {"bins", "positive_label"}
    assert set(FeatureMean(0, [0, 1, 2]).get_params()) == {"column", "bins"}


def test_set_params_changes_behaviour(credit):
    X, y = credit
    prop = LabelRate(bins=[0, 0.5, 1]).set_params(positive_label=0)
    assert prop.value(X, y) == pytest.approx(0.9)


# --------------------------------------------------------------------------
# Invariants (hypothesis)

# Bounds on a grid of twentieths often coincide with rates k/size, the
# delicate case for half-open bins; arbitrary floats cover the rest.
rates = st.one_of(
    st.integers(0, 20).map(lambda i: i / 20), st.floats(0, 1, allow_nan=False)
)
edges = st.lists(rates, min_size=3, max_size=6, unique=True).map(sorted)
pairs = st.lists(rates, min_size=4, max_size=8, unique=True).map(
    lambda v: sorted(v)[: len(v) // 2 * 2]
)
rate_bins = st.one_of(
    edges, pairs.map(lambda v: list(zip(v[::2], v[1::2], strict=True)))
)


def _rate_is_reachable(n_hits, n_rows, interval, closed, size, replace):
    """Brute-force oracle: can some count k of matching rows land in the bin?"""
    lo, hi = interval
    for k in range(size + 1):
        inside = lo <= k / size <= hi if closed else lo <= k / size < hi
        if replace:
            possible = (k == 0 or n_hits > 0) and (k == size or n_hits < n_rows)
        else:
            possible = k <= n_hits and size - k <= n_rows - n_hits
        if inside and possible:
            return True
    return False


def _check_resample(prop, X, y, bin, size, seed, replace, n_hits=None):
    """Resample must succeed with ``size`` rows in ``bin``, or raise ValueError.

    With ``n_hits`` (rate properties), a refusal must also be justified.
    """
    try:
        X_r, y_r = prop.resample(X, y, bin, size, random_state=seed, replace=replace)
    except ValueError as error:
        assert f"bin {bin} [" in str(error) or "exceeds the" in str(error)
        if n_hits is not None:
            closed = bin == prop.n_bins - 1
            assert not _rate_is_reachable(
                n_hits, len(X), prop.intervals[bin], closed, size, replace
            )
        return
    assert len(X_r) == size
    assert y_r is None or len(y_r) == size
    assert prop.bin_of(prop.value(X_r, y_r)) == bin
    X_again, y_again = prop.resample(
        X, y, bin, size, random_state=seed, replace=replace
    )
    np.testing.assert_array_equal(X_r, X_again)
    if y_r is not None:
        np.testing.assert_array_equal(y_r, y_again)


@st.composite
def draws(draw, n_rows):
    """A bin index, a size, a seed and a replace flag for ``n_rows`` rows.

    Without replacement the size stays within the data, where the sampler
    has real work to do; with replacement it may exceed it.
    """
    replace = draw(st.booleans())
    size = draw(st.integers(1, 3 * n_rows if replace else n_rows))
    return draw(st.integers(0, 3)), size, draw(st.integers(0, 2**31 - 1)), replace


@settings(max_examples=50, deadline=None)
@given(labels=st.lists(st.booleans(), min_size=1, max_size=40), data=st.data())
def test_label_rate_resample_invariant(labels, data):
    prop = LabelRate(bins=data.draw(rate_bins), positive_label=1)
    bin, size, seed, replace = data.draw(draws(len(labels)))
    y = np.array(labels, dtype=int)
    X = np.arange(len(y), dtype=float)[:, None]
    _check_resample(
        prop, X, y, bin % prop.n_bins, size, seed, replace, n_hits=int(y.sum())
    )


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=40),
    data=st.data(),
)
def test_feature_rate_resample_invariant(values, data):
    prop = FeatureRate(column="region", category="b", bins=data.draw(rate_bins))
    bin, size, seed, replace = data.draw(draws(len(values)))
    X = pd.DataFrame({"region": values, "row": np.arange(len(values))})
    _check_resample(
        prop, X, None, bin % prop.n_bins, size, seed, replace, n_hits=values.count("b")
    )


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=60),
    bins=st.lists(
        st.floats(-120, 120, allow_nan=False), min_size=3, max_size=5, unique=True
    ).map(sorted),
    data=st.data(),
)
def test_feature_mean_resample_invariant(values, bins, data):
    prop = FeatureMean(column=0, bins=bins)
    bin, size, seed, replace = data.draw(draws(len(values)))
    X = np.c_[values, np.arange(len(values))]
    _check_resample(prop, X, None, bin % prop.n_bins, size, seed, replace)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    size=st.integers(20, 400),
    bin=st.integers(0, 1),
)
def test_feature_mean_reachable_bins_are_hit(seed, size, bin):
    # On continuous data a reachable bin must be hit, never refused.
    X = np.random.RandomState(0).standard_normal((1000, 1))
    prop = FeatureMean(0, bins=[(-0.3, -0.1), (0.1, 0.3)])
    X_r, _ = prop.resample(X, None, bin, size, random_state=seed)
    assert prop.bin_of(prop.value(X_r)) == bin
