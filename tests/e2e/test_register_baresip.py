# -*- test-case-name: tests.e2e.test_register_baresip -*-
"""
A real softphone (baresip 1.0) registers over UDP, TCP and TLS.

Why baresip: SIPp's Debian build has no TLS, and a softphone exercises the
digest and connection handling a deployed phone does (RFC 3261 section 18.3
connection reuse, RFC 5630 sips/TLS).  baresip 1.0.0 does not verify the
server certificate, so tpbx's self-signed certificate in DATA/tls/ is
accepted as is (recipes/baresip.md).
"""

import socket

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, itemTransport, registeredNumbers
from tests.e2e.tools import baresip_process

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
    process = baresip_process.BaresipProcess(
        tmp_path, ["--source", "none.wav", "--record", str(tmp_path / "rec")]
        + sum((["--account", accountLine(server, n, t)] for n, t in ACCOUNTS.items()), []))
    try:
        yield server, process.ctl
    finally:
        process.stop()


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


def test_startRetriesWhenControlPortTaken(tmp_path, monkeypatch):
    """
    When another socket takes the control port between its choice and
    baresip's bind (a bound socket that does not listen, as an outgoing
    connection's), baresip runs on without one; the launcher gives up on
    that process and starts a new one on fresh ports.
    """
    requireBinaries("baresip")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    ports = [taken.getsockname()[1]]
    chosen = []

    def firstTaken(*args, **kwargs):
        port = ports.pop() if ports and not kwargs.get("udp", True) else freePort(*args, **kwargs)
        chosen.append(port)
        return port

    monkeypatch.setattr(baresip_process, "freePort", firstTaken)
    monkeypatch.setattr(baresip_process, "START_WAIT", 1.5)
    try:
        process = baresip_process.BaresipProcess(tmp_path, ["--source", "none.wav", "--record", "rec"])
        try:
            assert process.ctl.command("listcalls")["ok"]
        finally:
            process.stop()
    finally:
        taken.close()
    assert b"Address already in use" in (tmp_path / "baresip.log").read_bytes()
    assert len(chosen) == 4   # control and RTP ports, twice
