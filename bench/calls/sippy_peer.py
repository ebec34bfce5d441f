# -*- test-case-name: tests.e2e.test_bench_calls -*-
"""
sippy's B2BUA (PyPI C{sippy}, C{sippy.b2bua_simple}) as the peer of the
call-setup benchmark: a pure-Python B2BUA of long standing, so the ratio
says what tpbx's Python costs against another Python B2BUA.

Why b2bua_simple: it routes every INVITE to one next hop (C{-n}) without
authentication or media relay, the closest sippy gets to "tpbx minus its
features".  It is installed into a venv of its own (its dependencies stay
out of tpbx's) with pip, and run in the foreground (C{-f}), stopped by PID
(L{bench.lib.peerprocess.PeerProcess}).
"""

import subprocess
import sys
from pathlib import Path

from bench.lib.peerprocess import PeerProcess
from tests.e2e.harness import freePort

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


class SippyB2bua(PeerProcess):
    """
    One b2bua_simple on 127.0.0.1 forwarding every call to C{nextHop}; it
    answers an OPTIONS with 501, which is answer enough to know it is up.

    @ivar logPath: its stdout and stderr; C{b2buaLogPath}: its own log (C{-L}).
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
        self.logPath = self.workDir / "sippy.out"
        self.b2buaLogPath = self.workDir / "sippy.log"

    def command(self):
        """@return: the b2bua_simple command line (foreground)."""
        return [self.python, "-m", "sippy.b2bua_simple", "-f", "-l", self.host,
                "-p", str(self.sipPort), "-n", self.nextHop, "-L", str(self.b2buaLogPath)]
