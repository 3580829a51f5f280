"""Bad input, tried on purpose (issue #8): one test per case, in one place.

Every refusal names what to change and comes before any training: the
``no_training`` fixture makes training fail the test, and ``no_population``
even the initialization of the members. Where ``tests/test_defense.py`` or
``tests/test_attack.py`` already holds the same test, a comment points to it
and the test here covers the other estimators and paths.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from skorch import NeuralNetClassifier

import sklearn_dshare.defense as defense
from sklearn_dshare import (
    AdversarialFineTuneClassifier,
    CPIRobustClassifier,
    PrivacyLeakWarning,
    PropertyUnlearningClassifier,
    ResponsiveCPIAttack,
)
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.population import Population
from sklearn_dshare.properties import FeatureMean, FeatureRate, LabelRate

leaky = pytest.mark.filterwarnings("ignore::sklearn_dshare.PrivacyLeakWarning")

N_FEATURES = 4
# The portfolio's default rate is 0.3, inside bin 0.
RATE = LabelRate(bins=[(0.2, 0.35), (0.45, 0.6)])
DEFENSES = [
    CPIRobustClassifier,
    PropertyUnlearningClassifier,
    AdversarialFineTuneClassifier,
]


class Net(torch.nn.Module):
    """One linear layer of logits (module level, so that nets pickle)."""

    def __init__(self, n_features=N_FEATURES, n_outputs=2):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.linear(X)


class ScoreNet(Net):
    """One score per row, shape (n,), as a regression net would return."""

    def __init__(self, n_features=N_FEATURES):
        super().__init__(n_features, 1)

    def forward(self, X):
        return self.linear(X).squeeze(-1)


def skorch_net(module=Net, **kwargs):
    return NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        verbose=0,
        max_epochs=1,
        **kwargs,
    )


def tiny(cls=CPIRobustClassifier, estimator=None, prop=RATE, **kwargs):
    """A defense of ``cls`` small enough for a test: 8 shadows, one epoch."""
    if cls is CPIRobustClassifier:
        params = {"n_rounds": 1, "epochs_per_round": 1}
    else:
        params = {"max_epochs": 1}
    params.update({"n_shadow_models": 8, "random_state": 0})
    params.update(kwargs)
    if estimator is None:
        estimator = LogisticRegression(max_iter=20)
    return cls(estimator, prop, **params)


def tiny_attack(estimator=None, prop=RATE, **kwargs):
    params = {"n_shadow_models": 4, "shadow_size": 60, "n_queries": 16}
    params.update({"random_state": 0})
    params.update(kwargs)
    if estimator is None:
        estimator = LogisticRegression(max_iter=20)
    return ResponsiveCPIAttack(estimator, prop, **params)


def _refuse(*args, **kwargs):
    raise AssertionError("training started before the input was checked")


@pytest.fixture
def no_training(monkeypatch):
    monkeypatch.setattr(defense, "run_arms_race", _refuse)
    monkeypatch.setattr(Population, "fit", _refuse)


@pytest.fixture
def no_population(no_training, monkeypatch):
    monkeypatch.setattr(Population, "initialize", _refuse)


@pytest.fixture(scope="module")
def data():
    X, y = make_credit_portfolio(
        200, n_features=N_FEATURES, default_rate=0.3, random_state=0
    )
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        return tiny().fit(X, y)


def _ids(cls):
    return cls.__name__


# -- 1. NaN and inf in X ------------------------------------------------------
# CPIRobustClassifier.fit with NaN: tests/test_defense.py::
# test_nan_in_X_fails_before_training.
@pytest.mark.parametrize(
    "cls, bad, match",
    [
        (CPIRobustClassifier, np.inf, "infinity"),
        (CPIRobustClassifier, 1e39, "too large for dtype"),
        (PropertyUnlearningClassifier, np.nan, "NaN"),
        (PropertyUnlearningClassifier, -np.inf, "infinity"),
        (AdversarialFineTuneClassifier, np.nan, "NaN"),
        (AdversarialFineTuneClassifier, np.inf, "infinity"),
    ],
)
def test_non_finite_X_in_fit(data, no_population, cls, bad, match):
    X, y = data
    X = X.astype(np.float64)
    X[3, 1] = bad
    with pytest.raises(ValueError, match=match):
        tiny(cls).fit(X, y)


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
@pytest.mark.parametrize("method", ["predict_proba", "predict"])
def test_non_finite_X_in_predict(data, fitted, method, bad, match):
    X, _ = data
    X = X.copy()
    X[0, 0] = bad
    with pytest.raises(ValueError, match=match):
        getattr(fitted, method)(X)


def test_non_finite_X_in_attack(data, no_population):
    X, y = data
    X = X.copy()
    X[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tiny_attack().fit(X, y)


# -- 2. a single class in y ---------------------------------------------------
# Integer labels through CPIRobustClassifier: tests/test_defense.py::
# test_single_class_fails_before_training.
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_single_class_in_y(data, no_population, cls):
    X, _ = data
    y = np.full(len(X), "repaid")
    # The label reads as the user wrote it, not as np.str_('repaid').
    with pytest.raises(ValueError, match=r"y holds one class \('repaid'\);"):
        tiny(cls).fit(X, y)


# -- 3. more than two classes -------------------------------------------------
@leaky
@pytest.mark.parametrize(
    "cls, estimator",
    [
        (CPIRobustClassifier, LogisticRegression(max_iter=20)),
        (CPIRobustClassifier, MLPClassifier((4,), max_iter=3)),
        (PropertyUnlearningClassifier, LogisticRegression(max_iter=20)),
    ],
    ids=["cpi-logreg", "cpi-mlp", "unlearning-logreg"],
)
def test_three_classes_are_supported(data, cls, estimator):
    """LabelRate(positive_label=None) counts the largest label, here 2."""
    X, _ = data
    y = np.arange(len(X)) % 3
    prop = LabelRate(bins=[(0.2, 0.4), (0.5, 0.7)])
    clf = tiny(cls, estimator, prop, validation_fraction=0).fit(X, y)
    assert clf.property_value_ == pytest.approx(np.mean(y == 2))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    # An attacker of 3-class models fits and reads them too.
    attack = tiny_attack(estimator, prop).fit(X, y)
    assert attack.predict_proba([clf.estimator_]).shape == (1, 2)


# A skorch module with 2 outputs for 3 classes: tests/test_defense.py::
# test_skorch_output_width_is_checked_before_training.
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_three_classes_refused_by_sgd(data, no_training, cls):
    X, _ = data
    y = np.arange(len(X)) % 3
    sgd = SGDClassifier(loss="log_loss", max_iter=3)
    prop = LabelRate(bins=[(0.2, 0.4), (0.5, 0.7)])
    with pytest.raises(ValueError, match="one-vs-rest.*use two classes"):
        tiny(cls, sgd, prop).fit(X, y)


# -- 4. string labels ---------------------------------------------------------
# CPIRobustClassifier with LogisticRegression and an explicit positive_label:
# tests/test_defense.py::test_string_labels.
@leaky
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_string_labels(data, cls):
    """positive_label=None counts the largest label, "yes"."""
    X, y = data
    labels = np.where(y == 1, "yes", "no")
    clf = tiny(cls, MLPClassifier((4,), max_iter=3)).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert clf.property_value_ == pytest.approx(0.3)
    predicted = clf.predict(X)
    assert predicted.dtype == labels.dtype
    assert set(predicted) <= {"no", "yes"}
    np.testing.assert_array_equal(predicted, clf.estimator_.predict(X))
    if cls is CPIRobustClassifier:
        attack = tiny_attack(MLPClassifier((4,), max_iter=3)).fit(X, labels)
        assert attack.predict([clf.estimator_]).shape == (1,)


# -- 5. DataFrames and feature names ------------------------------------------
@pytest.fixture(scope="module")
def frame(data):
    X, y = data
    rng = np.random.RandomState(1)
    X = pd.DataFrame(X, columns=["income", "utilization", "age", "debt"])
    X["region"] = (rng.rand(len(X)) < 0.3).astype(float)
    return X, y


@leaky
@pytest.mark.parametrize(
    "prop",
    [
        FeatureRate(column="region", category=1.0, bins=[(0.25, 0.4), (0.5, 0.7)]),
        FeatureMean(column="income", bins=[(-0.5, 0.0), (0.0, 0.5)]),
    ],
    ids=["FeatureRate", "FeatureMean"],
)
def test_dataframe_columns_by_name(frame, prop):
    """The property reads the named column of X itself (no property_data)."""
    X, y = frame
    clf = tiny(prop=prop, validation_fraction=0).fit(X, y)
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    assert clf.property_value_ == pytest.approx(prop.value(X, y))
    assert clf.predict_proba(X).shape == (len(X), 2)

    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        clf.predict(X.rename(columns={"income": "salary"}))
    with pytest.raises(ValueError, match="must be in the same order"):
        clf.predict(X[X.columns[::-1]])
    # scikit-learn only warns when the names are gone altogether.
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(X.to_numpy())


def test_dataframe_unknown_column_name(frame, no_population):
    X, y = frame
    prop = FeatureRate(column="regoin", category=1.0, bins=[(0.25, 0.4), (0.5, 0.7)])
    with pytest.raises(ValueError, match=r"column 'regoin' is not a column of X"):
        tiny(prop=prop).fit(X, y)


# -- 6. sparse X --------------------------------------------------------------
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_sparse_X_in_fit(data, no_population, cls):
    X, y = data
    assert tiny(cls).__sklearn_tags__().input_tags.sparse is False
    with pytest.raises(TypeError, match=r"dense data is required.*\.toarray\(\)"):
        tiny(cls).fit(sparse.csr_matrix(X), y)


def test_sparse_X_in_predict_and_attack(data, fitted, no_population):
    X, y = data
    with pytest.raises(TypeError, match=r"\.toarray\(\)"):
        fitted.predict_proba(sparse.csr_matrix(X))
    with pytest.raises(TypeError, match=r"\.toarray\(\)"):
        tiny_attack().fit(sparse.csr_array(X), y)


@leaky
def test_sparse_property_data_is_read(data):
    """Only the model's X must be dense: the property reads sparse columns."""
    X, y = data
    region = (np.random.RandomState(1).rand(len(y), 1) < 0.3).astype(float)
    prop = FeatureRate(column=0, category=1.0, bins=[(0.25, 0.4), (0.5, 0.7)])
    clf = tiny(prop=prop, validation_fraction=0)
    clf.fit(X, y, property_data=sparse.csr_matrix(region))
    assert clf.property_value_ == region.mean()


