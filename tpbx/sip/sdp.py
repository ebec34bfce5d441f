# -*- test-case-name: tests.sip.test_sdp -*-
"""
SDP session descriptions (RFC 8866, which obsoletes RFC 4566) as data.

The PBX anchors media: it reads every offer and answer, points addresses and
ports at its relay and trims codec lists (L{tpbx.sip.offeranswer}).  That
needs a faithful model of the body: what this module does not understand is
kept, so a rewritten description loses nothing the far end relies on, and a
body written in the RFC's field order (sec. 5) comes back byte for byte from
L{parseSDP} and L{SessionDescription.toBytes}.

Parsing is liberal (CRLF or bare LF, blank lines, unknown line types and
attributes, trailing blanks after tokens): only what leaves a body unusable
(no C{v=} first, a missing or bad C{o=}, a bad C{c=} or C{m=}, a line that is
not C{<type>=<value>}) is a L{ProtocolError} with status 400.  Parsing
C{rtpmap}/C{fmtp} values is lazy (L{MediaDescription.rtpmap}): a malformed
one just leaves its payload type unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tpbx.errors import ProtocolError

__all__ = ["Codec", "Origin", "Connection", "MediaDescription",
           "SessionDescription", "parseSDP", "addressType", "DIRECTIONS",
           "STATIC_PAYLOAD_TYPES"]

#: The direction attributes (RFC 8866 sec. 6.7, RFC 3264 sec. 5.1).
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

# Session-level lines written before c= (RFC 8866 sec. 5 order); every
# other kept line (z=, k=, unknown types) goes after the time description.
_EARLY = frozenset("iuep")
# The longest number accepted in v=, o= and m=: o= versions are often NTP
# timestamps (64 bits, 20 digits); longer strings would only cost CPU.
_MAX_DIGITS = 20


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


def addressType(address: str) -> str:
    """
    @param address: an IPv4 or IPv6 address (IPv6 without brackets).
    @return: the SDP addrtype, C{"IP6"} or C{"IP4"}.
    """
    return "IP6" if ":" in address else "IP4"


@dataclass(frozen=True, slots=True)
class Origin:
    """
    The C{o=} line (RFC 8866 sec. 5.2): who made the description and which
    version of it this is (RFC 3264 sec. 8: same id, version + 1 per change).
    """

    username: str
    sessionId: str
    sessionVersion: int
    netType: str = "IN"
    addrType: str = "IP4"
    address: str = "0.0.0.0"

    def __str__(self) -> str:
        return (f"{self.username} {self.sessionId} {self.sessionVersion} "
                f"{self.netType} {self.addrType} {self.address}")


@dataclass(frozen=True, slots=True)
class Connection:
    """
    A C{c=} line (RFC 8866 sec. 5.7).

    @ivar address: as written, including any C{/ttl/count} multicast suffix.
    """

    netType: str
    addrType: str
    address: str

    @classmethod
    def forAddress(cls, address: str) -> Connection:
        """
        @param address: an IPv4 or IPv6 unicast address.
        @return: C{IN IP4 address} or C{IN IP6 address}.
        """
        return cls("IN", addressType(address), address)

    def __str__(self) -> str:
        return f"{self.netType} {self.addrType} {self.address}"


def _formatAttribute(attribute: tuple[str, str | None]) -> str:
    name, value = attribute
    return name if value is None else f"{name}:{value}"


@dataclass(slots=True)
class MediaDescription:
    """
    One media description: an C{m=} line and the lines after it.

    @ivar media: C{"audio"}, C{"video"}, C{"image"} ...
    @ivar port: the transport port; 0 is a rejected or disabled stream
        (RFC 3264 sec. 5.1, 6).
    @ivar portCount: the C{/<number of ports>} suffix, or L{None}.
    @ivar proto: C{"RTP/AVP"}, C{"RTP/SAVP"}, C{"udptl"} ...
    @ivar formats: the fmt tokens in order (payload type numbers for RTP).
    @ivar connection: the media-level C{c=} line, or L{None}.
    @ivar bandwidths: C{b=} values (C{"AS:64"}).
    @ivar attributes: C{a=} lines as C{(name, value)}; value L{None} for
        a property attribute (C{a=sendonly}).
    @ivar extra: other lines as C{(type, value)}: C{i=} is written before
        C{c=}, the rest (C{k=}, unknown types, further C{c=}) after C{b=}.
    @ivar sessionDirection: the session-level direction attribute this
        description inherits (RFC 8866 sec. 6.7), set by L{parseSDP}; not
        written by L{SessionDescription.toBytes}.
    """

    media: str
    port: int
    portCount: int | None = None
    proto: str = "RTP/AVP"
    formats: list[str] = field(default_factory=list)
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    sessionDirection: str | None = field(default=None, compare=False,
                                         repr=False)

    def rtpmap(self) -> dict[str, Codec]:
        """
        @return: the payload formats of this description in C{m=} order,
            keyed by payload type string; static types without C{a=rtpmap}
            come from RFC 3551; dynamic types without one are left out.
        """
        maps: dict[str, str] = {}
        fmtps: dict[str, str] = {}
        for name, value in self.attributes:
            if value is not None and name in ("rtpmap", "fmtp"):
                pt, _, rest = value.partition(" ")
                (maps if name == "rtpmap" else fmtps).setdefault(pt, rest)
        result = {}
        for pt in self.formats:
            codec = _codec(pt, maps.get(pt))
            if codec is not None:
                result[pt] = (codec if pt not in fmtps
                              else replace(codec, fmtp=fmtps[pt]))
        return result

    def fmtp(self, pt: str) -> str | None:
        """
        @param pt: a payload type (fmt token).
        @return: the parameters of its first C{a=fmtp}, or L{None}.
        """
        for name, value in self.attributes:
            if name == "fmtp" and value is not None:
                number, _, rest = value.partition(" ")
                if number == pt:
                    return rest
        return None

    @property
    def direction(self) -> str:
        """
        The stream's direction: the media-level attribute, else the
        session-level one, else C{"sendrecv"} (RFC 3264 sec. 5.1).
        """
        for name, _ in self.attributes:
            if name in DIRECTIONS:
                return name
        return self.sessionDirection or "sendrecv"

    def setDirection(self, direction: str) -> None:
        """
        Write C{direction} as this description's only direction attribute
        (in place of the first existing one, else at the end).

        @param direction: one of L{DIRECTIONS}.
        @raise ValueError: for anything else.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"not an SDP direction: {direction!r}")
        kept: list[tuple[str, str | None]] = []
        placed = False
        for attribute in self.attributes:
            if attribute[0] not in DIRECTIONS:
                kept.append(attribute)
            elif not placed:
                kept.append((direction, None))
                placed = True
        if not placed:
            kept.append((direction, None))
        self.attributes = kept

    def address(self, session: SessionDescription) -> str | None:
        """
        @param session: the description this media belongs to.
        @return: the effective connection address (media C{c=}, else
            session C{c=}, RFC 8866 sec. 5.7) without a multicast suffix,
            or L{None} when neither exists.
        """
        connection = self.connection or session.connection
        if connection is None:
            return None
        return connection.address.split("/", 1)[0]

    def isHold(self, session: SessionDescription) -> bool:
        """
        @param session: the description this media belongs to.
        @return: whether this active stream puts the receiver on hold:
            C{sendonly} or C{inactive} (RFC 3264 sec. 8.4) or the RFC 2543
            C{c=0.0.0.0} form.  A rejected stream (port 0) is not on hold.
        """
        if self.port == 0:
            return False
        return (self.direction in ("sendonly", "inactive")
                or self.address(session) == "0.0.0.0")

    def copy(self) -> MediaDescription:
        """@return: an independent copy (its lists may be edited)."""
        return replace(self, formats=list(self.formats),
                       bandwidths=list(self.bandwidths),
                       attributes=list(self.attributes),
                       extra=list(self.extra))

    def writeLines(self, out: list[str]) -> None:
        """
        Append this description's lines, RFC 8866 sec. 5 order, to C{out}.

        @param out: lines without terminators.
        """
        port = (str(self.port) if self.portCount is None
                else f"{self.port}/{self.portCount}")
        out.append(" ".join([f"m={self.media}", port, self.proto,
                             *self.formats]))
        out.extend(f"{k}={v}" for k, v in self.extra if k == "i")
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend("b=" + b for b in self.bandwidths)
        out.extend(f"{k}={v}" for k, v in self.extra if k != "i")
        out.extend("a=" + _formatAttribute(a) for a in self.attributes)


