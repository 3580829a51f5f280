"""Base estimators <-> stacked, differentiable torch models.

An adapter knows one family of base estimators. It reads the training
recipe off an unfitted estimator, initializes the parameters of many
members at once (each tensor has a leading *member* axis), computes their
log-probabilities with batched matmuls or ``torch.func.vmap``, and writes
one member's parameters back into a fitted estimator of the same type that
predicts what the torch model predicts.

Supported families: scikit-learn ``MLPClassifier``, ``LogisticRegression``,
``SGDClassifier(loss="log_loss")`` and skorch ``NeuralNetClassifier`` with
any torch module whose forward is a pure function of its input.
"""

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer

SUPPORTED_ESTIMATORS = (
    "sklearn.neural_network.MLPClassifier (solver 'adam' or 'sgd'), "
    "sklearn.linear_model.LogisticRegression (L2 penalty or none), "
    "sklearn.linear_model.SGDClassifier(loss='log_loss'), "
    "skorch.NeuralNetClassifier (any torch module without batch norm)"
)


@dataclass
class Recipe:
    """How one member is trained: optimizer, step size, epochs, batches.

    ``l2`` is the coefficient of ``0.5 * l2 * ||weights||^2 / n_rows`` added to
    a member's mean loss over ``n_rows`` rows (scikit-learn's convention for
    ``alpha`` and ``1 / C``). Members stop early, one by one, when their epoch
    loss has not improved by ``tol`` for ``n_iter_no_change`` epochs
    (``tol=None`` never stops early).
    """

    optimizer: str  # "adam", "sgd" or "lbfgs" (full batch)
    lr: float
    epochs: int
    batch_size: int | None  # None: min(200, n_rows), scikit-learn's "auto"
    l2: float = 0.0
    optimizer_kwargs: dict = field(default_factory=dict)
    tol: float | None = None
    n_iter_no_change: int = 10
    lr_schedule: str = "constant"  # "constant" or "optimal" (SGDClassifier)
    weight_decay: float = 0.0  # torch-style; decoupled for AdamW
    shuffle: bool = True


class _Adapter:
    """Interface shared by all adapters; ``params`` maps names to stacked tensors."""

    estimator_type = None

    def __init__(self, estimator):
        self.estimator = estimator

    # -- what subclasses provide ------------------------------------------
    def recipe(self):
        raise NotImplementedError

    def init_params(self, n_features, n_classes, seeds):
        raise NotImplementedError

    def forward(self, params, X):
        """Log-probabilities ``(M, n, n_classes)`` of rows ``X``.

        ``X`` is ``(n, n_features)`` (the same rows for every member) or
        ``(M, n, n_features)`` (each member its own rows).
        """
        raise NotImplementedError

    def penalized(self, params):
        """Names of the parameters that the L2 term ``recipe().l2`` covers."""
        return [name for name in params if name.startswith("coef")]

    def to_estimator(self, params, classes, n_features, n_iter):
        """A fitted estimator from one member's parameters (no member axis)."""
        raise NotImplementedError

    def from_estimator(self, fitted):
        """One member's parameters (no member axis) read off a fitted estimator."""
        raise NotImplementedError

    def dense_layers(self, params):
        """The dense chain ``[(W (M, in, out), b (M, out)), ...]``, or None.

        None when the model is not a chain of dense layers, whose hidden units
        could be permuted without changing the function.
        """
        return None

    # -- shared helpers ----------------------------------------------------
    def _seeded(self, seed):
        generator = torch.Generator()
        generator.manual_seed(int(seed))
        return generator


def _uniform(shape, bound, generator):
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound


def _binary_log_proba(logit):
    # One logit per row (scikit-learn's binary models): [log(1-p), log(p)].
    return torch.cat([F.logsigmoid(-logit), F.logsigmoid(logit)], dim=-1)


def _dense(X, W, b):
    # X (n, in) shared by all members or (M, n, in); W (M, in, out); b (M, out).
    if X.dim() == 3:
        return torch.baddbmm(b.unsqueeze(1), X, W)
    return torch.matmul(X, W) + b.unsqueeze(1)


# --------------------------------------------------------------------------
# scikit-learn MLPClassifier
# --------------------------------------------------------------------------

_ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "logistic": torch.sigmoid,
    "identity": lambda h: h,
}


