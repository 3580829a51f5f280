"""Confidential property inference attacks: accuracy, contract, errors.

Everything trains tiny populations (LogisticRegression or an MLP with 8
hidden units for 20 epochs on a few hundred rows), so the whole module runs
in seconds. Data: a synthetic credit portfolio split into a disjoint
attacker half (auxiliary data) and provider half (targets).
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_dshare import FeatureRate, LabelRate, Population, fit_population
from sklearn_dshare.attack import (
    KLDivergenceAttack,
    MeanOutputAttack,
    ResponsiveCPIAttack,
    sample_shadow_datasets,
)
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.defense import CPIRobustClassifier, PrivacyLeakWarning
from sklearn_dshare.metrics import attack_report, wilson_interval
from sklearn_dshare.views import MetaClassifier

ATTACKS = [ResponsiveCPIAttack, MeanOutputAttack, KLDivergenceAttack]
RATE = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])
RATE3 = LabelRate(bins=[(0.1, 0.2), (0.25, 0.35), (0.4, 0.5)])
SHADOW_SIZE = 300
N_TARGETS = 40


def mlp(hidden=(8,)):
    # Adam's default step (1e-3) barely moves a net in 20 epochs of two
    # batches, so its outputs would not depend on its data at all.
    return MLPClassifier(hidden, max_iter=20, learning_rate_init=0.05)


RECIPES = {"mlp": mlp, "logreg": lambda: LogisticRegression()}


def small_attack(cls=ResponsiveCPIAttack, estimator=None, prop=RATE, **kwargs):
    params = {
        "n_shadow_models": 16,
        "shadow_size": 200,
        "n_queries": 32,
        "random_state": 0,
    }
    params.update(kwargs)
    return cls(mlp() if estimator is None else estimator, prop, **params)


@pytest.fixture(scope="module")
def credit():
    """Standardized credit data: (aux X, aux y, provider X, provider y), disjoint."""
    X, y = make_credit_portfolio(6000, default_rate=0.3, random_state=0)
    X = StandardScaler().fit_transform(X)
    return X[:3000], y[:3000], X[3000:], y[3000:]


def make_targets(
    estimator, prop, X, y, bins, *, size=SHADOW_SIZE, seed=1000, drop=None
):
    """Models trained on resamples of (X, y) in known bins (optionally without
    the column ``drop``, which the property still reads)."""
    datasets = []
    for i, b in enumerate(bins):
        X_r, y_r = prop.resample(X, y, int(b), size, random_state=seed + i)
        assert prop.bin_of(prop.value(X_r, y_r)) == b
        if drop is not None:
            X_r = np.delete(X_r, drop, axis=1)
        datasets.append((X_r, y_r))
    return fit_population(estimator, datasets, random_state=seed)


@pytest.fixture(scope="module")
def targets(credit):
    """N_TARGETS models per recipe on the provider half, balanced over RATE's bins."""
    _, _, X_p, y_p = credit
    bins = np.random.RandomState(7).permutation(np.arange(N_TARGETS) % 2)
    return {
        name: (make_targets(make(), RATE, X_p, y_p, bins), bins)
        for name, make in RECIPES.items()
    }


@pytest.fixture(scope="module")
def fitted(credit):
    """A fitted black-box MLP attack (16 shadows of 200 rows, 32 queries)."""
    X_a, y_a, _, _ = credit
    return small_attack().fit(X_a, y_a)


@pytest.fixture(scope="module")
def few_targets(credit):
    _, _, X_p, y_p = credit
    bins = np.array([0, 1, 1, 0, 1, 0])
    return make_targets(mlp(), RATE, X_p, y_p, bins, size=200, seed=50), bins


# -- the "done when": beats chance where the property is planted --------


