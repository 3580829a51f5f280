"""Train many same-architecture models as one population.

Attack and defense both need hundreds of *shadow models* that share one
architecture and differ only in their data and their seed. Training them one
by one spends most of the time in Python; here their parameters are stacked
along a leading *member* axis and every optimizer step updates all members
with a few batched matmuls.

Each member keeps its own recipe: its own initialization seed, its own
shuffling, its own batches of its own dataset (datasets may differ in
size), its own epoch count and early stopping. Members that have finished an
epoch early, or stopped, are masked out of the update, so a member trains
exactly as it would alone.
"""

import math
import numbers

import numpy as np
import torch
from joblib import effective_n_jobs
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array, check_consistent_length

from ._adapters import get_adapter

__all__ = ["Population", "fit_population"]

# A chunk holds at most this many (member, row) pairs of training data, which
# bounds the memory of the epoch's index tensors and of the stacked data.
_MAX_CHUNK_ROWS = 10_000_000


def check_device(device):
    """``torch.device`` for ``device``; a clear error when it is unavailable."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu' or 'cuda'."
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but torch sees no CUDA GPU on "
            "this machine; use device='cpu'."
        )
    return device


def member_seeds(random_state, n_members):
    """One 31-bit seed per member; member i's seed does not depend on n_members."""
    rng = check_random_state(random_state)
    return rng.randint(np.iinfo(np.int32).max, size=n_members)


def _check_dataset(i, X, y, n_features):
    try:
        X = check_array(X, dtype=np.float32, ensure_min_samples=1)
    except ValueError as exc:
        raise ValueError(f"Dataset {i}: {exc}") from exc
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"Dataset {i}: y must be 1-D, got shape {y.shape}.")
    check_consistent_length(X, y)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"Dataset {i} has {X.shape[1]} features, but the population expects "
            f"{n_features}; every dataset must have the same columns."
        )
    return X, y


class _Data:
    """Members' datasets flattened into one tensor, with offsets and sizes."""

    def __init__(self, datasets, classes, n_features, device):
        checked = [
            _check_dataset(i, X, y, n_features) for i, (X, y) in enumerate(datasets)
        ]
        unknown = np.setdiff1d(np.concatenate([y for _, y in checked]), classes)
        if unknown.size:
            raise ValueError(
                f"Labels {unknown.tolist()} are not among the population's classes "
                f"{list(classes)}."
            )
        self.sizes = np.array([len(y) for _, y in checked])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.X = torch.as_tensor(np.concatenate([X for X, _ in checked])).to(device)
        codes = np.searchsorted(classes, np.concatenate([y for _, y in checked]))
        self.y = torch.as_tensor(codes, dtype=torch.long).to(device)


def _population_classes(datasets):
    labels = np.unique(np.concatenate([np.asarray(y) for _, y in datasets]))
    if labels.size < 2:
        raise ValueError(
            f"The datasets hold a single class ({labels.tolist()}); a classifier "
            "needs at least two."
        )
    return labels


