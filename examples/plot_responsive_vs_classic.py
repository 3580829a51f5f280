"""
====================================================
A responsive attacker against a defended credit model
====================================================

A defense is only as good as the strongest attacker it faces. The *classic*
confidential property inference attack trains shadow models the usual way
and fits a meta-classifier on them; a defense that moves the shared model
away from the usual shadows fools it. The *responsive* attacker of D-S2HARE
knows the defense (Kerckhoffs) and trains its shadows through that same
defense before fitting the meta-classifier.

Here several providers each train a model on their own loan book, half with
a default rate in [15%, 20%), half in [30%, 35%]. Each model is trained once
plainly and once through :class:`~sklearn_dshare.CPIRobustClassifier`. An
attacker with disjoint data of the same population then tries to read every
model's bin, classic and responsive.
:class:`~sklearn_dshare.display.LeakageDisplay` shows each attack's accuracy
with its 95% Wilson interval and its AUC. With a handful of targets the
intervals are wide: an interval that reaches the chance line does not show
a leak, and neither does it show safety. An AUC far from 0.5 on either side
is a leak (below 0.5 the attacker reads the bins the wrong way round).
"""

# %%
# Settings. ``SKLEARN_DSHARE_EXAMPLE_SMALL=1`` shrinks everything for CI;
# ``SKLEARN_DSHARE_EXAMPLE_OUT`` is where the figure goes.
import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the script writes its figure to a file
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier

from sklearn_dshare import (
    CPIRobustClassifier,
    LabelRate,
    PrivacyLeakWarning,
    ResponsiveCPIAttack,
    fit_population,
)
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.display import LeakageDisplay
from sklearn_dshare.metrics import attack_report
from sklearn_dshare.preprocessing import credit_preprocessor

SMALL = os.environ.get("SKLEARN_DSHARE_EXAMPLE_SMALL") == "1"
OUT = Path(os.environ.get("SKLEARN_DSHARE_EXAMPLE_OUT", "."))
PORTFOLIO_SIZE = 600 if SMALL else 2_000
TARGETS_PER_BIN = 2 if SMALL else 6
N_SHADOW_MODELS = 8 if SMALL else 32  # the defense's own population
N_ATTACK_SHADOWS = 16 if SMALL else 128
# The responsive attacker trains every shadow as its own defended fit
# (exactly as the provider), so it affords fewer of them.
N_RESPONSIVE_SHADOWS = 8 if SMALL else 48
N_ROUNDS = 1 if SMALL else 5

# %%
# One population, split into the providers' pool and the attacker's pool.
# The scaling is public: every party applies the same one.
X, y = make_credit_portfolio(40_000, default_rate=0.25, random_state=0)
X = credit_preprocessor().fit_transform(X)
X_providers, y_providers = X[:20_000], y[:20_000]
X_attacker, y_attacker = X[20_000:], y[20_000:]
secret = LabelRate(bins=[(0.15, 0.2), (0.3, 0.35)])
recipe = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30)
defense = CPIRobustClassifier(
    recipe,
    secret,
    defense_strength=1.0,
    n_rounds=N_ROUNDS,
    n_shadow_models=N_SHADOW_MODELS,
    validation_fraction=0.0,  # train on every row, as the plain models do
)

# %%
# The targets: one loan book per provider, trained plainly and, separately,
# through the defense. Each defended target is an independent fit of its
# own (the attacker measures leakage itself below, so the defense's
# ``PrivacyLeakWarning`` is silenced).
bins = np.repeat(np.arange(secret.n_bins), TARGETS_PER_BIN)
books = [
    secret.resample(X_providers, y_providers, int(b), PORTFOLIO_SIZE, random_state=i)
    for i, b in enumerate(bins)
]
plain_targets = fit_population(recipe, books, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PrivacyLeakWarning)
    defenses = [
        clone(defense).set_params(random_state=i).fit(X_book, y_book)
        for i, (X_book, y_book) in enumerate(books)
    ]
defended_targets = [d.estimator_ for d in defenses]
print(
    "defense's own leakage estimate per target:",
    np.round([d.leakage_ for d in defenses], 2),
)

# %%
# The attackers, on their own data. The classic one trains its shadows
# plainly; the responsive one trains them through the defense.
attack = {"shadow_size": PORTFOLIO_SIZE, "n_shadow_models": N_ATTACK_SHADOWS}
classic = ResponsiveCPIAttack(recipe, secret, random_state=0, **attack)
classic.fit(X_attacker, y_attacker)
responsive = ResponsiveCPIAttack(
    recipe,
    secret,
    defense=defense,
    random_state=0,
    shadow_size=defenses[0].n_samples_fit_,  # rows each target trained on
    n_shadow_models=N_RESPONSIVE_SHADOWS,
)
responsive.fit(X_attacker, y_attacker)

reports = {
    "classic, plain targets": attack_report(classic, plain_targets, bins),
    "classic, defended targets": attack_report(classic, defended_targets, bins),
    "responsive, defended targets": attack_report(responsive, defended_targets, bins),
}
for name, report in reports.items():
    print(
        f"{name:30s} accuracy {report['accuracy']:.2f} "
        f"[{report['ci_low']:.2f}, {report['ci_high']:.2f}]  AUC {report['auc']:.2f}"
    )

# %%
# The plain models give their bin away to the classic attack. Against the
# defended ones, compare the classic attacker with the responsive one, who
# knows the defense: the defense is worth what the responsive row shows.
display = LeakageDisplay.from_report(reports)
display.ax_.set_title(f"Default rate 15-20% or 30-35%? Attacks on {len(bins)} models")
OUT.mkdir(parents=True, exist_ok=True)
display.figure_.savefig(
    OUT / "plot_responsive_vs_classic.png", dpi=100, bbox_inches="tight"
)
plt.close(display.figure_)
