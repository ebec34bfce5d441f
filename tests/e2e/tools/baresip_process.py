# -*- test-case-name: tests.e2e.test_register_baresip -*-
"""
Start a headless baresip on fresh loopback ports and connect to its
control port, retrying on new ports when it could not bind them.

Why retries: the ports are chosen free (bind port 0, close) and baresip
binds them a moment later; under a parallel test run another process's
outgoing connection can take one of them in between.  baresip 1.0 does
not exit when its ctrl_tcp listener fails ("Address already in use"): it
runs on without a control port, so a plain connect loop would wait out
its whole timeout and fail the test (seen in CI).  Standard library only.
"""

import signal
import subprocess
import time

from tests.e2e.harness import freePort, sipPortPair, stopProcess
from tests.e2e.tools import baresip_profile
from tests.e2e.tools.baresip_ctl import BaresipCtl, BaresipCtlError

__all__ = ["BaresipProcess"]

#: Seconds one start may take to open its control port (it takes well
#: under one on this kind of machine).
START_WAIT = 5.0


class BaresipProcess:
    """
    One baresip process (profile under C{directory/profile}, run from
    C{directory}, output in C{directory/baresip.log}).

    @ivar proc: the L{subprocess.Popen} we started.
    @ivar ctl: its L{BaresipCtl}.
    """

    def __init__(self, directory, options, attempts=3):
        """
        @param options: L{baresip_profile} arguments besides the ports
            (--source, --record, --account ...).
        @raise BaresipCtlError: when no attempt opened a control port; the
            message ends with the log's tail.
        """
        self.log = open(directory / "baresip.log", "wb")
        self.proc = self.ctl = None
        for attempt in range(attempts):
            ctrl, rtp = freePort(udp=False), freePort()
            baresip_profile.main([str(directory / "profile"), "--sip", "127.0.0.1:%d" % sipPortPair(),
                                  "--ctrl", "127.0.0.1:%d" % ctrl, "--rtp", "%d-%d" % (rtp, rtp + 9)]
                                 + list(options))
            self.proc = subprocess.Popen(["baresip", "-f", "profile"], cwd=directory,
                                         stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            self.ctl = self._connect(ctrl)
            if self.ctl is not None:
                return
            self._end()
        self.log.close()
        raise BaresipCtlError("baresip opened no control port in %d attempts:\n%s" % (
            attempts, (directory / "baresip.log").read_text(errors="replace")[-2000:]))

    def _connect(self, port):
        """@return: a L{BaresipCtl} on C{port}, or C{None} if the process
            exited or did not listen within L{START_WAIT}."""
        deadline = time.monotonic() + START_WAIT
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                return BaresipCtl("127.0.0.1", port, connect_timeout=0)
            except BaresipCtlError:
                time.sleep(0.1)
        return None

    def _end(self):
        stopProcess(self.proc, grace=3.0, signals=(signal.SIGTERM, signal.SIGTERM, signal.SIGKILL))

    def stop(self):
        """Close the control connection and stop baresip by its PID."""
        self.ctl.close()
        self._end()
        self.log.close()