# -- 7. bins that overlap or leave the property's range -----------------------
# Every malformed form of bins at construction: tests/test_properties.py::
# test_invalid_bins_fail_at_construction.
BAD_BINS = [
    (LabelRate, [(1.2, 1.5), (1.6, 1.7)], r"bin 0 \(1.2, 1.5\) lies outside \[0, 1\]"),
    (LabelRate, [(-0.3, -0.1), (0.2, 0.4)], r"bin 0 \(-0.3, -0.1\) lies outside"),
    (LabelRate, [(0.1, 0.3), (0.2, 0.4)], r"bin 0 \(0.1, 0.3\) overlaps bin 1"),
    (FeatureMean, [(-1.0, 1.0), (0.5, 2.0)], r"bin 0 \(-1, 1\) overlaps bin 1"),
]


@pytest.mark.parametrize(
    "prop_cls, bins, match", BAD_BINS, ids=[str(b[1]) for b in BAD_BINS]
)
def test_bad_bins(data, no_population, prop_cls, bins, match):
    """Refused at construction, and at fit after ``set_params``."""
    X, y = data
    args = {} if prop_cls is LabelRate else {"column": 0}
    with pytest.raises(ValueError, match=match):
        prop_cls(bins=bins, **args)
    clf = tiny(prop=prop_cls(bins=[(0.2, 0.35), (0.45, 0.6)], **args))
    clf.set_params(confidential_property__bins=bins)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


