# -*- test-case-name: tests.sip.test_sdp_streams -*-
"""
Tests for L{tpbx.sip.sdp}: the questions calls ask of a description
(which stream is relayed, its telephone-event type), the codecs shared
between descriptions, line ends, and writing by lines.
"""

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip import codecs as codecsModule
from tpbx.sip.codecs import Codec
from tpbx.sip.sdp import MediaDescription, joinLines, parseSDP
from tests.sip.test_sdp import BARESIP, IPV6, POLYCOM, REAL, SIPP_UAC, crlf

HEAD = """
v=0
o=- 1 1 IN IP4 192.0.2.9
s=-
c=IN IP4 192.0.2.9
t=0 0
"""


def media(formats: str, *rtpmaps: str, port: int = 4000) -> MediaDescription:
    """@return: an audio stream of C{formats} with C{rtpmaps} values."""
    return MediaDescription("audio", port, formats=formats.split(),
                            attributes=[("rtpmap", v) for v in rtpmaps])


def test_eventTypeRealPhones():
    """
    eventType() is the payload type of telephone-event/8000 of a stream,
    or None when it has none.
    """
    assert parseSDP(BARESIP).media[0].eventType() == 101
    assert parseSDP(POLYCOM).media[0].eventType() == 127
    assert parseSDP(SIPP_UAC).media[0].eventType() is None


@pytest.mark.parametrize("stream, expected", [
    (media("0 101", "101 TELEPHONE-Event/8000"), 101),
    (media("0 101", "101 telephone-event/8000/1"), 101),
    (media("0 101", "101 telephone-event/16000"), None),
    (media("0", "101 telephone-event/8000"), None),
    (media("102 101", "101 telephone-event/8000",
           "102 telephone-event/8000"), 102),
    (media("96 101", "101 telephone-event/16000",
           "101 telephone-event/8000", "96 telephone-event/8000"), 96),
    (media("101", "101 PCMU/8000", "101 telephone-event/8000"), None),
    (media("101", "101 telephone-event/x"), None),
    (media("0"), None),
])
def test_eventTypeRules(stream, expected):
    """
    eventType() takes the first format in m= order whose first rtpmap is
    telephone-event (any case) at 8000 Hz (RFC 4733 sec. 7.1.1); an
    rtpmap of a type not in m=, or malformed, does not count.
    """
    assert stream.eventType() == expected


def test_firstAudioAndEventType():
    """
    A description's first live audio stream skips video and rejected
    (port 0) streams; its eventType() is that stream's, None without one.
    """
    body = crlf(HEAD + """
m=video 0 RTP/AVP 31
m=audio 0 RTP/AVP 0 101
a=rtpmap:101 telephone-event/8000
m=video 5000 RTP/AVP 31
m=audio 6000 RTP/AVP 0 100
a=rtpmap:100 telephone-event/8000
""")
    sdp = parseSDP(body)
    assert sdp.firstAudio() == 3
    assert sdp.eventType() == 100
    sdp.media[3].port = 0
    assert sdp.firstAudio() is None and sdp.eventType() is None
    assert parseSDP(IPV6).firstAudio() == 0


def test_codecsShared():
    """
    Codecs are frozen and made once per (payload type, rtpmap, fmtp): two
    descriptions with the same lines get the same instances, equal to
    fresh ones; an fmtp on a static type makes a codec with it.
    """
    one = parseSDP(BARESIP).media[0].rtpmap()
    two = parseSDP(BARESIP).media[0].rtpmap()
    assert all(one[pt] is two[pt] for pt in one)
    assert one["96"] == Codec("OPUS", 48000, 2, 96, "stereo=1;sprop-stereo=1")
    static = MediaDescription("audio", 4000, formats=["18"],
                              attributes=[("fmtp", "18 annexb=no")])
    assert static.rtpmap()["18"] == Codec("G729", 8000, 1, 18, "annexb=no")
    assert codecsModule.STATIC_PAYLOAD_TYPES["18"].fmtp is None
    with pytest.raises(AttributeError):
        one["96"].fmtp = "x"


def test_codecCacheBounded(monkeypatch):
    """
    The codec cache holds at most its bound of entries, and does not keep
    long texts from peers.
    """
    monkeypatch.setattr(codecsModule, "_CODECS", {})
    for pt in range(codecsModule._CODECS_KEPT + 50):
        media("96", f"96 x{pt}/8000").rtpmap()
        assert len(codecsModule._CODECS) <= codecsModule._CODECS_KEPT
    codecsModule._CODECS.clear()
    long = media("96", "96 " + "y" * codecsModule._CODEC_TEXT_KEPT + "/8000")
    assert long.rtpmap()["96"].name == "Y" * codecsModule._CODEC_TEXT_KEPT
    assert codecsModule._CODECS == {}


@pytest.mark.parametrize("body", [
    b"v=0\r\r\no=- 1 1 IN IP4 a\r\n\r\r\nm=audio 5 RTP/AVP 0\r",
    b"v=0\no=- 1 1 IN IP4 a\n \r \nm=audio 5 RTP/AVP 0",
    b"v=0\r\no=- 1 1 IN IP4 a\n\r\nm=audio 5 RTP/AVP 0\r\r\r\n\n",
])
def test_lineEnds(body):
    """
    CRLF, bare LF, several CRs before a LF or at the end, blank lines
    (with CRs) and a last line without an end all read the same.
    """
    assert parseSDP(body).toBytes() == (
        b"v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nm=audio 5 RTP/AVP 0\r\n")


@pytest.mark.parametrize("body, reason", [
    (b"v=0\r\no=- 1 1 IN IP4 a\r\ns=x\ry\r\n", "Bad SDP line (bare CR)"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\n\r=x\r\n", "Bad SDP line (bare CR)"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\n\rs=x\r\n",
     "Bad SDP line (not <type>=<value>)"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\n=\r\n",
     "Bad SDP line (not <type>=<value>)"),
])
def test_badLineEnds(body, reason):
    """
    A CR inside a line is a 400, as is a line whose second character is
    not C{=}.
    """
    with pytest.raises(ProtocolError) as caught:
        parseSDP(body)
    assert (caught.value.reason, caught.value.statusHint) == (reason, 400)


@pytest.mark.parametrize("name", sorted(REAL))
def test_writeLines(name):
    """
    writeLines() gives the body's lines, o= second, and joinLines() makes
    them the body toBytes() writes.
    """
    sdp = parseSDP(REAL[name])
    lines: list[str] = []
    sdp.writeLines(lines)
    assert lines[1] == f"o={sdp.origin}"
    assert joinLines(lines) == sdp.toBytes() == REAL[name]


def test_copyKeepsSessionDirection():
    """
    A copy keeps the session-level direction each media inherited.
    """
    sdp = parseSDP(SIPP_UAC.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n"))
    copy = sdp.copy()
    assert copy.media[0].sessionDirection == "sendonly"
    assert copy == sdp and copy.media[0] is not sdp.media[0]
