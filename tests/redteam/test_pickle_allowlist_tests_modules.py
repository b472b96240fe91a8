"""Red team (issue 13): `sklearn.<package>.**.[A-Z]*` reached into scikit-learn's own test
modules, which scikit-learn ships inside those packages and which import test doubles and
runners: unittest.mock.Mock, joblib's LokyBackend, random.Random, joblib's NumpyPickler.
Importing one also runs the test module's top-level code in the loading process.
"""

import io

import pytest

from registry.pickle_allowlist import AllowListError, is_never, parse_rule, rules_for
from registry.pickles import Limits, scan_stream

RE_EXPORTED_THROUGH_TESTS = [
    ("sklearn.ensemble.tests.test_iforest", "Mock"),
    ("sklearn.ensemble.tests.test_forest", "DEFAULT_JOBLIB_BACKEND"),
    ("sklearn.feature_extraction.tests.test_dict_vectorizer", "Random"),
    ("sklearn.tree.tests.test_tree", "NumpyPickler"),
    ("sklearn.ensemble._hist_gradient_boosting.tests.test_gradient_boosting", "Mock"),
]


@pytest.mark.parametrize(("module", "name"), RE_EXPORTED_THROUGH_TESTS)
def test_test_modules_are_never_allowed(module, name):
    assert is_never(module, name)
    assert not rules_for().allows(module, name)


@pytest.mark.parametrize(("module", "name"), RE_EXPORTED_THROUGH_TESTS[:1])
def test_a_pickle_importing_from_a_test_module_is_flagged_as_dangerous(module, name):
    data = f"c{module}\n{name}\n)R.".encode()
    verdict = scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)
    assert verdict.status == "flagged"
    assert verdict.findings[0]["safety"] == "dangerous"


def test_the_setting_cannot_allow_a_test_module():
    with pytest.raises(AllowListError):
        parse_rule("sklearn.ensemble.tests.test_iforest.Mock")


def test_real_estimator_classes_stay_allowed():
    rules = rules_for()
    assert rules.allows("sklearn.ensemble._forest", "RandomForestClassifier")
    assert rules.allows("sklearn.tree._classes", "DecisionTreeClassifier")
