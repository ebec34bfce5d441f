# -*- test-case-name: tests.pbx.test_incall -*-
"""
L{InCallCodes}: the record and transfer codes keyed during a call, per
party, with the inter-digit timeout on a fake clock.
"""

from __future__ import annotations

from twisted.internet.task import Clock

from tpbx.media.dtmf import Digit
from tpbx.pbx.incall import INTERDIGIT, InCallCodes


def _codes(record="*1", transfer="*2"):
    clock, seen = Clock(), []
    codes = InCallCodes(clock, record, transfer, lambda party: seen.append(("record", party)),
                        lambda party, number: seen.append(("transfer", party, number)))
    return clock, codes, seen


def _key(codes, party, digits):
    for digit in digits:
        codes.digit(party, digit)


def test_recordCode():
    """C{*1} calls the record callback with the party that keyed it, each
    time; digits before it that start no code are skipped; no timer is
    left after a code."""
    clock, codes, seen = _codes()
    _key(codes, "a", "55*1")
    _key(codes, "a", "*1")
    assert seen == [("record", "a"), ("record", "a")]
    assert clock.getDelayedCalls() == []


def test_transferWithHash():
    """C{*2}, a number and C{#} transfer; a L{Digit} works like its
    character."""
    clock, codes, seen = _codes()
    _key(codes, "b", "*2100")
    codes.digit("b", Digit("3", None, None, 0.0))
    assert seen == []
    codes.digit("b", "#")
    assert seen == [("transfer", "b", "1003")]
    assert clock.getDelayedCalls() == []


def test_transferOnTimeout():
    """Without C{#}, the number is complete after the inter-digit timeout;
    each digit restarts it."""
    clock, codes, seen = _codes()
    _key(codes, "a", "*21")
    clock.advance(INTERDIGIT - 0.5)
    _key(codes, "a", "2")
    clock.advance(INTERDIGIT - 0.5)
    assert seen == []
    clock.advance(0.5)
    assert seen == [("transfer", "a", "12")]
    assert clock.getDelayedCalls() == []


def test_partiesApartAndAbandoned():
    """Each party's digits are matched apart; a started code is forgotten
    after the timeout; C{*} inside a number, or C{#} alone, transfers
    nothing."""
    clock, codes, seen = _codes()
    _key(codes, "a", "*")
    _key(codes, "b", "1")
    _key(codes, "a", "1")
    assert seen == [("record", "a")]
    _key(codes, "b", "*")
    clock.advance(INTERDIGIT)
    _key(codes, "b", "1")
    _key(codes, "a", "*212*#")
    _key(codes, "a", "*2#")
    assert seen == [("record", "a")]
    assert clock.getDelayedCalls() == []


def test_codeOffAndStop():
    """An empty code is off; L{InCallCodes.stop} cancels pending timers."""
    clock, codes, seen = _codes(record="")
    _key(codes, "a", "*1*2")
    assert seen == []
    _key(codes, "a", "5")
    assert clock.getDelayedCalls()
    codes.stop()
    assert clock.getDelayedCalls() == []
    clock.advance(10)
    assert seen == []
