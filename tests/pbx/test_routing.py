# -*- test-case-name: tests.pbx.test_routing -*-
"""
Tests for L{tpbx.pbx.routing}: the dialled number, the extension step,
and the chain in which the first step that does not continue decides.
"""

from __future__ import annotations

import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.pbx.sipfixtures import ALICE, directory
from tpbx.pbx.routing import (CONTINUE, DialPlan, Destination, ExtensionStep, IRouteStep,
                              Reject, RouteContext, Targets, dialledNumber)


def _context(dialled: str) -> RouteContext:
    return RouteContext(dialled, ALICE, 1_700_000_000.0)


@pytest.mark.parametrize("user, dialled", [
    ("1002", "1002"),
    ("+1 (555) 010-0199", "+15550100199"),
    ("555.0100", "5550100"),
    ("*72", "*72"),
    ("#1", "#1"),
    ("", ""),
    (None, ""),
])
def test_dialledNumber(user, dialled):
    """Visual separators (RFC 3966 sec. 5.1.1) are dropped; the digits,
    C{+}, C{*} and C{#} stay; no user part dials nothing."""
    assert dialledNumber(user) == dialled


def test_extensionStepRingsExtension():
    """A known extension number gives one extension destination, with the
    default ring time and no plan for failure."""
    step = ExtensionStep(directory())
    assert verifyObject(IRouteStep, step)
    result = step.route(_context("1002"))
    assert result == Targets((Destination("extension", "1002"),))
    assert result.ringTime is None and result.onFailure is None
    assert result.destinations[0].headers == ()


def test_extensionStepContinues():
    """A number that is no extension is left to the next step."""
    assert ExtensionStep(directory()).route(_context("9999")) is CONTINUE


@implementer(IRouteStep)
class _Fixed:
    """A step that always says the same, and counts how often it is asked."""

    def __init__(self, result):
        self.result = result
        self.asked = 0

    def route(self, context):
        self.asked += 1
        return self.result


def test_firstDecisionWins():
    """Steps run in order; the first that does not continue decides and
    later steps are not asked."""
    busy = Reject(486)
    steps = [_Fixed(CONTINUE), _Fixed(busy), _Fixed(Reject(500))]
    assert DialPlan(steps).route(_context("1")) is busy
    assert [s.asked for s in steps] == [1, 1, 0]


def test_nothingMatches():
    """When every step continues, or there are none, the call gets 404."""
    assert DialPlan([_Fixed(CONTINUE)]).route(_context("1")) == Reject(404)
    assert DialPlan().route(_context("1")) == Reject(404)


def test_extensionPlan():
    """A plan with the extension step rings extensions, 404s the rest."""
    plan = DialPlan([ExtensionStep(directory())])
    assert plan.route(_context("1003")).destinations == (Destination("extension", "1003"),)
    assert plan.route(_context("2000")) == Reject(404)


def test_decisionsAreValues():
    """Targets, destinations and rejections are immutable values compared
    by content (steps may be rebuilt and results cached safely)."""
    headers = (("Call-Info", "<sip:pbx>;answer-after=0"),)
    assert Destination("extension", "1002", headers) == Destination("extension", "1002", headers)
    assert Reject(404, "Not Found") != Reject(404)
    targets = Targets((Destination("uri", "sip:x@example.net"),), 20)
    with pytest.raises(AttributeError):
        targets.ringTime = 30
    assert repr(CONTINUE) == "CONTINUE"
