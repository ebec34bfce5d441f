# -*- test-case-name: tests.sip.test_via -*-
"""
Tests for L{tpbx.sip.via}.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sip.fastpath import fastAndGeneral
from tpbx.errors import ProtocolError
from tpbx.sip import via as via_module
from tpbx.sip.headers import Headers
from tpbx.sip.via import Via, parseVia, parseViaList, stampReceived, topViaOf


def test_parse():
    """
    A via-parm gives protocol, transport, sent-by and parameters.
    """
    via = parseVia("SIP/2.0/udp 192.0.2.1:5062;branch=z9hG4bK776;rport")
    assert via == Via("SIP/2.0", "UDP", "192.0.2.1", 5062,
                      {"branch": "z9hG4bK776", "rport": None})
    assert via.branch == "z9hG4bK776"
    assert via.hasRport and via.rport is None
    assert via.received is None
    assert str(via) == "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK776;rport"


def test_parseLWS():
    """
    LWS is allowed around C{/}, C{;} and C{=} (RFC 4475 sec. 3.1.1.1).
    """
    via = parseVia("SIP  /   2.0  /UDP    192.0.2.2 ; branch = 390skdjuw")
    assert (via.transport, via.host, via.port, via.branch) == (
        "UDP", "192.0.2.2", None, "390skdjuw")


def test_ipv6AndReceived():
    """
    IPv6 sent-by is unbracketed; received is accepted with or without
    brackets (RFC 5118 sec. 4.5).
    """
    via = parseVia("SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255]")
    assert (via.host, via.port) == ("2001:db8::9:1", 5060)
    assert via.received == "2001:db8::9:255"
    assert parseVia("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255"
                    ).received == "2001:db8::9:255"
    assert via.sentBy() == "[2001:db8::9:1]:5060"


def test_rportValue():
    """
    A filled rport reads as an int.
    """
    assert parseVia("SIP/2.0/TCP h;rport=5070").rport == 5070


def test_list():
    """
    L{parseViaList} reads every value of every line, in order.
    """
    vias = parseViaList(["SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b:5",
                         "SIP/2.0/TLS c"])
    assert [v.host for v in vias] == ["a", "b", "c"]
    assert parseViaList('SIP/2.0/UDP a;x="1,2"')[0].params == {"x": '"1,2"'}


@pytest.mark.parametrize("value", [
    "", "SIP/2.0 host", "SIP/2.0/UDP", "SIP/2.0/UDP 192.0.2.15;;",
    "SIP/2.0/UDP h;branch=", "SIP/2.0/UDP h:port", "SIP/2.0/UDP 2001:db8::1",
    "SIP/2.0/U<P h", "SIP/2.0/UDP h junk",
])
def test_malformed(value):
    """
    Malformed via-parms raise L{ProtocolError} 400.
    """
    with pytest.raises(ProtocolError) as info:
        parseViaList(value)
    assert info.value.statusHint == 400


def test_emptyListElements():
    """
    Empty elements between commas are refused (RFC 4475 sec. 3.1.2.1).
    """
    with pytest.raises(ProtocolError):
        parseViaList("SIP/2.0/UDP 192.0.2.15;;,;,,")
    with pytest.raises(ProtocolError):
        parseViaList("SIP/2.0/UDP a,,SIP/2.0/UDP b")


def test_stampSameAddress():
    """
    No received is added when sent-by is the source address (RFC 3261
    sec. 18.2.1), comparing IPv6 addresses by value.
    """
    via = parseVia("SIP/2.0/UDP [2001:db8:0::1]:5060;branch=z9hG4bKx")
    assert stampReceived(via, "2001:db8::1", 5060).params == via.params


def test_stampDifferentAddress():
    """
    received is added when sent-by differs from the source or is a name.
    """
    via = parseVia("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx")
    stamped = stampReceived(via, "198.51.100.7", 40000)
    assert stamped.params == {"branch": "z9hG4bKx", "received": "198.51.100.7"}
    assert via.params == {"branch": "z9hG4bKx"}
    named = stampReceived(parseVia("SIP/2.0/UDP phone.example.com"), "1.2.3.4", 5)
    assert named.received == "1.2.3.4"


def test_stampRport():
    """
    An empty rport is filled with the source port and received is then
    always added (RFC 3581 sec. 4); an rport or received value the peer
    wrote itself is replaced by the real source, so responses can't be
    reflected to an address the peer names.
    """
    via = parseVia("SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKx")
    stamped = stampReceived(via, "10.0.0.1", 61000)
    assert stamped.rport == 61000 and stamped.received == "10.0.0.1"
    assert str(stamped) == ("SIP/2.0/UDP 10.0.0.1:5060;rport=61000;"
                            "branch=z9hG4bKx;received=10.0.0.1")
    filled = parseVia("SIP/2.0/UDP 10.0.0.1;rport=7")
    assert stampReceived(filled, "10.0.0.1", 9).params == {
        "rport": "9", "received": "10.0.0.1"}
    forged = parseVia("SIP/2.0/UDP 10.0.0.1;received=192.0.2.9")
    assert stampReceived(forged, "10.0.0.1", 9).params == {}


def _both(value: str):
    """@return: what the one-step path and the general parser make of C{value}."""
    return fastAndGeneral(via_module.parseVia.__wrapped__, via_module, "_PLAIN_VIA", value)


@pytest.mark.parametrize("value", [
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-1-0;rport",
    "SIP/2.0/udp Host.Example;BRANCH=z9hG4bK1;received=192.0.2.4;rport=5",
    "SIP/2.0/UDP h:5060;branch=a=b;lr",
    "SIP/2.0/UDP h:70000;branch=z9hG4bK1",
    "SIP/2.0/UDP h;branch=",
    "SIP/2.0/UDP h ; branch=z9hG4bK1",
    'SIP/2.0/UDP h;maddr="x"',
    "SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKx",
])
def test_plainPathAgrees(value):
    """
    The one-step path for plain via-parms gives exactly what the general
    parser gives (or leaves the value to it, errors included).
    """
    fast, general = _both(value)
    assert fast == general


@given(st.text(alphabet="SIP/2.0UDPTCudp ;=:.,\"<>[]abhz9G4K-1", max_size=40))
def test_plainPathAgreesOnAnything(value):
    """Whatever the text, both paths agree (hypothesis)."""
    fast, general = _both(value)
    assert fast == general


def test_topViaParsedOncePerMessage():
    """
    L{topViaOf} parses the top via-parm of a message's headers once and
    keeps it until a header changes.
    """
    headers = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"),
                       ("Via", "SIP/2.0/UDP c")])
    top = topViaOf(headers)
    assert (top.host, top.branch) == ("a", "z9hG4bK1")
    assert topViaOf(headers) is top
    headers.replaceFirst("Via", "SIP/2.0/UDP d;branch=z9hG4bK2")
    assert topViaOf(headers).host == "d"
    with pytest.raises(ProtocolError):
        topViaOf(Headers([("Via", " , ")]))
    with pytest.raises(ProtocolError):
        topViaOf(Headers())
