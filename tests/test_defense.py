"""CPIRobustClassifier: pipelines, routing, type preservation, the race, errors.

scikit-learn's estimator contract for CPIRobustClassifier lives in
``tests/test_common.py``. Most fits here are tiny (8 shadow models, one
round), so the simulated attacker may still read the bin: those tests ignore
``PrivacyLeakWarning`` explicitly with the ``leaky`` mark.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier

import sklearn_dshare.defense as defense
from sklearn_dshare._arms_race import RaceSetup
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.defense import CPIRobustClassifier, PrivacyLeakWarning
from sklearn_dshare.history import History
from sklearn_dshare.metrics import make_leakage_scorer, most_private_within
from sklearn_dshare.population import Population, member_seeds
from sklearn_dshare.properties import FeatureMean, FeatureRate, LabelRate

leaky = pytest.mark.filterwarnings("ignore::sklearn_dshare.defense.PrivacyLeakWarning")

N_FEATURES = 5
# The tiny portfolio's default rate is 0.3, inside bin 0.
PROPERTY = LabelRate(bins=[(0.2, 0.35), (0.45, 0.6)])
HISTORY_KEYS = {
    "round",
    "leakage",
    "leakage_auc",
    "valid_acc",
    "valid_auc",
    "valid_log_loss",
    "seconds",
}


class TinyNet(torch.nn.Module):
    """Linear-ReLU-Linear returning logits (module level, so that nets pickle)."""

    def __init__(self, n_features=N_FEATURES, n_classes=2):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, 8)
        self.output = torch.nn.Linear(8, n_classes)

    def forward(self, X):
        return self.output(torch.relu(self.hidden(X)))


class LazyNet(torch.nn.Module):
    """Infers its input width on the first call: any torch module should work."""

    def __init__(self, n_classes=2):
        super().__init__()
        self.hidden = torch.nn.LazyLinear(8)
        self.output = torch.nn.Linear(8, n_classes)

    def forward(self, X):
        return self.output(torch.relu(self.hidden(X)))


def skorch_net(module=TinyNet, **kwargs):
    params = {
        "criterion": torch.nn.CrossEntropyLoss,
        "train_split": None,
        "verbose": 0,
        "max_epochs": 3,
        "lr": 0.1,
    }
    params.update(kwargs)
    return NeuralNetClassifier(module, **params)


BASES = {
    "mlp": lambda: MLPClassifier((8,), max_iter=20, learning_rate_init=0.01),
    "logreg": lambda: LogisticRegression(max_iter=200),
    "sgd": lambda: SGDClassifier(loss="log_loss", max_iter=5),
    "skorch": skorch_net,
}


def tiny_data(n_samples=200, seed=0):
    X, y = make_credit_portfolio(
        n_samples, n_features=N_FEATURES, default_rate=0.3, random_state=seed
    )
    return StandardScaler().fit_transform(X).astype(np.float32), y


def tiny(estimator, prop=PROPERTY, **kwargs):
    params = {"n_shadow_models": 8, "n_rounds": 1, "random_state": 0}
    params.update(kwargs)
    return CPIRobustClassifier(estimator, prop, **params)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture
def no_training(monkeypatch):
    """Any attempt to train makes the test fail: errors must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(defense, "run_arms_race", refuse)
    monkeypatch.setattr(Population, "fit", refuse)


# -- pipelines, grid search, metadata routing -------------------------------
@leaky
def test_pipeline_grid_search_with_privacy_refit(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), tiny(LogisticRegression(max_iter=200)))
    candidates = [0.0, 1.0]
    search = GridSearchCV(
        pipe,
        {"cpirobustclassifier__defense_strength": candidates},
        scoring={"accuracy": "accuracy", "privacy": make_leakage_scorer()},
        refit=most_private_within(0.05),
        cv=2,
        n_jobs=2,
    )
    search.fit(X, y)
    assert search.best_params_["cpirobustclassifier__defense_strength"] in candidates
    privacy = search.cv_results_["mean_test_privacy"]
    assert np.all(np.asarray(privacy) <= 0)
    best = search.best_estimator_[-1]
    assert isinstance(best, CPIRobustClassifier)
    assert type(best.estimator_) is LogisticRegression
    assert search.predict(X).shape == y.shape
    assert search.predict_proba(X).shape == (len(y), 2)


