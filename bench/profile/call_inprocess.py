"""
Profile call setup through the B2BUA in one process, without sockets:
datagrams into the UDP protocol, through parser, transaction layer, core,
digest, call manager and legs, and serialized datagrams out of a memory
transport -- the flow of bench/calls (SIPp UAC -> tpbx -> SIPp UAS):

    A: INVITE -> 407 -> ACK -> INVITE + Proxy-Authorization -> 180 -> 200 -> ACK
    B: INVITE -> 180 -> 200 -> ACK
    (--reinvite: A puts the call on hold with a re-INVITE)
    A: BYE -> 200, B: BYE -> 200

    .venv/bin/python bench/profile/call_inprocess.py [CALLS] [--rate R] [--profile] [--reinvite]
        [--relay]         # a real RTPRelay: four loopback UDP sockets a call
        [--dump FILE]     # --profile's statistics, for pstats or snakeviz

Why phones from the call tests: the phones (tests.pbx.callphone) answer
challenges, 2xx retransmissions and re-INVITEs the way real UAs do, so
the flow stays right whatever the PBX changes.  Their work is not
counted: only the PBX's C{datagramReceived} calls and its DelayedCalls
(clock.advance) are timed, and cProfile is enabled only around those.
The callee's 100 Trying is dropped, as SIPp's UAS sends none.  Fake time
moves 1/R s per call, so transactions wait out Timers J/D/K/I and the
tables and timer heaps hold what they hold at R calls/s live.  The relay
is a fake (no sockets: bench/calls also pays for four UDP sockets per
call) unless --relay gives it a real L{RTPRelay} on 127.0.0.1 (its
sockets in its own epoll, which no reactor polls: no RTP flows), CDRs go
to a list, nothing is logged, and the collector is tuned as the server
tunes it; so this is the SIP stack and call logic alone.

Prints server CPU seconds per 1,000 calls and the calls/s one core would
manage; the numbers that count are bench/calls'.
"""

import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.pbx.callstack import Bench, FakeRelaySession, Network  # noqa: E402
from tpbx.pbx.guard import AccessGuard  # noqa: E402
from tpbx.config import PortRange  # noqa: E402
from tpbx.media.relay import RTPRelay  # noqa: E402
from tpbx.model import AccessEntry  # noqa: E402
from tpbx.service import tuneGarbageCollector  # noqa: E402
from tpbx.sip.invite import InviteState  # noqa: E402
from tpbx.sip.parser import parseMessage  # noqa: E402
from tpbx.testing import MemoryDatagramTransport  # noqa: E402
from tpbx.transport.udp import SIPDatagramProtocol  # noqa: E402


# Ports of --relay's sockets: the server's default RTP range, below the
# kernel's ephemeral ports.
RELAY_PORTS = PortRange(20000, 29999)


class NullSink:
    """Drops the guard's events."""

    def emit(self, event) -> None:
        pass


class GCTimer:
    """Time spent in the cyclic collector (all of it: the phones' too)."""

    def __init__(self):
        self.seconds = 0.0
        self.collections = 0
        self._start = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase, info) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections += 1


class LeanRelay:
    """The call tests' fake relay without its leak-check lists (they grow)."""

    def allocate(self, callId, external=False):
        return FakeRelaySession(callId, 20000)

    def release(self, session):
        return None


class FDClock:
    """The bench's clock as a reactor for a real relay: its epoll's own
    descriptor is filed nowhere (no RTP flows, nothing is read)."""

    def __init__(self, clock):
        self.seconds, self.callLater = clock.seconds, clock.callLater

    def addReader(self, reader) -> None:
        pass

    def removeReader(self, reader) -> None:
        pass


class Wire(MemoryDatagramTransport):
    """The PBX's UDP port: what it writes is queued for the phone it names."""

    def __init__(self, network):
        super().__init__("192.168.1.1", 5060)
        self.network = network

    def write(self, packet, addr=None):
        self.network.toPhone(packet, addr)


class Timed(Network):
    """
    The call tests' network, but bytes reach the PBX through its UDP
    protocol and only that (and the PBX's timers) is timed.

    @ivar seconds: PBX CPU time so far (thread time: other processes on
        the machine do not inflate it).
    """

    def __init__(self, profiler=None):
        super().__init__()
        self.udp = None
        self.seconds = 0.0
        self.datagrams = 0
        self._profiler = profiler

    def toPhone(self, packet: bytes, addr) -> None:
        self._queue.append((None, self.phones[addr], packet))

    def fromPhone(self, phone, message) -> None:
        data = message.toBytes()
        if not data.startswith(b"SIP/2.0 100 "):
            self._queue.append((phone, None, data))

    def timed(self, function, *args) -> None:
        """Run C{function(*args)} as PBX work."""
        profiler = self._profiler
        start = time.thread_time()
        if profiler is not None:
            profiler.enable()
        function(*args)
        if profiler is not None:
            profiler.disable()
        self.seconds += time.thread_time() - start

    def flush(self) -> None:
        while self._queue:
            source, target, data = self._queue.popleft()
            if target is not None:
                target.receive(parseMessage(data))
            else:
                self.datagrams += 1
                self.timed(self.udp.datagramReceived, data, (source.peer.host, source.peer.port))


