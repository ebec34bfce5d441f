# -*- test-case-name: tests.pbx.test_keepalive -*-
"""
Tests for L{tpbx.pbx.keepalive}: the OPTIONS pings that keep UDP NAT
bindings open, built to RFC 3261 sec. 11 and sent through the real engine;
answers keep the binding, three unanswered pings drop it.
"""

from __future__ import annotations

import pytest

from tests.pbx.sipfixtures import ALICE, answer
from tests.pbx.corestack import Stack, sipRequest
from tpbx.pbx.keepalive import KeepAlivePinger, buildOptions
from tpbx.sip.address import parseNameAddr
from tpbx.sip.message import Request
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse
from tpbx.sip.uri import parseURI
from tpbx.sip.via import parseVia

PUBLIC = Peer("udp", "198.51.100.7", 40000)
LOCAL = ("192.0.2.1", 5060)
CONTACT = "sip:1001@192.168.1.10:5062"


def test_buildOptions():
    """
    Sec. 11 / 8.1.1: an out-of-dialog OPTIONS to the contact, with a Via
    carrying a fresh z9hG4bK branch and rport (RFC 3581), Max-Forwards 70,
    a From tag, no To tag, CSeq 1 OPTIONS; it survives the parser.
    """
    request = parseMessage(buildOptions(CONTACT, ("udp", *LOCAL), "sip:192.0.2.1:5060",
                                        "tpbx").toBytes())
    assert (request.method, request.uri) == ("OPTIONS", CONTACT)
    via = parseVia(request.headers.get("Via"))
    assert (via.transport, via.host, via.port) == ("UDP", "192.0.2.1", 5060)
    assert via.branch.startswith("z9hG4bK") and "rport" in via.params
    assert request.headers.get("Max-Forwards") == "70"
    assert parseNameAddr(request.headers.get("From")).tag
    assert parseNameAddr(request.headers.get("To")).tag is None
    assert request.cseq == (1, "OPTIONS")
    assert request.callId.endswith("@192.0.2.1")
    assert request.headers.get("User-Agent") == "tpbx"


def test_buildOptionsFreshIdentifiers():
    """Each ping is a new transaction: new branch, Call-ID and From tag."""
    one, two = (buildOptions(CONTACT, ("udp", *LOCAL), "sip:x", "") for _ in range(2))
    for name in ("Via", "Call-ID", "From"):
        assert one.headers.get(name) != two.headers.get(name)
    assert "User-Agent" not in one.headers


def test_buildOptionsIPv6Via():
    """An IPv6 sent-by is bracketed (sec. 25.1 IPv6reference)."""
    request = buildOptions(CONTACT, ("udp", "2001:db8::1", 5060), "sip:[2001:db8::1]:5060", "")
    via = parseVia(request.headers.get("Via"))
    assert (via.host, via.port) == ("2001:db8::1", 5060)


def registered(stack: Stack, contact: str = CONTACT, peer: Peer = PUBLIC) -> None:
    """Register Alice's C{contact} from C{peer} through the whole stack."""
    headers = [("Contact", f"<{contact}>")]
    challenge = stack.final(sipRequest("REGISTER", headers=headers), peer)
    request = answer(sipRequest("REGISTER", cseq=2, headers=headers), challenge,
                     ALICE.authId, ALICE.password)
    assert stack.final(request, peer).status == 200


def pings(stack: Stack) -> list[tuple[Request, Peer]]:
    return [(m, p) for m, p in stack.sender.sent
            if isinstance(m, Request) and m.method == "OPTIONS"]


def housekeeping(stack: Stack, pinger: KeepAlivePinger, seconds: int, answerPings=False):
    """Advance one second at a time, pinging as the service's tick does."""
    for _ in range(seconds):
        stack.clock.advance(1)
        before = len(stack.sender.sent)
        pinger.pingDue(stack.clock.seconds())
        for message, peer in stack.sender.sent[before:]:
            if answerPings:
                stack.engine.messageReceived(makeResponse(message, 200, toTag="p"), peer)


@pytest.fixture
def stack():
    stack = Stack()
    yield stack
    stack.settle()


def test_natBindingPingedAndKeptWhileAnswering(stack):
    """
    A UDP binding whose contact differs from its source is pinged every
    25 s at its source address; while the phone answers, it stays.
    """
    registered(stack)
    pinger = KeepAlivePinger(stack.engine, stack.registrar, lambda t: LOCAL, "tpbx")
    housekeeping(stack, pinger, 24)
    assert pinger.sent == 0
    housekeeping(stack, pinger, 1)
    [(ping, peer)] = pings(stack)
    assert (ping.uri, peer) == (CONTACT, PUBLIC)
    assert parseURI(parseNameAddr(ping.headers.get("From")).uri).host == "192.0.2.1"
    housekeeping(stack, pinger, 200, answerPings=True)
    assert pinger.sent == 9
    assert [b.contact for b in stack.location.allBindings(stack.clock.seconds())] == [CONTACT]


def test_unansweredPingsDropTheBinding(stack):
    """
    Three pings in a row without answer (each ending on Timer F) make the
    phone unreachable: its binding is removed, and pinging stops.
    """
    registered(stack)
    pinger = KeepAlivePinger(stack.engine, stack.registrar, lambda t: LOCAL)
    housekeeping(stack, pinger, 25 * 3 + 32)
    assert stack.location.allBindings(stack.clock.seconds()) == []
    sent = pinger.sent
    housekeeping(stack, pinger, 100)
    assert pinger.sent == sent == 4


def test_bindingNotBehindNatIsNotPinged(stack):
    """A binding whose contact is its source address needs no pings."""
    registered(stack, "sip:1001@198.51.100.7:40000")
    pinger = KeepAlivePinger(stack.engine, stack.registrar, lambda t: LOCAL)
    housekeeping(stack, pinger, 60)
    assert pinger.sent == 0 and pings(stack) == []


def test_pingFromIPv6Address(stack):
    """
    From an IPv6 local address, Via and From carry the address bracketed,
    so the phone can parse the ping (sec. 25.1).
    """
    registered(stack)
    pinger = KeepAlivePinger(stack.engine, stack.registrar, lambda t: ("2001:db8::1", 5060))
    housekeeping(stack, pinger, 25, answerPings=True)
    [(ping, _)] = pings(stack)
    request = parseMessage(ping.toBytes())
    assert parseURI(parseNameAddr(request.headers.get("From")).uri).host == "2001:db8::1"
    assert parseVia(request.headers.get("Via")).host == "2001:db8::1"
