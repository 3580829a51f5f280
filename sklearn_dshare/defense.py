"""CPIRobustClassifier: a classifier whose ``fit`` runs the D-S2HARE arms race."""

import numbers
import warnings

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from ._adapters import get_adapter
from ._arms_race import RaceSetup, run_arms_race
from ._atomic import atomic_fit
from .attack import ACCESS_MODES
from .history import History
from .metrics import leakage_gap
from .population import Population, check_device, member_seeds
from .properties import check_property
from .views import BlackBoxView, WhiteBoxView

__all__ = ["CPIRobustClassifier", "PrivacyLeakWarning"]


class PrivacyLeakWarning(UserWarning):
    """The defended model still leaks: held-out leakage is far above chance."""


def _delegate(method):
    def check(self):
        return hasattr(self.estimator, method)

    return check


class _BaseDefense(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """What every defense shares: validation, the population, prediction.

    A defense trains the target together with shadow models resampled from
    the provider's data across the property's bins, in two groups (see
    ``_arms_race``). Subclasses define their parameters and ``_defend``,
    which trains that population; ``fit`` keeps member 0, the target, and
    ``defend_population`` trains a responsive attacker's shadows the same way.
    """

    # (name, minimum) of integer parameters checked besides n_shadow_models.
    _int_params = ()

    def _n_rounds(self):
        return self.n_rounds

    def _epochs_per_round(self):
        return self.epochs_per_round

    def _defend(self, population, datasets, bins, groups, setup, rng):
        """Train ``population``; return it and the per-round history."""
        raise NotImplementedError

    def _train(self, population, datasets, bins, groups, setup, rng):
        """``_defend``, with a divergence explained in this defense's parameters."""
        try:
            return self._defend(population, datasets, bins, groups, setup, rng)
        except FloatingPointError as exc:
            fixes = _step_size_hint(self.estimator)
            if self.defense_strength > 0:
                fixes.append(f"lower defense_strength (now {self.defense_strength!r})")
            fixes.append("standardize the features (StandardScaler in a Pipeline)")
            raise FloatingPointError(
                f"{type(self).__name__} diverged: the members' parameters or the "
                f"defense's loss became NaN or inf. Try: {', '.join(fixes[:-1])} "
                f"or {fixes[-1]}. The estimator is left as it was before the call."
            ) from exc

    # -- validation ---------------------------------------------------------
    def _check_params(self):
        get_adapter(self.estimator).recipe()
        if self.access not in ACCESS_MODES:
            raise ValueError(
                f"access must be one of {ACCESS_MODES}, got {self.access!r}."
            )
        strength = self.defense_strength
        if (
            not isinstance(strength, numbers.Real)
            or not np.isfinite(strength)
            or strength < 0
        ):
            raise ValueError(
                f"defense_strength must be a finite number >= 0, got {strength!r}."
            )
        n_bins = check_property(self.confidential_property).n_bins
        for name, minimum in (("n_shadow_models", 4 * n_bins), *self._int_params):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < minimum:
                hint = (
                    f" (4 per bin, so that each of the two groups holds "
                    f"out at least 2 shadows of each of the {n_bins} bins)"
                    if name == "n_shadow_models"
                    else ""
                )
                raise ValueError(
                    f"{name} must be an integer >= {minimum}{hint}, got {value!r}."
                )
        fraction = self.validation_fraction
        if not isinstance(fraction, numbers.Real) or not 0 <= fraction < 0.5:
            raise ValueError(
                "validation_fraction must be in [0, 0.5), got "
                f"{self.validation_fraction!r}."
            )
        size = self.shadow_size
        if size is not None and (
            not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1
        ):
            raise ValueError(
                "shadow_size must be a positive integer (rows per shadow dataset) "
                f"or None for the target's training size, got {size!r}."
            )
        tol = getattr(self, "tol", 0.0)
        if not isinstance(tol, numbers.Real) or tol < 0:
            raise ValueError(f"tol must be a number >= 0, got {tol!r}.")
        return check_device(self.device)

    def _race_setup(self, pool, rng, device, **options):
        """The race's settings; ``pool`` holds the rows queries are drawn from."""
        return RaceSetup(
            estimator=self.estimator,
            access=self.access,
            defense_strength=float(self.defense_strength),
            n_rounds=self._n_rounds(),
            epochs_per_round=self._epochs_per_round(),
            tol=getattr(self, "tol", 0.0),
            meta_classifier=self._meta(),
            query_pool=torch.as_tensor(pool, device=device),
            eval_queries=pool[
                rng.choice(len(pool), size=min(256, len(pool)), replace=False)
            ],
            n_bins=self.confidential_property.n_bins,
            **options,
        )

    def _meta(self):
        if self.meta_classifier is not None:
            return self.meta_classifier
        view = WhiteBoxView() if self.access == "white-box" else BlackBoxView(None)
        return view.default_meta_classifier()

    # -- fit --------------------------------------------------------------
    @atomic_fit
    def fit(self, X, y, *, property_data=None):
        """Train the target and its shadows on ``(X, y)``; keep the defended target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        property_data : array-like of shape (n_samples, n_columns), default=None
            Columns the confidential property reads instead of ``X`` (for
            example a region the model never sees); route it through a
            ``Pipeline`` with ``set_fit_request(property_data=True)``.

        Returns
        -------
        self : estimator
        """
        device = self._check_params()
        # The property reads X as given, so that a DataFrame keeps its column names.
        P = X if property_data is None else property_data
        X, y = _validate_float32(self, X, y)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"y holds one class ({classes.tolist()[0]!r}); a classifier needs "
                "at least two classes."
            )
        rng = check_random_state(self.random_state)
        prop = self.confidential_property
        if property_data is not None and _num_samples(property_data) != len(y):
            raise ValueError(
                f"property_data has {_num_samples(property_data)} rows but X has "
                f"{len(y)}; pass one row of property data per training row."
            )

        # Hold out the target's validation rows first, stratified.
        n = len(y)
        val = np.zeros(n, dtype=bool)
        if self.validation_fraction > 0:
            for c in classes:
                rows = np.flatnonzero(y == c)
                k = int(round(self.validation_fraction * len(rows)))
                val[rng.choice(rows, size=min(k, len(rows) - 1), replace=False)] = True
        train = np.flatnonzero(~val)
        X_train, y_train = X[train], y[train]
        P_train = _rows(P, train)
        size = self.shadow_size if self.shadow_size is not None else len(train)
        if size > len(train):
            raise ValueError(
                f"shadow_size={size} exceeds the {len(train)} rows the target "
                f"trains on ({n} rows less {n - len(train)} held out by "
                f"validation_fraction={self.validation_fraction!r}); shadows are "
                f"resampled from those rows to mimic the target, so pass "
                f"shadow_size <= {len(train)}, or None to match the target."
            )
        self.property_value_ = prop.value(P_train, y_train)
        target_bin = prop.bin_of(self.property_value_)
        if target_bin < 0:
            warnings.warn(
                f"The training data's {type(prop).__name__} is "
                f"{self.property_value_:.4g}, in none of the bins "
                f"{prop.intervals}; the defense aligns the bins' shadows but "
                "the target takes no part in the alignment. Choose bins that "
                "contain the provider's own value.",
                UserWarning,
                stacklevel=2,
            )

        # Shadows: bootstrap resamples in every bin (the property lives in P).
        def draw(seed, wanted_bins):
            local = check_random_state(seed)
            datasets = []
            for b in wanted_bins:
                try:
                    rows = prop.resample_index(
                        P_train, y_train, int(b), size, random_state=local, replace=True
                    )
                except ValueError as exc:
                    raise ValueError(
                        f"The training data cannot provide shadow datasets of {size} "
                        f"rows (shadow_size) in every bin: {exc}"
                    ) from exc
                datasets.append((X_train[rows], y_train[rows]))
            return datasets, np.asarray(wanted_bins)

        M = self.n_shadow_models
        n_bins = prop.n_bins
        shadow_bins = rng.permutation(np.arange(M) % n_bins)
        # Two groups, each balanced over bins: alternate within each bin.
        groups_s = np.empty(M, dtype=int)
        for b in range(n_bins):
            members = np.flatnonzero(shadow_bins == b)
            groups_s[members] = np.arange(len(members)) % 2
        shadows, _ = draw(rng.randint(2**31 - 1), shadow_bins)
        datasets = [(X_train, y_train), *shadows]
        bins = np.concatenate([[target_bin], shadow_bins])
        groups = np.concatenate([[0], groups_s])

        setup = self._race_setup(
            pool=X_train,
            rng=rng,
            device=device,
            approximate=getattr(self, "approximate", True),
            verbose=self.verbose,
            redraw_shadows=draw,
            validation=(X[val], y[val]) if val.any() else None,
        )
        population = Population.initialize(
            self.estimator,
            len(datasets),
            n_features=X.shape[1],
            classes=classes,
            seeds=member_seeds(rng, len(datasets)),
            device=device,
        )
        population, history = self._train(
            population, datasets, bins, groups, setup, rng
        )
        self.estimator_ = population[[0]].to_estimators()[0]
        self.classes_ = classes
        self.history_ = History(history)
        self.n_rounds_ = history[-1]["round"]
        self.leakage_ = history[-1].get("leakage", np.nan)
        self.leakage_auc_ = history[-1].get("leakage_auc", np.nan)
        self.n_samples_fit_ = len(train)
        chance = 1.0 / n_bins
        gap = leakage_gap(self.leakage_, self.leakage_auc_, chance)
        if self.defense_strength > 0 and gap > 0.2:
            warnings.warn(
                f"After {self.n_rounds_} rounds the held-out attack still reads "
                f"the bin: accuracy {self.leakage_:.2f} (chance {chance:.2f}), "
                f"AUC {self.leakage_auc_:.2f}; far from chance on either side "
                "means the bins can be told apart. Do not share this model as "
                "protected; raise defense_strength or n_rounds.",
                PrivacyLeakWarning,
                stacklevel=2,
            )
        return self

    def defend_population(self, datasets, bins, *, random_state=None, device="cpu"):
        """Train members through this defense, as the provider trains its target.

        The responsive attacker's entry point: its shadow datasets are split
        into replicas of the provider's population (1 + ``n_shadow_models``
        members, two groups each) and every replica runs the same race,
        aligned separately, side by side in one population.

        Returns
        -------
        population : Population
            The defended members, in the order of ``datasets``.
        """
        self._check_params()
        rng = check_random_state(random_state)
        datasets, bins = list(datasets), np.asarray(bins)
        n = len(datasets)
        replica_size = self.n_shadow_models + 1
        n_replicas = max(1, int(round(n / replica_size)))
        replica = np.empty(n, dtype=int)
        half = np.empty(n, dtype=int)
        # Deal every bin's members round-robin over replicas and halves.
        for b in np.unique(bins):
            members = rng.permutation(np.flatnonzero(bins == b))
            slot = np.arange(len(members))
            replica[members] = slot % n_replicas
            half[members] = (slot // n_replicas) % 2
        groups = 2 * replica + half
        X0, _ = datasets[0]
        classes = np.unique(np.concatenate([np.asarray(d[1]) for d in datasets]))
        pool = np.concatenate([np.asarray(d[0], dtype=np.float32) for d in datasets])
        setup = self._race_setup(
            pool=pool, rng=rng, device=device, approximate=True, measure=False
        )
        population = Population.initialize(
            self.estimator,
            n,
            n_features=np.asarray(X0).shape[1],
            classes=classes,
            seeds=member_seeds(rng, n),
            device=device,
        )
        population, _ = self._train(population, datasets, bins, groups, setup, rng)
        return population

    # -- prediction ---------------------------------------------------------
    def predict(self, X):
        """Class labels from the defended model."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(1)]

    def predict_proba(self, X):
        """Class probabilities from the defended model, ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        X = _validate_float32(self, X, reset=False)
        return np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)

    @available_if(_delegate("decision_function"))
    def decision_function(self, X):
        """The defended model's decision function (where the base has one)."""
        check_is_fitted(self)
        X = _validate_float32(self, X, reset=False)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags


