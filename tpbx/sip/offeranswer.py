# -*- test-case-name: tests.sip.test_offeranswer -*-
"""
RFC 3264 offer/answer for a back-to-back user agent that anchors media.

Each call leg is its own offer/answer exchange.  When leg A offers, the PBX
offers leg B the same streams (same count and order, RFC 3264 sec. 8.1)
pointing at the relay's B-side ports, trimmed to the codecs it allows; B's
answer becomes A's answer pointing at the A-side ports.  The relay forwards
packets without transcoding, so payload type numbers are never renumbered:
what A offered is what B sees.  The PBX also answers and offers on its own
(music on hold, IVR, late-offer calls it originates).

What the relay cannot carry is taken out of every description it anchors
(L{DROPPED_ATTRIBUTES}): ICE (RFC 8445; the relay latches to where packets
come from instead), SDES/DTLS-SRTP keying (the relay has no SRTP, so an
C{RTP/SAVP} stream is rejected and C{a=crypto} on an C{RTP/AVP} stream,
as in opportunistic SRTP, is dropped), C{a=rtcp} (RFC 3605: without it RTCP
is on port + 1, which is what the relay uses), C{a=rtcp-mux} and BUNDLE
groups (the relay keeps RTP and RTCP apart).  Rejected streams keep port 0
and their formats (RFC 3264 sec. 6, 8.2).

The functions here are pure: they return new descriptions and leave their
inputs alone; L{tpbx.sip.localsession.LocalSession} keeps one leg's C{o=}
line (RFC 3264 sec. 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tpbx.errors import ProtocolError
from tpbx.sip.codecs import STATIC_PAYLOAD_TYPES, TELEPHONE_EVENT, Codec
from tpbx.sip.sdp import (
    DIRECTIONS, Connection, MediaDescription, Origin, SessionDescription,
    addressType,
)

__all__ = ["NotAcceptable", "CodecPolicy", "anchorOffer", "checkAcceptable",
           "anchorAnswer", "answerOffer", "answerDirection", "makeOffer",
           "holdOffer", "resumeOffer", "mediaTargets", "negotiatedCodec",
           "RELAYED_PROTOCOLS", "DROPPED_ATTRIBUTES"]

#: Transport protocols the relay carries (plain RTP, RFC 3551 / RFC 4585).
RELAYED_PROTOCOLS = frozenset({"RTP/AVP", "RTP/AVPF"})

#: Attributes removed from anchored descriptions (see the module docstring).
DROPPED_ATTRIBUTES = frozenset({
    "candidate", "remote-candidates", "end-of-candidates", "ice-ufrag",
    "ice-pwd", "ice-options", "ice-lite", "ice-mismatch",
    "crypto", "fingerprint", "setup", "tls-id",
    "rtcp", "rtcp-mux", "group",
})

# Attributes whose value starts with the payload type they describe.
_PER_FORMAT = frozenset({"rtpmap", "fmtp", "rtcp-fb"})
# Formats that never carry the voice itself (RFC 4733, RFC 3389, RFC 2198).
_NOT_VOICE = frozenset({TELEPHONE_EVENT, "CN", "RED"})
# DTMF 0-9 * # A-D and flash (RFC 4733 sec. 3.2): what the PBX receives.
_EVENTS_FMTP = "0-16"
_UNSPECIFIED = frozenset({"0.0.0.0", "::"})
# (sends, receives) per direction, from the describing side (RFC 3264 5.1).
_FLAGS = {"sendrecv": (True, True), "sendonly": (True, False),
          "recvonly": (False, True), "inactive": (False, False)}
_BY_FLAGS = {flags: name for name, flags in _FLAGS.items()}


class NotAcceptable(ProtocolError):
    """
    No stream of an offer can be accepted: answer 488 Not Acceptable Here
    (RFC 3261 sec. 21.4.26).
    """

    def __init__(self, reason: str = "Not Acceptable Here",
                 statusHint: int = 488):
        super().__init__(reason, statusHint)


def _upper(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.upper() for name in names))


@dataclass(frozen=True, slots=True)
class CodecPolicy:
    """
    Which codecs the PBX lets through, in what order.

    @ivar priority: allowed codecs, preferred first (encoding names).
    @ivar dtmf: keep RFC 4733 telephone-event formats.
    @ivar passThrough: codecs kept only when the offer has them, after the
        priority ones: negotiated end to end, never produced by the PBX.
    """

    priority: tuple[str, ...] = ("PCMU", "PCMA", "G722")
    dtmf: bool = True
    passThrough: tuple[str, ...] = ("OPUS",)

    def __post_init__(self):
        object.__setattr__(self, "priority", _upper(self.priority))
        object.__setattr__(self, "passThrough", _upper(
            n for n in self.passThrough if n.upper() not in self.priority))


_NO_CODEC = "No acceptable audio codec offered"


def answerDirection(offered: str, wanted: str = "sendrecv") -> str:
    """
    The answer's direction for a stream (RFC 3264 sec. 6.1): the answerer
    sends only if the offerer receives, and receives only if it sends.

    @param offered: the offer's direction for the stream.
    @param wanted: what the answerer would like.
    @return: C{sendonly} offers get C{recvonly}, C{recvonly} get
        C{sendonly}, C{inactive} get C{inactive} ...
    @raise ValueError: when either is not an SDP direction.
    """
    if offered not in _FLAGS or wanted not in _FLAGS:
        raise ValueError(f"not SDP directions: {offered!r}, {wanted!r}")
    offerSends, offerReceives = _FLAGS[offered]
    wantSends, wantReceives = _FLAGS[wanted]
    return _BY_FLAGS[(wantSends and offerReceives,
                      wantReceives and offerSends)]


def _relayable(media: MediaDescription) -> bool:
    return (media.media == "audio" and media.port != 0
            and media.proto in RELAYED_PROTOCOLS)


def _allowedFormats(media: MediaDescription, policy: CodecPolicy) -> list[str]:
    """
    @return: the payload types of C{media} the policy allows, in policy
        order then passthrough then telephone-event; empty when no voice
        codec is allowed.
    """
    byName: dict[str, list[str]] = {}
    for pt, codec in media.rtpmap().items():
        byName.setdefault(codec.name, []).append(pt)
    voice = [pt for name in policy.priority + policy.passThrough
             for pt in byName.get(name, ())]
    if not voice:
        return []
    return voice + (byName.get(TELEPHONE_EVENT, []) if policy.dtmf else [])


def _cleanAttributes(attributes, formats: set[str]):
    """
    @return: C{attributes} without L{DROPPED_ATTRIBUTES}, direction, and
        per-format attributes of formats not in C{formats}.
    """
    kept = []
    for name, value in attributes:
        if name in DROPPED_ATTRIBUTES or name in DIRECTIONS:
            continue
        if name in _PER_FORMAT and value is not None:
            pt = value.partition(" ")[0]
            if pt != "*" and pt not in formats:
                continue
        kept.append((name, value))
    return kept


def _rejected(media: MediaDescription) -> MediaDescription:
    """@return: C{media} as a rejected stream (RFC 3264 sec. 6: port 0)."""
    return MediaDescription(media.media, 0, None, media.proto,
                            list(media.formats))


def _anchored(media: MediaDescription, formats: list[str],
              address: str | None, port: int | None) -> MediaDescription:
    """
    @return: C{media} carrying only C{formats}, at the relay's C{port}
        (its own address and port when C{address} is L{None}), its
        direction written at media level.
    """
    attributes = _cleanAttributes(media.attributes, set(formats))
    # Cleaned of directions: the stream's own goes at the end.
    attributes.append((media.direction, None))
    return MediaDescription(
        media.media, media.port if address is None else port,
        media.portCount if address is None else None, media.proto, formats,
        media.connection if address is None else None,
        media.bandwidths[:], attributes, media.extra[:])


def _anchoredSession(sdp: SessionDescription,
                     address: str | None) -> SessionDescription:
    """
    @return: the session part of C{sdp} (no media) with C{c=} at the relay
        and direction or dropped attributes removed (each media writes its
        own direction).
    """
    return SessionDescription(
        sdp.version, sdp.origin, sdp.sessionName,
        sdp.connection if address is None else Connection.forAddress(address),
        list(sdp.bandwidths), list(sdp.timing) or [("t", "0 0")],
        [a for a in sdp.attributes
         if a[0] not in DROPPED_ATTRIBUTES and a[0] not in DIRECTIONS],
        [], list(sdp.extra))


def _checkPorts(sdp: SessionDescription, address: str | None,
                ports: Sequence[int | None] | None) -> None:
    if address is not None and (ports is None
                                or len(ports) != len(sdp.media)):
        raise ValueError("anchoring needs one relay port per m= line")


def checkAcceptable(offer: SessionDescription, policy: CodecPolicy) -> None:
    """
    Refuse, before anything is allocated for it, an offer L{anchorOffer}
    would refuse: one with no live audio stream carrying an allowed codec.
    Cheaper than anchoring it once more: nothing is built.

    @raise NotAcceptable: as L{anchorOffer} would.
    """
    if not any(media.port and _relayable(media) and _allowedFormats(media, policy)
               for media in offer.media):
        raise NotAcceptable(_NO_CODEC)


def anchorOffer(offer: SessionDescription, policy: CodecPolicy,
                address: str | None = None,
                ports: Sequence[int | None] | None = None
                ) -> SessionDescription:
    """
    The offer to send the other leg for an offer received on one leg.

    @param offer: the received offer.
    @param policy: the codecs allowed.
    @param address: the relay's address on the other leg's side; L{None}
        for direct media (addresses and ports kept, codecs still trimmed).
    @param ports: the relay port for each C{m=} line; L{None} rejects it.
    @return: the offer, with the received offer's C{o=} line (stamp it with
        the other leg's L{tpbx.sip.localsession.LocalSession}).  Every C{m=} line stays, in
        order; audio keeps only allowed codecs with the offer's payload
        numbers; other streams, and audio without an allowed codec, get
        port 0 (RFC 3264 sec. 6, 8.2).
    @raise NotAcceptable: when no audio stream is left.
    @raise ValueError: when C{ports} does not match the C{m=} lines.
    """
    _checkPorts(offer, address, ports)
    result = _anchoredSession(offer, address)
    for index, media in enumerate(offer.media):
        port = media.port if address is None else ports[index]
        formats = _allowedFormats(media, policy) if (
            port and _relayable(media)) else []
        result.media.append(_anchored(media, formats, address, port)
                            if formats else _rejected(media))
    if not any(m.port for m in result.media):
        raise NotAcceptable(_NO_CODEC)
    return result


def anchorAnswer(answer: SessionDescription, offerSent: SessionDescription,
                 address: str | None = None,
                 ports: Sequence[int | None] | None = None
                 ) -> SessionDescription:
    """
    The answer for the original offerer, made from the far leg's answer.

    @param answer: the far leg's answer.
    @param offerSent: the offer sent to the far leg (from L{anchorOffer}):
        it has the original offer's C{m=} lines, in order.
    @param address: the relay's address on the original offerer's side;
        L{None} for direct media.
    @param ports: the relay port for each C{m=} line; L{None} rejects it.
    @return: one C{m=} line per line of C{offerSent}; a line missing from
        C{answer} (a broken answerer, RFC 3264 sec. 6 wants them all) or
        rejected in it is rejected.
    @raise ValueError: when C{ports} does not match the C{m=} lines.
    """
    _checkPorts(offerSent, address, ports)
    result = _anchoredSession(answer, address)
    for index, offered in enumerate(offerSent.media):
        answered = (answer.media[index] if index < len(answer.media)
                    else None)
        port = None if address is None else ports[index]
        if (answered is None or not answered.port or not offered.port
                or (address is not None and not port)):
            result.media.append(_rejected(answered or offered))
        else:
            result.media.append(_anchored(answered, list(answered.formats),
                                          address, port))
    return result


def _freshSession(address: str) -> SessionDescription:
    """@return: a description of the PBX's own, with no media yet."""
    return SessionDescription(
        0, Origin("tpbx", "0", 0, "IN", addressType(address), address),
        "tpbx", Connection.forAddress(address))


