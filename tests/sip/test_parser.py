# -*- test-case-name: tests.sip.test_parser -*-
"""
Tests for L{tpbx.sip.parser}.  Every well-formed case is also run byte by
byte through L{tpbx.sip.framing.StreamFramer}, which must give the same
message.
"""

import pytest

from tpbx.errors import SIPParseError
from tpbx.sip.framing import FramedMessage, StreamFramer
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage, splitHead
from tpbx.sip.reply import makeResponse

HEADERS = [
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;rport",
    "Max-Forwards: 70",
    'From: "Alice" <sip:alice@example.com>;tag=9fxced76sl',
    "To: <sip:bob@example.com>",
    "Call-ID: 3848276298220188511@192.0.2.1",
    "CSeq: 1 INVITE",
    "Contact: <sip:alice@192.0.2.1>",
    "Content-Type: application/sdp",
]
BODY = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"


def build(startLine="INVITE sip:bob@example.com SIP/2.0", headers=None,
          body=BODY, contentLength=True, eol="\r\n"):
    """
    @return: message bytes with the given parts.
    """
    lines = [startLine] + list(HEADERS if headers is None else headers)
    if contentLength:
        lines.append(f"Content-Length: {len(body)}")
    return (eol.join(lines) + eol + eol).encode() + body


def parseStream(data):
    """
    Feed C{data} byte by byte to a L{StreamFramer}; parse the one message.
    """
    framer = StreamFramer()
    events = []
    for i in range(len(data)):
        events.extend(framer.feed(data[i:i + 1]))
    assert [type(e) for e in events] == [FramedMessage]
    return parseMessage(events[0].data)


def parseBoth(data):
    """
    Parse C{data} whole and byte by byte; both must agree.
    """
    whole = parseMessage(data)
    streamed = parseStream(data)
    assert list(whole.headers) == list(streamed.headers)
    assert whole.body == streamed.body
    return whole


def rejected(data):
    """
    @return: the L{SIPParseError} that parsing C{data} raises.
    """
    with pytest.raises(SIPParseError) as info:
        parseMessage(data)
    return info.value


def test_request():
    """
    A request gives method, URI, headers in order and body.
    """
    request = parseBoth(build())
    assert isinstance(request, Request)
    assert (request.method, request.uri, request.version) == (
        "INVITE", "sip:bob@example.com", "SIP/2.0")
    assert request.callId == "3848276298220188511@192.0.2.1"
    assert request.cseq == (1, "INVITE")
    assert request.body == BODY
    assert request.headers.get("From") == '"Alice" <sip:alice@example.com>;tag=9fxced76sl'


def test_callIdKeptFromParse():
    """
    The parser keeps the Call-ID it checked in the headers' memo, which a
    response built from the request takes too; a Call-ID written later is
    what the message then gives.
    """
    request = parseMessage(build())
    assert request.headers.memo("Call-ID", None) == "3848276298220188511@192.0.2.1"
    assert makeResponse(request, 200).headers.memo("Call-ID", None) == request.callId
    request.headers.set("i", "other@192.0.2.1")
    assert request.callId == "other@192.0.2.1"


def test_response():
    """
    A response gives status and reason, which may hold spaces or be empty.
    """
    response = parseBoth(build("SIP/2.0 180 Ringing Now", body=b""))
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (180, "Ringing Now")
    assert parseMessage(build("SIP/2.0 100 ", body=b"")).reason == ""


def test_caseAndCompactNames():
    """
    Header names are case-insensitive and compact forms are expanded (RFC
    3261 sec. 7.3.3); whitespace before the colon is allowed.
    """
    headers = ["v : SIP/2.0/UDP h;branch=z9hG4bK1", "f: <sip:a@h>;tag=1",
               "t:<sip:b@h>", "i: x@y", "CSEQ: 2 OPTIONS", "max-forwards: 1",
               "X-custom-Thing: yes"]
    request = parseBoth(build("OPTIONS sip:b@h SIP/2.0", headers, b""))
    assert [n for n, _ in request.headers] == [
        "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards",
        "X-Custom-Thing", "Content-Length"]


def test_folding():
    """
    Continuation lines are joined to their header with one space (sec. 7.3.1).
    """
    headers = list(HEADERS) + ["Subject: first", " \t second", "\tthird"]
    request = parseBoth(build(headers=headers))
    assert request.headers.get("Subject") == "first second third"


