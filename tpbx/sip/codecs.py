# -*- test-case-name: tests.sip.test_sdp_streams -*-
"""
RTP payload formats as SDP names them: the L{Codec} record, RFC 3551's
static payload types, and the codec an C{a=rtpmap}/C{a=fmtp} pair stands
for.

Why apart from L{tpbx.sip.sdp}: the description model and its parser are
one concern, what a payload type means is another, shared by the codec
policy (L{tpbx.sip.offeranswer}) and the media layer.  Every call
describes the same few codecs, so they are made once per distinct text and
shared (a L{Codec} is frozen).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Codec", "STATIC_PAYLOAD_TYPES", "TELEPHONE_EVENT", "codecFor"]

#: The encoding name of RFC 4733 events (DTMF), as L{Codec.name} has it.
TELEPHONE_EVENT = "TELEPHONE-EVENT"

# Codecs already made from (payload type, rtpmap text, fmtp text): every
# call describes the same few, and making a Codec costs more than a lookup.
# Bounded in entries and in the text kept, as the texts come from peers.
_CODECS: dict[tuple[str, str | None, str | None], Codec | None] = {}
_CODECS_KEPT = 512
_CODEC_TEXT_KEPT = 200


@dataclass(frozen=True, slots=True)
class Codec:
    """
    One RTP payload format of a media description.

    @ivar name: the encoding name, upper-cased (C{"PCMU"}, C{"OPUS"},
        C{"TELEPHONE-EVENT"}): names are case-insensitive (RFC 4855 sec. 3).
    @ivar clockRate: the RTP clock rate (8000 for G.722, RFC 3551 sec. 4.5.2).
    @ivar channels: audio channels (1 unless the rtpmap says otherwise).
    @ivar payloadType: the RTP payload type number.
    @ivar fmtp: the format parameters (C{a=fmtp} after the number), or
        L{None}.
    """

    name: str
    clockRate: int
    channels: int
    payloadType: int
    fmtp: str | None = None


def _staticTable() -> dict[str, Codec]:
    """
    @return: RFC 3551 sec. 6 table 4 and 5, keyed by payload type string.
    """
    rows = [(0, "PCMU", 8000, 1), (3, "GSM", 8000, 1), (4, "G723", 8000, 1),
            (5, "DVI4", 8000, 1), (6, "DVI4", 16000, 1), (7, "LPC", 8000, 1),
            (8, "PCMA", 8000, 1), (9, "G722", 8000, 1), (10, "L16", 44100, 2),
            (11, "L16", 44100, 1), (12, "QCELP", 8000, 1), (13, "CN", 8000, 1),
            (14, "MPA", 90000, 1), (15, "G728", 8000, 1),
            (16, "DVI4", 11025, 1), (17, "DVI4", 22050, 1),
            (18, "G729", 8000, 1), (25, "CELB", 90000, 1),
            (26, "JPEG", 90000, 1), (28, "NV", 90000, 1),
            (31, "H261", 90000, 1), (32, "MPV", 90000, 1),
            (33, "MP2T", 90000, 1), (34, "H263", 90000, 1)]
    return {str(pt): Codec(name, rate, channels, pt)
            for pt, name, rate, channels in rows}


#: Static payload types: an C{m=} line may list them without C{a=rtpmap}.
STATIC_PAYLOAD_TYPES = _staticTable()


def codecFor(pt: str, rtpmap: str | None, fmtp: str | None) -> Codec | None:
    """
    The codec payload type C{pt} stands for, given its C{a=rtpmap} and
    C{a=fmtp} texts (L{_makeCodec}); from L{_CODECS} when it was made
    before (a L{Codec} is frozen: one instance serves every description).
    """
    key = (pt, rtpmap, fmtp)
    try:
        return _CODECS[key]
    except KeyError:
        pass
    codec = _makeCodec(pt, rtpmap, fmtp)
    if len(pt) + len(rtpmap or "") + len(fmtp or "") <= _CODEC_TEXT_KEPT:
        if len(_CODECS) >= _CODECS_KEPT:
            _CODECS.clear()
        _CODECS[key] = codec
    return codec


def _makeCodec(pt: str, rtpmap: str | None,
               fmtp: str | None) -> Codec | None:
    """
    @return: the codec an rtpmap value (C{"opus/48000/2"}) describes for
        C{pt}, else the static type C{pt}, else L{None}; with C{fmtp}.
    """
    if rtpmap is not None and pt.isascii() and pt.isdigit() and len(pt) < 4:
        parts = rtpmap.strip().split("/")
        numbers = parts[1:]
        if (len(parts) in (2, 3) and parts[0]
                and all(n.isascii() and n.isdigit() and len(n) < 10
                        for n in numbers)):
            channels = int(numbers[1]) if len(numbers) == 2 else 1
            return Codec(parts[0].upper(), int(numbers[0]), channels, int(pt),
                         fmtp)
    static = STATIC_PAYLOAD_TYPES.get(pt)
    if static is None or fmtp is None:
        return static
    return Codec(static.name, static.clockRate, static.channels,
                 static.payloadType, fmtp)
