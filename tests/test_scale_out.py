"""Shadow populations dispatched through joblib: n_jobs and a Dask cluster."""

import distributed
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.neural_network import MLPClassifier

from sklearn_dshare import (
    CPIRobustClassifier,
    KLDivergenceAttack,
    LabelRate,
    ResponsiveCPIAttack,
    fit_population,
)
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.population import _chunks, train_population

RATE = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])
MLP = MLPClassifier((4,), max_iter=4)


@pytest.fixture(scope="module")
def aux():
    return make_credit_portfolio(1500, default_rate=0.3, random_state=0)


@pytest.fixture(scope="module")
def datasets():
    return [make_credit_portfolio(150, random_state=i) for i in range(6)]


@pytest.fixture(scope="module")
def targets(aux):
    X, y = aux
    portfolios = [RATE.resample(X, y, b, 150, random_state=b) for b in (0, 1, 0, 1)]
    return fit_population(MLP, portfolios, random_state=1)


def _same_models(a, b, X):
    return all(
        np.array_equal(m.predict_proba(X), n.predict_proba(X)) for m, n in zip(a, b)
    )


def test_chunks_make_one_per_worker_within_the_memory_bound():
    sizes = np.full(10, 100)
    assert len(_chunks(sizes, None)) == 1
    chunks = _chunks(sizes, None, n_workers=3)
    assert [len(sizes[c]) for c in chunks] == [4, 4, 2]
    assert len(_chunks(sizes, 3, n_workers=1)) == 4


def test_train_population_keeps_member_order_across_chunks(datasets):
    seeds = np.arange(6) + 7
    whole = train_population(MLP, datasets, seeds=seeds)
    chunked = train_population(MLP, datasets, seeds=seeds, chunk_size=4, n_jobs=2)
    assert np.array_equal(chunked._seeds, seeds)
    for name, value in whole.params.items():
        assert np.array_equal(value.numpy(), chunked.params[name].numpy()), name
    assert np.array_equal(whole.n_iter_, chunked.n_iter_)


@pytest.mark.parametrize("n_jobs", [2, -1])
def test_fit_population_does_not_depend_on_n_jobs(datasets, n_jobs):
    one = fit_population(MLP, datasets, random_state=0)
    many = fit_population(MLP, datasets, random_state=0, n_jobs=n_jobs)
    assert _same_models(one, many, datasets[0][0])


@pytest.mark.parametrize(
    "make_attack",
    [
        lambda n_jobs: ResponsiveCPIAttack(
            MLP,
            RATE,
            n_shadow_models=8,
            shadow_size=150,
            n_jobs=n_jobs,
            random_state=0,
        ),
        lambda n_jobs: KLDivergenceAttack(
            MLP,
            RATE,
            n_shadow_models=8,
            shadow_size=150,
            n_jobs=n_jobs,
            random_state=0,
        ),
        lambda n_jobs: ResponsiveCPIAttack(
            MLP,
            RATE,
            n_shadow_models=4,
            shadow_size=150,
            defense=CPIRobustClassifier(
                MLP, RATE, n_shadow_models=8, n_rounds=1, epochs_per_round=1
            ),
            n_jobs=n_jobs,
            random_state=0,
        ),
    ],
    ids=["classic", "kl-divergence", "responsive-refit"],
)
def test_attacks_do_not_depend_on_n_jobs(aux, targets, make_attack):
    one = make_attack(1).fit(*aux)
    two = make_attack(2).fit(*aux)
    assert np.array_equal(one.query_X_, two.query_X_)
    assert np.array_equal(one.predict_proba(targets), two.predict_proba(targets))


def test_dask_cluster_runs_the_shadows_as_the_local_run_does(aux, targets, datasets):
    local_models = fit_population(MLP, datasets, random_state=0)
    local_attack = ResponsiveCPIAttack(
        MLP, RATE, n_shadow_models=8, shadow_size=150, random_state=0
    ).fit(*aux)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        parallel_config(backend="dask"),
    ):
        remote_models = fit_population(MLP, datasets, random_state=0)
        remote_attack = ResponsiveCPIAttack(
            MLP, RATE, n_shadow_models=8, shadow_size=150, random_state=0
        ).fit(*aux)
    # The chunks ran as tasks of the cluster's workers, one per worker at least.
    workers = {task["worker"] for task in tasks.data}
    assert len(workers) == 2
    assert _same_models(local_models, remote_models, datasets[0][0])
    assert np.array_equal(
        local_attack.predict_proba(targets), remote_attack.predict_proba(targets)
    )
