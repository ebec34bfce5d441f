# -*- test-case-name: tests.e2e.test_bench_register -*-
"""
Kamailio as the peer registrar of the registration benchmark.

Why Kamailio: it is the reference C registrar many PBX deployments put in
front of themselves, so "tpbx does N% of Kamailio's rate on the same core" is
a number an operator can place.  The configuration (kamailio.cfg beside this
file) does the same work per REGISTER as tpbx: digest challenge, credential
lookup (auth_db over db_text), binding kept in memory.

Starting, waiting for and stopping it is L{bench.lib.peerprocess.PeerProcess};
with C{addExtensions} and C{bindingCount} it offers the same surface as
L{tests.e2e.harness.TpbxProcess}, so run.py treats both servers alike.
"""

import hashlib
import shutil
import subprocess
from pathlib import Path

from bench.lib.peerprocess import PeerProcess
from tests.e2e.harness import freePort

__all__ = ["KamailioProcess", "kamailioAvailable"]

HERE = Path(__file__).resolve().parent
_SCHEMA = "id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n"
_VERSION = "id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n"


def kamailioAvailable():
    """@return: C{True} when the kamailio binary and its db_text module exist."""
    return shutil.which("kamailio") is not None and any(
        Path(d, "db_text.so").exists() for d in (
            "/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules"))


class KamailioProcess(PeerProcess):
    """
    One Kamailio registrar in C{workDir} (db_text users, UDP+TCP listener).
    Its PID is the main process's (C{-DD}: it does not fork away), which
    stops its workers on SIGTERM.
    """

    name = "kamailio"
    startTimeout = 20.0
    stopGrace = 10.0

    def __init__(self, workDir, host="127.0.0.1", workers=4):
        self.workDir = Path(workDir)
        self.host = host
        self.workers = workers
        self.sipPort = freePort(host)
        self.dbDir = self.workDir / "db"
        self.runDir = self.workDir / "run"
        self.logPath = self.workDir / "kamailio.log"
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
