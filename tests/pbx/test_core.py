# -*- test-case-name: tests.pbx.test_core -*-
"""
Tests for L{tpbx.pbx.core.PBXCore}: the RFC 3261 sec. 8.2 checks and the
method handlers, driven end to end.  Each request is written out as bytes,
parsed by L{tpbx.sip.parser.parseMessage} and fed to a real L{SIPEngine}
over a real L{TransactionLayer}, L{DigestAuthenticator} and L{Registrar}
(L{tests.pbx.corestack.Stack}); the assertions read what the fake sender
was given.  Every scenario ends with the transaction timers run out and no
DelayedCall left.
"""

from __future__ import annotations

import pytest
from zope.interface.verify import verifyObject

from tests.pbx.corestack import NOW, SETTLE, Stack, ack, authenticated, masked, sipRequest
from tests.pbx.sipfixtures import ALICE, HOST, PHONE, answer
from tpbx.interfaces import ITransactionUser
from tpbx.pbx.core import KNOWN_METHODS, CoreSettings
from tpbx.sip.address import parseNameAddr
from tpbx.sip.peer import Peer
from tpbx.sip.message import Request
from tpbx.sip.parser import parseMessage

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK"
SDP = b"v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\n"


@pytest.fixture
def stack():
    stack = Stack()
    yield stack
    stack.settle()


def test_coreProvidesITransactionUser():
    """PBXCore is a real ITransactionUser."""
    assert verifyObject(ITransactionUser, Stack().core)


# REGISTER

def test_registerChallengeThenOk(stack):
    """
    RFC 3261 sec. 10.3 / 22.4: a REGISTER without credentials gets 401 with
    a challenge; answered with C{digestAuthorization}, it gets 200 listing
    the binding, and the binding is in the location service.  Every
    response carries the Server header.
    """
    challenge = stack.final(sipRequest("REGISTER", headers=[
        ("Contact", "<sip:1001@192.168.1.10:5062>")]))
    assert challenge.status == 401
    assert challenge.headers.getAll("WWW-Authenticate")
    assert challenge.headers.get("Server") == "tpbx"
    request = sipRequest("REGISTER", cseq=2, headers=[
        ("Contact", "<sip:1001@192.168.1.10:5062>")])
    ok = stack.final(answer(request, challenge, ALICE.authId, ALICE.password))
    assert (ok.status, ok.headers.get("Server")) == (200, "tpbx")
    assert ok.headers.get("Contact").startswith("<sip:1001@192.168.1.10:5062>;expires=")
    [binding] = stack.location.lookup("1001", stack.clock.seconds())
    assert binding.peer == PHONE
    assert stack.guard.failures == []


def test_registerWrongPassword(stack):
    """
    A wrong password gets a fresh 401 challenge, not 403 (so it cannot be
    told from an unknown user), and the guard counts the failure (I3).
    """
    challenge = stack.final(sipRequest("REGISTER"))
    request = answer(sipRequest("REGISTER", cseq=2), challenge, ALICE.authId, "wrong-pw")
    again = stack.final(request)
    assert again.status == 401 and again.headers.getAll("WWW-Authenticate")
    assert stack.guard.failures == [(PHONE.host, NOW, ALICE.authId)]
    assert stack.location.allBindings(NOW) == []


def test_registerUnknownUserLooksLikeKnownUser(stack):
    """
    An unknown user gets the same 401 as a known one, byte for byte apart
    from the nonce and the To tag: both without credentials and with
    wrong credentials (sipvicious svwar/svcrack compare exactly these).
    """
    known = stack.final(sipRequest("REGISTER", user="1001", callId="c-1"))
    unknown = stack.final(sipRequest("REGISTER", user="4444", callId="c-1",
                                     branch="z9hG4bK-other"))
    assert known.status == unknown.status == 401
    assert masked(known, "1001") == masked(unknown, "4444")
    wrongKnown = stack.final(answer(sipRequest("REGISTER", user="1001", cseq=2, callId="c-1"),
                                    known, "1001", "guess"))
    wrongUnknown = stack.final(answer(sipRequest("REGISTER", user="4444", cseq=2, callId="c-1"),
                                      unknown, "4444", "guess"))
    assert masked(wrongKnown, "1001") == masked(wrongUnknown, "4444")
    assert [f[2] for f in stack.guard.failures] == ["1001", "4444"]