@pytest.mark.parametrize("recipe", sorted(RECIPES))
@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (ResponsiveCPIAttack, {"access": "black-box"}),
        (ResponsiveCPIAttack, {"access": "white-box"}),
        (MeanOutputAttack, {}),
        (KLDivergenceAttack, {}),
    ],
    ids=["black-box", "white-box", "mean-output", "kl-divergence"],
)
def test_attack_reads_planted_default_rate(credit, targets, recipe, cls, kwargs):
    X_a, y_a, _, _ = credit
    models, bins = targets[recipe]
    attack = cls(
        RECIPES[recipe](),
        RATE,
        n_shadow_models=24,
        shadow_size=SHADOW_SIZE,
        n_queries=32,
        random_state=0,
        **kwargs,
    )
    attack.fit(X_a, y_a)

    accuracy = attack.score(models, bins)
    assert accuracy >= 0.85
    # A wide margin: the whole 95% interval lies well above chance.
    low, _ = wilson_interval(round(accuracy * len(bins)), len(bins))
    assert low > 0.6


# -- ...and stays at chance when the property lives in a column the model
# never sees.

HIDDEN = 10  # index of the extra column, after make_credit_portfolio's 10


class _DropHidden:
    """Resamples on every column (the property reads HIDDEN), trains without
    HIDDEN: the target's recipe, for a provider that drops the column.

    ``_fit_shadows`` draws query rows and shadow datasets from the full X, then
    hands them to ``_train_population``; dropping the column there (and from
    the query rows, drawn just before) gives shadows of what the model sees.
    """

    def _train_population(self, datasets, bins, rng):
        self.query_X_ = np.delete(self.query_X_, HIDDEN, axis=1)
        datasets = [(np.delete(X, HIDDEN, axis=1), y) for X, y in datasets]
        return super()._train_population(datasets, bins, rng)


class DropHiddenResponsive(_DropHidden, ResponsiveCPIAttack):
    pass


class DropHiddenMeanOutput(_DropHidden, MeanOutputAttack):
    pass


@pytest.fixture(scope="module")
def credit_with_hidden_column(credit):
    """Credit data plus a binary column independent of y and of the features."""
    X_a, y_a, X_p, y_p = credit
    rng = np.random.RandomState(3)

    def add(X):
        return np.column_stack([X, rng.binomial(1, 0.5, len(X)).astype(float)])

    return add(X_a), y_a, add(X_p), y_p


HIDDEN_RATE = FeatureRate(column=HIDDEN, category=1, bins=[(0.1, 0.3), (0.7, 0.9)])


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (DropHiddenResponsive, {"access": "black-box"}),
        (DropHiddenResponsive, {"access": "white-box"}),
        (DropHiddenMeanOutput, {}),
    ],
    ids=["black-box", "white-box", "mean-output"],
)
@pytest.mark.parametrize(
    ("prop", "leaks"),
    [(HIDDEN_RATE, False), (RATE, True)],
    ids=["dropped-column", "label-rate-control"],
)
def test_attack_at_chance_when_property_column_is_dropped(
    credit_with_hidden_column, cls, kwargs, prop, leaks
):
    X_a, y_a, X_p, y_p = credit_with_hidden_column
    bins = np.random.RandomState(11).permutation(np.arange(N_TARGETS) % 2)
    estimator = LogisticRegression()
    models = make_targets(estimator, prop, X_p, y_p, bins, drop=HIDDEN)
    attack = cls(
        estimator,
        prop,
        n_shadow_models=32,
        shadow_size=SHADOW_SIZE,
        n_queries=32,
        random_state=0,
        **kwargs,
    ).fit(X_a, y_a)
    assert attack.query_X_.shape == (32, HIDDEN)
    assert attack.shadow_models_[0].n_features_in_ == HIDDEN

    report = attack_report(attack, models, bins)
    assert report["n_models"] == N_TARGETS
    if leaks:
        # Control: the same machinery reads a property the model does see.
        assert report["accuracy"] >= 0.85
    else:
        assert report["ci_low"] <= 0.5 <= report["ci_high"]
        assert abs(report["accuracy"] - 0.5) <= 0.2


# -- sample_shadow_datasets -------------------------------------------------------


