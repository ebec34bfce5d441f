# -*- test-case-name: tests.sip.test_uri -*-
"""
Small pieces of the RFC 3261 sec. 25 grammar shared by the header parsers.

URIs, Via values and name-addrs all end in C{;name=value} parameters, all
carry a host with an optional port, and several allow quoted strings.  These
helpers do that once, with string methods and a few anchored regexes that
cannot backtrack, because every message on the hot path goes through them.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from tpbx.errors import ProtocolError
from tpbx.sip.headers import splitOutside

__all__ = [
    "isToken", "splitOutsideQuotes", "readQuoted", "quoteString",
    "parseParams", "formatParams", "parseHostPort", "formatHost",
    "unescape", "escape", "PARSE_CACHE_SIZE",
]

#: Entries of each header-value parser's memo (C{parseURI}, C{parseVia},
#: C{parseNameAddr}).  What it saves is one message re-reading its own
#: From, To, Via and Contact, and the next few messages of the same call
#: (its 180, 200, ACK within milliseconds): a few hundred entries catch
#: all of that at any load (the call probe's hit counts are the same at 32
#: as at 4,096).  Bigger only keeps values of calls long set up -- every
#: branch and tag is unique -- at some 800 bytes an entry with its key and
#: result: 4,096 entries in each were nearly 10 MB, which a server filled
#: within its first 2,000 calls.
PARSE_CACHE_SIZE = 512

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# gen-value = token / host / quoted-string; hosts add ":" "[" "]".  Anything
# that could end a header element (space, ";", ",", quotes, brackets) is out.
_VALUE = re.compile(r"[^\s;,\"<>]+")
_HOSTNAME = re.compile(r"[A-Za-z0-9\-._]+")
# IPv6 references are checked loosely: RFC 5118 sec. 4.10 asks parsers to
# tolerate the "three colons" form the RFC 3261 ABNF produced.
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_HEX = frozenset("0123456789abcdefABCDEF")


def isToken(text: str) -> bool:
    """
    @return: whether C{text} is a non-empty RFC 3261 C{token}.
    """
    return _TOKEN.fullmatch(text) is not None


def splitOutsideQuotes(text: str, sep: str) -> list[str]:
    """
    Split C{text} on C{sep} where it is not inside a quoted string.

    @raise ProtocolError: (400) when a quoted string is not terminated.
    """
    parts, unterminated = splitOutside(text, sep)
    if unterminated:
        raise ProtocolError("Unterminated quoted string")
    return parts


def readQuoted(text: str, start: int) -> tuple[str, int]:
    """
    Read the quoted string opening at C{text[start]} (RFC 3261 sec. 25.1,
    C{quoted-pair} escapes undone).

    @return: C{(content, index just past the closing quote)}.
    @raise ProtocolError: (400) when the closing quote is missing.
    """
    out = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            i += 1
            if i == n:
                break
            ch = text[i]
        out.append(ch)
        i += 1
    raise ProtocolError("Unterminated quoted string")


def quoteString(text: str) -> str:
    """
    @return: C{text} as a quoted string, escaping backslashes and quotes.
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _checkValue(value: str, what: str) -> None:
    if value[0] == '"':
        _, end = readQuoted(value, 0)
        if end != len(value):
            raise ProtocolError(f"Malformed {what} parameter value")
    elif _VALUE.fullmatch(value) is None:
        raise ProtocolError(f"Malformed {what} parameter value")


def parseParams(text: str, what: str) -> dict[str, str | None]:
    """
    Parse C{name[=value]} parameters separated by C{;} (the text after the
    first C{;}), allowing LWS around C{;} and C{=} (sec. 25.1 SEMI, EQUAL).

    Names are lower-cased (they compare case-insensitively); values are
    kept as received, quoted strings with their quotes.

    @param what: names the element in error reasons (C{"Via"}, C{"URI"} ...).
    @return: the parameters in order; a name without value maps to L{None}.
    @raise ProtocolError: (400) on an empty or malformed parameter.
    """
    params: dict[str, str | None] = {}
    for item in splitOutsideQuotes(text, ";"):
        name, eq, value = item.partition("=")
        name = name.strip()
        if _TOKEN.fullmatch(name) is None:
            raise ProtocolError(f"Malformed {what} parameter")
        if eq:
            value = value.strip()
            if not value:
                raise ProtocolError(f"Empty {what} parameter value")
            _checkValue(value, what)
            params[name.lower()] = value
        else:
            params[name.lower()] = None
    return params


def formatParams(params: dict[str, str | None]) -> str:
    """
    @return: C{";name=value;name"} for C{params}, or C{""}.
    """
    return "".join([
        f";{k}" if v is None else f";{k}={v}" for k, v in params.items()])


def parseHostPort(text: str, what: str) -> tuple[str, int | None]:
    """
    Parse C{host [":" port]} (sec. 25.1 C{hostport}).

    @return: C{(host, port)}: the host lower-cased, IPv6 references
        without their brackets, the port L{None} when absent.
    @raise ProtocolError: (400) on a malformed host or port; notably an
        IPv6 address without brackets (RFC 5118 sec. 4.2).
    """
    if text.startswith("["):
        end = text.find("]")
        host = text[1:end]
        if end < 0 or _IPV6.fullmatch(host) is None or ":" not in host:
            raise ProtocolError(f"Malformed IPv6 reference in {what}")
        rest = text[end + 1:]
        if rest and rest[0] != ":":
            raise ProtocolError(f"Malformed host in {what}")
        portText = rest[1:] if rest else None
    else:
        host, colon, portText = text.partition(":")
        if _HOSTNAME.fullmatch(host) is None:
            raise ProtocolError(f"Malformed host in {what}")
        if not colon:
            portText = None
    if portText is None:
        return host.lower(), None
    if not (portText.isascii() and portText.isdigit()) or len(portText) > 5:
        raise ProtocolError(f"Malformed port in {what}")
    port = int(portText)
    if port > 65535:
        raise ProtocolError(f"Port out of range in {what}")
    return host.lower(), port


def formatHost(host: str, port: int | None) -> str:
    """
    @return: C{host[:port]}, bracketing an IPv6 address.
    """
    if ":" in host:
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def unescape(text: str, what: str) -> str:
    """
    Undo C{%HH} escapes (sec. 25.1 C{escaped}); octets that are not UTF-8
    survive as surrogates so that L{escape} restores them exactly.

    @raise ProtocolError: (400) on a C{%} not followed by two hex digits.
    """
    if "%" not in text:
        return text
    for piece in text.split("%")[1:]:
        if len(piece) < 2 or piece[0] not in _HEX or piece[1] not in _HEX:
            raise ProtocolError(f"Malformed escape in {what}")
    return unquote(text, errors="surrogateescape")


def escape(text: str, safe: str) -> str:
    """
    Escape every character of C{text} outside C{unreserved} and C{safe}.
    """
    return quote(text, safe="!*'()" + safe, errors="surrogateescape")
