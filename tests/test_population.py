"""The population engine: determinism, ragged sizes, chunking, warm start, the
extra-loss hook and input validation."""

import numpy as np
import pytest
import torch
from conftest import DropoutModule, make_data, make_estimator, make_skorch
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from sklearn_dshare import Population, fit_population
from sklearn_dshare.population import member_seeds


def mlp(**kwargs):
    params = {
        "hidden_layer_sizes": (8,),
        "max_iter": 8,
        "batch_size": 32,
        "learning_rate_init": 0.01,
    }
    params.update(kwargs)
    return MLPClassifier(**params)


def stacked(models):
    return Population.from_estimators(models).params


def assert_params_close(a, b, atol=1e-5):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=atol)


def mean_nll(population, datasets):
    """Each member's mean log loss on its own dataset."""
    with torch.no_grad():
        return np.array(
            [
                -population[i].log_proba(X)[0, np.arange(len(y)), y].mean().item()
                for i, (X, y) in enumerate(datasets)
            ]
        )


# -- member seeds ------------------------------------------------------------


def test_member_seeds_do_not_depend_on_population_size():
    seeds = member_seeds(0, 7)
    assert seeds.shape == (7,)
    assert len(np.unique(seeds)) == 7
    np.testing.assert_array_equal(member_seeds(0, 3), seeds[:3])
    assert not np.array_equal(member_seeds(1, 7), seeds)
    assert seeds.min() >= 0 and seeds.max() < 2**31


# -- determinism -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp-relu", "skorch-logits"])
def test_same_random_state_same_parameters(kind, small_datasets):
    estimator = make_estimator(kind)
    first = stacked(fit_population(estimator, small_datasets, random_state=3))
    second = stacked(fit_population(estimator, small_datasets, random_state=3))
    other = stacked(fit_population(estimator, small_datasets, random_state=4))
    for name in first:
        assert torch.equal(first[name], second[name])
    assert not any(torch.equal(first[name], other[name]) for name in first)


def test_same_random_state_same_mlp_coefs(small_datasets):
    first = fit_population(mlp(), small_datasets, random_state=0)
    second = fit_population(mlp(), small_datasets, random_state=0)
    other = fit_population(mlp(), small_datasets, random_state=1)
    for a, b, c in zip(first, second, other, strict=True):
        for W_a, W_b, W_c in zip(a.coefs_, b.coefs_, c.coefs_, strict=True):
            assert np.array_equal(W_a, W_b)
            assert not np.array_equal(W_a, W_c)


def test_skorch_dropout_is_deterministic(small_datasets):
    net = make_skorch(DropoutModule, max_epochs=3)
    first = stacked(fit_population(net, small_datasets, random_state=0))
    second = stacked(fit_population(net, small_datasets, random_state=0))
    for name in first:
        assert torch.equal(first[name], second[name])


def test_members_get_different_initializations():
    population = Population.initialize(
        mlp(), 3, n_features=5, classes=[0, 1], random_state=0
    )
    W = population.params["coef_0"]
    assert W.shape == (3, 5, 8)
    assert not torch.equal(W[0], W[1]) and not torch.equal(W[1], W[2])
    # scikit-learn's Glorot-uniform bound for relu.
    assert W.abs().max() <= np.sqrt(6 / (5 + 8))


def test_fit_random_state_reshuffles(small_datasets):
    def trained(random_state):
        population = Population.initialize(
            mlp(), 4, n_features=5, classes=[0, 1], random_state=0
        )
        return population.fit(small_datasets, epochs=2, random_state=random_state)

    a, b, c = trained(None), trained(5), trained(5)
    assert_params_close(b.params, c.params, atol=0)
    assert not torch.equal(a.params["coef_0"], b.params["coef_0"])