@pytest.mark.parametrize(("prop", "n_datasets"), [(RATE, 7), (RATE3, 10)])
def test_sample_shadow_datasets_balanced_and_in_bin(credit, prop, n_datasets):
    X_a, y_a, _, _ = credit
    datasets, bins = sample_shadow_datasets(prop, X_a, y_a, n_datasets, 150, 0)

    assert len(datasets) == n_datasets
    assert bins.shape == (n_datasets,)
    counts = np.bincount(bins, minlength=prop.n_bins)
    assert counts.sum() == n_datasets and counts.max() - counts.min() <= 1
    for (X_s, y_s), b in zip(datasets, bins, strict=True):
        assert X_s.shape == (150, X_a.shape[1]) and y_s.shape == (150,)
        assert prop.bin_of(prop.value(X_s, y_s)) == b

    again, bins_again = sample_shadow_datasets(prop, X_a, y_a, n_datasets, 150, 0)
    np.testing.assert_array_equal(bins, bins_again)
    for (X1, y1), (X2, y2) in zip(datasets, again, strict=True):
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
    other, _ = sample_shadow_datasets(prop, X_a, y_a, n_datasets, 150, 1)
    assert not np.array_equal(other[0][0], datasets[0][0])


def test_sample_shadow_datasets_explains_what_aux_data_lacks(credit):
    X_a, y_a, _, _ = credit
    # 150 rows with a 30% rate: 45 positives cannot make 200 rows at 40-50%.
    with pytest.raises(ValueError, match="auxiliary data cannot provide"):
        sample_shadow_datasets(RATE, X_a[:150], y_a[:150], 4, 200, 0)


# -- the estimator contract -------------------------------------------------------


@pytest.mark.parametrize("cls", ATTACKS)
def test_clone_and_params_round_trip(cls):
    attack = small_attack(cls, n_shadow_models=20)
    params = attack.get_params()
    assert params["n_shadow_models"] == 20
    assert params["confidential_property"] is RATE
    assert "confidential_property__bins" in attack.get_params(deep=True)

    twin = clone(attack)
    assert twin is not attack
    assert twin.get_params().keys() == params.keys()
    assert twin.n_shadow_models == 20 and twin.shadow_size == 200
    assert twin.confidential_property is not RATE
    assert twin.confidential_property.bins == RATE.bins

    assert twin.set_params(n_queries=48, random_state=3) is twin
    assert twin.get_params()["n_queries"] == 48 and twin.random_state == 3
    assert attack.n_queries == 32  # the original is untouched
    twin.set_params(confidential_property__bins=[(0.0, 0.1), (0.2, 0.3)])
    assert twin.confidential_property.intervals == [(0.0, 0.1), (0.2, 0.3)]


def test_responsive_attack_params_include_access_and_defense():
    defense = CPIRobustClassifier(mlp(), RATE, n_shadow_models=8)
    attack = small_attack(access="white-box", defense=defense)
    params = attack.get_params()
    assert params["access"] == "white-box" and params["defense"] is defense
    assert params["defense__n_shadow_models"] == 8
    assert clone(attack).defense is not defense


@pytest.mark.parametrize("cls", ATTACKS)
def test_random_state_reproducible(credit, few_targets, cls):
    X_a, y_a, _, _ = credit
    models, _ = few_targets
    first = small_attack(cls).fit(X_a, y_a)
    second = small_attack(cls).fit(X_a, y_a)
    np.testing.assert_array_equal(first.query_X_, second.query_X_)
    np.testing.assert_array_equal(first.shadow_bins_, second.shadow_bins_)
    for name, value in first.shadow_population_.params.items():
        assert torch.equal(value, second.shadow_population_.params[name]), name
    np.testing.assert_array_equal(
        first.predict_proba(models), second.predict_proba(models)
    )

    other = small_attack(cls, random_state=1).fit(X_a, y_a)
    assert not np.array_equal(first.query_X_, other.query_X_)
    name = next(iter(first.shadow_population_.params))
    assert not torch.equal(
        first.shadow_population_.params[name], other.shadow_population_.params[name]
    )