class MLPAdapter(_Adapter):
    """``MLPClassifier``: Glorot-uniform init, adam or sgd, L2 ``alpha``."""

    estimator_type = MLPClassifier

    def _layer_sizes(self, n_features, n_classes):
        hidden = self.estimator.hidden_layer_sizes
        hidden = [hidden] if np.isscalar(hidden) else list(hidden)
        n_out = 1 if n_classes == 2 else n_classes
        return [n_features, *hidden, n_out]

    def recipe(self):
        est = self.estimator
        if est.solver not in ("adam", "sgd"):
            raise ValueError(
                f"MLPClassifier(solver={est.solver!r}) cannot be trained as a "
                "population; use solver='adam' (the default) or 'sgd'."
            )
        if est.early_stopping:
            raise ValueError(
                "MLPClassifier(early_stopping=True) holds out a validation set "
                "that the population engine does not reproduce; set "
                "early_stopping=False."
            )
        if est.solver == "sgd" and est.learning_rate != "constant":
            raise ValueError(
                f"MLPClassifier(learning_rate={est.learning_rate!r}) is not "
                "supported; use learning_rate='constant' with solver='sgd'."
            )
        if est.solver == "adam":
            kwargs = {"betas": (est.beta_1, est.beta_2), "eps": est.epsilon}
        else:
            kwargs = {"momentum": est.momentum, "nesterov": est.nesterovs_momentum}
        return Recipe(
            optimizer=est.solver,
            lr=est.learning_rate_init,
            epochs=est.max_iter,
            batch_size=None if est.batch_size == "auto" else int(est.batch_size),
            l2=est.alpha,
            optimizer_kwargs=kwargs,
            tol=est.tol,
            # MLPClassifier stops after *more than* n_iter_no_change epochs.
            n_iter_no_change=est.n_iter_no_change + 1,
            shuffle=est.shuffle,
        )

    def init_params(self, n_features, n_classes, seeds):
        sizes = self._layer_sizes(n_features, n_classes)
        # scikit-learn's Glorot-uniform bound, wider for the logistic activation.
        factor = 2.0 if self.estimator.activation == "logistic" else 6.0
        params = {}
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = math.sqrt(factor / (fan_in + fan_out))
            Ws, bs = [], []
            for seed in seeds:
                gen = self._seeded(seed + 7919 * layer)
                Ws.append(_uniform((fan_in, fan_out), bound, gen))
                bs.append(_uniform((fan_out,), bound, gen))
            params[f"coef_{layer}"] = torch.stack(Ws).float()
            params[f"intercept_{layer}"] = torch.stack(bs).float()
        return params

    def _n_layers(self, params):
        return sum(1 for name in params if name.startswith("coef_"))

    def forward(self, params, X):
        activation = _ACTIVATIONS[self.estimator.activation]
        n_layers = self._n_layers(params)
        h = X
        for layer in range(n_layers):
            h = _dense(h, params[f"coef_{layer}"], params[f"intercept_{layer}"])
            if layer < n_layers - 1:
                h = activation(h)
        if h.shape[-1] == 1:
            return _binary_log_proba(h)
        return torch.log_softmax(h, dim=-1)

    def dense_layers(self, params):
        return [
            (params[f"coef_{layer}"], params[f"intercept_{layer}"])
            for layer in range(self._n_layers(params))
        ]

    def to_estimator(self, params, classes, n_features, n_iter):
        est = clone(self.estimator)
        n_layers = self._n_layers(params)
        est.coefs_ = [_numpy64(params[f"coef_{i}"]) for i in range(n_layers)]
        est.intercepts_ = [_numpy64(params[f"intercept_{i}"]) for i in range(n_layers)]
        est.n_layers_ = n_layers + 1
        est.n_outputs_ = est.coefs_[-1].shape[1]
        est.out_activation_ = "logistic" if est.n_outputs_ == 1 else "softmax"
        est.classes_ = np.asarray(classes)
        est._label_binarizer = LabelBinarizer().fit(classes)
        est.n_features_in_ = n_features
        est.n_iter_ = n_iter
        est.t_ = 0
        est.loss_curve_ = []
        # What scikit-learn needs to continue training (partial_fit, warm_start).
        est.best_loss_ = np.inf
        est._no_improvement_count = 0
        return est

    def from_estimator(self, fitted):
        params = {}
        for i, (W, b) in enumerate(zip(fitted.coefs_, fitted.intercepts_)):
            params[f"coef_{i}"] = torch.as_tensor(W, dtype=torch.float32)
            params[f"intercept_{i}"] = torch.as_tensor(b, dtype=torch.float32)
        return params