def _codec(pt: str, rtpmap: str | None) -> Codec | None:
    """
    @return: the codec an rtpmap value (C{"opus/48000/2"}) describes for
        C{pt}, else the static type C{pt}, else L{None}.
    """
    if rtpmap is not None and pt.isascii() and pt.isdigit() and len(pt) < 4:
        parts = rtpmap.strip().split("/")
        numbers = parts[1:]
        if (len(parts) in (2, 3) and parts[0]
                and all(n.isascii() and n.isdigit() and len(n) < 10
                        for n in numbers)):
            channels = int(numbers[1]) if len(numbers) == 2 else 1
            return Codec(parts[0].upper(), int(numbers[0]), channels, int(pt))
    return STATIC_PAYLOAD_TYPES.get(pt)


@dataclass(slots=True)
class SessionDescription:
    """
    A whole SDP body.

    @ivar version: the C{v=} number (0).
    @ivar origin: the C{o=} line.
    @ivar sessionName: the C{s=} text.
    @ivar connection: the session-level C{c=}, or L{None}.
    @ivar bandwidths: session C{b=} values.
    @ivar timing: time description lines as C{("t"|"r", value)}.
    @ivar attributes: session C{a=} lines as C{(name, value)}.
    @ivar media: the media descriptions in order.
    @ivar extra: other session lines as C{(type, value)}: C{i= u= e= p=}
        are written before C{c=}, the rest (C{z=}, C{k=}, unknown types)
        after the time description.
    """

    version: int
    origin: Origin
    sessionName: str = "-"
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    timing: list[tuple[str, str]] = field(
        default_factory=lambda: [("t", "0 0")])
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)

    def toBytes(self) -> bytes:
        """@return: the body, CRLF line ends (RFC 8866 sec. 5)."""
        out = [f"v={self.version}", f"o={self.origin}",
               f"s={self.sessionName}"]
        out.extend(f"{k}={v}" for k, v in self.extra if k in _EARLY)
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend("b=" + b for b in self.bandwidths)
        out.extend(f"{k}={v}" for k, v in self.timing)
        out.extend(f"{k}={v}" for k, v in self.extra if k not in _EARLY)
        out.extend("a=" + _formatAttribute(a) for a in self.attributes)
        for media in self.media:
            media.writeLines(out)
        out.append("")
        return "\r\n".join(out).encode("utf-8", "surrogateescape")

    def copy(self) -> SessionDescription:
        """@return: an independent copy (lists and media may be edited)."""
        return replace(self, bandwidths=list(self.bandwidths),
                       timing=list(self.timing),
                       attributes=list(self.attributes),
                       media=[m.copy() for m in self.media],
                       extra=list(self.extra))

    def isHold(self) -> bool:
        """
        @return: whether the description holds the call: it has active
            audio and every active audio stream is on hold
            (L{MediaDescription.isHold}).
        """
        active = [m for m in self.media if m.port and m.media == "audio"]
        return bool(active) and all(m.isHold(self) for m in active)


