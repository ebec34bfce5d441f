# -*- test-case-name: tests.sip.test_offeranswer -*-
"""
Tests for L{tpbx.sip.offeranswer}: anchoring offers and answers at the
relay, codec policy, the PBX as an endpoint, hold, and o= versions.
"""

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip.localsession import LocalSession
from tpbx.sip.offeranswer import (
    CodecPolicy, NotAcceptable, anchorAnswer, anchorOffer, checkAcceptable,
    answerDirection, answerOffer, holdOffer, makeOffer, mediaTargets,
    negotiatedCodec, resumeOffer,
)
from tpbx.sip.codecs import Codec
from tpbx.sip.sdp import Connection, parseSDP
from tests.sip.test_sdp import (
    BARESIP, POLYCOM, RFC4317, SIPP_UAC, YEALINK, crlf,
)

POLICY = CodecPolicy()
RELAY_B = "203.0.113.1"
RELAY_A = "198.51.100.1"

# A phone offering audio with video, ICE and SRTP keys on plain RTP/AVP
# (opportunistic SRTP), and a rtcp attribute.
OFFER_A = crlf("""
v=0
o=alice 111 111 IN IP4 192.168.1.50
s=-
c=IN IP4 192.168.1.50
t=0 0
a=ice-ufrag:F7gI
a=ice-pwd:x9cml/YzichV2+XlhiMu8g
a=group:BUNDLE 0 1
m=audio 11796 RTP/AVP 18 8 0 9 96 101
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:9 G722/8000
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtcp-fb:96 nack
a=rtcp-fb:18 nack
a=rtcp-fb:* ccm fir
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:11797 IN IP4 192.168.1.50
a=rtcp-mux
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9
a=candidate:1 1 UDP 2130706431 192.168.1.50 11796 typ host
a=ptime:20
a=sendrecv
m=video 11798 RTP/AVP 99
a=rtpmap:99 H264/90000
""")

ANSWER_B = crlf("""
v=0
o=bob 222 222 IN IP4 192.168.1.60
s=-
c=IN IP4 192.168.1.60
t=0 0
m=audio 22000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:22001
a=sendrecv
m=video 0 RTP/AVP 99
""")


def anchor(body, policy=POLICY, ports=None):
    """@return: the anchored offer for the other leg, relay ports 40000+."""
    offer = parseSDP(body)
    if ports is None:
        ports = [40000 + 2 * i for i in range(len(offer.media))]
    return anchorOffer(offer, policy, RELAY_B, ports)


def test_anchorFlow():
    """
    Offer A -> anchorOffer -> answer B -> anchorAnswer keeps the m= lines
    in count and order, points each leg at its relay side, and drops what
    the relay cannot carry.
    """
    offerA = parseSDP(OFFER_A)
    offerB = anchorOffer(offerA, POLICY, RELAY_B, [40000, 40002])
    assert offerB.connection == Connection("IN", "IP4", RELAY_B)
    audio, video = offerB.media
    assert (audio.port, audio.connection) == (40000, None)
    assert audio.formats == ["0", "8", "9", "96", "101"]
    assert (video.port, video.formats) == (0, ["99"])
    wire = parseSDP(offerB.toBytes())
    assert mediaTargets(wire) == [(RELAY_B, 40000), None]
    for gone in (b"ice-", b"candidate", b"crypto", b"rtcp:", b"rtcp-mux",
                 b"BUNDLE", b"G729", b"rtcp-fb:18", b"192.168.1.50 "):
        assert gone not in offerB.toBytes()
    for kept in (b"a=ptime:20", b"a=rtcp-fb:96 nack", b"a=rtcp-fb:* ccm fir",
                 b"a=fmtp:96 useinbandfec=1", b"a=sendrecv"):
        assert kept in offerB.toBytes()

    answerA = anchorAnswer(parseSDP(ANSWER_B), offerB, RELAY_A, [30000, None])
    assert answerA.connection == Connection("IN", "IP4", RELAY_A)
    assert [(m.media, m.port) for m in answerA.media] == [("audio", 30000),
                                                          ("video", 0)]
    assert answerA.media[0].formats == ["0", "101"]
    assert b"rtcp:" not in answerA.toBytes()
    assert mediaTargets(parseSDP(ANSWER_B)) == [("192.168.1.60", 22000), None]
    assert negotiatedCodec(offerA, answerA) == Codec("PCMU", 8000, 1, 0)


