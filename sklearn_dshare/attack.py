"""Confidential property inference attacks, as estimators over models.

All attacks here follow the shadow-model recipe (Ateniese et al. 2015;
Ganju et al. 2018): from auxiliary data of the same population, draw shadow
datasets whose property lies in known bins, train a shadow model on each
with the target's recipe, and learn to read the bin off a model.

- :class:`ResponsiveCPIAttack` reads the bin off a *view* of the model (its
  outputs on query rows, and for white-box access its sorted weights too)
  with a meta-classifier. Given the provider's ``defense``, it trains its
  shadows through that same defense first: the responsive attacker of
  D-S2HARE (Yang et al., arXiv 2509.16352), which breaks defenses tuned
  against a fixed attacker.
- :class:`MeanOutputAttack` thresholds the mean predicted probability over
  the query rows: a one-number attack that reads a default rate off a
  credit model's calibration.
- :class:`KLDivergenceAttack` compares a model's output distribution with
  the shadows' by KL divergence and lets pairs of shadows vote (in the style
  of Suri & Evans, "Formalizing and estimating distribution inference
  risks", PETS 2022).

These estimators take *models*, not rows: ``fit(X_aux, y_aux)`` builds the
shadows, and ``predict(models)`` takes a list of fitted estimators.
"""

import numbers
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array, check_is_fitted

from ._adapters import get_adapter
from ._atomic import atomic_fit
from .population import Population, check_device, member_seeds, train_population
from .properties import check_property
from .views import BlackBoxView, WhiteBoxView, as_population

__all__ = [
    "KLDivergenceAttack",
    "MeanOutputAttack",
    "ResponsiveCPIAttack",
    "classic_attacks",
]

ACCESS_MODES = ("black-box", "white-box")
RESPONSIVE_MODES = ("refit", "replicas")


def sample_shadow_datasets(
    confidential_property, X, y, n_datasets, size, random_state, *, replace=False
):
    """Shadow datasets balanced over the property's bins.

    Returns
    -------
    datasets : list of (X_i, y_i)
    bins : ndarray of shape (n_datasets,)
        Bin of each dataset: ``i % n_bins`` for the i-th, shuffled.
    """
    rng = check_random_state(random_state)
    n_bins = confidential_property.n_bins
    bins = rng.permutation(np.arange(n_datasets) % n_bins)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_datasets)
    datasets = []
    for b, seed in zip(bins, seeds):
        try:
            datasets.append(
                confidential_property.resample(
                    X, y, int(b), size, random_state=int(seed), replace=replace
                )
            )
        except ValueError as exc:
            raise ValueError(
                f"The auxiliary data cannot provide shadow datasets of {size} "
                f"rows in every bin: {exc}"
            ) from exc
    return datasets, bins


def _check_positive_int(value, name, minimum=1):
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < minimum
    ):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


