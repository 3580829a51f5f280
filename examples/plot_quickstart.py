"""
==========================================
Quickstart: defend a credit model's secret
==========================================

A bank trains a credit-default model on its loan book and wants to share it.
The book's default rate is a business secret: is it in 4-6% or in 8-10%?
A confidential property inference (CPI) attacker who trains many "shadow"
models on similar data reads the answer off the shared model with near
certainty.

:class:`~sklearn_dshare.CPIRobustClassifier` wraps the bank's recipe (here an
``MLPClassifier``) and runs an attack-defense arms race inside ``fit``: it
trains the model together with shadow models resampled from the bank's own
rows, measures each round how well a simulated attacker reads the bin on
held-out shadows (the *leakage*), then updates every model to make the bins
indistinguishable. The shared model, ``estimator_``, is an ordinary fitted
``MLPClassifier``.

:class:`~sklearn_dshare.display.ArmsRaceDisplay` draws the race: leakage and
its AUC per round against chance, and the model's validation AUC on a second
axis. Round 0 is the undefended model.
"""

# %%
# Settings. ``SKLEARN_DSHARE_EXAMPLE_SMALL=1`` shrinks everything for CI;
# ``SKLEARN_DSHARE_EXAMPLE_OUT`` is where the figure goes.
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the script writes its figure to a file
import matplotlib.pyplot as plt
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

from sklearn_dshare import CPIRobustClassifier, LabelRate
from sklearn_dshare.datasets import load_give_me_some_credit
from sklearn_dshare.display import ArmsRaceDisplay
from sklearn_dshare.preprocessing import credit_preprocessor

SMALL = os.environ.get("SKLEARN_DSHARE_EXAMPLE_SMALL") == "1"
OUT = Path(os.environ.get("SKLEARN_DSHARE_EXAMPLE_OUT", "."))
PORTFOLIO_SIZE = 2_000 if SMALL else 5_000
N_SHADOW_MODELS = 16 if SMALL else 64
N_ROUNDS = 2 if SMALL else 10

# %%
# The bank's portfolio: 5,000 borrowers of Give Me Some Credit whose serious
# delinquency rate lies in [4%, 6%). The rest of the data stands in for new
# applicants, to check that the shared model still ranks risk.
X, y = load_give_me_some_credit()
secret = LabelRate(bins=[(0.04, 0.06), (0.08, 0.10)])
X_book, y_book = secret.resample(
    X[:75_000], y[:75_000], bin=0, size=PORTFOLIO_SIZE, random_state=0
)
X_new, y_new = X[75_000:], y[75_000:]
print(
    f"portfolio: {len(y_book)} loans, default rate {secret.value(X_book, y_book):.2%}"
)

# %%
# The defended model: the usual scaling, then the arms race around the MLP.
# A ``PrivacyLeakWarning`` would say that the race ended with the simulated
# attacker still far above chance.
model = make_pipeline(
    credit_preprocessor(),
    CPIRobustClassifier(
        MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=30),
        secret,
        defense_strength=1.0,
        n_rounds=N_ROUNDS,
        n_shadow_models=N_SHADOW_MODELS,
        random_state=0,
    ),
)
model.fit(X_book, y_book)
defense = model[-1]

print("\nround  leakage  leakage AUC  valid AUC  seconds")
for entry in defense.history_:
    print(
        f"{entry['round']:5d}  {entry['leakage']:7.3f}  {entry['leakage_auc']:11.3f}"
        f"  {entry['valid_auc']:9.4f}  {entry['seconds']:7.1f}"
    )
print(
    f"\nshared model: a fitted {type(defense.estimator_).__name__}; AUC on "
    f"{len(y_new):,} other borrowers "
    f"{roc_auc_score(y_new, model.predict_proba(X_new)[:, 1]):.3f}"
)

# %%
# The race. The undefended model (round 0) gives its bin away; the defense
# pulls the simulated attacker toward chance while the validation AUC stays
# put. Read the AUC next to the accuracy: an accuracy far *below* chance
# still leaks (the bins read the wrong way round), and only an AUC near 0.5
# says the attacker cannot rank them. Leakage is measured on a few dozen
# held-out shadows, so expect round-to-round noise of about 0.1.
display = ArmsRaceDisplay.from_estimator(model)
display.ax_.set_title(
    f"Arms race on a {PORTFOLIO_SIZE:,}-loan portfolio (4-6% vs 8-10%)"
)
OUT.mkdir(parents=True, exist_ok=True)
display.figure_.savefig(OUT / "plot_quickstart.png", dpi=100, bbox_inches="tight")
plt.close(display.figure_)
