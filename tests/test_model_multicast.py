# -*- test-case-name: tests.test_model_multicast -*-
"""
Tests for L{tpbx.model.parseMulticastGroup} and
L{tpbx.model.RingGroup.multicastGroup}: the multicast group of a paging
group (SPEC E4).
"""

import pytest

from tpbx.model import RingGroup, parseMulticastGroup


@pytest.mark.parametrize("text, parsed", [
    ("239.255.0.1:5004", ("239.255.0.1", 5004)),
    ("224.0.1.75:1024", ("224.0.1.75", 1024)),
    ("239.255.255.255:65534", ("239.255.255.255", 65534)),
    ("[ff05::1]:5004", ("ff05::1", 5004)),
    ("[FF02::1:3]:6000", ("ff02::1:3", 6000)),
])
def test_validGroups(text, parsed):
    """
    An IPv4 multicast address (224.0.0.0/4) or a bracketed IPv6 one
    (ff00::/8) with an even port from 1024 to 65534 parses to the
    address, as L{ipaddress} writes it, and the port as an int.
    """
    assert parseMulticastGroup(text) == parsed


@pytest.mark.parametrize("text, words", [
    ("", "ADDRESS:PORT"),
    ("239.255.0.1", "ADDRESS:PORT"),
    ("239.255.0.1:", "ADDRESS:PORT"),
    (":5004", "not an IP address"),
    ("speakers:5004", "not an IP address"),
    ("239.255.0.300:5004", "not an IP address"),
    ("10.0.0.1:5004", "not a multicast address"),
    ("[2001:db8::1]:5004", "not a multicast address"),
    ("ff05::1:5004", "brackets"),
    ("[239.255.0.1]:5004", "brackets"),
    ("239.255.0.1:abc", "1024 to 65534"),
    ("239.255.0.1:-5004", "1024 to 65534"),
    ("239.255.0.1:1022", "1024 to 65534"),
    ("239.255.0.1:65536", "1024 to 65534"),
    ("239.255.0.1:5005", "even"),
])
def test_refused(text, words):
    """
    Anything that is not a multicast address and an even port from 1024
    to 65534 (RTP on the even port, RTCP on the next one: RFC 3550
    section 11) raises L{ValueError} with a short message saying why.
    """
    with pytest.raises(ValueError) as error:
        parseMulticastGroup(text)
    assert words in str(error.value)


def test_multicastGroup():
    """
    L{RingGroup.multicastGroup} is the parsed C{multicast} field, or
    L{None} when it is empty (ordinary paging, members rung).
    """
    assert RingGroup("300", strategy="paging").multicastGroup() is None
    assert RingGroup("300", strategy="paging",
                     multicast="[ff05::1]:5004").multicastGroup() == (
        "ff05::1", 5004)


def test_asJSON():
    """The API and C{tpbx-admin --json} show the field as C{multicast}."""
    group = RingGroup("300", strategy="paging", multicast="239.255.0.1:5004")
    assert group.asJSON()["multicast"] == "239.255.0.1:5004"
    assert RingGroup("200").asJSON()["multicast"] == ""
