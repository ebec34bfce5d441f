"""
Tests for L{tpbx.pbx.features.plan}: the feature steps in a dial plan.
"""

from tests.pbx.features.fakes import FeatureDirectory, context, extensions, numbers
from tpbx.model import Extension, ForwardingRule, RingGroup
from tpbx.pbx.features.dialcodes import DialCodeStep, FeatureDone, matchDialCode
from tpbx.pbx.features.forwarding import ForwardingStep
from tpbx.pbx.features.plan import featureSteps
from tpbx.pbx.features.ringgroup import RingGroupStep
from tpbx.pbx.routing import DialPlan, Reject
from tpbx.testing_directory import FakeDirectory


def plan():
    directory = FeatureDirectory(extensions("100", "101", "102"),
                                 groups=[RingGroup("600", members=("101", "102"))])
    changes = []
    steps = featureSteps(directory, "pbx.example", lambda n, s: changes.append((n, s)))
    return steps, DialPlan(steps), changes


def test_order():
    """Dial codes first, then ring groups, then extensions."""
    steps, _, _ = plan()
    assert [type(s) for s in steps] == [DialCodeStep, RingGroupStep, ForwardingStep]


def test_routes():
    """One dial plan routes codes, groups and extensions; the rest is 404."""
    _, dialPlan, changes = plan()
    assert numbers(dialPlan.route(context("101"))) == ["101"]
    assert numbers(dialPlan.route(context("600"))) == ["101", "102"]
    assert dialPlan.route(context("*78")) == FeatureDone("DND on")
    assert changes == [("100", "dnd")]
    assert dialPlan.route(context("555")) == Reject(404)


def test_storeDirectoryCompatible():
    """Against the shared test directory (the store's dial code names and
    defaults), every default dial code is recognised, and a group and a
    forwarding rule route."""
    directory = FakeDirectory([Extension("100"), Extension("101"), Extension("102")],
                              ringGroups=[RingGroup("600", members=("101",))],
                              forwarding=[ForwardingRule("101", "busy", "extension:600")])
    codes = directory.dialCodes()
    for feature, code in codes.items():
        assert matchDialCode(code + "101", codes) in ((feature, "101"), None)
        assert matchDialCode(code, codes) in ((feature, ""), None)
        assert matchDialCode(code + "101", codes) or matchDialCode(code, codes)
    dialPlan = DialPlan(featureSteps(directory, "pbx.example", lambda n, s: None))
    assert numbers(dialPlan.route(context("101")).onFailure("busy")) == ["101"]
