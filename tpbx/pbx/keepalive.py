# -*- test-case-name: tests.pbx.test_keepalive -*-
"""
Sends the OPTIONS pings that keep NAT bindings of UDP phones open and show
whether a phone is still there (the registrar decides who and when, in
L{tpbx.pbx.registrar.NatKeepAlive}; this module only builds and sends).
"""

from __future__ import annotations

from typing import Callable

from tpbx.sip.grammar import formatHost
from tpbx.sip.headers import Headers
from tpbx.sip.message import Request
from tpbx.sip.reply import newBranch, newCallId, newTag

__all__ = ["KeepAlivePinger", "buildOptions"]


def buildOptions(target: str, via: tuple[str, str, int], fromUri: str,
                 userAgent: str) -> Request:
    """
    An out-of-dialog OPTIONS (RFC 3261 sec. 11) to C{target}.

    @param via: C{(transport, host, port)} of the socket it leaves from.
    """
    transport, host, port = via
    headers = Headers([
        ("Via", f"SIP/2.0/{transport.upper()} {formatHost(host, port)};branch={newBranch()};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<{fromUri}>;tag={newTag()}"),
        ("To", f"<{target}>"),
        ("Call-ID", newCallId(host)),
        ("CSeq", "1 OPTIONS"),
    ])
    if userAgent:
        headers.add("User-Agent", userAgent)
    return Request("OPTIONS", target, headers)


class KeepAlivePinger:
    """
    @ivar sent: pings sent so far (for status and tests).
    """

    def __init__(self, engine, registrar, localAddress: Callable[[str], tuple],
                 userAgent: str = ""):
        """
        @param engine: sends requests (L{tpbx.pbx.engine.SIPEngine}).
        @param registrar: says which bindings are due.
        @param localAddress: C{transport -> (host, port)} to put in Via.
        """
        self._engine = engine
        self._registrar = registrar
        self._localAddress = localAddress
        self._userAgent = userAgent
        self.sent = 0

    def pingDue(self, now: float) -> None:
        """Send an OPTIONS to every binding due for one."""
        for binding in self._registrar.keepAliveDue(now):
            peer = binding.peer
            host, port = self._localAddress(peer.transport)
            request = buildOptions(binding.contact, (peer.transport, host, port),
                                   f"sip:{formatHost(host, port)}", self._userAgent)
            self._engine.sendRequest(request, peer)
            self.sent += 1