class _MaskedOptimizer:
    """Adam or SGD over stacked parameters; masked members are left untouched.

    ``step(active)`` takes a boolean host array of shape ``(M,)``; an
    inactive member keeps its parameters, moments and step count, so it
    trains exactly as it would on its own schedule. When every member is
    active at the same step count (the common case), one fused update with
    scalar coefficients replaces the masked one.
    """

    def __init__(self, params, recipe, n_members, device):
        self.params = params
        self.recipe = recipe
        self.kwargs = recipe.optimizer_kwargs
        self.device = device
        self.t = np.zeros(n_members)
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        if recipe.lr_schedule == "optimal":
            # SGDClassifier's "optimal" schedule: eta_t = 1 / (alpha (t0 + t - 1)).
            typw = math.sqrt(1.0 / math.sqrt(recipe.lr))
            self.t0 = 1.0 / (typw * recipe.lr)

    def _step_sizes(self):
        """Per-member step size after this step's count, a float64 host array."""
        if self.recipe.lr_schedule == "optimal":
            lr = 1.0 / (self.recipe.lr * (self.t0 + self.t - 1.0))
        else:
            lr = np.full_like(self.t, self.recipe.lr)
        if self.recipe.optimizer == "adam":
            b1, b2 = self.kwargs.get("betas", (0.9, 0.999))
            t = np.maximum(self.t, 1.0)
            lr = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return lr

    @torch.no_grad()
    def step(self, active):
        self.t += active
        lr = self._step_sizes()
        uniform = active.all() and np.all(lr == lr[0])
        if uniform and self.recipe.optimizer == "adam":
            self._fused_adam(float(lr[0]))
            return
        active_t = torch.as_tensor(active, dtype=torch.float32, device=self.device)
        lr_t = torch.as_tensor(lr * active, dtype=torch.float32, device=self.device)
        wd = self.recipe.weight_decay
        for p, (m, v) in zip(self.params, self.state):
            if p.grad is None:
                continue
            shape = (-1,) + (1,) * (p.dim() - 1)
            mask, step = active_t.view(shape), lr_t.view(shape)
            g = p.grad
            if self.recipe.optimizer == "adam":
                b1, b2 = self.kwargs.get("betas", (0.9, 0.999))
                if wd and self.kwargs.get("decoupled"):
                    # torch's AdamW: decay by the plain learning rate.
                    p.mul_(1 - wd * self.recipe.lr * mask)
                elif wd:
                    g = g + wd * p
                m.lerp_(g, (1 - b1) * mask)
                v.lerp_(g * g, (1 - b2) * mask)
                p.sub_(step * m / (v.sqrt() + self.kwargs.get("eps", 1e-8)))
            else:
                if wd:
                    g = g + wd * p
                momentum = self.kwargs.get("momentum", 0.0)
                if momentum:
                    # torch's form; with a constant step it equals scikit-learn's.
                    m.copy_(torch.where(mask > 0, momentum * m + g, m))
                    g = g + momentum * m if self.kwargs.get("nesterov") else m
                p.sub_(step * g)

    def _fused_adam(self, lr):
        params = [p for p in self.params if p.grad is not None]
        grads = [p.grad for p in params]
        ms = [m for p, (m, _) in zip(self.params, self.state) if p.grad is not None]
        vs = [v for p, (_, v) in zip(self.params, self.state) if p.grad is not None]
        b1, b2 = self.kwargs.get("betas", (0.9, 0.999))
        wd = self.recipe.weight_decay
        if wd and self.kwargs.get("decoupled"):
            torch._foreach_mul_(params, 1 - wd * self.recipe.lr)
        elif wd:
            grads = torch._foreach_add(grads, params, alpha=wd)
        torch._foreach_lerp_(ms, grads, 1 - b1)
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - b2)
        denom = torch._foreach_sqrt(vs)
        torch._foreach_add_(denom, self.kwargs.get("eps", 1e-8))
        torch._foreach_addcdiv_(params, ms, denom, value=-lr)


