# -*- test-case-name: tests.pbx.test_core -*-
"""
The PBX's SIP path without sockets, for the core and keep-alive tests: a
real L{SIPEngine}, L{TransactionLayer}, L{PBXCore}, L{DigestAuthenticator}
and L{Registrar} over fake time, a fake sender and a fake guard, fed with
requests put on the wire and parsed back as a transport would.
"""

from __future__ import annotations

import re

from twisted.internet.task import Clock

from tests.pbx.sipfixtures import ALICE, HOST, PHONE, answer, directory, register
from tpbx.events import MemoryEventSink
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.core import CoreSettings, PBXCore
from tpbx.pbx.engine import SIPEngine
from tpbx.pbx.location import MemoryLocationService
from tpbx.pbx.registrar import Registrar
from tpbx.sip.digest import NonceSigner
from tpbx.sip.headers import Headers
from tpbx.sip.layer import TransactionLayer
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.sip.reply import newBranch
from tpbx.testing import FakeAccessGuard, FakeMessageSender

__all__ = ["NOW", "SETTLE", "Stack", "sipRequest", "ack", "masked", "authenticated"]

NOW = 1_700_000_000.0
# Past Timer H (64*T1), then Timer J/I: every server transaction is gone.
SETTLE = 64.0


class Stack:
    """
    The PBX's SIP path without sockets: engine, layer, core, registrar,
    authenticator, over fake time, a fake sender and a fake guard.
    """

    def __init__(self, blocked=(), settings: CoreSettings = CoreSettings()):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.sender = FakeMessageSender()
        self.guard = FakeAccessGuard(blocked)
        self.directory = directory()
        self.auth = DigestAuthenticator(self.directory, NonceSigner(b"k" * 32), HOST,
                                        guard=self.guard)
        self.location = MemoryLocationService()
        self.registrar = Registrar(self.location, self.auth, self.directory,
                                   MemoryEventSink())
        self.engine = SIPEngine(self.clock, TransactionLayer(), self.sender)
        self.core = PBXCore(self.clock, self.engine, self.registrar, self.auth,
                            self.directory, self.guard, settings)
        self.engine.user = self.core

    def receive(self, request: Request, peer: Peer = PHONE) -> list[Response]:
        """
        Put C{request} on the wire and parse it back, as a transport would.

        @return: the responses sent because of it, in order.
        """
        before = len(self.sender.sent)
        self.engine.messageReceived(parseMessage(request.toBytes()), peer)
        return [m for m, _ in self.sender.sent[before:] if isinstance(m, Response)]

    def final(self, request: Request, peer: Peer = PHONE) -> Response:
        """@return: the one final response C{request} got (after any 100)."""
        responses = [r for r in self.receive(request, peer) if r.status >= 200]
        assert len(responses) == 1, responses
        return responses[0]

    def settle(self) -> None:
        """Run every transaction timer out; nothing may be left behind."""
        self.clock.advance(SETTLE)
        assert self.clock.getDelayedCalls() == []
        assert len(self.engine.layer) == 0
        assert self.core._merged == {}


def sipRequest(method: str, uri: str = f"sip:{HOST}", user: str = "1001",
               cseq: int = 1, branch: str | None = None, callId: str = "call-1",
               headers=(), body: bytes = b"") -> Request:
    """
    @return: a request as a phone at L{PHONE} sends it (From and To both
        C{user}, From tag C{from1}), with a fresh branch unless given.
    """
    request = register(user=user, contacts=(), callId=callId, cseq=cseq, method=method)
    request.uri = uri
    request.headers.set("Via", f"SIP/2.0/UDP 192.168.1.10:5062;branch={branch or newBranch()}")
    for name, value in headers:
        request.headers.add(name, value)
    request.body = body
    return request


def ack(invite: Request, response: Response) -> Request:
    """@return: the ACK for a non-2xx final response (sec. 17.1.1.3)."""
    headers = Headers([(n, v) for n, v in invite.headers
                       if n in ("Via", "From", "Call-ID", "Max-Forwards")])
    headers.add("To", response.headers.get("To"))
    headers.add("CSeq", f"{invite.cseq[0]} ACK")
    return Request("ACK", invite.uri, headers)


def masked(response: Response, user: str) -> bytes:
    """
    @return: C{response} on the wire with what must differ between two
        challenges masked: the nonce, the To tag, and what the two requests
        differed in (the Via branch, the user asked for).
    """
    text = response.toBytes().decode()
    text = re.sub(r"branch=[^;\r]*", "branch=B", text)
    text = re.sub(r'nonce="[^"]*"', 'nonce="N"', text)
    text = re.sub(r"(To: [^\r]*;tag=)[0-9a-f]+", r"\1T", text)
    return text.replace(user, "USER").encode()


def authenticated(stack: Stack, method: str, user: str, uri: str | None = None) -> Request:
    """
    Send a C{method} request for C{user} unauthenticated, expect 407, and
    return the retry with the next CSeq and Alice's Proxy-Authorization
    (sec. 22.3).
    """
    uri = uri or f"sip:{user}@{HOST}"
    first = sipRequest(method, uri, user=user)
    challenge = stack.final(first)
    assert challenge.status == 407
    if method == "INVITE":
        stack.receive(ack(first, challenge))
    retry = sipRequest(method, uri, user=user, cseq=2)
    return answer(retry, challenge, ALICE.authId, ALICE.password, proxy=True)