def _region(n_samples, rate=0.35, seed=1):
    """A binary column the model never sees, e.g. a region, with ~rate ones."""
    rng = np.random.RandomState(seed)
    return (rng.rand(n_samples, 1) < rate).astype(float)


REGION = FeatureRate(column=0, category=1, bins=[(0.2, 0.3), (0.3, 0.45)])


@leaky
def test_property_data_direct(data):
    X, y = data
    Z = _region(len(y))
    clf = tiny(LogisticRegression(max_iter=200), REGION, validation_fraction=0).fit(
        X, y, property_data=Z
    )
    assert clf.property_value_ == REGION.value(Z) == Z.mean()
    assert REGION.bin_of(clf.property_value_) == 1
    # With a validation split, the value is that of the training rows only.
    clf = tiny(LogisticRegression(max_iter=200), REGION).fit(X, y, property_data=Z)
    train, _ = _fit_draws(y, random_state=0, n_shadow_models=8)
    assert clf.n_samples_fit_ == len(train) < len(y)
    assert clf.property_value_ == REGION.value(Z[train])


@leaky
def test_property_data_routed_through_pipeline(data):
    X, y = data
    Z = _region(len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        clf = tiny(LogisticRegression(max_iter=200), REGION, validation_fraction=0)
        clf.set_fit_request(property_data=True)
        pipe = make_pipeline(StandardScaler(), clf).fit(X, y, property_data=Z)
        assert pipe[-1] is clf
        assert clf.property_value_ == REGION.value(Z)
        # Without the request, scikit-learn refuses to route it.
        unrequested = tiny(LogisticRegression(max_iter=200), REGION)
        with pytest.raises(UnsetMetadataPassedError, match="property_data"):
            make_pipeline(StandardScaler(), unrequested).fit(X, y, property_data=Z)


@leaky
def test_dataframes_with_named_property_column(data):
    X, y = data
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    rng = np.random.RandomState(1)
    Z = pd.DataFrame({"region": np.where(rng.rand(len(y)) < 0.35, "north", "south")})
    region = FeatureRate(
        column="region", category="north", bins=[(0.2, 0.3), (0.3, 0.45)]
    )
    clf = tiny(LogisticRegression(max_iter=200), region, validation_fraction=0).fit(
        X, y, property_data=Z
    )
    assert clf.property_value_ == (Z["region"] == "north").mean()
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    assert clf.predict_proba(X).shape == (len(y), 2)


@leaky
def test_predict_on_dataframe_does_not_warn(data):
    X, y = data
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    clf = tiny(LogisticRegression(max_iter=200)).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = clf.predict(X)
    np.testing.assert_array_equal(labels, clf.estimator_.predict(X.to_numpy()))


@leaky
def test_string_labels(data):
    X, y = data
    labels = np.where(y == 1, "default", "repaid")
    rate = LabelRate(bins=[(0.2, 0.35), (0.45, 0.6)], positive_label="default")
    clf = tiny(LogisticRegression(max_iter=200), rate).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["default", "repaid"])
    assert set(clf.predict(X)) <= {"default", "repaid"}
    assert clf.property_value_ == pytest.approx(0.3)


@pytest.mark.parametrize("n_rows", [150, 400])
def test_property_data_of_wrong_length_is_refused(data, no_training, n_rows):
    X, y = data
    with pytest.raises(ValueError, match="property_data"):
        tiny(LogisticRegression(), REGION).fit(X, y, property_data=_region(n_rows))


