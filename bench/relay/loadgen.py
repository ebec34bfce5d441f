# -*- test-case-name: tests.media.test_bench_relay_quick -*-
"""
The load generator of the relay benchmark: N simulated G.711 calls, two
streams each (50 packets/s of 172 bytes: 12-byte RTP header + 160 bytes of
20 ms PCMU), sent through a relay and received back, in one stdlib process
(the runner pins it to its own CPU).

Why one socket per direction: the relay latches per port, so every call's
party "a" can share one source address and every party "b" another; the
generator then needs two sockets, not 2N, and one plain loop.  The payload
carries the stream number and the send time, so the receiver counts loss
and measures the time through the relay (both ends read the same clock).
Streams are evenly phased over the 20 ms packet interval, as real calls are.

Prints C{MEASURE_START} and C{MEASURE_END} lines around the measured window
(the runner samples the relay's CPU time there) and a JSON result last.
"""

import argparse
import json
import select
import socket
import struct
import sys
import time

PPS = 50                       # RFC 3551 sec. 4.5.14: PCMU, 20 ms packets
PAYLOAD = 160
HEADER = struct.Struct("!BBHIIIQ")   # RTP fixed header + stream number + send time (ns)
BUCKET_NS = 100_000            # latency histogram: 0.1 ms buckets
BUCKETS = 20_000               # up to 2 s


def bigBuffers(sock):
    """Give the generator's sockets room so its own drops never count as loss."""
    for force, plain in ((getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF),
                         (getattr(socket, "SO_SNDBUFFORCE", None), socket.SO_SNDBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force or plain, 16 * 1024 * 1024)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, 16 * 1024 * 1024)


def openSocket(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bigBuffers(sock)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


class Receiver:
    """Counts packets received in the window and their latency histogram."""

    def __init__(self, windowStart, windowEnd):
        self.windowStart, self.windowEnd = windowStart, windowEnd
        self.received = self.misrouted = self.outside = 0
        self.histogram = [0] * (BUCKETS + 1)

    def drain(self, sock, wantEven):
        """Read everything queued on C{sock}; a-to-b streams are even."""
        histogram, start, end = self.histogram, self.windowStart, self.windowEnd
        while True:
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                return
            now = time.monotonic_ns()
            if len(data) < HEADER.size:
                self.misrouted += 1
                continue
            stream, sent = HEADER.unpack_from(data)[5:7]
            if (stream & 1 == 0) != wantEven:
                self.misrouted += 1
            elif start <= sent < end:
                self.received += 1
                histogram[min((now - sent) // BUCKET_NS, BUCKETS)] += 1
            else:
                self.outside += 1

    def percentile(self, fraction):
        """@return: the latency (ms) below which C{fraction} of packets fell."""
        wanted, seen = fraction * self.received, 0
        for bucket, count in enumerate(self.histogram):
            seen += count
            if count and seen >= wanted:
                return (bucket + 1) * BUCKET_NS / 1e6
        return 0.0


class Sender:
    """
    Sends the streams round robin at C{len(streams) * PPS} packets/s from
    C{t0}, so each stream gets 50 packets/s evenly phased over 20 ms.
    """

    def __init__(self, streams, t0, windowStart, windowEnd):
        self.streams, self.t0 = streams, t0
        self.windowStart, self.windowEnd = windowStart, windowEnd
        self.rate = len(streams) * PPS
        self.sent = self.inWindow = self.maxLag = 0
        self.buf = bytearray(12 + PAYLOAD)

    def sendDue(self, now):
        """Send every packet due by C{now} (none after the window)."""
        due = (min(now, self.windowEnd) - self.t0) * self.rate // 1_000_000_000
        if due > self.sent:
            self.maxLag = max(self.maxLag, now - self.nextAt(self.sent))
        count, buf = len(self.streams), self.buf
        while self.sent < due:
            sock, dest, stream = self.streams[self.sent % count]
            seq = self.sent // count
            stamp = time.monotonic_ns()
            HEADER.pack_into(buf, 0, 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF,
                             stream + 1, stream, stamp)
            try:
                sock.sendto(buf, dest)
            except BlockingIOError:
                pass
            if self.windowStart <= stamp < self.windowEnd:
                self.inWindow += 1
            self.sent += 1

    def nextAt(self, index):
        """@return: when packet C{index} is due (ns)."""
        return self.t0 + index * 1_000_000_000 // self.rate


def run(pairs, aPort, bPort, warmup, duration, drainTime):
    """Send and receive for C{warmup + duration}; @return: the result dict."""
    sockA, sockB = openSocket(aPort), openSocket(bPort)
    # stream 2i: a -> relay port pairs[i][0]; stream 2i+1: b -> pairs[i][1]
    streams = []
    for i, (pa, pb) in enumerate(pairs):
        streams.append((sockA, ("127.0.0.1", pa), 2 * i))
        streams.append((sockB, ("127.0.0.1", pb), 2 * i + 1))
    t0 = time.monotonic_ns()
    start, end = t0 + int(warmup * 1e9), t0 + int((warmup + duration) * 1e9)
    stop = end + int(drainTime * 1e9)
    sender, receiver = Sender(streams, t0, start, end), Receiver(start, end)
    marks = [(start, "MEASURE_START"), (end, "MEASURE_END")]
    while (now := time.monotonic_ns()) < stop:
        if marks and now >= marks[0][0]:
            print(marks.pop(0)[1], flush=True)
        sender.sendDue(now)
        receiver.drain(sockA, False)
        receiver.drain(sockB, True)
        wait = (sender.nextAt(sender.sent + 1) - time.monotonic_ns()) / 1e9
        if wait > 0:
            select.select([sockA, sockB], [], [], min(wait, 0.01))
    for _, mark in marks:
        print(mark, flush=True)
    sent = sender.inWindow
    loss = 100.0 * (sent - receiver.received) / sent if sent else 0.0
    return {"calls": len(pairs), "sent": sent, "received": receiver.received,
            "lossPercent": round(max(loss, 0.0), 3), "p50ms": receiver.percentile(0.5),
            "p99ms": receiver.percentile(0.99), "misrouted": receiver.misrouted,
            "maxSendLagMs": round(sender.maxLag / 1e6, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", required=True, help="JSON file: [[aRelayPort, bRelayPort], ...]")
    parser.add_argument("--a-port", type=int, required=True)
    parser.add_argument("--b-port", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=0.5)
    args = parser.parse_args()
    with open(args.pairs) as f:
        pairs = json.load(f)
    result = run(pairs, args.a_port, args.b_port, args.warmup, args.duration, args.drain)
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
