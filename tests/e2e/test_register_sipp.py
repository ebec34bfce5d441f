# -*- test-case-name: tests.e2e.test_register_sipp -*-
"""
SIPp registers many extensions with digest auth (RFC 3261 section 22,
RFC 7616) over UDP and TCP, as a fleet of phones would.

Why SIPp: it is the load tool the benchmark uses too, and its injection file
gives every "call" its own user and password, so 100 distinct extensions
register in one run and the REST API must then list exactly those.
"""

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, registeredNumbers, runSipp, writeSippUsers

pytestmark = pytest.mark.e2e

NUMBERS = [str(n) for n in range(100, 200)]
WRONG = ["197", "198", "199"]


@pytest.fixture(scope="module")
def server(tpbx_module_server):
    """One server with extensions 100-199 for this module."""
    requireBinaries("sipp")
    return tpbx_module_server(numbers=NUMBERS, digits=3)


def target(server):
    """@return: host:port of the server's SIP listener."""
    return "%s:%d" % (server.host, server.sipPort)


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_registerAndUnregisterHundred(server, tmp_path, transport):
    """
    100 extensions register with digest auth (401 then 200), the API lists
    all of them; REGISTER with Expires: 0 (RFC 3261 section 10.2.2) removes
    them and the API lists none.
    """
    users = tmp_path / "users.csv"
    exts = [server.extensions[n] for n in NUMBERS]
    writeSippUsers(users, exts, target(server))
    port = freePort()
    reg = runSipp(tmp_path, target(server), users, len(exts), rate=50, expires=3600,
                  transport=transport, timeout=60, localPort=port)
    assert (reg.rc, reg.stats.get("SuccessfulCall(C)")) == (0, 100), reg.errors[-3000:]
    assert set(NUMBERS) <= registeredNumbers(server.registrations())
    unreg = runSipp(tmp_path, target(server), users, len(exts), rate=50, expires=0,
                    transport=transport, timeout=60, localPort=port)
    assert (unreg.rc, unreg.stats.get("SuccessfulCall(C)")) == (0, 100), unreg.errors[-3000:]
    assert registeredNumbers(server.registrations()) & set(NUMBERS) == set()


def test_wrongPasswordRejected(server, tmp_path):
    """
    An authenticated REGISTER with a wrong password gets 401 again (RFC 7616
    section 3.3), SIPp counts each as a failed call (exit 1), and no binding
    is made.
    """
    users = tmp_path / "bad.csv"
    writeSippUsers(users, [server.extensions[n] for n in WRONG], target(server),
                   password="WrongPassword1")
    res = runSipp(tmp_path, target(server), users, len(WRONG), rate=10, timeout=30)
    assert res.rc == 1, res.errors[-3000:]
    assert res.stats.get("FailedUnexpectedMessage(C)") == len(WRONG)
    assert "while expecting '200'" in res.errors and "401" in res.errors
    assert registeredNumbers(server.registrations()) & set(WRONG) == set()