# -- ragged sizes ------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [32, "auto"])
def test_ragged_member_trains_as_it_would_alone(batch_size, ragged_datasets):
    # tol makes members stop early at their own epochs.
    estimator = mlp(batch_size=batch_size, max_iter=40, tol=1e-3, n_iter_no_change=3)
    models = fit_population(estimator, ragged_datasets, random_state=0)
    seeds = member_seeds(0, len(ragged_datasets))
    for i, (model, (X, y)) in enumerate(zip(models, ragged_datasets, strict=True)):
        assert 1 <= model.n_iter_ <= 40
        assert model.score(X, y) > 0.85
        alone = Population.initialize(
            estimator, 1, n_features=5, classes=[0, 1], seeds=seeds[i : i + 1]
        ).fit([(X, y)])
        assert alone.n_iter_[0] == model.n_iter_
        assert_params_close(stacked([model]), alone.params)


def test_ragged_members_stop_at_different_epochs(ragged_datasets):
    estimator = mlp(max_iter=60, tol=1e-3, n_iter_no_change=3)
    models = fit_population(estimator, ragged_datasets, random_state=0)
    n_iter = [model.n_iter_ for model in models]
    assert len(set(n_iter)) > 1
    assert min(n_iter) < 60


def test_ragged_logistic_regression_members_match_alone(ragged_datasets):
    models = fit_population(LogisticRegression(), ragged_datasets, random_state=0)
    for model, (X, y) in zip(models, ragged_datasets, strict=True):
        [alone] = fit_population(LogisticRegression(), [(X, y)], random_state=0)
        np.testing.assert_allclose(model.coef_, alone.coef_, atol=1e-3)
        np.testing.assert_allclose(model.intercept_, alone.intercept_, atol=1e-3)
        assert model.n_iter_[0] >= 1


def test_ragged_sgd_member_matches_alone():
    datasets = [make_data(n, seed=s) for s, n in enumerate((80, 50))]
    estimator = make_estimator("sgd")
    models = fit_population(estimator, datasets, random_state=0)
    seeds = member_seeds(0, 2)
    alone = Population.initialize(
        estimator, 1, n_features=5, classes=[0, 1], seeds=seeds[1:]
    ).fit(datasets[1:])
    assert_params_close(stacked(models[1:]), alone.params)


# -- chunking ----------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_chunk_size_does_not_change_results(chunk_size, small_datasets):
    whole = fit_population(mlp(), small_datasets, random_state=0)
    chunked = fit_population(
        mlp(), small_datasets, random_state=0, chunk_size=chunk_size
    )
    assert len(chunked) == len(whole)
    assert_params_close(stacked(chunked), stacked(whole))


def test_dropout_results_are_reproducible_for_a_given_chunk_size(small_datasets):
    # Dropout masks come from one random stream per chunk (documented):
    # the same seed and chunk_size give the same members.
    net = make_skorch(DropoutModule, max_epochs=3)
    first = fit_population(net, small_datasets, random_state=0, chunk_size=2)
    again = fit_population(net, small_datasets, random_state=0, chunk_size=2)
    assert_params_close(stacked(again), stacked(first), atol=0)


@pytest.mark.parametrize("chunk_size", [0, -2, 1.5, "2"])
def test_bad_chunk_size(chunk_size, small_datasets):
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        fit_population(mlp(), small_datasets, chunk_size=chunk_size)


# -- warm start --------------------------------------------------------------


def test_fit_again_continues_from_current_parameters(small_datasets):
    population = Population.initialize(
        mlp(), 4, n_features=5, classes=[0, 1], random_state=0
    )
    start = mean_nll(population, small_datasets)
    population.fit(small_datasets, epochs=2)
    after_first = {k: v.clone() for k, v in population.params.items()}
    loss_first = mean_nll(population, small_datasets)
    assert np.all(loss_first < start)

    population.fit(small_datasets, epochs=3)
    assert np.all(population.n_iter_ == 3)
    loss_second = mean_nll(population, small_datasets)
    assert np.all(loss_second < loss_first)

    # Exactly what a new population holding the first fit's parameters does.
    resumed = Population(mlp(), after_first, [0, 1], 5)
    resumed._seeds = member_seeds(0, 4)
    resumed.fit(small_datasets, epochs=3)
    assert_params_close(resumed.params, population.params, atol=1e-6)
    # And not what a fresh initialization does in three epochs.
    fresh = Population.initialize(
        mlp(), 4, n_features=5, classes=[0, 1], random_state=0
    ).fit(small_datasets, epochs=3)
    assert (fresh.params["coef_0"] - population.params["coef_0"]).abs().max() > 1e-2


