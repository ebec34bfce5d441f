# -*- test-case-name: tests.sip.test_via -*-
"""
The Via header (RFC 3261 sec. 20.42, 18.2) and the received/rport stamps.

Responses travel back along the Via path, transactions match on the top
Via's branch (sec. 17.2.3), and a server must record where a request really
came from (sec. 18.2.1, RFC 3581) so that replies reach phones behind NAT.
This module parses one via-parm into a L{Via}, writes it back, and applies
those stamps.
"""

from __future__ import annotations

from functools import lru_cache

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Iterable

from tpbx.errors import ProtocolError
from tpbx.sip.grammar import (
    PARSE_CACHE_SIZE, formatHost, formatParams, isToken, parseHostPort, parseParams,
)
from tpbx.sip.headers import splitCommas

__all__ = ["Via", "parseVia", "parseViaList", "stampReceived", "topViaOf",
           "MAGIC_COOKIE"]

MAGIC_COOKIE = "z9hG4bK"

# The via-parm nearly every peer sends: no LWS, a host name or IPv4
# address, parameters of token names and plain values.  Matched in one
# step (no backtracking: a token holds neither "=" nor ";" and a value no
# ";"); anything else takes the general path of L{parseVia}.
_PLAIN_VIA = re.compile(
    r"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9\-._]+)(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[^\s;,\"<>]+)?)*)")


@dataclass(frozen=True, slots=True)
class Via:
    """
    One via-parm.

    @ivar protocol: C{"SIP/2.0"} (protocol name and version, upper-cased).
    @ivar transport: upper-cased: C{"UDP"}, C{"TCP"}, C{"TLS"}, C{"WS"} ...
    @ivar host: the sent-by host, lower-cased, IPv6 without brackets.
    @ivar port: the sent-by port, or L{None}.
    @ivar params: via-params in order, names lower-cased.
    """

    protocol: str
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        """@return: the branch parameter (sec. 8.1.1.7), or L{None}."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """
        @return: the received address without IPv6 brackets (RFC 5118 sec.
            4.5 allows both spellings), or L{None}.
        """
        value = self.params.get("received")
        if value and value[0] == "[" and value[-1] == "]":
            return value[1:-1]
        return value

    @property
    def hasRport(self) -> bool:
        """@return: whether an rport parameter is present (RFC 3581)."""
        return "rport" in self.params

    @property
    def rport(self) -> int | None:
        """@return: the rport value, or L{None} when absent or empty."""
        value = self.params.get("rport")
        if value and value.isascii() and value.isdigit() and len(value) <= 5:
            return int(value)
        return None

    def sentBy(self) -> str:
        """@return: C{host[:port]} as it goes on the wire."""
        return formatHost(self.host, self.port)

    def __str__(self) -> str:
        return (f"{self.protocol}/{self.transport} {self.sentBy()}"
                f"{formatParams(self.params)}")


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parseVia(value: str) -> Via:
    """
    Parse one via-parm: C{SIP/2.0/UDP host:port;branch=...}, with LWS
    allowed around C{/}, C{;} and C{=} (sec. 25.1).

    @raise ProtocolError: (400) when it is malformed.
    """
    plain = _PLAIN_VIA.fullmatch(value)
    if plain is not None and (plain[3] is None or int(plain[3]) <= 65535):
        return _plainVia(*plain.groups())
    parts = value.split("/", 2)
    if len(parts) != 3:
        raise ProtocolError("Malformed Via sent-protocol")
    name, version = parts[0].strip(), parts[1].strip()
    rest = parts[2].split(None, 1)
    if len(rest) != 2 or not (isToken(name) and isToken(version)
                              and isToken(rest[0])):
        raise ProtocolError("Malformed Via sent-protocol")
    sentBy, semi, paramText = rest[1].partition(";")
    host, port = parseHostPort(sentBy.rstrip(), "Via")
    params = parseParams(paramText, "Via") if semi else {}
    return Via(f"{name}/{version}".upper(), rest[0].upper(), host, port,
               params)


def _plainVia(transport: str, host: str, port: str | None, paramText: str) -> Via:
    """@return: the L{Via} of a via-parm L{_PLAIN_VIA} matched."""
    params: dict[str, str | None] = {}
    if paramText:
        for item in paramText[1:].split(";"):
            name, eq, paramValue = item.partition("=")
            params[name.lower()] = paramValue if eq else None
    return Via("SIP/2.0", transport.upper(), host.lower(),
               None if port is None else int(port), params)


def _parseTop(headers) -> Via:
    value = headers.get("Via")
    if value and "," in value:
        items = splitCommas(value)
        value = items[0] if items else ""
    if not value:
        raise ProtocolError("Missing Via")
    return parseVia(value)


def topViaOf(headers) -> Via:
    """
    The top via-parm of a message (sec. 18.2.1, 17.1.3, 17.2.3), parsed
    once per message: kept in the L{Headers<tpbx.sip.headers.Headers>}
    memo until a header changes (the parser and the transport's stamp
    put it there already).

    @param headers: the message's headers.
    @raise ProtocolError: (400) when there is no Via or it is malformed.
    """
    return headers.memo("Via", _parseTop)


def parseViaList(values: str | Iterable[str]) -> list[Via]:
    """
    Parse every via-parm of one or several Via header values.

    @param values: one header value or the values of every Via line.
    @raise ProtocolError: (400) when any of them is malformed or empty.
    """
    if isinstance(values, str):
        values = [values]
    result = []
    for line in values:
        items = splitCommas(line)
        if not items or (len(items) <= line.count(",") and _hasEmpty(line)):
            raise ProtocolError("Empty Via value")
        result.extend(map(parseVia, items))
    return result


def _hasEmpty(line: str) -> bool:
    """
    @return: whether a comma-separated line has an empty element (C{a,,b}),
        which L{splitCommas} silently drops (RFC 4475 sec. 3.1.2.1).  Only
        called when some comma did not separate two elements, so a comma in
        a quoted parameter value costs a second look, nothing more.
    """
    return any(not part.strip() for part in line.split(","))


def _sameAddress(sentByHost: str, source: str) -> bool:
    if sentByHost == source:
        return True
    try:
        return ipaddress.ip_address(sentByHost) == ipaddress.ip_address(source)
    except ValueError:
        return False


def stampReceived(via: Via, host: str, port: int) -> Via:
    """
    Record where a request came from in its top Via (RFC 3261 sec. 18.2.1,
    RFC 3581 sec. 4).

    C{received} is added when the sent-by host is not the source address
    (a domain name never is); when the request carried C{rport}, it is set
    to the source port and C{received} is always added.  Values a peer put
    in C{received} or C{rport} itself are overwritten or removed: responses
    must go back to where the request really came from, never to an
    address the peer names (that would make us a reflector).

    @param host: the source IP address, IPv6 without brackets.
    @param port: the source port.
    @return: a new L{Via}; C{via} is left untouched.
    """
    params = dict(via.params)
    if "rport" in params:
        params["rport"] = str(port)
        params["received"] = host
    elif not _sameAddress(via.host, host):
        params["received"] = host
    else:
        params.pop("received", None)
    return Via(via.protocol, via.transport, via.host, via.port, params)
