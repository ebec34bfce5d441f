# -*- test-case-name: tests.sip.test_invite -*-
"""
Tests for L{tpbx.sip.invite}: a caller and a callee, each an
L{InviteSession} over a real L{TransactionLayer}, exchanging messages as
bytes with explicit time (see L{tests.sip.invitepair}).
"""

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip.invite import InviteState, SendAck, SendRequest, cancelFor
from tpbx.sip.message import Request
from tpbx.sip.sessiontimer import SessionTimerPolicy
from tpbx.sip.timers import TimerConfig

from tests.sip.invitepair import ANSWER, OFFER, SDP, Pair

T = TimerConfig()
S = InviteState


def connected(**kwargs) -> Pair:
    """A call set up and confirmed on both sides, by t = 1."""
    pair = Pair(T, **kwargs)
    pair.call()
    pair.run(0.1)
    b = pair.b.session
    pair.b.do(b.respond(b.invite, 180, pair.now))
    pair.b.do(b.respond(b.invite, 200, pair.now, ANSWER, SDP))
    pair.run(1.0)
    assert (pair.a.session.state, b.state) == (S.CONFIRMED, S.CONFIRMED)
    return pair


def test_basicCallAndCallerBye():
    """INVITE, 180, 200, ACK set the call up: the caller hears ringing,
    answered and the answer, the callee the offer and the ACK; the
    caller's BYE ends both sides and nothing is left running."""
    pair = connected()
    assert pair.a.kinds() == ["ringing", "answered", "answer"]
    assert pair.b.kinds() == ["offer", "confirmed"]
    assert pair.b.session.dialog.state == "confirmed"
    pair.a.do(pair.a.session.hangup(pair.now))
    pair.run()
    assert pair.a.reasons() == ["local-bye"]
    assert pair.b.reasons() == ["remote-bye"]
    assert pair.sent("bob", 200)[-1] > pair.sent("alice", "BYE")[0]
    assert pair.idle()


def test_calleeBye():
    """The callee hangs up: a BYE with the callee's tag in From reaches the
    caller, who answers 200 and ends."""
    pair = connected()
    pair.b.do(pair.b.session.hangup(pair.now))
    pair.run()
    bye = [m for m in pair.a.received if getattr(m, "method", "") == "BYE"][0]
    assert "tag-bob" in bye.headers.get("From")
    assert bye.uri == pair.a.contact
    assert pair.a.reasons() == ["remote-bye"]
    assert pair.b.reasons() == ["local-bye"]
    assert pair.idle()


def test_cancelBeforeAnswer():
    """A CANCEL waits for a provisional (sec. 9.1), then gets 200, the
    INVITE 487, and both sides end as cancelled."""
    pair = Pair(T)
    pair.call()
    session = pair.a.session
    assert not session.canCancel
    assert session.hangup(0.0) == []
    pair.run()
    assert pair.sent("alice", "CANCEL") and pair.sent("bob", 487)
    assert pair.sent("alice", "CANCEL")[0] > pair.sent("bob", 100)[0]
    assert pair.a.reasons() == ["cancelled"]
    assert pair.b.reasons() == ["cancelled"]
    assert pair.idle()


def test_cancelAfterRinging():
    """After 180 the CANCEL goes at once."""
    pair = Pair(T)
    pair.call()
    pair.run(0.1)
    b = pair.b.session
    pair.b.do(b.respond(b.invite, 180, pair.now))
    pair.run(0.2)
    assert pair.a.session.canCancel
    [send] = pair.a.session.hangup(pair.now)
    assert send.request.method == "CANCEL"
    assert send.request.headers.get("Via") == pair.a.session.invite.headers.get("Via")
    pair.a.do([send])
    pair.run()
    assert b.state is S.DISCONNECTED and pair.idle()