def test_from_estimators_warm_start_changes_little(small_datasets):
    models = fit_population(mlp(max_iter=20), small_datasets, random_state=0)
    population = Population.from_estimators(models, random_state=0)
    before = {k: v.clone() for k, v in population.params.items()}
    X = np.vstack([X for X, _ in small_datasets])
    predicted = population.predict_proba(X).argmax(-1)

    population.fit(small_datasets, epochs=1)
    change = max((population.params[k] - before[k]).abs().max().item() for k in before)
    scale = max(before[k].abs().max().item() for k in before)
    assert 0 < change < 0.1 * scale
    assert np.mean(population.predict_proba(X).argmax(-1) == predicted) > 0.95
    assert np.all(population.n_iter_ == 1)


def test_from_estimators_warm_start_logistic_regression_stays_at_optimum(
    small_datasets,
):
    models = fit_population(LogisticRegression(), small_datasets, random_state=0)
    population = Population.from_estimators(models)
    before = population.params["coef"].clone()
    population.fit(small_datasets, epochs=5)
    torch.testing.assert_close(population.params["coef"], before, rtol=0, atol=1e-3)


# -- the extra-loss hook -----------------------------------------------------


def test_extra_loss_called_once_per_step_with_live_params():
    datasets = [make_data(n, seed=s) for s, n in enumerate((100, 70, 40))]
    population = Population.initialize(
        mlp(), 3, n_features=5, classes=[0, 1], random_state=0
    )
    calls = []

    def extra_loss(params, step):
        assert params.keys() == population.params.keys()
        assert all(p.requires_grad for p in params.values())
        assert params["coef_0"].shape == (3, 5, 8)
        calls.append((step, params["coef_0"], params["coef_0"].detach().clone()))
        return params["coef_0"].sum() * 0.0

    population.fit(datasets, epochs=2, extra_loss=extra_loss)
    steps_per_epoch = -(-100 // 32)  # the largest dataset's batches
    assert [step for step, _, _ in calls] == list(range(2 * steps_per_epoch))
    # The same leaf tensor every step, updated in place between steps.
    assert all(live is calls[0][1] for _, live, _ in calls)
    assert not torch.equal(calls[0][2], calls[-1][2])
    assert torch.equal(calls[-1][1].detach(), population.params["coef_0"])


def test_extra_loss_pulls_parameters_in_the_intended_direction(small_datasets):
    def trained(extra_loss):
        population = Population.initialize(
            mlp(learning_rate_init=0.05),
            4,
            n_features=5,
            classes=[0, 1],
            random_state=0,
        )
        return population.fit(small_datasets, epochs=4, extra_loss=extra_loss)

    target = 2.0
    plain = trained(None)
    pulled = trained(lambda p, step: 5.0 * (p["intercept_1"] - target).pow(2).sum())
    distance = {
        name: (pop.params["intercept_1"] - target).abs()
        for name, pop in (("plain", plain), ("pulled", pulled))
    }
    # Adam moves a parameter at most ~lr per step: 0.2 is many steps' worth.
    assert torch.all(distance["pulled"] < distance["plain"] - 0.2)


def test_extra_loss_can_equalize_predictions():
    # A defense-like term: every member's mean probability of class 1 on
    # held-out rows of class 0 is pushed to 0.5.
    X, y = make_data(500, seed=77)
    datasets = [(X[i : i + 100], y[i : i + 100]) for i in range(0, 400, 100)]
    query = X[400:][y[400:] == 0]

    def gap(population):
        return np.abs(population.predict_proba(query)[..., 1].mean(1) - 0.5)

    holder = {}

    def equalize(params, step):
        proba = holder["population"].log_proba(query, params).exp()[..., 1]
        return 20.0 * (proba.mean(1) - 0.5).pow(2).sum()

    estimator = mlp(learning_rate_init=0.05)
    holder["population"] = Population.initialize(
        estimator, 4, n_features=5, classes=[0, 1], random_state=0
    )
    plain = Population.initialize(
        estimator, 4, n_features=5, classes=[0, 1], random_state=0
    ).fit(datasets, epochs=4)
    equalized = holder["population"].fit(datasets, epochs=4, extra_loss=equalize)
    assert np.all(gap(plain) > 0.3)
    assert np.all(gap(equalized) < 0.5 * gap(plain))


def test_extra_loss_with_logistic_regression(small_datasets):
    calls = []

    def shrink(params, step):
        calls.append(step)
        return 100.0 * params["coef"].pow(2).sum()

    plain = Population.initialize(
        LogisticRegression(), 4, n_features=5, classes=[0, 1]
    ).fit(small_datasets)
    shrunk = Population.initialize(
        LogisticRegression(), 4, n_features=5, classes=[0, 1]
    ).fit(small_datasets, extra_loss=shrink)
    assert calls[:3] == [0, 1, 2]
    assert calls == sorted(set(calls))
    norm_plain = plain.params["coef"].norm(dim=(1, 2))
    norm_shrunk = shrunk.params["coef"].norm(dim=(1, 2))
    assert torch.all(norm_shrunk < 0.5 * norm_plain)


def test_diverging_training_raises_floating_point_error(small_datasets):
    population = Population.initialize(
        mlp(), 4, n_features=5, classes=[0, 1], random_state=0
    )
    before = {k: v.clone() for k, v in population.params.items()}
    with pytest.raises(FloatingPointError, match="diverged"):
        population.fit(
            small_datasets,
            epochs=1,
            extra_loss=lambda p, step: p["coef_0"].sum() * np.nan,
        )
    assert_params_close(population.params, before, atol=0)


# -- epochs and early stopping -------------------------------------------------


def test_explicit_epochs_disable_early_stopping(small_datasets):
    estimator = mlp(tol=1e3, n_iter_no_change=2, max_iter=30)
    population = Population.initialize(
        estimator, 4, n_features=5, classes=[0, 1], random_state=0
    )
    population.fit(small_datasets)
    assert np.all(population.n_iter_ < 30)
    population.fit(small_datasets, epochs=7)
    np.testing.assert_array_equal(population.n_iter_, [7] * 4)
    assert [m.n_iter_ for m in population.to_estimators()] == [7] * 4


# -- indexing ------------------------------------------------------------------


def test_indexing_selects_members(small_datasets):
    population = Population.initialize(
        mlp(), 4, n_features=5, classes=[0, 1], random_state=0
    ).fit(small_datasets, epochs=2)
    X = small_datasets[0][0]
    proba = population.predict_proba(X)
    assert len(population) == 4
    for index in ([2, 0], slice(1, 3), np.array([True, False, False, True]), 3):
        sub = population[index]
        expected = np.arange(4)[index]
        assert len(sub) == np.atleast_1d(expected).size
        np.testing.assert_allclose(
            sub.predict_proba(X),
            proba[expected].reshape(-1, *proba.shape[1:]),
            atol=1e-6,
        )
        np.testing.assert_array_equal(
            sub.n_iter_, np.atleast_1d(population.n_iter_[expected])
        )


def test_every_member_knows_all_classes():
    X, y = make_data(120, n_classes=3, seed=3)
    binary = y < 2
    datasets = [(X[binary], y[binary]), (X, y)]
    models = fit_population(mlp(), datasets, random_state=0)
    for model in models:
        np.testing.assert_array_equal(model.classes_, [0, 1, 2])
        assert model.predict_proba(X).shape == (120, 3)
    # The member that never saw class 2 gives it little probability.
    assert models[0].predict_proba(X[binary])[:, 2].mean() < 0.2


# -- bad input -----------------------------------------------------------------


def test_wrong_number_of_datasets(small_datasets):
    population = Population.initialize(
        mlp(), 3, n_features=5, classes=[0, 1], random_state=0
    )
    with pytest.raises(ValueError, match="Got 4 datasets for 3 members"):
        population.fit(small_datasets)
    with pytest.raises(ValueError, match="Got 0 datasets for 3 members"):
        population.fit([])


def test_different_feature_counts(small_datasets):
    odd = make_data(80, seed=1, n_features=4)
    with pytest.raises(ValueError, match="Dataset 2 has 4 features.*expects 5"):
        fit_population(mlp(), [*small_datasets[:2], odd])
    population = Population.initialize(
        mlp(), 1, n_features=5, classes=[0, 1], random_state=0
    ).fit(small_datasets[:1], epochs=1)
    with pytest.raises(ValueError, match="X has 4 features"):
        population.predict_proba(odd[0])


def test_nan_in_X(small_datasets):
    X, y = small_datasets[1]
    X = X.copy()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="Dataset 1: .*NaN"):
        fit_population(mlp(), [small_datasets[0], (X, y)])


