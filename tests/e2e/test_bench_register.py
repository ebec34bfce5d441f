# -*- test-case-name: tests.e2e.test_bench_register -*-
"""
The registration benchmark's smoke run (bench/register/run.py --quick)
completes against each installed server.

Why a test: the benchmark is only run by hand now and then; this keeps its
plumbing (server start, SIPp CSV, /proc sampling, report) from rotting.  It
asserts that a table row was produced, never a number.
"""

import subprocess
import sys

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import REPO, tpbxAvailable

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["kamailio", "tpbx"])
def test_quickRun(kind):
    """A --quick run of one server exits 0 and prints that server's result row."""
    requireBinaries("sipp", "taskset", *(["kamailio"] if kind == "kamailio" else []))
    if kind == "tpbx" and not tpbxAvailable():
        pytest.skip("tpbx server not there yet")
    p = subprocess.run([sys.executable, str(REPO / "bench" / "register" / "run.py"), "--quick",
                        "--servers", kind, "--python", sys.executable],
                       capture_output=True, text=True, timeout=240, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "\n| %s | " % kind in p.stdout, p.stdout
