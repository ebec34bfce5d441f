# -*- test-case-name: tests.transport.test_common -*-
"""
The rules every transport shares: Via stamping, rejections, response
addresses.
"""

import pytest

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage
from tpbx.transport.common import rejection, responseAddress, stampTopVia, topVia

from .support import options


def test_stampKeepsOtherHeadersAndViaOrder():
    """Stamping rewrites only the top Via; the other Via lines keep their
    order and other headers are untouched."""
    request = parseMessage(options(
        via="SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport",
        extra="Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0\r\n"))
    before = [(n, v) for n, v in request.headers if n != "Via"]
    stampTopVia(request, "198.51.100.4", 61000)
    assert request.headers.getAll("Via") == [
        "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=61000;received=198.51.100.4",
        "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0"]
    assert [(n, v) for n, v in request.headers if n != "Via"] == before


def test_stampIPv6Source():
    """An IPv6 source is recorded as received."""
    request = parseMessage(options(via="SIP/2.0/UDP [2001:db8::5]:5060;branch=z9hG4bK1;rport"))
    stampTopVia(request, "2001:db8::6", 5062)
    assert topVia(request).received == "2001:db8::6" and topVia(request).rport == 5062


def test_stampWithoutViaRaises():
    """A request without a usable Via cannot be stamped."""
    with pytest.raises(ProtocolError):
        stampTopVia(Request("OPTIONS", "sip:a"), "10.0.0.1", 1)
    broken = Request("OPTIONS", "sip:a")
    broken.headers.add("Via", "nonsense")
    with pytest.raises(ProtocolError):
        stampTopVia(broken, "10.0.0.1", 1)


def test_rejectionOfPartialWithBrokenVia():
    """A partial request whose Via cannot be parsed is still answered; the
    response is routed to the fallback address."""
    partial = Request("OPTIONS", "sip:a")
    partial.headers.add("Via", "nonsense")
    answer = rejection(SIPParseError("Bad", 400, partial), "10.0.0.1", 7)
    assert isinstance(answer, Response) and answer.status == 400
    assert answer.reason == "Bad"
    assert responseAddress(answer, "udp", ("10.0.0.1", 7)) == ("10.0.0.1", 7)


def test_rejectionNothingToAnswer():
    """No partial, or a partial ACK, means no answer."""
    assert rejection(SIPParseError("Bad"), "10.0.0.1", 7) is None
    assert rejection(SIPParseError("Bad", 400, Request("ACK", "sip:a")), "10.0.0.1", 7) is None


def test_responseAddressDefaultPorts():
    """Without a port anywhere, 5060 is used for UDP/TCP and 5061 for TLS
    (RFC 3261 sec. 19.1.2)."""
    for transport, port in (("udp", 5060), ("tcp", 5060), ("tls", 5061)):
        response = Response(200)
        response.headers.add("Via", f"SIP/2.0/{transport.upper()} ua.example;branch=z9hG4bK1")
        assert responseAddress(response, transport, ("x", 1)) == ("ua.example", port)