def build(profiler, realRelay: bool = False) -> Bench:
    """The call tests' bench with a timed network and a real UDP protocol;
    with C{realRelay}, a real L{RTPRelay} on 127.0.0.1."""
    bench = Bench()
    net = Timed(profiler)
    net.engine = bench.engine
    net.phones = bench.net.phones
    bench.net = net
    guard = AccessGuard(NullSink())
    guard.setStaticLists([], [AccessEntry("192.168.1.0/24")])
    net.udp = SIPDatagramProtocol(bench.engine, bench.clock, guard)
    net.udp.makeConnection(Wire(net))
    bench.engine.sender = net.udp
    bench.calls.relays.relay = (
        RTPRelay(FDClock(bench.clock), "127.0.0.1", RELAY_PORTS, RELAY_PORTS)
        if realRelay else LeanRelay())
    return bench


def settle(bench: Bench, until: float) -> None:
    """Deliver, fire phone timers (untimed) and PBX timers (timed) up to C{until}."""
    net, clock = bench.net, bench.clock
    net.flush()
    for _ in range(10_000):
        due = [c.getTime() for c in clock.getDelayedCalls()]
        due += [t for t in (p.deadline() for p in (bench.A, bench.B)) if t is not None]
        at = min(due, default=None)
        if at is None or at > until:
            break
        net.timed(clock.advance, max(0.0, at - clock.seconds()))
        for phone in (bench.A, bench.B):
            phone.fire()
        net.flush()
    net.timed(clock.advance, max(0.0, until - clock.seconds()))
    net.flush()


def oneCall(bench: Bench, reinvite: bool) -> None:
    """One call A -> B, answered, optionally held, hung up by A."""
    A, B = bench.A, bench.B
    A.call("1002")
    bench.net.flush()
    B.ring()
    B.answer()
    bench.net.flush()
    if reinvite:
        A.reinvite(A.offer("sendonly"))
        bench.net.flush()
    A.hangup()
    bench.net.flush()
    assert A.outgoing.state is InviteState.DISCONNECTED, A.outgoing.state
    for phone in (A, B):   # the phones keep no ended calls, nor what they heard
        phone.received.clear()
        phone.events.clear()
        for callId in [c for c, s in phone.sessions.items()
                       if s.state is InviteState.DISCONNECTED]:
            del phone.sessions[callId]


def run(calls: int, rate: float, profile: bool, reinvite: bool, dump: str | None,
        realRelay: bool = False) -> None:
    """Warm up, then time C{calls} calls at C{rate}/s of fake time and print."""
    bench = build(None, realRelay)
    for _ in range(50):   # warm-up: caches, code paths
        oneCall(bench, reinvite)
    settle(bench, bench.clock.seconds() + 1)
    tuneGarbageCollector()
    net = bench.net
    net.seconds, net.datagrams = 0.0, 0
    profiler = net._profiler = cProfile.Profile() if profile else None
    step = 1.0 / rate
    collector = GCTimer()
    wall = time.perf_counter()
    for _ in range(calls):
        oneCall(bench, reinvite)
        settle(bench, bench.clock.seconds() + step)
    wall = time.perf_counter() - wall
    perCall = net.seconds / calls
    print(f"{calls} calls at {rate:g}/s fake time: server {net.seconds:.3f} s "
          f"({1000 * perCall:.3f} CPU-s per 1,000 calls, {1 / perCall:.0f} calls/s on one core), "
          f"{net.datagrams / calls:.1f} datagrams in per call; wall {wall:.1f} s; "
          f"live transactions {len(bench.engine.layer)}, calls {len(bench.calls.calls)}; "
          f"collector {collector.seconds:.3f} s in {collector.collections} runs (phones' work too)")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(40)
        if dump:
            stats.dump_stats(dump)
    gc.collect()


def _option(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3000
    dump = sys.argv[sys.argv.index("--dump") + 1] if "--dump" in sys.argv else None
    run(count, _option("--rate", 300.0), "--profile" in sys.argv or dump is not None,
        "--reinvite" in sys.argv, dump, "--relay" in sys.argv)
