"""scikit-learn's estimator contract for the meta-classifier.

No check is expected to fail. scikit-learn itself skips its array-API check
unless the environment sets SCIPY_ARRAY_API=1.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_dshare.views import MetaClassifier


@parametrize_with_checks([MetaClassifier(max_epochs=50, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