def test_single_class(small_datasets):
    X, y = small_datasets[0]
    with pytest.raises(ValueError, match=r"single class \(\[1\]\)"):
        fit_population(mlp(), [(X, np.ones_like(y)), (X, np.ones_like(y))])


def test_labels_outside_population_classes(small_datasets):
    X, y = small_datasets[0]
    population = Population.initialize(
        mlp(), 1, n_features=5, classes=[0, 1], random_state=0
    )
    with pytest.raises(ValueError, match=r"Labels \[2\] are not among"):
        population.fit([(X, np.where(y == 1, 2, 0))])


def test_empty_inputs():
    with pytest.raises(ValueError, match="at least one dataset"):
        fit_population(mlp(), [])
    with pytest.raises(ValueError, match="at least one fitted model"):
        Population.from_estimators([])


def test_empty_dataset(small_datasets):
    X, y = small_datasets[0]
    with pytest.raises(ValueError, match="Dataset 1: .*0 sample"):
        fit_population(mlp(), [(X, y), (X[:0], y[:0])])


def test_from_estimators_rejects_unfitted_models(small_datasets):
    models = fit_population(mlp(), small_datasets[:2], random_state=0)
    with pytest.raises(ValueError, match=r"Model 2 \(MLPClassifier\) is not fitted"):
        Population.from_estimators([*models, mlp()])
    net = make_estimator("skorch-logits")
    with pytest.raises(ValueError, match="Model 0 .*NeuralNetClassifier.* not fitted"):
        Population.from_estimators([net])