class Population:
    """Stacked parameters of ``n_members`` models of one architecture.

    Parameters
    ----------
    estimator : estimator instance
        The (unfitted) base estimator whose recipe every member follows.
    params : dict of str -> torch.Tensor
        Stacked parameters, each of shape ``(n_members, ...)``.
    classes : ndarray of shape (n_classes,)
        Class labels shared by all members.
    n_features : int
        Number of input features.
    device : str or torch.device, default="cpu"

    Attributes
    ----------
    n_iter_ : ndarray of shape (n_members,)
        Epochs (or L-BFGS iterations) each member ran in the last ``fit``.

    Notes
    -----
    ``fit`` continues from the current parameters, so calling it again is a
    warm start; ``Population.from_estimators`` warm-starts from fitted
    models. ``fit(extra_loss=...)`` adds a differentiable term over the whole
    population to the members' task loss, which is how the defense trains.
    """

    def __init__(self, estimator, params, classes, n_features, *, device="cpu"):
        self.estimator = estimator
        self.adapter = get_adapter(estimator)
        self.device = check_device(device)
        self.params = {k: v.detach().to(self.device) for k, v in params.items()}
        self.classes_ = np.asarray(classes)
        self.n_features_in_ = int(n_features)
        self.n_iter_ = np.zeros(self.n_members, dtype=int)
        self._seeds = member_seeds(0, self.n_members)

    # -- construction ------------------------------------------------------
    @classmethod
    def initialize(
        cls,
        estimator,
        n_members,
        *,
        n_features,
        classes,
        random_state=None,
        device="cpu",
        seeds=None,
    ):
        """Freshly initialized members, one seed each (scikit-learn's init)."""
        if seeds is None:
            seeds = member_seeds(random_state, n_members)
        classes = np.asarray(classes)
        adapter = get_adapter(estimator)
        adapter.recipe()  # refuses unsupported settings before any work
        params = adapter.init_params(int(n_features), len(classes), seeds)
        population = cls(estimator, params, classes, n_features, device=device)
        population._seeds = np.asarray(seeds)
        return population

    @classmethod
    def from_estimators(cls, estimators, *, device="cpu", random_state=None):
        """Stack fitted estimators of one type and architecture (warm start)."""
        estimators = list(estimators)
        if not estimators:
            raise ValueError("from_estimators needs at least one fitted model.")
        first = estimators[0]
        adapter = get_adapter(first)
        members = []
        for i, est in enumerate(estimators):
            if type(est) is not type(first):
                raise ValueError(
                    f"Model {i} is a {type(est).__name__}, model 0 a "
                    f"{type(first).__name__}; a population holds one type."
                )
            _check_fitted(est, i)
            if not np.array_equal(est.classes_, first.classes_):
                raise ValueError(
                    f"Model {i} has classes {list(est.classes_)}, model 0 has "
                    f"{list(first.classes_)}; a population shares its classes."
                )
            members.append(adapter.from_estimator(est))
        shapes = {k: v.shape for k, v in members[0].items()}
        for i, member in enumerate(members):
            theirs = {k: v.shape for k, v in member.items()}
            if theirs != shapes:
                raise ValueError(
                    f"Model {i} has parameter shapes {_fmt(theirs)}, model 0 has "
                    f"{_fmt(shapes)}; all models must share one architecture."
                )
        params = {k: torch.stack([m[k] for m in members]) for k in shapes}
        population = cls(
            first, params, first.classes_, _n_features(first), device=device
        )
        population._seeds = member_seeds(random_state, len(estimators))
        return population

    @classmethod
    def concatenate(cls, populations):
        """One population holding the members of ``populations``, in order.

        The populations share one architecture; the result keeps the first
        one's adapter (and its cached module template), as indexing does.
        """
        populations = list(populations)
        first = populations[0]
        params = {
            k: torch.cat([p.params[k].to(first.device) for p in populations])
            for k in first.params
        }
        population = cls(
            first.estimator,
            params,
            first.classes_,
            first.n_features_in_,
            device=first.device,
        )
        population._seeds = np.concatenate([p._seeds for p in populations])
        population.n_iter_ = np.concatenate([p.n_iter_ for p in populations])
        population.adapter = first.adapter
        return population

    @property
    def n_members(self):
        """Number of members, an int."""
        return next(iter(self.params.values())).shape[0]

    def __len__(self):
        return self.n_members

    def __getitem__(self, index):
        """The members at ``index`` (an int array, slice or mask) as a population."""
        index = np.arange(self.n_members)[index]
        index = np.atleast_1d(index)
        idx = torch.as_tensor(index, device=self.device)
        sub = Population(
            self.estimator,
            {k: v[idx] for k, v in self.params.items()},
            self.classes_,
            self.n_features_in_,
            device=self.device,
        )
        sub._seeds = self._seeds[index]
        sub.n_iter_ = self.n_iter_[index]
        sub.adapter = self.adapter
        return sub

    # -- inference ---------------------------------------------------------
    def as_tensor(self, X):
        """``X`` as a float32 tensor on the population's device."""
        if isinstance(X, torch.Tensor):
            return X.to(device=self.device, dtype=torch.float32)
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, the population expects "
                f"{self.n_features_in_}."
            )
        return torch.as_tensor(X, device=self.device)

    def log_proba(self, X, params=None):
        """Members' log-probabilities, shape ``(n_members, n_rows, n_classes)``.

        Differentiable with respect to ``params`` (default: the population's
        own). ``X`` is ``(n_rows, n_features)``, shared by all members, or
        ``(n_members, n_rows, n_features)``.
        """
        return self.adapter.forward(
            self.params if params is None else params, self.as_tensor(X)
        )

    def predict_proba(self, X):
        """Members' class probabilities as an ndarray ``(n_members, n, n_classes)``."""
        self._set_training(False)
        with torch.no_grad():
            proba = self.log_proba(X).double().exp().cpu().numpy()
        # float32 log-probabilities: renormalize so rows sum to one exactly.
        return proba / proba.sum(-1, keepdims=True)

    def _set_training(self, training):
        if hasattr(self.adapter, "set_training"):
            self.adapter.set_training(training)

    # -- training ----------------------------------------------------------
    def fit(
        self, datasets, *, epochs=None, extra_loss=None, random_state=None, verbose=0
    ):
        """Train every member on its dataset, from the current parameters.

        Parameters
        ----------
        datasets : sequence of (X_i, y_i)
            One dataset per member, in member order; sizes may differ.
        epochs : int, default=None
            Epochs to run (L-BFGS iterations for ``LogisticRegression``).
            None follows the estimator's recipe, including its early stopping;
            an explicit count runs exactly that many epochs.
        extra_loss : callable, default=None
            ``extra_loss(params, step) -> scalar tensor``, added to the sum of
            the members' losses at every optimizer step. ``params`` maps
            names to the stacked parameters being trained.
        random_state : int, RandomState instance or None, default=None
            Seeds this call's shuffling; None reuses the members' seeds.
        verbose : int, default=0
            1 shows a progress bar over epochs (``tqdm.auto``: a widget in a
            notebook, text in a terminal).

        Returns
        -------
        self : Population
        """
        datasets = list(datasets)
        if len(datasets) != self.n_members:
            raise ValueError(
                f"Got {len(datasets)} datasets for {self.n_members} members; pass "
                "one dataset per member."
            )
        data = _Data(datasets, self.classes_, self.n_features_in_, self.device)
        recipe = self.adapter.recipe()
        seeds = (
            self._seeds
            if random_state is None
            else member_seeds(random_state, self.n_members)
        )
        early_stopping = epochs is None and extra_loss is None
        n_epochs = recipe.epochs if epochs is None else int(epochs)
        params = {
            k: v.detach().clone().requires_grad_(True) for k, v in self.params.items()
        }
        self._set_training(True)
        try:
            with torch.random.fork_rng(devices=_rng_devices(self.device)):
                torch.manual_seed(int(seeds[0]))
                if recipe.optimizer == "lbfgs":
                    n_iter = _train_lbfgs(
                        self.adapter, params, data, recipe, n_epochs, extra_loss
                    )
                else:
                    n_iter = _train_minibatch(
                        self.adapter,
                        params,
                        data,
                        recipe,
                        n_epochs,
                        extra_loss,
                        seeds,
                        early_stopping,
                        _progress(verbose, n_epochs, self.n_members),
                    )
        finally:
            self._set_training(False)
        for name, value in params.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(
                    f"Training diverged: parameter {name!r} holds NaN or inf. "
                    "Lower the learning rate or standardize the features."
                )
        self.params = {k: v.detach() for k, v in params.items()}
        self.n_iter_ = np.asarray(n_iter)
        return self

    def to_estimators(self):
        """One fitted estimator of the base type per member."""
        return [
            self.adapter.to_estimator(
                {k: v[i] for k, v in self.params.items()},
                self.classes_,
                self.n_features_in_,
                int(self.n_iter_[i]),
            )
            for i in range(self.n_members)
        ]


