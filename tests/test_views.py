"""Views of a population (black box, white box) and the meta-classifier."""

import numpy as np
import pytest
import torch
from conftest import LogitModule, make_data, make_estimator, make_skorch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from sklearn_dshare import Population, fit_population
from sklearn_dshare.views import (
    BlackBoxView,
    MetaClassifier,
    WhiteBoxView,
    as_population,
    canonical_layers,
)


def fitted_population(kind, n_classes=2, n_members=3):
    datasets = [make_data(90, n_classes=n_classes, seed=s) for s in range(n_members)]
    models = fit_population(make_estimator(kind, n_classes), datasets, random_state=0)
    return models, Population.from_estimators(models)


def live_params(population):
    return {k: v.clone().requires_grad_(True) for k, v in population.params.items()}


def assert_all_grads_nonzero(params):
    for name, value in params.items():
        assert value.grad is not None, name
        assert value.grad.abs().sum() > 0, name


# -- black box -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "n_classes"),
    [("mlp-relu", 2), ("mlp-tanh", 3), ("logreg", 3), ("skorch-softmax", 3)],
)
def test_black_box_view_is_predict_proba(kind, n_classes):
    models, population = fitted_population(kind, n_classes)
    query = make_data(7, n_classes=n_classes, seed=50)[0]
    view = BlackBoxView(query)

    values = view(population)
    assert isinstance(values, torch.Tensor)
    assert values.shape == (len(models), 7 * (n_classes - 1))
    proba = population.predict_proba(query)
    np.testing.assert_allclose(
        values.detach().numpy(),
        proba[:, :, 1:].reshape(len(models), -1),
        atol=1e-6,
    )
    expected = np.stack([m.predict_proba(query)[:, 1:].ravel() for m in models])
    transformed = view.transform(models)
    assert isinstance(transformed, np.ndarray)
    assert transformed.shape == expected.shape
    np.testing.assert_allclose(transformed, expected, atol=1e-5)
    np.testing.assert_allclose(view.transform(population), transformed, atol=1e-6)


@pytest.mark.parametrize("kind", ["mlp-relu", "logreg", "skorch-logits"])
def test_black_box_view_is_differentiable(kind):
    _, population = fitted_population(kind)
    params = live_params(population)
    values = BlackBoxView(make_data(10, seed=51)[0])(population, params)
    assert values.requires_grad
    values.sum().backward()
    assert_all_grads_nonzero(params)


# -- white box -----------------------------------------------------------------


def permute_mlp(model, perms):
    """A copy of a fitted MLPClassifier with hidden layer l's units permuted."""
    coefs = [W.copy() for W in model.coefs_]
    intercepts = [b.copy() for b in model.intercepts_]
    for layer, perm in enumerate(perms):
        coefs[layer] = coefs[layer][:, perm]
        intercepts[layer] = intercepts[layer][perm]
        coefs[layer + 1] = coefs[layer + 1][perm, :]
    permuted = Population.from_estimators([model]).to_estimators()[0]
    permuted.coefs_, permuted.intercepts_ = coefs, intercepts
    return permuted


