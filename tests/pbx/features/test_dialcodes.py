"""
Tests for L{tpbx.pbx.features.dialcodes}: dial codes (SPEC E6) and
intercom (E4).
"""

import pytest
from hypothesis import given, strategies as st
from zope.interface.verify import verifyObject

from tests.pbx.features.fakes import CODES, FeatureDirectory, context, extensions
from tpbx.model import Extension
from tpbx.pbx.features.dialcodes import (DialCodeStep, FeatureDone, FeatureRequest,
                                         matchDialCode)
from tpbx.pbx.features.ringgroup import autoAnswerHeaders
from tpbx.pbx.routing import CONTINUE, Destination, IRouteStep, Reject, Targets

HOST = "pbx.example"


def setup(codes=None, exts=None):
    directory = FeatureDirectory(exts or extensions("100", "101"), codes=codes)
    changes = []
    step = DialCodeStep(directory, lambda number, status: changes.append((number, status)), HOST)
    return directory, step, changes


def test_interface():
    """The step is an IRouteStep."""
    assert verifyObject(IRouteStep, setup()[1])


@pytest.mark.parametrize("dialled", ["101", "", "*", "*7", "*9", "**", "*81", "*1x",
                                     "*9abc", "#78", "*3", "*78 1"])
def test_notACode(dialled):
    """Numbers and incomplete or malformed codes pass to the next step."""
    assert setup()[1].route(context(dialled)) is CONTINUE


def test_intercom():
    """*9 + extension rings it with the auto-answer headers."""
    result = setup()[1].route(context("*9101"))
    assert result == Targets((Destination("extension", "101", autoAnswerHeaders(HOST)),))


def test_intercomUnknown():
    """Intercom to no extension: 404."""
    assert setup()[1].route(context("*9109")) == Reject(404, "No such extension")


def test_intercomDND():
    """Intercom respects do-not-disturb: 486."""
    directory, step, _ = setup(exts=[Extension("100"), Extension("101", status="dnd")])
    assert step.route(context("*9101")) == Reject(486, "Do Not Disturb")


@pytest.mark.parametrize("dialled, status, message", [
    ("*78", "dnd", "DND on"), ("*79", "available", "DND off")])
def test_dnd(dialled, status, message):
    """The DND codes set the caller's status and say so."""
    directory, step, changes = setup()
    assert step.route(context(dialled, caller="100")) == FeatureDone(message)
    assert changes == [("100", status)]


@pytest.mark.parametrize("dialled, expected", [
    ("*8", FeatureRequest("pickup")),
    ("**101", FeatureRequest("directedPickup", "101")),
    ("*5", FeatureRequest("park")),
    ("*53", FeatureRequest("park", "3")),
    ("*6", FeatureRequest("unpark")),
    ("*61", FeatureRequest("unpark", "1")),
    ("*1", FeatureRequest("record")),
    ("*2102", FeatureRequest("transfer", "102")),
    ("*97", FeatureRequest("voicemail")),
    ("*97101", FeatureRequest("voicemail", "101")),
])
def test_featureRequests(dialled, expected):
    """Codes that act on calls come out as requests for the call manager."""
    directory, step, changes = setup()
    assert step.route(context(dialled)) == expected
    assert changes == []


def test_fromOutside():
    """Dial codes are refused to callers from outside (403)."""
    directory, step, changes = setup()
    for dialled in ("*78", "*9101", "*8"):
        assert step.route(context(dialled, caller=None)).status == 403
    assert changes == []


def test_longestCodeWins():
    """A code that is a prefix of another does not hide it."""
    codes = dict(CODES, park="*7")
    assert matchDialCode("*78", codes) == ("dndOn", "")
    assert matchDialCode("*71", codes) == ("park", "1")


def _longestFirst(dialled, codes):
    """The rule L{matchDialCode} keeps, stated plainly: try the codes
    longest first (of equal ones, in order) and take the first that fits."""
    for feature, code in sorted(codes.items(), key=lambda item: -len(item[1] or "")):
        if (match := matchDialCode(dialled, {feature: code})) is not None:
            return match
    return None


@given(st.text("*#0123456789", max_size=6),
       st.dictionaries(st.sampled_from(sorted(CODES) + ["queueLogin"]),
                       st.text("*#0123456789", max_size=3)))
def test_matchIsLongestFittingCode(dialled, codes):
    """Whatever the codes (prefixes of each other, empty, equally long,
    unknown features), the match is the longest code that fits."""
    assert matchDialCode(dialled, codes) == _longestFirst(dialled, codes)


def test_configuredCodes():
    """The codes in force are the directory's, read per call."""
    directory, step, _ = setup()
    directory.codes["intercom"] = "#4"
    assert step.route(context("*9101")) is CONTINUE
    assert step.route(context("#4101")).destinations[0].target == "101"


def test_disabledAndUnknownCodes():
    """An empty code is switched off; a feature this step does not know is
    ignored."""
    assert matchDialCode("*8", dict(CODES, pickup="")) is None
    assert matchDialCode("*4", {"queueLogin": "*4"}) is None