# --------------------------------------------------------------------------
# scikit-learn linear models
# --------------------------------------------------------------------------


class _LinearAdapter(_Adapter):
    """A linear logit: ``coef (M, n_features, n_out)`` and ``intercept (M, n_out)``."""

    def init_params(self, n_features, n_classes, seeds):
        n_out = 1 if n_classes == 2 else n_classes
        M = len(seeds)
        # Convex problems: start at zero, as scikit-learn's solvers do.
        return {
            "coef": torch.zeros(M, n_features, n_out),
            "intercept": torch.zeros(M, n_out),
        }

    def forward(self, params, X):
        logit = _dense(X, params["coef"], params["intercept"])
        if not self.estimator.fit_intercept:
            logit = logit - params["intercept"].unsqueeze(1)
        if logit.shape[-1] == 1:
            return _binary_log_proba(logit)
        return torch.log_softmax(logit, dim=-1)

    def dense_layers(self, params):
        return [(params["coef"], params["intercept"])]

    def to_estimator(self, params, classes, n_features, n_iter):
        est = clone(self.estimator)
        est.coef_ = _numpy64(params["coef"]).T.copy()
        intercept = _numpy64(params["intercept"])
        est.intercept_ = intercept if est.fit_intercept else np.zeros_like(intercept)
        est.classes_ = np.asarray(classes)
        est.n_features_in_ = n_features
        est.n_iter_ = np.asarray([n_iter], dtype=np.int32)
        return est

    def from_estimator(self, fitted):
        return {
            "coef": torch.as_tensor(np.asarray(fitted.coef_).T, dtype=torch.float32),
            "intercept": torch.as_tensor(
                np.atleast_1d(fitted.intercept_), dtype=torch.float32
            ),
        }


class LogisticRegressionAdapter(_LinearAdapter):
    """``LogisticRegression``: full-batch L-BFGS on mean log loss + L2 / (2 C n)."""

    estimator_type = LogisticRegression

    def recipe(self):
        est = self.estimator
        penalty = getattr(est, "penalty", "l2")
        l1_ratio = getattr(est, "l1_ratio", None) or 0.0
        if penalty in ("l1", "elasticnet") or (penalty != "l2" and l1_ratio > 0):
            raise ValueError(
                f"LogisticRegression(penalty={penalty!r}, l1_ratio={l1_ratio}) is "
                "not differentiable everywhere; use an L2 penalty (l1_ratio=0)."
            )
        if est.class_weight is not None:
            raise ValueError(
                "LogisticRegression(class_weight=...) is not supported by the "
                "population engine; use class_weight=None."
            )
        no_penalty = penalty is None or not np.isfinite(est.C)
        return Recipe(
            optimizer="lbfgs",
            lr=1.0,
            epochs=est.max_iter,
            batch_size=None,
            l2=0.0 if no_penalty else 1.0 / est.C,
            tol=None,
        )

    def penalized(self, params):
        return ["coef"]


class SGDAdapter(_LinearAdapter):
    """``SGDClassifier(loss="log_loss")``: plain SGD on rows one at a time."""

    estimator_type = SGDClassifier

    def recipe(self):
        est = self.estimator
        if est.loss != "log_loss":
            raise ValueError(
                f"SGDClassifier(loss={est.loss!r}) has no probabilities to attack "
                "or defend; use loss='log_loss'."
            )
        if est.penalty not in ("l2", None):
            raise ValueError(
                f"SGDClassifier(penalty={est.penalty!r}) is not supported; use "
                "penalty='l2' or None."
            )
        if est.learning_rate not in ("optimal", "constant"):
            raise ValueError(
                f"SGDClassifier(learning_rate={est.learning_rate!r}) is not "
                "supported; use 'optimal' (the default) or 'constant'."
            )
        if est.class_weight is not None or est.early_stopping or est.average:
            raise ValueError(
                "SGDClassifier with class_weight, early_stopping or average is "
                "not supported; leave them at their defaults."
            )
        alpha = est.alpha if est.penalty == "l2" else 0.0
        return Recipe(
            optimizer="sgd",
            lr=est.eta0 if est.learning_rate == "constant" else est.alpha,
            epochs=est.max_iter,
            batch_size=1,
            # SGDClassifier's per-row objective is loss + alpha / 2 ||w||^2.
            l2=alpha,
            tol=est.tol,
            n_iter_no_change=est.n_iter_no_change,
            lr_schedule=est.learning_rate,
            shuffle=est.shuffle,
        )

    def init_params(self, n_features, n_classes, seeds):
        if n_classes > 2:
            raise ValueError(
                "SGDClassifier is fitted one-vs-rest for more than two classes, "
                "which the population engine does not reproduce; use two "
                "classes, LogisticRegression or MLPClassifier."
            )
        return super().init_params(n_features, n_classes, seeds)

    def to_estimator(self, params, classes, n_features, n_iter):
        est = super().to_estimator(params, classes, n_features, n_iter)
        est.n_iter_ = n_iter
        est.t_ = 0.0
        return est


