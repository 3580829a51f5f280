"""How an attacker sees a model: black-box and white-box views.

A *view* turns every member of a population into one vector, and is
differentiable with respect to the members' parameters, so that a defense
can push views of different bins together.

- :class:`BlackBoxView`: the predicted probabilities on a fixed query set.
- :class:`WhiteBoxView`: the parameters, with the hidden units of each dense
  layer sorted by a canonical key. Reordering hidden units does not change
  a network's function, so an attacker who compares raw weights would see
  differences that mean nothing; sorting removes them (Ganju et al., CCS
  2018, "Property inference attacks on fully connected neural networks").

Each view proposes a default :class:`MetaClassifier`, the model that reads
the confidential property's bin off the views.
"""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .population import Population

__all__ = ["BlackBoxView", "MetaClassifier", "WhiteBoxView", "as_population"]


def as_population(models, *, device="cpu"):
    """A :class:`Population` from a population, or a list of fitted models."""
    if isinstance(models, Population):
        return models
    return Population.from_estimators(models, device=device)


class _View:
    def __call__(self, population, params=None):
        raise NotImplementedError

    def transform(self, models, *, device="cpu"):
        """Views of fitted models (or a population) as an ndarray ``(M, n_dims)``."""
        population = as_population(models, device=device)
        population._set_training(False)
        with torch.no_grad():
            return self(population).cpu().double().numpy()


class BlackBoxView(_View):
    """The members' predicted probabilities on fixed query rows.

    Parameters
    ----------
    query_X : array-like of shape (n_queries, n_features)
        Rows every member is asked about.

    Notes
    -----
    For ``k`` classes the view keeps the probabilities of classes 1..k-1
    (class 0 is implied), so it has ``n_queries * (k - 1)`` dimensions.
    """

    def __init__(self, query_X):
        self.query_X = query_X

    def __call__(self, population, params=None):
        """Views ``(n_members, n_queries * (n_classes - 1))``, differentiable."""
        proba = population.log_proba(self.query_X, params).exp()
        return proba[..., 1:].flatten(1)

    def default_meta_classifier(self, random_state=None):
        """An MLP over standardized probabilities."""
        return MetaClassifier(
            hidden_layer_sizes=(64,), alpha=1e-3, random_state=random_state
        )


class WhiteBoxView(_View):
    """The members' parameters in a permutation-invariant order.

    For a chain of dense layers (``MLPClassifier``, a skorch net built from
    ``nn.Linear`` layers) the hidden units of each layer are sorted by the
    squared norm of their incoming weights and bias, and the next layer's
    weights are permuted to match, which leaves the function unchanged. A
    linear model's view is its coefficients and intercept. Other skorch
    modules are flattened as they are (not permutation-invariant).
    """

    def __call__(self, population, params=None):
        """Views ``(n_members, n_parameters)``, differentiable."""
        params = population.params if params is None else params
        layers = population.adapter.dense_layers(params)
        if layers is None:
            return torch.cat([params[k].flatten(1) for k in sorted(params)], dim=1)
        return torch.cat(
            [t.flatten(1) for W, b in canonical_layers(layers) for t in (W, b)], dim=1
        )

    def default_meta_classifier(self, random_state=None):
        """An MLP over standardized sorted weights, more strongly regularized."""
        return MetaClassifier(
            hidden_layer_sizes=(64,), alpha=1e-2, random_state=random_state
        )


def canonical_layers(layers):
    """Sort the hidden units of a dense chain; function and gradients preserved.

    Parameters
    ----------
    layers : list of (W, b)
        ``W`` of shape ``(M, n_in, n_out)``, ``b`` of shape ``(M, n_out)``.

    Returns
    -------
    list of (W, b)
        The same layers with the units of every hidden layer in ascending
        order of ``||W[:, :, j]||^2 + b[:, j]^2``.
    """
    layers = list(layers)
    for i in range(len(layers) - 1):
        W, b = layers[i]
        key = W.detach().pow(2).sum(1) + b.detach().pow(2)
        order = key.argsort(dim=1)
        W = W.gather(2, order.unsqueeze(1).expand(-1, W.shape[1], -1))
        b = b.gather(1, order)
        W_next, b_next = layers[i + 1]
        W_next = W_next.gather(1, order.unsqueeze(2).expand(-1, -1, W_next.shape[2]))
        layers[i], layers[i + 1] = (W, b), (W_next, b_next)
    return layers