def _endpointMedia(codecs: list[Codec], port: int,
                   direction: str) -> MediaDescription:
    """@return: an RTP/AVP audio stream of the PBX's own with C{codecs}."""
    attributes: list[tuple[str, str | None]] = []
    for codec in codecs:
        name = "telephone-event" if codec.name == TELEPHONE_EVENT else codec.name
        channels = "" if codec.channels == 1 else f"/{codec.channels}"
        attributes.append(("rtpmap", f"{codec.payloadType} {name}/"
                                     f"{codec.clockRate}{channels}"))
        if codec.fmtp is not None:
            attributes.append(("fmtp", f"{codec.payloadType} {codec.fmtp}"))
    attributes.append((direction, None))
    return MediaDescription("audio", port, None, "RTP/AVP",
                            [str(c.payloadType) for c in codecs],
                            attributes=attributes)


def _pickCodec(media: MediaDescription, names: tuple[str, ...],
               dtmf: bool) -> tuple[Codec, Codec | None] | None:
    """
    @return: the first codec of C{media} named in C{names} (in C{names}
        order) and a telephone-event at its clock rate, or L{None}.
    """
    codecs = list(media.rtpmap().values())
    for name in names:
        for codec in codecs:
            if codec.name == name:
                events = [c for c in codecs if dtmf and c.name == TELEPHONE_EVENT
                          and c.clockRate == codec.clockRate]
                return codec, (events[0] if events else None)
    return None


