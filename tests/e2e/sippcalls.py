# -*- test-case-name: tests.e2e.test_calls_sipp -*-
"""
SIPp calls through a B2BUA: a tpbx set up for call load, the answering
SIPp registered as an extension, and SIPp processes run side by side.

Why a module of its own: the SIPp call test and bench/calls start the same
server (a relay port range wide enough for thousands of calls, 127.0.0.1
whitelisted so the flood guard leaves SIPp alone), register the same
answering SIPp and run the same scenarios; like L{tests.e2e.harness} it
depends on the standard library only.  Every wait is bounded and every
process is stopped by the PID we started.
"""

import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import (
    SIPP_DIR, SippResult, TpbxProcess, freePort, pinnedToCpu, runSipp, stopProcess,
    writeSippUsers)
from tests.e2e.tools.sipp_stats import summary as sippSummary

__all__ = ["CALLER", "CALLEE", "CallTpbx", "SippProcess", "startCallServer",
           "registerAnswerer", "callerCsv", "callerArgs", "waitForIdle", "LEAK_KEYS", "target"]

CALLER, CALLEE = "100", "200"

#: Relay range for load runs: four ports (two RTP/RTCP pairs) per call, so
#: 10,000 ports hold 2,500 calls; below the kernel's ephemeral ports (32768+).
RTP_RANGE = "20000-29999"

#: The counts that must be zero as soon as the calls have ended.
LEAK_KEYS = ("calls", "legs", "relaySessions")


class CallTpbx(TpbxProcess):
    """
    A L{TpbxProcess} whose relay has L{RTP_RANGE} for internal calls.

    @ivar rtpTimeout: its C{--rtp-timeout}, or L{None} for the default.
    """

    rtpTimeout = None

    def command(self):
        """@return: the twistd command line with the wide RTP range."""
        timeout = [] if self.rtpTimeout is None else ["--rtp-timeout", str(self.rtpTimeout)]
        return super().command() + ["--rtp-internal", RTP_RANGE] + timeout


def startCallServer(dataDir, extensions, python=None, cpu=None, rtpTimeout=None):
    """
    Create, configure and start a tpbx for call load.

    @param extensions: L{tests.e2e.harness.Extension}s (caller and callee).
    @param cpu: pin the server to this CPU.
    @param rtpTimeout: seconds without RTP before a call is hung up
        (L{None}: the server's default).
    @return: the started L{CallTpbx}.
    """
    server = CallTpbx(Path(dataDir), digits=3, python=python)
    server.rtpTimeout = rtpTimeout
    server.init()
    # One source sending hundreds of requests/s: without this the flood
    # guard (SPEC I3) blacklists SIPp within a second.
    server.admin("whitelist", "add", "127.0.0.1", "--reason", "SIPp load generator")
    server.addExtensions(extensions)
    try:
        server.start(cpu=cpu)
    except RuntimeError:
        server.stop()
        raise
    return server


def target(server):
    """@return: C{host:port} of a server's SIP listener."""
    return "%s:%d" % (server.host, server.sipPort)


def registerAnswerer(server, workDir, number, port, cpu=None):
    """
    Register extension C{number} with a Contact on C{port}, where the
    answering SIPp will listen next (register.xml run with C{-p port}).

    @raise RuntimeError: when the registration fails.
    """
    users = Path(workDir) / ("register-%s.csv" % number)
    writeSippUsers(users, [server.extensions[number]], target(server))
    res = runSipp(workDir, target(server), users, 1, rate=1, expires=3600, timeout=20,
                  localPort=port, cpu=cpu)
    if res.rc != 0:
        raise RuntimeError("registering %s failed (rc %d): %s" % (number, res.rc, res.errors[-2000:]))


def callerCsv(workDir, extension, host):
    """
    Write the caller's injection file (one line, used by every call).

    @param extension: the caller, or L{None} for a server without auth.
    @param host: C{host:port} for From/To/Request-URI.
    @return: the file's path.
    """
    path = Path(workDir) / ("caller-%s.csv" % secrets.token_hex(3))
    if extension is None:
        path.write_text("SEQUENTIAL\ncaller;%s;\n" % host)
    else:
        writeSippUsers(path, [extension], host)
    return path


def callerArgs(host, callee, csvPath, auth=True):
    """
    @param auth: whether the server challenges INVITEs: then the digest
        uri must be the Request-URI (RFC 2617 section 3.2.2), which SIPp
        puts there only when told (its default is C{sip:host:port}).
    @return: SIPp arguments of a caller of C{callee} at C{host}.
    """
    return [host, "-s", callee, "-inf", csvPath] + (
        ["-auth_uri", "%s@%s" % (callee, host)] if auth else [])


@dataclass
class SippProcess:
    """
    One SIPp running in the background; L{finish} waits and reads its stats.
    """
    proc: subprocess.Popen
    stats: Path
    errors: Path
    command: list

    @classmethod
    def start(cls, workDir, scenario, args, cpu=None, port=None, mediaPort=None):
        """
        Start SIPp with C{scenario} (a file in L{SIPP_DIR}) and C{args}.

        @param args: target, -m, -r, -d, -inf ... for this run.
        @param port: SIPp's C{-p} (a free one by default).
        """
        workDir = Path(workDir)
        tag = secrets.token_hex(3)
        stf, err = workDir / ("sipp-%s.csv" % tag), workDir / ("sipp-%s.err" % tag)
        cmd = pinnedToCpu([
            "sipp", "-sf", str(SIPP_DIR / scenario), "-i", "127.0.0.1",
            "-p", str(port or freePort()), "-mi", "127.0.0.1",
            "-mp", str(mediaPort or freePort()), "-nostdin", "-trace_stat", "-stf", str(stf),
            "-fd", "3600", "-trace_err", "-error_file", str(err)] + [str(a) for a in args], cpu)
        log = open(workDir / ("sipp-%s.out" % tag), "wb")
        proc = subprocess.Popen(cmd, cwd=workDir, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        return cls(proc, stf, err, cmd)

    def finish(self, timeout):
        """
        Wait up to C{timeout} seconds for SIPp to exit (then stop it).

        @return: a L{SippResult} (rc -1 when it had to be stopped).
        """
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stopProcess(self.proc, grace=5.0)
            rc = -1
        try:
            stats = sippSummary(self.stats)
        except (OSError, ValueError):
            stats = {}
        errors = self.errors.read_text(errors="replace") if self.errors.exists() else ""
        out = self.errors.with_suffix(".out")
        if out.exists():
            errors += out.read_text(errors="replace")[-3000:]
        return SippResult(rc, stats, errors, 0.0, self.command)

    def stop(self):
        """Stop SIPp by its PID if it still runs."""
        stopProcess(self.proc, grace=5.0)


def waitForIdle(server, timeout, keys=("calls", "legs", "transactions", "timers",
                                       "relaySessions"), poll=1.0):
    """
    Poll C{GET /api/v1/status} until every count in C{keys} and the relay
    ports in use are 0, for at most C{timeout} seconds.

    @return: the last counts seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        counts = server.api("/api/v1/status")
        if all(counts[k] == 0 for k in keys) and counts["relayPorts"]["inUse"] == 0:
            return counts
        if time.monotonic() >= deadline:
            return counts
        time.sleep(poll)

