# -*- test-case-name: tests.e2e.test_bench_calls -*-
"""
The call-setup benchmark's smoke run (bench/calls/run.py --quick)
completes against tpbx and against sippy's B2BUA.

Why a test: the benchmark is run by hand now and then; this keeps its
plumbing (servers, registration of the answering SIPp, rate steps, held
calls, /proc sampling, report) from rotting.  It asserts that a table row
was produced, never a number.
"""

import subprocess
import sys

import pytest

from bench.calls.sippy_peer import ensureSippy
from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import REPO, tpbxAvailable

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["tpbx", "tpbx-direct", "sippy"])
def test_quickRun(kind, tmp_path):
    """A --quick run of one server exits 0 and prints that server's result row."""
    requireBinaries("sipp", "taskset")
    if not tpbxAvailable():
        pytest.skip("tpbx server not there yet")
    extra = []
    if kind == "sippy":
        python = ensureSippy(tmp_path / "sippy-venv")
        if python is None:
            pytest.skip("sippy could not be installed from PyPI")
        extra = ["--sippy-python", str(python)]
    p = subprocess.run([sys.executable, str(REPO / "bench" / "calls" / "run.py"), "--quick",
                        "--servers", kind, "--python", sys.executable] + extra,
                       capture_output=True, text=True, timeout=300, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "\n| %s | " % kind in p.stdout, p.stdout