def test_okCrossesCancel():
    """A 200 that crosses the CANCEL is ACKed and the call BYEd."""
    pair = Pair(T)
    pair.call()
    pair.run(0.1)
    b = pair.b.session
    pair.b.do(b.respond(b.invite, 180, pair.now))
    pair.run(0.2)
    pair.a.do(pair.a.session.hangup(pair.now))
    pair.b.do(b.respond(b.invite, 200, pair.now, ANSWER, SDP))
    pair.run()
    assert pair.sent("alice", "ACK") and pair.sent("alice", "BYE")
    assert pair.a.reasons() == ["local-bye"]
    assert pair.b.reasons() == ["remote-bye"]
    assert pair.idle()


def test_rejected():
    """A 486 ends the caller's session with the response as detail."""
    pair = Pair(T)
    pair.call()
    pair.run(0.1)
    pair.b.do(pair.b.session.hangup(pair.now, 486))
    pair.run()
    [event] = [e for e in pair.a.events if e.kind == "terminated"]
    assert (event.reason, event.message.status) == ("rejected", 486)
    assert pair.idle()


def test_okRetransmittedUntilAck():
    """The callee re-sends its 2xx at T1, 2T1, 4T1 ... capped at T2 until
    the ACK arrives; a late ACK stops it."""
    pair = Pair(T)
    pair.call()
    pair.run(0.1)
    dropped = []

    def dropThreeAcks(message):
        if getattr(message, "method", "") == "ACK" and len(dropped) < 3:
            dropped.append(message)
            return True
        return False

    pair.b.drop = dropThreeAcks
    b = pair.b.session
    pair.b.do(b.respond(b.invite, 200, pair.now, ANSWER, SDP))
    start = pair.now
    pair.run()
    resent = [round(t - start, 3) for t in pair.sent("bob", 200)]
    assert resent[:4] == [0.01, 0.51, 1.51, 3.51]
    assert len(dropped) == 3
    assert b.state is S.CONFIRMED
    assert b.nextDeadline() is None


def test_confirmedSessionKeepsLittle():
    """
    Once confirmed, a session keeps of its INVITE only what it reads
    again -- Call-ID and CSeq, and at the caller what a late fork's
    dialog and ACK need (From, Contact, credentials) -- and the caller
    keeps what re-makes its ACK (not the ACK) only while the 2xx may be
    re-sent (64*T1, sec. 13.3.1.4): a held call holds no more than that.
    The re-made ACK is the first one, branch and all.
    """
    pair = connected()
    a, b = pair.a.session, pair.b.session
    assert {name for name, _ in b.invite.headers} == {"Call-ID", "CSeq"}
    assert {name for name, _ in a.invite.headers} == {"Call-ID", "From", "CSeq", "Contact"}
    assert a.invite.body == OFFER and a.invite.cseq == (1, "INVITE")
    ok = [m for m in pair.a.received if getattr(m, "status", 0) == 200][0]
    [first] = [m for m in pair.b.received if getattr(m, "method", "") == "ACK"]
    assert not any(isinstance(v, Request) for v in a._lastAck)
    [again] = a.receiveResponse(ok, pair.now)
    assert isinstance(again, SendAck) and again.ack.cseq == (1, "ACK")
    sentHeaders = [h for h in first.headers if h[0] != "Content-Length"]  # added on the wire
    assert (again.ack.uri, list(again.ack.headers), again.ack.body) == (
        first.uri, sentHeaders, first.body)
    pair.run(pair.now + 64 * T.t1)
    assert a.receiveResponse(ok, pair.now) == [] and pair.idle()


def test_noAckMeansBye():
    """Without any ACK the 2xx is re-sent up to T2 apart and 64*T1 later
    the callee sends BYE (sec. 13.3.1.4)."""
    pair = Pair(T)
    pair.call()
    pair.run(0.1)
    pair.b.drop = lambda m: getattr(m, "method", "") == "ACK"
    b = pair.b.session
    pair.b.do(b.respond(b.invite, 200, pair.now, ANSWER, SDP))
    start = pair.now
    pair.run(start + 31.0)
    gaps = [round(y - x, 3) for x, y in zip(pair.sent("bob", 200), pair.sent("bob", 200)[1:])]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0] and set(gaps[4:]) == {4.0}
    pair.run()
    assert pair.b.reasons() == ["ack-timeout"]
    assert round(pair.sent("bob", "BYE")[0] - start, 3) == 32.01
    assert pair.a.reasons() == ["remote-bye"]


