# -*- test-case-name: tests.pbx.test_call_memory -*-
"""
The held-call memory profile (bench/profile/call_memory.py) runs and
prints its figures.  Why a test: the script is run by hand now and then;
this keeps it from rotting.  It asserts the output's shape, never a size.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_profileRuns():
    """A small run exits 0 and reports bytes per held call, the test
    fakes' share and the top allocation sites."""
    p = subprocess.run([sys.executable, str(REPO / "bench" / "profile" / "call_memory.py"),
                        "-n", "5", "--warmup", "2", "--top", "3"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"5 held calls: \d+ bytes per call \(PBX side, tracemalloc\)", lines[0])
    assert re.fullmatch(r"\d+ bytes per call more in test fakes \(the fake relay session\)",
                        lines[1])
    assert len(lines) == 5
    assert all(re.fullmatch(r" *\d+  \S+:\d+", line) for line in lines[2:]), lines
