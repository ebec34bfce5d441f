# -*- test-case-name: tests.e2e.test_bench_lib -*-
"""
One benchmark run: a work directory, each requested server in turn, the
summary on stdout and, for full runs, the section in docs/PERFORMANCE.md.

Why shared: the runners differ in what they measure, not in how a run is
conducted.  A server that is not installed is skipped, one that fails is
reported and the others still run (the exit status says so), servers are
stopped by PID however a phase ends, and the work directory is removed
unless C{--keep} asks to look at it.
"""

import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bench.lib.perfdoc import writeDoc

__all__ = ["MEASURE_ERRORS", "printNow", "workDirectory", "stoppedAfterwards", "measureEach",
           "publish"]

#: What a server that cannot start or be measured raises: the run reports
#: it and goes on with the next server.
MEASURE_ERRORS = (RuntimeError, subprocess.SubprocessError, OSError)


def printNow(line):
    """Print a progress line at once (the runs are long and often piped)."""
    print(line, flush=True)


@contextmanager
def workDirectory(name, keep):
    """
    A fresh temporary directory for benchmark C{name}; removed at the end
    unless C{keep}, in which case its path is printed.
    """
    work = Path(tempfile.mkdtemp(prefix="tpbx-bench-%s-" % name))
    try:
        yield work
    finally:
        if keep:
            print("work directory: %s" % work)
        else:
            subprocess.run(["rm", "-rf", "--", str(work)], timeout=60)


@contextmanager
def stoppedAfterwards(server, afterStop=None):
    """
    Run the block (which starts C{server}), then stop C{server} by PID
    however the block ended, even when it failed half-way through starting.

    @param afterStop: called with C{server} once it is stopped (log tails).
    """
    try:
        yield server
    finally:
        server.stop()
        if afterStop is not None:
            afterStop(server)


def measureEach(servers, available, measure, skipReason="not available", errors=MEASURE_ERRORS):
    """
    Measure each server kind in turn.

    @param available: kind -> whether it can run here; others are skipped.
    @param measure: (kind, log) -> that server's results.
    @param errors: what a failed server raises (the run goes on).
    @return: ({kind: results} of the servers measured, exit status: 1 if one failed).
    """
    results, status = {}, 0
    for kind in servers:
        if not available.get(kind):
            print("skip %s: %s" % (kind, skipReason))
            continue
        printNow("%s:" % kind)
        try:
            results[kind] = measure(kind, printNow)
        except errors as e:
            printNow("%s failed: %s" % (kind, e))
            status = 1
    return results, status


def publish(name, results, summary, docPath, section):
    """
    Print the C{summary} lines; when C{docPath} is set and a server was
    measured, write benchmark C{name}'s section there.

    @param section: () -> the markdown section (it describes the machine,
        so it is only made when written).
    """
    print("\n" + "\n".join(summary))
    if docPath and results:
        writeDoc(docPath, name, section())
        print("wrote %s" % docPath)