# -- the shared model keeps the base estimator's type -------------------------
@leaky
@pytest.mark.parametrize("kind", list(BASES))
def test_estimator_type_and_delegation(data, kind):
    X, y = data
    base = BASES[kind]()
    clf = tiny(base)
    assert hasattr(clf, "decision_function") == hasattr(base, "decision_function")
    clf.fit(X, y)
    est = clf.estimator_
    assert type(est) is type(base)
    assert est is not base
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_features_in_ == N_FEATURES
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_array_equal(
        proba, np.asarray(est.predict_proba(X), dtype=np.float64)
    )
    np.testing.assert_array_equal(clf.predict(X), est.predict(X))
    assert hasattr(clf, "decision_function") == hasattr(est, "decision_function")
    if hasattr(base, "decision_function"):
        np.testing.assert_array_equal(
            clf.decision_function(X), est.decision_function(X)
        )


# -- reproducibility and the fitted attributes --------------------------------
@leaky
@pytest.mark.parametrize("kind", ["mlp", "skorch"])
def test_same_random_state_same_model(data, kind):
    X, y = data
    first = tiny(BASES[kind](), n_rounds=2).fit(X, y).predict_proba(X)
    again = tiny(BASES[kind](), n_rounds=2).fit(X, y).predict_proba(X)
    other = tiny(BASES[kind](), n_rounds=2, random_state=1).fit(X, y).predict_proba(X)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@leaky
def test_history_and_fitted_attributes(data):
    X, y = data
    clf = tiny(BASES["mlp"](), n_rounds=2, tol=0.0).fit(X, y)
    history = clf.history_
    assert isinstance(history, History)
    assert clf.n_rounds_ == 2
    assert len(history) == clf.n_rounds_ + 1
    assert history[:, "round"] == [0, 1, 2]
    for entry in history:
        assert set(entry) == HISTORY_KEYS
        assert 0 <= entry["leakage"] <= 1
        assert 0 <= entry["valid_acc"] <= 1
        assert entry["seconds"] >= 0
    assert clf.leakage_ == history[-1, "leakage"]
    # Stratified 10%: 14 of 140 repaid and 6 of 60 defaulted rows held out.
    assert clf.n_samples_fit_ == 180
    assert clf.property_value_ == pytest.approx(54 / 180)
    with pytest.raises(KeyError, match="recorded keys"):
        history[0, "no_such_key"]


@leaky
def test_no_validation_rows_records_no_utility(data):
    X, y = data
    clf = tiny(BASES["logreg"](), validation_fraction=0).fit(X, y)
    assert clf.n_samples_fit_ == len(y)
    for entry in clf.history_:
        assert set(entry) == {"round", "leakage", "leakage_auc", "seconds"}


@leaky
def test_verbose_prints_one_line_per_round(data, capsys):
    X, y = data
    tiny(BASES["logreg"](), n_rounds=2, tol=0.0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"round {i:>2}") for i, line in enumerate(lines))
    assert all("leakage" in line for line in lines)


# -- defense_strength=0 is the plain fit ---------------------------------------
@leaky
@pytest.mark.parametrize("kind", ["mlp", "logreg"])
def test_zero_strength_ignores_rounds_and_differs_from_defended(data, kind):
    X, y = data
    plain = tiny(BASES[kind](), defense_strength=0.0, n_rounds=3).fit(X, y)
    no_rounds = tiny(BASES[kind](), defense_strength=0.0, n_rounds=0).fit(X, y)
    defended = tiny(BASES[kind](), defense_strength=1.0, n_rounds=3).fit(X, y)
    assert np.array_equal(plain.predict_proba(X), no_rounds.predict_proba(X))
    assert plain.n_rounds_ == 0 and len(plain.history_) == 1
    assert not np.array_equal(plain.predict_proba(X), defended.predict_proba(X))


def _fit_draws(y, *, random_state, n_shadow_models, validation_fraction=0.1, n_bins=2):
    """Replay fit's random draws: the training rows and the members' seeds."""
    rng = np.random.RandomState(random_state)
    val = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        k = int(round(validation_fraction * len(rows)))
        val[rng.choice(rows, size=min(k, len(rows) - 1), replace=False)] = True
    train = np.flatnonzero(~val)
    rng.permutation(np.arange(n_shadow_models) % n_bins)  # shadow bins
    rng.randint(2**31 - 1)  # shadow datasets' seed
    rng.choice(len(train), size=min(256, len(train)), replace=False)  # queries
    return train, member_seeds(rng, n_shadow_models + 1)