def test_foldingAfterKnownNames():
    """
    Folding is found when every header name was seen before, and a line
    whose text after the fold looks like a header (C{ Via: x}) stays a
    continuation line.
    """
    for _ in range(2):   # the second time every name is known
        headers = list(HEADERS) + ["Subject: first", " Via: not a header"]
        request = parseBoth(build(headers=headers))
        assert request.headers.get("Subject") == "first Via: not a header"
        assert len(request.headers.getAll("Via")) == 1


def test_mixedLineEnds():
    """
    One bare LF among CRLF line ends is still a line end (sec. 7.5
    tolerance), and a header line without a colon is still refused.
    """
    request = parseMessage(build().replace(b"\r\nTo:", b"\nTo:", 1))
    assert request.headers.get("To") == "<sip:bob@example.com>"
    with pytest.raises(SIPParseError) as e:
        parseMessage(build(headers=list(HEADERS) + ["Via"]))
    assert e.value.reason == "Malformed header line"


def test_memoOfTopViaAndCSeq():
    """
    A parsed message's headers already hold its parsed top Via and CSeq
    (see L{tpbx.sip.headers.Headers.memo}), which agree with the text.
    """
    request = parseMessage(build())
    assert request.headers.memo("Via", None).branch == "z9hG4bK74bf9"
    assert request.headers.memo("CSeq", None) == request.cseq == (1, "INVITE")


def test_repeatedHeaders():
    """
    Repeated list headers keep every line in order.
    """
    headers = list(HEADERS) + ["Via: SIP/2.0/TCP second", "Route: <sip:r1;lr>",
                               "Route: <sip:r2;lr>"]
    request = parseBoth(build(headers=headers))
    assert len(request.headers.getAll("Via")) == 2
    assert request.headers.getList("Route") == ["<sip:r1;lr>", "<sip:r2;lr>"]


def test_leadingCRLFAndBareLF():
    """
    CRLFs before the start line are ignored (sec. 7.5); bare LF line ends
    are tolerated.
    """
    assert parseMessage(b"\r\n\r\n" + build()).method == "INVITE"
    request = parseMessage(build(eol="\n", body=b"hello"))
    assert request.body == b"hello"
    assert request.headers.get("To") == "<sip:bob@example.com>"
    assert splitHead(b"A\nB\n\nbody\r\n\r\nmore") == (b"A\nB", b"body\r\n\r\nmore")


def test_quotedValuesAndIPv6Preserved():
    """
    Quoted strings, escapes and IPv6 references reach the headers intact.
    """
    headers = list(HEADERS)
    headers[0] = "Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1"
    headers[2] = 'From: "A \\"q\\" \\\\" <sip:%61@[2001:db8::1]>;tag=1'
    request = parseBoth(build("INVITE sip:b@[2001:db8::2] SIP/2.0", headers))
    assert request.headers.get("From") == headers[2][6:]
    assert request.headers.get("Via").startswith("SIP/2.0/UDP [2001:db8::1]")


def test_utf8AndBinary():
    """
    UTF-8 in headers is decoded; a binary body is kept as bytes; octets that
    are not UTF-8 survive decoding (surrogateescape).
    """
    headers = list(HEADERS) + ["Subject: caf\u00e9"]
    body = b"\x00\xff\n\r\n\r\n\x00"
    request = parseBoth(build(headers=headers, body=body))
    assert request.headers.get("Subject") == "caf\u00e9"
    assert request.body == body
    raw = build(headers=list(HEADERS) + ["Subject: x"]).replace(b"Subject: x", b"Subject: \xff")
    assert parseMessage(raw).headers.get("Subject").encode(
        "utf-8", "surrogateescape") == b"\xff"


def test_noContentLength():
    """
    Without Content-Length the body is the rest of the datagram (sec. 18.3).
    """
    assert parseMessage(build(contentLength=False)).body == BODY


def test_bodyTruncated():
    """
    Octets beyond Content-Length are dropped (sec. 18.3).
    """
    assert parseMessage(build() + b"extra").body == BODY


def test_bodyShort():
    """
    A body shorter than Content-Length is a 400 with the request answerable.
    """
    error = rejected(build()[:-3])
    assert (error.statusHint, error.reason) == (
        400, "Content-Length larger than message")
    assert error.partial.method == "INVITE"
    assert error.partial.callId == "3848276298220188511@192.0.2.1"


def test_maxForwardsZeroAndLeadingZeros():
    """
    Max-Forwards 0 and leading zeros in scalars are well-formed.
    """
    headers = [h for h in HEADERS if not h.startswith("Max")] + [
        "Max-Forwards: 0000"]
    headers[headers.index("CSeq: 1 INVITE")] = "CSeq: 0001 INVITE"
    assert parseMessage(build(headers=headers)).cseq == (1, "INVITE")


