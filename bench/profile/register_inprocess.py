"""
Profile the REGISTER path in one process, without sockets: bytes into the
UDP protocol, through parser, transaction layer, core, registrar, digest,
and the serialized response out of a memory transport.

    .venv/bin/python bench/profile/register_inprocess.py [N] [--profile]

Prints registrations/s (server side only: client digests are precomputed
outside the timed loop as far as possible).  Used to find hot spots before
optimising; the numbers that count are bench/register's.
"""

import cProfile
import pstats
import re
import sys
import time

from twisted.internet.task import Clock

from zope.interface import implementer

from tpbx.interfaces import IEventSink
from tpbx.model import AccessEntry, Extension
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.core import PBXCore
from tpbx.pbx.engine import SIPEngine
from tpbx.pbx.guard import AccessGuard
from tpbx.pbx.location import MemoryLocationService
from tpbx.pbx.registrar import Registrar
from tpbx.sip.digest import NonceSigner, digestAuthorization
from tpbx.sip.layer import TransactionLayer
from tpbx.testing import MemoryDatagramTransport
from tpbx.testing_directory import FakeDirectory
from tpbx.transport.udp import SIPDatagramProtocol

REGISTER = (
    "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{n}-{step};rport\r\n"
    "From: <sip:{user}@127.0.0.1:5060>;tag={n}SIPpTag\r\n"
    "To: <sip:{user}@127.0.0.1:5060>\r\n"
    "Call-ID: {n}-reg@127.0.0.1\r\n"
    "CSeq: {cseq} REGISTER\r\n"
    "Contact: <sip:{user}@127.0.0.1:{port};transport=UDP>\r\n"
    "Expires: 3600\r\nMax-Forwards: 70\r\nUser-Agent: sipp\r\n"
    "{auth}Content-Length: 0\r\n\r\n")


@implementer(IEventSink)
class NullEventSink:
    """Drops events: the server logs them to a file, keeping none."""

    def emit(self, event) -> None:
        pass


def build(users: int):
    clock = Clock()
    clock.advance(1_700_000_000)
    directory = FakeDirectory([Extension(str(1000 + i), authId=str(1000 + i),
                                         password=f"pw{i}secret") for i in range(users)])
    events = NullEventSink()
    guard = AccessGuard(events)
    auth = DigestAuthenticator(directory, NonceSigner(b"k" * 32), "127.0.0.1",
                               guard=guard, algorithms=("MD5", "SHA-256"))
    location = MemoryLocationService()
    registrar = Registrar(location, auth, directory, events)
    engine = SIPEngine(clock, TransactionLayer(), None)
    udp = SIPDatagramProtocol(engine, clock, guard)
    transport = MemoryDatagramTransport("127.0.0.1", 5060)
    udp.makeConnection(transport)
    engine.sender = udp
    engine.user = PBXCore(clock, engine, registrar, auth, directory, guard)
    guard.setStaticLists([], [AccessEntry("127.0.0.1")])  # load from one address
    return clock, udp, transport, location


def register(clock, udp, transport, n: int, prof=None, start: int = 0) -> float:
    """
    Register extensions 1000+start.. through C{udp}; @return: server seconds.
    """
    nonce = re.compile(r'WWW-Authenticate: (Digest [^\r]*MD5[^\r]*)')
    seconds = 0.0
    for i in range(start, start + n):
        user = str(1000 + i)
        port = 20000 + i % 30000
        first = REGISTER.format(port=port, n=i, step=0, user=user, cseq=1, auth="").encode()
        seconds += _timed(udp, first, port, prof)
        challenge = nonce.search(transport.written[-1][0].decode()).group(1)
        header = digestAuthorization(challenge, "REGISTER", "sip:127.0.0.1:5060", user, f"pw{i}secret")
        second = REGISTER.format(port=port, n=i, step=1, user=user, cseq=2,
                                 auth=f"Authorization: {header}\r\n").encode()
        seconds += _timed(udp, second, port, prof)
        assert transport.written[-1][0].startswith(b"SIP/2.0 200"), transport.written[-1][0][:80]
        del transport.written[:]
        if i % 1000 == 999:
            clock.advance(0.5)
    return seconds


def _timed(udp, datagram: bytes, port: int, prof) -> float:
    start = time.perf_counter()
    if prof:
        prof.enable()
    udp.datagramReceived(datagram, ("127.0.0.1", port))
    if prof:
        prof.disable()
    return time.perf_counter() - start


def run(n: int, profile: bool) -> None:
    clock, udp, transport, location = build(n)
    prof = cProfile.Profile() if profile else None
    seconds = register(clock, udp, transport, n, prof)
    print(f"{n} registrations, {seconds:.3f} s server time, {n / seconds:.0f} registrations/s; "
          f"bindings {location.count()}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5000
    run(count, "--profile" in sys.argv)
