# -*- test-case-name: tests.sip.test_invite_parts -*-
"""
Tests for how L{tpbx.sip.invite} is put together: the session written in
L{tpbx.sip.inviteactions}, L{tpbx.sip.inviteclient} and
L{tpbx.sip.inviteserver} keeps one import surface, and the per-call work
the split removed (a second session-timer negotiation, a seeded generator
per session) stays removed without changing what goes on the wire.
"""

import pytest

from tpbx.sip import invite, inviteactions, inviteclient, inviteserver
from tpbx.sip.dialog import newRequest
from tpbx.sip.invite import InviteSession, InviteState
from tpbx.sip.reply import makeResponse
from tpbx.sip.sessiontimer import SessionTimerPolicy

from tests.sip.invitepair import OFFER, SDP
from tests.sip.test_invite import connected


@pytest.mark.parametrize("module", [invite, inviteactions, inviteclient,
                                    inviteserver])
def test_everyModuleExportsWhatItNames(module):
    """Each module's C{__all__} names only what it defines or re-exports."""
    assert module.__all__
    assert all(hasattr(module, name) for name in module.__all__)


def test_callersImportFromInvite():
    """The names callers import from L{tpbx.sip.invite} are the objects the
    other modules use, and the session has both halves' methods."""
    for name in ("InviteState", "Role", "SendRequest", "SendResponse",
                 "SendAck", "Event"):
        assert getattr(invite, name) is getattr(inviteactions, name)
    for method in ("receiveResponse", "transactionEnded", "ackFor",
                   "sendAck", "receiveRequest", "receiveCancel",
                   "ackReceived", "respond", "due"):
        assert callable(getattr(InviteSession, method))


def _incoming(policy):
    invite = newRequest(
        "INVITE", "sip:bob@b.example", "<sip:alice@a.example>",
        "<sip:bob@b.example>", "sip:alice@a.example", "SIP/2.0/UDP a.example",
        body=OFFER, contentType=SDP,
        extraHeaders=[("Supported", "timer"), ("Session-Expires", "300")])
    session = InviteSession.incoming(invite, "txn", "btag", "sip:bob@b.example",
                                     "SIP/2.0/UDP b.example", policy=policy)
    return session, invite


@pytest.mark.parametrize("status", [200, 486])
def test_uasTimerNegotiatedOnceAndForgotten(status):
    """
    The terms negotiated when the INVITE arrives (RFC 4028 sec. 9) are the
    ones its 2xx carries; once the INVITE has its final response nothing
    is kept for it.
    """
    session, invite = _incoming(SessionTimerPolicy(sessionExpires=1800))
    assert [e.kind for e in session.start(0.0)] == ["offer"]
    [ringing] = session.respond(invite, 180, 0.0)
    assert ringing.response.headers.get("Session-Expires") is None
    [final, *_] = session.respond(invite, status, 0.0)
    expires = final.response.headers.get("Session-Expires")
    if status == 200:
        assert expires == "300;refresher=uac"
        assert final.response.headers.get("Require") == "timer"
        assert session.sessionTimer.interval == 300
    else:
        assert expires is None and session.state is InviteState.DISCONNECTED
    assert session._timerTerms == {}


def test_sessionWithoutGeneratorStillRandomizesGlare():
    """A session given no C{rng} makes one when it first needs it: its
    glare retry still falls in the caller's 2.1-4 s window (sec. 14.1)."""
    pair = connected()
    side = pair.a
    side.session._rng = None
    side.do(side.session.reinvite(pair.now, OFFER, SDP))
    refused = makeResponse(side.session._pendingOut, 491)
    side.do(side.session.receiveResponse(refused, 10.0))
    assert 2.1 <= side.session._retryAt - 10.0 <= 4.0
