# -*- test-case-name: tests.media.test_bench_relay_quick -*-
"""
rtpengine (Debian C{rtpengine-daemon}) as the benchmark's peer relay, in
userspace forwarding only (C{--table=-1}: no kernel module), driven over its
ng control protocol: bencoded dictionaries over UDP, each prefixed by a
cookie (offer/answer/delete, as a SIP proxy would send them).
"""

import re
import socket
import subprocess

__all__ = ["Rtpengine", "bencode", "bdecode"]


def bencode(value) -> bytes:
    """@return: C{value} (dict, list, str, bytes, int) in bencoding."""
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    items = sorted(value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


def bdecode(data: bytes):
    """@return: the value bencoded in C{data} (strings as str)."""
    value, _ = _decode(data, 0)
    return value


def _decode(data, i):
    kind = data[i:i + 1]
    if kind == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if kind in (b"l", b"d"):
        items, i = [], i + 1
        while data[i:i + 1] != b"e":
            item, i = _decode(data, i)
            items.append(item)
        return (dict(zip(items[::2], items[1::2])) if kind == b"d" else items), i + 1
    colon = data.index(b":", i)
    length = int(data[i:colon])
    return data[colon + 1:colon + 1 + length].decode("utf-8", "replace"), colon + 1 + length


SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
_MEDIA_PORT = re.compile(r"^m=audio (\d+) ", re.M)


class Rtpengine:
    """One rtpengine process pinned to a CPU, and its ng client."""

    def __init__(self, ngPort, portMin, portMax, cpu="0", logPath="/dev/null"):
        self.ngPort, self.portMin, self.portMax = ngPort, portMin, portMax
        self.cpu, self.logPath = cpu, logPath
        self.process = None
        self.calls = []
        self._cookie = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.settimeout(5)

    def start(self):
        """Start the daemon in the foreground and wait for it to answer ping."""
        command = ["taskset", "-c", self.cpu, "rtpengine", "--config-file=none", "--foreground",
                   "--log-stderr", "--log-level=4", "--table=-1", "--interface=127.0.0.1",
                   "--listen-ng=127.0.0.1:%d" % self.ngPort, "--port-min=%d" % self.portMin,
                   "--port-max=%d" % self.portMax, "--num-threads=1", "--delete-delay=0"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=open(self.logPath, "w"))
        for _ in range(50):
            try:
                if self.command({"command": "ping"}).get("result") == "pong":
                    return
            except OSError:
                pass
        raise RuntimeError("rtpengine did not answer ping")

    def command(self, request: dict) -> dict:
        """Send one ng command and @return: its decoded reply."""
        self._cookie += 1
        cookie = b"c%d" % self._cookie
        self._sock.sendto(cookie + b" " + bencode(request), ("127.0.0.1", self.ngPort))
        while True:
            data, _ = self._sock.recvfrom(65536)
            if data.startswith(cookie + b" "):
                return bdecode(data[len(cookie) + 1:])

    def allocate(self, n, a, b):
        """
        Set up C{n} calls (offer from a, answer from b).

        @return: C{[(aPort, bPort)]}: where a and b send their packets.
        """
        pairs = []
        for _ in range(n):
            callId = "bench-%d" % len(self.calls)
            common = {"call-id": callId, "from-tag": "a", "ICE": "remove",
                      "replace": ["origin", "session-connection"]}
            offer = self.command(dict(common, command="offer", sdp=SDP % a[1]))
            answer = self.command(dict(common, command="answer", sdp=SDP % b[1], **{"to-tag": "b"}))
            if offer.get("result") != "ok" or answer.get("result") != "ok":
                raise RuntimeError("rtpengine refused a call: %r %r" % (offer, answer))
            bPort = int(_MEDIA_PORT.search(offer["sdp"]).group(1))
            aPort = int(_MEDIA_PORT.search(answer["sdp"]).group(1))
            self.calls.append(callId)
            pairs.append((aPort, bPort))
        return pairs

    def free(self):
        """Delete every call."""
        calls, self.calls = self.calls, []
        for callId in calls:
            self.command({"command": "delete", "call-id": callId, "from-tag": "a"})
        return {"deleted": len(calls)}

    def stop(self):
        """Stop the daemon by PID."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
