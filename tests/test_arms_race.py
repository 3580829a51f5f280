"""The arms race's building blocks: moment_gap, PrivacyLoss, run_arms_race."""

from itertools import combinations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from sklearn_dshare._arms_race import (
    PrivacyLoss,
    RaceSetup,
    _cells,
    moment_gap,
    run_arms_race,
)
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.population import Population
from sklearn_dshare.properties import LabelRate


def gap(features, groups, bins, n_bins):
    cells, present = _cells(np.asarray(groups), np.asarray(bins), n_bins)
    return moment_gap(torch.as_tensor(features), cells, present)


def reference_gap(features, groups, bins, n_bins):
    """Mean over groups of the mean over bin pairs of the squared gap between
    the bins' mean standardized features, averaged over dimensions."""
    features, groups, bins = map(np.asarray, (features, groups, bins))
    z = features / np.maximum(features.std(0, ddof=1), 1e-6)
    per_group = []
    for g in np.unique(groups):
        means = [
            z[(groups == g) & (bins == b)].mean(0)
            for b in range(n_bins)
            if np.any((groups == g) & (bins == b))
        ]
        pairs = [np.mean((a - b) ** 2) for a, b in combinations(means, 2)]
        per_group.append(np.mean(pairs) if pairs else 0.0)
    return float(np.mean(per_group))


def members(n_groups, n_bins, per_cell):
    """Groups and bins of a population with ``per_cell`` members per (group, bin)."""
    groups = np.repeat(np.arange(n_groups), n_bins * per_cell)
    bins = np.tile(np.repeat(np.arange(n_bins), per_cell), n_groups)
    return groups, bins


shapes = {
    "seed": st.integers(0, 2**32 - 1),
    "n_groups": st.integers(1, 3),
    "n_bins": st.integers(2, 4),
    "per_cell": st.integers(1, 4),
    "n_dims": st.integers(1, 6),
}


# -- moment_gap ------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(**shapes)
def test_moment_gap_is_the_mean_squared_gap_between_bin_means(
    seed, n_groups, n_bins, per_cell, n_dims
):
    rng = np.random.RandomState(seed)
    groups, bins = members(n_groups, n_bins, per_cell)
    features = rng.normal(size=(len(groups), n_dims)) * rng.uniform(0.1, 10, n_dims)
    value = gap(features, groups, bins, n_bins)
    assert value.dtype == torch.float64 and value.dim() == 0
    assert float(value) == pytest.approx(
        reference_gap(features, groups, bins, n_bins), rel=1e-5, abs=1e-9
    )


