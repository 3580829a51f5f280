"""Reliability: divergence, interruption, the leak warning, reproducibility, pickling.

Faults must end in a clear error and leave the estimator as it was before
``fit`` (unfitted, or the previous model); a seed must give the same model
in another process; fitted estimators must survive pickle and joblib
(``n_jobs`` invariance is tested in ``test_evaluation.py`` and
``test_scale_out.py``). Every fit is tiny: 200 rows, 8
shadow models, one round, an MLP with 4 hidden units for 3 epochs or a
logistic regression.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
import torch
from conftest import LogitModule, make_skorch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import sklearn_dshare._arms_race as arms_race
import sklearn_dshare.baselines as baselines
import sklearn_dshare.defense as defense
from sklearn_dshare import (
    AdversarialFineTuneClassifier,
    CPIRobustClassifier,
    LabelRate,
    PrivacyLeakWarning,
    PropertyUnlearningClassifier,
    ResponsiveCPIAttack,
)
from sklearn_dshare.attack import KLDivergenceAttack, MeanOutputAttack, _ShadowAttack
from sklearn_dshare.datasets import make_credit_portfolio

leaky = pytest.mark.filterwarnings("ignore::sklearn_dshare.defense.PrivacyLeakWarning")

REPO = Path(__file__).resolve().parents[1]
# The portfolio's default rate is 0.3, inside bin 0.
PROPERTY = LabelRate(bins=[(0.2, 0.35), (0.45, 0.6)])
DEFENSES = [
    CPIRobustClassifier,
    PropertyUnlearningClassifier,
    AdversarialFineTuneClassifier,
]


def mlp(learning_rate_init=0.05):
    return MLPClassifier((4,), max_iter=3, learning_rate_init=learning_rate_init)


def tiny(cls=CPIRobustClassifier, estimator=None, **kwargs):
    params = {"n_shadow_models": 8, "random_state": 0}
    if cls is CPIRobustClassifier:
        params.update(n_rounds=1, epochs_per_round=1)
    else:
        params.update(max_epochs=1)
    params.update(kwargs)
    return cls(mlp() if estimator is None else estimator, PROPERTY, **params)


def tiny_attack(cls=ResponsiveCPIAttack, **kwargs):
    params = {"n_shadow_models": 8, "shadow_size": 100, "n_queries": 16}
    params.update(kwargs, random_state=0)
    return cls(mlp(), PROPERTY, **params)


@pytest.fixture(scope="module")
def data():
    X, y = make_credit_portfolio(200, n_features=5, default_rate=0.3, random_state=0)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def aux():
    """The attacker's auxiliary data, disjoint from the provider's."""
    X, y = make_credit_portfolio(600, n_features=5, default_rate=0.3, random_state=1)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def assert_unfitted(estimator):
    """Nothing of a fit is left: only the constructor's parameters."""
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    assert set(vars(estimator)) == set(estimator.get_params(deep=False))


# -- A1. divergence ends in a clear error, never a NaN model -----------------------
DIVERGENT = {
    # Round 0, the normal fit: Adam steps of 1e20 overflow the weights.
    "learning_rate": lambda: {"estimator": mlp(learning_rate_init=1e20)},
    # The defense's loss, weighted by 1e38, overflows during the defense.
    "defense_strength": lambda: {"defense_strength": 1e38},
}


@pytest.mark.parametrize("cause", list(DIVERGENT))
@pytest.mark.parametrize("cls", DEFENSES)
def test_divergence_is_a_clear_error_and_keeps_no_model(data, cls, cause):
    X, y = data
    clf = tiny(cls, **DIVERGENT[cause]())
    with pytest.raises(FloatingPointError) as caught:
        clf.fit(X, y)
    message = str(caught.value)
    assert message.startswith(f"{cls.__name__} diverged")
    assert "learning_rate_init" in message and "defense_strength" in message
    assert "standardize the features" in message
    assert_unfitted(clf)


