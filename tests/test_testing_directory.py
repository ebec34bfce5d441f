# -*- test-case-name: tests.test_testing_directory -*-
"""
Tests for L{tpbx.testing_directory.FakeDirectory}: the in-memory
directory answers the call configuration lookups like the snapshot.
"""

from zope.interface.verify import verifyObject

from tpbx.interfaces import IDirectory
from tpbx.model import ForwardingRule, RingGroup
from tpbx.testing_directory import FakeDirectory


def test_callLookups():
    """
    Ring groups by number, rules per extension in the order given, dial
    codes with defaults and overrides from the settings, and an office
    hours answer that tests can set to a bool or a function of now.
    """
    rules = [ForwardingRule("100", "busy", "end"),
             ForwardingRule("101", "busy", "voicemail"),
             ForwardingRule("100", "no-answer", "voicemail")]
    directory = FakeDirectory(settings={"dialCodes": {"park": "*55"}},
                              ringGroups=[RingGroup("200", members=("100",))],
                              forwarding=rules)
    assert verifyObject(IDirectory, directory)
    assert directory.ringGroup("200").members == ("100",)
    assert directory.ringGroup("201") is None
    assert directory.forwardingRules("100") == (rules[0], rules[2])
    assert directory.forwardingRules("102") == ()
    assert directory.dialCodes()["park"] == "*55"
    assert directory.dialCodes()["pickup"] == "*8"
    assert directory.isOfficeHours(0.0)
    directory.officeHours = False
    assert not directory.isOfficeHours(0.0)
    directory.officeHours = lambda now: now > 10
    assert directory.isOfficeHours(11.0) and not directory.isOfficeHours(9.0)