class _ShadowAttack(BaseEstimator):
    """Shared fit machinery: validation, shadow datasets, the shadow population."""

    def _validate(self, X, y):
        get_adapter(self.estimator).recipe()  # unsupported recipes fail first
        n_bins = check_property(self.confidential_property).n_bins
        n_shadow = _check_positive_int(
            self.n_shadow_models, "n_shadow_models", 2 * n_bins
        )
        n_queries = _check_positive_int(self.n_queries, "n_queries")
        size = self._shadow_size()
        X = check_array(X, dtype=None, ensure_all_finite=True)
        with np.errstate(over="ignore"):  # values beyond float32 fail as non-finite
            check_array(X, dtype=np.float32, ensure_all_finite=True)
        y = np.asarray(y)
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)}.")
        self.device_ = check_device(self.device)
        return X, y, n_shadow, n_queries, size

    def _shadow_size(self):
        size = self.shadow_size
        defense = getattr(self, "defense", None)
        if size is None and defense is not None and hasattr(defense, "n_samples_fit_"):
            size = defense.n_samples_fit_
        if size is None:
            raise ValueError(
                "shadow_size is None and the target's training size is unknown; "
                "pass shadow_size (the number of rows the target was trained on)."
            )
        return _check_positive_int(size, "shadow_size")

    def _fit_shadows(self, X, y):
        """Sample shadow datasets, train the population; set fitted attributes."""
        X, y, n_shadow, n_queries, size = self._validate(X, y)
        rng = check_random_state(self.random_state)
        start = time.perf_counter()
        datasets, bins = sample_shadow_datasets(
            self.confidential_property, X, y, n_shadow, self._dataset_size(size), rng
        )
        # Distinct query rows when the data has enough of them.
        rows = rng.choice(X.shape[0], size=n_queries, replace=n_queries > X.shape[0])
        self.query_X_ = np.asarray(X[rows], dtype=np.float32)
        self.shadow_population_ = self._train_population(datasets, bins, rng)
        self.shadow_bins_ = bins
        self.classes_ = np.arange(self.confidential_property.n_bins)
        self.n_features_in_ = X.shape[1]
        self.shadow_seconds_ = time.perf_counter() - start
        return self

    def _train_population(self, datasets, bins, rng):
        return train_population(
            self.estimator,
            datasets,
            seeds=member_seeds(rng, len(datasets)),
            device=self.device_,
            n_jobs=self.n_jobs,
        )

    def _dataset_size(self, size):
        """Rows drawn per shadow dataset for shadows trained on ``size`` rows."""
        return size

    @property
    def shadow_models_(self):
        """The shadow models as fitted estimators of the target's type."""
        check_is_fitted(self, "shadow_population_")
        return self.shadow_population_.to_estimators()

    def _target_population(self, models):
        """Models as a population, checked against the shadows' architecture."""
        check_is_fitted(self, "shadow_population_")
        if isinstance(models, Population):
            population = models
        else:
            models = list(models)
            if not models:
                raise ValueError("models is empty; pass a list of fitted models.")
            expected = type(self.estimator)
            for i, model in enumerate(models):
                if not isinstance(model, expected):
                    raise ValueError(
                        f"Model {i} is a {type(model).__name__}, but the shadows "
                        f"are {expected.__name__}; attack models of the type the "
                        "attack was fitted for."
                    )
            population = as_population(models, device=self.device_)
        mine = {
            k: tuple(v.shape[1:]) for k, v in self.shadow_population_.params.items()
        }
        theirs = {k: tuple(v.shape[1:]) for k, v in population.params.items()}
        if mine != theirs:
            raise ValueError(
                f"The models have parameter shapes {theirs}, the shadows {mine}; "
                "the attack only reads models of the shadows' architecture."
            )
        return population

    def predict(self, models):
        """The most probable bin of each model, an int array."""
        proba = self.predict_proba(models)
        return self.classes_[proba.argmax(1)]

    def score(self, models, bins):
        """Accuracy of the predicted bins against the true ``bins``."""
        return accuracy_score(np.asarray(bins), self.predict(models))