# -- 8. a bin the data cannot reach -------------------------------------------
# A category no row holds, a mean out of reach, a bin no k/shadow_size hits:
# tests/test_defense.py::test_unreachable_bins_fail_before_training.
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_unreachable_bin(data, no_population, cls):
    """Shadows are bootstrap resamples (``resample_index(replace=True)``):
    any bin holding some k / shadow_size is reachable as long as the data has
    a row of each kind it needs. A positive_label that no row holds is not."""
    X, y = data
    labels = np.where(y == 1, "default", "repaid")
    typo = LabelRate(bins=[(0.0, 0.1), (0.5, 1.0)], positive_label="defualt")
    with pytest.raises(
        ValueError,
        match=r"shadow datasets of 180 rows \(shadow_size\) in every bin: "
        r"bin 1 \[0.5, 1\] needs rows with y == 'defualt' but the data has none",
    ):
        tiny(cls, prop=typo).fit(X, labels)


@leaky
def test_extreme_bins_are_reached_by_bootstrap(data, monkeypatch):
    """Bins far from the data's 30% (below 1%, above 95%) still give shadows;
    fit warns that the provider's own value lies in neither bin."""
    X, y = data
    extreme = LabelRate(bins=[(0.0, 0.01), (0.95, 1.0)])
    shadow_bins = []
    real = defense.run_arms_race

    def spy(population, datasets, bins, *args):
        shadow_bins.extend(extreme.bin_of(extreme.value(*d)) for d in datasets[1:])
        return real(population, datasets, bins, *args)

    monkeypatch.setattr(defense, "run_arms_race", spy)
    with pytest.warns(UserWarning, match="in none of the bins"):
        tiny(prop=extreme).fit(X, y)
    assert sorted(shadow_bins) == [0] * 4 + [1] * 4


