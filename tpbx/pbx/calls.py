# -*- test-case-name: tests.pbx.test_calls -*-
"""
The B2BUA's switchboard: starts calls from INVITEs, finds the leg every
later message belongs to, carries out what legs send, and keeps the
tables that let a test prove nothing leaks (legs, transactions, timers,
relay ports).

Finding a leg: our own tags are unique, so an in-dialog request or ACK is
found by its Call-ID and To tag (the tag we gave: our To tag for a caller
leg, our From tag for a callee leg); a CANCEL by the INVITE transaction it
matches; a response by its client transaction, or -- a retransmitted 2xx
that outlived its transaction -- by Call-ID and From tag.

What a new INVITE starts: a L{Call}; a L{Page} when the dial plan names
a paging group (L{tpbx.pbx.paging}); with a Replaces header, no new
call at all but a pickup or a replaced party (L{tpbx.pbx.replaces}).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from tpbx.errors import ProtocolError
from tpbx.pbx.call import Call
from tpbx.pbx.callrecord import CallRecord
from tpbx.pbx.callrelays import CallRelays
from tpbx.pbx.callfeatures import CallFeatures
from tpbx.pbx.features.ringgroup import PagingTargets
from tpbx.pbx.leg import SDP, Leg
from tpbx.pbx.legindex import LegIndex
from tpbx.pbx.paging import startPage
from tpbx.pbx.replaces import replaceDialog
from tpbx.pbx.routing import Reject, RouteContext, dialledNumber
from tpbx.pbx.scheduler import Scheduler
from tpbx.sip.address import parseNameAddr
from tpbx.sip.dialog import newRequest
from tpbx.sip.grammar import formatHost
from tpbx.sip.invite import InviteSession
from tpbx.sip.peer import Peer
from tpbx.sip.localsession import LocalSession
from tpbx.sip.offeranswer import CodecPolicy, checkAcceptable
from tpbx.sip.sdp import parseSDP
from tpbx.sip.reply import makeResponse, newTag
from tpbx.sip.sessiontimer import SessionTimerPolicy
from tpbx.sip.uri import parseURI

__all__ = ["CallManager", "CallSettings"]


@dataclass(frozen=True, slots=True)
class CallSettings:
    """
    @ivar ringTime: seconds a call rings before the caller gets 480.
    @ivar codecs: the codec policy (priority, DTMF, passthrough).
    @ivar sessionTimers: RFC 4028 settings, or L{None} for none.
    """

    ringTime: float = 60.0
    codecs: CodecPolicy = CodecPolicy()
    sessionTimers: SessionTimerPolicy | None = SessionTimerPolicy()


def _uriPeer(uri: str) -> Peer | None:
    """Where a request to C{uri} goes, when its host is an IP address."""
    try:
        parsed = parseURI(uri)
        ipaddress.ip_address(parsed.host)
    except (ProtocolError, ValueError):
        return None
    transport = (parsed.params.get("transport") or "udp").lower()
    if transport not in ("udp", "tcp", "tls"):
        return None
    return Peer(transport, parsed.host, parsed.port or (5061 if transport == "tls" else 5060))


# One string per listener, shared by every leg (a held call keeps its
# legs' Via and Contact values: thousands of copies otherwise).
@functools.lru_cache(maxsize=16)
def _ourVia(transport: str, host: str, port: int) -> str:
    """Our Via value (no branch) for C{transport} at C{host:port}."""
    return f"SIP/2.0/{transport.upper()} {formatHost(host, port)};rport"


@functools.lru_cache(maxsize=16)
def _ourContact(transport: str, host: str, port: int) -> str:
    """Our Contact URI for C{transport} at C{host:port}."""
    return f"sip:pbx@{formatHost(host, port)};transport={transport}"


def _tag(value: str | None) -> str | None:
    return parseNameAddr(value).tag if value else None


class CallManager:
    """
    @ivar calls: the live L{Call}s.
    @ivar pages: the live L{tpbx.pbx.paging.Page}s.
    @ivar index: where messages find their legs (L{LegIndex}).
    @ivar relays: how calls use the media relay (L{CallRelays}).
    """

    def __init__(self, clock, engine, location, directory, dialPlan, relay,
                 localAddress, music=None, cdr=None,
                 settings: CallSettings = CallSettings(), recordingsDir=None,
                 recorderFactory=None):
        """
        @param engine: sends (L{tpbx.pbx.engine.SIPEngine}).
        @param location: the L{ILocationService} (contacts to ring).
        @param dialPlan: a L{tpbx.pbx.routing.DialPlan}.
        @param relay: the media relay (C{allocate}/C{release}), or L{None}
            to let phones send media to each other.
        @param localAddress: C{transport -> (host, port)} for Via/Contact.
        @param music: a L{tpbx.media.player.MusicOnHold}, or L{None}.
        @param cdr: called with each ended call's L{CallRecord}.
        @param recordingsDir: where call recordings go (L{None}: no
            recording); C{recorderFactory}: C{path -> recorder}.
        """
        self._clock = clock
        self._engine = engine
        self._location = location
        self._directory = directory
        self._dialPlan = dialPlan
        self.relays = CallRelays(relay, directory)
        self._localAddress = localAddress
        self._music = music
        self._cdr = cdr
        self.settings = settings
        self.calls: set[Call] = set()
        self.pages: set = set()
        self.index = LegIndex()
        self._timers = Scheduler(clock, self._fire)
        self.features = CallFeatures(self, recordingsDir, recorderFactory, directory)

    # Counting (leak checks)

    def counts(self) -> dict:
        """@return: live calls, legs, transactions and timers."""
        return {"calls": len(self.calls) + len(self.pages), "legs": len(self.index.dialogs),
                "transactions": self.index.transactions, "timers": len(self._timers.pending)}

    def now(self) -> float:
        return self._clock.seconds()

    # New calls

    def invite(self, request, transaction, caller) -> None:
        """
        A new INVITE from the authenticated extension C{caller}: route it
        and ring the destinations, or refuse it.  With Replaces (RFC
        3891) it joins an existing dialog instead.
        """
        if request.headers.get("Replaces") is not None:
            replaceDialog(self, request, transaction, caller)
            return
        dialled = dialledNumber(parseURI(request.uri).user)
        decision = self._dialPlan.route(RouteContext(dialled, caller, self.now()))
        if isinstance(decision, Reject):
            self._refuse(transaction, decision.status, decision.reason)
            return
        if self.features.handles(decision):
            self.features.carryOut(decision, request, transaction, caller)
            return
        try:
            offer = parseSDP(request.body) if request.body else None
            if offer is not None:   # 488 before anything is allocated
                checkAcceptable(offer, self.settings.codecs)
        except ProtocolError as e:
            self._refuse(transaction, e.statusHint, e.reason)
            return
        relay = None
        if self.relays.wanted(caller, decision):
            relay = self.relays.allocate(request.callId)
            if relay is None:
                self._refuse(transaction, 503, "No media ports free")
                return
        a = self._legA(request, transaction, transaction.peer)
        record = CallRecord(request.callId, caller.number, dialled, dialled, self.now())
        call = self._newCall(a, relay, record, decision, offer)
        a.perform(a.session.start(self.now()))
        call.ring(decision)

    def startCall(self, a, relay, record, targets) -> None:
        """
        Ring C{targets} for the started caller leg C{a} in a new call (or
        page): how a page nobody answered goes on to its no-answer
        destination.
        """
        self._newCall(a, relay, record, targets).ring(targets)

    def _newCall(self, a, relay, record, targets, offer=None):
        """
        @param offer: C{a}'s offer parsed already, if it was.
        @return: a L{tpbx.pbx.paging.Page} for C{a} when C{targets} are a
            paging group's and the caller can be paged, else a L{Call}.
        """
        call = None
        if isinstance(targets, PagingTargets):
            call = startPage(self, a, relay, self.settings.codecs, record)
        if call is not None:
            self.pages.add(call)
        else:
            call = Call(self, a, relay, self.settings.codecs, record, offer)
            self.calls.add(call)
        if relay is not None:
            self.relays.watch(relay, call)
        return call

    def legsFor(self, call, targets) -> list:
        """
        The B legs that ring C{targets}: one per registered contact of an
        extension; one per SIP URI whose host is an IP address (names need
        RFC 3263 resolution, which comes with trunks).
        """
        legs = []
        for destination in targets.destinations:
            if destination.kind == "extension":
                for binding in self._location.lookup(destination.target, self.now()):
                    legs.append(self._legB(call, binding.contact, binding.peer,
                                           destination, binding.aor))
            elif destination.kind == "uri":
                peer = _uriPeer(destination.target)
                if peer is not None:
                    legs.append(self._legB(call, destination.target, peer, destination,
                                           destination.target))
        return legs

    # Finding calls (features, call waiting)

    def isBusy(self, number: str) -> bool:
        """Whether extension C{number} is talking in a call or page now."""
        return (any(call.involves(number) for call in self.calls)
                or any(page.involves(number) for page in self.pages))

    def activeCall(self, number: str):
        """The answered call extension C{number} talks in, or L{None}."""
        for call in self.calls:
            if call.b is not None and call.involves(number):
                return call
        return None

    def ringingCall(self, number: str | None, exclude: str):
        """
        A call ringing at extension C{number} (any extension when L{None}),
        not made by C{exclude}: the oldest first.
        """
        waiting = [call for call in self.calls if call.b is None and call.ringing
                   and call.record.caller != exclude
                   and (number is None or any(leg.target == number for leg in call.ringing))]
        return min(waiting, key=lambda call: call.record.start, default=None)

    def dialogLeg(self, callId: str, toTag: str, fromTag: str) -> Leg | None:
        """
        The leg of the dialog a phone names by C{callId} and its two tags
        (a Replaces header, RFC 3891 sec. 3): one tag is ours, the other
        the phone's, in either order; any early dialog of a forked B leg
        counts.
        """
        for ours, theirs in ((toTag, fromTag), (fromTag, toTag)):
            leg = self.index.byDialog(callId, ours)
            if leg is None:
                continue
            dialog = leg.session.dialog
            if (dialog is not None and dialog.remoteTag == theirs) or (
                    theirs in leg.session.earlyDialogs):
                return leg
        return None

    def callerLeg(self, request, transaction, number: str) -> Leg:
        """A started caller-side leg for C{request} (a pickup's INVITE)."""
        leg = self._legA(request, transaction, transaction.peer)
        leg.target = number
        leg.perform(leg.session.start(self.now()))
        return leg

    def pickUpCall(self, call, request, transaction, number: str) -> None:
        """
        Connect the INVITE C{request} of extension C{number} to the
        ringing C{call} instead of its ringing phones (directed pickup,
        pickup by Replaces); 488 when the call cannot be picked up.
        """
        picker = self.callerLeg(request, transaction, number)
        if not call.pickUp(picker):
            picker.respond(request, 488, reason="Cannot pick up this call")
            self._forget(picker)

    def dropLeg(self, leg) -> None:
        """Forget B leg C{leg}, made by L{legsFor} but never started."""
        self._forget(leg)

    def ringTimer(self, call, ringTime) -> None:
        """(Re)start the ring timeout of C{call} (a L{Call} or anything
        with a C{ringTimeout()}: a transfer attempt)."""
        self._timers.set(("ring", call), self.now() + (ringTime or self.settings.ringTime))

    def stopRingTimer(self, call) -> None:
        """Drop the ring timeout of C{call}, if any."""
        self._timers.set(("ring", call), None)

    def route(self, dialled: str, callerNumber: str):
        """
        The dial plan's decision when extension C{callerNumber} dials
        C{dialled} (a transfer target).

        @return: a L{tpbx.pbx.routing.Targets}, a L{Reject} or a feature.
        """
        caller = self._directory.extensionByNumber(callerNumber)
        return self._dialPlan.route(RouteContext(dialled, caller, self.now()))

    def _legA(self, request, transaction, peer) -> Leg:
        host, port = self._localAddress(peer.transport)
        tag = newTag()
        session = InviteSession.incoming(
            request, transaction, tag, self._contact(peer.transport),
            self._via(peer.transport), overTLS=peer.transport == "tls",
            policy=self.settings.sessionTimers)
        a = Leg("a", session, peer, self, LocalSession(host))
        self.index.addDialog(request.callId, tag, a)
        self.index.addServerInvite(transaction, a)
        return a

    def _legB(self, call, contact, peer, destination, target) -> Leg:
        host, port = self._localAddress(peer.transport)
        record = call.record
        caller = self._directory.extensionByNumber(record.caller)
        display = caller.displayName.replace('"', "") if caller is not None else ""
        fromUri = f"<sip:{record.caller}@{host}>"
        if display:
            fromUri = f'"{display}" {fromUri}'
        invite = newRequest("INVITE", contact, fromUri, f"<sip:{record.dialled}@{host}>",
                            self._contact(peer.transport), self._via(peer.transport),
                            extraHeaders=destination.headers)
        leg = Leg("b", InviteSession.outgoing(invite, self._via(peer.transport),
                                              policy=self.settings.sessionTimers),
                  peer, self, LocalSession(host), target=target)
        body = call.offerFor(leg)
        if body:
            invite.body = body
            invite.headers.add("Content-Type", SDP)
        self.index.addDialog(invite.callId, _tag(invite.headers.get("From")), leg)
        return leg

    def _via(self, transport: str) -> str:
        return _ourVia(transport, *self._localAddress(transport))

    def _contact(self, transport: str) -> str:
        return _ourContact(transport, *self._localAddress(transport))

    def refuse(self, transaction, status: int, reason: str | None = None) -> None:
        """Answer a request that starts no call."""
        self._refuse(transaction, status, reason)

    def _refuse(self, transaction, status: int, reason: str | None = None) -> None:
        response = makeResponse(transaction.request, status, reason, toTag=newTag())
        self._engine.sendResponse(transaction, response)

    # Messages for existing legs

    def inDialog(self, request, transaction) -> bool:
        """
        A request with a To tag (or an ACK, with C{transaction} L{None}).
        @return: whether a leg took it.
        """
        leg = self.index.byDialog(request.callId, _tag(request.headers.get("To")))
        if leg is None:
            return False
        self._feed(leg, lambda now: leg.session.receiveRequest(request, transaction, now), request, transaction)
        return True

    def cancel(self, request, transaction) -> bool:
        """A CANCEL; @return: whether it matched a ringing caller leg."""
        invite = self._engine.layer.findServerTransaction(request)
        leg = self.index.byServerInvite(invite)
        if leg is None:
            return False
        self._feed(leg, lambda now: leg.session.receiveCancel(request, transaction, now), request, transaction)
        return True

    def responseReceived(self, response, transaction) -> bool:
        """@return: whether a leg took the response."""
        if transaction is not None:
            leg = self.index.byClientTransaction(transaction)
        else:
            leg = self.index.byDialog(response.callId, _tag(response.headers.get("From")))
        if leg is None:
            return False
        self._feed(leg, lambda now: leg.session.receiveResponse(response, now))
        return True

    def transactionEnded(self, transaction, reason: str) -> None:
        leg = self.index.transactionEnded(transaction)
        if leg is not None:
            self._feed(leg, lambda now: leg.session.transactionEnded(transaction.request, reason, now))

    def _feed(self, leg, step, request=None, transaction=None) -> None:
        try:
            actions = step(self.now())
        except ProtocolError as e:
            if transaction is not None and request is not None and request.method != "ACK":
                self._refuse(transaction, e.statusHint, e.reason)
            return
        leg.perform(actions)

    # The IO legs use

    def sendRequest(self, leg, request) -> None:
        transaction = self._engine.sendRequest(request, leg.peer)
        if transaction is not None:
            self.index.addClientTransaction(transaction, leg)

    def sendResponse(self, transaction, response) -> None:
        self._engine.sendResponse(transaction, response)

    def sendStateless(self, message, peer) -> None:
        self._engine.sendStateless(message, peer)

    def reschedule(self, leg) -> None:
        """(Re)arm C{leg}'s session timer -- unless the leg is forgotten
        (L{_forget}: its call ended): a hang-up that reaches an already
        disconnected leg would otherwise re-arm the 32 s ACK-retransmit
        timer and keep the whole call alive that long."""
        if leg.entries:
            self._timers.set(leg, leg.session.nextDeadline())

    def _fire(self, owner, now: float) -> None:
        if isinstance(owner, Leg):
            owner.perform(owner.session.handleTimers(now))
        elif owner[0] == "ring":
            owner[1].ringTimeout()

    # What calls tell us

    def answered(self, call) -> None:
        """The call is up: no more ring timeout; record it if asked to (E5)."""
        self._timers.set(("ring", call), None)
        for number in (call.record.caller, call.b.target if call.b is not None else ""):
            extension = self._directory.extensionByNumber(number) if number else None
            if extension is not None and extension.recordCalls:
                self.features.startRecording(call)
                break

    def startMusicOnHold(self, side, codec):
        """Play music on hold into relay C{side} with C{codec}."""
        if self._music is None or codec is None or codec.name not in ("PCMU", "PCMA"):
            return _NoMusic()
        player = self._music.player(self._clock, side.inject, codec.name, codec.payloadType)
        player.start()
        return player

    def callEnded(self, call) -> None:
        """Release everything the call held and write its record."""
        self.calls.discard(call)
        self._release(call, [call.a] + call.forks, [call.relay], call.record)

    def pageEnded(self, page) -> None:
        """Release everything the page held (every member's relay
        session too) and write its record, unless it handed the caller
        to a call (L{tpbx.pbx.paging.Page.a} is then L{None})."""
        self.pages.discard(page)
        owned = page.a is not None
        self._release(page, ([page.a] if owned else []) + page.forks,
                      [page.relay] + list(page.sessions.values()),
                      page.record if owned else None)

    def _release(self, call, legs, relays, record) -> None:
        """
        Forget C{legs} and release C{relays}; each leg still in C{call}
        lets go of it, so that the call, its legs and their dialogs are
        freed by reference counting, not left to the cyclic collector
        (whose runs, triggered by such garbage, cost more per call than
        anything else but parsing, bench/profile/call_inprocess.py).

        The record is the call's trace: no log line is written per call.
        Twisted's file observer formats and flushes each event, about 2 %
        of a call's CPU at full load (docs/PERFORMANCE.md), for a line that
        repeats what the record holds.
        """
        self._timers.set(("ring", call), None)
        for leg in legs:
            self._forget(leg)
            if leg.call is call:
                leg.call = None
        for relay in relays:
            if relay is not None:
                self.relays.release(relay)
        if record is None:
            return
        if self._cdr is not None:
            self._cdr(record)

    def _forget(self, leg) -> None:
        self._timers.set(leg, None)
        self.index.forget(leg)

    def stop(self) -> None:
        """Hang up every call (service shutdown) and stop the timers."""
        for call in list(self.calls) + list(self.pages):
            call.hangupAll("pbx")
        self._timers.stop()


class _NoMusic:
    """What holding plays when there is no music: silence (nothing)."""

    def stop(self) -> None:
        pass