def _number(text: str, what: str, limit: int = 10 ** _MAX_DIGITS) -> int:
    """
    @raise ProtocolError: unless C{text} is ASCII digits below C{limit}.
    """
    if (not text.isascii() or not text.isdigit()
            or len(text) > _MAX_DIGITS or int(text) >= limit):
        raise ProtocolError(f"Bad SDP {what}")
    return int(text)


def _parseOrigin(value: str) -> Origin:
    parts = value.split()
    if len(parts) < 6:
        raise ProtocolError("Bad SDP o= line")
    # Tolerate a username with blanks (seen from some phones): the last
    # five fields are fixed.
    return Origin(" ".join(parts[:-5]), parts[-5],
                  _number(parts[-4], "o= session version"), *parts[-3:])


def _parseConnection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise ProtocolError("Bad SDP c= line")
    return Connection(*parts)


def _parseMedia(value: str, sessionDirection: str | None) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise ProtocolError("Bad SDP m= line")
    port, slash, count = parts[1].partition("/")
    return MediaDescription(
        parts[0], _number(port, "m= port", 65536),
        _number(count, "m= port count", 65536) if slash else None,
        parts[2], parts[3:], sessionDirection=sessionDirection)


def _parseAttribute(value: str) -> tuple[str, str | None]:
    name, colon, rest = value.partition(":")
    return (name, rest) if colon else (value.rstrip(" \t"), None)


