"""Adapters: every supported family round-trips, trains like its library, and
unsupported models or settings are refused with a helpful error."""

import pickle

import numpy as np
import pytest
import torch
from conftest import (
    BatchNormModule,
    LogitModule,
    SoftmaxModule,
    make_data,
    make_estimator,
    make_skorch,
)
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from skorch import NeuralNetClassifier

from sklearn_dshare import Population, fit_population
from sklearn_dshare._adapters import get_adapter

ROUND_TRIPS = [
    ("mlp-relu", 2),
    ("mlp-relu", 3),
    ("mlp-logistic", 2),
    ("mlp-logistic", 3),
    ("mlp-tanh", 2),
    ("mlp-tanh", 3),
    ("logreg", 2),
    ("logreg", 3),
    ("sgd", 2),
    ("skorch-softmax", 2),
    ("skorch-softmax", 3),
    ("skorch-logits", 2),
    ("skorch-logits", 3),
]


def _datasets(kind, n_classes):
    # SGDClassifier steps row by row: keep it to 2 members x 80 rows.
    n_rows = 80 if kind == "sgd" else 150
    return [make_data(n_rows, n_classes=n_classes, seed=s) for s in (3, 4)]


@pytest.mark.parametrize(("kind", "n_classes"), ROUND_TRIPS)
def test_round_trip(kind, n_classes):
    estimator = make_estimator(kind, n_classes)
    datasets = _datasets(kind, n_classes)
    models = fit_population(estimator, datasets, random_state=0)

    assert len(models) == len(datasets)
    assert all(type(model) is type(estimator) for model in models)
    # Queries: training rows of both members plus unseen rows.
    X = np.vstack(
        [
            datasets[0][0][:40],
            datasets[1][0][:40],
            make_data(40, n_classes=n_classes, seed=99)[0],
        ]
    )
    population = Population.from_estimators(models)
    proba = population.predict_proba(X)
    assert proba.shape == (len(models), len(X), n_classes)

    for i, (model, (X_i, y_i)) in enumerate(zip(models, datasets, strict=True)):
        own = model.predict_proba(X)
        assert own.shape == (len(X), n_classes)
        np.testing.assert_allclose(own.sum(1), 1.0, atol=1e-5)
        assert np.abs(proba[i] - own).max() < 1e-5
        labels = np.asarray(model.classes_)[own.argmax(1)]
        np.testing.assert_array_equal(model.predict(X), labels)
        # The written-back model is trained, not just well formed.
        assert np.mean(model.predict(X_i) == y_i) > 0.75

        restored = pickle.loads(pickle.dumps(model))
        assert type(restored) is type(model)
        np.testing.assert_array_equal(restored.predict_proba(X), own)
        np.testing.assert_array_equal(restored.predict(X), model.predict(X))


@pytest.mark.parametrize("kind", ["mlp-relu", "logreg", "sgd", "skorch-logits"])
def test_parameters_survive_write_back_and_read_back(kind):
    estimator = make_estimator(kind)
    population = Population.initialize(
        estimator, 3, n_features=5, classes=[0, 1], random_state=0
    )
    datasets = [make_data(60, seed=s) for s in range(3)]
    population.fit(datasets, epochs=2)
    models = population.to_estimators()
    again = Population.from_estimators(models)

    assert again.params.keys() == population.params.keys()
    for name, value in population.params.items():
        torch.testing.assert_close(again.params[name], value, rtol=0, atol=1e-7)
    X = datasets[0][0]
    expected = population.predict_proba(X)
    for i, model in enumerate(models):
        np.testing.assert_allclose(model.predict_proba(X), expected[i], atol=1e-5)


def test_string_labels_round_trip():
    X, y = make_data(150, n_classes=3, seed=2)
    names = np.array(["bad", "fair", "good"])
    models = fit_population(LogisticRegression(), [(X, names[y])] * 2, random_state=0)
    np.testing.assert_array_equal(models[0].classes_, names)
    assert set(models[0].predict(X)) <= set(names)
    assert np.mean(models[0].predict(X) == names[y]) > 0.8


# -- quality against the reference libraries ---------------------------------


@pytest.mark.parametrize(("n_classes", "C"), [(2, 1.0), (3, 1.0), (2, 0.05)])
def test_logistic_regression_matches_scikit_learn(n_classes, C):
    X, y = make_data(300, n_classes=n_classes, seed=5)
    X = X.astype(np.float64)
    reference = LogisticRegression(C=C, max_iter=1000, tol=1e-8).fit(X, y)
    [ours] = fit_population(LogisticRegression(C=C), [(X, y)], random_state=0)

    assert ours.coef_.shape == reference.coef_.shape
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-2)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-2)
    assert np.mean(ours.predict(X) == reference.predict(X)) >= 0.99


