# -*- test-case-name: tests.pbx.test_calls -*-
"""
A call leg: one INVITE session (one SIP dialog) plus one side of the media
relay, as seen by the B2BUA.

The leg carries out what its L{InviteSession} asks (requests, responses,
ACKs) through the call manager, and hands the session's events to its
L{Call}.  Legs never touch each other: the call relays between them
(sippy's call-control events, STYLE.md sec. 6).
"""

from __future__ import annotations

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.sip.invite import Event, InviteSession, SendAck, SendRequest, SendResponse
from tpbx.sip.localsession import LocalSession
from tpbx.sip.offeranswer import answerDirection
from tpbx.sip.peer import Peer
from tpbx.sip.sdp import SessionDescription

__all__ = ["Leg", "SDP", "dispatchEvent"]

SDP = "application/sdp"

_log = Logger()


def dispatchEvent(owner, handlers: dict, leg, event) -> None:
    """
    Run C{owner}'s handler for C{event} of C{leg} (a call or a page, which
    keep one table of handlers per side); a peer's bad message (a
    L{ProtocolError}) is refused with its status by C{owner._refuse},
    never a traceback.
    """
    handler = handlers.get(event.kind)
    if handler is None:
        return
    try:
        handler(owner, leg, event)
    except ProtocolError as e:
        _log.info("{owner}: {kind} refused: {error}", owner=owner, kind=event.kind,
                  error=e.reason)
        owner._refuse(leg, event, e.statusHint)


class Leg:
    """
    @ivar name: C{"a"} (the caller, we are UAS) or C{"b"} (a callee, UAC).
    @ivar session: the L{InviteSession}.
    @ivar peer: where this leg's requests and stateless messages go (the
        registration's or the INVITE's source: NAT-safe).
    @ivar sdp: this leg's own C{o=} line and last description sent.
    @ivar side: the L{tpbx.media.relay.RelaySide} this party talks to.
    @ivar target: the extension or URI this leg rings (B legs).
    @ivar remote: the last SDP body this leg's party sent (an offer or an
        answer), or L{None}: what a transfer offers the party's new peer.
    """

    __slots__ = ("name", "session", "peer", "io", "sdp", "target", "call", "side",
                 "entries", "remote")

    def __init__(self, name: str, session: InviteSession, peer: Peer, io,
                 sdp: LocalSession, target: str = ""):
        self.name = name
        self.session = session
        self.peer = peer
        self.io = io
        self.sdp = sdp
        self.target = target
        self.call = None
        self.side = None
        self.entries: list = []   # (table, key) its LegIndex filed it under
        self.remote = None

    def __repr__(self) -> str:
        return f"<Leg {self.name} {self.target} {self.session.state.name}>"

    @property
    def callId(self) -> str:
        return self.session.invite.callId

    def perform(self, actions) -> None:
        """Carry out the session's actions, then let the call see events."""
        events = []
        for action in actions:
            kind = type(action)
            if kind is SendRequest:
                self.io.sendRequest(self, action.request)
            elif kind is SendResponse:
                if action.transaction is None:
                    self.io.sendStateless(action.response, self.peer)
                else:
                    self.io.sendResponse(action.transaction, action.response)
            elif kind is SendAck:
                self.io.sendStateless(action.ack, self.peer)
            elif kind is Event:
                events.append(action)
                self._heard(action.message)
        self.io.reschedule(self)
        for event in events:
            if self.call is not None:
                self.call.legEvent(self, event)

    def _heard(self, message) -> None:
        """Keep the SDP C{message} carries, if any, as L{remote}."""
        if message is not None and message.body and (
                message.headers.get("Content-Type") or "").lower().startswith(SDP):
            self.remote = message.body

    # Shorthands the call uses

    def now(self) -> float:
        return self.io.now()

    def describe(self, sdp: SessionDescription) -> bytes:
        """Stamp C{sdp} with this leg's o= line; @return: the body to send
        (the stamp's own bytes: one copy kept, not two)."""
        return self.sdp.stampBody(sdp)

    def respond(self, request, status: int, body: bytes = b"", reason=None,
                extraHeaders=()) -> None:
        self.perform(self.session.respond(
            request, status, self.now(), body=body,
            contentType=SDP if body else None, reason=reason,
            extraHeaders=extraHeaders))

    def answerWithLast(self, request, offer: SessionDescription) -> None:
        """
        Answer C{offer} (hold, resume, a refresh) in C{request} from the
        last description sent on this leg, with the directions of RFC 3264
        sec. 6.1; 488 when nothing was sent yet.
        """
        last = self.sdp.last
        if last is None:
            self.respond(request, 488)
            return
        for index, media in enumerate(last.media):
            if index < len(offer.media) and media.port:
                media.setDirection(answerDirection(offer.media[index].direction))
        self.respond(request, 200, body=self.describe(last))

    def hangup(self, status: int = 603) -> None:
        self.perform(self.session.hangup(self.now(), status))