def test_fitted_attributes(credit, fitted):
    X_a, _, _, _ = credit
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    assert fitted.n_features_in_ == X_a.shape[1]
    assert fitted.query_X_.shape == (32, X_a.shape[1])
    # The query rows are rows of the auxiliary data.
    assert all(np.isclose(X_a, q, atol=1e-5).all(1).any() for q in fitted.query_X_)

    assert isinstance(fitted.shadow_population_, Population)
    assert fitted.shadow_population_.n_members == 16
    shadows = fitted.shadow_models_
    assert isinstance(shadows, list) and len(shadows) == 16
    for model in shadows:
        assert type(model) is MLPClassifier
        assert [c.shape for c in model.coefs_] == [(X_a.shape[1], 8), (8, 1)]
        np.testing.assert_array_equal(model.classes_, [0, 1])
    # The estimators are the population's members, in order.
    proba = fitted.shadow_population_.predict_proba(fitted.query_X_)
    for i in (0, 15):
        np.testing.assert_allclose(
            shadows[i].predict_proba(fitted.query_X_), proba[i], atol=1e-5
        )

    assert fitted.shadow_bins_.shape == (16,)
    np.testing.assert_array_equal(np.bincount(fitted.shadow_bins_), [8, 8])
    assert isinstance(fitted.meta_classifier_, MetaClassifier)
    np.testing.assert_array_equal(fitted.meta_classifier_.classes_, [0, 1])
    assert fitted.meta_classifier_.n_features_in_ == 32  # one probability per query
    assert fitted.fit_seconds_ > 0 and fitted.shadow_seconds_ > 0


def test_fitted_attributes_of_threshold_and_kl_attacks(credit):
    X_a, y_a, _, _ = credit
    mean = small_attack(MeanOutputAttack).fit(X_a, y_a)
    assert hasattr(mean.threshold_classifier_, "predict_proba")
    kl = small_attack(KLDivergenceAttack).fit(X_a, y_a)
    assert kl.shadow_proba_.shape == (16, 32, 2)
    for attack in (mean, kl):
        assert len(attack.shadow_models_) == 16
        np.testing.assert_array_equal(np.bincount(attack.shadow_bins_), [8, 8])
        assert attack.query_X_.shape == (32, X_a.shape[1])


def test_predict_proba_predict_and_score(fitted, few_targets):
    models, bins = few_targets
    proba = fitted.predict_proba(models)
    assert proba.shape == (len(models), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)

    predicted = fitted.predict(models)
    assert predicted.shape == (len(models),)
    assert np.issubdtype(predicted.dtype, np.integer)
    assert set(predicted.tolist()) <= {0, 1}
    np.testing.assert_array_equal(predicted, proba.argmax(1))
    assert fitted.score(models, bins) == accuracy_score(bins, predicted)
    assert fitted.score(models, bins.tolist()) == np.mean(predicted == bins)

    # A population of the same models reads the same.
    np.testing.assert_allclose(
        fitted.predict_proba(Population.from_estimators(models)), proba
    )


@pytest.mark.parametrize("access", ["black-box", "white-box"])
def test_transform_is_the_view(credit, few_targets, access):
    X_a, y_a, _, _ = credit
    models, _ = few_targets
    attack = small_attack(access=access).fit(X_a, y_a)
    views = attack.transform(models)
    n_params = X_a.shape[1] * 8 + 8 + 8 + 1
    expected = 32 if access == "black-box" else 32 + n_params
    assert views.shape == (len(models), expected)
    np.testing.assert_allclose(
        views[:, :32],
        np.stack([m.predict_proba(attack.query_X_)[:, 1] for m in models]),
        atol=1e-5,
    )
    assert attack.meta_classifier_.n_features_in_ == expected


@pytest.mark.parametrize("cls", ATTACKS)
def test_pickle_round_trip(credit, few_targets, cls):
    X_a, y_a, _, _ = credit
    models, bins = few_targets
    attack = small_attack(cls).fit(X_a, y_a)
    restored = pickle.loads(pickle.dumps(attack))
    np.testing.assert_array_equal(
        restored.predict_proba(models), attack.predict_proba(models)
    )
    np.testing.assert_array_equal(restored.predict(models), attack.predict(models))
    assert restored.score(models, bins) == attack.score(models, bins)


