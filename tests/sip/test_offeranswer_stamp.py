# -*- test-case-name: tests.sip.test_offeranswer_stamp -*-
"""
Tests for L{tpbx.sip.localsession.LocalSession}: stamping a body without a
copy, and the telephone-event type of the last description sent, kept
without the description.
"""

import pytest

from tpbx.pbx.anchor import eventType, firstAudio
from tpbx.sip.localsession import LocalSession
from tpbx.sip.offeranswer import CodecPolicy, answerOffer, holdOffer, makeOffer
from tpbx.sip.sdp import parseSDP
from tests.sip.test_sdp import BARESIP, POLYCOM, SIPP_UAC


def test_stampBody():
    """
    stampBody() returns the body stamp() would write, keeps it as
    lastBody, follows the same version rules and leaves its input alone.
    """
    copying, direct = (LocalSession("192.0.2.1", sessionId="7"),
                       LocalSession("192.0.2.1", sessionId="7"))
    first = parseSDP(BARESIP)
    for sdp in (first, parseSDP(BARESIP), holdOffer(first), first):
        before = sdp.toBytes()
        body = direct.stampBody(sdp)
        assert body == copying.stamp(sdp).toBytes() == direct.lastBody
        assert direct.version == copying.version
        assert sdp.toBytes() == before
    assert direct.version == 3
    assert parseSDP(direct.lastBody).origin.sessionVersion == 3


@pytest.mark.parametrize("body", [BARESIP, POLYCOM, SIPP_UAC])
def test_lastEventType(body):
    """
    lastEventType is the telephone-event type of the first live audio
    stream of the last description stamped: what parsing lastBody again
    would give.
    """
    leg = LocalSession("192.0.2.1")
    assert leg.lastEventType is None
    leg.stamp(parseSDP(body))
    assert leg.lastEventType == eventType(leg.last) == leg.last.eventType()


def test_lastEventTypeFollowsStamps():
    """
    lastEventType changes with each description stamped (stamp() or
    stampBody()) and is a plain int, not a description kept alive.
    """
    leg = LocalSession("192.0.2.1")
    leg.stampBody(makeOffer(CodecPolicy(), "192.0.2.1", 4000,
                            dtmfPayloadType=96))
    assert leg.lastEventType == 96 and type(leg.lastEventType) is int
    answer, _, event = answerOffer(parseSDP(SIPP_UAC), CodecPolicy(),
                                   "192.0.2.1", 4000)
    leg.stamp(answer)
    assert leg.lastEventType is None is event
    rejected = parseSDP(BARESIP)
    rejected.media[0].port = 0
    leg.stamp(parseSDP(POLYCOM))
    leg.stamp(rejected)
    assert leg.lastEventType is None


def test_lastEventTypeReadOnly():
    """
    lastEventType cannot be assigned: only stamping sets it.
    """
    leg = LocalSession("192.0.2.1")
    with pytest.raises(AttributeError):
        leg.lastEventType = 101


def test_anchorHelpers():
    """
    anchor.eventType and firstAudio answer as the description does;
    eventType of no description is None.
    """
    sdp = parseSDP(BARESIP)
    assert eventType(sdp) == sdp.eventType() == 101
    assert firstAudio(sdp) == sdp.firstAudio() == 0
    assert eventType(None) is None
