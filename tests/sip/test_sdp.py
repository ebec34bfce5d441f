# -*- test-case-name: tests.sip.test_sdp -*-
"""
Tests for L{tpbx.sip.sdp}: real bodies round-trip, the model answers the
questions offer/answer asks, and garbage is a L{ProtocolError}.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tpbx.errors import ProtocolError
from tpbx.sip.codecs import Codec
from tpbx.sip.sdp import (
    Connection, MediaDescription, Origin, SessionDescription,
    addressType, parseSDP,
)


def crlf(text: str) -> bytes:
    """@return: C{text} (LF lines) with CRLF line ends, as sent."""
    return text.strip("\n").replace("\n", "\r\n").encode() + b"\r\n"


BARESIP = crlf("""
v=0
o=- 1795469180 2817216547 IN IP4 192.168.1.10
s=-
c=IN IP4 192.168.1.10
t=0 0
a=tool:baresip 3.10.1
m=audio 10416 RTP/AVP 96 9 0 8 101
b=AS:99
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ssrc:1409869219 cname:4a2a1c0f-8b6e-4a1c-9c3e-3d1f6b5f7a10
""")

SIPP_UAC = crlf("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
""")

YEALINK = crlf("""
v=0
o=- 20010 20010 IN IP4 192.168.1.50
s=SDP data
c=IN IP4 192.168.1.50
t=0 0
m=audio 11796 RTP/AVP 0 8 9 18 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:9 G722/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=ptime:20
a=sendrecv
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
""")

POLYCOM = crlf("""
v=0
o=- 1300000000 1300000000 IN IP4 10.1.1.20
s=Polycom IP Phone
c=IN IP4 10.1.1.20
t=0 0
a=sendrecv
m=audio 2222 RTP/AVP 9 102 0 8 18 127
a=rtpmap:9 G722/8000
a=rtpmap:102 G7221/16000
a=fmtp:102 bitrate=32000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:127 telephone-event/8000
""")

# RFC 4317 sec. 2.1 (its "s= " written "s=" here: trailing blanks are not
# kept).
RFC4317 = crlf("""
v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s=
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 8 97
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:97 iLBC/8000
m=video 51372 RTP/AVP 31 32
a=rtpmap:31 H261/90000
a=rtpmap:32 MPV/90000
""")

IPV6 = crlf("""
v=0
o=bob 2808844564 2808844564 IN IP6 2001:db8::2
s=-
c=IN IP6 2001:db8::2
t=0 0
m=audio 49172 RTP/AVP 0 8
m=audio 49174/2 RTP/AVP 10 11 96
c=IN IP6 2001:db8::3
a=rtpmap:96 L16/16000/2
a=sendonly
""")

# Every RFC 8866 line type, in the RFC's order.
FULL = crlf("""
v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
p=+1 617 555-6011
c=IN IP4 224.2.17.12/127
b=CT:128
t=2873397496 2873404696
r=604800 3600 0 90000
z=2882844526 -1h 2898848070 0
k=prompt
a=recvonly
m=audio 49170 RTP/AVP 0
i=voice
c=IN IP4 224.2.17.12/127
b=AS:64
k=prompt
a=ptime:20
m=video 51372 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
""")

REAL = {"baresip": BARESIP, "sipp": SIPP_UAC, "yealink": YEALINK,
        "polycom": POLYCOM, "rfc4317": RFC4317, "ipv6": IPV6, "full": FULL}


@pytest.mark.parametrize("name", sorted(REAL))
def test_roundTrip(name):
    """
    Real bodies written in RFC 8866 field order come back byte for byte.
    """
    assert parseSDP(REAL[name]).toBytes() == REAL[name]


def test_fields():
    """
    The session and media fields are parsed into the model.
    """
    sdp = parseSDP(RFC4317)
    assert sdp.version == 0
    assert sdp.origin == Origin("alice", "2890844526", 2890844526, "IN",
                                "IP4", "host.atlanta.example.com")
    assert sdp.sessionName == ""
    assert sdp.connection == Connection("IN", "IP4",
                                        "host.atlanta.example.com")
    assert sdp.timing == [("t", "0 0")]
    audio, video = sdp.media
    assert (audio.media, audio.port, audio.portCount, audio.proto,
            audio.formats) == ("audio", 49170, None, "RTP/AVP",
                               ["0", "8", "97"])
    assert audio.connection is None
    assert audio.address(sdp) == "host.atlanta.example.com"
    assert video.media == "video" and video.formats == ["31", "32"]


def test_ipv6AndPortCount():
    """
    IPv6 c= lines, a media-level c= overriding the session's, and an
    m= port count are read.
    """
    sdp = parseSDP(IPV6)
    first, second = sdp.media
    assert first.address(sdp) == "2001:db8::2"
    assert second.address(sdp) == "2001:db8::3"
    assert (second.port, second.portCount) == (49174, 2)
    assert addressType("2001:db8::2") == "IP6"
    assert Connection.forAddress("192.0.2.1") == Connection("IN", "IP4",
                                                            "192.0.2.1")


