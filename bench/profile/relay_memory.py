# -*- test-case-name: tests.media.test_relay_memory -*-
"""
Memory per relay session, measured in one process on the real reactor:
allocate N sessions (four sockets each) on 127.0.0.1, aim both sides, and
optionally latch every side with one real packet, then report what the
sessions hold: tracemalloc bytes (Python objects only) and the VmRSS delta
(everything the process touched, sockets' user-space state included, the
kernel's socket buffers not).  The two are measured in separate passes so
tracemalloc's own bookkeeping does not inflate the RSS figure.

Why: a held call through the PBX measured ~30 KB, most of it four Twisted
UDP ports a call; this keeps the relay's share visible.

    .venv/bin/python bench/profile/relay_memory.py [-n N] [--latch] [--relay PATH]
        [--first-port P]

C{--relay PATH} measures another copy of C{tpbx/media/relay.py} (e.g. an
older one saved to /tmp) instead of the installed module.
"""

import argparse
import gc
import importlib.util
import os
import resource
import socket
import struct
import sys
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tpbx.config import PortRange  # noqa: E402



def loadRelay(path):
    """@return: the relay module: C{tpbx.media.relay}, or the copy at C{path}."""
    if path is None:
        from tpbx.media import relay
        return relay
    spec = importlib.util.spec_from_file_location("relay_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vmRSS() -> int:
    """@return: this process's resident set size in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def latchAll(reactor, sessions):
    """Send one RTP packet to each side from its own client socket; run the
    reactor until every side has latched."""
    clients = []
    for session in sessions:
        for side in (session.a, session.b):
            client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            client.bind(("127.0.0.1", 0))
            client.sendto(struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + b"\xff" * 160,
                          ("127.0.0.1", side.port))
            clients.append(client)
    for _ in range(1000):
        if all(s.a.latched and s.b.latched for s in sessions):
            break
        reactor.iterate(0.01)
    for client in clients:
        client.close()


def allocate(reactor, relay, n, latch):
    """@return: C{n} sessions of C{relay}, aimed (and latched with C{latch})."""
    sessions = []
    for i in range(n):
        session = relay.allocate("call-%d" % i)
        session.a.setTarget("127.0.0.1", 9)
        session.b.setTarget("127.0.0.1", 11)
        sessions.append(session)
    if latch:
        latchAll(reactor, sessions)
    return sessions


def releaseAll(reactor, relay, sessions):
    """Release every session and let the reactor finish closing."""
    for session in sessions:
        relay.release(session)
    for _ in range(20):
        reactor.iterate(0)


def measure(reactor, relay, n, latch, traced):
    """@return: bytes per session, by tracemalloc (C{traced}) or by VmRSS."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0] if traced else vmRSS()
    sessions = allocate(reactor, relay, n, latch)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if traced else vmRSS()
    releaseAll(reactor, relay, sessions)
    return (after - before) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="sessions (default 2000)")
    parser.add_argument("--latch", action="store_true", help="latch every side with a packet")
    parser.add_argument("--relay", default=None, help="path of another relay.py to measure")
    parser.add_argument("--first-port", type=int, default=10000,
                        help="relay ports: 4N+100 from here (default 10000, below the "
                             "ephemeral range and bench/relay's 20000 up)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.n + 256)), hard))
    from twisted.internet import reactor
    module = loadRelay(args.relay)
    ports = PortRange(args.first_port, args.first_port + 4 * args.n + 99)
    relay = module.RTPRelay(reactor, "127.0.0.1", ports, ports, 60.0)
    # Warm up: first-use caches (imports, interned strings, free lists).
    measure(reactor, relay, min(args.n, 50), args.latch, traced=False)
    rss = measure(reactor, relay, args.n, args.latch, traced=False)
    tracemalloc.start()
    traced = measure(reactor, relay, args.n, args.latch, traced=True)
    tracemalloc.stop()
    print(f"{args.n} sessions{' (latched)' if args.latch else ''}: "
          f"{traced:.0f} bytes per session (tracemalloc), "
          f"{rss:.0f} bytes per session (VmRSS delta)")


if __name__ == "__main__":
    main()