# --------------------------------------------------------------------------
# skorch NeuralNetClassifier
# --------------------------------------------------------------------------


class SkorchAdapter(_Adapter):
    """skorch ``NeuralNetClassifier``: ``vmap`` over ``functional_call``."""

    def __init__(self, estimator):
        super().__init__(estimator)
        self._template = None

    @property
    def estimator_type(self):
        from skorch import NeuralNetClassifier

        return NeuralNetClassifier

    def _net(self):
        # One initialized copy of the net gives the module's structure.
        if self._template is None:
            net = clone(self.estimator)
            with torch.random.fork_rng(devices=[]):  # leave the caller's RNG alone
                net.initialize()
            for sub in net.module_.modules():
                if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
                    raise TypeError(
                        "skorch modules with batch normalization update their "
                        "buffers in place and cannot be trained as a population; "
                        "remove BatchNorm layers (LayerNorm works)."
                    )
            self._template = net
        return self._template

    def recipe(self):
        net = self.estimator
        opt = net.optimizer
        kwargs = dict(net.get_params_for("optimizer"))
        lr = kwargs.pop("lr", net.lr)
        if opt is torch.optim.SGD:
            name = "sgd"
            supported = {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}
        elif opt in (torch.optim.Adam, torch.optim.AdamW):
            name = "adam"
            supported = {
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0.01 if opt is torch.optim.AdamW else 0.0,
            }
        else:
            raise ValueError(
                f"skorch optimizer {getattr(opt, '__name__', opt)} is not supported "
                "by the population engine; use torch.optim.SGD, Adam or AdamW."
            )
        unknown = sorted(set(kwargs) - set(supported))
        if unknown:
            raise ValueError(
                f"optimizer settings {unknown} of {opt.__name__} are not supported "
                f"by the population engine; it honours {sorted(supported)}."
            )
        kwargs = {**supported, **kwargs}
        weight_decay = kwargs.pop("weight_decay")
        kwargs["decoupled"] = opt is torch.optim.AdamW
        return Recipe(
            optimizer=name,
            lr=lr,
            epochs=net.max_epochs,
            batch_size=int(net.batch_size) if net.batch_size > 0 else None,
            optimizer_kwargs=kwargs,
            weight_decay=weight_decay,
            # skorch shuffles only when asked; its training split is not
            # reproduced (members train on all their rows).
            shuffle=bool(net.get_params_for("iterator_train").get("shuffle", False)),
        )

    def _materialize(self, n_features, n_classes):
        """Run one row through the template: sizes lazy layers, checks the output."""
        module = self._net().module_
        training = module.training
        module.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            try:
                out = module(torch.zeros(1, n_features))
            except RuntimeError as exc:
                raise ValueError(
                    f"The skorch module cannot take rows of {n_features} features: "
                    f"{exc}. Make its first layer take {n_features} inputs (or "
                    "use torch.nn.LazyLinear)."
                ) from exc
        module.train(training)
        if out.dim() != 2 or out.shape[1] != n_classes:
            raise ValueError(
                f"The skorch module must return one score per class, shape (n, "
                f"{n_classes}) for {n_classes} classes; it returned shape "
                f"{tuple(out.shape)}. Change its output layer to {n_classes} units."
            )
        return module

    def init_params(self, n_features, n_classes, seeds):
        template = self._materialize(n_features, n_classes)
        members = []
        for seed in seeds:
            module = copy.deepcopy(template)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                for sub in module.modules():
                    if hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
            members.append(
                {name: p.detach().float() for name, p in module.named_parameters()}
            )
        return {name: torch.stack([m[name] for m in members]) for name in members[0]}

    def _uses_nll(self):
        return isinstance(self._net().criterion_, torch.nn.NLLLoss)

    def forward(self, params, X):
        from torch.func import functional_call, vmap

        module = self._net().module_

        def call(member_params, x):
            return functional_call(module, member_params, (x,))

        in_dims = (0, 0) if X.dim() == 3 else (0, None)
        out = vmap(call, in_dims=in_dims, randomness="different")(params, X)
        if out.dim() != 3:
            raise ValueError(
                "The skorch module must return one score per class for each "
                f"row (shape (n, n_classes)); it returned shape {tuple(out.shape[1:])}."
            )
        if self._uses_nll():
            # The module returns probabilities; skorch logs them the same way.
            return torch.log(out + torch.finfo(out.dtype).eps)
        return torch.log_softmax(out, dim=-1)

    def penalized(self, params):
        return []

    def set_training(self, training):
        self._net().module_.train(training)

    def dense_layers(self, params):
        # A chain of Linear layers in registration order, each feeding the next.
        module = self._net().module_
        linears = [
            (name, sub)
            for name, sub in module.named_modules()
            if isinstance(sub, torch.nn.Linear)
        ]
        weights = [p for p in params if p.endswith("weight")]
        if not linears or len(weights) != len(linears):
            return None
        layers = []
        for name, sub in linears:
            prefix = f"{name}." if name else ""
            W = params[f"{prefix}weight"].transpose(1, 2)
            if sub.bias is None:
                b = W.new_zeros(W.shape[0], W.shape[2])
            else:
                b = params[f"{prefix}bias"]
            layers.append((W, b))
        chained = all(
            a[0].shape[2] == b[0].shape[1] for a, b in zip(layers[:-1], layers[1:])
        )
        return layers if chained else None

    def to_estimator(self, params, classes, n_features, n_iter):
        net = clone(self.estimator)
        with torch.random.fork_rng(devices=[]):
            net.initialize()
            if any(
                isinstance(p, torch.nn.parameter.UninitializedParameter)
                for p in net.module_.parameters()
            ):
                net.module_.eval()
                with torch.no_grad():
                    net.module_(torch.zeros(1, n_features))
        net.module_.load_state_dict(
            {name: p.detach().cpu() for name, p in params.items()}, strict=False
        )
        net.classes_inferred_ = np.asarray(classes)
        return net

    def from_estimator(self, fitted):
        return {
            name: p.detach().float().cpu()
            for name, p in fitted.module_.named_parameters()
        }