def test_multicastSuffix():
    """
    The address of a multicast c= line comes without its /ttl suffix.
    """
    sdp = parseSDP(FULL)
    assert sdp.media[0].address(sdp) == "224.2.17.12"
    assert sdp.connection.address == "224.2.17.12/127"


def test_rtpmap():
    """
    rtpmap() gives codecs in m= order, names upper-cased, with channels
    and fmtp; static payload types without a=rtpmap come from RFC 3551;
    an unknown dynamic type is left out.
    """
    media = parseSDP(BARESIP).media[0]
    codecs = media.rtpmap()
    assert list(codecs) == ["96", "9", "0", "8", "101"]
    assert codecs["96"] == Codec("OPUS", 48000, 2, 96,
                                 "stereo=1;sprop-stereo=1")
    assert codecs["101"] == Codec("TELEPHONE-EVENT", 8000, 1, 101, "0-15")
    assert codecs["9"] == Codec("G722", 8000, 1, 9)
    static = MediaDescription("audio", 4000, formats=["0", "8", "9", "18",
                                                      "3", "96"])
    assert [(c.name, c.payloadType) for c in static.rtpmap().values()] == [
        ("PCMU", 0), ("PCMA", 8), ("G722", 9), ("G729", 18), ("GSM", 3)]
    channels = parseSDP(IPV6).media[1].rtpmap()
    assert (channels["10"].channels, channels["96"].channels) == (2, 2)
    assert channels["96"].clockRate == 16000


def test_malformedRtpmapIgnored():
    """
    A malformed a=rtpmap leaves its type to the static table or unknown,
    it does not fail.
    """
    media = MediaDescription("audio", 4000, formats=["0", "97"], attributes=[
        ("rtpmap", "0 PCMU"), ("rtpmap", "97 x/y")])
    assert list(media.rtpmap()) == ["0"]
    assert media.rtpmap()["0"].name == "PCMU"


def test_fmtp():
    """
    fmtp(pt) gives a format's parameters or None.
    """
    media = parseSDP(YEALINK).media[0]
    assert media.fmtp("18") == "annexb=no"
    assert media.fmtp("101") == "0-15"
    assert media.fmtp("0") is None


@pytest.mark.parametrize("body, expected", [
    (SIPP_UAC, "sendrecv"),
    (YEALINK, "sendrecv"),
    (POLYCOM, "sendrecv"),
    (IPV6, "sendonly"),
])
def test_direction(body, expected):
    """
    The direction comes from the media, else the session, else sendrecv.
    """
    assert parseSDP(body).media[-1].direction == expected


def test_sessionDirectionInherited():
    """
    A session-level a=sendonly applies to media without their own, not to
    media that have one (RFC 8866 sec. 6.7).
    """
    sdp = parseSDP(RFC4317.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
                   .replace(b"MPV/90000\r\n", b"MPV/90000\r\na=inactive\r\n"))
    assert [m.direction for m in sdp.media] == ["sendonly", "inactive"]


def test_setDirection():
    """
    setDirection replaces the direction attribute in place, or appends
    one; anything but the four directions is refused.
    """
    media = parseSDP(YEALINK).media[0]
    before = [a for a in media.attributes]
    media.setDirection("inactive")
    assert media.direction == "inactive"
    assert media.attributes == [("inactive", None) if a == ("sendrecv", None)
                                else a for a in before]
    bare = MediaDescription("audio", 4000, formats=["0"])
    bare.setDirection("recvonly")
    assert bare.attributes == [("recvonly", None)]
    with pytest.raises(ValueError):
        bare.setDirection("hold")