def answerOffer(offer: SessionDescription, policy: CodecPolicy, address: str,
                port: int, direction: str = "sendrecv",
                playable: Iterable[str] = ("PCMU", "PCMA")
                ) -> tuple[SessionDescription, Codec, int | None]:
    """
    Answer an offer as an endpoint (music on hold, IVR, voicemail).

    @param offer: the received offer.
    @param policy: its priority orders the candidates.
    @param address: where the PBX receives RTP.
    @param port: the RTP port there.
    @param direction: what the PBX wants; answered per L{answerDirection}.
    @param playable: the codecs the PBX can play and record.
    @return: C{(answer, chosen codec, telephone-event payload type or
        None)}.  The first usable audio stream is accepted with one codec
        (plus telephone-event when offered at its rate); every other
        stream gets port 0 (RFC 3264 sec. 6).
    @raise NotAcceptable: when no audio stream offers a playable codec.
    """
    playable = set(_upper(playable))
    names = tuple(n for n in policy.priority if n in playable)
    answer = _freshSession(address)
    picked = None
    for media in offer.media:
        choice = (_pickCodec(media, names, policy.dtmf)
                  if picked is None and _relayable(media) else None)
        if choice is None:
            answer.media.append(_rejected(media))
            continue
        picked = choice
        codec, event = choice
        codecs = [codec] + ([Codec(TELEPHONE_EVENT, event.clockRate, 1,
                                   event.payloadType, _EVENTS_FMTP)]
                            if event else [])
        answer.media.append(_endpointMedia(
            codecs, port, answerDirection(media.direction, direction)))
    if picked is None:
        raise NotAcceptable("No playable audio codec offered")
    event = picked[1]
    return answer, picked[0], None if event is None else event.payloadType