def test_logistic_regression_divergence_names_no_learning_rate(data):
    # L-BFGS picks its own steps: only defense_strength and scaling can help.
    X, y = data
    clf = tiny(estimator=LogisticRegression(max_iter=20), defense_strength=1e38)
    with pytest.raises(FloatingPointError) as caught:
        clf.fit(X, y)
    message = str(caught.value)
    assert "lower defense_strength (now 1e+38)" in message
    assert "learning_rate" not in message and "standardize" in message


@leaky
@pytest.mark.parametrize("cls", DEFENSES)
def test_divergent_refit_keeps_the_previous_model(data, cls):
    X, y = data
    clf = tiny(cls).fit(X, y)
    before, state = clf.predict_proba(X), dict(vars(clf))
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.set_params(defense_strength=1e38).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert all(vars(clf)[k] is v for k, v in state.items() if k.endswith("_"))


def test_privacy_loss_is_finite_on_degenerate_populations():
    # Group 0 holds both bins, group 1 one bin, group 2 an unlabelled member,
    # group 3 a lone member: empty cells must not turn into 0 / 0.
    groups = np.array([0, 0, 0, 1, 1, 2, 3])
    bins = np.array([0, 0, 1, 0, 0, -1, 1])
    cells, present = arms_race._cells(groups, bins, 2)
    constant = torch.ones(7, 3, requires_grad=True)  # a view with std 0
    varied = torch.arange(21.0).reshape(7, 3).requires_grad_(True)
    values = []
    for features in (constant, varied):
        value = arms_race.moment_gap(features, cells, present)
        value.backward()
        values.append(value.item())
        assert torch.isfinite(features.grad).all()
    assert values[0] == 0.0
    assert np.isfinite(values[1]) and values[1] > 0.0


def _nan_without_gradient(value):
    """A NaN of ``value``'s shape that no gradient reaches the parameters through."""
    return value.detach() * float("nan")


@pytest.mark.parametrize(
    "estimator", [mlp(), LogisticRegression(max_iter=20)], ids=["adam", "lbfgs"]
)
def test_nan_privacy_loss_is_caught_even_with_finite_parameters(
    data, monkeypatch, estimator
):
    # The parameters stay finite, so only watching the loss itself notices.
    X, y = data
    real = arms_race.moment_gap
    monkeypatch.setattr(
        arms_race, "moment_gap", lambda *args: _nan_without_gradient(real(*args))
    )
    clf = tiny(estimator=estimator)
    with pytest.raises(FloatingPointError, match="CPIRobustClassifier diverged") as e:
        clf.fit(X, y)
    assert "PrivacyLoss became NaN or inf" in str(e.value.__cause__)
    assert_unfitted(clf)


@pytest.mark.parametrize("cls", DEFENSES[1:])
def test_nan_fixed_attack_loss_is_caught(data, monkeypatch, cls):
    X, y = data
    real = baselines.views_of

    def nan_views(population, access, queries, params=None):
        views = real(population, access, queries, params)
        # Only the fine-tuning loss passes params; the fixed attacks fit as usual.
        return views if params is None else _nan_without_gradient(views)

    monkeypatch.setattr(baselines, "views_of", nan_views)
    clf = tiny(cls)
    with pytest.raises(FloatingPointError, match=f"{cls.__name__} diverged") as e:
        clf.fit(X, y)
    assert "_FoolFixedAttack became NaN or inf" in str(e.value.__cause__)
    assert_unfitted(clf)


def test_divergent_responsive_replicas_fail_clearly(aux):
    # defend_population, the responsive attacker's entry point, reports it too.
    X, y = aux
    attack = tiny_attack(
        defense=tiny(defense_strength=1e38), responsive_mode="replicas"
    )
    with pytest.raises(FloatingPointError, match="CPIRobustClassifier diverged"):
        attack.fit(X, y)
    assert_unfitted(attack)


