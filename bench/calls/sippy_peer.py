# -*- test-case-name: tests.e2e.test_bench_calls -*-
"""
sippy's B2BUA (PyPI C{sippy}, C{sippy.b2bua_simple}) as the peer of the
call-setup benchmark: a pure-Python B2BUA of long standing, so the ratio
says what tpbx's Python costs against another Python B2BUA.

Why b2bua_simple: it routes every INVITE to one next hop (C{-n}) without
authentication or media relay, the closest sippy gets to "tpbx minus its
features".  It is installed into a venv of its own (its dependencies stay
out of tpbx's) with pip, and run in the foreground (C{-f}), stopped by PID.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.e2e.harness import freePort, stopProcess, waitForSip  # noqa: E402

__all__ = ["SippyB2bua", "ensureSippy"]


def ensureSippy(venv):
    """
    Make a venv at C{venv} with sippy in it, unless one is there.

    @return: the venv's python, or L{None} when the install failed.
    """
    venv = Path(venv)
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import sippy.b2bua_simple"]
    if python.exists() and subprocess.run(check, capture_output=True, timeout=60).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120,
                       capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "sippy"], check=True,
                       timeout=600, capture_output=True)
    except (subprocess.SubprocessError, OSError) as e:
        print("cannot install sippy: %s" % (e,), flush=True)
        return None
    return python


class SippyB2bua:
    """
    One b2bua_simple on 127.0.0.1 forwarding every call to C{nextHop}.
    """

    name = "sippy"
    host = "127.0.0.1"

    def __init__(self, workDir, python, nextHop):
        """
        @param python: the interpreter with sippy installed.
        @param nextHop: C{host:port} of the answering SIPp.
        """
        self.workDir = Path(workDir)
        self.workDir.mkdir(parents=True, exist_ok=True)
        self.python, self.nextHop = str(python), nextHop
        self.sipPort = freePort()
        self.logPath = self.workDir / "sippy.log"
        self.proc = None

    def start(self, cpu=None, timeout=30.0):
        """
        Start it and wait until it answers an OPTIONS (with 501: any answer).

        @raise RuntimeError: when it exits or stays silent.
        """
        cmd = (["taskset", "-c", str(cpu)] if cpu is not None else []) + [
            self.python, "-m", "sippy.b2bua_simple", "-f", "-l", self.host,
            "-p", str(self.sipPort), "-n", self.nextHop, "-L", str(self.logPath)]
        out = open(self.workDir / "sippy.out", "ab")
        self.proc = subprocess.Popen(cmd, cwd=self.workDir, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        if not waitForSip(self.host, self.sipPort, timeout, self.proc):
            self.stop()
            raise RuntimeError("sippy b2bua did not answer on %s:%d" % (self.host, self.sipPort))

    @property
    def pid(self):
        """PID of the b2bua process."""
        return self.proc.pid

    def stop(self):
        """Stop it by its PID."""
        if self.proc is not None:
            stopProcess(self.proc, grace=5.0)