def test_priorityOrder():
    """
    Allowed codecs come in policy order whatever the offer's order, with
    the offer's payload numbers; telephone-event comes last.
    """
    offer = anchor(POLYCOM)
    assert offer.media[0].formats == ["0", "8", "9", "127"]
    alaw = anchor(POLYCOM, CodecPolicy(priority=("pcma", "PCMU")))
    assert alaw.media[0].formats == ["8", "0", "127"]
    nodtmf = anchor(POLYCOM, CodecPolicy(dtmf=False))
    assert nodtmf.media[0].formats == ["0", "8", "9"]
    assert b"telephone-event" not in nodtmf.toBytes()


def test_telephoneEventKeepsOffererNumber():
    """
    telephone-event keeps the offerer's payload type (no renumbering:
    the relay does not transcode), every rate of it included.
    """
    body = SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 0 96 97") + (
        b"a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"
        b"a=rtpmap:97 telephone-event/48000\r\n")
    media = anchor(body).media[0]
    assert media.formats == ["0", "96", "97"]
    assert media.rtpmap()["96"] == Codec("TELEPHONE-EVENT", 8000, 1, 96,
                                         "0-16")


def test_opusPassThroughOnlyWhenOffered():
    """
    Opus passes through when offered, after the priority codecs; it is
    never added, and a policy without passthrough drops it.
    """
    assert anchor(BARESIP).media[0].formats == ["0", "8", "9", "96", "101"]
    assert anchor(YEALINK).media[0].formats == ["0", "8", "9", "101"]
    strict = anchor(BARESIP, CodecPolicy(passThrough=()))
    assert strict.media[0].formats == ["0", "8", "9", "101"]
    assert b"opus" not in strict.toBytes()
    opusOnly = BARESIP.replace(b"RTP/AVP 96 9 0 8 101", b"RTP/AVP 96 101")
    assert anchor(opusOnly).media[0].formats == ["96", "101"]


@pytest.mark.parametrize("body", [
    SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(b"0 PCMU",
                                                          b"18 G729"),
    SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 101").replace(
        b"0 PCMU/8000", b"101 telephone-event/8000"),
    SIPP_UAC.replace(b"m=audio", b"m=video"),
    SIPP_UAC.replace(b"RTP/AVP", b"RTP/SAVP"),
    SIPP_UAC.replace(b"m=audio 6000", b"m=audio 0"),
    SIPP_UAC.split(b"m=")[0],
])
def test_notAcceptable(body):
    """
    An offer leaving no audio stream (no allowed voice codec, no audio,
    SRTP only, all rejected, no m= at all) is a 488.
    """
    with pytest.raises(NotAcceptable) as caught:
        anchor(body)
    assert isinstance(caught.value, ProtocolError)
    assert caught.value.statusHint == 488
    with pytest.raises(NotAcceptable) as early:
        checkAcceptable(parseSDP(body), POLICY)
    assert early.value.reason == caught.value.reason


@pytest.mark.parametrize("body", [SIPP_UAC, OFFER_A, RFC4317])
def test_checkAcceptableLetsAnchorableOffersThrough(body):
    """The check before allocation passes every offer L{anchorOffer}
    anchors (with a stream kept), so no call is refused that would work."""
    assert any(m.port for m in anchor(body).media)
    checkAcceptable(parseSDP(body), POLICY)