class ResponsiveCPIAttack(_ShadowAttack):
    """Confidential property inference with a meta-classifier over shadow views.

    Parameters
    ----------
    estimator : estimator instance
        The target's recipe (unfitted), used for every shadow model.
    confidential_property : LabelRate, FeatureRate or FeatureMean
        The property and its bins; the attack predicts a bin index.
    access : {"black-box", "white-box"}, default="black-box"
        Black-box reads the predicted probabilities on query rows. White-box
        holds the weights *and* can query, so it reads both views.
    n_shadow_models : int, default=256
        Shadow models, balanced over the bins.
    shadow_size : int, default=None
        Rows per shadow dataset: the target's training size. None takes it
        from a fitted ``defense``, and is an error otherwise.
    n_queries : int, default=256
        Rows of the auxiliary data used as the black-box query set.
    meta_classifier : classifier, default=None
        Fitted on views; None uses each view's default
        (:class:`~sklearn_dshare.views.MetaClassifier`).
    defense : defense estimator, default=None
        None is the classic attack. A defense (``CPIRobustClassifier``, a
        baseline of :mod:`sklearn_dshare.baselines`, or anything with a
        ``defend_population`` method) makes the attack responsive: the
        shadows are trained through that defense, as the provider trains its
        model (Kerckhoffs: the attacker knows the defense).
    responsive_mode : {"refit", "replicas"}, default="refit"
        How the responsive attacker trains its shadows. "refit": each shadow
        is the target of its own fit of the defense on the shadow's dataset,
        exactly as the provider trains its model (one defended fit per
        shadow; slow). "replicas": the shadows are the members of a few
        defended populations trained side by side
        (``defense.defend_population``); much faster, but every member is
        then a resampled shadow, while the provider's target is trained on
        its own data among shadows resampled from it, and the attacker's
        view of the defense can be skewed (see ``docs/evaluation.md``).
    n_jobs : int, default=None
        Parallel joblib tasks training the shadows: chunks of the shadow
        population, or with a ``defense`` in "refit" mode one defended fit
        per task. None means 1 unless in a ``joblib.parallel_config``
        context; ``backend="dask"`` runs the tasks on a Dask cluster. The
        result does not depend on ``n_jobs``.
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_bins,)
        Bin indices.
    shadow_population_ : Population
        The shadow models, stacked.
    shadow_models_ : list of estimators
        The shadow models as fitted estimators.
    shadow_bins_ : ndarray of shape (n_shadow_models,)
    meta_classifier_ : classifier
        Fitted on the shadows' views.
    query_X_ : ndarray of shape (n_queries, n_features)
    n_features_in_ : int
    fit_seconds_ : float

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_dshare import LabelRate, ResponsiveCPIAttack, fit_population
    >>> from sklearn_dshare.datasets import make_credit_portfolio
    >>> X, y = make_credit_portfolio(4000, default_rate=0.3, random_state=0)
    >>> rate = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])
    >>> attack = ResponsiveCPIAttack(LogisticRegression(), rate, n_shadow_models=40,
    ...                              shadow_size=300, random_state=0).fit(X, y)
    >>> targets = [fit_population(LogisticRegression(),
    ...            [rate.resample(X, y, b, 300, random_state=10 + b)])[0]
    ...            for b in (0, 1)]
    >>> attack.predict(targets).tolist()
    [0, 1]
    """

    def __init__(
        self,
        estimator,
        confidential_property,
        *,
        access="black-box",
        n_shadow_models=256,
        shadow_size=None,
        n_queries=256,
        meta_classifier=None,
        defense=None,
        responsive_mode="refit",
        n_jobs=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.confidential_property = confidential_property
        self.access = access
        self.n_shadow_models = n_shadow_models
        self.shadow_size = shadow_size
        self.n_queries = n_queries
        self.meta_classifier = meta_classifier
        self.defense = defense
        self.responsive_mode = responsive_mode
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _views(self):
        if self.access not in ACCESS_MODES:
            raise ValueError(
                f"access must be one of {ACCESS_MODES}, got {self.access!r}."
            )
        views = [BlackBoxView(self.query_X_)]
        if self.access == "white-box":
            views.append(WhiteBoxView())
        return views

    def transform(self, models):
        """The attack's view of each model, ndarray ``(n_models, n_dims)``."""
        population = self._target_population(models)
        return np.hstack([view.transform(population) for view in self._views()])

    @atomic_fit
    def fit(self, X, y):
        """Build the shadow population from auxiliary data and fit the meta-classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The attacker's auxiliary data, disjoint from the provider's.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : ResponsiveCPIAttack
        """
        start = time.perf_counter()
        if self.access not in ACCESS_MODES:
            raise ValueError(
                f"access must be one of {ACCESS_MODES}, got {self.access!r}."
            )
        self._fit_shadows(X, y)
        views = self.transform(self.shadow_population_)
        meta = self.meta_classifier
        if meta is None:
            meta = self._views()[-1].default_meta_classifier(
                random_state=check_random_state(self.random_state).randint(2**31 - 1)
            )
        self.meta_classifier_ = clone(meta).fit(views, self.shadow_bins_)
        self.fit_seconds_ = time.perf_counter() - start
        if self.verbose:
            kind = "classic" if self.defense is None else "responsive"
            print(
                f"{kind} {self.access} attack: {len(self.shadow_bins_)} shadows in "
                f"{self.shadow_seconds_:.1f} s, views of {views.shape[1]} dims, "
                f"fitted in {self.fit_seconds_:.1f} s",
                flush=True,
            )
        return self

    def _dataset_size(self, size):
        if self.defense is None or self.responsive_mode != "refit":
            return size
        # A defended fit holds out validation rows: draw enough rows that each
        # shadow's model trains on `size` of them, as the target did.
        held_out = getattr(self.defense, "validation_fraction", 0.0) or 0.0
        return int(np.ceil(size / (1.0 - held_out)))

    def _train_population(self, datasets, bins, rng):
        if self.defense is None:
            return super()._train_population(datasets, bins, rng)
        if self.responsive_mode not in RESPONSIVE_MODES:
            raise ValueError(
                f"responsive_mode must be one of {RESPONSIVE_MODES}, got "
                f"{self.responsive_mode!r}."
            )
        defense = clone(self.defense).set_params(estimator=self.estimator)
        if self.responsive_mode == "replicas":
            return defense.defend_population(
                datasets, bins, random_state=rng, device=self.device_
            )
        # "refit": every shadow is the target of its own defended fit, exactly
        # as the provider trains its model (its own shadows resampled from its
        # own data), so the attacker sees the defense as the target went
        # through it.
        # The fits are independent joblib tasks (a Dask cluster runs them
        # under joblib.parallel_config(backend="dask")).
        seeds = member_seeds(rng, len(datasets))
        shadows = Parallel(n_jobs=self.n_jobs)(
            delayed(_defended_shadow)(defense, X_i, y_i, int(seed))
            for (X_i, y_i), seed in zip(datasets, seeds)
        )
        return Population.from_estimators(shadows, device=self.device_)

    def predict_proba(self, models):
        """Bin probabilities of each model, shape ``(n_models, n_bins)``."""
        check_is_fitted(self, "meta_classifier_")
        return _align_proba(
            self.meta_classifier_, self.transform(models), len(self.classes_)
        )


def _defended_shadow(defense, X, y, seed):
    """The model one fit of ``defense`` on ``(X, y)`` would share."""
    fit = clone(defense).set_params(random_state=seed)
    if "verbose" in fit.get_params():
        fit.set_params(verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fits' leak warnings
        return fit.fit(X, y).estimator_


def _align_proba(classifier, V, n_bins):
    # A meta-classifier fitted on a subset of bins still answers for all.
    proba = np.zeros((V.shape[0], n_bins))
    proba[:, classifier.classes_] = classifier.predict_proba(V)
    return proba


class _OutputAttack(_ShadowAttack):
    """Attacks that read only the outputs on query rows: no meta-classifier."""

    def __init__(
        self,
        estimator,
        confidential_property,
        *,
        n_shadow_models=256,
        shadow_size=None,
        n_queries=256,
        n_jobs=None,
        device="cpu",
        random_state=None,
    ):
        self.estimator = estimator
        self.confidential_property = confidential_property
        self.n_shadow_models = n_shadow_models
        self.shadow_size = shadow_size
        self.n_queries = n_queries
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state


class MeanOutputAttack(_OutputAttack):
    """Threshold attack on the mean predicted probability over query rows.

    The statistic a credit model leaks most plainly: its mean predicted
    default probability tracks the portfolio's default rate. A one-feature
    logistic regression on that mean, fitted on shadows, sets the
    thresholds between bins.

    Parameters
    ----------
    estimator, confidential_property, n_shadow_models, shadow_size, \
n_queries, n_jobs, device, random_state
        As in :class:`ResponsiveCPIAttack`.

    Attributes
    ----------
    classes_, shadow_population_, shadow_bins_, query_X_, n_features_in_
        As in :class:`ResponsiveCPIAttack`.
    threshold_classifier_ : Pipeline
        Standardizes the mean output and fits a logistic regression.
    """

    def _statistic(self, models):
        population = self._target_population(models)
        proba = population.predict_proba(self.query_X_)  # (M, q, k)
        return proba[..., 1:].mean(1)

    @atomic_fit
    def fit(self, X, y):
        """Train the shadows on auxiliary data and fit the thresholds."""
        from sklearn.pipeline import make_pipeline

        self._fit_shadows(X, y)
        self.threshold_classifier_ = make_pipeline(
            StandardScaler(), LogisticRegression(C=1e4, max_iter=1000)
        ).fit(self._statistic(self.shadow_population_), self.shadow_bins_)
        return self

    def predict_proba(self, models):
        """Bin probabilities of each model, shape ``(n_models, n_bins)``."""
        check_is_fitted(self, "threshold_classifier_")
        return _align_proba(
            self.threshold_classifier_, self._statistic(models), len(self.classes_)
        )


class KLDivergenceAttack(_OutputAttack):
    """Pairwise KL-divergence votes between shadows of different bins.

    For each pair of shadows from bins ``a`` and ``b``, the model votes for
    the bin of the shadow whose predictions on the query rows are closer to
    its own in KL divergence (averaged over rows). The bin probabilities are
    the shares of the votes.

    Parameters
    ----------
    estimator, confidential_property, n_shadow_models, shadow_size, \
n_queries, n_jobs, device, random_state
        As in :class:`ResponsiveCPIAttack`.
    """

    @atomic_fit
    def fit(self, X, y):
        """Train the shadows on auxiliary data and store their predictions."""
        self._fit_shadows(X, y)
        self.shadow_proba_ = self.shadow_population_.predict_proba(self.query_X_)
        return self

    def predict_proba(self, models):
        """Vote shares per bin, shape ``(n_models, n_bins)``."""
        check_is_fitted(self, "shadow_proba_")
        proba = self._target_population(models).predict_proba(self.query_X_)
        kl = _mean_kl(proba, self.shadow_proba_)  # (n_models, n_shadows)
        n_bins = len(self.classes_)
        votes = np.zeros((len(proba), n_bins))
        for a in range(n_bins):
            for b in range(a + 1, n_bins):
                d_a = kl[:, self.shadow_bins_ == a]
                d_b = kl[:, self.shadow_bins_ == b]
                # Share of (a, b) shadow pairs in which a's shadow is closer.
                closer_a = (d_a[:, :, None] < d_b[:, None, :]).mean((1, 2))
                votes[:, a] += closer_a
                votes[:, b] += 1 - closer_a
        return votes / votes.sum(1, keepdims=True)


def _mean_kl(p, q, eps=1e-7):
    """Mean over rows of KL(p_i || q_j): ``p (n, r, k)``, ``q (m, r, k)`` -> (n, m)."""
    p = torch.as_tensor(np.clip(p, eps, 1.0))
    q = torch.as_tensor(np.clip(q, eps, 1.0))
    # KL(p||q) = sum p log p - sum p log q, averaged over the r query rows.
    entropy_term = (p * p.log()).sum(-1).mean(-1)  # (n,)
    cross = torch.einsum("irk,jrk->ij", p, q.log()) / p.shape[1]
    return (entropy_term[:, None] - cross).numpy()


def classic_attacks(estimator, confidential_property, **params):
    """The four classic attacks of a model audit, by name, unfitted.

    Meta-classifiers on the black-box and on the white-box view, the
    mean-output threshold and the KL-divergence votes, all with the same
    ``params`` (``n_shadow_models``, ``shadow_size``, ``random_state``, ...).
    """
    return {
        "black-box meta-classifier": ResponsiveCPIAttack(
            estimator, confidential_property, access="black-box", **params
        ),
        "white-box meta-classifier": ResponsiveCPIAttack(
            estimator, confidential_property, access="white-box", **params
        ),
        "mean output threshold": MeanOutputAttack(
            estimator, confidential_property, **params
        ),
        "KL divergence votes": KLDivergenceAttack(
            estimator, confidential_property, **params
        ),
    }
