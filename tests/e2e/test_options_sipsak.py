# -*- test-case-name: tests.e2e.test_options_sipsak -*-
"""
sipsak's one-line checks: an OPTIONS ping answered 200 (RFC 3261 section
11.2) and a REGISTER with digest auth.

Why a 4-digit port: sipsak 0.9.8.1 cuts the fifth digit off the
Request-URI port (recipes/sipsak.md), which would make the request name
another server.
"""

import subprocess

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, registeredNumbers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tpbx_module_server):
    """A server with extension 100 on a 4-digit SIP port."""
    requireBinaries("sipsak")
    return tpbx_module_server(numbers=["100"], sipPort=freePort(low=2000, high=9999))


def sipsak(*args):
    """@return: the finished sipsak process (bounded to 20 s)."""
    return subprocess.run(["sipsak", "-vv"] + list(args), capture_output=True, text=True,
                          timeout=20, stdin=subprocess.DEVNULL)


def test_optionsPing(server):
    """OPTIONS to the server itself gets 200 OK; sipsak exits 0."""
    p = sipsak("-s", "sip:%s:%d" % (server.host, server.sipPort))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SIP/2.0 200" in p.stdout


def test_registerDigest(server):
    """sipsak registers extension 100 with digest auth; the API lists it."""
    contact = "sip:100@%s:%d" % (server.host, freePort(low=2000, high=9999))
    # -u: without it sipsak 0.9.8.1 sends username="100@" for this URI
    p = sipsak("-U", "-i", "-C", contact, "-x", "60", "-u", "100",
               "-a", server.extensions["100"].password,
               "-s", "sip:100@%s:%d" % (server.host, server.sipPort))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "100" in registeredNumbers(server.registrations())
