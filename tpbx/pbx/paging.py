# -*- test-case-name: tests.pbx.test_paging -*-
"""
One-way paging to many phones (SPEC E4): the caller talks, every member
of a paging group that answers (by itself, on its speaker) hears it, for
as long as the caller stays.

Why a L{Page} beside L{tpbx.pbx.call.Call} rather than inside it: a call
has one answered B leg and the first answer ends the ringing of the
others; a page keeps every answering member and never sends their audio
anywhere.  The legs, their sessions, timers and tables are the call
manager's as for a call (L{tpbx.pbx.leg.Leg} hands its events to
whatever its C{call} is); only what is done with the events differs.

Media: the caller's relay session takes the caller's RTP on its C{a}
side; a tap on that side copies each packet to every listening member
(L{tpbx.media.relay.RelaySide.inject}), each through a relay session of
its own whose C{b} side faces the member.  Nothing is aimed at the other
sides, so what members send is dropped (their C{a} sides are muted too).
The relay does not transcode, so members are offered only the codec the
PBX answers the caller with (one fan-out, one format), with the caller's
payload numbers; the offer is C{sendrecv}, as other PBXes page: a phone
offered C{sendonly} may show the call as held, and a member that sends
RTP lets the relay latch to it behind NAT (RFC 4961).

A multicast paging group (the group's C{multicast} address) rings
nobody: the caller is answered at once and its own relay session sends
its audio to the group (RTP to the even port, RTCP to the next), TTL 1,
for the phones configured to listen there; it ends when the caller
hangs up or falls silent.

Life of a page: members ring with the auto-answer headers; the caller
gets its 200 when the first member answers, later answers join; those
still ringing after the ring time are cancelled.  A member hanging up
leaves alone; the page ends when the caller hangs up (the remaining
members get BYE) -- not when the last member leaves, so that a member
that answers late or a caller who keeps talking is not cut off; the
relay's inactivity timeout ends a page nobody talks in.  When nobody
answers, the group's no-answer destination applies as for a call: the
caller's leg, relay session and record are handed to a new call (or
page) that rings it.
"""

from __future__ import annotations

from tpbx.errors import ProtocolError
from tpbx.pbx.anchor import aim, relayPorts
from tpbx.pbx.callrecord import LegSummary, refuseCaller
from tpbx.pbx.leg import dispatchEvent
from tpbx.pbx.routing import Targets
from tpbx.sip.invite import InviteState
from tpbx.sip.message import Request
from tpbx.sip.offeranswer import CodecPolicy, anchorOffer, answerOffer
from tpbx.sip.sdp import parseSDP

__all__ = ["Page", "answerLocally", "startPage"]

_WAITING = (InviteState.INCOMING, InviteState.EARLY)


def answerLocally(leg, request) -> None:
    """
    Answer a re-offer (hold, resume, a session refresh, a new address)
    from C{leg}'s party with the last description sent to it, directions
    per RFC 3264 sec. 6.1; the leg's relay side is aimed at the offer.

    @raise ProtocolError: the offer does not parse.
    """
    offer = parseSDP(request.body)
    aim(leg.side, offer)
    leg.answerWithLast(request, offer)


def startPage(manager, a, relay, policy, record):
    """
    A L{Page} for caller leg C{a}, or L{None} when the caller cannot be
    paged (direct media, no offer, or no codec the PBX can answer with):
    then it is rung as a ring-all call.
    """
    if relay is None or not a.session.invite.body:
        return None
    try:
        offer = parseSDP(a.session.invite.body)
        answer, codec, _ = answerOffer(offer, policy, relay.a.address, relay.a.port,
                                       playable=policy.priority)
    except ProtocolError:
        return None
    return Page(manager, a, relay, record, offer, answer, codec)