@pytest.mark.parametrize("change, held", [
    ((b"a=sendrecv", b"a=sendonly"), True),
    ((b"a=sendrecv", b"a=inactive"), True),
    ((b"a=sendrecv", b"a=recvonly"), False),
    ((b"c=IN IP4 192.168.1.50", b"c=IN IP4 0.0.0.0"), True),
    ((b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n"), False),
    ((b"a=sendrecv\r\n", b""), False),
])
def test_isHold(change, held):
    """
    A stream is on hold when sendonly or inactive (RFC 3264 sec. 8.4) or
    with the RFC 2543 c=0.0.0.0; a media-level a=sendrecv beats a
    session-level a=sendonly.
    """
    sdp = parseSDP(YEALINK.replace(*change))
    assert sdp.media[0].isHold(sdp) is held
    assert sdp.isHold() is held


def test_sessionLevelHold():
    """
    A session-level a=sendonly holds every stream without its own
    direction; a rejected stream is never on hold.
    """
    sdp = parseSDP(SIPP_UAC.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n"))
    assert sdp.media[0].isHold(sdp) and sdp.isHold()
    sdp.media[0].port = 0
    assert not sdp.media[0].isHold(sdp) and not sdp.isHold()


def test_bareLineFeedsAndBlanks():
    """
    LF line ends, blank lines and blanks after a flag attribute are
    accepted; the output uses CRLF.
    """
    sdp = parseSDP(SIPP_UAC.replace(b"\r\n", b"\n").replace(
        b"t=0 0\n", b"t=0 0\n\na=sendonly \n"))
    assert sdp.media[0].direction == "sendonly"
    assert b"\r\na=sendonly\r\n" in sdp.toBytes()


def test_unknownLinesKept():
    """
    Unknown line types and attributes are kept (RFC 8866 sec. 5: ignore,
    do not drop, what is not understood).
    """
    body = SIPP_UAC.replace(b"t=0 0\r\n", b"t=0 0\r\ny=whatever\r\n") + (
        b"a=x-custom:1 2\r\nx=media level\r\n")
    out = parseSDP(body).toBytes()
    assert b"y=whatever\r\n" in out
    assert b"x=media level\r\na=rtpmap:0 PCMU/8000\r\na=x-custom:1 2" in out


def test_originUsernameWithBlanks():
    """
    An o= username with blanks (some phones) keeps the last five fields.
    """
    sdp = parseSDP(SIPP_UAC.replace(b"o=user1", b"o=Some Phone"))
    assert sdp.origin.username == "Some Phone"
    assert sdp.origin.sessionVersion == 2353687637


def test_copyIsIndependent():
    """
    Editing a copy leaves the original alone.
    """
    sdp = parseSDP(BARESIP)
    other = sdp.copy()
    other.media[0].formats.append("3")
    other.media[0].attributes.clear()
    other.attributes.append(("x", None))
    other.timing.clear()
    assert parseSDP(BARESIP) == sdp
    assert other != sdp


def test_buildAndWrite():
    """
    A description built from the dataclasses writes a valid body.
    """
    sdp = SessionDescription(0, Origin("tpbx", "1", 2, "IN", "IP4",
                                       "192.0.2.1"),
                             connection=Connection.forAddress("192.0.2.1"),
                             media=[MediaDescription("audio", 4000,
                                                     formats=["0"])])
    assert sdp.toBytes() == crlf("""
v=0
o=tpbx 1 2 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 0
""")


@pytest.mark.parametrize("body, reason", [
    (b"", "SDP does not start with v="),
    (b"\r\n\r\n", "SDP does not start with v="),
    (b"o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", "SDP does not start with v="),
    (b"v=0\r\ns=-\r\n", "SDP without o= line"),
    (b"v=x\r\n", "Bad SDP v= line"),
    (b"v=0\r\no=- 1 1 IN IP4\r\n", "Bad SDP o= line"),
    (b"v=0\r\no=- 1 x IN IP4 a\r\n", "Bad SDP o= session version"),
    (b"v=0\r\no=- 1 1" + b"9" * 30 + b" IN IP4 a\r\n",
     "Bad SDP o= session version"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\no=- 1 1 IN IP4 a\r\n", "Second SDP o= line"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nc=IN IP4\r\n", "Bad SDP c= line"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 5\r\n", "Bad SDP m= line"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 70000 RTP/AVP 0\r\n",
     "Bad SDP m= port"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio \xd9\xa3 RTP/AVP 0\r\n",
     "Bad SDP m= port"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 5/x RTP/AVP 0\r\n",
     "Bad SDP m= port count"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 5 RTP/AVP 0\r\nv=0\r\n",
     "Second SDP v= line"),
    (b"v=0\r\no=- 1 1 IN IP4 a\r\nhello\r\n",
     "Bad SDP line (not <type>=<value>)"),
])
def test_garbage(body, reason):
    """
    What leaves a body unusable is a ProtocolError 400 with a precise
    reason.
    """
    with pytest.raises(ProtocolError) as caught:
        parseSDP(body)
    assert (caught.value.reason, caught.value.statusHint) == (reason, 400)


FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
SPECIAL = st.sampled_from(list(b"\r\n =:/ 0123456789vosctmab\xff\x00"))
OCTET = st.one_of(SPECIAL, st.integers(0, 255))


@st.composite
def mutated(draw):
    """@return: a real body with a few bytes replaced, inserted or cut."""
    data = bytearray(draw(st.sampled_from(sorted(REAL.values()))))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["set", "insert", "cut"]))
        if action == "insert":
            data[at:at] = bytes([draw(OCTET)])
        elif at < len(data):
            data[at:at + 1] = b"" if action == "cut" else bytes([draw(OCTET)])
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated()))
def test_fuzz(data):
    """
    Any bytes give a description or a ProtocolError; a description writes
    a body that parses and writes the same again, and the questions the
    offer/answer code asks never fail.
    """
    try:
        sdp = parseSDP(data)
    except ProtocolError as e:
        assert e.statusHint == 400
        return
    body = sdp.toBytes()
    assert parseSDP(body).toBytes() == body
    for media in sdp.media:
        media.rtpmap()
        media.isHold(sdp)
        assert media.direction in ("sendrecv", "sendonly", "recvonly",
                                   "inactive")