def test_rejectedStreamsKeepTheirPlace():
    """
    A stream rejected in the offer (port 0, RFC 3264 sec. 8.2), a stream
    given no relay port, and an RTP/SAVP stream are sent with port 0 and
    their formats; the audio stream after them is kept.
    """
    body = RFC4317.replace(b"m=audio 49170 RTP/AVP 0 8 97",
                           b"m=audio 0 RTP/AVP 0 8 97")
    body += b"m=audio 7000 RTP/SAVP 0\r\nm=audio 7002 RTP/AVP 8\r\n"
    offer = anchor(body)
    assert [(m.port, m.formats) for m in offer.media] == [
        (0, ["0", "8", "97"]), (0, ["31", "32"]), (0, ["0"]),
        (40006, ["8"])]
    lastOnly = anchor(RFC4317 + b"m=audio 7002 RTP/AVP 8\r\n",
                      ports=[None, 40002, 40004])
    assert [m.port for m in lastOnly.media] == [0, 0, 40004]


def test_portsMustMatch():
    """
    Anchoring needs one relay port (or None) per m= line.
    """
    with pytest.raises(ValueError):
        anchorOffer(parseSDP(RFC4317), POLICY, RELAY_B, [40000])
    with pytest.raises(ValueError):
        anchorAnswer(parseSDP(ANSWER_B), parseSDP(RFC4317), RELAY_A, None)


def test_holdPassesThrough():
    """
    A hold offer (sendonly, inactive, or a session-level a=sendonly)
    reaches the other leg as a media-level direction of the same meaning.
    """
    sendonly = anchor(YEALINK.replace(b"a=sendrecv", b"a=sendonly"))
    assert sendonly.media[0].direction == "sendonly" and sendonly.isHold()
    session = anchor(SIPP_UAC.replace(b"t=0 0\r\n",
                                      b"t=0 0\r\na=inactive\r\n"))
    assert session.attributes == []
    assert session.media[0].attributes[-1] == ("inactive", None)
    assert parseSDP(session.toBytes()).isHold()


def test_directMedia():
    """
    Without a relay address, addresses and ports are kept and only the
    codec list and attributes are trimmed.
    """
    offer = anchorOffer(parseSDP(OFFER_A), POLICY)
    assert offer.connection == Connection("IN", "IP4", "192.168.1.50")
    assert [m.port for m in offer.media] == [11796, 0]
    answer = anchorAnswer(parseSDP(ANSWER_B), offer)
    assert mediaTargets(answer) == [("192.168.1.60", 22000), None]


def test_answerMissingLines():
    """
    An answer with fewer m= lines than the offer (RFC 3264 sec. 6 wants
    all of them) gets the missing ones rejected, so the original offerer
    sees its own count; extra lines are ignored.
    """
    offerB = anchor(OFFER_A)
    short = parseSDP(ANSWER_B.split(b"m=video")[0])
    answerA = anchorAnswer(short, offerB, RELAY_A, [30000, 30002])
    assert [(m.media, m.port) for m in answerA.media] == [("audio", 30000),
                                                          ("video", 0)]
    extra = parseSDP(ANSWER_B + b"m=audio 9 RTP/AVP 0\r\n")
    assert len(anchorAnswer(extra, offerB, RELAY_A, [1, 2]).media) == 2


def test_answerHold():
    """
    The far end's answer direction (recvonly to a hold) is passed on.
    """
    offerB = anchor(YEALINK.replace(b"a=sendrecv", b"a=sendonly"))
    answerB = parseSDP(ANSWER_B.replace(b"a=sendrecv", b"a=recvonly"))
    answerA = anchorAnswer(answerB, offerB, RELAY_A, [30000])
    assert answerA.media[0].direction == "recvonly"
    assert not answerA.isHold()


