# -*- test-case-name: tests.e2e.test_multicast_paging -*-
"""
The body of tests/e2e/test_multicast_paging.py, run in a network
namespace of its own (C{unshare -n}): its loopback is given multicast
and a route for 224.0.0.0/4, so a page can be sent to a group without a
datagram leaving the namespace (the host's loopback has no multicast).

A tpbx with extensions 100 and 200 and paging group 701 sending to
239.255.0.1:5004; a socket that joined the group on 127.0.0.1 plays the
paging phones; a SIPp caller (100) calls 701 and plays G.711 A-law
from a pcap, then hangs up.  Prints one JSON line: what SIPp
counted, the RTP packets the group socket received (count, payload
types, distinct payloads) and the server's counts after the call.

    unshare -n python tests/e2e/multicast_page_ns.py WORKDIR
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.harness import makeExtensions  # noqa: E402
from tests.e2e.sippcalls import (  # noqa: E402
    CALLEE, CALLER, SippProcess, callerArgs, callerCsv, startCallServer, target, waitForIdle)

GROUP, PORT, NUMBER = "239.255.0.1", 5004, "701"
#: The server re-reads its configuration every second (docs/admin/extensions.md).
CONFIG_DELAY = 1.5


def multicastLoopback() -> None:
    """Give this namespace's loopback multicast and the route to every group."""
    for command in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "set", "lo", "multicast", "on"],
                    ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]):
        subprocess.run(command, check=True)


def groupSocket() -> socket.socket:
    """A socket on the group's port that joined it on the loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((GROUP, PORT))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1"))
    sock.settimeout(0.2)
    return sock


def listen(sock, caller, limit: float) -> list[bytes]:
    """@return: the datagrams received until C{caller} exits (or C{limit} s)."""
    packets, deadline = [], time.monotonic() + limit
    while caller.proc.poll() is None and time.monotonic() < deadline:
        try:
            packets.append(sock.recv(2048))
        except socket.timeout:
            pass
    return packets


def main(work: Path) -> None:
    multicastLoopback()
    server = startCallServer(work / "data", makeExtensions([CALLER, CALLEE]))
    try:
        server.apiRequest("POST", "/api/v1/ringgroups", {
            "number": NUMBER, "name": "Overhead", "strategy": "paging", "members": [],
            "multicast": f"{GROUP}:{PORT}"})
        time.sleep(CONFIG_DELAY)
        sock = groupSocket()
        csv = callerCsv(work, server.extensions[CALLER], target(server))
        caller = SippProcess.start(work, "uac_auth_pcap.xml",
                                   callerArgs(target(server), NUMBER, csv) + ["-m", 1])
        packets = listen(sock, caller, 60.0)
        result = caller.finish(30.0)
        rtp = [p for p in packets if len(p) > 12 and p[0] >> 6 == 2]
        print(json.dumps({
            "sipp": {"rc": result.rc, "ok": result.stats.get("SuccessfulCall(C)", 0),
                     "failed": result.stats.get("FailedCall(C)", 0), "errors": result.errors[-500:]},
            "packets": len(rtp),
            "payloadTypes": sorted({p[1] & 0x7F for p in rtp}),
            "distinctPayloads": len({p[12:] for p in rtp}),
            "after": waitForIdle(server, 10.0, keys=("calls", "legs", "relaySessions")),
        }))
    finally:
        server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