@settings(max_examples=25, deadline=None)
@given(**shapes)
def test_moment_gap_is_zero_when_bin_means_are_equal(
    seed, n_groups, n_bins, per_cell, n_dims
):
    rng = np.random.RandomState(seed)
    groups, bins = members(n_groups, n_bins, per_cell)
    features = np.empty((len(groups), n_dims))
    for g in range(n_groups):
        # Every bin of a group holds the same rows, shuffled: equal means,
        # although members differ, and groups differ from each other.
        rows = rng.normal(loc=5.0 * g, size=(per_cell, n_dims))
        for b in range(n_bins):
            cell = np.flatnonzero((groups == g) & (bins == b))
            features[cell] = rows[rng.permutation(per_cell)]
    assert float(gap(features, groups, bins, n_bins)) == pytest.approx(0, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(**shapes, shift=st.floats(0.05, 5.0), sign=st.sampled_from([-1, 1]))
def test_moment_gap_is_positive_when_one_bin_mean_moves(
    seed, n_groups, n_bins, per_cell, n_dims, shift, sign
):
    rng = np.random.RandomState(seed)
    groups, bins = members(n_groups, n_bins, per_cell)
    features = np.tile(rng.normal(size=(1, n_dims)), (len(groups), 1))
    features += 1e-3 * rng.normal(size=features.shape)
    moved = rng.randint(n_bins)
    features[bins == moved, rng.randint(n_dims)] += sign * shift
    value = float(gap(features, groups, bins, n_bins))
    assert value > 0
    # _cells averages with float32 weights such as 1/3: agree to ~1e-7.
    assert value == pytest.approx(
        reference_gap(features, groups, bins, n_bins), rel=1e-5
    )


@settings(max_examples=25, deadline=None)
@given(**shapes)
def test_moment_gap_ignores_member_order_and_feature_scale(
    seed, n_groups, n_bins, per_cell, n_dims
):
    rng = np.random.RandomState(seed)
    groups, bins = members(n_groups, n_bins, per_cell)
    features = rng.normal(size=(len(groups), n_dims))
    value = float(gap(features, groups, bins, n_bins))
    order = rng.permutation(len(groups))
    assert float(gap(features[order], groups[order], bins[order], n_bins)) == (
        pytest.approx(value, rel=1e-9, abs=1e-12)
    )
    # Standardized per dimension: rescaling or shifting a feature changes nothing.
    scaled = features * rng.uniform(0.01, 100, n_dims) + rng.normal(size=n_dims)
    assert float(gap(scaled, groups, bins, n_bins)) == pytest.approx(
        value, rel=1e-6, abs=1e-9
    )


def test_moment_gap_gradient_pulls_bin_means_together():
    rng = np.random.RandomState(0)
    groups, bins = members(2, 2, 5)
    features = torch.as_tensor(rng.normal(size=(len(groups), 3)), dtype=torch.float64)
    features[bins == 1] += 1.0
    features.requires_grad_(True)
    before = gap(features, groups, bins, 2)
    before.backward()
    assert torch.isfinite(features.grad).all()
    # Members of one cell share the gradient of their cell's mean.
    cell = (groups == 0) & (bins == 0)
    assert torch.allclose(
        features.grad[cell], features.grad[cell][:1].expand(int(cell.sum()), -1)
    )
    with torch.no_grad():
        after = gap(features - 0.05 * features.grad, groups, bins, 2)
    assert after < before


def test_moment_gap_has_no_gradient_at_equal_means():
    groups, bins = members(1, 2, 3)
    rows = torch.randn(3, 4, dtype=torch.float64)
    features = torch.cat([rows, rows.flip(0)]).requires_grad_(True)
    gap(features, groups, bins, 2).backward()
    assert torch.allclose(features.grad, torch.zeros_like(features.grad), atol=1e-12)


def test_moment_gap_skips_missing_bins():
    # Group 1 has a single bin: no pair, so it adds nothing to the mean.
    groups = np.array([0, 0, 0, 0, 1, 1])
    bins = np.array([0, 0, 1, 1, 0, 0])
    features = np.array([[0.0], [1.0], [2.0], [3.0], [10.0], [20.0]])
    value = float(gap(features, groups, bins, 2))
    assert value == pytest.approx(reference_gap(features, groups, bins, 2))
    assert value > 0


# -- PrivacyLoss and run_arms_race on a tiny population --------------------------
PROPERTY = LabelRate(bins=[(0.2, 0.35), (0.45, 0.6)])
N_SHADOWS = 8


@pytest.fixture(scope="module")
def race():
    """A target in bin 0 and 8 shadows, two groups balanced over bins."""
    X, y = make_credit_portfolio(200, n_features=4, default_rate=0.3, random_state=0)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    shadow_bins = np.arange(N_SHADOWS) % 2
    rng = np.random.RandomState(0)
    datasets = [(X, y)]
    for b in shadow_bins:
        rows = PROPERTY.resample_index(
            X, y, int(b), 200, random_state=rng, replace=True
        )
        datasets.append((X[rows], y[rows]))
    bins = np.r_[0, shadow_bins]
    groups = np.r_[0, (np.arange(N_SHADOWS) // 2) % 2]
    return X, y, datasets, bins, groups


def make_setup(X, **kwargs):
    params = {
        "estimator": MLPClassifier((4,), max_iter=10, learning_rate_init=0.01),
        "access": "black-box",
        "defense_strength": 1.0,
        "n_rounds": 2,
        "epochs_per_round": 1,
        "approximate": True,
        "tol": 0.0,
        "meta_classifier": LogisticRegression(),
        "query_pool": torch.as_tensor(X),
        "eval_queries": X[:32],
        "n_bins": 2,
    }
    params.update(kwargs)
    return RaceSetup(**params)


def population_for(setup, datasets, seed=0):
    return Population.initialize(
        setup.estimator,
        len(datasets),
        n_features=datasets[0][0].shape[1],
        classes=np.array([0, 1]),
        random_state=seed,
    )


def test_race_fixture_is_balanced(race):
    _, _, datasets, bins, groups = race
    for g in (0, 1):
        assert np.bincount(bins[1:][groups[1:] == g]).tolist() == [2, 2]
    for (Xi, yi), b in zip(datasets[1:], bins[1:], strict=True):
        assert PROPERTY.bin_of(PROPERTY.value(Xi, yi)) == b


@pytest.mark.parametrize("access", ["black-box", "white-box"])
def test_privacy_loss_scales_with_strength_and_population(race, access):
    X, _, datasets, bins, groups = race
    setup = make_setup(X, access=access)
    population = population_for(setup, datasets)
    params = population.params
    loss = PrivacyLoss(population, setup, groups, bins, seed=3)
    value = loss(params, 0)
    assert value.dim() == 0 and value > 0
    # Same seed, same query rows: the loss is reproducible.
    assert PrivacyLoss(population, setup, groups, bins, seed=3)(params, 0) == value
    double = make_setup(X, access=access, defense_strength=2.0)
    assert PrivacyLoss(population, double, groups, bins, seed=3)(params, 0) == (
        pytest.approx(float(2 * value), rel=1e-6)
    )
    off = make_setup(X, access=access, defense_strength=0.0)
    assert float(PrivacyLoss(population, off, groups, bins, seed=3)(params, 0)) == 0
    assert loss.weight == pytest.approx(setup.defense_strength * len(datasets))


def test_white_box_loss_adds_the_weights_gap(race):
    X, _, datasets, bins, groups = race
    population = population_for(make_setup(X), datasets)
    black = PrivacyLoss(population, make_setup(X), groups, bins, seed=3)
    white = PrivacyLoss(
        population, make_setup(X, access="white-box"), groups, bins, seed=3
    )
    assert float(white(population.params, 0)) > float(black(population.params, 0))


def test_privacy_loss_is_differentiable(race):
    X, _, datasets, bins, groups = race
    setup = make_setup(X)
    population = population_for(setup, datasets)
    params = {k: v.clone().requires_grad_(True) for k, v in population.params.items()}
    PrivacyLoss(population, setup, groups, bins, seed=0)(params, 0).backward()
    for name, p in params.items():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_run_arms_race_records_every_round(race):
    X, y, datasets, bins, groups = race
    setup = make_setup(X, validation=(X[:50], y[:50]))
    population, history = run_arms_race(
        population_for(setup, datasets),
        datasets,
        bins,
        groups,
        setup,
        np.random.RandomState(0),
    )
    assert isinstance(population, Population) and len(population) == len(datasets)
    assert [entry["round"] for entry in history] == [0, 1, 2]
    for entry in history:
        assert set(entry) == {
            "round",
            "leakage",
            "leakage_auc",
            "valid_acc",
            "valid_auc",
            "valid_log_loss",
            "seconds",
        }
        assert 0 <= entry["leakage"] <= 1 and 0 <= entry["leakage_auc"] <= 1


def test_run_arms_race_is_reproducible(race):
    X, _, datasets, bins, groups = race
    setup = make_setup(X)
    results = [
        run_arms_race(
            population_for(setup, datasets),
            datasets,
            bins,
            groups,
            setup,
            np.random.RandomState(0),
        )
        for _ in range(2)
    ]
    (first, h1), (second, h2) = results
    for name in first.params:
        assert torch.equal(first.params[name], second.params[name])
    assert [e["leakage"] for e in h1] == [e["leakage"] for e in h2]


def test_zero_strength_stops_after_round_zero(race):
    X, _, datasets, bins, groups = race
    setup = make_setup(X, defense_strength=0.0, n_rounds=3)
    start = population_for(setup, datasets)
    plain = population_for(setup, datasets).fit(datasets)
    population, history = run_arms_race(
        start, datasets, bins, groups, setup, np.random.RandomState(0)
    )
    assert len(history) == 1
    for name in plain.params:
        assert torch.equal(population.params[name], plain.params[name])


def test_tolerance_stops_after_two_rounds_near_chance(race):
    X, _, datasets, bins, groups = race
    # tol=1 counts every round as near chance: stop once rounds 1 and 2 are.
    setup = make_setup(X, tol=1.0, n_rounds=5)
    _, history = run_arms_race(
        population_for(setup, datasets),
        datasets,
        bins,
        groups,
        setup,
        np.random.RandomState(0),
    )
    assert [entry["round"] for entry in history] == [0, 1, 2]


def test_measure_false_records_no_leakage(race):
    X, _, datasets, bins, groups = race
    setup = make_setup(X, measure=False, n_rounds=1)
    _, history = run_arms_race(
        population_for(setup, datasets),
        datasets,
        bins,
        groups,
        setup,
        np.random.RandomState(0),
    )
    assert len(history) == 2
    assert all(set(entry) == {"round", "seconds"} for entry in history)


def test_defense_rounds_align_bin_means(race):
    X, _, datasets, bins, groups = race
    setup = make_setup(X, n_rounds=3, epochs_per_round=2, defense_strength=4.0)
    undefended = population_for(setup, datasets).fit(datasets)
    defended, _ = run_arms_race(
        population_for(setup, datasets),
        datasets,
        bins,
        groups,
        setup,
        np.random.RandomState(0),
    )
    cells, present = _cells(groups, bins, 2)

    def output_gap(population):
        with torch.no_grad():
            logp = population.log_proba(X)
            return float(moment_gap(logp[..., 1] - logp[..., 0], cells, present))

    assert output_gap(defended) < 0.5 * output_gap(undefended)
