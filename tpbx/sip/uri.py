# -*- test-case-name: tests.sip.test_uri -*-
"""
SIP and SIPS URIs (RFC 3261 sec. 19.1, grammar in sec. 25.1).

Every routing decision (Request-URI, Contact, Route, To) needs the user,
host, port and a few parameters of a URI, so L{parseURI} breaks one into a
L{SipURI} and C{str()} writes it back.  The user part is kept unescaped so
that C{sip:%61lice@h} and C{sip:alice@h} compare equal (sec. 19.1.4);
parameter and header values are kept as received.

URIs of other schemes (C{tel:}, C{urn:}, anything) are accepted by
L{parseURI} without interpretation: C{user} is L{None}, C{host} is C{""} and
the text after the colon is in C{opaque}.  Whether such a scheme is
acceptable (416, sec. 8.2.2.1) is the caller's decision.
"""

from __future__ import annotations

from functools import lru_cache

import re
from dataclasses import dataclass, field

from tpbx.errors import ProtocolError
from tpbx.sip.grammar import (
    PARSE_CACHE_SIZE, escape, formatHost, formatParams, parseHostPort, parseParams, unescape,
)

__all__ = ["SipURI", "parseURI", "SIP_SCHEMES"]

SIP_SCHEMES = frozenset({"sip", "sips"})

# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_FORBIDDEN = re.compile(r"[\s<>\"]")
# user-unreserved and password characters that need no escaping (sec. 25.1)
_USER_SAFE = "&=+$,;?/"
_PASSWORD_SAFE = "&=+$,"


@dataclass(frozen=True, slots=True)
class SipURI:
    """
    A parsed URI.

    @ivar scheme: lower-cased: C{"sip"}, C{"sips"}, C{"tel"} ...
    @ivar user: the user part, unescaped, or L{None} when absent.
    @ivar password: the password, unescaped, or L{None}.
    @ivar host: lower-cased; an IPv6 address without its brackets; C{""}
        for non-SIP schemes.
    @ivar port: the port, or L{None} when absent.
    @ivar params: uri-parameters in order, names lower-cased, values as
        received (L{None} for C{;lr}).
    @ivar headers: the C{?name=value&...} headers, values still escaped.
    @ivar opaque: for non-SIP schemes, the text after C{scheme:}.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    opaque: str | None = None

    @property
    def isSip(self) -> bool:
        """@return: whether this is a C{sip:} or C{sips:} URI."""
        return self.scheme in SIP_SCHEMES

    def hostport(self) -> str:
        """@return: C{host[:port]}, IPv6 bracketed."""
        return formatHost(self.host, self.port)

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(escape(self.user, _USER_SAFE))
            if self.password is not None:
                parts.append(":" + escape(self.password, _PASSWORD_SAFE))
            parts.append("@")
        parts.append(formatHost(self.host, self.port))
        parts.append(formatParams(self.params))
        if self.headers:
            parts.append("?" + "&".join(
                f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)


def _parseHeaders(text: str) -> dict[str, str]:
    headers = {}
    for item in text.split("&"):
        name, eq, value = item.partition("=")
        if not name or not eq:
            raise ProtocolError("Malformed URI header")
        headers[name] = value
    return headers


def _parseUserInfo(text: str) -> tuple[str, str | None]:
    user, colon, password = text.partition(":")
    if not user:
        raise ProtocolError("Empty user part in URI")
    return (unescape(user, "URI user part"),
            unescape(password, "URI password") if colon else None)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parseURI(text: str) -> SipURI:
    """
    Parse a URI (RFC 3261 sec. 19.1.1): C{sip:user:password@host:port;
    uri-parameters?headers}.

    @param text: the URI, without surrounding C{<>} or whitespace.
    @return: the L{SipURI}.
    @raise ProtocolError: (400) when it is malformed, including an IPv6
        address without brackets (RFC 5118 sec. 4.2) or whitespace inside.
    """
    scheme, colon, rest = text.partition(":")
    if not colon or _SCHEME.fullmatch(scheme) is None:
        raise ProtocolError("Malformed URI scheme")
    scheme = scheme.lower()
    if _FORBIDDEN.search(rest) is not None or not rest:
        raise ProtocolError("Malformed URI")
    if scheme not in SIP_SCHEMES:
        return SipURI(scheme, opaque=rest)
    user = password = None
    at = rest.find("@")
    if at >= 0:
        # the user part may hold ";" "?" "/" (user-unreserved) but never an
        # unescaped "@", so the first "@" ends it.
        user, password = _parseUserInfo(rest[:at])
        rest = rest[at + 1:]
    rest, question, headerText = rest.partition("?")
    hostport, semi, paramText = rest.partition(";")
    host, port = parseHostPort(hostport, "URI")
    params = parseParams(paramText, "URI") if semi else {}
    headers = _parseHeaders(headerText) if question else {}
    return SipURI(scheme, user, password, host, port, params, headers)