@pytest.mark.parametrize("cls", ATTACKS)
def test_unfitted_attack_refuses_to_predict(few_targets, cls):
    models, _ = few_targets
    attack = small_attack(cls)
    with pytest.raises(NotFittedError):
        attack.predict_proba(models)
    with pytest.raises(NotFittedError):
        attack.shadow_models_  # noqa: B018
    # predict and score too: scikit-learn's NotFittedError, not AttributeError.
    with pytest.raises(NotFittedError):
        attack.predict(models)
    with pytest.raises(NotFittedError):
        attack.score(models, [0, 1, 1])


# -- the responsive attacker ---------------------------------------------------------


def small_defense(**kwargs):
    return CPIRobustClassifier(
        mlp(), RATE, n_shadow_models=8, n_rounds=1, random_state=0, **kwargs
    )


@pytest.fixture(scope="module")
def fitted_defense(credit):
    _, _, X_p, y_p = credit
    X_d, y_d = RATE.resample(X_p, y_p, 0, 400, random_state=3)
    with warnings.catch_warnings():
        # One round may well leave the held-out leakage high; not our subject.
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        return small_defense().fit(X_d, y_d)


@pytest.fixture
def spy_defend(monkeypatch):
    """Records every call of CPIRobustClassifier.defend_population."""
    calls = []
    original = CPIRobustClassifier.defend_population

    def spy(self, datasets, bins, **kwargs):
        calls.append(
            {
                "self": self,
                "datasets": list(datasets),
                "bins": np.asarray(bins),
                **kwargs,
            }
        )
        return original(self, datasets, bins, **kwargs)

    monkeypatch.setattr(CPIRobustClassifier, "defend_population", spy)
    return calls


@pytest.mark.parametrize("access", ["black-box", "white-box"])
def test_responsive_attack_trains_shadows_through_the_defense(
    credit, few_targets, spy_defend, access
):
    X_a, y_a, _, _ = credit
    models, _ = few_targets
    defense = small_defense(access=access)
    responsive = small_attack(
        access=access, defense=defense, responsive_mode="replicas"
    ).fit(X_a, y_a)

    assert len(spy_defend) == 1
    call = spy_defend[0]
    assert call["self"] is not defense  # a clone: the user's defense is untouched
    assert call["self"].estimator is responsive.estimator
    assert len(call["datasets"]) == 16
    assert all(len(y) == 200 for _, y in call["datasets"])
    np.testing.assert_array_equal(call["bins"], responsive.shadow_bins_)
    assert not hasattr(defense, "n_samples_fit_")

    classic = small_attack(access=access).fit(X_a, y_a)
    assert len(spy_defend) == 1  # no defense, no defended training
    # Same seed, same shadow data and queries; different (defended) shadows.
    np.testing.assert_array_equal(responsive.query_X_, classic.query_X_)
    np.testing.assert_array_equal(responsive.shadow_bins_, classic.shadow_bins_)
    assert (
        responsive.shadow_population_.params.keys()
        == classic.shadow_population_.params.keys()
    )
    for name, value in responsive.shadow_population_.params.items():
        other = classic.shadow_population_.params[name]
        assert value.shape == other.shape
        assert not torch.allclose(value, other), name
    assert all(type(m) is MLPClassifier for m in responsive.shadow_models_)

    proba = responsive.predict_proba(models)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)


def test_shadow_size_none_reads_the_fitted_defense(credit, fitted_defense, spy_defend):
    X_a, y_a, _, _ = credit
    assert fitted_defense.n_samples_fit_ == 360
    attack = small_attack(
        shadow_size=None, defense=fitted_defense, responsive_mode="replicas"
    ).fit(X_a, y_a)
    assert attack.shadow_size is None
    sizes = {len(y) for _, y in spy_defend[0]["datasets"]}
    assert sizes == {fitted_defense.n_samples_fit_}
    assert len(attack.shadow_models_) == 16