def makeOffer(policy: CodecPolicy, address: str, port: int,
              direction: str = "sendrecv",
              dtmfPayloadType: int | None = 101) -> SessionDescription:
    """
    A fresh offer of the PBX's own (late-offer calls it originates, paging).

    @param policy: the codecs, in order; only those with a static payload
        type (RFC 3551: PCMU 0, PCMA 8, G722 9 ...) can be offered.
    @param address: where the PBX (its relay) receives RTP.
    @param port: the RTP port there.
    @param direction: the offered direction.
    @param dtmfPayloadType: the telephone-event payload type (RFC 4733),
        or L{None} for none; ignored when the policy has no DTMF.
    @return: a one-stream audio offer (stamp it with a L{tpbx.sip.localsession.LocalSession}).
    @raise ValueError: when no codec of the policy has a static type.
    """
    static = {}
    for codec in STATIC_PAYLOAD_TYPES.values():
        static.setdefault(codec.name, codec)
    codecs = [static[n] for n in policy.priority if n in static]
    if not codecs:
        raise ValueError("no codec of the policy has a static payload type")
    if policy.dtmf and dtmfPayloadType is not None:
        codecs.append(Codec(TELEPHONE_EVENT, 8000, 1, dtmfPayloadType, _EVENTS_FMTP))
    offer = _freshSession(address)
    offer.media.append(_endpointMedia(codecs, port, direction))
    return offer


def _withDirection(sdp: SessionDescription,
                   direction: str) -> SessionDescription:
    result = sdp.copy()
    result.attributes = [a for a in result.attributes
                         if a[0] not in DIRECTIONS]
    for media in result.media:
        media.sessionDirection = None
        if media.port:
            media.setDirection(direction)
    return result


def holdOffer(sdp: SessionDescription,
              direction: str = "sendonly") -> SessionDescription:
    """
    @param sdp: the last description sent on the leg.
    @param direction: C{sendonly} (the PBX plays music on hold) or
        C{inactive} (RFC 3264 sec. 8.4).
    @return: a copy with every active stream in C{direction}.
    @raise ValueError: for another direction.
    """
    if direction not in ("sendonly", "inactive"):
        raise ValueError(f"not a hold direction: {direction!r}")
    return _withDirection(sdp, direction)


def resumeOffer(sdp: SessionDescription) -> SessionDescription:
    """
    @param sdp: the last description sent on the leg.
    @return: a copy with every active stream C{sendrecv} again.
    """
    return _withDirection(sdp, "sendrecv")


def mediaTargets(sdp: SessionDescription) -> list[tuple[str, int] | None]:
    """
    Where the describing side wants RTP, per C{m=} line (for the relay).

    @return: C{(address, port)} per line, or L{None} for a rejected stream
        or one with no or an unspecified address (C{0.0.0.0} hold).  The
        address is as written: it may be a host name (RFC 8866 sec. 5.7).
    """
    targets: list[tuple[str, int] | None] = []
    for media in sdp.media:
        address = media.address(sdp)
        usable = media.port and address and address not in _UNSPECIFIED
        targets.append((address, media.port) if usable else None)
    return targets


def negotiatedCodec(offer: SessionDescription,
                    answer: SessionDescription) -> Codec | None:
    """
    @return: the voice codec of the first active audio stream of the
        answer that the offer also had (by name), for the CDR; L{None}
        when no audio was accepted.
    """
    for index, media in enumerate(answer.media[:len(offer.media)]):
        if media.media != "audio" or not media.port:
            continue
        offered = {c.name for c in offer.media[index].rtpmap().values()}
        for codec in media.rtpmap().values():
            if codec.name not in _NOT_VOICE and codec.name in offered:
                return codec
    return None