def _sessionLine(session: SessionDescription, kind: str, value: str) -> None:
    """Add one line before the first C{m=} to C{session}."""
    if kind == "a":
        session.attributes.append(_parseAttribute(value))
    elif kind == "o" and session.origin is None:
        session.origin = _parseOrigin(value)
    elif kind in ("v", "o"):
        raise ProtocolError(f"Second SDP {kind}= line")
    elif kind == "s":
        session.sessionName = value
    elif kind == "c" and session.connection is None:
        session.connection = _parseConnection(value)
    elif kind == "b":
        session.bandwidths.append(value)
    elif kind in ("t", "r"):
        session.timing.append((kind, value))
    else:
        session.extra.append((kind, value))


def _mediaLine(media: MediaDescription, kind: str, value: str) -> None:
    """Add one line after an C{m=} to C{media}."""
    if kind == "a":
        media.attributes.append(_parseAttribute(value))
    elif kind == "c" and media.connection is None:
        media.connection = _parseConnection(value)
    elif kind == "b":
        media.bandwidths.append(value)
    elif kind == "v":
        raise ProtocolError("Second SDP v= line")
    else:
        media.extra.append((kind, value))


def _lines(data: bytes) -> list[tuple[str, str]]:
    """
    @return: the non-blank lines of C{data} as C{(type, value)}.
    @raise ProtocolError: for a line that is not C{<type>=<value>}.
    """
    text = data.decode("utf-8", "surrogateescape")
    result = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if len(line) < 2 or line[1] != "=":
            raise ProtocolError("Bad SDP line (not <type>=<value>)")
        if "\r" in line:
            raise ProtocolError("Bad SDP line (bare CR)")
        result.append((line[0], line[2:]))
    return result


def parseSDP(data: bytes) -> SessionDescription:
    """
    Parse an C{application/sdp} body.

    @param data: the body.
    @return: the description; session-level direction attributes are
        recorded in each media's C{sessionDirection}.
    @raise ProtocolError: (400) when the body is not a usable description.
    """
    lines = _lines(data)
    if not lines or lines[0][0] != "v":
        raise ProtocolError("SDP does not start with v=")
    # The origin is filled in below; a body without one is refused.
    session = SessionDescription(_number(lines[0][1], "v= line"),
                                 None, timing=[])  # type: ignore[arg-type]
    index = 1
    while index < len(lines) and lines[index][0] != "m":
        _sessionLine(session, *lines[index])
        index += 1
    if session.origin is None:
        raise ProtocolError("SDP without o= line")
    inherited = next((name for name, _ in session.attributes
                      if name in DIRECTIONS), None)
    for kind, value in lines[index:]:
        if kind == "m":
            session.media.append(_parseMedia(value, inherited))
        else:
            _mediaLine(session.media[-1], kind, value)
    return session
