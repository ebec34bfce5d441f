# -*- test-case-name: tests.e2e.test_bench_register,tests.e2e.test_bench_calls -*-
"""
A peer SIP server (Kamailio, sippy's B2BUA) run as a child of the benchmark.

Why one base class: every peer is started the same way, pinned to a CPU
with taskset, its output captured to a file, then polled with OPTIONS until
it answers; it is stopped by the PID we started, never by name.  A peer
only says how it is invoked (L{PeerProcess.command}).  It offers the same
surface as L{tests.e2e.harness.TpbxProcess} (C{start}, C{stop}, C{pid},
C{logTail}), so the runners treat tpbx and its peer alike.
"""

import subprocess

from tests.e2e.harness import stopProcess, waitForSip

__all__ = ["SERVER_CPU", "CLIENT_CPU", "PeerProcess", "pinnedToCpu"]

#: The server under test runs alone on CPU 0; the load generators (SIPp)
#: share CPU 1, so that they never take cycles from the server.
SERVER_CPU, CLIENT_CPU = 0, 1


def pinnedToCpu(command, cpu):
    """
    @param cpu: the CPU to run on, or C{None} for any.
    @return: C{command} prefixed with C{taskset -c CPU} when C{cpu} is given.
    """
    return (["taskset", "-c", str(cpu)] if cpu is not None else []) + list(command)


class PeerProcess:
    """
    One peer server: subclasses set C{name}, C{host}, C{sipPort},
    C{workDir} (its cwd) and C{logPath} (its stdout and stderr) and
    implement L{command}.

    @cvar startTimeout: seconds to wait for the first OPTIONS answer.
    @cvar stopGrace: seconds between SIGTERM and SIGKILL.
    """

    name = "peer"
    startTimeout = 30.0
    stopGrace = 5.0
    proc = None

    def command(self):
        """@return: the server's command line (foreground, no daemon)."""
        raise NotImplementedError(self.name)

    def start(self, cpu=None, timeout=None):
        """
        Start the server (pinned to C{cpu}) and wait until it answers an
        OPTIONS over UDP (any status counts).

        @param timeout: seconds to wait; L{startTimeout} by default.
        @raise RuntimeError: when it exits or stays silent, with its log tail.
        """
        with open(self.logPath, "ab") as log:
            self.proc = subprocess.Popen(pinnedToCpu(self.command(), cpu), cwd=self.workDir,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        if not waitForSip(self.host, self.sipPort, timeout or self.startTimeout, self.proc):
            rc = self.proc.poll()
            self.stop()
            raise RuntimeError("%s did not answer OPTIONS on %s:%d (rc=%s)\n%s"
                               % (self.name, self.host, self.sipPort, rc, self.logTail()))

    @property
    def pid(self):
        """PID of the process we started (the one to sample in /proc)."""
        return self.proc.pid

    def stop(self):
        """SIGTERM the server by its PID, SIGKILL after L{stopGrace} s."""
        if self.proc is not None:
            stopProcess(self.proc, grace=self.stopGrace)

    def logTail(self, lines=40):
        """@return: the last C{lines} lines of the server's output."""
        try:
            text = self.logPath.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