def _numpy64(tensor):
    return tensor.detach().cpu().double().numpy()


def _is_skorch_classifier(estimator):
    try:
        from skorch import NeuralNetClassifier
    except ImportError:  # pragma: no cover - skorch is a core dependency
        return False
    return isinstance(estimator, NeuralNetClassifier)


def get_adapter(estimator):
    """The adapter for ``estimator``; TypeError naming the supported types."""
    if isinstance(estimator, type):
        name = estimator.__name__
        raise TypeError(
            f"estimator must be an estimator instance such as {name}(), not the "
            f"class {name}."
        )
    if isinstance(estimator, Pipeline):
        raise TypeError(
            "A Pipeline cannot be the base estimator: the population engine "
            "trains one differentiable classifier. Pass the pipeline's final "
            "classifier and put the defense inside the pipeline instead, e.g. "
            "make_pipeline(StandardScaler(), CPIRobustClassifier(MLPClassifier(), "
            "...))."
        )
    if isinstance(estimator, MLPClassifier):
        return MLPAdapter(estimator)
    if isinstance(estimator, LogisticRegression):
        return LogisticRegressionAdapter(estimator)
    if isinstance(estimator, SGDClassifier):
        return SGDAdapter(estimator)
    if _is_skorch_classifier(estimator):
        return SkorchAdapter(estimator)
    raise TypeError(
        f"{type(estimator).__name__} is not differentiable, so its training "
        f"cannot carry a privacy loss. Supported base estimators: "
        f"{SUPPORTED_ESTIMATORS}."
    )