def test_answerOfferPicksPlayableByPolicy():
    """
    The PBX as an endpoint answers one codec, chosen by policy priority
    among the playable ones offered, plus telephone-event with the
    offerer's number; other streams are rejected with port 0.
    """
    answer, codec, dtmf = answerOffer(parseSDP(POLYCOM), POLICY, RELAY_A,
                                      30000)
    assert (codec.name, codec.payloadType, dtmf) == ("PCMU", 0, 127)
    assert answer.media[0].formats == ["0", "127"]
    assert answer.media[0].fmtp("127") == "0-16"
    assert mediaTargets(answer) == [(RELAY_A, 30000)]
    wideFirst = CodecPolicy(priority=("G722", "PCMA", "PCMU"))
    _, codec, _ = answerOffer(parseSDP(POLYCOM), wideFirst, RELAY_A, 30000)
    assert codec.name == "PCMA"
    _, codec, _ = answerOffer(parseSDP(POLYCOM), wideFirst, RELAY_A, 30000,
                              playable=("g722", "PCMU"))
    assert codec.name == "G722"
    answer, codec, dtmf = answerOffer(parseSDP(OFFER_A), POLICY, RELAY_A,
                                      30000)
    assert [m.port for m in answer.media] == [30000, 0]
    assert answer.media[1].formats == ["99"]
    assert (codec.name, dtmf) == ("PCMU", 101)
    assert negotiatedCodec(parseSDP(OFFER_A), answer) == codec


def test_answerOfferWithoutDtmf():
    """
    No telephone-event is answered when none is offered at the chosen
    codec's rate.
    """
    answer, codec, dtmf = answerOffer(parseSDP(SIPP_UAC), POLICY, RELAY_A, 1)
    assert dtmf is None and answer.media[0].formats == ["0"]
    body = SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 0 97") + (
        b"a=rtpmap:97 telephone-event/48000\r\n")
    assert answerOffer(parseSDP(body), POLICY, RELAY_A, 1)[2] is None


def test_answerOfferNotAcceptable():
    """
    Nothing playable offered (G.722 and G.729 only) is a 488.
    """
    body = SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 9 18")
    with pytest.raises(NotAcceptable):
        answerOffer(parseSDP(body), POLICY, RELAY_A, 30000)


@pytest.mark.parametrize("offered, wanted, expected", [
    ("sendrecv", "sendrecv", "sendrecv"),
    ("sendonly", "sendrecv", "recvonly"),
    ("recvonly", "sendrecv", "sendonly"),
    ("inactive", "sendrecv", "inactive"),
    ("sendrecv", "sendonly", "sendonly"),
    ("sendrecv", "recvonly", "recvonly"),
    ("sendonly", "sendonly", "inactive"),
    ("recvonly", "recvonly", "inactive"),
    ("sendrecv", "inactive", "inactive"),
])
def test_answerDirection(offered, wanted, expected):
    """
    RFC 3264 sec. 6.1: sendonly is answered recvonly, recvonly sendonly,
    inactive inactive, narrowed by what the answerer wants.
    """
    assert answerDirection(offered, wanted) == expected
    body = SIPP_UAC + f"a={offered}\r\n".encode()
    answer, _, _ = answerOffer(parseSDP(body), POLICY, RELAY_A, 1, wanted)
    assert answer.media[0].direction == expected


def test_answerDirectionRefusesNonsense():
    """
    Only the four SDP directions are accepted.
    """
    with pytest.raises(ValueError):
        answerDirection("sendrecv", "hold")


def test_makeOffer():
    """
    A fresh PBX offer has PCMU, PCMA, G.722 and telephone-event/8000 with
    0-16, at the given address and port.
    """
    offer = makeOffer(POLICY, "2001:db8::1", 40000, dtmfPayloadType=96)
    wire = parseSDP(offer.toBytes())
    assert wire.connection == Connection("IN", "IP6", "2001:db8::1")
    media = wire.media[0]
    assert media.formats == ["0", "8", "9", "96"]
    assert [c.name for c in media.rtpmap().values()] == [
        "PCMU", "PCMA", "G722", "TELEPHONE-EVENT"]
    assert b"a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n" in (
        offer.toBytes())
    assert media.direction == "sendrecv"
    paging = makeOffer(CodecPolicy(dtmf=False), RELAY_B, 1, "sendonly")
    assert paging.media[0].formats == ["0", "8", "9"]
    assert paging.isHold()
    with pytest.raises(ValueError):
        makeOffer(CodecPolicy(priority=("OPUS",)), RELAY_B, 1)


