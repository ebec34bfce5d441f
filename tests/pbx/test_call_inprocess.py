# -*- test-case-name: tests.pbx.test_call_inprocess -*-
"""
The in-process call-setup profile (bench/profile/call_inprocess.py) runs
and prints its figures.  Why a test: the script reaches into the call
tests' bench and the call manager, and is run by hand when profiling;
this keeps it from rotting.  It asserts the output's shape, never a time.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_profileRuns(tmp_path):
    """A small run exits 0, reports CPU per 1,000 calls with every call
    ended, and writes the profile with --dump."""
    dump = tmp_path / "calls.prof"
    p = subprocess.run([sys.executable, str(REPO / "bench" / "profile" / "call_inprocess.py"),
                        "20", "--dump", str(dump)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert re.match(r"20 calls at 300/s fake time: server [\d.]+ s \([\d.]+ CPU-s per 1,000 calls",
                    first), first
    assert "calls 0;" in first
    assert dump.stat().st_size > 0