def _rng_devices(device):
    return [device] if device.type == "cuda" else []


def _member_loss(adapter, params, recipe, logp, y, weight):
    """Per-member mean NLL over weighted rows plus the recipe's L2 term."""
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    rows = weight.sum(1).clamp(min=1.0)
    loss = (nll * weight).sum(1) / rows
    if recipe.l2:
        sq = sum(
            params[name].pow(2).flatten(1).sum(1) for name in adapter.penalized(params)
        )
        loss = loss + 0.5 * recipe.l2 * sq / rows
    return loss


def _epoch_batches(data, batch_sizes, n_steps, rngs, shuffle):
    """Row indices ``(n_steps, M, B)`` and weights for one epoch of each member.

    Member i walks its own shuffled rows in batches of ``batch_sizes[i]``;
    steps past its last batch, and padding inside a batch, have weight 0.
    """
    M, B = len(data.sizes), int(batch_sizes.max())
    index = np.zeros((M, n_steps, B), dtype=np.int64)
    weight = np.zeros((M, n_steps, B), dtype=np.float32)
    for i, (n, b) in enumerate(zip(data.sizes, batch_sizes)):
        order = rngs[i].permutation(n) if shuffle else np.arange(n)
        steps = -(-n // b)
        padded = np.full(steps * b, -1, dtype=np.int64)
        padded[:n] = order + data.offsets[i]
        padded = padded.reshape(steps, b)
        index[i, :steps, :b] = np.maximum(padded, 0)
        weight[i, :steps, :b] = padded >= 0
    # Step-major, so that one step's batch is a contiguous block.
    return index.transpose(1, 0, 2).copy(), weight.transpose(1, 0, 2).copy()


def _progress(verbose, n_epochs, n_members):
    """A progress bar over epochs when ``verbose``, else None."""
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n_epochs, desc=f"{n_members} members", unit="epoch", leave=False)


