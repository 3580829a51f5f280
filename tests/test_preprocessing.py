import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_dshare.preprocessing import credit_preprocessor, signed_log1p


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9), min_size=2, max_size=30))
def test_signed_log1p_is_odd_and_monotone(values):
    x = np.sort(np.asarray(values))
    z = signed_log1p(x)
    assert np.all(np.diff(z) >= 0)
    np.testing.assert_allclose(signed_log1p(-x), -z)


def test_credit_preprocessor_tames_tails():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.pareto(0.5, 1000) * 1e3, rng.normal(size=1000)])
    Z = credit_preprocessor().fit_transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(0), 1)
    # Raw, the largest value sits hundreds of standard deviations out.
    assert (X[:, 0].max() - X[:, 0].mean()) / X[:, 0].std() > 20
    assert np.abs(Z).max() < 10