def _plain_target(estimator, X, y, *, random_state, n_shadow_models):
    """The target that fit trains at round 0, rebuilt from fit's seed draws."""
    train, seeds = _fit_draws(
        y, random_state=random_state, n_shadow_models=n_shadow_models
    )
    population = Population.initialize(
        estimator, 1, n_features=X.shape[1], classes=np.unique(y), seeds=seeds[:1]
    )
    population.fit([(X[train], y[train])])
    return population.to_estimators()[0], train


@leaky
@pytest.mark.parametrize("kind", ["mlp", "sgd", "skorch"])
def test_zero_strength_equals_population_fit_of_the_target(data, kind):
    X, y = data
    clf = tiny(BASES[kind](), defense_strength=0.0, n_rounds=3).fit(X, y)
    plain, _ = _plain_target(BASES[kind](), X, y, random_state=0, n_shadow_models=8)
    # Mini-batch members train independently; batched matmuls over 9 members
    # instead of 1 may differ in the last float32 bits.
    np.testing.assert_allclose(
        clf.predict_proba(X), plain.predict_proba(X), rtol=0, atol=1e-6
    )


@leaky
def test_zero_strength_logistic_regression_matches_scikit_learn(data):
    X, y = data
    clf = tiny(BASES["logreg"](), defense_strength=0.0).fit(X, y)
    _, train = _plain_target(BASES["logreg"](), X, y, random_state=0, n_shadow_models=8)
    reference = LogisticRegression(max_iter=200).fit(X[train], y[train])
    # One L-BFGS run over the stacked members solves the same convex problem.
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(X), atol=5e-3
    )


# -- the race lowers leakage ----------------------------------------------------
PLANTED = LabelRate(bins=[(0.2, 0.28), (0.32, 0.4)])


@pytest.fixture(scope="module")
def planted():
    """A 600-row provider portfolio resampled in bin 0 (default rate 0.2733)."""
    X, y = make_credit_portfolio(3000, default_rate=0.3, random_state=0)
    X = StandardScaler().fit_transform(X)
    rows = PLANTED.resample_index(X, y, 0, 600, random_state=0)
    return X[rows], y[rows]


def planted_clf(**kwargs):
    params = {
        "n_shadow_models": 32,
        "n_rounds": 4,
        "defense_strength": 1.0,
        "tol": 0.0,
        "random_state": 1,
    }
    params.update(kwargs)
    return CPIRobustClassifier(
        MLPClassifier((16,), max_iter=30, learning_rate_init=0.01), PLANTED, **params
    )


@leaky
def test_leakage_falls_over_rounds(planted):
    X, y = planted
    clf = planted_clf().fit(X, y)
    assert PLANTED.bin_of(clf.property_value_) == 0
    leakage = clf.history_[:, "leakage"]
    auc = clf.history_[:, "leakage_auc"]
    assert len(leakage) == 5
    # Calibrated with random_state=1: 0.94 -> 0.51, AUC 1.00 -> 0.51.
    assert leakage[0] >= 0.8 and auc[0] >= 0.9
    assert leakage[-1] <= leakage[0] - 0.2
    assert auc[-1] <= auc[0] - 0.2
    assert max(leakage[1:]) <= 0.75
    # The defense keeps the target useful.
    valid_auc = clf.history_[:, "valid_auc"]
    assert valid_auc[-1] >= valid_auc[0] - 0.05


def test_privacy_leak_warning_when_leakage_stays_high(planted):
    X, y = planted
    with pytest.warns(PrivacyLeakWarning, match="still reads the bin"):
        clf = planted_clf(n_rounds=0).fit(X, y)
    assert clf.n_rounds_ == 0
    assert clf.leakage_ > 0.7


def test_no_privacy_leak_warning_for_the_undefended_model(planted):
    X, y = planted
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        clf = planted_clf(n_rounds=0, defense_strength=0.0).fit(X, y)
    assert clf.leakage_ > 0.7


