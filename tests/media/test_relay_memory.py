# -*- test-case-name: tests.media.test_relay_memory -*-
"""
The relay's memory profile (bench/profile/relay_memory.py) runs and prints
both figures.  Why a test: the script is run by hand now and then; this
keeps it from rotting.  It asserts the output's shape, never a size.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_profileRuns():
    """A small latched run exits 0 and reports bytes per session both ways."""
    p = subprocess.run([sys.executable, str(REPO / "bench" / "profile" / "relay_memory.py"),
                        "-n", "20", "--latch"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"20 sessions \(latched\): \d+ bytes per session \(tracemalloc\), "
                        r"-?\d+ bytes per session \(VmRSS delta\)\n", p.stdout), p.stdout
