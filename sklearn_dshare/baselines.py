"""Defenses tuned against a fixed attacker: the baselines D-S2HARE is measured against.

Both train the target normally, fit one meta-classifier on normally trained
shadows (the *fixed* attack), and then move the target's weights until that
meta-classifier can no longer tell the bins apart:

- :class:`PropertyUnlearningClassifier` follows property unlearning (Stock,
  Wettlaufer, Demmler, Federrath, "Lessons learned: defending against property
  inference attacks", SECRYPT 2023): adversarial updates until the fixed
  attack outputs 1/k for every bin, within ``uniform_tol``.
- :class:`AdversarialFineTuneClassifier` is the one-shot version: a fixed
  number of epochs of task loss plus ``defense_strength`` times the fixed
  attack's distance to uniform.

A fixed attacker is fooled; an attacker that trains its shadows through the
same procedure (``ResponsiveCPIAttack(defense=...)``) is not, which is the
point the seed paper makes. Both share the estimator face, the population and
``defend_population`` of :class:`~sklearn_dshare.CPIRobustClassifier`, so the
same evaluation runs all of them.
"""

import math
import time

import numpy as np
import torch
from sklearn.base import clone

from ._arms_race import WatchedLoss, _cross_group_leakage, _utility, views_of
from .defense import _BaseDefense

__all__ = ["AdversarialFineTuneClassifier", "PropertyUnlearningClassifier"]


class _FoolFixedAttack(WatchedLoss):
    """``extra_loss``: each group's members pushed to a uniform fixed-attack output."""

    def __init__(self, population, setup, groups, metas):
        self.population = population
        self.setup = setup
        self.members = {
            g: torch.as_tensor(np.flatnonzero(groups == g), device=population.device)
            for g in metas
        }
        self.metas = metas
        for meta in metas.values():
            meta.module_.to(population.device)
            meta.module_.requires_grad_(False)
        self.weight = setup.defense_strength

    def loss(self, params, step):
        views = views_of(
            self.population, self.setup.access, self.setup.eval_queries, params
        )
        total = views.new_zeros(())
        for g, meta in self.metas.items():
            logp = meta.forward(views[self.members[g]])
            # KL(uniform || p) = -mean_c log p_c - log k, summed over members.
            k = logp.shape[1]
            total = total + (-logp.mean(1) - math.log(k)).sum()
        return self.weight * total


def _fixed_attacks(population, setup, groups, bins, rng):
    """For each group, a meta-classifier fitted on the partner group's views."""
    with torch.no_grad():
        population._set_training(False)
        V = views_of(population, setup.access, setup.eval_queries).cpu().numpy()
    metas = {}
    for g in np.unique(groups):
        train = (groups == (g ^ 1)) & (bins >= 0)
        if len(np.unique(bins[train])) < 2:
            continue
        meta = clone(setup.meta_classifier)
        if "random_state" in meta.get_params():
            meta.set_params(random_state=int(rng.randint(2**31 - 1)))
        metas[g] = meta.fit(V[train], bins[train])
    return metas


def _max_gap_to_uniform(loss):
    """Largest distance of a member's fixed-attack probability from 1/k."""
    with torch.no_grad():
        views = views_of(loss.population, loss.setup.access, loss.setup.eval_queries)
        gaps = [
            (meta.forward(views[loss.members[g]]).exp() - 1.0 / len(meta.classes_))
            .abs()
            .max()
            .item()
            for g, meta in loss.metas.items()
        ]
    return max(gaps, default=0.0)


