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

from bench.calls.run import (KindResult, MemoryResult, StepResult, collect, parseArgs,
                              ratioLines, tableRows)
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


def _best(achieved):
    return StepResult(100, 1500, 1500, 0.0, achieved, 1.0, True, retrans=0, setupMs=2.0)


def test_roundsCollectedPerKind():
    """
    Each kind keeps one series per round, in order; a kind missing from a
    round (it failed to start) gets an empty series there, not a shift.
    """
    a, b, c = _best(600), _best(700), _best(200)
    rounds = [{"tpbx": ([a], a), "sippy": ([c], c)}, {"sippy": ([c], c)}, {"tpbx": ([b], b)}]
    results = collect(rounds, {"tpbx": MemoryResult(10, 10, 10, 8000.0)})
    assert results["tpbx"].bests == [a, None, b]
    assert results["sippy"].bests == [c, c, None]
    assert results["tpbx"].memory.bytesPerCall == 8000.0 and results["sippy"].memory is None


def test_medianRoundAndRatiosWithinRounds():
    """
    The table shows the median round's best and every round's; the ratio
    is taken within each round (both servers on the same machine state),
    and only where both passed a step.  Of an even count the lower middle
    is the median, and a round that passed no step ranks lowest.
    """
    tpbx = KindResult([([], _best(r)) for r in (600, 450, 660)] + [([], None)])
    sippy = KindResult([([], _best(r)) for r in (200, 150, 210, 205)])
    assert tpbx.median.achieved == 450
    lines = ratioLines({"tpbx": tpbx, "sippy": sippy})
    assert "call setups/s tpbx/sippy: 3.00 (median round; each round: 3.00, 3.00, 3.14)" in lines[0]
    [row] = tableRows({"tpbx": tpbx})[2:]
    assert "450 (asked 100); rounds: 600 / 450 / 660 / none" in row


def test_fullRunsRefineEachLimit():
    """A full run halves the gap after the first failing rate three times
    (each limit within a few per cent); a quick run does not; both can be
    told otherwise."""
    assert parseArgs([]).refine == 3
    assert parseArgs(["--quick"]).refine == 0
    assert parseArgs(["--refine", "1"]).refine == 1