def test_calleeByeWaitsForAck():
    """A callee hanging up before the ACK sends its BYE only once the
    ACK is in (sec. 15)."""
    pair = Pair(T)
    pair.call()
    pair.run(0.1)
    b = pair.b.session
    pair.b.do(b.respond(b.invite, 200, pair.now, ANSWER, SDP))
    assert b.hangup(pair.now) == []
    pair.run()
    assert pair.sent("bob", "BYE")[0] > pair.sent("alice", "ACK")[0]
    assert pair.b.reasons() == ["local-bye"] and pair.idle()


def test_lateOffer():
    """An INVITE without body gets the offer in the 2xx; the caller's TU
    answers it in the ACK with sendAck, the callee hears the answer."""
    pair = Pair(T)
    pair.call(body=b"")
    pair.run(0.1)
    b = pair.b.session
    assert pair.b.kinds() == []
    pair.b.do(b.respond(b.invite, 200, pair.now, OFFER, SDP))
    pair.run(0.2)
    a = pair.a.session
    assert pair.a.kinds() == ["answered", "offer"]
    assert a.state is S.CONNECTING and not pair.sent("alice", "ACK")
    pair.a.do(a.sendAck(pair.now, ANSWER, SDP))
    pair.run(1.0)
    assert a.state is S.CONFIRMED
    assert pair.b.kinds() == ["answer", "confirmed"]
    assert pair.b.events[0].message.body == ANSWER


@pytest.mark.parametrize("side", ["a", "b"])
def test_reinvite(side):
    """Either side re-INVITEs with a new offer; the other hears the offer,
    answers 200, the sender hears the answer and ACKs; CSeq goes up."""
    pair = connected()
    sender = getattr(pair, side)
    other = pair.b if side == "a" else pair.a
    before = len(other.events)
    sender.do(sender.session.reinvite(pair.now, OFFER, SDP))
    assert not sender.session.canReinvite
    pair.run(pair.now + 0.1)
    [offer] = other.events[before:]
    assert offer.kind == "offer" and offer.message.method == "INVITE"
    other.do(other.session.respond(offer.message, 200, pair.now, ANSWER, SDP))
    pair.run(pair.now + 1.0)
    assert sender.events[-1].kind == "answer"
    assert sender.session.canReinvite
    pair.run(pair.now + 64 * T.t1)   # the ACK is kept while the 2xx may come again
    assert pair.idle()


def test_glare():
    """Both send re-INVITEs at once: each gets 491 (sec. 14.2); the caller
    (owner of the Call-ID) may retry after 2.1-4 s, the callee after
    0-2 s, in 10 ms steps, and the retry goes through."""
    pair = connected()
    start = pair.now
    pair.a.do(pair.a.session.reinvite(start, OFFER, SDP))
    pair.b.do(pair.b.session.reinvite(start, OFFER, SDP))
    pair.run(start + 0.05)
    assert pair.a.kinds()[-1] == "glare" and pair.b.kinds()[-1] == "glare"
    retryA = pair.a.session._retryAt - start
    retryB = pair.b.session._retryAt - start
    assert 2.1 <= retryA - 0.02 <= 4.0 and 0.0 <= retryB - 0.02 <= 2.0
    assert round((retryA - 0.02) * 100, 6) == int(round((retryA - 0.02) * 100))
    pair.run(start + 2.02)
    retry = pair.b.events[-1]
    assert retry.kind == "retry" and retry.message.method == "INVITE"
    pair.b.do(pair.b.session.reinvite(pair.now, OFFER, SDP))
    pair.run(pair.now + 0.05)
    offer = pair.a.events[-1]
    pair.a.do(pair.a.session.respond(offer.message, 200, pair.now, ANSWER, SDP))
    pair.run(pair.now + 0.05)
    assert pair.b.kinds()[-1] == "answer"