def test_mlp_accuracy_matches_scikit_learn():
    # Overlapping classes, so that accuracy is far from both 0.5 and 1.
    X, y = make_data(600, seed=6, class_sep=0.8, flip_y=0.05)
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    params = {
        "hidden_layer_sizes": (16,),
        "max_iter": 10,
        "batch_size": 32,
        "learning_rate_init": 3e-3,
        "tol": 0.0,
    }
    reference = []
    for seed in range(4):
        with pytest.warns(ConvergenceWarning):
            model = MLPClassifier(random_state=seed, **params).fit(X_train, y_train)
        reference.append(model.score(X_test, y_test))
    ours = fit_population(
        MLPClassifier(**params), [(X_train, y_train)] * 4, random_state=0
    )

    assert all(model.n_iter_ == 10 for model in ours)
    accuracy = np.mean([model.score(X_test, y_test) for model in ours])
    assert accuracy > 0.85
    assert abs(accuracy - np.mean(reference)) < 0.04


@pytest.mark.parametrize(
    ("n_classes", "params"),
    [
        (2, {"solver": "adam"}),
        (2, {"solver": "adam", "alpha": 0.5, "activation": "tanh"}),
        (3, {"solver": "adam", "activation": "logistic"}),
        (2, {"solver": "sgd", "learning_rate_init": 0.05}),
        (3, {"solver": "sgd", "learning_rate_init": 0.05, "nesterovs_momentum": False}),
        (2, {"solver": "sgd", "learning_rate_init": 0.05, "momentum": 0.0}),
    ],
    ids=["adam", "adam-l2-tanh", "adam-logistic-3", "nesterov", "momentum-3", "sgd"],
)
def test_mlp_trains_like_scikit_learn_step_by_step(n_classes, params):
    # From the same weights and without shuffling, both take the same
    # minibatch steps (150 rows: four batches of 32 and one of 22).
    X, y = make_data(150, n_classes=n_classes, seed=10)
    estimator = MLPClassifier(
        (6, 3), shuffle=False, batch_size=32, max_iter=4, tol=0.0, **params
    )
    population = Population.initialize(
        estimator, 1, n_features=5, classes=np.arange(n_classes), random_state=0
    )
    [start] = population.to_estimators()

    reference = clone(estimator).set_params(warm_start=True, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        reference.fit(X, y)  # sets up the attributes a warm start needs
    reference.coefs_ = [W.copy() for W in start.coefs_]
    reference.intercepts_ = [b.copy() for b in start.intercepts_]
    reference.set_params(max_iter=4)
    with pytest.warns(ConvergenceWarning):
        reference.fit(X, y)  # a new optimizer, from the copied weights

    population.fit([(X, y)], epochs=4)
    [ours] = population.to_estimators()
    for W_ours, W_ref, W_start in zip(
        ours.coefs_, reference.coefs_, start.coefs_, strict=True
    ):
        assert np.abs(W_ref - W_start).max() > 1e-2
        np.testing.assert_allclose(W_ours, W_ref, atol=1e-5)
    for b_ours, b_ref in zip(ours.intercepts_, reference.intercepts_, strict=True):
        np.testing.assert_allclose(b_ours, b_ref, atol=1e-5)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_written_back_mlp_continues_training_in_scikit_learn(how):
    # A written-back model is a fitted MLPClassifier: scikit-learn's own
    # incremental training must accept it.
    X, y = make_data(100, seed=11)
    [model] = fit_population(MLPClassifier((4,), max_iter=5), [(X, y)], random_state=0)
    before = model.coefs_[0].copy()
    if how == "partial_fit":
        model.partial_fit(X, y)
    else:
        model.set_params(warm_start=True, max_iter=2)
        with pytest.warns(ConvergenceWarning):
            model.fit(X, y)
    assert not np.array_equal(model.coefs_[0], before)
    assert np.abs(model.coefs_[0] - before).max() < 0.5


@pytest.mark.parametrize("n_iter_no_change", [2, 4])
def test_mlp_early_stopping_epoch_count_matches_scikit_learn(n_iter_no_change):
    # With tol this large no epoch ever improves, so the epoch at which the
    # member stops depends only on the stopping rule, not on the weights.
    # scikit-learn stops once `_no_improvement_count > n_iter_no_change`.
    X, y = make_data(100, seed=7)
    estimator = MLPClassifier(
        (4,),
        tol=1e3,
        n_iter_no_change=n_iter_no_change,
        max_iter=50,
        random_state=0,
    )
    expected = estimator.fit(X, y).n_iter_
    assert expected == n_iter_no_change + 2
    [ours] = fit_population(estimator, [(X, y)], random_state=0)
    assert ours.n_iter_ == expected


@pytest.mark.parametrize("n_iter_no_change", [2, 4])
def test_sgd_early_stopping_epoch_count_matches_scikit_learn(n_iter_no_change):
    X, y = make_data(60, seed=7)
    estimator = SGDClassifier(
        loss="log_loss",
        tol=1e3,
        n_iter_no_change=n_iter_no_change,
        max_iter=50,
        random_state=0,
    )
    expected = estimator.fit(X, y).n_iter_
    [ours] = fit_population(estimator, [(X, y)], random_state=0)
    assert ours.n_iter_ == expected == n_iter_no_change + 1


@pytest.mark.parametrize(
    "schedule",
    [{"learning_rate": "constant", "eta0": 0.01}, {"alpha": 1e-2}],
    ids=["constant", "optimal"],
)
def test_sgd_matches_scikit_learn_step_by_step(schedule):
    # Without shuffling both walk the rows in order from zero weights, so the
    # coefficients agree to float32 precision, step size schedule included.
    X, y = make_data(80, seed=8)
    X = X.astype(np.float64)
    estimator = SGDClassifier(
        loss="log_loss",
        shuffle=False,
        max_iter=5,
        tol=None,
        random_state=0,
        **schedule,
    )
    reference = estimator.fit(X, y)
    [ours] = fit_population(estimator, [(X, y)], random_state=0)
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-5)


