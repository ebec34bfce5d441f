# -*- test-case-name: tests.e2e.test_calls_sipp -*-
"""
SIPp calls through the tpbx B2BUA and its RTP relay (issue 3, item 13):
extension 100 (a SIPp caller, digest-authenticated INVITEs, RFC 3261
section 22.3) calls extension 200 (a SIPp registered with its Contact on
the port where a second SIPp answers).

Why SIPp here and not only baresip: it makes hundreds of calls at once, so
it shows that under load no call fails and that, once they have ended, no
call, leg, relay session or port -- and, after the transaction timers,
no transaction or timer -- is left behind (read from GET /api/v1/status).
"""

import time

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, makeExtensions, tpbxAvailable
from tests.e2e.sippcalls import (
    CALLEE, CALLER, LEAK_KEYS, SippProcess, callerArgs, callerCsv, registerAnswerer,
    startCallServer, target, waitForIdle)

pytestmark = pytest.mark.e2e

CONCURRENT = 200

#: Over UDP a finished transaction waits out Timer D/J/M (32 s, RFC 3261
#: section 17 and RFC 6026) before the call manager forgets it.
TRANSACTION_WAIT = 45.0


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    """
    One server with extensions 100 and 200, 200 registered with its Contact
    on a port kept for the answering SIPp of every test.

    @return: (server, work directory, answering port).
    """
    requireBinaries("sipp")
    if not tpbxAvailable():
        pytest.skip("tpbx server not there yet")
    work = tmp_path_factory.mktemp("calls-sipp")
    server = startCallServer(work / "data", makeExtensions([CALLER, CALLEE]))
    try:
        port = freePort()
        registerAnswerer(server, work, CALLEE, port)
        yield server, work, port
    finally:
        server.stop()


def call(pbx, uacScenario, uasScenario, calls, uacArgs=(), uasArgs=(), timeout=60.0,
         during=None):
    """
    Run the answering SIPp, then the calling one, until both exit.

    @param during: called every 0.5 s while the caller runs.
    @return: (caller L{SippResult}, callee L{SippResult}).
    """
    server, work, port = pbx
    uas = SippProcess.start(work, uasScenario, ["-m", calls, *uasArgs], port=port)
    try:
        time.sleep(0.3)   # let the answering SIPp bind its port
        csv = callerCsv(work, server.extensions[CALLER], target(server))
        uac = SippProcess.start(work, uacScenario, callerArgs(target(server), CALLEE, csv) + [
            "-m", calls, *uacArgs])
        deadline = time.monotonic() + timeout
        while during is not None and uac.proc.poll() is None and time.monotonic() < deadline:
            during()
            time.sleep(0.5)
        caller = uac.finish(max(1.0, deadline - time.monotonic()))
        return caller, uas.finish(15.0)
    finally:
        uas.stop()


def assertAllSucceeded(result, calls):
    """SIPp exited 0 and counted every call successful, none failed."""
    assert (result.rc, result.stats.get("SuccessfulCall(C)"), result.stats.get("FailedCall(C)")
            ) == (0, calls, 0), result.errors[-3000:]


def test_concurrentCallsWithAudioLeaveNothing(pbx):
    """
    200 concurrent calls, each streaming about 8 s of G.711 A-law from a
    pcap through the relay and echoed back by the callee, all succeed; as
    soon as they have ended no call, leg, relay session or RTP port is in
    use, and within the transaction timers' 32 s no transaction or timer
    is left either.
    """
    server = pbx[0]
    peak = []
    caller, callee = call(pbx, "uac_auth_pcap.xml", "uas_answer.xml", CONCURRENT,
                          uacArgs=["-l", CONCURRENT, "-r", 100], uasArgs=["-rtp_echo"],
                          timeout=60.0,
                          during=lambda: peak.append(server.api("/api/v1/status")["calls"]))
    assertAllSucceeded(caller, CONCURRENT)
    assertAllSucceeded(callee, CONCURRENT)
    assert max(peak, default=0) == CONCURRENT
    counts = server.api("/api/v1/status")
    assert {k: counts[k] for k in LEAK_KEYS} == dict.fromkeys(LEAK_KEYS, 0), counts
    assert counts["relayPorts"]["inUse"] == 0, counts
    counts = waitForIdle(server, TRANSACTION_WAIT)
    assert (counts["transactions"], counts["timers"]) == (0, 0), counts


@pytest.mark.parametrize("hangup", ["caller", "callee"])
def test_authenticatedCallEndedByEitherSide(pbx, hangup):
    """
    One authenticated call (407 then INVITE with Proxy-Authorization) is
    answered, and a BYE from either side ends both legs: both SIPps count
    it successful, the call detail record names the side that hung up, and
    no call, leg or relay port is left.
    """
    server = pbx[0]
    if hangup == "caller":
        caller, callee = call(pbx, "uac_auth_call.xml", "uas_answer.xml", 1, uacArgs=["-d", 1000])
    else:
        caller, callee = call(pbx, "uac_auth_pcap.xml", "uas_bye.xml", 1, uasArgs=["-d", 1000])
    assertAllSucceeded(caller, 1)
    assertAllSucceeded(callee, 1)
    counts = server.api("/api/v1/status")
    assert {k: counts[k] for k in LEAK_KEYS} == dict.fromkeys(LEAK_KEYS, 0), counts
    assert counts["relayPorts"]["inUse"] == 0, counts
    # CDRs are written by a worker thread a fraction of a second after the call.
    deadline = time.monotonic() + 10
    while True:
        records = server.api("/api/v1/cdr?limit=1")["cdr"]
        if (records and records[0]["hangupSide"] == hangup) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    record = records[0]
    assert (record["caller"], record["callee"], record["disposition"], record["hangupSide"]
            ) == (CALLER, CALLEE, "answered", hangup)