def test_glareWindows():
    """Over many seeds the retry delays fill exactly their windows."""
    for owner, low, high in ((True, 2.1, 4.0), (False, 0.0, 2.0)):
        delays = set()
        for seed in range(300):
            pair = connected()
            side = pair.a if owner else pair.b
            side.session._rng.seed(seed)
            side.do(side.session.reinvite(pair.now, OFFER, SDP))
            response = _fake491(side)
            side.do(side.session.receiveResponse(response, 10.0))
            delays.add(round(side.session._retryAt - 10.0, 2))
            if len(delays) > 20:
                break
        assert min(delays) >= low and max(delays) <= high


def _fake491(side):
    from tpbx.sip.reply import makeResponse
    request = side.session._pendingOut
    return makeResponse(request, 491)


def test_secondInviteWhileFirstPending():
    """A re-INVITE arriving before the previous one is answered gets 500
    with Retry-After 0-10 s (sec. 14.2)."""
    pair = connected()
    a, b = pair.a.session, pair.b.session
    pair.a.do(a.reinvite(pair.now, OFFER, SDP))
    pair.run(pair.now + 0.05)
    second = a.dialog.createRequest("INVITE", OFFER, SDP, via=a.via)
    [reply] = b.receiveRequest(second, object(), pair.now)
    assert reply.response.status == 500
    assert 0 <= int(reply.response.headers.get("Retry-After")) <= 10


def test_outOfOrder():
    """A request with a lower CSeq than the last gets 500 (sec. 12.2.2)."""
    pair = connected()
    a, b = pair.a.session, pair.b.session
    late = a.dialog.createRequest("INFO", via=a.via)
    a.dialog.createRequest("INFO", via=a.via)
    newer = a.dialog.createRequest("INFO", via=a.via)
    assert b.receiveRequest(newer, object(), pair.now)[0].kind == "request"
    [reply] = b.receiveRequest(late, object(), pair.now)
    assert (reply.response.status, reply.response.reason) == (500, "Out of order")


def test_forked2xx():
    """Two forks answer: the first 2xx wins; the other is ACKed and BYEd
    and recorded; the winner's call goes on."""
    pair = Pair(T, callees=2)
    pair.call()
    pair.run(0.1)
    for callee in pair.bs:
        s = callee.session
        callee.do(s.respond(s.invite, 180, pair.now))
    pair.run(0.2)
    assert set(pair.a.session.earlyDialogs) == {"tag-bob", "tag-bob1"}
    pair.b.do(pair.b.session.respond(pair.b.session.invite, 200, pair.now, ANSWER, SDP))
    pair.run(0.3)
    loser = pair.bs[1].session
    pair.bs[1].do(loser.respond(loser.invite, 200, pair.now, ANSWER, SDP))
    pair.run(5.0)
    a = pair.a.session
    assert a.dialog.remoteTag == "tag-bob" and a.state is S.CONFIRMED
    assert [r.headers.get("To") for r in a.forkedAnswers] == [
        "Bob <sip:bob@example.net>;tag=tag-bob1"]
    assert pair.bs[1].reasons() == ["remote-bye"]
    assert pair.b.session.state is S.CONFIRMED


def test_timeoutWithoutAnswer():
    """No answer at all: the INVITE transaction times out (Timer B) and
    the session ends with "timeout"."""
    pair = Pair(T)
    pair.b.drop = lambda m: True
    pair.call()
    pair.run()
    assert pair.a.reasons() == ["timeout"]
    assert pair.idle()


def test_recordRouteBothWays():
    """With two record-routing proxies the caller's route set is the
    Record-Route reversed, the callee's in order; loose routing keeps the
    remote target as Request-URI with the routes as Route headers."""
    rr = ["<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"]
    pair = connected(recordRoute=rr)
    a, b = pair.a.session, pair.b.session
    assert a.dialog.routeSet == rr[::-1]
    assert b.dialog.routeSet == rr
    pair.a.do(a.hangup(pair.now))
    pair.run()
    bye = [m for m in pair.b.received if getattr(m, "method", "") == "BYE"][0]
    assert bye.uri == pair.b.contact
    assert bye.headers.getAll("Route") == rr[::-1]


