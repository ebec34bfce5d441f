# -*- test-case-name: tests.pbx.test_calls -*-
"""
A simulated phone for the call tests (L{tests.pbx.callstack}).

Why built on the stack itself: a L{Phone} is a UA made of its own
L{TransactionLayer} and one L{InviteSession} per call, so what the PBX
sees is RFC-correct traffic -- 100 Trying, ACKs of non-2xx, 2xx
retransmissions, CANCEL only after a provisional, 491 retries -- rather
than hand-built messages that could agree with the code's own mistakes.
"""

from __future__ import annotations

from tests.pbx.sipfixtures import HOST, answer
from tpbx.model import Extension
from tpbx.sip.address import parseNameAddr
from tpbx.sip.dialog import newRequest
from tpbx.sip.invite import (Event, InviteSession, InviteState, SendAck,
                             SendRequest, SendResponse)
from tpbx.sip.layer import (RequestReceived, ResponseReceived, SendMessage,
                            TransactionLayer, TransactionTerminated)
from tpbx.sip.message import Request, Response
from tpbx.sip.localsession import LocalSession
from tpbx.sip.offeranswer import CodecPolicy, NotAcceptable, answerOffer, makeOffer
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse, newTag
from tpbx.sip.sdp import parseSDP

__all__ = ["PBX", "SDP", "Phone"]

#: Where the PBX listens (its Via, Contact and relay address).
PBX = Peer("udp", "192.168.1.1", 5060)
SDP = "application/sdp"


def _kind(message) -> object:
    return message.method if isinstance(message, Request) else message.status


