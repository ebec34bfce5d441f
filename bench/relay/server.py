# -*- test-case-name: tests.media.test_bench_relay_quick -*-
"""
The relay under test, as a process the benchmark runner pins to a CPU:
tpbx's L{RTPRelay} or the bare baseline of C{bare.py}, driven by JSON lines
on standard input so the runner can allocate and free calls between load
steps.

Commands (one JSON object a line; one JSON answer a line on stdout):
C{{"op": "alloc", "n": N, "a": [host, port], "b": [host, port]}} answers
C{{"pairs": [[aPort, bPort], ...]}}; C{{"op": "free"}} answers the relay's
counts once every socket is closed.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from twisted.internet import stdio  # noqa: E402
from twisted.internet.defer import succeed  # noqa: E402
from twisted.protocols.basic import LineReceiver  # noqa: E402

from bench.relay.bare import BareRelay  # noqa: E402
from tpbx.config import PortRange  # noqa: E402
from tpbx.media.relay import RTPRelay  # noqa: E402


class TpbxAdapter:
    """tpbx's relay behind the runner's two commands."""

    def __init__(self, reactor, first, last):
        self.relay = RTPRelay(reactor, "127.0.0.1", PortRange(first, last),
                              PortRange(first, last), 60.0)
        self.sessions = []

    def allocate(self, a, b):
        session = self.relay.allocate("bench-%d" % len(self.sessions))
        session.a.setTarget(*a)
        session.b.setTarget(*b)
        self.sessions.append(session)
        return session.a.port, session.b.port

    def releaseAll(self):
        sessions, self.sessions = self.sessions, []
        for session in sessions[:-1]:
            self.relay.release(session)
        last = self.relay.release(sessions[-1]) if sessions else succeed(None)
        return last.addCallback(lambda _: self.relay.stats())


class BareAdapter(BareRelay):
    """The baseline behind the same commands."""

    def releaseAll(self):
        super().releaseAll()
        return succeed({"sessions": 0})


class Control(LineReceiver):
    """Reads commands, writes answers."""

    delimiter = b"\n"

    def __init__(self, relay):
        self.relay = relay

    def lineReceived(self, line):
        command = json.loads(line)
        if command["op"] == "alloc":
            a, b = tuple(command["a"]), tuple(command["b"])
            pairs = [self.relay.allocate(a, b) for _ in range(command["n"])]
            self.answer({"pairs": pairs})
        elif command["op"] == "free":
            self.relay.releaseAll().addCallback(lambda counts: self.answer({"counts": counts}))

    def answer(self, obj):
        self.transport.write(json.dumps(obj).encode() + b"\n")

    def connectionLost(self, reason):
        from twisted.internet import reactor
        if reactor.running:
            reactor.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=["tpbx", "bare"], required=True)
    parser.add_argument("--ports", default="40000-49999", help="FIRST-LAST")
    args = parser.parse_args()
    first, last = (int(p) for p in args.ports.split("-"))
    from twisted.internet import reactor
    if args.kind == "tpbx":
        relay = TpbxAdapter(reactor, first, last)
    else:
        relay = BareAdapter(reactor, "127.0.0.1", first, last)
    stdio.StandardIO(Control(relay))
    reactor.run()


if __name__ == "__main__":
    main()
