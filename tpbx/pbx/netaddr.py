# -*- test-case-name: tests.pbx.test_registrar -*-
"""
Is this address on the LAN?  (SPEC B5: extensions that may not register
from outside; NAT detection for keep-alives.)

The registrar and the NAT keep-alive both ask it for every REGISTER, so the
networks are parsed once with L{ipaddress} and the question costs one
address parse and a short scan.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

__all__ = ["LAN_NETWORKS", "Network", "parseNetworks", "parseAddress",
           "isPrivate"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 1918 private ranges, loopback, link-local (RFC 3927, RFC 4291) and
# IPv6 unique local addresses (RFC 4193).
LAN_NETWORKS: tuple[str, ...] = (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
    "169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7",
)


def parseNetworks(texts: Iterable[str]) -> tuple[Network, ...]:
    """
    @param texts: addresses or CIDR networks (C{"10.0.0.0/8"},
        C{"192.0.2.7"}); host bits may be set (C{"10.1.2.3/8"}).
    @return: the networks.
    @raise ValueError: for text that is neither.
    """
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in texts)


def parseAddress(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """
    @return: the address, an IPv4-mapped IPv6 address turned into IPv4,
        or L{None} when C{host} is not an IP address (a host name).
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def isPrivate(host: str, networks: Iterable[Network]) -> bool:
    """
    @param host: an IP address as text (a host name is never private).
    @param networks: as returned by L{parseNetworks}.
    @return: whether C{host} is inside one of C{networks}.
    """
    address = parseAddress(host)
    if address is None:
        return False
    return any(address in network for network in networks)
