"""The attack-defense arms race of D-S2HARE, on one stacked population.

The provider simulates the responsive attacker on its own data. Members of
the population carry a *bin* (the confidential property of their training
set, -1 for none) and a *group*. The privacy loss aligns, within each
group, the bin-wise means of the members' views: per fresh query row, the
mean log-odds of bin a's members must equal bin b's (and, for white-box
access, the mean of the canonically sorted weights too). Aligned means leave
a meta-classifier nothing to separate by; the attack step measures what is
left.

Why moment matching rather than fooling the current meta-classifier: a
defense that pushes g_t's output to uniform oscillates or overshoots (the
next attacker reads the flipped labels), while the population-level
alignment converges in one or two epochs when the query rows are fresh
provider rows at every step (a fixed query set is overfitted and leaks);
see ``docs/arms_race.md``.

Groups keep the leakage estimate honest. Members of one population are
coupled by the alignment, so an attacker cross-validated *inside* a group
scores below chance and means nothing. Instead the race holds two groups
trained side by side but aligned separately: group A (the target and half
of the shadows) and group B (the simulated attacker's shadows). The
meta-classifier is fitted on one group's views and scored on the other's,
which is what a real attacker does with its own population.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from .population import Population, member_seeds
from .views import BlackBoxView, WhiteBoxView

# Fresh provider rows drawn for the privacy loss at every optimizer step.
PRIVACY_QUERY_ROWS = 256
# Approximate strategy: a warm-started meta-classifier runs 1/WARM_FRACTION
# of its epochs per round.
WARM_FRACTION = 5


@dataclass
class RaceSetup:
    """Everything one race needs besides the population's parameters."""

    estimator: object
    access: str
    defense_strength: float
    n_rounds: int
    epochs_per_round: int
    approximate: bool
    tol: float
    meta_classifier: object
    query_pool: torch.Tensor  # rows the privacy loss draws its queries from
    eval_queries: np.ndarray  # fixed rows of the black-box view for leakage
    n_bins: int
    verbose: int = 0
    measure: bool = True
    redraw_shadows: object = None  # exact mode: (seed, bins) -> fresh (datasets, bins)
    validation: tuple | None = None  # (X_val, y_val) of the target
    history: list = field(default_factory=list)


def views_of(population, access, eval_queries, params=None):
    """The attacker's view ``(M, n_dims)``: outputs, plus weights if white-box."""
    views = [BlackBoxView(eval_queries)(population, params)]
    if access == "white-box":
        views.append(WhiteBoxView()(population, params))
    return torch.cat(views, dim=1)


def _output_scores(population, params, queries):
    """Log-odds per query row (binary) or centered log-probabilities."""
    logp = population.log_proba(queries, params)
    if logp.shape[-1] == 2:
        return logp[..., 1] - logp[..., 0]
    return (logp - logp.mean(-1, keepdim=True)).flatten(1)


def _cells(groups, bins, n_bins):
    """Averaging matrix: row (g, b) averages the members of group g in bin b."""
    group_ids = np.unique(groups)
    cells = np.zeros((len(group_ids), n_bins, len(groups)), dtype=np.float32)
    for gi, g in enumerate(group_ids):
        for b in range(n_bins):
            members = (groups == g) & (bins == b)
            if members.any():
                cells[gi, b, members] = 1.0 / members.sum()
    present = cells.sum(-1) > 0  # (G, k)
    return torch.as_tensor(cells), torch.as_tensor(present)


def moment_gap(features, cells, present):
    """Mean over groups and bin pairs of the squared gap between bin means.

    ``features`` is ``(M, D)``, standardized per dimension; the gap is the
    mean over dimensions. For k bins, the sum over pairs of
    ``||mu_a - mu_b||^2`` equals ``k * sum_b ||mu_b - mu_bar||^2``.
    """
    scale = features.detach().std(0).clamp(min=1e-6)
    means = torch.einsum("gbm,md->gbd", cells.to(features), features / scale)
    total = features.new_zeros(())
    for g in range(means.shape[0]):
        mu = means[g][present[g]]
        k = mu.shape[0]
        if k < 2:
            continue
        spread = (mu - mu.mean(0)).pow(2).sum(0).mean()
        total = total + k * spread / (k * (k - 1) / 2)
    return total / means.shape[0]