class Phone:
    """
    A simulated phone: one L{TransactionLayer}, one L{InviteSession} per
    Call-ID.  It answers what a UA answers by itself (offers in re-INVITEs
    and late-offer 2xx, INFO, the 407 challenge, 491 retries) and does
    the rest when a test tells it to.

    @ivar received: every message delivered to it, in order.
    @ivar events: C{(session, Event)} its sessions reported.
    @ivar dead: when set, the phone neither hears nor sends anything.
    @ivar refreshes: whether it sends session refreshes (RFC 4028).
    """

    def __init__(self, bench, name: str, extension: Extension, host: str,
                 port: int = 5060, rtpPort: int = 40000,
                 codecs=("PCMU", "PCMA", "G722")):
        self.bench = bench
        self.name = name
        self.extension = extension
        self.peer = Peer("udp", host, port)
        self.contact = f"sip:{extension.number}@{host}:{port}"
        self.via = f"SIP/2.0/UDP {host}:{port};rport"
        self.rtpPort = rtpPort
        self.codecs = codecs
        self.layer = TransactionLayer()
        self.sdp = LocalSession(host, name.lower())
        self.sessions: dict[str, InviteSession] = {}
        self.incoming: InviteSession | None = None
        self.outgoing: InviteSession | None = None
        self.received: list = []
        self.events: list[tuple] = []
        self.dead = False
        self.refreshes = False
        self.policy = None

    def __repr__(self) -> str:
        return f"<Phone {self.name}>"

    def now(self) -> float:
        return self.bench.clock.seconds()

    # What it received

    def got(self, kind) -> list:
        """@return: messages received with this method or status."""
        return [m for m in self.received if _kind(m) == kind]

    def kinds(self) -> list:
        """@return: methods and statuses received, in order (100s left out)."""
        return [_kind(m) for m in self.received if _kind(m) != 100]

    # SDP

    def offer(self, direction: str = "sendrecv", codecs=None) -> bytes:
        """@return: an offer of C{codecs} (its own by default) at its RTP port."""
        policy = CodecPolicy(priority=codecs or self.codecs)
        return self.sdp.stamp(makeOffer(policy, self.peer.host, self.rtpPort,
                                        direction)).toBytes()

    def answerFor(self, body: bytes) -> bytes:
        """@return: this phone's answer to C{body}: one codec, sendrecv or as held."""
        policy = CodecPolicy(priority=self.codecs)
        sdp, _, _ = answerOffer(parseSDP(body), policy, self.peer.host, self.rtpPort,
                                playable=self.codecs)
        return self.sdp.stamp(sdp).toBytes()

    # Scripted actions

    def call(self, number: str, body: bytes | None = None, headers=()) -> InviteSession:
        """Dial C{number}: an INVITE with an offer (C{b""}: late offer)."""
        body = self.offer() if body is None else body
        invite = newRequest(
            "INVITE", f"sip:{number}@{HOST}",
            f'"{self.extension.displayName}" <sip:{self.extension.number}@{HOST}>',
            f"<sip:{number}@{HOST}>", self.contact, self.via, body=body,
            contentType=SDP if body else None, extraHeaders=headers)
        return self._start(invite)

    def _start(self, invite: Request) -> InviteSession:
        session = InviteSession.outgoing(invite, self.via, policy=self.policy)
        self.sessions[invite.callId] = self.outgoing = session
        self.do(session, session.start(self.now()))
        return session

    def ring(self, status: int = 180, body: bytes = b"") -> None:
        s = self.incoming
        self.do(s, s.respond(s.invite, status, self.now(), body=body,
                             contentType=SDP if body else None))

    def answer(self, body: bytes | None = None) -> None:
        """200 OK: the answer to the INVITE's offer, or an offer of ours."""
        s = self.incoming
        if body is None:
            body = self.answerFor(s.invite.body) if s.invite.body else self.offer()
        self.do(s, s.respond(s.invite, 200, self.now(), body=body, contentType=SDP))

    def reject(self, status: int) -> None:
        s = self.incoming
        self.do(s, s.respond(s.invite, status, self.now()))

    def session(self) -> InviteSession:
        """The call it is in: the last one it placed or received."""
        live = [s for s in self.sessions.values() if s.state is not InviteState.DISCONNECTED]
        return live[-1] if live else (self.outgoing or self.incoming)

    def hangup(self) -> None:
        s = self.session()
        self.do(s, s.hangup(self.now()))

    def reinvite(self, body: bytes) -> None:
        s = self.session()
        self.do(s, s.reinvite(self.now(), body, SDP))

    def info(self, body: bytes, contentType: str = "application/dtmf-relay") -> None:
        s = self.session()
        self.do(s, s.request("INFO", self.now(), body, contentType))

    def refer(self, referTo: str | None, headers=()) -> None:
        """REFER in its call (RFC 3515) to C{referTo} (L{None}: no Refer-To);
        the NOTIFYs that follow are answered 200 and kept in L{received}."""
        s = self.session()
        extra = list(headers) + ([("Refer-To", referTo)] if referTo is not None else [])
        self.do(s, s.request("REFER", self.now(), extraHeaders=extra))

    def send(self, request: Request) -> None:
        """Send a request of a test's making in a transaction of its own."""
        self.layerActions(self.layer.sendRequest(request, PBX, self.now())[1])

    # The UA

    def receive(self, message) -> None:
        self.received.append(message)
        now = self.now()
        if isinstance(message, Request):
            self.layerActions(self.layer.receiveRequest(message, PBX, now))
        else:
            self.layerActions(self.layer.receiveResponse(message, PBX, now))

    def layerActions(self, actions) -> None:
        now = self.now()
        for action in actions:
            kind = type(action)
            if kind is SendMessage:
                self.bench.net.fromPhone(self, action.message)
            elif kind is RequestReceived:
                self._request(action.request, action.transaction)
            elif kind is ResponseReceived:
                s = self.sessions.get(action.response.callId)
                if s is not None:
                    self.do(s, s.receiveResponse(action.response, now))
            elif kind is TransactionTerminated:
                s = self.sessions.get(action.transaction.request.callId)
                if s is not None:
                    self.do(s, s.transactionEnded(action.transaction.request,
                                                  action.reason, now))

    def _request(self, request: Request, transaction) -> None:
        now = self.now()
        s = self.sessions.get(request.callId)
        toTag = parseNameAddr(request.headers.get("To")).tag
        if request.method == "INVITE" and toTag is None:
            s = InviteSession.incoming(request, transaction, newTag(), self.contact,
                                       self.via, policy=self.policy)
            self.sessions[request.callId] = self.incoming = s
            self.do(s, s.start(now))
        elif s is None:
            if transaction is not None:
                self.layerActions(self.layer.sendResponse(
                    transaction, makeResponse(request, 481, toTag=newTag()), now))
        elif request.method == "CANCEL":
            self.do(s, s.receiveCancel(request, transaction, now))
        else:
            self.do(s, s.receiveRequest(request, transaction, now))

    def do(self, session: InviteSession, actions) -> None:
        """Carry out a session's actions, then react to its events."""
        now = self.now()
        for action in actions:
            kind = type(action)
            if kind is SendRequest:
                self.layerActions(self.layer.sendRequest(action.request, PBX, now)[1])
            elif kind is SendAck:
                self.layerActions(self.layer.sendRequest(action.ack, PBX, now)[1])
            elif kind is SendResponse and action.transaction is None:
                self.bench.net.fromPhone(self, action.response)
            elif kind is SendResponse:
                self.layerActions(self.layer.sendResponse(action.transaction,
                                                          action.response, now))
            elif kind is Event:
                self.events.append((session, action))
                self._react(session, action)

    def _react(self, s: InviteSession, event: Event) -> None:
        """What a UA does by itself (RFC 3261 sec. 13-14, 22.2; RFC 3264)."""
        now, message = self.now(), event.message
        if event.kind == "offer" and isinstance(message, Response):
            self.do(s, s.sendAck(now, self.answerFor(message.body), SDP))
        elif event.kind == "offer" and message is not s.invite:
            try:
                body = self.answerFor(message.body)
            except NotAcceptable:
                self.do(s, s.respond(message, 488, now))
            else:
                self.do(s, s.respond(message, 200, now, body, SDP))
        elif event.kind == "reinvite":
            self.do(s, s.respond(message, 200, now, self.offer(), SDP))
        elif event.kind == "request":
            self.do(s, s.respond(message, 200, now))
        elif event.kind == "retry" and s.canReinvite:
            self.do(s, s.reinvite(now, message.body, message.headers.get("Content-Type")))
        elif event.kind == "refresh" and self.refreshes:
            self.do(s, s.update(now))
        elif (event.kind == "terminated" and isinstance(message, Response)
              and message.status == 407 and s is self.outgoing
              and not s.invite.headers.get("Proxy-Authorization")):
            self._authenticate(s.invite, message)

    def _authenticate(self, invite: Request, challenge: Response) -> None:
        """The INVITE again with credentials and the next CSeq (sec. 22.2)."""
        retry = Request("INVITE", invite.uri, invite.headers.copy(), invite.body)
        retry.headers.set("Via", f"{self.via};branch=z9hG4bK{newTag()}")
        retry.headers.set("CSeq", f"{invite.cseq[0] + 1} INVITE")
        if self.policy is not None:   # outgoing() adds them again
            for name in ("Supported", "Session-Expires", "Min-SE"):
                retry.headers.remove(name)
        ext = self.extension
        answer(retry, challenge, ext.authId or ext.number, ext.password, proxy=True)
        self._start(retry)

    # Timers

    def deadline(self) -> float | None:
        times = [self.layer.nextDeadline()] + [s.nextDeadline() for s in self.sessions.values()]
        return min((t for t in times if t is not None), default=None)

    def fire(self) -> None:
        now = self.now()
        self.layerActions(self.layer.handleTimers(now))
        for s in list(self.sessions.values()):
            self.do(s, s.handleTimers(now))

    def idle(self) -> bool:
        """No transaction left, every call over."""
        return len(self.layer) == 0 and all(
            s.state is InviteState.DISCONNECTED for s in self.sessions.values())
