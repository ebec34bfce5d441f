# -*- test-case-name: tests.sip.test_parser -*-
"""
Turn one framed SIP message (a datagram, or what L{tpbx.sip.framing} cut
out of a stream) into a L{Request} or L{Response} (RFC 3261 sec. 7).

Everything a peer sends passes through here, so it runs in one pass with
string methods, and everything that would make a request unanswerable or
ambiguous is refused here with the status to answer (sec. 8.2, 16.3, 21):
a malformed start line, a missing or doubled To, From, Call-ID, CSeq or
Via, a CSeq method that differs from the request's, scalars out of range, a
Content-Length that does not fit the message.  When such a request still
has enough headers to be answered, the error carries it as C{partial};
responses are never answered, only dropped (sec. 18.1.2).
"""

from __future__ import annotations

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.grammar import isToken
from tpbx.sip.headers import Headers, canonicalName
from tpbx.sip.message import SIP_VERSION, Request, Response
from tpbx.sip.uri import parseURI
from tpbx.sip.via import parseViaList

__all__ = ["parseMessage", "splitHead", "ACCEPTED_SCHEMES"]

ACCEPTED_SCHEMES = frozenset({"sip", "sips", "tel"})
_SINGLE = ("From", "To", "Call-ID", "CSeq")
_REQUIRED = frozenset(_SINGLE + ("Via",))
_MAX_CSEQ = 2 ** 31  # sec. 8.1.1.5; L{Message.cseq} refuses more
#: Header names as received -> canonical names, for names seen before
#: (bounded: a peer sending made-up names cannot grow it for ever).
_knownNames: dict[str, str] = {}
_MAX_KNOWN = 1024


def splitHead(data: bytes) -> tuple[bytes, bytes]:
    """
    Split a message into its header section and body, ignoring CRLFs
    before the start line (sec. 7.5) and tolerating bare LF line ends.
    A message with no empty line is all headers (a datagram cut short).

    @return: C{(head, body)}; C{head} without the empty line.
    """
    data = data.lstrip(b"\r\n")
    # One partition at the first CRLF CRLF (the usual end); a bare-LF
    # empty line before it ends the head sooner.
    head, crlf, body = data.partition(b"\r\n\r\n")
    lf = head.find(b"\n\n")
    if lf >= 0:
        return data[:lf], data[lf + 2:]
    if crlf:
        return head, body
    return data.rstrip(b"\r\n"), b""


def _readFields(lines: list[str]) -> tuple[list[tuple[str, str]], str | None]:
    """
    Read header lines, joining folded continuation lines (sec. 7.3.1).

    @return: the C{(canonical name, value)} fields and the reason the
        first line that is not C{name: value} was refused (L{None} when
        all were read); such lines are skipped so that the rest can still
        be answered.
    """
    # Fast path: every name seen before, in one comprehension.  A folded
    # line never takes it: its raw name starts with LWS, and no such name
    # is ever known (only the slow path below files names).
    known = _knownNames
    try:
        fields = [(known[p[0]], p[2].strip()) for line in lines
                  if (p := line.partition(":"))[1]]
    except KeyError:
        pass
    else:
        if len(fields) == len(lines):
            return fields, None
    fields = []
    error = None
    for line in lines:
        if line[:1] in (" ", "\t"):
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}")
            else:
                error = error or "Continuation line before any header"
            continue
        raw, colon, value = line.partition(":")
        name = raw.rstrip()
        if not colon or not isToken(name):
            error = error or "Malformed header line"
            continue
        name = canonicalName(name)
        if len(_knownNames) < _MAX_KNOWN:
            _knownNames[raw] = name
        fields.append((name, value.strip()))
    return fields, error


def _partial(startLine: str, headers: Headers) -> Request | None:
    """
    @return: what can be answered of a broken request: a L{Request} with
        the headers read, when it has a Via to answer to; else L{None}.
    """
    if startLine.startswith("SIP/") or not headers.get("Via"):
        return None
    words = startLine.split(" ")
    method = words[0] if isToken(words[0]) else ""
    uri = words[1] if len(words) > 1 else ""
    return Request(method, uri, headers)


def parseMessage(data: bytes) -> Request | Response:
    """
    Parse one complete message.

    @param data: the message bytes: a whole datagram or one framed message.
    @return: the L{Request} or L{Response}; its body is exactly
        Content-Length octets when that header is present, else the rest
        of the data (sec. 18.3).
    @raise SIPParseError: when the message cannot be processed; its
        C{statusHint} is the status to answer with and C{partial} the
        request to answer (L{None} for responses and for requests with no
        Via).  The top Via of C{partial} may itself be unparsable (then
        answer to the source address) and its C{method} may be C{"ACK"}
        (never answered, sec. 17.1.1.1) or C{""} when unreadable.
    """
    head, body = splitHead(data)
    text = head.decode("utf-8", "surrogateescape")
    lines = text.split("\r\n")
    if text.count("\n") != len(lines) - 1:   # bare LF line ends somewhere
        lines = text.replace("\r\n", "\n").split("\n")
    startLine = lines[0]
    fields, error = _readFields(lines[1:])
    headers = Headers.canonical(fields)
    try:
        if error is not None:
            raise ProtocolError(error)
        if startLine.startswith("SIP/"):
            message = _parseStatusLine(startLine, headers)
        else:
            message = _parseRequestLine(startLine, headers)
        message.body = _frameBody(body, _checkHeaders(message, fields))
    except ProtocolError as e:
        raise SIPParseError(e.reason, e.statusHint,
                            _partial(startLine, headers)) from None
    return message


