# -*- test-case-name: tests.sip.test_conformance_parse -*-
"""
The RFC 4475 and RFC 5118 torture messages (and the PROTOS c07-sip request
method mutations) through the parser and the stream framer.

Each manifest row says what a server must do.  Some outcomes are the
parser's (a malformed message is a L{SIPParseError} with the status to
send); others are decided above it, on a message that parses: the table
L{RESPONSIBLE} records which layer owns each of those, so that the core's
own tests can check them.  Over TCP, a message the framer cannot delimit
closes the connection, which the manifests allow (C{drop@tcp|close@tcp}).
"""

import csv
import os
from pathlib import Path

import pytest

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.sip.address import parseContacts
from tpbx.sip.framing import FramedMessage, FramingError, StreamFramer
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage
from tpbx.sip.via import parseViaList

CONFORMANCE = Path(os.environ.get(
    "TPBX_CONFORMANCE_DIR",
    Path(__file__).resolve().parents[3] / "shared" / "conformance"))

# Rows whose outcome is not the parser's: the message parses, and the layer
# named here must produce the manifest's "expect".
RESPONSIBLE = {
    "baddate.dat": "core: may ignore the bad Date (manifest alt 'process')",
    "regbadct.dat": "registrar: parseContacts raises ProtocolError 400",
    "badbranch.dat": "transaction layer: RFC 2543 matching for a bare cookie",
    "unksm2.dat": "registrar: 400 when To is not a sip/sips AOR",
    "bext01.dat": "core: 420 Bad Extension listing Unsupported",
    "invut.dat": "core (UAS): 415 Unsupported Media Type with Accept",
    "regaut01.dat": "registrar: ignore the unknown scheme, 200 or 401",
    "bcast.dat": "transaction layer: stray response dropped",
    "zeromf.dat": "core: UAS processes Max-Forwards 0 (proxy would 483)",
    "cparam01.dat": "registrar: contact-param kept, 200 or 401",
    "cparam02.dat": "registrar: url-param kept in the binding, 200 or 401",
    "regescrt.dat": "registrar: escaped URI header kept, 200 or 401",
    "sdp01.dat": "core (UAS): 406 Not Acceptable for Accept without sdp",
    "inv2543.dat": "core: no From tag / branch / Max-Forwards tolerated",
    "unreason.dat": "transaction layer: stray response dropped",
    "noreason.dat": "transaction layer: stray response dropped",
    "intmeth.dat": "core (UAS): 501 Not Implemented with Allow",
    "esc02.dat": "core (UAS): 501, the method is not REGISTER",
}


def _rows(folder):
    manifest = CONFORMANCE / folder / "manifest.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="", encoding="utf-8") as f:
        return [pytest.param(folder, row, id=f"{folder}/{row['file']}")
                for row in csv.DictReader(f, delimiter="\t")]


ROWS = _rows("rfc4475") + _rows("rfc5118")
pytestmark = pytest.mark.skipif(
    not ROWS, reason=f"no conformance vectors in {CONFORMANCE}")


def _load(folder, row):
    return (CONFORMANCE / folder / row["file"]).read_bytes()


def _checkReadable(message):
    """
    What every layer above reads first is there and well-formed.
    """
    assert message.callId
    number, method = message.cseq
    if isinstance(message, Request):
        assert method == message.method
    assert parseViaList(message.headers.getAll("Via"))


@pytest.mark.parametrize("folder, row", ROWS)
def test_datagram(folder, row):
    """
    As a datagram, every message meets its manifest outcome at the parser:
    processed, dropped (responses: no partial), or refused with the
    manifest's status and a partial request to answer; rows owned by
    another layer parse and are listed in L{RESPONSIBLE}.
    """
    data = _load(folder, row)
    expect = row["expect"].split("|")
    try:
        message = parseMessage(data)
    except SIPParseError as error:
        assert row["file"] not in RESPONSIBLE
        if expect == ["drop"]:
            assert error.partial is None
        else:
            assert str(error.statusHint) in expect, error.reason
            assert isinstance(error.partial, Request)
            assert error.partial.headers.get("Via")
        return
    _checkReadable(message)
    if row["kind"] == "response":
        assert isinstance(message, Response)
    if "process" not in expect:
        assert row["file"] in RESPONSIBLE


def test_registrarLevelContact():
    """
    regbadct.dat parses, and its Contact is refused by L{parseContacts}
    (RFC 4475 sec. 3.1.2.13), as the registrar will.
    """
    message = parseMessage(_load("rfc4475", {"file": "regbadct.dat"}))
    with pytest.raises(ProtocolError) as info:
        parseContacts(message.headers.getAll("Contact"))
    assert info.value.statusHint == 400


# Rows a stream cannot frame as one message: the framer waits for octets
# that never come (the connection times out), or fails (it is closed).
STREAM_UNFRAMED = {
    "clerr.dat": "waits", "baddn.dat": "waits", "ncl.dat": "fails",
    "mcl01.dat": "fails", "inv2543.dat": "fails",
}


def _stream(data):
    framer = StreamFramer()
    events = []
    for i in range(len(data)):
        events.extend(framer.feed(data[i:i + 1]))
    return events


@pytest.mark.parametrize("folder, row", ROWS)
def test_stream(folder, row):
    """
    Fed byte by byte to a L{StreamFramer}, each message is framed and parses
    exactly as the datagram does; those a stream cannot frame make the
    framer wait or fail, which their manifest rows allow over TCP.
    """
    data = _load(folder, row)
    events = _stream(data)
    outcome = STREAM_UNFRAMED.get(row["file"])
    if outcome is not None:
        assert "tcp" in row["alt"] or row["file"] == "baddn.dat"
        assert events == ([] if outcome == "waits" else events[:1])
        assert outcome == "waits" or isinstance(events[0], FramingError)
        return
    assert isinstance(events[0], FramedMessage)
    try:
        streamed = parseMessage(events[0].data)
    except SIPParseError as error:
        with pytest.raises(SIPParseError) as info:
            parseMessage(data)
        assert info.value.statusHint == error.statusHint
    else:
        whole = parseMessage(data)
        assert list(streamed.headers) == list(whole.headers)
        assert streamed.body == whole.body


def test_dblreqOverStream():
    """
    Over a stream the octets after dblreq.dat's REGISTER are a second
    request (RFC 4475 sec. 3.1.1.8); what follows its 150 body octets has
    no Content-Length and ends the stream.
    """
    events = _stream(_load("rfc4475", {"file": "dblreq.dat"}))
    assert [type(e) for e in events] == [FramedMessage, FramedMessage,
                                         FramingError]
    assert parseMessage(events[0].data).method == "REGISTER"
    assert parseMessage(events[1].data).method == "INVITE"


def _protos():
    folder = CONFORMANCE / "protos-c07-capture"
    return sorted(folder.glob("case-*.sip")) if folder.exists() else []


@pytest.mark.parametrize("path", _protos(), ids=lambda p: p.name)
def test_protos(path):
    """
    The PROTOS c07-sip method mutations: the valid INVITE (case 0) parses;
    every mutation is refused with a 400, never an unexpected exception.
    """
    data = path.read_bytes()
    if path.name == "case-0000.sip":
        _checkReadable(parseMessage(data))
        return
    with pytest.raises(SIPParseError) as info:
        parseMessage(data)
    assert info.value.statusHint == 400