def test_refit_mode_trains_each_shadow_as_a_defended_target(credit, monkeypatch):
    X_a, y_a, _, _ = credit
    fits = []
    original = CPIRobustClassifier.fit

    def spy(self, X, y, **kwargs):
        fits.append((self, len(y)))
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(CPIRobustClassifier, "fit", spy)
    defense = small_defense()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        attack = small_attack(defense=defense, n_shadow_models=8).fit(X_a, y_a)
    assert attack.responsive_mode == "refit"
    assert len(fits) == 8
    assert all(fit is not defense for fit, _ in fits)
    assert len({fit.random_state for fit, _ in fits}) == 8
    # Each defended fit holds out validation rows: its target trains on 200.
    assert {n for _, n in fits} == {int(np.ceil(200 / 0.9))}
    # (to a row: the stratified split rounds per class)
    assert all(abs(fit.n_samples_fit_ - 200) <= 1 for fit, _ in fits)
    trained = [fit.estimator_ for fit, _ in fits]
    for name, value in attack.shadow_population_.params.items():
        stacked = Population.from_estimators(trained).params[name]
        torch.testing.assert_close(value, stacked)


def test_unknown_responsive_mode_is_refused(credit):
    X_a, y_a, _, _ = credit
    with pytest.raises(ValueError, match="responsive_mode"):
        small_attack(defense=small_defense(), responsive_mode="fast").fit(X_a, y_a)


@pytest.mark.parametrize("cls", ATTACKS)
def test_shadow_size_none_without_a_fitted_defense_is_an_error(credit, cls):
    X_a, y_a, _, _ = credit
    with pytest.raises(ValueError, match="shadow_size"):
        small_attack(cls, shadow_size=None).fit(X_a, y_a)
    if cls is ResponsiveCPIAttack:
        with pytest.raises(ValueError, match="shadow_size"):
            small_attack(shadow_size=None, defense=small_defense()).fit(X_a, y_a)


# -- bad input ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_attacks(credit):
    X_a, y_a, _, _ = credit
    return {cls: small_attack(cls).fit(X_a, y_a) for cls in ATTACKS}


def fitted_like(estimator, credit, n_features=None):
    X_a, y_a, _, _ = credit
    X = X_a[:200] if n_features is None else X_a[:200, :n_features]
    return fit_population(estimator, [(X, y_a[:200])], random_state=0)[0]


@pytest.mark.parametrize("cls", ATTACKS)
def test_models_of_another_architecture_are_refused(credit, fitted_attacks, cls):
    attack = fitted_attacks[cls]
    narrow = fitted_like(mlp((4,)), credit)
    with pytest.raises(ValueError, match="parameter shapes.*architecture"):
        attack.predict([narrow])
    deeper = fitted_like(mlp((8, 8)), credit)
    with pytest.raises(ValueError, match="architecture"):
        attack.predict_proba([deeper])
    fewer_features = fitted_like(mlp(), credit, n_features=5)
    with pytest.raises(ValueError, match="architecture"):
        attack.predict([fewer_features])
    with pytest.raises(ValueError, match="architecture"):
        attack.predict(Population.from_estimators([narrow]))


@pytest.mark.parametrize("cls", ATTACKS)
def test_models_of_another_type_are_refused(credit, fitted_attacks, cls):
    attack = fitted_attacks[cls]
    same = fitted_like(mlp(), credit)
    logreg = fitted_like(LogisticRegression(), credit)
    with pytest.raises(ValueError, match="LogisticRegression.*MLPClassifier"):
        attack.predict([logreg])
    with pytest.raises(ValueError, match="Model 1 is a LogisticRegression"):
        attack.predict([same, logreg])
    assert attack.predict([same]).shape == (1,)


@pytest.mark.parametrize("cls", ATTACKS)
def test_empty_and_unfitted_models_are_refused(credit, fitted_attacks, cls):
    attack = fitted_attacks[cls]
    with pytest.raises(ValueError, match="empty"):
        attack.predict([])
    with pytest.raises(ValueError, match="not fitted"):
        attack.predict([mlp()])
    with pytest.raises(ValueError, match="Model 1 .*not fitted"):
        attack.predict_proba([fitted_like(mlp(), credit), mlp()])


