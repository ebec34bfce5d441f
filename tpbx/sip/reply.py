# -*- test-case-name: tests.sip.test_reply -*-
"""
Building responses and fresh identifiers (RFC 3261 sec. 8.2.6, 8.1.1).

Every layer answers requests (the transport with 400, the transaction layer
with 100 Trying, the registrar, the call engine), and all of them must copy
the same headers the same way, so L{makeResponse} is the one place that
does it.  Tags, branches and Call-IDs must be globally unique and
unguessable (sec. 19.3, 8.1.1.7, 8.1.1.4: a guessed tag and Call-ID would
let a stranger end someone's call with a BYE); they come from the
kernel's CSPRNG, read a few kilobytes at a time (L{_RandomHex}): a
read per identifier cost a system call each, ~2 % of a call's CPU.
"""

from __future__ import annotations

import hashlib
import os
from typing import Iterable

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.headers import Headers, canonicalName
from tpbx.sip.message import Request, Response
from tpbx.sip.via import MAGIC_COOKIE

__all__ = ["makeResponse", "newTag", "statelessTag", "newBranch", "newCallId", "randomBytes"]

_COPIED = ("From", "To", "Call-ID", "CSeq")
#: What a response's headers know of its request's already: the top Via,
#: CSeq and Call-ID, copied verbatim (see L{Headers.memo}).
_CARRIED = ("Via", "CSeq", "Call-ID")
#: Random bytes read from the kernel at a time.
_POOL_BYTES = 4096


class _RandomHex:
    """
    Hex digits from C{os.urandom}, read in blocks and each handed out
    once, so identifiers are exactly as unpredictable as
    C{secrets.token_hex}'s.  A forked child starts with an empty block
    (C{os.register_at_fork}), so parent and child never share digits.
    """

    __slots__ = ("_text", "_at")

    def __init__(self):
        self._text = ""
        self._at = 0

    def take(self, digits: int) -> str:
        """@return: C{digits} fresh random hex digits."""
        at = self._at
        end = at + digits
        if end > len(self._text):
            self._text = os.urandom(_POOL_BYTES).hex()
            at, end = 0, digits
        self._at = end
        return self._text[at:end]

    def forget(self) -> None:
        """Drop the block (in a forked child)."""
        self._text = ""
        self._at = 0


_random = _RandomHex()
os.register_at_fork(after_in_child=_random.forget)


def randomBytes(count: int) -> bytes:
    """
    @return: C{count} bytes from the kernel's CSPRNG, by way of the same
        pool as the identifiers (the random part of digest nonces).
    """
    return bytes.fromhex(_random.take(2 * count))


def newTag() -> str:
    """@return: a random tag for From or To (sec. 19.3), 10 hex digits."""
    return _random.take(10)


# What tells one request from another for L{statelessTag} (sec. 17.2.3).
_SAME_REQUEST = ("Via", "Call-ID", "CSeq", "From")


def statelessTag(request: Request, key: bytes) -> str:
    """
    The To tag of a response sent without a transaction (RFC 3261 sec.
    8.2.7: generated "in a manner that will generate the same tag for the
    same request consistently"): a keyed hash of the request's first Via line,
    Call-ID, CSeq and From, so that every retransmission of one request
    gets the same tag, and nobody without C{key} can foresee it.

    @param key: the sender's secret, up to 32 bytes.
    @return: 16 hex digits.
    """
    headers = request.headers
    text = "\n".join(headers.get(name) or "" for name in _SAME_REQUEST)
    return hashlib.blake2s(text.encode("utf-8", "surrogateescape"), digest_size=8,
                           key=key).hexdigest()


def newBranch() -> str:
    """@return: a random branch starting with the magic cookie (sec. 8.1.1.7)."""
    return MAGIC_COOKIE + _random.take(16)


def newCallId(host: str | None = None) -> str:
    """
    @param host: appended after C{@} when given (sec. 8.1.1.4 recommends it).
    @return: a random Call-ID.
    """
    callId = _random.take(24)
    return f"{callId}@{host}" if host else callId


def _addToTag(to: str, toTag: str) -> str:
    """
    Append C{;tag=} to a To value that has none.  The value is otherwise
    copied verbatim, as sec. 8.2.6.2 asks; a To that cannot be parsed (in
    the partial request of a parse error) is copied as is.
    """
    try:
        if parseNameAddr(to).tag is not None:
            return to
    except ProtocolError:
        return to
    return f"{to};tag={toTag}"


def makeResponse(request: Request, status: int, reason: str | None = None,
                 toTag: str | None = None,
                 headers: Iterable[tuple[str, str]] = ()) -> Response:
    """
    Build a response to C{request} (RFC 3261 sec. 8.2.6.2): every Via in
    order, From, To, Call-ID and CSeq copied; nothing else (Record-Route
    belongs in dialog-creating responses only, added by their callers).

    @param status: the status code.
    @param reason: the reason phrase; the standard one when L{None}.
    @param toTag: added to To when the request's To has no tag.
    @param headers: extra C{(name, value)} header lines, appended in order.
    @return: the L{Response}, with an empty body.
    """
    copied: dict[str, str] = {}
    fields = []
    for field in request.headers:
        name = field[0]
        if name == "Via":
            fields.append(field)
        elif name in _COPIED and name not in copied:
            copied[name] = field[1]
    for name in _COPIED:
        value = copied.get(name)
        if value is None:
            continue
        if toTag is not None and name == "To":
            value = _addToTag(value, toTag)
        fields.append((name, value))
    fields.extend((canonicalName(n), v) for n, v in headers)
    response = Response(status, reason, Headers.canonical(fields))
    response.headers.carry(request.headers, _CARRIED)
    return response