class MetaClassifier(ClassifierMixin, BaseEstimator):
    """A small torch MLP that reads a bin off standardized views.

    Its ``forward`` is differentiable, so a defense can train against it.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
    alpha : float, default=1e-3
        L2 weight decay.
    lr : float, default=1e-3
        Adam step size.
    max_epochs : int, default=300
        Full-batch Adam steps.
    warm_start : bool, default=False
        Continue from the previous fit's weights (same classes and features).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    module_ : torch.nn.Module
        The network, including the standardization of its input.
    """

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        alpha=1e-3,
        lr=1e-3,
        max_epochs=300,
        warm_start=False,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.lr = lr
        self.max_epochs = max_epochs
        self.warm_start = warm_start
        self.random_state = random_state

    def _check_params(self):
        sizes = self.hidden_layer_sizes
        if not isinstance(sizes, (tuple, list)):
            raise ValueError(
                f"hidden_layer_sizes must be a tuple of positive integers such as "
                f"(64,), got {sizes!r}."
            )
        if not all(isinstance(h, numbers.Integral) and h > 0 for h in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes!r}."
            )
        if not (isinstance(self.max_epochs, numbers.Integral) and self.max_epochs > 0):
            raise ValueError(
                f"max_epochs must be a positive integer, got {self.max_epochs!r}."
            )
        for name in ("alpha", "lr"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and value >= 0):
                raise ValueError(
                    f"{name} must be a non-negative number, got {value!r}."
                )

    def _build(self, n_features, n_classes, mean, scale):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            sizes = [n_features, *self.hidden_layer_sizes]
            layers = []
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
                layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
            layers.append(torch.nn.Linear(sizes[-1], n_classes))
            return _Standardized(mean, scale, torch.nn.Sequential(*layers))

    def fit(self, X, y):
        """Fit on views ``X`` of shape (n_models, n_dims) and bins ``y``."""
        self._check_params()
        previous_features = getattr(self, "n_features_in_", None)
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        classes = encoder.classes_
        warm = (
            self.warm_start
            and hasattr(self, "module_")
            and previous_features == X.shape[1]
            and np.array_equal(classes, self.classes_)
        )
        self.classes_ = classes
        codes = torch.as_tensor(encoder.transform(y), dtype=torch.long)
        X_t = torch.as_tensor(X)
        if not warm:
            mean = X_t.mean(0)
            scale = X_t.std(0, unbiased=False)
            scale = torch.where(scale > 1e-12, scale, torch.ones_like(scale))
            self.module_ = self._build(X.shape[1], max(len(classes), 2), mean, scale)
        if len(classes) < 2:
            return self
        optimizer = torch.optim.Adam(
            self.module_.parameters(), lr=self.lr, weight_decay=self.alpha
        )
        self.module_.train()
        for _ in range(self.max_epochs):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.module_(X_t), codes)
            loss.backward()
            optimizer.step()
        self.module_.eval()
        return self

    def forward(self, V):
        """Log-probabilities of the bins for views ``V`` (a tensor), differentiable."""
        check_is_fitted(self)
        return torch.log_softmax(self.module_(V.float()), dim=-1)[
            :, : len(self.classes_)
        ]

    def predict_proba(self, X):
        """Bin probabilities, shape (n_models, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1))
        with torch.no_grad():
            logp = self.forward(torch.as_tensor(X))
        proba = logp.exp().double().numpy()
        return proba / proba.sum(1, keepdims=True)

    def predict(self, X):
        """The most probable bin per model."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(1)]


class _Standardized(torch.nn.Module):
    def __init__(self, mean, scale, net):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)
        self.net = net

    def forward(self, V):
        return self.net((V - self.mean) / self.scale)
