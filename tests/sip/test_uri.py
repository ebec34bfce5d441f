# -*- test-case-name: tests.sip.test_uri -*-
"""
Tests for L{tpbx.sip.uri} and the shared pieces of L{tpbx.sip.grammar}.
"""

import gc
import tracemalloc

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.grammar import PARSE_CACHE_SIZE, parseParams, splitOutsideQuotes
from tpbx.sip.uri import SipURI, parseURI
from tpbx.sip.via import parseVia


def test_fullURI():
    """
    Every component of a SIP URI is split out (RFC 3261 sec. 19.1.1):
    scheme and host lower-cased, parameter names lower-cased, values kept.
    """
    uri = parseURI("SIP:alice:secret@Example.COM:5070;Transport=TCP;lr"
                   "?subject=hi&priority=urgent")
    assert uri == SipURI("sip", "alice", "secret", "example.com", 5070,
                         {"transport": "TCP", "lr": None},
                         {"subject": "hi", "priority": "urgent"})
    assert uri.isSip
    assert uri.hostport() == "example.com:5070"


def test_roundTrip():
    """
    Serializing a parsed URI gives back the same text when it was already
    in canonical form.
    """
    for text in ["sip:alice@example.com", "sips:bob@10.0.0.1:5061;transport=tls",
                 "sip:example.com;lr", "sip:[2001:db8::10]:5070;maddr=x",
                 "sip:a@h?Replaces=abc%40h"]:
        assert str(parseURI(text)) == text


def test_ipv6Reference():
    """
    An IPv6 reference is kept without brackets and bracketed again on
    output (RFC 5118 sec. 4.4).
    """
    uri = parseURI("sip:user@[2001:DB8::10]:5070")
    assert (uri.host, uri.port) == ("2001:db8::10", 5070)
    assert uri.hostport() == "[2001:db8::10]:5070"
    assert str(uri) == "sip:user@[2001:db8::10]:5070"


def test_ipv6PortAmbiguous():
    """
    C{[2001:db8::10:5070]} is an address without a port (RFC 5118 sec. 4.3).
    """
    uri = parseURI("sip:[2001:db8::10:5070]")
    assert (uri.host, uri.port) == ("2001:db8::10:5070", None)


def test_escapedUser():
    """
    C{%HH} escapes in the user part are undone, so equal URIs compare equal
    (sec. 19.1.4), and written back escaped; C{%00} does not truncate
    (RFC 4475 sec. 3.1.1.4).
    """
    assert parseURI("sip:%61lice@h").user == "alice"
    uri = parseURI("sip:null-%00-null@example.com")
    assert uri.user == "null-\x00-null"
    assert str(uri) == "sip:null-%00-null@example.com"


def test_userWithSemicolon():
    """
    The user part may hold C{;} and an escaped C{@} (RFC 4475 sec. 3.1.1.9).
    """
    uri = parseURI("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u@example.net"
    assert uri.host == "example.com"
    assert uri.params == {}


def test_otherScheme():
    """
    URIs of other schemes are accepted as opaque text.
    """
    uri = parseURI("tel:+1-201-555-0123;phone-context=x")
    assert (uri.scheme, uri.user, uri.host) == ("tel", None, "")
    assert uri.opaque == "+1-201-555-0123;phone-context=x"
    assert not uri.isSip
    assert str(uri) == "tel:+1-201-555-0123;phone-context=x"


@pytest.mark.parametrize("text", [
    "sip:2001:db8::10", "<sip:a@b>", "sip:a b@c", "sip:%zz@h", "sip:%4@h",
    "sip:h:99999", "sip:h:abc", "sip:", "sip:@h", "nocolon", "1sip:h",
    "sip:h;;lr", "sip:h;=x", "sip:h?noequals", "sip:[::1", "sip:[zz::1]",
    "sip:h;p=", "sip:ho$t",
])
def test_malformed(text):
    """
    Malformed URIs raise L{ProtocolError} with status hint 400.
    """
    with pytest.raises(ProtocolError) as info:
        parseURI(text)
    assert info.value.statusHint == 400


def test_paramsWithLWSAndQuotes():
    """
    Header parameters allow LWS around C{;} and C{=} and quoted values
    holding C{;} (RFC 3261 sec. 25.1).
    """
    assert parseParams(' a = 1 ; B ; c="x;y"', "test") == {
        "a": "1", "b": None, "c": '"x;y"'}
    assert splitOutsideQuotes('a;"b;c";d', ";") == ["a", '"b;c"', "d"]
    with pytest.raises(ProtocolError):
        splitOutsideQuotes('a;"b', ";")


def test_parseMemosBounded():
    """
    The three header-value parsers' memos hold at most PARSE_CACHE_SIZE
    values each, and under 2 MB together, however many distinct branches,
    tags and users go by (every call brings new ones): their memory is the
    process's, not a cost per call.
    """
    parsers = (parseVia, parseNameAddr, parseURI)
    for parser in parsers:
        parser.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(4 * PARSE_CACHE_SIZE):
            parseVia(f"SIP/2.0/UDP 192.0.2.1:5061;branch=z9hG4bK-{i:08d}-1-0;rport")
            parseNameAddr(f'"sipp" <sip:sipp@192.0.2.1:5061>;tag={i:08d}SIPpTag001')
            parseURI(f"sip:{i:08d}@192.0.2.1:5061;transport=udp")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert all(p.cache_info().currsize == PARSE_CACHE_SIZE for p in parsers)
    assert held < 2_000_000