def _train_minibatch(
    adapter,
    params,
    data,
    recipe,
    epochs,
    extra_loss,
    seeds,
    early_stopping,
    progress=None,
):
    M = len(data.sizes)
    device = data.X.device
    sizes = data.sizes
    if recipe.batch_size is None:
        batch_sizes = np.minimum(200, sizes)
    else:
        batch_sizes = np.minimum(recipe.batch_size, sizes)
    n_steps = int((-(-sizes // batch_sizes)).max())
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    optimizer = _MaskedOptimizer(list(params.values()), recipe, M, device)
    member_steps = -(-sizes // batch_sizes)
    alive = np.ones(M, dtype=bool)
    n_iter = np.zeros(M, dtype=int)
    best = np.full(M, np.inf)
    no_improvement = np.zeros(M, dtype=int)
    step = 0
    shuffle = recipe.shuffle
    for _ in range(epochs):
        index, weight = _epoch_batches(data, batch_sizes, n_steps, rngs, shuffle)
        index = torch.as_tensor(index, device=device)
        # One gather per epoch; each step then reads a contiguous slice.
        X_epoch = data.X.index_select(0, index.flatten()).view(
            *index.shape, data.X.shape[1]
        )
        y_epoch = data.y.index_select(0, index.flatten()).view(index.shape)
        weight = torch.as_tensor(weight, device=device)
        epoch_loss = torch.zeros(M, device=device)
        alive_t = torch.as_tensor(alive, dtype=torch.float32, device=device)
        for k in range(n_steps):
            active = alive & (k < member_steps)
            w = weight[k] * alive_t.unsqueeze(1)
            logp = adapter.forward(params, X_epoch[k])
            member = _member_loss(adapter, params, recipe, logp, y_epoch[k], w)
            total = member.sum()  # inactive members have all-zero weights
            if extra_loss is not None:
                total = total + extra_loss(params, step)
            for p in params.values():
                p.grad = None
            total.backward()
            optimizer.step(active)
            epoch_loss += member.detach() * w.sum(1)
            step += 1
        n_iter += alive
        if early_stopping and recipe.tol is not None:
            loss = (epoch_loss.cpu().numpy() / sizes).astype(float)
            # scikit-learn's rule: no improvement by tol for n_iter_no_change.
            stalled = loss > best - recipe.tol
            no_improvement = np.where(stalled, no_improvement + 1, 0)
            best = np.minimum(best, loss)
            alive &= no_improvement < recipe.n_iter_no_change
        if progress is not None:
            progress.update(1)
        if not alive.any():
            break
    if progress is not None:
        progress.close()
    return n_iter


def _train_lbfgs(adapter, params, data, recipe, iterations, extra_loss):
    M, n_max = len(data.sizes), int(data.sizes.max())
    positions = np.arange(n_max)
    weight = (positions[None, :] < data.sizes[:, None]).astype(np.float32)
    index = (
        np.minimum(positions[None, :], data.sizes[:, None] - 1) + data.offsets[:, None]
    )
    index = torch.as_tensor(index, device=data.X.device)
    weight = torch.as_tensor(weight, device=data.X.device)
    X, y = data.X[index], data.y[index]
    leaves = list(params.values())
    optimizer = torch.optim.LBFGS(
        leaves,
        lr=1.0,
        max_iter=max(int(iterations), 1),
        history_size=20,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )
    calls = [0]

    def closure():
        optimizer.zero_grad()
        logp = adapter.forward(params, X)
        total = _member_loss(adapter, params, recipe, logp, y, weight).sum()
        if extra_loss is not None:
            total = total + extra_loss(params, calls[0])
        total.backward()
        calls[0] += 1
        return total

    optimizer.step(closure)
    n_iter = optimizer.state[optimizer._params[0]].get("n_iter", 0)
    return np.full(M, n_iter, dtype=int)


def _check_fitted(estimator, i):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        if hasattr(estimator, "initialized_"):  # skorch
            if not estimator.initialized_:
                raise NotFittedError
        else:
            check_is_fitted(estimator)
    except NotFittedError as exc:
        raise ValueError(
            f"Model {i} ({type(estimator).__name__}) is not fitted; fit it first."
        ) from exc


def _n_features(estimator):
    if hasattr(estimator, "n_features_in_"):
        return estimator.n_features_in_
    # skorch nets do not record it; the first layer's inputs do.
    first = next(p for p in estimator.module_.parameters() if p.dim() == 2)
    return first.shape[1]


def _fmt(shapes):
    return {k: tuple(v) for k, v in shapes.items()}


def _chunks(sizes, chunk_size, n_workers=1):
    """Slices of members trained at once: memory-bounded, one per worker at least."""
    if chunk_size is None:
        chunk_size = max(1, _MAX_CHUNK_ROWS // max(int(np.max(sizes)), 1))
        chunk_size = min(chunk_size, -(-len(sizes) // max(n_workers, 1)))
    if not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    return [slice(i, i + chunk_size) for i in range(0, len(sizes), chunk_size)]


def _fit_chunk(estimator, datasets, seeds, classes, n_features, device):
    population = Population.initialize(
        estimator,
        len(seeds),
        n_features=n_features,
        classes=classes,
        device=device,
        seeds=seeds,
    )
    return population.fit(datasets)


def train_population(
    estimator,
    datasets,
    *,
    seeds,
    classes=None,
    device="cpu",
    chunk_size=None,
    n_jobs=None,
):
    """Train one member per dataset in chunks dispatched through joblib.

    Each chunk is a :class:`Population` trained by one joblib task, so
    ``joblib.parallel_config(backend="dask")`` spreads the chunks over a
    Dask cluster. Member i's initialization and shuffling depend only on
    ``seeds[i]``, so the result does not depend on ``n_jobs`` or on how the
    members are chunked.

    Returns
    -------
    population : Population
        All members, in the order of ``datasets``.
    """
    datasets = list(datasets)
    device = check_device(device)
    get_adapter(estimator).recipe()  # unsupported settings fail before any work
    if classes is None:
        classes = _population_classes(datasets)
    n_features = check_array(datasets[0][0], dtype=None).shape[1]
    seeds = np.asarray(seeds)
    sizes = np.array([len(y) for _, y in datasets])
    chunks = _chunks(sizes, chunk_size, effective_n_jobs(n_jobs))
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_fit_chunk)(
            estimator, datasets[chunk], seeds[chunk], classes, n_features, device
        )
        for chunk in chunks
    )
    return Population.concatenate(parts)


def fit_population(
    estimator,
    datasets,
    *,
    random_state=None,
    device="cpu",
    chunk_size=None,
    n_jobs=None,
):
    """Fit one copy of ``estimator`` per dataset, all trained together.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted recipe: ``MLPClassifier``, ``LogisticRegression``,
        ``SGDClassifier(loss="log_loss")`` or a skorch ``NeuralNetClassifier``.
    datasets : sequence of (X_i, y_i)
        One training set per member; sizes may differ, features may not.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization and shuffling. Member i's seed depends only on
        ``random_state`` and i, so results depend neither on ``chunk_size``
        nor on ``n_jobs`` (except for modules with dropout: their masks come
        from one random stream per chunk, reproducible for a given chunking).
    device : str or torch.device, default="cpu"
        Where to train; ``"cuda"`` for a GPU.
    chunk_size : int, default=None
        Members trained at once. None keeps each chunk's training data under
        about 10 million rows, which bounds memory for large populations,
        and makes at least one chunk per joblib worker.
    n_jobs : int, default=None
        Chunks trained in parallel by joblib; None means 1 unless in a
        ``joblib.parallel_config`` context (``backend="dask"`` runs the
        chunks on a Dask cluster). -1 uses all processors.

    Returns
    -------
    estimators : list of fitted estimators
        Of ``estimator``'s type, in the order of ``datasets``. Every member
        knows all classes seen across the datasets.

    Examples
    --------
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sklearn_dshare import fit_population
    >>> from sklearn_dshare.datasets import make_credit_portfolio
    >>> datasets = [make_credit_portfolio(200, random_state=i) for i in range(4)]
    >>> models = fit_population(MLPClassifier((8,), max_iter=20), datasets,
    ...                         random_state=0)
    >>> len(models), type(models[0]).__name__
    (4, 'MLPClassifier')
    """
    datasets = list(datasets)
    if not datasets:
        raise ValueError("fit_population needs at least one dataset.")
    population = train_population(
        estimator,
        datasets,
        seeds=member_seeds(random_state, len(datasets)),
        device=device,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
    )
    return population.to_estimators()