# -- A2. an interrupted fit leaves the estimator as it was --------------------------
def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "cls, where",
    [
        (CPIRobustClassifier, "race"),  # before any training
        (PropertyUnlearningClassifier, "fixed attacks"),  # mid-training
        (CPIRobustClassifier, "history"),  # after estimator_ and classes_ are set
    ],
)
def test_interrupted_defense_fit(data, monkeypatch, cls, where):
    X, y = data
    target = {
        "race": (defense, "run_arms_race"),
        "fixed attacks": (baselines, "_fixed_attacks"),
        "history": (defense, "History"),
    }[where]
    clf = tiny(cls)
    with monkeypatch.context() as patch:
        patch.setattr(*target, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert_unfitted(clf)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        clf.fit(X, y)
    before, state = clf.predict_proba(X), dict(vars(clf))
    # A refit on 4 columns resets n_features_in_ before the interruption.
    with monkeypatch.context() as patch:
        patch.setattr(*target, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            clf.set_params(random_state=1).fit(X[:, :4], y)
    assert vars(clf).keys() == state.keys()
    assert all(vars(clf)[k] is v for k, v in state.items() if k != "random_state")
    # set_params ran before fit: changing parameters is not fit's to undo.
    assert clf.n_features_in_ == 5 and clf.random_state == 1
    np.testing.assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize(
    "cls", [ResponsiveCPIAttack, MeanOutputAttack, KLDivergenceAttack]
)
def test_interrupted_attack_fit(aux, monkeypatch, cls):
    X, y = aux
    real = _ShadowAttack._fit_shadows

    def shadows_then_interrupt(self, X, y):
        real(self, X, y)  # the shadows' fitted attributes are set by now
        raise KeyboardInterrupt

    attack = tiny_attack(cls)
    with monkeypatch.context() as patch:
        patch.setattr(_ShadowAttack, "_fit_shadows", shadows_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            attack.fit(X, y)
    assert_unfitted(attack)

    attack.fit(X, y)
    models = attack.shadow_population_[:2].to_estimators()
    before, state = attack.predict_proba(models), dict(vars(attack))
    with monkeypatch.context() as patch:
        patch.setattr(_ShadowAttack, "_fit_shadows", shadows_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            attack.set_params(n_queries=8).fit(X[:300], y[:300])
    assert vars(attack).keys() == state.keys()
    assert all(vars(attack)[k] is v for k, v in state.items() if k != "n_queries")
    np.testing.assert_array_equal(attack.predict_proba(models), before)


def test_atomic_fit_keeps_the_signature_for_metadata_routing():
    with sklearn.config_context(enable_metadata_routing=True):
        clf = tiny().set_fit_request(property_data=True)
        assert clf.get_metadata_routing().fit.requests == {"property_data": True}


# -- A3. PrivacyLeakWarning follows the final held-out leakage ---------------------
# Provider rows in bin 0 of a well separated pair: any attacker reads the bin.
SEPARATED = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])


@pytest.fixture(scope="module")
def separated():
    X, y = make_credit_portfolio(3000, default_rate=0.3, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return SEPARATED.resample(X, y, 0, 200, random_state=0)


def _leak_warnings(X, y, strength):
    clf = CPIRobustClassifier(
        LogisticRegression(max_iter=100),
        SEPARATED,
        defense_strength=strength,
        n_shadow_models=8,
        n_rounds=1,
        epochs_per_round=1,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    return clf, [w for w in caught if w.category is PrivacyLeakWarning]


def test_leak_warning_after_a_round_too_weak_to_matter(separated):
    clf, caught = _leak_warnings(*separated, strength=1e-6)
    assert clf.n_rounds_ == 1 and clf.leakage_ == 1.0
    assert len(caught) == 1
    assert "After 1 rounds the held-out attack still reads the bin" in str(
        caught[0].message
    )


def test_no_leak_warning_for_the_undefended_model(separated):
    # Just as leaky, but defense_strength=0 asks for no protection.
    clf, caught = _leak_warnings(*separated, strength=0.0)
    assert clf.leakage_ == 1.0
    assert caught == []


# -- B4. one seed, one model, in any process ----------------------------------------
FIT_AND_SAVE = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn_dshare import CPIRobustClassifier, LabelRate
    from sklearn_dshare.datasets import make_credit_portfolio

    torch.set_num_threads(1)  # tiny tensors: threads only slow this down
    X, y = make_credit_portfolio(200, n_features=5, default_rate=0.3, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    rate = LabelRate(bins=[(0.2, 0.35), (0.45, 0.6)])
    probas = []
    for approximate in (True, False):
        clf = CPIRobustClassifier(
            MLPClassifier((4,), max_iter=3, learning_rate_init=0.05),
            rate,
            n_shadow_models=8,
            n_rounds=1,
            epochs_per_round=1,
            tol=0.0,
            approximate=approximate,
            random_state=0,
        ).fit(X, y)
        probas.append(clf.predict_proba(X))
    np.save(sys.argv[1], np.stack(probas))
    """
)


def test_same_random_state_same_model_in_another_process(tmp_path):
    saved = []
    for run, hash_seed in enumerate(("1", "2")):
        path = tmp_path / f"proba_{run}.npy"
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": hash_seed}
        env["PYTHONWARNINGS"] = "ignore::UserWarning"  # the leak warning
        subprocess.run(
            [sys.executable, "-c", FIT_AND_SAVE, str(path)],
            env=env,
            cwd=tmp_path,
            check=True,
            timeout=120,
        )
        saved.append(np.load(path))
    first, again = saved
    assert first.shape == (2, 200, 2) and np.all(np.isfinite(first))
    assert np.array_equal(first, again)
    # The exact mode (fresh shadows every round) trains another target.
    assert not np.array_equal(first[0], first[1])


# -- B5. fitted estimators survive pickle and joblib ---------------------------------
def _round_trips(obj, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(obj, path)
    return {"pickle": pickle.loads(pickle.dumps(obj)), "joblib": joblib.load(path)}


@leaky
@pytest.mark.parametrize(
    "cls, base",
    [
        (CPIRobustClassifier, "mlp"),
        (CPIRobustClassifier, "skorch"),
        (PropertyUnlearningClassifier, "mlp"),
        (AdversarialFineTuneClassifier, "mlp"),
    ],
)
def test_fitted_defense_round_trips(data, tmp_path, cls, base):
    X, y = data
    estimator = mlp() if base == "mlp" else make_skorch(LogitModule, max_epochs=2)
    clf = tiny(cls, estimator).fit(X, y)
    expected = clf.predict_proba(X)
    for how, restored in _round_trips(clf, tmp_path).items():
        assert type(restored.estimator_) is type(clf.estimator_), how
        assert np.array_equal(restored.predict_proba(X), expected), how
        np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
        assert restored.history_[:, "leakage"] == clf.history_[:, "leakage"]
    # The defended model on its own, as a provider would ship it.
    shipped = np.asarray(clf.estimator_.predict_proba(X))
    for how, restored in _round_trips(clf.estimator_, tmp_path).items():
        assert np.array_equal(np.asarray(restored.predict_proba(X)), shipped), how


@leaky
def test_fitted_responsive_attack_round_trips(data, aux, tmp_path):
    X, y = aux
    responsive = tiny(n_rounds=1)
    attack = tiny_attack(defense=responsive, responsive_mode="replicas").fit(X, y)
    X_p, y_p = data
    models = [tiny(cls).fit(X_p, y_p).estimator_ for cls in DEFENSES]
    expected = attack.predict_proba(models)
    for how, restored in _round_trips(attack, tmp_path).items():
        assert np.array_equal(restored.predict_proba(models), expected), how
        np.testing.assert_array_equal(restored.predict(models), attack.predict(models))
