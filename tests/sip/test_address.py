# -*- test-case-name: tests.sip.test_address -*-
"""
Tests for L{tpbx.sip.address}.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sip.fastpath import fastAndGeneral
from tpbx.errors import ProtocolError
from tpbx.sip import address
from tpbx.sip.address import NameAddr, parseContacts, parseNameAddr


def test_quotedDisplayName():
    """
    A quoted display name is unquoted and its escapes undone; C{str()}
    quotes it again.
    """
    addr = parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98')
    assert addr == NameAddr('J Rosenberg \\"', "sip:jdrosen@example.com",
                            {"tag": "98"})
    assert addr.tag == "98"
    assert parseNameAddr(str(addr)) == addr


def test_tokenDisplayName():
    """
    Token display names are kept, LWS collapsed; C{<} may follow without
    LWS (RFC 4475 sec. 3.1.1.6).
    """
    assert parseNameAddr("Alice  Smith <sip:a@h>").displayName == "Alice Smith"
    assert parseNameAddr("caller<sip:a@h>").displayName == "caller"
    assert parseNameAddr("<sip:a@h>").displayName is None


def test_addrSpecParams():
    """
    Without C{<>}, parameters after C{;} belong to the header, not the URI
    (RFC 3261 sec. 20.10).
    """
    addr = parseNameAddr("sip:vivekg@example.com ;   tag    = 1918181833n")
    assert addr == NameAddr(None, "sip:vivekg@example.com",
                            {"tag": "1918181833n"})
    assert str(addr) == "<sip:vivekg@example.com>;tag=1918181833n"


def test_enclosedURIParams():
    """
    Inside C{<>}, parameters belong to the URI.
    """
    addr = parseNameAddr("<sip:a@h;transport=tcp>;expires=60;+sip.instance="
                         '"<urn:uuid:1>"')
    assert addr.uri == "sip:a@h;transport=tcp"
    assert addr.params == {"expires": "60", "+sip.instance": '"<urn:uuid:1>"'}


def test_otherSchemes():
    """
    A URI of any scheme is accepted here; policy is the caller's.
    """
    assert parseNameAddr("isbn:2983792873").uri == "isbn:2983792873"


@pytest.mark.parametrize("value", [
    '"Watson, Thomas" < sip:t.watson@example.org >',
    "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
    '"Mr. J. User <sip:j.user@example.com>',
    "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
    '"Joe" <sip:joe@example.org>;;;;', "<sip:a@h", "", "nouri",
    '"x" sip:a@h', "<sip:a@h> junk", "<sip:a@h>;tag=", "sip:a b@h",
])
def test_malformed(value):
    """
    Malformed values raise L{ProtocolError} 400 (RFC 4475 sec. 3.1.2.6,
    3.1.2.13-15, 3.1.2.1).
    """
    with pytest.raises(ProtocolError) as info:
        parseNameAddr(value)
    assert info.value.statusHint == 400


def test_contacts():
    """
    Contact values on one or several lines come back in order, commas in
    quoted display names not splitting them.
    """
    contacts = parseContacts(['"A, B" <sip:a@h>;q=0.5, <sip:b@h>', "sip:c@h"])
    assert [c.uri for c in contacts] == ["sip:a@h", "sip:b@h", "sip:c@h"]
    assert contacts[0].displayName == "A, B"


def test_contactStar():
    """
    C{*} alone is returned as C{"*"}; with other contacts it is an error
    (RFC 3261 sec. 10.2.2).
    """
    assert parseContacts("*") == "*"
    assert parseContacts([" * "]) == "*"
    with pytest.raises(ProtocolError):
        parseContacts("*, <sip:a@h>")


def _both(value: str):
    """@return: what the one-step path and the general parser make of C{value}."""
    return fastAndGeneral(address.parseNameAddr.__wrapped__, address, "_PLAIN", value)


@pytest.mark.parametrize("value", [
    "<sip:100@127.0.0.1:5060>;tag=12345SIPpTag011",
    '"Alice" <sip:a@h>;tag=1',
    '"Al\\"ice" <sip:a@h>',
    '"A"<sip:a@h>',
    '"" <sip:a@h>',
    "<sip:a@h;transport=udp>;expires=30;q=0.5",
    "<sip:a@h>;tag=",
    '<sip:a@h>;+sip.instance="<urn:x>"',
    "<sip:a b@h>",
    "<nocolon>",
    "<SIP:A@H>;TAG=X",
    "<sip:a@h>;lr;tag=a=b",
])
def test_plainPathAgrees(value):
    """
    The one-step path for plain name-addrs gives exactly what the general
    parser gives (or leaves the value to it, errors included).
    """
    fast, general = _both(value)
    assert fast == general


@given(st.text(alphabet='"<>;=:@ \\sipabtg1.,', max_size=30))
def test_plainPathAgreesOnAnything(value):
    """Whatever the text, both paths agree (hypothesis)."""
    fast, general = _both(value)
    assert fast == general
