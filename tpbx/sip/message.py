# -*- test-case-name: tests.sip.test_message -*-
"""
SIP requests and responses as plain objects (RFC 3261 sec. 7).

A message is a start line, a L{Headers} and a body.  Parsing lives in
L{tpbx.sip.parser}; structured views of single headers (URI, Via, name-addr)
live in L{tpbx.sip.uri}, L{tpbx.sip.via} and L{tpbx.sip.address}.  The
accessors here are the few that every layer needs on every message
(Call-ID, CSeq, top Via branch), so they are cheap.
"""

from __future__ import annotations

from tpbx.errors import ProtocolError
from tpbx.sip.headers import Headers

__all__ = ["Message", "Request", "Response", "REASONS", "SIP_VERSION"]

SIP_VERSION = "SIP/2.0"

REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Moved Temporarily", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete",
    485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    493: "Undecipherable", 500: "Server Internal Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def _parseCSeq(headers: Headers) -> tuple[int, str]:
    value = headers.get("CSeq")
    if value is None:
        raise ProtocolError("Missing CSeq")
    parts = value.split()
    if (len(parts) != 2 or not parts[0].isascii() or not parts[0].isdigit()
            or len(parts[0]) > 10):
        raise ProtocolError("Malformed CSeq")
    number = int(parts[0])
    if number >= 2 ** 31:
        raise ProtocolError("CSeq number out of range")
    return number, parts[1]


def _callIdOf(headers: Headers) -> str:
    """@return: the Call-ID value of C{headers}, stripped."""
    value = headers.get("Call-ID")
    if value is None:
        raise ProtocolError("Missing Call-ID")
    return value.strip()


class Message:
    """
    What requests and responses share.

    @ivar headers: the header fields.
    @ivar body: the body bytes (exactly Content-Length of them once parsed).
    @ivar version: the protocol version from the start line.
    """

    __slots__ = ("headers", "body", "version")

    def __init__(self, headers: Headers | None = None, body: bytes = b"",
                 version: str = SIP_VERSION):
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.version = version

    @property
    def callId(self) -> str:
        """
        @return: the Call-ID value (sec. 8.1.1.4), found once per message
            (kept in the headers' memo: a call asks for it a dozen times).
        @raise ProtocolError: when Call-ID is missing.
        """
        return self.headers.memo("Call-ID", _callIdOf)

    @property
    def cseq(self) -> tuple[int, str]:
        """
        @return: C{(number, method)} from CSeq (sec. 8.1.1.5), parsed once
            per message (kept in the headers' memo).
        @raise ProtocolError: when CSeq is missing or malformed.
        """
        return self.headers.memo("CSeq", _parseCSeq)

    def startLine(self) -> str:
        raise NotImplementedError()

    def toBytes(self) -> bytes:
        """
        Serialize, writing a Content-Length that matches the body.

        @return: the message as it goes on the wire.
        """
        body = self.body
        lines = [self.startLine()]
        for name, value in self.headers:
            if name != "Content-Length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + body


class Request(Message):
    """
    A SIP request.

    @ivar method: the method token, case-sensitive (sec. 7.1).
    @ivar uri: the Request-URI as text; L{tpbx.sip.uri.parseURI} gives
        its structure.
    """

    __slots__ = ("method", "uri")

    def __init__(self, method: str, uri: str, headers: Headers | None = None,
                 body: bytes = b"", version: str = SIP_VERSION):
        super().__init__(headers, body, version)
        self.method = method
        self.uri = uri

    def startLine(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


class Response(Message):
    """
    A SIP response.

    @ivar status: the three-digit status code.
    @ivar reason: the reason phrase.
    """

    __slots__ = ("status", "reason")

    def __init__(self, status: int, reason: str | None = None,
                 headers: Headers | None = None, body: bytes = b"",
                 version: str = SIP_VERSION):
        super().__init__(headers, body, version)
        self.status = status
        self.reason = reason if reason is not None else REASONS.get(status, "")

    def startLine(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"