# -- 9. fewer rows than shadow_size -------------------------------------------
# The attacks' auxiliary data: tests/test_attack.py::
# test_aux_data_too_small_for_the_bins.
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_shadow_size_above_training_rows(data, no_population, cls):
    X, y = data
    with pytest.raises(
        ValueError,
        match=r"shadow_size=190 exceeds the 180 rows the target trains on "
        r"\(200 rows less 20 held out by validation_fraction=0.1\).*"
        r"shadow_size <= 180",
    ):
        tiny(cls, shadow_size=190).fit(X, y)


@pytest.mark.parametrize("size", [0, -3, 2.5, "all"])
def test_shadow_size_not_a_positive_integer(data, no_population, size):
    X, y = data
    with pytest.raises(ValueError, match="shadow_size must be a positive integer"):
        tiny(shadow_size=size).fit(X, y)


# -- 10. too few shadow models per bin ----------------------------------------
# CPIRobustClassifier: tests/test_defense.py::
# test_bad_parameters_fail_before_training and
# test_too_few_shadows_per_bin_counts_the_bins; the attacks (2 per bin):
# tests/test_attack.py::test_too_few_shadow_models_per_bin.
@pytest.mark.parametrize("cls", DEFENSES[1:], ids=_ids)
def test_too_few_shadow_models_in_baselines(data, no_population, cls):
    X, y = data
    with pytest.raises(
        ValueError, match=r"n_shadow_models must be an integer >= 8 \(4 per bin"
    ):
        tiny(cls, n_shadow_models=7).fit(X, y)


def test_too_few_shadow_models_in_defend_population(data, no_population):
    X, y = data
    clf = tiny(n_shadow_models=4)
    with pytest.raises(ValueError, match=r"n_shadow_models must be an integer >= 8"):
        clf.defend_population([(X, y)] * 4, [0, 1, 0, 1])


# -- 11. unsupported base estimators ------------------------------------------
# CPIRobustClassifier with RandomForestClassifier, SGDClassifier(loss="hinge") and
# MLPClassifier(solver="lbfgs"): tests/test_defense.py::
# test_bad_parameters_fail_before_training; the attacks: tests/test_attack.py::
# test_unsupported_estimator.
UNSUPPORTED = [
    (SVC(probability=True), TypeError, "SVC is not differentiable.*Supported"),
    (MLPClassifier(solver="lbfgs"), ValueError, "use solver='adam'"),
    (LogisticRegression(l1_ratio=1.0, solver="saga"), ValueError, "L2 penalty"),
    (
        skorch_net(optimizer=torch.optim.RMSprop),
        ValueError,
        "RMSprop is not supported.*use torch.optim.SGD, Adam or AdamW",
    ),
    (MLPClassifier, TypeError, r"instance such as MLPClassifier\(\), not the class"),
    (
        make_pipeline(StandardScaler(), MLPClassifier()),
        TypeError,
        "Pipeline cannot be the base estimator.*put the defense inside the pipeline",
    ),
]