def test_from_estimators_rejects_mixed_types(small_datasets):
    [model] = fit_population(mlp(), small_datasets[:1], random_state=0)
    [linear] = fit_population(LogisticRegression(), small_datasets[:1])
    with pytest.raises(ValueError, match="Model 1 is a LogisticRegression.*one type"):
        Population.from_estimators([model, linear])


def test_from_estimators_rejects_different_architectures(small_datasets):
    [narrow] = fit_population(mlp(), small_datasets[:1], random_state=0)
    [wide] = fit_population(mlp(hidden_layer_sizes=(9,)), small_datasets[:1])
    with pytest.raises(ValueError, match="Model 1 has parameter shapes.*one archi"):
        Population.from_estimators([narrow, wide])


def test_cuda_device(small_datasets):
    if torch.cuda.is_available():
        models = fit_population(mlp(), small_datasets, device="cuda", random_state=0)
        assert all(
            model.score(X, y) > 0.8
            for model, (X, y) in zip(models, small_datasets, strict=True)
        )
    else:
        with pytest.raises(ValueError, match="no CUDA GPU"):
            fit_population(mlp(), small_datasets, device="cuda")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            Population.initialize(mlp(), 2, n_features=5, classes=[0, 1], device="cuda")


def test_unknown_device(small_datasets):
    with pytest.raises(ValueError, match="not a torch device"):
        fit_population(mlp(), small_datasets, device="gpu-please")