class CPIRobustClassifier(_BaseDefense):
    """A classifier hardened against confidential property inference.

    ``fit`` trains the base estimator and, side by side, a population of
    shadow models resampled from the same data across the property's bins.
    Each round, a meta-classifier measures how well the bin can be read off
    the members' views (*leakage*); then every member is updated on its task
    loss plus ``defense_strength`` times a privacy loss that aligns the
    bin-wise mean views. The shared model, ``estimator_``, is of the same
    type as ``estimator``.

    Parameters
    ----------
    estimator : estimator instance
        The base recipe: ``MLPClassifier``, ``LogisticRegression``,
        ``SGDClassifier(loss="log_loss")`` or a skorch ``NeuralNetClassifier``.
    confidential_property : LabelRate, FeatureRate or FeatureMean
        What to hide, and the bins an attacker would tell apart.
    access : {"black-box", "white-box"}, default="black-box"
        What the recipient gets. White-box defends the weights *and* the
        outputs, since whoever holds the weights can also query.
    defense_strength : float, default=1.0
        Weight of the privacy loss. 0 gives the undefended model.
    n_rounds : int, default=10
        Attack-defense rounds after the normal fit.
    n_shadow_models : int, default=64
        Shadow models trained with the target; at least 4 per bin.
    approximate : bool, default=True
        Warm-start the simulated attacker's shadows and meta-classifier from
        the previous round (cost ~ M x T epochs). False retrains them from
        scratch through every round so far (the exact simulation, ~ M x T^2).
    tol : float, default=0.05
        Stop early when held-out leakage (accuracy and AUC) stays within
        ``tol`` of chance for two rounds.
    epochs_per_round : int, default=2
        Defense epochs per round.
    shadow_size : int, default=None
        Rows per shadow dataset (bootstrap resamples). None: as many rows as
        the target's training set.
    validation_fraction : float, default=0.1
        Share of rows held out to score the target each round. The target
        trains on the rest. 0 trains on all rows and records no utility.
    meta_classifier : classifier, default=None
        Measures leakage; None uses the view's default MetaClassifier.
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        1 prints one line per round (leakage, utility, seconds); 2 also shows
        a progress bar (``tqdm.auto``) over the shadows' training.

    Attributes
    ----------
    estimator_ : estimator
        The defended model, fitted, of the same type as ``estimator``.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has feature names.
    history_ : History
        One entry per round: ``leakage``, ``leakage_auc``, ``valid_acc``,
        ``valid_auc``, ``valid_log_loss``, ``seconds``; sliceable like
        skorch's history (``clf.history_[:, "leakage"]``).
    leakage_ : float
        Held-out leakage (meta-classifier accuracy) after the last round.
    leakage_auc_ : float
        The meta-classifier's AUC after the last round (0.5 is chance).
    n_rounds_ : int
        Defense rounds run: fewer than ``n_rounds`` when stopped by ``tol``,
        0 when ``defense_strength=0`` (nothing to defend).
    n_samples_fit_ : int
        Rows the target was trained on.
    property_value_ : float
        The confidential property of the training data.
    """

    def __init__(
        self,
        estimator,
        confidential_property,
        *,
        access="black-box",
        defense_strength=1.0,
        n_rounds=10,
        n_shadow_models=64,
        approximate=True,
        tol=0.05,
        epochs_per_round=2,
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
        self.n_rounds = n_rounds
        self.n_shadow_models = n_shadow_models
        self.approximate = approximate
        self.tol = tol
        self.epochs_per_round = epochs_per_round
        self.shadow_size = shadow_size
        self.validation_fraction = validation_fraction
        self.meta_classifier = meta_classifier
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _int_params = (("n_rounds", 0), ("epochs_per_round", 1))

    def _defend(self, population, datasets, bins, groups, setup, rng):
        return run_arms_race(population, datasets, bins, groups, setup, rng)


def _step_size_hint(estimator):
    """How to shrink the base estimator's optimizer steps: [] or one sentence part."""
    params = estimator.get_params(deep=False)
    if params.get("learning_rate") == "optimal":  # SGDClassifier steps 1 / (alpha t)
        return [f"raise the base estimator's alpha (now {params['alpha']!r})"]
    for name in ("learning_rate_init", "eta0", "lr"):
        if name in params:
            return [f"lower the base estimator's {name} (now {params[name]!r})"]
    return []  # L-BFGS (LogisticRegression) chooses its own steps


def _validate_float32(estimator, *args, **kwargs):
    """``validate_data`` to float32; values beyond its range fail as non-finite."""
    with np.errstate(over="ignore"):  # the finite check names them, not numpy
        return validate_data(estimator, *args, dtype=np.float32, **kwargs)


def _rows(P, index):
    if hasattr(P, "iloc"):
        return P.iloc[index]
    if sparse.issparse(P):
        return P.tocsr()[index]
    return np.asarray(P)[index]
