"""
=======================================================
Choosing the defense strength with a grid search
=======================================================

``defense_strength`` trades privacy for utility: 0 is the undefended model,
larger values weigh the privacy loss more. Because
:class:`~sklearn_dshare.CPIRobustClassifier` is an ordinary scikit-learn
classifier, ``GridSearchCV`` can pick it, given two scorers:

- ``"accuracy"`` (or any utility scorer), on the held-out fold;
- :func:`~sklearn_dshare.metrics.make_leakage_scorer`, minus the held-out
  leakage above chance that the arms race measured during ``fit``
  (0 is best).

Scoring utility alone would pick the weakest defense. The refit rule
:func:`~sklearn_dshare.metrics.most_private_within` picks instead the most
private candidate whose accuracy is within 0.01 of the best.

:class:`~sklearn_dshare.display.PrivacyUtilityDisplay` draws every candidate
as leakage above chance against accuracy, labeled with its strength, with the
Pareto front (no other candidate leaks less *and* scores higher) as a line
and the refitted candidate circled.
"""

# %%
# Settings. ``SKLEARN_DSHARE_EXAMPLE_SMALL=1`` shrinks everything for CI;
# ``SKLEARN_DSHARE_EXAMPLE_OUT`` is where the figure goes.
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the script writes its figure to a file
import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_dshare import CPIRobustClassifier, LabelRate
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.display import PrivacyUtilityDisplay
from sklearn_dshare.metrics import make_leakage_scorer, most_private_within

SMALL = os.environ.get("SKLEARN_DSHARE_EXAMPLE_SMALL") == "1"
OUT = Path(os.environ.get("SKLEARN_DSHARE_EXAMPLE_OUT", "."))
PORTFOLIO_SIZE = 900 if SMALL else 3_000
N_SHADOW_MODELS = 8 if SMALL else 32
N_ROUNDS = 1 if SMALL else 5
STRENGTHS = [0, 1] if SMALL else [0, 0.25, 1, 4]

# %%
# A synthetic loan book with an 18% default rate; the secret is whether the
# rate lies in [15%, 20%) or in [30%, 35%].
X, y = make_credit_portfolio(PORTFOLIO_SIZE, default_rate=0.18, random_state=0)
secret = LabelRate(bins=[(0.15, 0.2), (0.3, 0.35)])

# %%
# The search: every candidate runs its own arms race on each training fold.
# The undefended candidate (strength 0) runs no defense rounds, so its
# leakage is that of round 0.
model = make_pipeline(
    StandardScaler(),
    CPIRobustClassifier(
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=30),
        secret,
        n_rounds=N_ROUNDS,
        n_shadow_models=N_SHADOW_MODELS,
        random_state=0,
    ),
)
search = GridSearchCV(
    model,
    {"cpirobustclassifier__defense_strength": STRENGTHS},
    scoring={"accuracy": "accuracy", "privacy": make_leakage_scorer()},
    refit=most_private_within(0.01),
    cv=3,
)
search.fit(X, y)

print("strength  accuracy  leakage above chance")
results = search.cv_results_
for strength, accuracy, privacy in zip(
    results["param_cpirobustclassifier__defense_strength"],
    results["mean_test_accuracy"],
    results["mean_test_privacy"],
):
    print(f"{strength:8g}  {accuracy:8.3f}  {-privacy:20.3f}")
print(f"refitted: {search.best_params_}")

# %%
# The trade-off. Leakage is measured on held-out shadows of each fold, a few
# dozen models, so a difference of 0.05 between candidates is noise; the
# error bars show the spread over the folds.
display = PrivacyUtilityDisplay.from_cv_results(
    search.cv_results_, chance=1 / secret.n_bins, best_index=search.best_index_
)
display.ax_.set_title("Privacy against accuracy over defense_strength")
OUT.mkdir(parents=True, exist_ok=True)
display.figure_.savefig(OUT / "plot_grid_search.png", dpi=100, bbox_inches="tight")
plt.close(display.figure_)
