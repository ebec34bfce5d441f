# -*- test-case-name: tests.sip.test_framing -*-
"""
Cutting a TCP/TLS byte stream into SIP messages, sans-IO.

On a stream, Content-Length is the only framing (RFC 3261 sec. 18.3): a
message without it cannot be delimited and the connection is lost; CRLFs
between messages are either noise to skip (sec. 7.5) or, doubled, the
keep-alive ping of RFC 5626 sec. 3.5.1, to be answered with one CRLF.  The
transport feeds bytes to a L{StreamFramer} and gets back events; it never
looks at the bytes itself.  Limits keep a peer from making us buffer
without end.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "StreamFramer", "FramedMessage", "KeepAlivePing", "FramingError",
    "isKeepAlive",
]

_PING = b"\r\n\r\n"
_CL_NAMES = (b"content-length", b"l")


@dataclass(frozen=True, slots=True)
class FramedMessage:
    """
    One whole message, ready for L{tpbx.sip.parser.parseMessage}.

    @ivar data: its bytes, header section and exactly Content-Length octets
        of body.
    """

    data: bytes


@dataclass(frozen=True, slots=True)
class KeepAlivePing:
    """
    A CRLFCRLF between messages (RFC 5626 sec. 3.5.1): answer with a single
    CRLF "pong".
    """


@dataclass(frozen=True, slots=True)
class FramingError:
    """
    The stream cannot be framed any further: close the connection.  It is
    always the last event; the framer ignores any later data.

    @ivar reason: what went wrong, for the log.
    @ivar statusHint: the status a reply could carry (400, 413, 513).
    """

    reason: str
    statusHint: int = 400


def isKeepAlive(datagram: bytes) -> bool:
    """
    @return: whether a datagram is only a keep-alive: CRLFs (RFC 5626 sec.
        4.4.1 uses CRLFCRLF), or the blanks and NULs some phones send.
    """
    return bool(datagram) and not datagram.strip(b"\r\n\t \x00")


def _contentLength(head: bytes) -> int | FramingError:
    """
    @return: the one Content-Length value of a header section (long or
        compact name, possibly folded), or the error that makes the stream
        unframeable.
    """
    values: list[bytes] = []
    lastWasLength = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if lastWasLength:
                values[-1] += line
            continue
        name, _, value = line.partition(b":")
        lastWasLength = name.strip().lower() in _CL_NAMES
        if lastWasLength:
            values.append(value)
    if not values:
        return FramingError("Missing Content-Length on a stream")
    if len(values) > 1:
        return FramingError("Repeated Content-Length")
    text = values[0].strip()
    if not text.isdigit() or len(text) > 10:
        return FramingError("Malformed Content-Length")
    return int(text)


class StreamFramer:
    """
    Reassemble messages from a stream.

    @ivar maxHeaderBytes: longest header section accepted (513 beyond).
    @ivar maxMessageBytes: longest whole message accepted (413 beyond).
    """

    def __init__(self, maxHeaderBytes: int = 32768,
                 maxMessageBytes: int = 262144):
        self.maxHeaderBytes = maxHeaderBytes
        self.maxMessageBytes = maxMessageBytes
        self._buffer = bytearray()
        self._scanFrom = 0
        self._total: int | None = None
        self._failed = False

    def feed(self, data: bytes) -> list:
        """
        Take more bytes from the stream.

        @return: the events they complete, in order: L{FramedMessage},
            L{KeepAlivePing}, and at most one final L{FramingError}.
        """
        if self._failed:
            return []
        self._buffer += data
        events = []
        while True:
            event = self._next()
            if event is None:
                return events
            events.append(event)
            if isinstance(event, FramingError):
                self._failed = True
                self._buffer.clear()
                return events

    def _skipBlankLines(self) -> KeepAlivePing | bool:
        """
        Consume CRLFs before a start line (sec. 7.5).

        @return: a L{KeepAlivePing} for a CRLFCRLF, L{True} when the bytes
            so far may still become one, else L{False}.
        """
        buf = self._buffer
        while buf[:1] in (b"\r", b"\n"):
            if buf.startswith(_PING):
                del buf[:4]
                return KeepAlivePing()
            if len(buf) < 4 and _PING.startswith(buf):
                return True
            del buf[:2 if buf.startswith(b"\r\n") else 1]
        return False

    def _findHeadEnd(self) -> tuple[int, int] | None:
        """
        @return: C{(end of the header section, start of the body)}, or
            L{None} when the empty line has not arrived; bare LFs are
            tolerated as in L{tpbx.sip.parser.splitHead}.
        """
        buf = self._buffer
        crlf = buf.find(_PING, self._scanFrom)
        lf = buf.find(b"\n\n", self._scanFrom, len(buf) if crlf < 0 else crlf)
        if lf >= 0:
            return lf, lf + 2
        if crlf >= 0:
            return crlf, crlf + 4
        self._scanFrom = max(0, len(buf) - 3)
        return None

    def _startMessage(self) -> FramingError | bool:
        """
        Find the header section and Content-Length of the next message.

        @return: L{True} once the message's total length is known, L{False}
            while the header section is incomplete, or an error.
        """
        found = self._findHeadEnd()
        if found is None:
            if len(self._buffer) > self.maxHeaderBytes:
                return FramingError("Header section too large", 513)
            return False
        headEnd, bodyStart = found
        if headEnd > self.maxHeaderBytes:
            return FramingError("Header section too large", 513)
        length = _contentLength(bytes(self._buffer[:headEnd]))
        if isinstance(length, FramingError):
            return length
        if bodyStart + length > self.maxMessageBytes:
            return FramingError("Message too large", 413)
        self._total = bodyStart + length
        return True

    def _next(self):
        """
        @return: the next event, or L{None} when more bytes are needed.
        """
        if self._total is None:
            blank = self._skipBlankLines()
            if blank is not False:
                return blank if isinstance(blank, KeepAlivePing) else None
            started = self._startMessage()
            if started is not True:
                return started or None
        total = self._total
        if len(self._buffer) < total:
            return None
        message = bytes(self._buffer[:total])
        del self._buffer[:total]
        self._total = None
        self._scanFrom = 0
        return FramedMessage(message)
