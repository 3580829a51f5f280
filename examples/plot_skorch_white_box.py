"""
===================================================
White-box defense of a skorch (PyTorch) credit model
===================================================

Sharing the weights of a model, not just access to its predictions, gives
an attacker two ways in: its *outputs* on chosen rows and its *parameters*,
read in a form that does not depend on the order of the hidden units. With
``access="white-box"``, :class:`~sklearn_dshare.CPIRobustClassifier` defends
both views at once.

The recipe here is a PyTorch network wrapped by skorch's
``NeuralNetClassifier``: any torch module that returns one score per class
works (no batch normalization). The module returns logits, so the criterion
is ``torch.nn.CrossEntropyLoss``; ``train_split=None`` trains on every row
(skorch holds out 20% by default) and ``verbose=0`` silences skorch's
per-epoch table. The defended model, ``estimator_``, is again a fitted
``NeuralNetClassifier``: it pickles and predicts like any skorch net.
"""

# %%
# Settings. ``SKLEARN_DSHARE_EXAMPLE_SMALL=1`` shrinks everything for CI;
# ``SKLEARN_DSHARE_EXAMPLE_OUT`` is where the figure goes.
import os
import pickle
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the script writes its figure to a file
import matplotlib.pyplot as plt
import numpy as np
import torch
from skorch import NeuralNetClassifier

from sklearn_dshare import CPIRobustClassifier, LabelRate
from sklearn_dshare.datasets import load_give_me_some_credit
from sklearn_dshare.display import ArmsRaceDisplay
from sklearn_dshare.preprocessing import credit_preprocessor

SMALL = os.environ.get("SKLEARN_DSHARE_EXAMPLE_SMALL") == "1"
OUT = Path(os.environ.get("SKLEARN_DSHARE_EXAMPLE_OUT", "."))
PORTFOLIO_SIZE = 2_000 if SMALL else 5_000
N_SHADOW_MODELS = 16 if SMALL else 64
N_ROUNDS = 2 if SMALL else 10
MAX_EPOCHS = 5 if SMALL else 20


# %%
# The network: Linear-ReLU-Linear, returning logits. It is defined at module
# level so that fitted nets pickle.
class CreditNet(torch.nn.Module):
    def __init__(self, n_features=10, n_hidden=32, n_classes=2):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, n_hidden)
        self.output = torch.nn.Linear(n_hidden, n_classes)

    def forward(self, X):
        return self.output(torch.relu(self.hidden(X)))


net = NeuralNetClassifier(
    CreditNet,
    criterion=torch.nn.CrossEntropyLoss,
    optimizer=torch.optim.Adam,
    lr=1e-3,
    batch_size=200,
    max_epochs=MAX_EPOCHS,
    train_split=None,
    verbose=0,
)

# %%
# The bank's loan book: Give Me Some Credit rows with a serious delinquency
# rate in [4%, 6%), scaled (skorch wants float32).
X, y = load_give_me_some_credit()
secret = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
X_book, y_book = secret.resample(
    X[:75_000], y[:75_000], bin=0, size=PORTFOLIO_SIZE, random_state=0
)
scaler = credit_preprocessor().fit(X_book)
X_book = scaler.transform(X_book).astype(np.float32)

clf = CPIRobustClassifier(
    net,
    secret,
    access="white-box",
    n_rounds=N_ROUNDS,
    n_shadow_models=N_SHADOW_MODELS,
    random_state=0,
)
clf.fit(X_book, y_book)

# %%
# The shared model is a skorch net. Pickle it as the recipient would receive
# it, and check that the copy predicts the same probabilities.
shared = clf.estimator_
assert isinstance(shared, NeuralNetClassifier)
received = pickle.loads(pickle.dumps(shared))
X_new = scaler.transform(X[75_000:80_000]).astype(np.float32)
np.testing.assert_allclose(received.predict_proba(X_new), shared.predict_proba(X_new))
print(
    f"shared: a fitted {type(shared).__name__} of {type(shared.module_).__name__}, "
    f"{len(pickle.dumps(shared)):,} bytes pickled; "
    f"final leakage {clf.leakage_:.2f} (chance {1 / secret.n_bins:.2f})"
)

# %%
# The race, with the white-box attacker reading outputs and sorted weights.
display = ArmsRaceDisplay.from_estimator(clf)
display.ax_.set_title(
    f"White-box arms race, skorch net, {PORTFOLIO_SIZE:,}-loan portfolio"
)
OUT.mkdir(parents=True, exist_ok=True)
display.figure_.savefig(OUT / "plot_skorch_white_box.png", dpi=100, bbox_inches="tight")
plt.close(display.figure_)
