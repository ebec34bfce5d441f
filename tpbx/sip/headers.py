# -*- test-case-name: tests.sip.test_headers -*-
"""
An ordered, case-insensitive multi-map of SIP header fields (RFC 3261 sec. 7.3).

Names are kept in their canonical spelling and compact forms (sec. 7.3.3) are
expanded on the way in, so the rest of the stack asks for C{"Call-ID"} and
never worries about C{"i"} or C{"call-id"}.  Values are kept as the raw text
of each header line; list-valued headers are split on top-level commas by
L{Headers.getList} only when someone asks.
"""

from __future__ import annotations

from typing import Iterable, Iterator

__all__ = ["Headers", "canonicalName", "splitCommas", "splitOutside"]

COMPACT_FORMS = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type",
    "d": "Request-Disposition", "e": "Content-Encoding", "f": "From",
    "i": "Call-ID", "j": "Reject-Contact", "k": "Supported",
    "l": "Content-Length", "m": "Contact", "n": "Identity-Info",
    "o": "Event", "r": "Refer-To", "s": "Subject", "t": "To",
    "u": "Allow-Events", "v": "Via", "x": "Session-Expires", "y": "Identity",
}

_SPECIAL = {
    "call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version", "rack": "RAck", "rseq": "RSeq",
    "sip-etag": "SIP-ETag", "sip-if-match": "SIP-If-Match",
}

_canonicalCache: dict[str, str] = {}


def canonicalName(name: str) -> str:
    """
    Return the canonical spelling of header C{name}.

    @param name: a header name as received, any case, possibly compact.
    @return: e.g. C{"Call-ID"} for C{"i"}, C{"call-id"} or C{"CALL-ID"}.
    """
    cached = _canonicalCache.get(name)
    if cached is not None:
        return cached
    lower = name.lower()
    if len(lower) == 1 and lower in COMPACT_FORMS:
        result = COMPACT_FORMS[lower]
    elif lower in _SPECIAL:
        result = _SPECIAL[lower]
    else:
        result = "-".join(part[:1].upper() + part[1:] for part in lower.split("-"))
    if len(_canonicalCache) < 4096:
        _canonicalCache[name] = result
    return result


def splitOutside(text: str, sep: str, angles: bool = False) -> tuple[list[str], bool]:
    """
    Split C{text} on C{sep} where it is not inside a quoted string (and,
    with C{angles}, not inside C{<...>}): the one tokenizer behind comma
    lists here and parameter lists in L{tpbx.sip.grammar}.

    @return: the raw parts, and whether a quoted string was left open.
    """
    if '"' not in text and not (angles and "<" in text):
        return text.split(sep), False
    parts = []
    start = 0
    inQuote = inAngle = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if inQuote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                inQuote = False
        elif ch == '"':
            inQuote = True
        elif angles and ch == "<":
            inAngle = True
        elif angles and ch == ">":
            inAngle = False
        elif ch == sep and not inAngle:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts, inQuote


def splitCommas(value: str) -> list[str]:
    """
    Split a header value on commas that are outside quotes and angle brackets
    (RFC 3261 sec. 7.3.1: several values may share one header line).

    @return: the stripped, non-empty parts.
    """
    if "," not in value:
        value = value.strip()
        return [value] if value else []
    parts, _ = splitOutside(value, ",", angles=True)
    return [p for p in (part.strip() for part in parts) if p]


