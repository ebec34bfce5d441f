# -*- test-case-name: tests.e2e.test_register_baresip -*-
"""
A real softphone (baresip 1.0) registers over UDP, TCP and TLS.

Why baresip: SIPp's Debian build has no TLS, and a softphone exercises the
digest and connection handling a deployed phone does (RFC 3261 section 18.3
connection reuse, RFC 5630 sips/TLS).  baresip 1.0.0 does not verify the
server certificate, so tpbx's self-signed certificate in DATA/tls/ is
accepted as is (recipes/baresip.md).
"""

import signal
import subprocess

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, itemTransport, registeredNumbers, sipPortPair, stopProcess
from tests.e2e.tools import baresip_profile
from tests.e2e.tools.baresip_ctl import BaresipCtl

pytestmark = pytest.mark.e2e

ACCOUNTS = {"101": "udp", "102": "tcp", "103": "tls"}


def accountLine(server, number, transport):
    """@return: a baresip accounts line registering C{number} over C{transport}."""
    port = server.tlsPort if transport == "tls" else server.sipPort
    return "<sip:%s@%s:%d;transport=%s>;auth_pass=%s;regint=60" % (
        number, server.host, port, transport, server.extensions[number].password)


@pytest.fixture
def baresip(tpbx_server, tmp_path):
    """A server with 101-103 and a baresip registering one account per transport."""
    requireBinaries("baresip")
    server = tpbx_server(numbers=list(ACCOUNTS), digits=3)
    ctrl, rtp = freePort(udp=False), freePort()
    baresip_profile.main([str(tmp_path / "phone"), "--sip", "127.0.0.1:%d" % sipPortPair(),
                          "--ctrl", "127.0.0.1:%d" % ctrl, "--rtp", "%d-%d" % (rtp, rtp + 9),
                          "--source", "none.wav", "--record", str(tmp_path / "rec")]
                         + sum((["--account", accountLine(server, n, t)] for n, t in ACCOUNTS.items()), []))
    log = open(tmp_path / "baresip.log", "wb")
    proc = subprocess.Popen(["baresip", "-f", str(tmp_path / "phone")], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    ctl = None
    try:
        ctl = BaresipCtl("127.0.0.1", ctrl, connect_timeout=10)
        yield server, ctl
    finally:
        if ctl is not None:
            ctl.close()
        stopProcess(proc, grace=3.0, signals=(signal.SIGTERM, signal.SIGTERM, signal.SIGKILL))
        log.close()


def test_registerUdpTcpTls(baresip, tmp_path):
    """
    All three accounts register (reginfo OK), and the API lists each
    extension with the transport it registered over.
    """
    server, ctl = baresip
    try:
        ctl.wait_registered(timeout=15, count=len(ACCOUNTS))
    except Exception:
        print((tmp_path / "baresip.log").read_text(errors="replace")[-4000:])
        raise
    items = server.registrations()
    assert set(ACCOUNTS) <= registeredNumbers(items)
    seen = {n: itemTransport(i) for i in items for n in registeredNumbers([i]) if n in ACCOUNTS}
    assert seen == ACCOUNTS, items