def test_white_box_view_invariant_to_hidden_unit_order_of_fitted_mlp(binary_data):
    X, y = binary_data
    with pytest.warns(ConvergenceWarning):
        model = MLPClassifier((6, 4), max_iter=30, random_state=0).fit(X, y)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(6), rng.permutation(4)]
    permuted = permute_mlp(model, perms)

    # scikit-learn keeps float32 weights for float32 data.
    np.testing.assert_allclose(
        permuted.predict_proba(X), model.predict_proba(X), atol=1e-6
    )
    raw = WhiteBoxView().transform
    assert not np.allclose(
        np.hstack([W.ravel() for W in permuted.coefs_]),
        np.hstack([W.ravel() for W in model.coefs_]),
    )
    np.testing.assert_allclose(raw([permuted]), raw([model]), atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    n_classes=st.sampled_from([2, 3]),
    activation=st.sampled_from(["relu", "tanh", "logistic"]),
    seed=st.integers(0, 2**16),
)
def test_white_box_view_permutation_invariance(hidden, n_classes, activation, seed):
    estimator = MLPClassifier(tuple(hidden), activation=activation)
    model = Population.initialize(
        estimator, 1, n_features=5, classes=np.arange(n_classes), random_state=seed
    ).to_estimators()[0]
    rng = np.random.default_rng(seed)
    permuted = permute_mlp(model, [rng.permutation(h) for h in hidden])
    X = rng.standard_normal((20, 5))

    np.testing.assert_allclose(
        permuted.predict_proba(X), model.predict_proba(X), atol=1e-12
    )
    views = WhiteBoxView().transform([model, permuted])
    n_params = sum(W.size for W in model.coefs_) + sum(
        b.size for b in model.intercepts_
    )
    assert views.shape == (2, n_params)
    np.testing.assert_allclose(views[1], views[0], atol=1e-6)


def test_white_box_view_invariant_for_skorch_dense_chain():
    models, _ = fitted_population("skorch-logits", n_members=1)
    [net] = models
    X = make_data(30, seed=52)[0]
    perm = torch.as_tensor(np.random.default_rng(1).permutation(8))
    permuted = Population.from_estimators([net]).to_estimators()[0]
    with torch.no_grad():
        permuted.module_.hidden.weight.copy_(net.module_.hidden.weight[perm])
        permuted.module_.hidden.bias.copy_(net.module_.hidden.bias[perm])
        permuted.module_.output.weight.copy_(net.module_.output.weight[:, perm])
    np.testing.assert_allclose(
        permuted.predict_proba(X), net.predict_proba(X), atol=1e-6
    )
    assert not torch.equal(permuted.module_.hidden.weight, net.module_.hidden.weight)
    views = WhiteBoxView().transform([net, permuted])
    assert views.shape == (2, 5 * 8 + 8 + 8 * 2 + 2)
    np.testing.assert_allclose(views[1], views[0], atol=1e-6)


def test_white_box_view_of_other_skorch_modules_flattens_parameters():
    class Normed(torch.nn.Module):
        def __init__(self, n_classes):
            super().__init__()
            self.norm = torch.nn.LayerNorm(5)
            self.output = torch.nn.Linear(5, n_classes)

        def forward(self, X):
            return self.output(self.norm(X))

    net = make_skorch(Normed, criterion=torch.nn.CrossEntropyLoss)
    population = Population.initialize(
        net, 2, n_features=5, classes=[0, 1], random_state=0
    )
    views = WhiteBoxView()(population)
    expected = torch.cat(
        [population.params[k].flatten(1) for k in sorted(population.params)], dim=1
    )
    torch.testing.assert_close(views, expected)


@pytest.mark.parametrize("kind", ["mlp-relu", "logreg", "skorch-logits"])
def test_white_box_view_is_differentiable(kind):
    _, population = fitted_population(kind)
    params = live_params(population)
    values = WhiteBoxView()(population, params)
    assert values.requires_grad
    weights = torch.arange(values.shape[1], dtype=values.dtype)
    (values * weights).sum().backward()
    assert_all_grads_nonzero(params)


def test_white_box_view_of_logistic_regression_is_coef_and_intercept():
    models, population = fitted_population("logreg")
    expected = np.stack([np.hstack([m.coef_.ravel(), m.intercept_]) for m in models])
    np.testing.assert_allclose(WhiteBoxView().transform(models), expected, atol=1e-6)

    models, _ = fitted_population("logreg", n_classes=3)
    views = WhiteBoxView().transform(models)
    for view, model in zip(views, models, strict=True):
        values = np.hstack([model.coef_.ravel(), model.intercept_])
        assert view.shape == values.shape
        np.testing.assert_allclose(np.sort(view), np.sort(values), atol=1e-6)