@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
@pytest.mark.parametrize(
    "estimator, error, match",
    UNSUPPORTED,
    ids=["svc", "mlp-lbfgs", "logreg-l1", "skorch-rmsprop", "class", "pipeline"],
)
def test_unsupported_estimator(data, no_population, cls, estimator, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        tiny(cls, estimator).fit(X, y)


# -- 12. skorch modules without one score per class ---------------------------
# 2 outputs for 3 classes through CPIRobustClassifier, with a hidden layer:
# tests/test_defense.py::test_skorch_output_width_is_checked_before_training.
SKORCH_MISFITS = [
    (skorch_net(module__n_outputs=1), r"one score per class.*returned shape \(1, 1\)"),
    (skorch_net(ScoreNet), r"one score per class.*returned shape \(1,\)"),
    (skorch_net(module__n_outputs=3), r"Change its output layer to 2 units"),
    (
        skorch_net(module__n_features=7),
        r"cannot take rows of 4 features.*first layer take 4 inputs",
    ),
]


@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
@pytest.mark.parametrize(
    "net, match", SKORCH_MISFITS, ids=["1-output", "1-d", "3-outputs", "7-inputs"]
)
def test_skorch_module_output_width(data, no_training, cls, net, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny(cls, net).fit(X, y)


@pytest.mark.parametrize(
    "net, match", SKORCH_MISFITS, ids=["1-output", "1-d", "3-outputs", "7-inputs"]
)
def test_skorch_module_output_width_in_attack(data, no_training, net, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny_attack(net).fit(X, y)


# -- 13. device="cuda" without a GPU ------------------------------------------
@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
@pytest.mark.parametrize("cls", DEFENSES, ids=_ids)
def test_cuda_without_gpu(data, no_population, no_gpu, cls, device):
    X, y = data
    with pytest.raises(
        ValueError, match="no CUDA GPU on this machine; use device='cpu'"
    ):
        tiny(cls, device=device).fit(X, y)


def test_cuda_without_gpu_in_attack_and_defend_population(data, no_population, no_gpu):
    X, y = data
    with pytest.raises(ValueError, match="no CUDA GPU"):
        tiny_attack(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        tiny(device="cuda").defend_population([(X, y)] * 9, np.arange(9) % 2)


# -- found while trying: parameters of the wrong type -------------------------
@pytest.mark.parametrize(
    "prop", [None, [0.2, 0.35, 0.6], LabelRate], ids=["None", "bins", "class"]
)
def test_confidential_property_of_the_wrong_type(data, no_population, prop):
    X, y = data
    with pytest.raises(TypeError, match="confidential_property must be a property"):
        tiny(prop=prop).fit(X, y)


def test_validation_fraction_not_a_number(data, no_population):
    X, y = data
    with pytest.raises(ValueError, match=r"validation_fraction must be in \[0, 0.5\)"):
        tiny(validation_fraction="10%").fit(X, y)


# -- 14. random small datasets and bins ---------------------------------------
@st.composite
def small_problems(draw):
    """Rows, features (some constant), imbalanced binary labels and two bins."""
    n = draw(st.integers(20, 120))
    n_features = draw(st.integers(1, 4))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    X = rng.randn(n, n_features).astype(np.float32)
    for j in range(n_features):
        constant = draw(st.one_of(st.none(), st.sampled_from([0.0, 1.0, 1e3])))
        if constant is not None:
            X[:, j] = constant
    n_positive = draw(st.integers(1, n - 1))
    y = rng.permutation(np.arange(n) < n_positive).astype(int)
    edges = draw(
        st.lists(st.floats(0, 1), min_size=4, max_size=4, unique=True).map(sorted)
    )
    bins = [(edges[0], edges[1]), (edges[2], edges[3])]
    return X, y, bins


@settings(max_examples=15, deadline=None)
@given(
    problem=small_problems(),
    kind=st.sampled_from(["logreg", "mlp"]),
    validation_fraction=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_random_data_fits_or_refuses_clearly(problem, kind, validation_fraction):
    """Either a usable model or a ValueError / FloatingPointError, never a raw
    traceback from torch or numpy (IndexError, RuntimeError, ...)."""
    X, y, bins = problem
    if kind == "logreg":
        estimator = LogisticRegression(max_iter=20)
    else:
        estimator = MLPClassifier((4,), max_iter=3)
    clf = tiny(
        estimator=estimator,
        prop=LabelRate(bins=bins),
        validation_fraction=validation_fraction,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
    except (ValueError, FloatingPointError):
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