def _skorch_and_population(optimizer_params, module, epochs=8, batch_size=-1):
    """A skorch net and a one-member population from identical weights."""
    X, y = make_data(150, seed=9)
    net = make_skorch(
        module, max_epochs=epochs, batch_size=batch_size, **optimizer_params
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net.initialize()
    start = {name: p.detach().clone() for name, p in net.module_.named_parameters()}
    population = Population(
        net, {name: value[None] for name, value in start.items()}, [0, 1], 5
    )
    net.partial_fit(X, y)
    population.fit([(X, y)], epochs=epochs)
    return net, population, start


@pytest.mark.parametrize(
    ("module", "optimizer_params", "atol"),
    [
        (LogitModule, {"optimizer": torch.optim.SGD}, 1e-5),
        (SoftmaxModule, {"optimizer": torch.optim.SGD}, 1e-5),
        (
            LogitModule,
            {
                "optimizer": torch.optim.SGD,
                "optimizer__momentum": 0.9,
                "optimizer__nesterov": True,
            },
            1e-5,
        ),
        # Adam divides by small second moments: float32 noise grows a little.
        (LogitModule, {"optimizer": torch.optim.Adam, "lr": 0.01}, 5e-4),
        (
            SoftmaxModule,
            {"optimizer": torch.optim.Adam, "lr": 0.01, "optimizer__weight_decay": 0.1},
            5e-4,
        ),
        (
            LogitModule,
            {
                "optimizer": torch.optim.AdamW,
                "lr": 0.01,
                "optimizer__weight_decay": 0.3,
            },
            5e-4,
        ),
    ],
    ids=["sgd-logits", "sgd-softmax", "nesterov", "adam", "adam-l2", "adamw"],
)
def test_skorch_trains_like_skorch(module, optimizer_params, atol):
    net, population, start = _skorch_and_population(optimizer_params, module)
    for name, value in net.module_.named_parameters():
        moved = (value.detach() - start[name]).abs().max().item()
        assert moved > 20 * atol  # the comparison below is not vacuous
        torch.testing.assert_close(
            population.params[name][0], value.detach(), rtol=0, atol=atol
        )


def test_skorch_minibatches_follow_skorch_order():
    # skorch's DataLoader does not shuffle unless iterator_train__shuffle=True,
    # so with minibatches skorch walks the rows in order, every epoch.
    net, population, start = _skorch_and_population(
        {"optimizer": torch.optim.SGD}, LogitModule, epochs=3, batch_size=32
    )
    moved = max(
        (value.detach() - start[name]).abs().max().item()
        for name, value in net.module_.named_parameters()
    )
    assert moved > 1e-2
    for name, value in net.module_.named_parameters():
        torch.testing.assert_close(
            population.params[name][0], value.detach(), rtol=0, atol=1e-5
        )


def test_skorch_adamw_honors_weight_decay():
    # AdamW(weight_decay=0) is Adam; a larger decay shrinks the weights more.
    def trained(optimizer, **kwargs):
        net = make_skorch(LogitModule, optimizer=optimizer, lr=0.01, **kwargs)
        population = Population.initialize(
            net, 2, n_features=5, classes=[0, 1], random_state=0
        )
        population.fit([make_data(100, seed=s) for s in (1, 2)], epochs=3)
        return population.params

    adam = trained(torch.optim.Adam)
    no_decay = trained(torch.optim.AdamW, optimizer__weight_decay=0.0)
    for name in adam:
        torch.testing.assert_close(no_decay[name], adam[name])
    default = trained(torch.optim.AdamW)
    strong = trained(torch.optim.AdamW, optimizer__weight_decay=5.0)
    norm = {
        key: sum(p.pow(2).sum() for p in params.values()).item()
        for key, params in (("default", default), ("strong", strong))
    }
    assert norm["strong"] < 0.9 * norm["default"]


# -- refusals ----------------------------------------------------------------


@pytest.mark.parametrize("estimator", [RandomForestClassifier(), SVC()])
def test_unsupported_model_type_error_lists_supported(estimator, binary_data):
    pattern = r"not differentiable.*MLPClassifier.*LogisticRegression.*SGDClassifier"
    with pytest.raises(TypeError, match=type(estimator).__name__) as info:
        fit_population(estimator, [binary_data])
    message = str(info.value)
    for name in (
        "MLPClassifier",
        "LogisticRegression",
        "SGDClassifier",
        "NeuralNetClassifier",
    ):
        assert name in message
    with pytest.raises(TypeError, match=pattern):
        Population.initialize(estimator, 2, n_features=5, classes=[0, 1])
    with pytest.raises(TypeError, match=pattern):
        get_adapter(estimator)


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (MLPClassifier(solver="lbfgs"), "solver='lbfgs'"),
        (MLPClassifier(early_stopping=True), "early_stopping=False"),
        (
            MLPClassifier(solver="sgd", learning_rate="adaptive"),
            "learning_rate='adaptive'",
        ),
        (LogisticRegression(l1_ratio=1.0, solver="saga"), "L2 penalty"),
        (LogisticRegression(class_weight="balanced"), "class_weight"),
        (SGDClassifier(loss="hinge"), "loss='hinge'"),
        (SGDClassifier(loss="log_loss", penalty="l1"), "penalty='l1'"),
        (
            SGDClassifier(loss="log_loss", learning_rate="invscaling"),
            "learning_rate='invscaling'",
        ),
        (SGDClassifier(loss="log_loss", average=True), "average"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_unsupported_settings_value_error(estimator, match, binary_data):
    with pytest.raises(ValueError, match=match):
        fit_population(estimator, [binary_data, binary_data])
    with pytest.raises(ValueError, match=match):
        Population.initialize(estimator, 2, n_features=5, classes=[0, 1])


def test_logistic_regression_deprecated_l1_penalty_refused(binary_data):
    estimator = LogisticRegression(penalty="l1", solver="liblinear")
    with pytest.raises(ValueError, match="penalty='l1'"):
        fit_population(estimator, [binary_data])


def test_sgd_refuses_more_than_two_classes(multiclass_data):
    with pytest.raises(ValueError, match="one-vs-rest"):
        fit_population(make_estimator("sgd"), [multiclass_data])


def test_skorch_batch_norm_is_a_type_error(binary_data):
    net = make_skorch(BatchNormModule)
    with pytest.raises(TypeError, match="batch normalization"):
        fit_population(net, [binary_data])


def test_skorch_unsupported_optimizer_value_error(binary_data):
    net = make_skorch(SoftmaxModule, optimizer=torch.optim.RMSprop)
    with pytest.raises(ValueError, match="RMSprop.*SGD, Adam or AdamW"):
        fit_population(net, [binary_data])


def test_skorch_module_must_return_class_scores(binary_data):
    class OneScore(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(5, 1)

        def forward(self, X):
            return self.linear(X).squeeze(-1)

    net = NeuralNetClassifier(
        OneScore,
        max_epochs=1,
        train_split=None,
        verbose=0,
        criterion=torch.nn.CrossEntropyLoss,
    )
    with pytest.raises(ValueError, match="one score per class"):
        fit_population(net, [binary_data])
