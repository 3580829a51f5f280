"""Shared fixtures: tiny synthetic datasets and base estimators of every family.

The skorch modules live at module level so that fitted nets pickle.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

N_FEATURES = 5

# The tensors here are tiny: one thread avoids oversubscribing small CI
# machines, where intra-op threads make these tests many times slower.
torch.set_num_threads(1)


def make_data(
    n_samples, *, n_classes=2, seed=0, n_features=N_FEATURES, class_sep=1.5, flip_y=0.01
):
    """A standardized classification problem (well separated by default), X
    float32, y int64 in ``0..n_classes-1``."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=class_sep,
        flip_y=flip_y,
        random_state=seed,
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y.astype(np.int64)


# -- skorch modules (module level, so that nets pickle) ----------------------
class SoftmaxModule(torch.nn.Module):
    """Returns probabilities: skorch's default NLLLoss logs them."""

    def __init__(self, n_features=N_FEATURES, n_hidden=8, n_classes=2):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, n_hidden)
        self.output = torch.nn.Linear(n_hidden, n_classes)

    def forward(self, X):
        return torch.softmax(self.output(torch.relu(self.hidden(X))), dim=-1)


class LogitModule(torch.nn.Module):
    """Returns logits, for ``criterion=torch.nn.CrossEntropyLoss``."""

    def __init__(self, n_features=N_FEATURES, n_hidden=8, n_classes=2):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, n_hidden)
        self.output = torch.nn.Linear(n_hidden, n_classes)

    def forward(self, X):
        return self.output(torch.tanh(self.hidden(X)))


class DropoutModule(torch.nn.Module):
    """Logits through a dropout layer: training draws random masks."""

    def __init__(self, n_features=N_FEATURES, n_hidden=16, n_classes=2):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, n_hidden)
        self.dropout = torch.nn.Dropout(0.5)
        self.output = torch.nn.Linear(n_hidden, n_classes)

    def forward(self, X):
        return self.output(self.dropout(torch.relu(self.hidden(X))))


class BatchNormModule(torch.nn.Module):
    def __init__(self, n_features=N_FEATURES, n_classes=2):
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(n_features)
        self.output = torch.nn.Linear(n_features, n_classes)

    def forward(self, X):
        return self.output(self.norm(X))


def make_skorch(module, *, n_classes=2, max_epochs=10, **kwargs):
    from skorch import NeuralNetClassifier

    params = {
        "module__n_classes": n_classes,
        "max_epochs": max_epochs,
        "lr": 0.1,
        "batch_size": 32,
        "train_split": None,
        "verbose": 0,
    }
    if module is not SoftmaxModule:
        params["criterion"] = torch.nn.CrossEntropyLoss
    params.update(kwargs)
    return NeuralNetClassifier(module, **params)


def make_estimator(kind, n_classes=2):
    """A small unfitted base estimator of family ``kind``."""
    if kind.startswith("mlp-"):
        return MLPClassifier(
            hidden_layer_sizes=(8,),
            activation=kind[len("mlp-") :],
            max_iter=15,
            learning_rate_init=0.05,
            random_state=0,
        )
    if kind == "logreg":
        return LogisticRegression(max_iter=100)
    if kind == "sgd":
        return SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0)
    if kind == "skorch-softmax":
        return make_skorch(SoftmaxModule, n_classes=n_classes)
    if kind == "skorch-logits":
        return make_skorch(LogitModule, n_classes=n_classes)
    raise AssertionError(f"unknown estimator kind {kind!r}")


@pytest.fixture
def binary_data():
    return make_data(200, seed=0)


@pytest.fixture
def multiclass_data():
    return make_data(240, n_classes=3, seed=1)


@pytest.fixture
def ragged_datasets():
    """Three binary datasets of different sizes (one smaller than a batch)."""
    return [make_data(n, seed=10 + i) for i, n in enumerate((260, 90, 170))]


@pytest.fixture
def small_datasets():
    """Four binary datasets of 100 to 160 rows."""
    return [make_data(100 + 20 * i, seed=20 + i) for i in range(4)]
