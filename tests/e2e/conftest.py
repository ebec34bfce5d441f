# -*- test-case-name: tests.e2e.test_register_sipp -*-
"""
Fixtures for end-to-end tests: a real tpbx (twistd subprocess) on free
loopback ports, driven by real SIP clients (SIPp, baresip, sipsak,
sipvicious).

Why a factory: several test modules need their own server (the scanner
tests get 127.0.0.x blacklisted, sipsak needs a 4-digit port), so a test asks
for servers with the extensions it needs and the fixture stops every one of
them, by PID, at teardown.  A failing test gets each server's log tail added
to its report.
"""

import shutil
import sys

import pytest

from tests.e2e.harness import TpbxProcess, makeExtensions, tpbxAvailable

__all__ = ["requireBinaries", "TpbxServerFactory"]


def pytest_configure(config):
    """Register the C{e2e} marker."""
    config.addinivalue_line("markers", "e2e: end-to-end test with real SIP clients and a running tpbx")


def requireBinaries(*names):
    """Skip the calling test unless every named executable is on PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip("not installed: %s" % ", ".join(missing))


class TpbxServerFactory:
    """
    Make started tpbx servers under C{basePath}; L{close} stops them all.

    @ivar servers: every L{TpbxProcess} made, for teardown and log tails.
    """

    def __init__(self, basePath):
        self.basePath = basePath
        self.servers = []

    def __call__(self, numbers=(100,), digits=3, sipPort=None):
        """
        Create a data dir, run init, add extensions, start twistd and wait
        until it answers an OPTIONS over UDP.

        @param numbers: extension numbers to create (random passwords).
        @return: the started L{TpbxProcess} (C{.extensions[number].password}).
        """
        if not tpbxAvailable():
            pytest.skip("tpbx server entry points (tpbx/tap.py, tpbx/admin.py, plugin) not there yet")
        server = TpbxProcess(self.basePath / ("pbx%d" % len(self.servers)), digits=digits,
                             python=sys.executable, sipPort=sipPort)
        self.servers.append(server)
        server.init()
        server.addExtensions(makeExtensions(numbers))
        server.start()
        return server

    def close(self):
        """Stop every server this factory started (by PID)."""
        for server in self.servers:
            server.stop()


@pytest.fixture
def tpbx_server(tmp_path):
    """A factory of servers that live for one test."""
    factory = TpbxServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def tpbx_module_server(tmp_path_factory):
    """A factory of servers shared by the tests of one module."""
    factory = TpbxServerFactory(tmp_path_factory.mktemp("tpbx"))
    yield factory
    factory.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the log tail of every server the failed test used."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        servers = getattr(value, "servers", None)
        if servers is None and isinstance(value, TpbxProcess):
            servers = [value]
        for server in servers or ():
            if id(server) not in seen:
                seen.add(id(server))
                report.sections.append(("tpbx log tail (%s)" % server.dataDir, server.logTail()))