@pytest.mark.parametrize("cls", ATTACKS)
def test_aux_data_too_small_for_the_bins(credit, cls):
    X_a, y_a, _, _ = credit
    # 60 positives and 150 negatives: 200 rows hold 25% to 30% positives,
    # in neither bin.
    rows = np.r_[np.flatnonzero(y_a == 1)[:60], np.flatnonzero(y_a == 0)[:150]]
    with pytest.raises(ValueError, match="auxiliary data cannot provide"):
        small_attack(cls).fit(X_a[rows], y_a[rows])
    # Fewer rows than one shadow dataset.
    with pytest.raises(ValueError, match="auxiliary data"):
        small_attack(cls, shadow_size=500).fit(X_a[:400], y_a[:400])


def test_unknown_access_mode(credit, fitted, few_targets):
    X_a, y_a, _, _ = credit
    with pytest.raises(ValueError, match="access must be one of"):
        small_attack(access="grey-box").fit(X_a, y_a)
    broken = clone(fitted).set_params(access="grey-box")
    broken.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    with pytest.raises(ValueError, match="grey-box"):
        broken.predict(few_targets[0])


@pytest.mark.parametrize("cls", ATTACKS)
@pytest.mark.parametrize(("prop", "too_few"), [(RATE, 3), (RATE3, 5)])
def test_too_few_shadow_models_per_bin(credit, cls, prop, too_few):
    X_a, y_a, _, _ = credit
    with pytest.raises(
        ValueError, match=f"n_shadow_models must be an integer >= {2 * prop.n_bins}"
    ):
        small_attack(cls, prop=prop, n_shadow_models=too_few).fit(X_a, y_a)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_shadow_models", 16.0),
        ("n_shadow_models", True),
        ("n_queries", 0),
        ("shadow_size", 0),
        ("shadow_size", -5),
    ],
)
def test_invalid_integer_params(credit, param, value):
    X_a, y_a, _, _ = credit
    with pytest.raises(ValueError, match=param):
        small_attack(**{param: value}).fit(X_a, y_a)


def test_mismatched_X_and_y(credit):
    X_a, y_a, _, _ = credit
    with pytest.raises(ValueError, match="rows but y has"):
        small_attack().fit(X_a, y_a[:-1])


@pytest.mark.parametrize("cls", ATTACKS)
def test_unsupported_estimator(credit, cls):
    X_a, y_a, _, _ = credit
    with pytest.raises(TypeError, match="RandomForestClassifier.*Supported"):
        small_attack(cls, estimator=RandomForestClassifier()).fit(X_a, y_a)


# -- three bins -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_bin_targets(credit):
    _, _, X_p, y_p = credit
    bins = np.arange(30) % 3
    return make_targets(mlp(), RATE3, X_p, y_p, bins, seed=300), bins


@pytest.mark.parametrize("cls", ATTACKS)
def test_three_bins(credit, three_bin_targets, cls):
    from sklearn.metrics import roc_auc_score

    X_a, y_a, _, _ = credit
    models, bins = three_bin_targets
    attack = small_attack(
        cls, prop=RATE3, n_shadow_models=24, shadow_size=SHADOW_SIZE
    ).fit(X_a, y_a)
    np.testing.assert_array_equal(attack.classes_, [0, 1, 2])
    np.testing.assert_array_equal(np.bincount(attack.shadow_bins_), [8, 8, 8])

    proba = attack.predict_proba(models)
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)
    assert set(attack.predict(models).tolist()) <= {0, 1, 2}

    report = attack_report(attack, models, bins)
    assert np.isfinite(report["auc"])
    # One-vs-rest macro AUC (up to ties broken differently by rounding).
    ovr = np.mean([roc_auc_score(bins == k, proba[:, k]) for k in range(3)])
    assert report["auc"] == pytest.approx(ovr, abs=0.01)
    assert report["accuracy"] == attack.score(models, bins)
    assert report["chance"] == pytest.approx(1 / 3)
    assert report["accuracy"] > 0.6  # well above the 1/3 of chance
