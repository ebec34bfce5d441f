# -*- test-case-name: tests.sip.test_address -*-
"""
name-addr / addr-spec values: From, To, Contact, Route, Refer-To ...
(RFC 3261 sec. 20.10, 20.20, 20.39, grammar in sec. 25.1).

Dialogs key on the From and To tags, the registrar on each Contact, so the
split between the URI and the header parameters must be exact: without
C{<>}, everything after the first C{;} is a header parameter, not a URI
parameter (sec. 20.10).  The URI is kept as text; L{tpbx.sip.uri.parseURI}
gives its structure to whoever needs it.
"""

from __future__ import annotations

from functools import lru_cache

import re
from dataclasses import dataclass, field
from typing import Iterable

from tpbx.errors import ProtocolError
from tpbx.sip.grammar import (
    PARSE_CACHE_SIZE, formatParams, isToken, parseParams, quoteString, readQuoted,
)
from tpbx.sip.headers import splitCommas

__all__ = ["NameAddr", "parseNameAddr", "parseContacts"]

_SCHEME_COLON = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:")
# An addr-spec outside <> may not hold what would be read as a separator
# (sec. 20.10: URIs with ",", "?" or ";" must be enclosed).
_BAD_ADDR_SPEC = re.compile(r"[\s,?<>\"]")
_BAD_ENCLOSED = re.compile(r"[\s<>\"]")
# The usual From/To/Contact value: an optional quoted display name with no
# escapes, <scheme:...> and plain parameters, no LWS; matched in one step
# (no backtracking, as in L{tpbx.sip.via}); anything else takes the
# general path of L{parseNameAddr}.
_PLAIN = re.compile(
    r'(?:"([^"\\]*)" *)?<([A-Za-z][A-Za-z0-9+\-.]*:[^\s<>"]*)>'
    r"((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[^\s;,\"<>]+)?)*)")


@dataclass(frozen=True, slots=True)
class NameAddr:
    """
    A name-addr or addr-spec with its header parameters.

    @ivar displayName: unquoted display name, or L{None} when absent.
    @ivar uri: the URI text, without C{<>}.
    @ivar params: header parameters (tag, expires, q ...), names
        lower-cased, values as received.
    """

    displayName: str | None
    uri: str
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        """@return: the tag parameter (sec. 19.3), or L{None}."""
        return self.params.get("tag")

    def __str__(self) -> str:
        display = ""
        if self.displayName is not None:
            display = quoteString(self.displayName) + " "
        return f"{display}<{self.uri}>{formatParams(self.params)}"


def _checkURI(uri: str, bad: re.Pattern) -> str:
    if _SCHEME_COLON.match(uri) is None or bad.search(uri) is not None:
        raise ProtocolError("Malformed URI in name-addr")
    return uri


def _paramsAfter(text: str) -> dict[str, str | None]:
    text = text.strip()
    if not text:
        return {}
    if text[0] != ";":
        raise ProtocolError("Malformed name-addr parameters")
    return parseParams(text[1:], "header")


def _parseEnclosed(displayName: str | None, text: str) -> NameAddr:
    """
    Parse C{<uri> *(;param)} once the display name is read.
    """
    end = text.find(">")
    if end < 0:
        raise ProtocolError("Missing '>' in name-addr")
    uri = _checkURI(text[1:end], _BAD_ENCLOSED)
    return NameAddr(displayName, uri, _paramsAfter(text[end + 1:]))


def _plainNameAddr(displayName: str | None, uri: str, paramText: str) -> NameAddr:
    """@return: the L{NameAddr} of a value L{_PLAIN} matched."""
    params: dict[str, str | None] = {}
    if paramText:
        for item in paramText[1:].split(";"):
            name, eq, paramValue = item.partition("=")
            params[name.lower()] = paramValue if eq else None
    return NameAddr(displayName, uri, params)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parseNameAddr(value: str) -> NameAddr:
    """
    Parse C{( name-addr / addr-spec ) *( SEMI generic-param )}.

    @param value: one header value (one element of a list header).
    @raise ProtocolError: (400) on an unterminated quote, a display name
        that is not tokens, LWS inside C{<>}, a URI with no scheme, or an
        addr-spec holding C{,} C{?} or spaces (RFC 4475 sec. 3.1.2).
    """
    text = value.strip()
    plain = _PLAIN.fullmatch(text)
    if plain is not None:
        return _plainNameAddr(*plain.groups())
    if text.startswith('"'):
        displayName, end = readQuoted(text, 0)
        rest = text[end:].lstrip()
        if not rest.startswith("<"):
            raise ProtocolError("Missing '<' after display name")
        return _parseEnclosed(displayName, rest)
    lt = text.find("<")
    semi = text.find(";")
    if lt >= 0 and (semi < 0 or lt < semi):
        words = text[:lt].split()
        if not all(isToken(word) for word in words):
            raise ProtocolError("Malformed display name")
        return _parseEnclosed(" ".join(words) if words else None, text[lt:])
    uri = text if semi < 0 else text[:semi].rstrip()
    _checkURI(uri, _BAD_ADDR_SPEC)
    return NameAddr(None, uri, _paramsAfter(text[len(uri):]))


def parseContacts(values: str | Iterable[str]) -> list[NameAddr] | str:
    """
    Parse the Contact header (sec. 20.10): a list of name-addrs, or a
    single C{*} (only in a REGISTER that removes every binding, sec.
    10.2.2).

    @param values: one header value or the values of every Contact line.
    @return: the contacts in order, or the string C{"*"}.
    @raise ProtocolError: (400) on a malformed contact or a C{*} that is
        not alone.
    """
    if isinstance(values, str):
        values = [values]
    items: list[str] = []
    for line in values:
        items.extend(splitCommas(line))
    if "*" in items:
        if len(items) != 1:
            raise ProtocolError("Contact '*' must be alone")
        return "*"
    return [parseNameAddr(item) for item in items]