def _chain(layers, X):
    h = X
    for i, (W, b) in enumerate(layers):
        h = torch.matmul(h, W) + b.unsqueeze(1)
        if i < len(layers) - 1:
            h = torch.relu(h)
    return h


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    n_members=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_canonical_layers_preserve_function_and_gradients(sizes, n_members, seed):
    generator = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(
            torch.randn(
                n_members,
                fan_in,
                fan_out,
                generator=generator,
                dtype=torch.float64,
                requires_grad=True,
            )
        )
        params.append(
            torch.randn(
                n_members,
                fan_out,
                generator=generator,
                dtype=torch.float64,
                requires_grad=True,
            )
        )
    layers = list(zip(params[::2], params[1::2], strict=True))
    X = torch.randn(4, sizes[0], generator=generator, dtype=torch.float64)

    canonical = canonical_layers(layers)
    assert [W.shape for W, _ in canonical] == [W.shape for W, _ in layers]
    out = _chain(canonical, X)
    torch.testing.assert_close(out, _chain(layers, X))
    # The output layer's units keep their order; hidden units are sorted.
    torch.testing.assert_close(canonical[-1][1], layers[-1][1])
    for W, b in canonical[:-1]:
        key = W.pow(2).sum(1) + b.pow(2)
        assert torch.all(key[:, 1:] >= key[:, :-1])

    grads = torch.autograd.grad(out.sum(), params)
    expected = torch.autograd.grad(_chain(layers, X).sum(), params)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)


def test_as_population():
    models, population = fitted_population("mlp-relu")
    assert as_population(population) is population
    converted = as_population(models)
    assert isinstance(converted, Population)
    assert len(converted) == len(models)


# -- meta-classifier -------------------------------------------------------------


def test_default_meta_classifiers():
    for view in (BlackBoxView(np.zeros((2, 5))), WhiteBoxView()):
        meta = view.default_meta_classifier(random_state=3)
        assert isinstance(meta, MetaClassifier)
        assert meta.random_state == 3