class WatchedLoss:
    """An ``extra_loss`` that remembers whether every value it returned was finite.

    :meth:`Population.fit` refuses parameters that became NaN or inf, but a
    NaN loss need not reach them: a NaN term without gradient, for one,
    trains on silently with the loss meaning nothing. The flag stays a
    tensor, so watching costs no device synchronization per step;
    :meth:`check_finite` reads it once, after the fit. Subclasses define
    ``loss(params, step)``.
    """

    _finite = None

    def __call__(self, params, step):
        value = self.loss(params, step)
        finite = torch.isfinite(value.detach())
        self._finite = finite if self._finite is None else self._finite & finite
        return value

    def check_finite(self):
        """Raise ``FloatingPointError`` if any value returned was NaN or inf."""
        if self._finite is not None and not bool(self._finite):
            raise FloatingPointError(
                f"Training diverged: the {type(self).__name__} became NaN or inf."
            )


class PrivacyLoss(WatchedLoss):
    """``extra_loss`` for :meth:`Population.fit`: aligned views across bins."""

    def __init__(self, population, setup, groups, bins, seed):
        self.population = population
        self.setup = setup
        self.cells, self.present = _cells(groups, bins, setup.n_bins)
        self.generator = torch.Generator(device=setup.query_pool.device)
        self.generator.manual_seed(int(seed))
        # Per-member weight: the population's summed task loss has M terms.
        self.weight = setup.defense_strength * population.n_members

    def loss(self, params, step):
        pool = self.setup.query_pool
        rows = torch.randint(
            len(pool),
            (PRIVACY_QUERY_ROWS,),
            generator=self.generator,
            device=pool.device,
        )
        gap = moment_gap(
            _output_scores(self.population, params, pool[rows]),
            self.cells,
            self.present,
        )
        if self.setup.access == "white-box":
            gap = gap + moment_gap(
                WhiteBoxView()(self.population, params), self.cells, self.present
            )
        return self.weight * gap


