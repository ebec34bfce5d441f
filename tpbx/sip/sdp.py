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

from dataclasses import dataclass, field

from tpbx.errors import ProtocolError
from tpbx.sip.codecs import TELEPHONE_EVENT, Codec, codecFor

__all__ = ["Origin", "Connection", "MediaDescription",
           "SessionDescription", "parseSDP", "addressType", "joinLines",
           "DIRECTIONS"]

#: The direction attributes (RFC 8866 sec. 6.7, RFC 3264 sec. 5.1).
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

# Session-level lines written before c= (RFC 8866 sec. 5 order); every
# other kept line (z=, k=, unknown types) goes after the time description.
_EARLY = frozenset("iuep")
# The longest number accepted in v=, o= and m=: o= versions are often NTP
# timestamps (64 bits, 20 digits); longer strings would only cost CPU.
_MAX_DIGITS = 20


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
    """@return: the C{a=} line of C{(name, value)}."""
    name, value = attribute
    return "a=" + name if value is None else f"a={name}:{value}"


def joinLines(lines: list[str]) -> bytes:
    """
    @param lines: lines of a body (L{SessionDescription.writeLines}).
    @return: the body, CRLF after every line (RFC 8866 sec. 5).
    """
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


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
            if value is not None and (name == "rtpmap" or name == "fmtp"):
                pt, _, rest = value.partition(" ")
                (maps if name == "rtpmap" else fmtps).setdefault(pt, rest)
        result = {}
        for pt in self.formats:
            codec = codecFor(pt, maps.get(pt), fmtps.get(pt))
            if codec is not None:
                result[pt] = codec
        return result

    def eventType(self) -> int | None:
        """
        @return: the payload type of the first format (in C{m=} order) that
            L{rtpmap} gives as telephone-event at 8000 Hz (RFC 4733 sec.
            7.1.1), or L{None}.
        """
        return next((codec.payloadType for codec in self.rtpmap().values()
                     if codec.name == TELEPHONE_EVENT and codec.clockRate == 8000),
                    None)

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
        return MediaDescription(
            self.media, self.port, self.portCount, self.proto,
            self.formats[:], self.connection, self.bandwidths[:],
            self.attributes[:], self.extra[:], self.sessionDirection)

    def writeLines(self, out: list[str]) -> None:
        """
        Append this description's lines, RFC 8866 sec. 5 order, to C{out}.

        @param out: lines without terminators (see L{joinLines}).
        """
        port = (str(self.port) if self.portCount is None
                else f"{self.port}/{self.portCount}")
        out.append(" ".join([f"m={self.media}", port, self.proto,
                             *self.formats]))
        extra = self.extra
        if extra:
            out += [f"{k}={v}" for k, v in extra if k == "i"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += ["b=" + b for b in self.bandwidths]
        if extra:
            out += [f"{k}={v}" for k, v in extra if k != "i"]
        out += [_formatAttribute(a) for a in self.attributes]


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
        out: list[str] = []
        self.writeLines(out)
        return joinLines(out)

    def writeLines(self, out: list[str]) -> None:
        """
        Append this description's lines, RFC 8866 sec. 5 order, to C{out}:
        C{v=}, C{o=} (always the second line), C{s=} ... then each media.

        @param out: lines without terminators (see L{joinLines}).
        """
        out += (f"v={self.version}", f"o={self.origin}",
                f"s={self.sessionName}")
        extra = self.extra
        if extra:
            out += [f"{k}={v}" for k, v in extra if k in _EARLY]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += ["b=" + b for b in self.bandwidths]
        out += [f"{k}={v}" for k, v in self.timing]
        if extra:
            out += [f"{k}={v}" for k, v in extra if k not in _EARLY]
        out += [_formatAttribute(a) for a in self.attributes]
        for media in self.media:
            media.writeLines(out)

    def copy(self) -> SessionDescription:
        """@return: an independent copy (lists and media may be edited)."""
        return SessionDescription(
            self.version, self.origin, self.sessionName, self.connection,
            self.bandwidths[:], self.timing[:], self.attributes[:],
            [m.copy() for m in self.media], self.extra[:])

    def firstAudio(self) -> int | None:
        """
        @return: the index of the first live audio stream (port not 0),
            the one the PBX relays and plays to, or L{None}.
        """
        for index, media in enumerate(self.media):
            if media.media == "audio" and media.port:
                return index
        return None

    def eventType(self) -> int | None:
        """
        @return: L{MediaDescription.eventType} of the first live audio
            stream (L{firstAudio}), or L{None}.
        """
        index = self.firstAudio()
        return None if index is None else self.media[index].eventType()

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
    if text.isdigit() and text.isascii() and len(text) <= _MAX_DIGITS:
        number = int(text)
        if number < limit:
            return number
    raise ProtocolError(f"Bad SDP {what}")


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
    """Add one line after an C{m=}, other than C{a=}, to C{media}."""
    if kind == "c" and media.connection is None:
        media.connection = _parseConnection(value)
    elif kind == "b":
        media.bandwidths.append(value)
    elif kind == "v":
        raise ProtocolError("Second SDP v= line")
    else:
        media.extra.append((kind, value))


def _lines(data: bytes) -> list[str]:
    """
    @return: the non-blank lines of C{data}, each C{<type>=<value>}, without
        their CRLF or bare LF ends.
    @raise ProtocolError: for a line that is not C{<type>=<value>}, or that
        has a CR inside.
    """
    text = data.decode("utf-8", "surrogateescape")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    # A CR still there is one of several before a LF (dropped) or bare.
    stray = "\r" in text
    result = []
    for line in text.split("\n"):
        if stray:
            line = line.rstrip("\r")
        if line[1:2] != "=":
            if line.strip():
                raise ProtocolError("Bad SDP line (not <type>=<value>)")
        elif stray and "\r" in line:
            raise ProtocolError("Bad SDP line (bare CR)")
        else:
            result.append(line)
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
    session = SessionDescription(_number(lines[0][2:], "v= line"),
                                 None, timing=[])  # type: ignore[arg-type]
    index, count = 1, len(lines)
    while index < count and lines[index][0] != "m":
        line = lines[index]
        _sessionLine(session, line[0], line[2:])
        index += 1
    if session.origin is None:
        raise ProtocolError("SDP without o= line")
    inherited = next((name for name, _ in session.attributes
                      if name in DIRECTIONS), None)
    media: MediaDescription
    for line in lines[index:]:
        kind = line[0]
        if kind == "a":
            media.attributes.append(_parseAttribute(line[2:]))
        elif kind == "m":
            media = _parseMedia(line[2:], inherited)
            session.media.append(media)
        else:
            _mediaLine(media, kind, line[2:])
    return session