@leaky
def test_warns_when_provider_value_lies_in_no_bin(data):
    X, y = data
    outside = LabelRate(bins=[(0.05, 0.15), (0.45, 0.6)])
    with pytest.warns(UserWarning, match="in none of the bins"):
        clf = tiny(BASES["logreg"](), outside).fit(X, y)
    assert outside.bin_of(clf.property_value_) == -1
    assert hasattr(clf, "estimator_")


# -- exact mode and white-box access -------------------------------------------
@leaky
@pytest.mark.parametrize("approximate", [True, False])
def test_exact_mode_redraws_shadows_every_round(data, monkeypatch, approximate):
    X, y = data
    redrawn = []

    def counting_setup(*args, **kwargs):
        draw = kwargs["redraw_shadows"]

        def counted(seed, bins):
            redrawn.append(len(bins))
            return draw(seed, bins)

        return RaceSetup(*args, **{**kwargs, "redraw_shadows": counted})

    monkeypatch.setattr(defense, "RaceSetup", counting_setup)
    clf = tiny(BASES["mlp"](), n_rounds=2, tol=0.0, approximate=approximate).fit(X, y)
    if approximate:
        assert redrawn == []
    else:
        # Once per defense round; at least the attacker's group (B) is fresh.
        assert len(redrawn) == 2
        assert all(4 <= n <= 8 for n in redrawn)
    assert len(clf.history_) == 3
    assert all(np.isfinite(clf.history_[:, "leakage"]))


@leaky
@pytest.mark.parametrize("kind", ["mlp", "skorch"])
def test_white_box_access(data, kind):
    X, y = data
    clf = tiny(BASES[kind](), access="white-box", n_rounds=2, tol=0.0).fit(X, y)
    assert len(clf.history_) == 3
    assert all(np.isfinite(clf.history_[:, "leakage"]))
    assert type(clf.estimator_) is type(BASES[kind]())
    black = tiny(BASES[kind](), n_rounds=2, tol=0.0).fit(X, y)
    assert not np.array_equal(clf.predict_proba(X), black.predict_proba(X))


# -- bad input fails before any training ----------------------------------------
BAD_PARAMS = [
    (
        {"estimator": RandomForestClassifier()},
        TypeError,
        r"RandomForestClassifier is not differentiable.*Supported base estimators: "
        r".*MLPClassifier.*LogisticRegression.*SGDClassifier.*NeuralNetClassifier",
    ),
    ({"estimator": SGDClassifier(loss="hinge")}, ValueError, "loss='log_loss'"),
    ({"estimator": MLPClassifier(solver="lbfgs")}, ValueError, "solver='adam'"),
    (
        {"n_shadow_models": 7},
        ValueError,
        r"n_shadow_models must be an integer >= 8 \(4 per bin",
    ),
    ({"n_shadow_models": 8.0}, ValueError, "n_shadow_models must be an integer"),
    (
        {"defense_strength": -0.5},
        ValueError,
        "defense_strength must be a finite number >= 0",
    ),
    (
        {"defense_strength": np.nan},
        ValueError,
        "defense_strength must be a finite number >= 0",
    ),
    (
        {"defense_strength": np.inf},
        ValueError,
        "defense_strength must be a finite number >= 0",
    ),
    ({"access": "grey-box"}, ValueError, "access must be one of"),
    ({"validation_fraction": 0.5}, ValueError, r"validation_fraction must be in"),
    ({"validation_fraction": -0.1}, ValueError, r"validation_fraction must be in"),
    ({"n_rounds": -1}, ValueError, "n_rounds must be an integer >= 0"),
    ({"epochs_per_round": 0}, ValueError, "epochs_per_round must be an integer >= 1"),
    ({"tol": -0.1}, ValueError, "tol must be a number >= 0"),
    ({"device": "no-such-device"}, ValueError, "not a torch device"),
]