def _cross_group_leakage(population, setup, groups, bins, meta_state, rng):
    """Fit meta-classifiers on one group, score on the other; average both ways."""
    with torch.no_grad():
        population._set_training(False)
        V = views_of(population, setup.access, setup.eval_queries).cpu().numpy()
    accs, aucs = [], []
    labelled = bins >= 0
    for train_g, test_g in ((1, 0), (0, 1)):
        train = labelled & (groups == train_g)
        test = labelled & (groups == test_g)
        if len(np.unique(bins[train])) < 2 or not test.any():
            continue
        key = (train_g, test_g)
        meta = meta_state.get(key)
        fresh = meta is None or not setup.approximate
        if fresh:
            meta = clone(setup.meta_classifier)
            if "random_state" in meta.get_params():
                meta.set_params(random_state=int(rng.randint(2**31 - 1)))
            meta_state[key] = meta
        meta.fit(V[train], bins[train])
        params = meta.get_params()
        if fresh and setup.approximate and "warm_start" in params:
            # Later rounds continue from this fit, with a fraction of the epochs.
            meta.set_params(warm_start=True)
            if "max_epochs" in params:
                warm_epochs = max(1, params["max_epochs"] // WARM_FRACTION)
                meta.set_params(max_epochs=warm_epochs)
        proba = np.zeros((test.sum(), setup.n_bins))
        proba[:, meta.classes_] = meta.predict_proba(V[test])
        accs.append(accuracy_score(bins[test], proba.argmax(1)))
        present = np.unique(bins[test])
        if len(present) == 2 and setup.n_bins == 2:
            aucs.append(roc_auc_score(bins[test], proba[:, 1]))
        elif len(present) > 2:
            sub = proba[:, present] / proba[:, present].sum(1, keepdims=True)
            aucs.append(
                roc_auc_score(bins[test], sub, multi_class="ovr", labels=present)
            )
    if not accs:
        return np.nan, np.nan
    return float(np.mean(accs)), float(np.mean(aucs)) if aucs else np.nan


def _utility(population, validation):
    if validation is None:
        return {}
    X_val, y_val = validation
    proba = population.predict_proba(X_val)[0]
    classes = population.classes_
    scores = {
        "valid_acc": accuracy_score(y_val, classes[proba.argmax(1)]),
        "valid_log_loss": log_loss(y_val, proba, labels=classes),
    }
    if len(classes) == 2 and len(np.unique(y_val)) == 2:
        scores["valid_auc"] = roc_auc_score(y_val, proba[:, 1])
    return scores


def run_arms_race(population, datasets, bins, groups, setup, rng):
    """Train ``population`` through the race; return it and the history.

    Parameters
    ----------
    population : Population
        Freshly initialized members (round 0 trains them normally).
    datasets : list of (X, y)
        One per member.
    bins, groups : ndarray of shape (n_members,)
        Each member's bin (-1: none) and group (0 = A, 1 = B; more groups are
        independent replicas, aligned separately).
    setup : RaceSetup
    rng : RandomState

    Returns
    -------
    population : Population
    history : list of dict
        One entry per round: ``round``, ``leakage`` (cross-group accuracy of
        the meta-classifier), ``leakage_auc``, utility scores, ``seconds``.
    """
    datasets = list(datasets)
    bins, groups = np.asarray(bins), np.asarray(groups)
    start = time.perf_counter()
    population.fit(datasets, verbose=setup.verbose >= 2)
    history, meta_state = [], {}
    chance = 1.0 / setup.n_bins
    within_tol = 0
    for round_ in range(setup.n_rounds + 1):
        entry = {"round": round_}
        if setup.measure:
            leakage, auc = _cross_group_leakage(
                population, setup, groups, bins, meta_state, rng
            )
            entry.update(leakage=leakage, leakage_auc=auc)
        entry.update(_utility(population[[0]], setup.validation))
        entry["seconds"] = time.perf_counter() - start
        history.append(entry)
        if setup.verbose:
            _print_round(entry)
        if round_ == setup.n_rounds or setup.defense_strength == 0:
            break
        if setup.measure and np.isfinite(entry["leakage"]):
            close = abs(entry["leakage"] - chance) <= setup.tol and (
                not np.isfinite(entry["leakage_auc"])
                or abs(entry["leakage_auc"] - 0.5) <= setup.tol
            )
            within_tol = within_tol + 1 if close and round_ > 0 else 0
            if within_tol >= 2:
                break
        start = time.perf_counter()
        if not setup.approximate and setup.redraw_shadows is not None:
            population, datasets, bins = _redraw_shadows(
                population, datasets, bins, groups, setup, rng, round_
            )
        _defense_round(population, datasets, groups, bins, setup, rng)
    return population, history


def _defense_round(population, datasets, groups, bins, setup, rng):
    """``epochs_per_round`` epochs of task loss + strength x privacy loss."""
    loss = PrivacyLoss(population, setup, groups, bins, seed=rng.randint(2**31 - 1))
    population.fit(
        datasets,
        epochs=setup.epochs_per_round,
        extra_loss=loss,
        random_state=rng.randint(2**31 - 1),
    )
    loss.check_finite()


def _redraw_shadows(population, datasets, bins, groups, setup, rng, rounds_done):
    """Exact mode: every shadow retrained from scratch through all rounds so far.

    Fresh shadow datasets and seeds, a normal fit, then ``rounds_done``
    defense rounds (each group aligned on its own), so that the simulated
    attacker sees shadows that went through the whole current defense, not
    shadows that co-evolved with the target. The target (member 0) keeps
    its parameters.
    """
    shadow = np.arange(1, population.n_members)
    s_datasets, s_bins = setup.redraw_shadows(rng.randint(2**31 - 1), bins[shadow])
    s_groups = groups[shadow]
    fresh = Population.initialize(
        setup.estimator,
        len(shadow),
        n_features=population.n_features_in_,
        classes=population.classes_,
        seeds=member_seeds(rng, len(shadow)),
        device=population.device,
    )
    fresh.fit(s_datasets)
    for _ in range(rounds_done):
        _defense_round(fresh, s_datasets, s_groups, s_bins, setup, rng)
    merged = Population.concatenate([population[[0]], fresh])
    datasets = [datasets[0], *s_datasets]
    bins = np.concatenate([bins[:1], s_bins])
    return merged, datasets, bins


def _print_round(entry):
    parts = [f"round {entry['round']:>2}"]
    if "leakage" in entry:
        parts.append(f"leakage {entry['leakage']:.3f} (AUC {entry['leakage_auc']:.3f})")
    if "valid_auc" in entry:
        parts.append(f"valid AUC {entry['valid_auc']:.4f}")
    if "valid_acc" in entry:
        parts.append(f"acc {entry['valid_acc']:.4f}")
    parts.append(f"{entry['seconds']:.1f} s")
    print(" | ".join(parts), flush=True)