class _FixedAttackDefense(_BaseDefense):
    """Train normally, fit a fixed attack per group, fine-tune against it."""

    _int_params = (("max_epochs", 1),)
    _until_uniform = False

    def _n_rounds(self):
        return 1

    def _epochs_per_round(self):
        return self.max_epochs

    def _record(self, round_, population, setup, groups, bins, rng, start):
        entry = {"round": round_}
        if setup.measure:
            leakage, auc = _cross_group_leakage(
                population, setup, groups, bins, {}, rng
            )
            entry.update(leakage=leakage, leakage_auc=auc)
        entry.update(_utility(population[[0]], setup.validation))
        entry["seconds"] = time.perf_counter() - start
        return entry

    def _defend(self, population, datasets, bins, groups, setup, rng):
        start = time.perf_counter()
        population.fit(datasets, verbose=setup.verbose >= 2)
        history = [self._record(0, population, setup, groups, bins, rng, start)]
        if setup.defense_strength == 0:
            return population, history
        start = time.perf_counter()
        metas = _fixed_attacks(population, setup, groups, bins, rng)
        loss = _FoolFixedAttack(population, setup, groups, metas)
        if self._until_uniform:
            for _ in range(self.max_epochs):
                population.fit(
                    datasets,
                    epochs=1,
                    extra_loss=loss,
                    random_state=rng.randint(2**31 - 1),
                )
                loss.check_finite()
                if _max_gap_to_uniform(loss) <= self.uniform_tol:
                    break
        else:
            population.fit(
                datasets,
                epochs=self.max_epochs,
                extra_loss=loss,
                random_state=rng.randint(2**31 - 1),
            )
            loss.check_finite()
        history.append(self._record(1, population, setup, groups, bins, rng, start))
        return population, history


class PropertyUnlearningClassifier(_FixedAttackDefense):
    """Property unlearning: fine-tune until the fixed attack outputs 1/k.

    Parameters
    ----------
    estimator, confidential_property, access, n_shadow_models, shadow_size, \
validation_fraction, meta_classifier, device, random_state, verbose
        As in :class:`~sklearn_dshare.CPIRobustClassifier`. The fixed attack
        of each group of shadows is fitted on the other group's normally
        trained views, through ``access``.
    defense_strength : float, default=10.0
        Weight of the distance to uniform against the task loss.
    max_epochs : int, default=20
        Most epochs of unlearning.
    uniform_tol : float, default=0.02
        Stop when every member's fixed-attack probabilities are within this
        of 1/k.

    Attributes
    ----------
    estimator_, classes_, n_features_in_, history_, leakage_, leakage_auc_, \
n_samples_fit_, property_value_
        As in :class:`~sklearn_dshare.CPIRobustClassifier`. ``history_`` has
        round 0 (before) and round 1 (after unlearning); ``leakage_`` is
        measured by a *fresh* meta-classifier fitted on the other group.
    """

    _until_uniform = True

    def __init__(
        self,
        estimator,
        confidential_property,
        *,
        access="black-box",
        defense_strength=10.0,
        max_epochs=20,
        uniform_tol=0.02,
        n_shadow_models=64,
        shadow_size=None,
        validation_fraction=0.1,
        meta_classifier=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.confidential_property = confidential_property
        self.access = access
        self.defense_strength = defense_strength
        self.max_epochs = max_epochs
        self.uniform_tol = uniform_tol
        self.n_shadow_models = n_shadow_models
        self.shadow_size = shadow_size
        self.validation_fraction = validation_fraction
        self.meta_classifier = meta_classifier
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class AdversarialFineTuneClassifier(_FixedAttackDefense):
    """One-shot adversarial fine-tuning against a fixed meta-classifier.

    Parameters
    ----------
    estimator, confidential_property, access, n_shadow_models, shadow_size, \
validation_fraction, meta_classifier, device, random_state, verbose
        As in :class:`PropertyUnlearningClassifier`.
    defense_strength : float, default=1.0
        Weight of the distance to uniform against the task loss.
    max_epochs : int, default=5
        Epochs of fine-tuning.

    Attributes
    ----------
    estimator_, classes_, n_features_in_, history_, leakage_, leakage_auc_, \
n_samples_fit_, property_value_
        As in :class:`PropertyUnlearningClassifier`.
    """

    def __init__(
        self,
        estimator,
        confidential_property,
        *,
        access="black-box",
        defense_strength=1.0,
        max_epochs=5,
        n_shadow_models=64,
        shadow_size=None,
        validation_fraction=0.1,
        meta_classifier=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.confidential_property = confidential_property
        self.access = access
        self.defense_strength = defense_strength
        self.max_epochs = max_epochs
        self.n_shadow_models = n_shadow_models
        self.shadow_size = shadow_size
        self.validation_fraction = validation_fraction
        self.meta_classifier = meta_classifier
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