def _without(name):
    return [h for h in HEADERS if not h.startswith(name + ":")]


def _replaced(name, value):
    return [f"{name}: {value}" if h.startswith(name + ":") else h for h in HEADERS]


@pytest.mark.parametrize("headers, reason", [
    (_without("To"), "Missing To"), (_without("From"), "Missing From"),
    (_without("Call-ID"), "Missing Call-ID"), (_without("CSeq"), "Missing CSeq"),
    (HEADERS + ["To: <sip:c@h>"], "Repeated To"),
    (HEADERS + ["i: other"], "Repeated Call-ID"),
    (_replaced("CSeq", "1 BYE"), "CSeq method does not match Request-Line"),
    (_replaced("CSeq", "2147483648 INVITE"), "CSeq number out of range"),
    (_replaced("CSeq", "36893488147419103232 INVITE"), "Malformed CSeq"),
    (_replaced("CSeq", "\u00b2 INVITE"), "Malformed CSeq"),
    (_replaced("CSeq", "1"), "Malformed CSeq"),
    (_replaced("Max-Forwards", "256"), "Max-Forwards out of range"),
    (_replaced("Max-Forwards", "-1"), "Malformed Max-Forwards"),
    (HEADERS + ["Max-Forwards: 5"], "Repeated Max-Forwards"),
    (_replaced("Call-ID", "a b"), "Malformed Call-ID"),
    (_replaced("To", '"open <sip:b@h>'), "Unterminated quoted string"),
    (_replaced("Via", "SIP/2.0/UDP h;;"), "Malformed Via parameter"),
    (HEADERS + ["Content-Length: 1"], "Repeated Content-Length"),
    (HEADERS + ["bad header line"], "Malformed header line"),
    (HEADERS + ["B@d: x"], "Malformed header line"),
])
def test_badHeaders(headers, reason):
    """
    Missing, repeated or malformed mandatory headers are a 400 that can be
    answered: the partial request carries the headers read.
    """
    error = rejected(build(headers=headers))
    assert (error.statusHint, error.reason) == (400, reason)
    assert isinstance(error.partial, Request)
    assert error.partial.headers.get("Via") is not None


def test_missingVia():
    """
    Without a Via, there is nowhere to answer: no partial.
    """
    error = rejected(build(headers=_without("Via")))
    assert (error.reason, error.partial) == ("Missing Via", None)


@pytest.mark.parametrize("startLine, status, method", [
    ("INVITE  sip:b@h SIP/2.0", 400, "INVITE"),
    ("INVITE sip:b@h SIP/2.0 ", 400, "INVITE"),
    ("INVITE <sip:b@h> SIP/2.0", 400, "INVITE"),
    ("INVITE sip:b@h; lr SIP/2.0", 400, "INVITE"),
    ("INVITE sip:b@h?Route=x SIP/2.0", 400, "INVITE"),
    ("INVITE sip:b@h SIP/7.0", 505, "INVITE"),
    ("INVITE sip:b@h HTTP/1.1", 400, "INVITE"),
    ("INVITE mailto:b@h SIP/2.0", 416, "INVITE"),
    ("INV\u00c9TE sip:b@h SIP/2.0", 400, ""),
    ("@@@ sip:b@h SIP/2.0", 400, ""),
])
def test_badRequestLine(startLine, status, method):
    """
    A malformed Request-Line is a 400; another version a 505; an unknown
    Request-URI scheme a 416 (RFC 3261 sec. 8.2.2.1, RFC 4475 sec. 3.1.2).
    """
    error = rejected(build(startLine))
    assert error.statusHint == status
    assert error.partial.method == method


def test_versionCase():
    """
    The version is compared case-insensitively.
    """
    assert parseMessage(build("INVITE sip:b@h sip/2.0")).version == "SIP/2.0"


@pytest.mark.parametrize("startLine", [
    "SIP/2.0 4294967301 Bad", "SIP/2.0 99 Low", "SIP/2.0 700 High",
    "SIP/2.0 2x0 OK", "SIP/3.0 200 OK",
])
def test_badStatusLine(startLine):
    """
    Broken responses are dropped: no partial (RFC 4475 sec. 3.1.2.19).
    """
    assert rejected(build(startLine)).partial is None


def test_badResponseHeaders():
    """
    Responses with broken mandatory headers are dropped too.
    """
    error = rejected(build("SIP/2.0 200 OK", _replaced("CSeq", "99999999999 INVITE")))
    assert error.partial is None


