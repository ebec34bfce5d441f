# -*- test-case-name: tests.media.test_bench_relay_quick -*-
"""
The relay benchmark's smoke run (bench/relay/run.py --quick) completes for
tpbx and the bare baseline.

Why a test: the benchmark is run by hand now and then; this keeps its
plumbing (pinned subprocesses, control lines, load generator, CPU sampling)
from rotting.  It asserts that result rows were produced and that no
packet went astray, never a timing.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent.parent


def test_quickRun():
    """A --quick run of tpbx and the bare loop exits 0 and prints their rows."""
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        pytest.skip("the load tool needs taskset and two CPUs")
    p = subprocess.run([sys.executable, str(REPO / "bench" / "relay" / "run.py"), "--quick",
                        "--servers", "tpbx,bare", "--python", sys.executable],
                       capture_output=True, text=True, timeout=240, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr
    for kind in ("tpbx", "bare"):
        assert "\n| %s | 20 | " % kind in p.stdout, p.stdout
