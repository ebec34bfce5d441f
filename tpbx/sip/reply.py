# -*- test-case-name: tests.sip.test_reply -*-
"""
Building responses and fresh identifiers (RFC 3261 sec. 8.2.6, 8.1.1).

Every layer answers requests (the transport with 400, the transaction layer
with 100 Trying, the registrar, the call engine), and all of them must copy
the same headers the same way, so L{makeResponse} is the one place that
does it.  Tags, branches and Call-IDs must be globally unique and
unguessable (sec. 19.3, 8.1.1.7, 8.1.1.4); they come from L{secrets}.
"""

from __future__ import annotations

import secrets
from typing import Iterable

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.headers import Headers
from tpbx.sip.message import Request, Response
from tpbx.sip.via import MAGIC_COOKIE

__all__ = ["makeResponse", "newTag", "newBranch", "newCallId"]

_COPIED = ("From", "To", "Call-ID", "CSeq")


def newTag() -> str:
    """@return: a random tag for From or To (sec. 19.3), 10 hex digits."""
    return secrets.token_hex(5)


def newBranch() -> str:
    """@return: a random branch starting with the magic cookie (sec. 8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def newCallId(host: str | None = None) -> str:
    """
    @param host: appended after C{@} when given (sec. 8.1.1.4 recommends it).
    @return: a random Call-ID.
    """
    callId = secrets.token_hex(12)
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
    fields = [("Via", v) for v in request.headers.getAll("Via")]
    for name in _COPIED:
        value = request.headers.get(name)
        if value is None:
            continue
        if toTag is not None and name == "To":
            value = _addToTag(value, toTag)
        fields.append((name, value))
    fields.extend(headers)
    return Response(status, reason, Headers(fields))