def test_sessionTimerRefreshAndExpiry():
    """With session timers on both sides the callee (UAS) chooses the
    caller as refresher: at half the interval the caller is told to
    refresh, an UPDATE refreshes both; when refreshes stop the callee
    BYEs at interval - min(32, interval/3)."""
    policy = SessionTimerPolicy(sessionExpires=120, minSE=90)
    pair = connected(policyA=policy, policyB=policy)
    a, b = pair.a.session, pair.b.session
    assert a.sessionTimer.weRefresh and not b.sessionTimer.weRefresh
    assert a.sessionTimer.interval == b.sessionTimer.interval == 120
    pair.run(61.0)
    assert pair.a.kinds()[-1] == "refresh"
    pair.a.do(a.update(pair.now))
    pair.run(62.0)
    assert b.sessionTimer.expiresAt == pytest.approx(61.01 + 120 - 32)
    pair.run(200.0)
    assert pair.b.reasons() == ["session-expired"]
    assert pair.a.reasons() == ["remote-bye"]


def test_sessionTimer422():
    """A callee with a larger Min-SE answers 422; the caller retries once
    with that interval and the call is set up."""
    pair = Pair(T, policyA=SessionTimerPolicy(sessionExpires=90),
                policyB=SessionTimerPolicy(sessionExpires=1800, minSE=600))
    pair.call()
    pair.run(0.5)
    assert pair.sent("bob", 422)
    b = pair.b.session
    assert b.invite.headers.get("Session-Expires") == "600"
    pair.b.do(b.respond(b.invite, 200, pair.now, ANSWER, SDP))
    pair.run(1.0)
    assert pair.a.session.state is S.CONFIRMED
    assert pair.a.session.sessionTimer.interval == 600


def test_reinviteFailureKeepsCall():
    """A 488 to a re-INVITE leaves the call up ("failed"); a 481 ends it."""
    pair = connected()
    a, b = pair.a.session, pair.b.session
    pair.a.do(a.reinvite(pair.now, OFFER, SDP))
    pair.run(pair.now + 0.05)
    pair.b.do(b.respond(pair.b.events[-1].message, 488, pair.now))
    pair.run(pair.now + 0.05)
    assert pair.a.kinds()[-1] == "failed" and a.state is S.CONFIRMED
    pair.a.do(a.request("INFO", pair.now))
    pair.run(pair.now + 0.05)
    pair.b.do(b.respond(pair.b.events[-1].message, 481, pair.now))
    pair.run(pair.now + 0.05)
    assert pair.a.reasons() == ["dialog-gone"]


def test_unitRules():
    """CANCEL copies the INVITE's identity; a session starts once; ACK
    for a 2xx uses the INVITE's CSeq; re-INVITE refused while pending."""
    pair = connected()
    a = pair.a.session
    [invite] = [m for m in pair.b.received if getattr(m, "method", "") == "INVITE"]
    cancel = cancelFor(invite)
    assert cancel.cseq == (invite.cseq[0], "CANCEL") == (a.invite.cseq[0], "CANCEL")
    assert cancel.uri == invite.uri == a.invite.uri
    with pytest.raises(ProtocolError):
        a.start(0.0)
    ok = [m for m in pair.a.received if getattr(m, "status", 0) == 200][0]
    ack = a.ackFor(ok)
    assert ack.cseq == (1, "ACK") and ack.uri == pair.b.contact
    [send] = a.reinvite(pair.now, OFFER, SDP)
    assert isinstance(send, SendRequest) and send.request.method == "INVITE"
    with pytest.raises(ProtocolError) as error:
        a.reinvite(pair.now, OFFER, SDP)
    assert error.value.statusHint == 491
    assert isinstance(a.receiveResponse(ok, pair.now)[0], SendAck)