def test_meta_classifier_learns_separable_views():
    rng = np.random.default_rng(0)
    bins = rng.integers(0, 3, size=300)
    centers = rng.standard_normal((3, 12)) * 3
    V = centers[bins] + rng.standard_normal((300, 12))
    V_test, bins_test = V[200:], bins[200:]
    labels = np.array(["low", "mid", "high"])
    meta = MetaClassifier(max_epochs=150, lr=1e-2, random_state=0)
    meta.fit(V[:200], labels[bins[:200]])

    assert meta.n_features_in_ == 12
    np.testing.assert_array_equal(meta.classes_, np.sort(labels))
    assert np.mean(meta.predict(V_test) == labels[bins_test]) > 0.9
    proba = meta.predict_proba(V_test)
    assert proba.shape == (100, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_meta_classifier_forward_is_differentiable():
    X, y = make_data(120, n_classes=3, seed=53)
    meta = MetaClassifier(max_epochs=30, random_state=0).fit(X, y)
    V = torch.as_tensor(X[:10]).requires_grad_(True)
    logp = meta.forward(V)
    assert logp.shape == (10, 3)
    torch.testing.assert_close(logp.exp().sum(1), torch.ones(10))
    np.testing.assert_allclose(
        logp.detach().exp().numpy(), meta.predict_proba(X[:10]), atol=1e-6
    )
    logp[:, 0].sum().backward()
    assert V.grad.abs().sum() > 0
    # Gradients also reach views computed from a population's parameters.
    _, population = fitted_population("mlp-relu")
    params = live_params(population)
    views = BlackBoxView(X[:4])(population, params)
    meta_views = MetaClassifier(max_epochs=5, random_state=0).fit(
        views.detach().numpy(), [0, 1, 0]
    )
    meta_views.forward(views)[:, 1].sum().backward()
    assert_all_grads_nonzero(params)


def _training_loss(meta, X, y):
    with torch.no_grad():
        logp = meta.forward(torch.as_tensor(X))
    return -logp[np.arange(len(y)), np.searchsorted(meta.classes_, y)].mean().item()


def test_meta_classifier_warm_start_continues():
    X, y = make_data(150, seed=54, class_sep=0.8)
    meta = MetaClassifier(max_epochs=10, random_state=0, warm_start=True).fit(X, y)
    first = meta.module_.net[0].weight.detach().clone()
    loss_first = _training_loss(meta, X, y)

    meta.fit(X, y)
    assert _training_loss(meta, X, y) < loss_first
    assert not torch.equal(meta.module_.net[0].weight, first)

    cold = MetaClassifier(max_epochs=10, random_state=0).fit(X, y)
    torch.testing.assert_close(cold.module_.net[0].weight, first)
    cold.fit(X, y)  # without warm_start, a refit starts over
    torch.testing.assert_close(cold.module_.net[0].weight, first)


def test_meta_classifier_warm_start_with_new_classes_starts_over():
    X, y = make_data(150, n_classes=3, seed=55)
    meta = MetaClassifier(max_epochs=10, random_state=0, warm_start=True)
    meta.fit(X, np.minimum(y, 1))
    meta.fit(X, y)
    assert meta.predict_proba(X).shape == (150, 3)
    fresh = MetaClassifier(max_epochs=10, random_state=0).fit(X, y)
    np.testing.assert_allclose(meta.predict_proba(X), fresh.predict_proba(X))


def test_meta_classifier_warm_start_with_new_features():
    # Documented: warm start continues only with the same classes and
    # features; with new features it must start over (or refuse clearly).
    X, y = make_data(120, seed=56)
    meta = MetaClassifier(max_epochs=5, random_state=0, warm_start=True).fit(X, y)
    X_wide = np.hstack([X, X[:, :2]])
    try:
        meta.fit(X_wide, y)
    except ValueError:
        return
    assert meta.n_features_in_ == 7
    assert meta.predict_proba(X_wide).shape == (120, 2)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (8, -1)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (2.5,)}, "hidden_layer_sizes"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"max_epochs": 1.5}, "max_epochs"),
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": "strong"}, "alpha"),
        ({"lr": -0.1}, "lr"),
        ({"lr": float("nan")}, "lr"),
    ],
)
def test_meta_classifier_bad_params(params, match):
    X, y = make_data(40, seed=57)
    with pytest.raises(ValueError, match=match):
        MetaClassifier(**params).fit(X, y)


def test_meta_classifier_single_bin():
    X, _ = make_data(30, seed=58)
    meta = MetaClassifier(max_epochs=5, random_state=0).fit(X, np.full(30, 7))
    np.testing.assert_array_equal(meta.predict(X), np.full(30, 7))
    np.testing.assert_array_equal(meta.predict_proba(X), np.ones((30, 1)))


def test_meta_classifier_is_deterministic():
    X, y = make_data(100, seed=59)
    a = MetaClassifier(max_epochs=20, random_state=1).fit(X, y).predict_proba(X)
    b = MetaClassifier(max_epochs=20, random_state=1).fit(X, y).predict_proba(X)
    c = MetaClassifier(max_epochs=20, random_state=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_logistic_regression_population_white_box_roundtrip_shape():
    X, y = make_data(100, seed=60)
    models = fit_population(LogisticRegression(), [(X, y)] * 2, random_state=0)
    assert WhiteBoxView().transform(models).shape == (2, 6)


def test_black_box_view_accepts_skorch_module_lists():
    net = make_skorch(LogitModule, max_epochs=2)
    models = fit_population(
        net, [make_data(60, seed=s) for s in (1, 2)], random_state=0
    )
    query = make_data(5, seed=61)[0]
    views = BlackBoxView(query).transform(models)
    expected = np.stack([m.predict_proba(query)[:, 1] for m in models])
    np.testing.assert_allclose(views, expected, atol=1e-6)