class Headers:
    """
    Ordered header fields.  Each entry is C{(canonicalName, value)}.
    """

    __slots__ = ("_fields", "_memo")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()):
        self._fields: list[tuple[str, str]] = [
            (canonicalName(n), v) for n, v in fields
        ]
        self._memo: dict | None = None

    @classmethod
    def canonical(cls, fields: list[tuple[str, str]]) -> "Headers":
        """
        @param fields: C{(name, value)} pairs whose names are already
            canonical (the parser's, or copied from another L{Headers});
            the list is kept, not copied.
        @return: headers over C{fields}, without canonicalizing again.
        """
        new = cls.__new__(cls)
        new._fields = fields
        new._memo = None
        return new

    def memo(self, key: str, compute):
        """
        A value derived from these headers (the parsed top Via, the CSeq
        pair), computed once by C{compute(self)} and kept until a header
        named C{key} changes: the parser, transport and transaction layer
        all need the top Via, and parsing it three times was a tenth of the
        parse cost.

        @param key: the canonical name of the header the value is derived
            from, and from it alone (stamping the top Via keeps the CSeq).

        @raise Exception: whatever C{compute} raises (nothing is kept).
        """
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        elif key in memo:
            return memo[key]
        value = memo[key] = compute(self)
        return value

    def remember(self, key: str, value) -> None:
        """Keep C{value} as what L{memo} gives for C{key} (it was derived
        already, e.g. the top Via the transport just stamped)."""
        if self._memo is None:
            self._memo = {}
        self._memo[key] = value

    def carry(self, other: "Headers", keys: tuple[str, ...]) -> None:
        """
        Take C{other}'s memo entries for C{keys}, when it has them: for
        headers whose lines named by them were copied verbatim (a
        response's Via and CSeq are its request's).
        """
        memo = other._memo
        if memo:
            for key in keys:
                if key in memo:
                    self.remember(key, memo[key])

    def get(self, name: str, default: str | None = None) -> str | None:
        """
        @return: the value of the first C{name} header, or C{default}.
        """
        # Callers nearly always ask by the canonical name: look for it as
        # given first, and canonicalize only when that finds nothing.
        fields = self._fields
        for n, v in fields:
            if n == name:
                return v
        canonical = _canonicalCache.get(name) or canonicalName(name)
        if canonical != name:
            for n, v in fields:
                if n == canonical:
                    return v
        return default

    def getAll(self, name: str) -> list[str]:
        """
        @return: the raw value of every C{name} header line, in order.
        """
        name = _canonicalCache.get(name) or canonicalName(name)
        # A loop, not a comprehension (a function call in 3.11): most
        # calls ask for a header the message lacks (Require, Accept).
        values = []
        for n, v in self._fields:
            if n == name:
                values.append(v)
        return values

    def getList(self, name: str) -> list[str]:
        """
        @return: every element of a comma-separated list header (Via,
            Contact, Route, Allow ...) across all its lines, in order.
        """
        result: list[str] = []
        for v in self.getAll(name):
            result.extend(splitCommas(v))
        return result

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        name = self._changing(name)
        self._fields.append((name, value))

    def replaceFirst(self, name: str, value: str) -> None:
        """
        Replace the first C{name} line by C{value} in place (stamping the
        top Via), or append one when there is none.
        """
        name = self._changing(name)
        for i, (n, _) in enumerate(self._fields):
            if n == name:
                self._fields[i] = (name, value)
                return
        self._fields.append((name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every C{name} line by one line with C{value}, kept in place."""
        name = self._changing(name)
        for i, (n, _) in enumerate(self._fields):
            if n == name:
                self._fields[i] = (name, value)
                self._fields[i + 1:] = [f for f in self._fields[i + 1:] if f[0] != name]
                return
        self._fields.append((name, value))

    def remove(self, name: str) -> None:
        """Remove every C{name} line."""
        name = self._changing(name)
        self._fields = [f for f in self._fields if f[0] != name]

    def _changing(self, name: str) -> str:
        """
        Forget what L{memo} derived from the header C{name} about to
        change.  @return: C{name}, canonical.
        """
        # The cache looked up here, not through L{canonicalName}: every
        # line a built message adds comes this way, a few dozen a call.
        name = _canonicalCache.get(name) or canonicalName(name)
        memo = self._memo
        if memo:
            memo.pop(name, None)
        return name

    def __contains__(self, name: str) -> bool:
        name = canonicalName(name)
        return any(n == name for n, _ in self._fields)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def copy(self) -> "Headers":
        return Headers.canonical(list(self._fields))

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"