def _parseStatusLine(line: str, headers: Headers) -> Response:
    """
    C{SIP-Version SP Status-Code SP Reason-Phrase} (sec. 7.2).
    """
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if version != SIP_VERSION:
        raise ProtocolError("Unsupported SIP version", 505)
    if len(code) != 3 or not (code.isascii() and code.isdigit()) \
            or code[0] not in "123456":
        raise ProtocolError("Malformed status code")
    return Response(int(code), reason, headers)


def _parseRequestLine(line: str, headers: Headers) -> Request:
    """
    C{Method SP Request-URI SP SIP-Version} with single spaces (sec. 7.1,
    RFC 4475 sec. 3.1.2.9-10); a Request-URI of another scheme than sip,
    sips or tel gets 416 (sec. 8.2.2.1).
    """
    parts = line.split(" ")
    if len(parts) != 3 or not isToken(parts[0]):
        raise ProtocolError("Malformed Request-Line")
    method, uriText, version = parts
    if version != SIP_VERSION:
        if version.upper() == SIP_VERSION:
            version = SIP_VERSION
        elif version[:4].upper() == "SIP/":
            raise ProtocolError("Version Not Supported", 505)
        else:
            raise ProtocolError("Malformed Request-Line")
    uri = parseURI(uriText)
    if uri.scheme not in ACCEPTED_SCHEMES:
        raise ProtocolError("Unsupported URI Scheme", 416)
    if uri.headers:
        raise ProtocolError("Headers not allowed in Request-URI")
    return Request(method, uriText, headers)


def _checkHeaders(message: Request | Response,
                  fields: list[tuple[str, str]]) -> str | None:
    """
    The headers every message needs (sec. 8.1.1), once each; Max-Forwards
    in range when present (sec. 20.22).  The parsed top Via, the CSeq and
    the Call-ID are kept in the headers' memo for the layers above.

    Most messages repeat no header name at all, so one C{dict} of the
    fields answers "present?" and "which value?"; names are counted only
    when that C{dict} is shorter than the list (some name repeats).

    @param fields: the message's header fields.
    @return: the Content-Length value (L{None} when there is none).
    """
    single = dict(fields)
    names = None if len(single) == len(fields) else [name for name, _ in fields]
    if names is not None or not single.keys() >= _REQUIRED:
        for name in _SINGLE:
            if name not in single:
                raise ProtocolError(f"Missing {name}")
            _once(names, name)
        if "Via" not in single:
            raise ProtocolError("Missing Via")
    vias = [single["Via"]] if names is None else [
        value for name, value in fields if name == "Via"]
    headers = message.headers
    headers.remember("Via", parseViaList(vias)[0])
    parseNameAddr(single["From"])
    parseNameAddr(single["To"])
    callId = single["Call-ID"]
    if not callId or len(callId.split()) != 1:
        raise ProtocolError("Malformed Call-ID")
    headers.remember("Call-ID", callId)
    headers.remember("CSeq", _checkCSeq(message, single["CSeq"]))
    maxForwards = single.get("Max-Forwards")
    if maxForwards is not None:
        _once(names, "Max-Forwards")
        if _number(maxForwards, "Max-Forwards") > 255:
            raise ProtocolError("Max-Forwards out of range")
    length = single.get("Content-Length")
    if length is not None:
        _once(names, "Content-Length")
    return length


def _once(names: list[str] | None, name: str) -> None:
    """
    @param names: every header name in order, or L{None} when none repeats.
    @raise ProtocolError: when C{name} is there more than once.
    """
    if names is not None and names.count(name) > 1:
        raise ProtocolError(f"Repeated {name}")


def _number(text: str, name: str) -> int:
    """
    @return: the value of a decimal scalar header (ASCII digits only).
    @raise ProtocolError: when it is not one.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise ProtocolError(f"Malformed {name}")
    return int(text)


def _checkCSeq(message: Request | Response, value: str) -> tuple[int, str]:
    """
    @return: C{(number, method)}, as L{Message.cseq} gives it.  A method
        equal to the request's is a token already (the Request-Line was
        checked), so only another one is checked here.
    """
    parts = value.split()
    expected = message.method if isinstance(message, Request) else None
    if len(parts) != 2 or (parts[1] != expected and not isToken(parts[1])):
        raise ProtocolError("Malformed CSeq")
    number = _number(parts[0], "CSeq")
    if number >= _MAX_CSEQ:
        raise ProtocolError("CSeq number out of range")
    if expected is not None and parts[1] != expected:
        raise ProtocolError("CSeq method does not match Request-Line")
    return number, parts[1]


def _frameBody(body: bytes, length: str | None) -> bytes:
    """
    Cut the body to Content-Length (sec. 18.3): longer data is truncated,
    shorter data is an error; without the header the body is the rest.
    """
    if length is None:
        return body
    octets = _number(length, "Content-Length")
    if octets > len(body):
        raise ProtocolError("Content-Length larger than message")
    return body if octets == len(body) else body[:octets]
