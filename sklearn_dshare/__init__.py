"""sklearn-dshare: share models without leaking confidential properties of their data.

An implementation of D-S2HARE (Yang, Xu, Zhang, Fang, "Secure Confidential
Business Information When Sharing Machine Learning Models", arXiv 2509.16352):
a responsive confidential property inference (CPI) attack, and an
attack-defense arms race that hardens a model against it.
"""

from .attack import KLDivergenceAttack, MeanOutputAttack, ResponsiveCPIAttack
from .baselines import AdversarialFineTuneClassifier, PropertyUnlearningClassifier
from .defense import CPIRobustClassifier, PrivacyLeakWarning
from .display import ArmsRaceDisplay, LeakageDisplay, PrivacyUtilityDisplay
from .population import Population, fit_population
from .properties import FeatureMean, FeatureRate, LabelRate

__version__ = "0.1.0.dev0"

__all__ = [
    "AdversarialFineTuneClassifier",
    "ArmsRaceDisplay",
    "CPIRobustClassifier",
    "FeatureMean",
    "FeatureRate",
    "KLDivergenceAttack",
    "LabelRate",
    "LeakageDisplay",
    "MeanOutputAttack",
    "Population",
    "PrivacyLeakWarning",
    "PrivacyUtilityDisplay",
    "PropertyUnlearningClassifier",
    "ResponsiveCPIAttack",
    "fit_population",
    "__version__",
]