def test_makeOfferAnsweredByPbx():
    """
    The PBX's own offer can be answered by the PBX's own answerer (a
    loopback used by features), agreeing on PCMU and DTMF 101.
    """
    offer = parseSDP(makeOffer(POLICY, RELAY_B, 40000).toBytes())
    answer, codec, dtmf = answerOffer(offer, POLICY, RELAY_A, 30000)
    assert (codec.name, dtmf) == ("PCMU", 101)
    assert negotiatedCodec(offer, answer).name == "PCMU"


def test_holdAndResume():
    """
    holdOffer puts every active stream sendonly (or inactive), dropping a
    session-level direction; resumeOffer makes them sendrecv; rejected
    streams and the input are left alone.
    """
    sent = parseSDP(RFC4317.replace(b"t=0 0\r\n", b"t=0 0\r\na=recvonly\r\n"))
    sent.media[1].port = 0
    held = holdOffer(sent)
    assert held.attributes == []
    assert [m.direction for m in held.media] == ["sendonly", "sendrecv"]
    assert held.media[1].attributes == sent.media[1].attributes
    assert held.isHold() and not sent.isHold()
    assert holdOffer(sent, "inactive").media[0].direction == "inactive"
    resumed = resumeOffer(held)
    assert resumed.media[0].direction == "sendrecv" and not resumed.isHold()
    with pytest.raises(ValueError):
        holdOffer(sent, "recvonly")


def test_mediaTargets():
    """
    mediaTargets gives (address, port) per m= line from media or session
    c=, None for rejected streams and the c=0.0.0.0 hold.
    """
    sdp = parseSDP(RFC4317)
    sdp.media[1].port = 0
    assert mediaTargets(sdp) == [("host.atlanta.example.com", 49170), None]
    held = parseSDP(SIPP_UAC.replace(b"127.0.0.1\r\nt=", b"0.0.0.0\r\nt="))
    assert mediaTargets(held) == [None]


def test_negotiatedCodecNone():
    """
    negotiatedCodec is None when the answer accepted no audio.
    """
    offer = parseSDP(SIPP_UAC)
    answer = parseSDP(SIPP_UAC.replace(b"m=audio 6000", b"m=audio 0"))
    assert negotiatedCodec(offer, answer) is None


def test_localSessionVersions():
    """
    A leg's o= keeps its session id; the version rises by one for each
    changed description and stays for an unchanged one, whatever o= the
    description came with (RFC 3264 sec. 8).
    """
    leg = LocalSession("192.0.2.1", sessionId="4242")
    first = leg.stamp(parseSDP(SIPP_UAC))
    assert str(first.origin) == "tpbx 4242 1 IN IP4 192.0.2.1"
    again = parseSDP(SIPP_UAC.replace(b"o=user1 53655765 2353687637",
                                      b"o=other 1 9"))
    assert leg.stamp(again).origin.sessionVersion == 1
    held = leg.stamp(holdOffer(first))
    assert (held.origin.sessionId, held.origin.sessionVersion) == ("4242", 2)
    assert leg.stamp(resumeOffer(held)).origin.sessionVersion == 3
    assert leg.lastBody == leg.last.toBytes()
    assert leg.last.origin.sessionVersion == 3


def test_localSessionDefaults():
    """
    A leg's session id is a random number; IPv6 addresses get IP6; the
    input description is not modified.
    """
    one, two = LocalSession("2001:db8::1"), LocalSession("2001:db8::1")
    assert one.sessionId.isdigit() and one.sessionId != two.sessionId
    assert one.last is None
    sdp = parseSDP(SIPP_UAC)
    stamped = one.stamp(sdp)
    assert stamped.origin.addrType == "IP6"
    assert stamped.origin.username == "tpbx"
    assert sdp.origin.username == "user1"