class Page:
    """
    @ivar a: the caller's leg; L{None} once handed to a call (no answer).
    @ivar relay: the caller's relay session (L{None} likewise).
    @ivar record: the L{tpbx.pbx.callrecord.CallRecord}.
    @ivar forks: every member leg ever started.
    @ivar ringing: the member legs ringing now.
    @ivar sessions: C{member leg -> relay session} of every member leg.
    @ivar listeners: C{member leg -> relay side} of those hearing the page.
    """

    def __init__(self, manager, a, relay, record, offer, answer, codec):
        """
        @param offer: the caller's offer; C{answer} the PBX's answer to it
            (sent on the first member's answer), choosing C{codec}.
        """
        self.manager = manager
        self.a, self.relay, self.record = a, relay, record
        a.call, a.side = self, relay.a
        self.aOffer = offer
        self._answer = answer
        self._memberPolicy = CodecPolicy(priority=(codec.name,), dtmf=False, passThrough=())
        record.codec = codec.name
        self.plan = None
        self.forks: list = []
        self.ringing: list = []
        self.sessions: dict = {}
        self.listeners: dict = {}
        self._joined: set = set()
        self._failures: list[int] = []
        self.ended = False
        aim(a.side, offer)
        relay.a.tap = self._fanOut

    def __repr__(self) -> str:
        return f"<Page {self.record.caller}->{self.record.dialled}>"

    def _fanOut(self, packet: bytes, now: float) -> None:
        """The tap on the caller's side: every listener gets the packet."""
        for side in self.listeners.values():
            side.inject(packet)

    # Ringing

    def offerFor(self, leg) -> bytes:
        """
        The INVITE body for member leg C{leg}: the caller's offer with only
        the caller's codec, on a relay session of the member's own.

        @return: the body; C{b""} when no relay ports are free (the leg is
            then not rung).
        """
        session = self.manager.relays.allocate(leg.callId)
        if session is None:
            return b""
        self.sessions[leg] = session
        session.a.mute(True)   # what the member says goes nowhere
        anchored = anchorOffer(self.aOffer, self._memberPolicy, session.b.address,
                               relayPorts(self.aOffer, session.b.port))
        return leg.describe(anchored)

    def ring(self, targets) -> None:
        """Ring every device of every member of C{targets} at once; or,
        for a multicast group, send the caller's audio to it."""
        self.plan = targets
        if targets.multicast is not None:
            self._sendToGroup(*targets.multicast)
            return
        created = self.manager.legsFor(self, targets)
        legs = [leg for leg in created if leg in self.sessions]
        for leg in created:
            if leg not in self.sessions:
                self.manager.dropLeg(leg)
        if not legs:
            self._planFailed("failed" if created else "not-registered")
            return
        for leg in legs:
            leg.call, leg.side = self, self.sessions[leg].b
        self.forks += legs
        self.ringing = list(legs)
        self.manager.ringTimer(self, targets.ringTime)
        for leg in legs:
            leg.perform(leg.session.start(leg.now()))

    def _sendToGroup(self, host: str, port: int) -> None:
        """
        Multicast paging: the caller is answered at once and its relay
        session forwards what it says out of its C{b} side to the group,
        as to any party (the relay neither latches nor listens there);
        the phones that listen on the group play it.  Nobody is rung.
        """
        self.relay.a.tap = None
        self.relay.b.setTarget(host, port)
        self.record.answer = self.a.now()
        self.record.disposition = "answered"
        self.a.respond(self.a.session.invite, 200, body=self.a.describe(self._answer))

    def ringTimeout(self) -> None:
        """The ring time is over: members still ringing are cancelled;
        if nobody answered, the plan goes on."""
        ringing, self.ringing = self.ringing, []
        for leg in ringing:
            leg.hangup()
        if self._callerWaiting():
            self._planFailed("no-answer")
        self.maybeEnded()

    def _callerWaiting(self) -> bool:
        return self.a is not None and self.a.session.state in _WAITING

    def _planFailed(self, outcome: str) -> None:
        """Nobody answered (C{outcome}): the no-answer destination, or
        the best failure for the caller."""
        follow = self.plan.onFailure(outcome) if self.plan.onFailure else None
        if isinstance(follow, Targets):
            self._handOver(follow)
            return
        refuseCaller(self.a, self.record, follow, outcome, self._failures)

    def _handOver(self, targets) -> None:
        """The caller's leg, relay session and record go to a new call
        ringing C{targets}; this page only waits for its members' legs."""
        a, relay, record = self.a, self.relay, self.record
        relay.a.tap = None
        self.a = self.relay = None
        self.manager.startCall(a, relay, record, targets)
        self.maybeEnded()

    # Finding and ending

    def involves(self, number: str) -> bool:
        """Whether extension C{number} pages or listens in this page."""
        if self.ended or self.a is None:
            return False
        return number == self.record.caller or any(
            leg.target == number for leg in self.listeners)

    def hangupAll(self, side: str) -> None:
        """End every leg (RTP timeout, shutdown)."""
        self.record.hangupSide = self.record.hangupSide or side
        if self.a is not None:
            self.a.hangup(480)
        for leg in self.forks:
            leg.hangup()

    def maybeEnded(self) -> None:
        """End the page once every leg it owns is disconnected."""
        legs = ([self.a] if self.a is not None else []) + self.forks
        if self.ended or any(leg.session.state is not InviteState.DISCONNECTED
                             for leg in legs):
            return
        self.ended = True
        if self.a is not None:
            self.relay.a.tap = None
            self.record.end = self.a.now()
            self.record.legs = [LegSummary(leg.callId, leg.target, leg in self._joined)
                                for leg in self.forks]
        self.manager.pageEnded(self)

    # Events

    def legEvent(self, leg, event) -> None:
        dispatchEvent(self, self._CALLER if leg is self.a else self._MEMBER, leg, event)
        self.maybeEnded()

    def _refuse(self, leg, event, status: int) -> None:
        """A bad re-offer gets C{status}; a member's bad answer ends it."""
        if isinstance(event.message, Request) and event.message is not leg.session.invite:
            leg.respond(event.message, status)
        else:
            leg.hangup()

    def _offer(self, leg, event) -> None:
        """A re-offer is answered by the PBX; the caller's first offer
        was taken at the start; a member's late offer is not what its
        INVITE asked for."""
        message = event.message
        if message is leg.session.invite:
            return
        if isinstance(message, Request):
            answerLocally(leg, message)
        else:
            leg.hangup()

    def _request(self, leg, event) -> None:
        """OPTIONS and INFO (DTMF: nobody to pass it to) get 200; the
        rest (REFER ...) is not for a page."""
        request = event.message
        if request.method in ("OPTIONS", "INFO"):
            leg.respond(request, 200)
        else:
            leg.respond(request, 501, reason=f"{request.method} not supported in a page")

    def _refresh(self, leg, event) -> None:
        """Our session timer wants a refresh: the last description again."""
        if leg.session.canReinvite:
            leg.perform(leg.session.reinvite(leg.now(), leg.sdp.lastBody or b"",
                                             "application/sdp"))

    def _retry(self, leg, event) -> None:
        """After a 491, the glared re-INVITE again (RFC 3261 sec. 14.1)."""
        if event.message is not None and leg.session.canReinvite:
            self._refresh(leg, event)

    def _callerEnded(self, leg, event) -> None:
        if event.reason == "cancelled":
            self.record.disposition = "cancelled"
        self.record.hangupSide = self.record.hangupSide or "caller"
        self.ringing = []
        for member in self.forks:
            member.hangup()

    # Member events

    def _memberRinging(self, leg, event) -> None:
        if self._callerWaiting():
            self.a.respond(self.a.session.invite, 180)

    def _memberAnswered(self, leg, event) -> None:
        """A member's 2xx: it stays, unless the page is over for it."""
        if leg not in self.ringing or self.a is None or (
                self.a.session.state is InviteState.DISCONNECTED):
            leg.hangup()
            return
        self.ringing.remove(leg)
        self._joined.add(leg)

    def _memberAnswer(self, leg, event) -> None:
        """A member's answer (to the INVITE or a refresh): it hears the
        caller from now on; the first one connects the caller."""
        answer = parseSDP(event.message.body)
        if leg not in self._joined or leg.session.state is InviteState.DISCONNECTED:
            return
        aim(leg.side, answer)
        self.listeners[leg] = leg.side
        if self._callerWaiting():
            self.record.answer = leg.now()
            self.record.disposition = "answered"
            self.a.respond(self.a.session.invite, 200, body=self.a.describe(self._answer))

    def _memberEnded(self, leg, event) -> None:
        """A member left: only it; before anyone answered, the last one
        failing fails the page."""
        self.listeners.pop(leg, None)
        if leg not in self.ringing:
            return
        self.ringing.remove(leg)
        status = getattr(event.message, "status", None) or (
            408 if event.reason == "timeout" else 480)
        self._failures.append(status)
        if not self.ringing and not self.listeners and self._callerWaiting():
            busy = any(s in (486, 600) for s in self._failures)
            self._planFailed("busy" if busy else "failed")

    _CALLER = {
        "offer": _offer,
        "request": _request,
        "refresh": _refresh,
        "retry": _retry,
        "terminated": _callerEnded,
    }
    _MEMBER = {
        "ringing": _memberRinging,
        "progress": _memberRinging,
        "answered": _memberAnswered,
        "answer": _memberAnswer,
        "offer": _offer,
        "request": _request,
        "refresh": _refresh,
        "retry": _retry,
        "terminated": _memberEnded,
    }