@pytest.mark.parametrize(
    "params, error, match",
    BAD_PARAMS,
    ids=[next(iter(p)) + "=" + repr(next(iter(p.values()))) for p, _, _ in BAD_PARAMS],
)
def test_bad_parameters_fail_before_training(data, no_training, params, error, match):
    X, y = data
    params = {"estimator": LogisticRegression(), **params}
    estimator = params.pop("estimator")
    with pytest.raises(error, match=match):
        tiny(estimator, **params).fit(X, y)


def test_too_few_shadows_per_bin_counts_the_bins(data, no_training):
    X, y = data
    three = LabelRate(bins=[0.1, 0.25, 0.4, 0.6])
    with pytest.raises(
        ValueError,
        match=r"n_shadow_models must be an integer >= 12 "
        r"\(4 per bin.*3 bins\), got 11",
    ):
        tiny(LogisticRegression(), three, n_shadow_models=11).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_fails_before_training(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="no CUDA GPU"):
        tiny(LogisticRegression(), device="cuda").fit(X, y)


def test_single_class_fails_before_training(data, no_training):
    X, _ = data
    with pytest.raises(ValueError, match="one class"):
        tiny(LogisticRegression()).fit(X, np.zeros(len(X), dtype=int))


def test_nan_in_X_fails_before_training(data, no_training):
    X, y = data
    X = X.copy()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tiny(LogisticRegression()).fit(X, y)


def test_unreachable_bins_fail_before_training(data, no_training):
    X, y = data
    # No row of the region column holds the counted category.
    none = np.zeros((len(y), 1))
    region = FeatureRate(column=0, category=1, bins=[(0.0, 0.1), (0.5, 1.0)])
    with pytest.raises(
        ValueError,
        match=r"bin 1 \[0.5, 1\] needs rows with "
        r"X\[0\] == 1 but the data has none",
    ):
        tiny(LogisticRegression(), region).fit(X, y, property_data=none)
    # A mean the column's values cannot reach.
    uniform = np.random.RandomState(0).rand(len(y), 1)
    mean = FeatureMean(column=0, bins=[(0.0, 0.6), (2.0, 3.0)])
    with pytest.raises(ValueError, match=r"bin 1 \[2, 3\] is out of reach"):
        tiny(LogisticRegression(), mean).fit(X, y, property_data=uniform)
    # A bin no whole number of the shadow's 3 rows can hit.
    narrow = LabelRate(bins=[(0.2, 0.21), (0.25, 0.4)])
    with pytest.raises(ValueError, match="holds no rate k/3"):
        tiny(LogisticRegression(), narrow, shadow_size=3).fit(X, y)


@pytest.mark.parametrize("n_outputs, n_classes", [(2, 3), (3, 2)])
def test_skorch_output_width_is_checked_before_training(
    no_training, n_outputs, n_classes
):
    X, y = tiny_data(120)
    if n_classes == 3:
        y = np.arange(len(y)) % 3
    net = skorch_net(module__n_classes=n_outputs)
    bins = LabelRate(bins=[(0.2, 0.4), (0.5, 0.7)])
    with pytest.raises(ValueError, match="class"):
        tiny(net, bins).fit(X, y)


@leaky
def test_skorch_module_with_lazy_layers(data):
    X, y = data
    clf = tiny(skorch_net(LazyNet)).fit(X, y)
    assert type(clf.estimator_) is NeuralNetClassifier


@leaky
def test_skorch_fit_leaves_global_torch_rng_alone(data):
    X, y = data
    torch.manual_seed(123)
    state = torch.random.get_rng_state().clone()
    tiny(skorch_net()).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())


@leaky
def test_verbose_2_adds_a_progress_bar_over_the_shadows(data, capsys):
    X, y = data
    tiny(BASES["mlp"](), n_rounds=1, tol=0.0, verbose=2).fit(X, y)
    captured = capsys.readouterr()
    assert "members" in captured.err and "epoch" in captured.err  # tqdm's bar
    assert captured.out.count("round ") == 2


@leaky
def test_silent_by_default(data, capsys):
    X, y = data
    tiny(BASES["mlp"](), n_rounds=1).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
