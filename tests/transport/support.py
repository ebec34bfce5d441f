# -*- test-case-name: tests.transport -*-
"""
Wire messages shared by the transport tests.
"""

from contextlib import contextmanager

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher

from tpbx.testing import FakeMessageSink, MemoryDatagramTransport
from tpbx.transport.common import TransportLimits
from tpbx.transport.stream import ConnectionTable, SIPStreamProtocol
from tpbx.transport.udp import SIPDatagramProtocol

__all__ = [
    "SOURCE", "options", "response", "ack", "makeProtocol", "connectStream",
    "loggedFailures",
]

#: Where test datagrams come from.
SOURCE = ("10.0.0.5", 5062)


def options(via: str = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa1;rport",
            callId: str = "c1@10.0.0.5", extra: str = "",
            body: bytes = b"") -> bytes:
    """
    @return: an OPTIONS request as it arrives on the wire.
    """
    return (
        "OPTIONS sip:pbx@192.0.2.10 SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:100@192.0.2.10>;tag=f1\r\n"
        "To: <sip:pbx@192.0.2.10>\r\n"
        f"Call-ID: {callId}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def ack(via: str = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa2") -> bytes:
    """@return: an ACK whose CSeq is broken (so it does not parse)."""
    return (
        "ACK sip:pbx@192.0.2.10 SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "From: <sip:100@192.0.2.10>;tag=f1\r\n"
        "To: <sip:pbx@192.0.2.10>;tag=t1\r\n"
        "Call-ID: c2@10.0.0.5\r\n"
        "CSeq: x ACK\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def response(status: int = 200, via: str = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKb1",
             cseq: str = "CSeq: 1 OPTIONS") -> bytes:
    """@return: a response as it arrives on the wire."""
    return (
        f"SIP/2.0 {status} Whatever\r\n"
        f"Via: {via}\r\n"
        "From: <sip:pbx@192.0.2.10>;tag=f9\r\n"
        "To: <sip:100@192.0.2.10>;tag=t9\r\n"
        "Call-ID: c9@192.0.2.10\r\n"
        f"{cseq}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def makeProtocol(guard=None, maxMessageBytes=65535):
    """
    Make a listening UDP protocol on a memory transport, its clock at 100.

    @return: C{(protocol, transport, sink, clock)}.
    """
    sink, clock = FakeMessageSink(), Clock()
    clock.advance(100)
    protocol = SIPDatagramProtocol(sink, clock, guard, maxMessageBytes)
    transport = MemoryDatagramTransport("192.0.2.10", 5060)
    protocol.makeConnection(transport)
    return protocol, transport, sink, clock


def connectStream(limits=TransportLimits(), guard=None, name="tcp",
                  peer=("10.0.0.5", 40001), table=None, clock=None,
                  sink=None):
    """
    Make an accepted stream connection over a L{StringTransport}.

    @return: C{(protocol, transport, sink, clock, table)}.
    """
    clock = clock if clock is not None else Clock()
    sink = sink if sink is not None else FakeMessageSink()
    table = table if table is not None else ConnectionTable()
    protocol = SIPStreamProtocol(name, sink, clock, table, limits, guard)
    transport = StringTransport(IPv4Address("TCP", "192.0.2.10", 5060),
                                IPv4Address("TCP", *peer))
    protocol.makeConnection(transport)
    return protocol, transport, sink, clock, table


@contextmanager
def loggedFailures():
    """
    Collect the failures logged (C{log.failure}) inside the block: code
    that must never raise logs unexpected exceptions instead, so a test
    that bad input is handled checks this stays empty.

    @return: the list the failures are appended to.
    """
    failures = []

    def observe(event):
        if "log_failure" in event:
            failures.append(event["log_failure"])

    globalLogPublisher.addObserver(observe)
    try:
        yield failures
    finally:
        globalLogPublisher.removeObserver(observe)
