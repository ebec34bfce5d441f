# -*- test-case-name: tests.sip.test_framing -*-
"""
Tests for L{tpbx.sip.framing}.
"""

import pytest

from tpbx.sip.framing import (
    FramedMessage, FramingError, KeepAlivePing, StreamFramer, isKeepAlive,
)

A = b"OPTIONS sip:a@h SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 5\r\n\r\nhello"
B = b"SIP/2.0 200 OK\r\nl:0\r\nCall-ID: 2\r\n\r\n"


def feedAll(chunks, framer=None):
    """
    @return: the events from feeding C{chunks} one after another.
    """
    framer = framer or StreamFramer()
    events = []
    for chunk in chunks:
        events.extend(framer.feed(chunk))
    return events


def test_oneMessage():
    """
    A whole message in one feed comes out as one L{FramedMessage}.
    """
    assert feedAll([A]) == [FramedMessage(A)]


def test_severalInOneFeed():
    """
    Several messages in one feed come out in order; compact C{l} works.
    """
    assert feedAll([A + B + A]) == [FramedMessage(A), FramedMessage(B),
                                    FramedMessage(A)]


def test_byteByByte():
    """
    Messages split at every byte come out whole, each once.
    """
    data = A + B
    assert feedAll([data[i:i + 1] for i in range(len(data))]) == [
        FramedMessage(A), FramedMessage(B)]


def test_everySplitPoint():
    """
    Whatever point a feed is split at, the result is the same.
    """
    data = b"\r\n" + A + b"\r\n\r\n" + B
    expected = [FramedMessage(A), KeepAlivePing(), FramedMessage(B)]
    for i in range(len(data) + 1):
        assert feedAll([data[:i], data[i:]]) == expected


def test_keepAlive():
    """
    CRLFCRLF between messages is a ping (RFC 5626 sec. 3.5.1); a single
    CRLF (a pong, or noise before a start line, RFC 3261 sec. 7.5) is
    skipped silently.
    """
    assert feedAll([b"\r\n\r\n"]) == [KeepAlivePing()]
    assert feedAll([b"\r\n", b"\r\n"]) == [KeepAlivePing()]
    assert feedAll([b"\r\n"]) == []
    assert feedAll([b"\r\n" + A]) == [FramedMessage(A)]
    assert feedAll([A + b"\r\n\r\n\r\n\r\n"]) == [
        FramedMessage(A), KeepAlivePing(), KeepAlivePing()]


def test_bareLF():
    """
    A header section ended by bare LFs is framed too.
    """
    message = b"OPTIONS sip:a@h SIP/2.0\nContent-Length: 2\n\nhi"
    assert feedAll([message]) == [FramedMessage(message)]


def test_foldedContentLength():
    """
    A folded Content-Length value is read.
    """
    message = b"X sip:a@h SIP/2.0\r\nContent-Length:\r\n  2\r\n\r\nhi"
    assert feedAll([message]) == [FramedMessage(message)]


@pytest.mark.parametrize("head", [
    b"OPTIONS sip:a@h SIP/2.0\r\nCall-ID: 1\r\n\r\n",
    b"OPTIONS sip:a@h SIP/2.0\r\nContent-Length: -1\r\n\r\n",
    b"OPTIONS sip:a@h SIP/2.0\r\nContent-Length: 1\r\nl: 1\r\n\r\n",
    b"OPTIONS sip:a@h SIP/2.0\r\nContent-Length: 12345678901\r\n\r\n",
])
def test_unframeable(head):
    """
    Without one valid Content-Length a stream cannot be framed (RFC 3261
    sec. 18.3): a L{FramingError}, after which data is ignored.
    """
    framer = StreamFramer()
    events = framer.feed(A + head + A)
    assert events[0] == FramedMessage(A)
    assert isinstance(events[1], FramingError) and len(events) == 2
    assert events[1].statusHint == 400
    assert framer.feed(A) == []


def test_headerTooLarge():
    """
    A header section beyond C{maxHeaderBytes} is refused (513), even before
    its end arrives.
    """
    framer = StreamFramer(maxHeaderBytes=64)
    assert framer.feed(b"OPTIONS sip:a@h SIP/2.0\r\n") == []
    [error] = framer.feed(b"X-Long: " + b"x" * 64)
    assert error == FramingError("Header section too large", 513)
    assert feedAll([A.replace(b"Call-ID: 1", b"X: " + b"y" * 64)],
                   StreamFramer(maxHeaderBytes=64))[0].statusHint == 513


def test_messageTooLarge():
    """
    A message announcing more than C{maxMessageBytes} is refused (413)
    without waiting for its body.
    """
    [error] = StreamFramer(maxMessageBytes=len(A) - 1).feed(A[:-5])
    assert error == FramingError("Message too large", 413)


def test_waitsForBody():
    """
    An incomplete body is waited for (RFC 4475 sec. 3.1.2.2 over TCP).
    """
    framer = StreamFramer()
    assert framer.feed(A[:-1]) == []
    assert framer.feed(A[-1:]) == [FramedMessage(A)]


def test_isKeepAlive():
    """
    Datagrams of only CRLFs (or blanks and NULs) are keep-alives; messages
    and empty datagrams are not.
    """
    assert isKeepAlive(b"\r\n\r\n")
    assert isKeepAlive(b"\r\n")
    assert isKeepAlive(b"\x00\x00\x00\x00")
    assert not isKeepAlive(b"")
    assert not isKeepAlive(A)