def test_tel():
    """
    tel: Request-URIs are accepted.
    """
    assert parseMessage(build("INVITE tel:+15551234 SIP/2.0")).uri == "tel:+15551234"


def test_roundTrip():
    """
    A parsed message serializes to bytes that parse to the same message.
    """
    request = parseMessage(build())
    again = parseMessage(request.toBytes())
    assert list(again.headers) == list(request.headers)
    assert again.body == request.body


@pytest.mark.parametrize("headers, reason", [
    # no name repeats: the one-dict path
    ([h for h in HEADERS if not h.startswith(("From", "To"))], "Missing From"),
    (_without("Call-ID") + ["Via: SIP/2.0/UDP h;;"], "Missing Call-ID"),
    (_replaced("Max-Forwards", "999") + ["Content-Length: x"],
     "Max-Forwards out of range"),
    (_replaced("CSeq", "1 BYE") + ["Max-Forwards: 5"],
     "CSeq method does not match Request-Line"),
    # some name repeats: the counting path keeps the same order
    (_without("To") + ['From: "B" <sip:b@h>;tag=2'], "Repeated From"),
    (_without("From") + ["To: <sip:c@h>"], "Missing From"),
    (_without("Via") + ["CSeq: 2 INVITE"], "Repeated CSeq"),
    (HEADERS + ["Route: <sip:r>", "Route: <sip:s>"], None),
    (HEADERS + ["Via: SIP/2.0/UDP h;;"], "Malformed Via parameter"),
    (HEADERS + ["Max-Forwards: 1", "Content-Length: 1"], "Repeated Max-Forwards"),
    (_replaced("Max-Forwards", "x") + ["Content-Length: 1"], "Malformed Max-Forwards"),
])
def test_errorPrecedence(headers, reason):
    """
    When several mandatory headers are wrong, the first check in a fixed
    order names the error, whether or not some header name repeats:
    From, To, Call-ID, CSeq present once each, then Via, the Via values,
    From, To, Call-ID, CSeq, Max-Forwards, Content-Length.
    """
    data = build(headers=headers)
    if reason is None:
        assert parseMessage(data).headers.getList("Route") == ["<sip:r>", "<sip:s>"]
    else:
        assert rejected(data).reason == reason


def test_topViaOfRepeatedViaLines():
    """
    With Via on several lines, every value is checked and the memo holds
    the first line's first via-parm.
    """
    headers = HEADERS[:1] + ["v: SIP/2.0/TCP second;branch=z9hG4bK2"] + HEADERS[1:]
    request = parseMessage(build(headers=headers))
    assert request.headers.memo("Via", None).branch == "z9hG4bK74bf9"
    assert rejected(build(headers=headers + ["Via: ,"])).reason == "Empty Via value"


@pytest.mark.parametrize("data, expected", [
    (b"A\r\nB\r\n\r\nbody", (b"A\r\nB", b"body")),
    (b"A\r\nB\n\nbody\r\n\r\nmore", (b"A\r\nB", b"body\r\n\r\nmore")),
    (b"A\r\nB\r\n\r\nbo\n\ndy", (b"A\r\nB", b"bo\n\ndy")),
    (b"\r\n\nA\r\nB\r\n", (b"A\r\nB", b"")),
    (b"A\r\n\r\n", (b"A", b"")),
    (b"", (b"", b"")),
])
def test_splitHeadEdges(data, expected):
    """
    The head ends at the first empty line, CRLF or bare LF, whichever
    comes first; without one, the whole (right-stripped) data is head.
    """
    assert splitHead(data) == expected


def test_responseCSeqMethodIsToken():
    """
    A response's CSeq method is checked as a token (a request's must
    equal the method of its Request-Line, a token already).
    """
    error = rejected(build("SIP/2.0 200 OK", _replaced("CSeq", "1 IN@VITE")))
    assert (error.reason, error.partial) == ("Malformed CSeq", None)
    assert parseMessage(build("SIP/2.0 200 OK", _replaced("CSeq", "1 BYE"))).cseq == (1, "BYE")


def test_toBytesLayout():
    """
    Serializing writes the start line, the headers in order without any
    Content-Length, then one Content-Length that matches the body.
    """
    request = parseMessage(build())
    request.body = b"xyz"
    text = request.toBytes().decode()
    lines = text.split("\r\n")
    assert lines[0] == "INVITE sip:bob@example.com SIP/2.0"
    assert lines[1:-2] == HEADERS + ["Content-Length: 3"]
    assert lines[-2:] == ["", "xyz"]
