# -*- test-case-name: tests.e2e.test_bench_register -*-
"""
Kamailio as the peer registrar of the registration benchmark.

Why Kamailio: it is the reference C registrar many PBX deployments put in
front of themselves, so "tpbx does N% of Kamailio's rate on the same core" is
a number an operator can place.  The configuration (kamailio.cfg beside this
file) does the same work per REGISTER as tpbx: digest challenge, credential
lookup (auth_db over db_text), binding kept in memory.

The object offers the same surface as L{tests.e2e.harness.TpbxProcess}
(C{addExtensions}, C{start}, C{stop}, C{pid}, C{logTail}, C{bindingCount})
so run.py treats both servers alike.
"""

import hashlib
import shutil
import subprocess
from pathlib import Path

from tests.e2e.harness import freePort, stopProcess, waitForSip

__all__ = ["KamailioProcess", "kamailioAvailable"]

HERE = Path(__file__).resolve().parent
_SCHEMA = "id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n"
_VERSION = "id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n"


def kamailioAvailable():
    """@return: C{True} when the kamailio binary and its db_text module exist."""
    return shutil.which("kamailio") is not None and any(
        Path(d, "db_text.so").exists() for d in (
            "/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules"))


class KamailioProcess:
    """
    One Kamailio registrar in C{workDir} (db_text users, UDP+TCP listener).
    """

    name = "kamailio"

    def __init__(self, workDir, host="127.0.0.1", workers=4):
        self.workDir = Path(workDir)
        self.host = host
        self.workers = workers
        self.sipPort = freePort(host)
        self.dbDir = self.workDir / "db"
        self.runDir = self.workDir / "run"
        self.logPath = self.workDir / "kamailio.log"
        self.proc = None
        for d in (self.dbDir, self.runDir):
            d.mkdir(parents=True, exist_ok=True)
        (self.dbDir / "version").write_text(_VERSION)

    def addExtensions(self, extensions):
        """
        Write the subscriber table (realm = the listen address, as tpbx uses).
        """
        rows = [_SCHEMA]
        for i, e in enumerate(extensions, 1):
            ha1 = hashlib.md5(("%s:%s:%s" % (e.authId, self.host, e.password)).encode()).hexdigest()
            ha1b = hashlib.md5(("%s@%s:%s:%s" % (e.authId, self.host, self.host, e.password))
                               .encode()).hexdigest()
            rows.append("%d:%s:%s:%s:%s:%s\n" % (i, e.authId, self.host, e.password, ha1, ha1b))
        (self.dbDir / "subscriber").write_text("".join(rows))

    def command(self):
        """@return: the kamailio command line (foreground, log on stderr)."""
        return ["kamailio", "-f", str(HERE / "kamailio.cfg"), "-DD", "-E", "-m", "256", "-M", "16",
                "-Y", str(self.runDir), "-P", str(self.runDir / "kamailio.pid"),
                "-A", "LISTEN_IP=%s" % self.host, "-A", "SIP_PORT=%d" % self.sipPort,
                "-A", "WORKERS=%d" % self.workers,
                "-A", 'DBURL="text://%s"' % self.dbDir,
                "-A", 'CTL_SOCK="unix:%s"' % (self.runDir / "ctl.sock")]

    def start(self, cpu=None, timeout=20.0):
        """
        Start Kamailio (optionally pinned with taskset) and wait for OPTIONS.

        @raise RuntimeError: if it does not answer, with the log tail.
        """
        cmd = (["taskset", "-c", str(cpu)] if cpu is not None else []) + self.command()
        with open(self.logPath, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.workDir, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        if not waitForSip(self.host, self.sipPort, timeout, self.proc):
            self.stop()
            raise RuntimeError("kamailio did not answer OPTIONS\n" + self.logTail())

    @property
    def pid(self):
        """PID of the main Kamailio process (-DD: it does not fork away)."""
        return self.proc.pid

    def stop(self):
        """SIGTERM the main process by PID (it stops its children)."""
        if self.proc is not None:
            stopProcess(self.proc, grace=10.0)

    def logTail(self, lines=40):
        """@return: the last lines of Kamailio's log."""
        try:
            return "\n".join(self.logPath.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def bindingCount(self):
        """
        @return: usrloc's contact count (via kamcmd), or C{None} if unknown.
        """
        try:
            out = subprocess.run(["kamcmd", "-s", "unix:%s" % (self.runDir / "ctl.sock"),
                                  "stats.get_statistics", "usrloc:"],
                                 capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        for line in out.splitlines():
            if "location_contacts" in line:
                return int(line.rsplit("=", 1)[1])
        return None
