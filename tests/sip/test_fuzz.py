# -*- test-case-name: tests.sip.test_fuzz -*-
"""
Garbage in, precise errors out: whatever a peer sends, the SIP syntax layer
returns a message, raises L{ProtocolError} (L{SIPParseError} for whole
messages), or emits framing events; never any other exception (STYLE.md
rule 9).
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.sip.address import parseContacts, parseNameAddr
from tpbx.sip.framing import FramedMessage, FramingError, StreamFramer
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage
from tpbx.sip.reply import makeResponse
from tpbx.sip.uri import parseURI
from tpbx.sip.via import parseViaList

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

VALID = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK74bf9;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: \"Al \\\"x\\\"\" <sip:alice@example.com>;tag=9fxced76sl\r\n"
    b"t: sip:bob@example.com\r\n"
    b"Call-ID: 3848276298220188511@192.0.2.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.1;transport=tcp>;expires=60\r\n"
    b"Subject: folded\r\n  line\r\n"
    b"Content-Length: 4\r\n\r\nv=0\n"
)
# Bytes that matter to the grammar, so mutations hit interesting paths.
SPECIAL = st.sampled_from(list(b"\r\n :;,=<>\"\\@[]%/?0 \t\xff\x00"))
OCTET = st.one_of(SPECIAL, st.integers(0, 255))


def _parse(data):
    """
    Parse C{data}; only L{SIPParseError} may escape, and a partial must be
    a request that can be answered.
    """
    try:
        message = parseMessage(data)
    except SIPParseError as error:
        assert error.partial is None or isinstance(error.partial, Request)
        if error.partial is not None:
            makeResponse(error.partial, error.statusHint, error.reason)
        return None
    assert isinstance(message, (Request, Response))
    message.callId, message.cseq
    return message


def _frame(chunks):
    """
    Feed C{chunks}; every event is one of the documented ones, and every
    framed message parses or raises L{SIPParseError}.
    """
    framer = StreamFramer(maxHeaderBytes=2048, maxMessageBytes=4096)
    events = []
    for chunk in chunks:
        events.extend(framer.feed(chunk))
    for event in events:
        if isinstance(event, FramedMessage):
            _parse(event.data)
    assert all(not isinstance(e, FramingError) for e in events[:-1])
    return events


@FUZZ
@given(st.binary(max_size=600))
def test_anyBytes(data):
    """
    Random bytes parse to a message or a L{SIPParseError}.
    """
    _parse(data)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 3),
                          st.lists(OCTET, max_size=4)), max_size=6))
def test_mutations(edits):
    """
    A valid message with bytes inserted, deleted or replaced parses to a
    message or a L{SIPParseError}, whole and through the framer.
    """
    data = bytearray(VALID)
    for at, delete, insert in edits:
        data[at:at + delete] = bytes(insert)
    _parse(bytes(data))
    _frame([bytes(data)])


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=8))
def test_streamSplits(data, cuts):
    """
    Any bytes, split at any points, give only framing events.
    """
    stream = VALID + data + VALID
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0] + points, points + [len(stream)])]
    events = _frame(chunks)
    assert events and events[0] == FramedMessage(VALID)
    assert events == _frame([stream])


def _parseHeaders(text):
    """
    Run every header-level parser on C{text}.
    """
    for parse in (parseURI, parseNameAddr, parseContacts, parseViaList):
        try:
            parse(text)
        except ProtocolError as error:
            assert error.statusHint == 400


@FUZZ
@given(st.text(max_size=80))
def test_headerParsers(text):
    """
    The header-level parsers raise only L{ProtocolError} on any text.
    """
    _parseHeaders(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from('sip:@;=<>"\\, ab1[]%/?&tag'),
               max_size=40))
def test_headerParsersGrammarAlphabet(text):
    """
    The same, with text drawn from the grammar's own characters.
    """
    _parseHeaders(text)