def test_registerChallengeIsStateless(stack):
    """
    A REGISTER challenged over UDP keeps no transaction (as Kamailio's auth
    replies statelessly): its retransmission gets a fresh 401 and the layer
    holds nothing for it.
    """
    request = sipRequest("REGISTER", branch="z9hG4bK-same")
    first = stack.final(request)
    assert first.status == 401
    assert len(stack.engine.layer) == 0
    second = stack.final(request)
    assert second.status == 401 and second is not first
    assert len(stack.guard.requests) == 2
    assert len(stack.engine.layer) == 0 and stack.clock.getDelayedCalls() == []


def test_statelessChallengeKeepsItsToTag(stack):
    """
    Sec. 8.2.7: a stateless UAS makes the same To tag for the same request
    every time, so a retransmission's challenge is the same answer (but
    for its nonce); another request gets another tag.
    """
    request = sipRequest("INVITE", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-same")
    first, again = stack.final(request), stack.final(request)
    other = stack.final(sipRequest("INVITE", f"sip:1002@{HOST}", user="1002",
                                   branch="z9hG4bK-other"))
    assert first.status == again.status == other.status == 407
    tags = [parseNameAddr(r.headers.get("To")).tag for r in (first, again, other)]
    assert tags[0] and tags[0] == tags[1] != tags[2]
    assert len(stack.engine.layer) == 0


def test_registerRetransmissionAnsweredByTransaction(stack):
    """
    Sec. 17.2.2: a retransmitted REGISTER that was answered (here 400) gets
    the same response again from the transaction; the core (and the guard's
    flood counter) sees it once.
    """
    request = sipRequest("REGISTER", branch="z9hG4bK-same",
                         headers=[("Contact", "<sip:1001@192.168.1.10:5062")])
    first = stack.final(request)
    assert first.status == 400
    second = stack.final(request)
    assert second is first
    assert len(stack.guard.requests) == 1


@pytest.mark.parametrize("headers, reason", [
    ([], "To must be a SIP or SIPS URI"),
    ([("Contact", "<sip:1001@192.168.1.10:5062")], None),
])
def test_registerSyntaxCheckedBeforeAuth(stack, headers, reason):
    """
    Sec. 10.3 steps 1-2: a REGISTER whose To is not a SIP URI, or whose
    Contact does not parse, gets 400 before any challenge.
    """
    request = sipRequest("REGISTER", headers=headers)
    if reason is not None:
        request.headers.set("To", "<tel:+15551001>")
    response = stack.final(request)
    assert response.status == 400
    if reason is not None:
        assert response.reason == reason
    assert not response.headers.getAll("WWW-Authenticate")


def test_registerMaxForwardsZeroStillProcessed(stack):
    """Sec. 8.2.2 / 16.3: Max-Forwards 0 is fine for a REGISTER to us."""
    request = sipRequest("REGISTER")
    request.headers.set("Max-Forwards", "0")
    assert stack.final(request).status == 401


# OPTIONS

def test_optionsToServerAnswersCapabilities(stack):
    """
    Sec. 11.2: OPTIONS to the server (no user part) gets 200 with Allow,
    Accept and Supported, without authentication; Max-Forwards 0 is
    accepted for OPTIONS (sec. 16.3 lets the target answer it).
    """
    request = sipRequest("OPTIONS")
    request.headers.set("Max-Forwards", "0")
    response = stack.final(request)
    assert response.status == 200
    assert response.headers.get("Allow") == ALLOW
    assert response.headers.get("Accept") == "application/sdp"
    assert response.headers.get("Supported") == "path, replaces"
    assert response.headers.get("Server") == "tpbx"
    assert "tag=" in response.headers.get("To")


@pytest.mark.parametrize("user", ["1002", "4444"])
def test_optionsToUserNeedsAuthentication(stack, user):
    """
    OPTIONS to a user is challenged with 407 before the user is looked
    up, for known and unknown users alike (an unauthenticated scanner
    learns nothing).
    """
    response = stack.final(sipRequest("OPTIONS", f"sip:{user}@{HOST}", user=user))
    assert response.status == 407
    assert response.headers.getAll("Proxy-Authenticate")
    assert not response.headers.getAll("WWW-Authenticate")


def test_optionsToKnownAndUnknownUserLookAlike(stack):
    """The 407s for a real and a made-up user differ only in nonce and tag."""
    known = stack.final(sipRequest("OPTIONS", f"sip:1002@{HOST}", user="1002"))
    unknown = stack.final(sipRequest("OPTIONS", f"sip:4444@{HOST}", user="4444"))
    assert masked(known, "1002") == masked(unknown, "4444")


@pytest.mark.parametrize("user, status", [("1002", 200), ("4444", 404)])
def test_optionsToUserAuthenticated(stack, user, status):
    """
    Authenticated, OPTIONS to a known user gets 200 with the capabilities
    and to an unknown one 404: only now is existence revealed.
    """
    request = authenticated(stack, "OPTIONS", user)
    response = stack.final(request)
    assert response.status == status
    if status == 200:
        assert response.headers.get("Allow") == ALLOW


# INVITE and SUBSCRIBE

@pytest.mark.parametrize("user", ["1002", "4444"])
def test_inviteChallengedBeforeLookup(stack, user):
    """
    An INVITE is answered 407 for known and unknown users alike, at once,
    so with no 100 Trying (sec. 17.2.1); the ACK ends the transaction.
    """
    invite = sipRequest("INVITE", f"sip:{user}@{HOST}", user=user)
    responses = stack.receive(invite)
    assert [r.status for r in responses] == [407]
    assert stack.receive(ack(invite, responses[0])) == []


@pytest.mark.parametrize("user, status", [("1002", 480), ("4444", 404)])
def test_inviteAuthenticated(stack, user, status):
    """
    An authenticated INVITE to an unknown user gets 404; to a known one
    480 (calls are not routed yet).
    """
    request = authenticated(stack, "INVITE", user)
    response = stack.final(request)
    assert response.status == status
    stack.receive(ack(request, response))


@pytest.mark.parametrize("user, status", [("1002", 489), ("4444", 404)])
def test_subscribeAuthenticated(stack, user, status):
    """
    SUBSCRIBE is challenged like INVITE; authenticated, an unknown user
    gets 404 and a known one 489 Bad Event (no event packages yet).
    """
    request = authenticated(stack, "SUBSCRIBE", user)
    assert stack.final(request).status == status


def test_inviteToTelURI(stack):
    """A tel: Request-URI (no user part) is a user nobody has: 404."""
    request = authenticated(stack, "INVITE", "1002", "tel:+15551002")
    response = stack.final(request)
    assert response.status == 404
    stack.receive(ack(request, response))


# Sec. 8.2 checks, in their order

def test_unknownMethodIs501WithAllow(stack):
    """Sec. 8.2.1: a method we do not know gets 501 with Allow."""
    response = stack.final(sipRequest("FROB"))
    assert response.status == 501
    assert response.headers.get("Allow") == ALLOW


def test_knownMethodsAreTheOnesOfTheRFCs():
    """Every method we serve is known; MESSAGE and PUBLISH are known too."""
    assert set(CoreSettings().allow) <= set(KNOWN_METHODS)
    assert {"MESSAGE", "PUBLISH"} <= set(KNOWN_METHODS)


def test_unsupportedSchemeIs416(stack):
    """
    Sec. 8.2.2.1: a Request-URI scheme we do not serve gets 416 (the
    parser refuses it first; the core checks again for other sources).
    """
    request = sipRequest("OPTIONS")
    request.uri = "mailto:someone@example.com"
    stack.engine.messageReceived(request, PHONE)
    [(response, _)] = stack.sender.sent
    assert response.status == 416


@pytest.mark.parametrize("value", ["abc", "-1", "12345678901", "\u0661"])
def test_badMaxForwardsIs400(stack, value):
    """A Max-Forwards that is not 1*DIGIT (sec. 20.22) gets 400."""
    request = sipRequest("OPTIONS")
    request.headers.set("Max-Forwards", value)
    stack.engine.messageReceived(request, PHONE)
    [(response, _)] = stack.sender.sent
    assert (response.status, response.reason) == (400, "Invalid Max-Forwards")


def test_maxForwardsZeroIs483(stack):
    """Sec. 16.3 / 8.2: an INVITE with Max-Forwards 0 gets 483."""
    invite = sipRequest("INVITE", f"sip:1002@{HOST}", user="1002")
    invite.headers.set("Max-Forwards", "0")
    responses = stack.receive(invite)
    assert [r.status for r in responses] == [483]
    stack.receive(ack(invite, responses[0]))


def _onAnotherPath(request: Request, branch: str) -> Request:
    """@return: a copy of C{request} as a forking proxy would bring it by
    another path: the same From tag, Call-ID and CSeq, another branch."""
    copy = parseMessage(request.toBytes())
    copy.headers.set("Via", f"SIP/2.0/UDP 192.168.1.10:5062;branch={branch}")
    return copy


@pytest.mark.parametrize("method", ["INVITE", "SUBSCRIBE"])
def test_mergedRequestIs482(stack, method):
    """
    Sec. 8.2.2.2: a second copy of a dialog-creating request (same From
    tag, Call-ID and CSeq, no To tag) arriving by another path while the
    first is in progress gets 482.
    """
    first = authenticated(stack, method, "1002")
    assert stack.final(first).status != 482
    copy = _onAnotherPath(first, "z9hG4bK-path2")
    assert stack.final(copy, Peer("udp", "192.168.1.10", 5064)).status == 482


def test_challengedRequestIsNotInProgress(stack):
    """
    Sec. 8.2.7: a challenge over UDP is answered statelessly, so the
    challenged request is not in progress: a copy by another path gets
    its own challenge, not 482, and nothing is kept.
    """
    first = sipRequest("SUBSCRIBE", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-path1")
    assert stack.final(first).status == 407
    assert len(stack.engine.layer) == 0 and stack.core._merged == {}
    copy = sipRequest("SUBSCRIBE", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-path2")
    assert stack.final(copy, Peer("udp", "192.168.1.10", 5064)).status == 407


@pytest.mark.parametrize("method", ["REGISTER", "OPTIONS"])
def test_otherMethodsAreNeverMerged(stack, method):
    """Only dialog-creating requests are merge-checked: a REGISTER or
    OPTIONS copy on another branch is processed normally."""
    assert stack.final(sipRequest(method, branch="z9hG4bK-a")).status != 482
    assert stack.final(sipRequest(method, branch="z9hG4bK-b")).status != 482


def test_mergeEntryOutlivesTheMergedCopy(stack):
    """
    When the merged copy's transaction ends first, the original is still
    in progress: a third copy must still get 482.
    """
    tcp = Peer("tcp", "192.168.1.10", 5066, flow=1)
    first = authenticated(stack, "SUBSCRIBE", "1002")
    copy, third = _onAnotherPath(first, "z9hG4bK-p2"), _onAnotherPath(first, "z9hG4bK-p3")
    assert stack.final(first).status == 489
    assert stack.final(copy, tcp).status == 482   # Timer J is 0 over TCP: ended
    assert stack.final(third, Peer("udp", "192.168.1.10", 5068)).status == 482


def test_mergeEntryForgottenWhenOriginalEnds(stack):
    """Once the original's transaction has ended, the same request is new."""
    first = sipRequest("SUBSCRIBE", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-p1")
    again = sipRequest("SUBSCRIBE", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-p2")
    assert stack.final(first).status == 407
    stack.clock.advance(SETTLE)
    assert stack.final(again).status == 407


def test_unsupportedRequireIs420(stack):
    """Sec. 8.2.2.3: option tags we do not support are listed in Unsupported."""
    request = sipRequest("OPTIONS", headers=[("Require", "100rel, path"), ("Require", "foo")])
    response = stack.final(request)
    assert response.status == 420
    assert response.headers.get("Unsupported") == "100rel, foo"


def test_supportedRequireAccepted(stack):
    """A Require naming only tags in Supported goes on (case-insensitively)."""
    request = sipRequest("REGISTER", headers=[("Require", "PATH")])
    assert stack.final(request).status == 401


def test_requireIgnoredForCancel(stack):
    """Sec. 8.2.2.3: Require is not checked for CANCEL (or ACK)."""
    request = sipRequest("CANCEL", headers=[("Require", "foo")])
    assert stack.final(request).status == 481


@pytest.mark.parametrize("method, status", [("INVITE", 407), ("UPDATE", 481)])
def test_sdpBodyAccepted(stack, method, status):
    """An application/sdp body passes the body check."""
    request = sipRequest(method, f"sip:1002@{HOST}", user="1002", body=SDP,
                         headers=[("Content-Type", "application/sdp; charset=x")])
    response = stack.final(request)
    assert response.status == status
    if method == "INVITE":
        stack.receive(ack(request, response))


@pytest.mark.parametrize("method", ["INVITE", "UPDATE"])
def test_unreadableBodyIs415BeforeAuth(stack, method):
    """
    Sec. 8.2.3: a body of a type we cannot read gets 415 with Accept,
    before authentication (it reveals nothing).
    """
    request = sipRequest(method, f"sip:1002@{HOST}", user="1002", body=b"hello",
                         headers=[("Content-Type", "text/plain")])
    response = stack.final(request)
    assert response.status == 415
    assert response.headers.get("Accept") == "application/sdp"
    if method == "INVITE":
        stack.receive(ack(request, response))


@pytest.mark.parametrize("accept, status", [
    ("text/html", 406), ("text/*, image/png", 406),
    ("application/*", 407), ("*/*", 407), ("application/sdp;q=0.5", 407),
])
def test_acceptExcludingSdpIs406(stack, accept, status):
    """Sec. 21.4.7: an INVITE whose Accept excludes SDP gets 406."""
    request = sipRequest("INVITE", f"sip:1002@{HOST}", user="1002",
                         headers=[("Accept", accept)])
    response = stack.final(request)
    assert response.status == status
    stack.receive(ack(request, response))


# Methods we do not serve

@pytest.mark.parametrize("method", ["BYE", "INFO", "UPDATE", "PRACK", "NOTIFY", "REFER"])
def test_inDialogMethodsOutsideDialogAre481(stack, method):
    """Sec. 12.2.2: a mid-dialog request for no dialog of ours gets 481."""
    assert stack.final(sipRequest(method, f"sip:1002@{HOST}", user="1002")).status == 481


@pytest.mark.parametrize("method", ["MESSAGE", "PUBLISH"])
def test_messageAndPublishAre405(stack, method):
    """Sec. 8.2.1: a known method we do not serve gets 405 with Allow."""
    response = stack.final(sipRequest(method, f"sip:1002@{HOST}", user="1002"))
    assert response.status == 405
    assert response.headers.get("Allow") == ALLOW


def test_cancelWithoutInviteIs481(stack):
    """Sec. 9.2: a CANCEL matching no INVITE transaction gets 481."""
    assert stack.final(sipRequest("CANCEL", f"sip:1002@{HOST}", user="1002")).status == 481


def test_cancelMatchingInviteIs200(stack):
    """
    Sec. 9.2: a CANCEL that matches an INVITE transaction still in
    existence gets 200, even though the INVITE has its final response
    already (the CANCEL then has no effect on it).
    """
    invite = authenticated(stack, "INVITE", "1002")
    assert [r.status for r in stack.receive(invite)] == [480]
    cancel = parseMessage(invite.toBytes())
    cancel.method = "CANCEL"
    cancel.headers.set("CSeq", f"{invite.cseq[0]} CANCEL")
    assert stack.final(cancel).status == 200


def test_cancelOfChallengedInviteIs481(stack):
    """
    Sec. 8.2.7, 9.2: an INVITE challenged over UDP leaves no transaction
    (the challenge is stateless), so a CANCEL of it matches nothing: 481.
    """
    invite = sipRequest("INVITE", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-inv")
    assert [r.status for r in stack.receive(invite)] == [407]
    cancel = sipRequest("CANCEL", f"sip:1002@{HOST}", user="1002", branch="z9hG4bK-inv")
    assert stack.final(cancel).status == 481


def test_strayAckIgnored(stack):
    """An ACK matching no transaction gets nothing (sec. 17.1.1.3)."""
    assert stack.receive(sipRequest("ACK", f"sip:1002@{HOST}", user="1002")) == []


# The guard and the Server header

def test_blockedHostDroppedWithoutLeak():
    """
    SPEC I3: a request from an address the guard refuses gets no answer,
    and its server transaction does not linger (no memory, no timer).
    """
    stack = Stack(blocked={PHONE.host})
    assert stack.receive(sipRequest("REGISTER")) == []
    invite = sipRequest("INVITE", f"sip:1002@{HOST}", user="1002")
    assert [r.status for r in stack.receive(invite)] == []
    assert len(stack.engine.layer) == 0
    assert stack.guard.requests == [(PHONE.host, NOW), (PHONE.host, NOW)]
    stack.settle()


def test_serverHeaderOptional():
    """An empty serverHeader setting sends no Server header."""
    stack = Stack(settings=CoreSettings(serverHeader=""))
    response = stack.final(sipRequest("OPTIONS"))
    assert response.status == 200 and "Server" not in response.headers
    stack.settle()
