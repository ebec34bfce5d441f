# -*- test-case-name: tests.e2e.test_register_sipp -*-
"""
Process-level helpers shared by the end-to-end tests and bench/register.

Why a plain module and not only fixtures: the registration benchmark starts
the same server the same way (init, bulk import, twistd, wait for an OPTIONS
answer, stop by PID) and drives SIPp with the same scenario, so both import
this module; it depends on the standard library only (no pytest).

Everything binds to loopback, every wait is bounded, and processes are
stopped by the PID of the child we started, never by name.
"""

import base64
import csv
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.tools.sipp_stats import summary as sippSummary

__all__ = [
    "REPO", "SIPP_DIR", "Extension", "PeerProcess", "pinnedToCpu", "TpbxProcess", "SippResult",
    "freePort", "portFree", "optionsRequest", "sipRequestAnswered", "waitForSip",
    "stopProcess", "processTree", "cpuSeconds", "vmRssBytes", "pssBytes",
    "makeExtensions", "writeSippUsers", "runSipp", "registrationItems",
    "registeredNumbers", "itemTransport", "tpbxAvailable",
]

REPO = Path(__file__).resolve().parents[2]
SIPP_DIR = Path(__file__).resolve().parent / "sipp"

#: Ports other SIP software on a shared machine may use (see recipes/README).
_AVOID = frozenset({5000, 5060, 5061, 5070, 6000, 7060, 7061})


def portFree(port, host="127.0.0.1", udp=True, tcp=True):
    """
    Try to bind C{port} on C{host} for the requested socket types.

    @return: C{True} when every requested bind succeeded.
    """
    kinds = ([socket.SOCK_DGRAM] if udp else []) + ([socket.SOCK_STREAM] if tcp else [])
    socks = []
    try:
        for kind in kinds:
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def freePort(host="127.0.0.1", udp=True, tcp=True, low=None, high=None, exclude=()):
    """
    Pick a port that is free right now for UDP and/or TCP on C{host}.

    Without C{low}/C{high} the kernel chooses (bind port 0, read, close);
    with them, random ports of that range are tried (e.g. 4-digit ports for
    sipsak, whose 0.9.8.1 cuts the fifth digit of a Request-URI port).

    @param exclude: ports not to return (already handed out).
    @return: the port number.
    @raise RuntimeError: when 200 attempts found nothing.
    """
    for _ in range(200):
        if low is None:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        else:
            port = random.randint(low, high)
        if port in _AVOID or port in exclude:
            continue
        if portFree(port, host, udp, tcp):
            return port
    raise RuntimeError("no free port found on %s" % (host,))


def optionsRequest(host, port, localHost, localPort, transport="UDP"):
    """
    Build a minimal OPTIONS request (RFC 3261 section 11) to C{host:port}.

    @return: the request bytes, Content-Length 0.
    """
    tag = secrets.token_hex(4)
    return (
        "OPTIONS sip:%(h)s:%(p)d SIP/2.0\r\n"
        "Via: SIP/2.0/%(t)s %(lh)s:%(lp)d;branch=z9hG4bK%(b)s;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:probe@%(lh)s>;tag=%(tag)s\r\n"
        "To: <sip:%(h)s:%(p)d>\r\n"
        "Call-ID: %(b)s@%(lh)s\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
        % dict(h=host, p=port, t=transport, lh=localHost, lp=localPort, tag=tag,
               b=secrets.token_hex(8))
    ).encode("ascii")


def sipRequestAnswered(host, port, timeout=1.0, bindHost="127.0.0.1", payload=None):
    """
    Send one UDP request from C{bindHost} and wait for any SIP response.

    @param payload: the datagram; an OPTIONS to C{host:port} by default.
    @return: the status code of the first response, or C{None} if nothing
        came back within C{timeout} seconds.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((bindHost, 0))
        s.settimeout(timeout)
        lport = s.getsockname()[1]
        s.sendto(payload or optionsRequest(host, port, bindHost, lport), (host, port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = s.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if data.startswith(b"SIP/2.0 ") and data[8:11].isdigit():
                return int(data[8:11])
    return None


def waitForSip(host, port, timeout=30.0, proc=None):
    """
    Poll with OPTIONS until the server answers (any response counts).

    @param proc: the server's C{Popen}; stop waiting if it exits.
    @return: C{True} once answered, C{False} on timeout or exit.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if sipRequestAnswered(host, port, timeout=0.3) is not None:
            return True
    return False


def stopProcess(proc, grace=5.0, signals=(signal.SIGTERM, signal.SIGKILL)):
    """
    Stop a child we started, by its PID: each signal in turn, then wait.

    @param signals: e.g. (SIGTERM, SIGTERM, SIGKILL) for baresip, whose
        second SIGTERM means "exit now".
    """
    for sig in signals:
        if proc.poll() is not None:
            return
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def processTree(pid):
    """
    @return: C{pid} and all its descendants (from /proc/*/stat).
    """
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        result.append(p)
        todo.extend(children.get(p, ()))
    return result


def cpuSeconds(pids):
    """
    @return: user + system CPU seconds used so far by C{pids}
        (fields 14 and 15 of /proc/PID/stat).
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _statusKb(path, key):
    for line in Path(path).read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def vmRssBytes(pid):
    """
    @return: VmRSS of one process, in bytes.
    """
    return _statusKb("/proc/%d/status" % pid, "VmRSS:") * 1024


def pssBytes(pids):
    """
    @return: summed proportional set size of C{pids} in bytes; unlike VmRSS
        it counts shared memory (Kamailio's shm) once across processes.
    """
    total = 0
    for pid in pids:
        try:
            total += _statusKb("/proc/%d/smaps_rollup" % pid, "Pss:") * 1024
        except OSError:
            continue
    return total


@dataclass(frozen=True)
class Extension:
    """
    One extension as the tests create it: number, digest password, PIN.
    """
    number: str
    password: str
    pin: str = "1234"

    @property
    def authId(self):
        """The digest user name (the number unless configured otherwise)."""
        return self.number


def makeExtensions(numbers):
    """
    @param numbers: extension numbers (ints or strs).
    @return: L{Extension}s with random strong passwords and 6-digit PINs.
    """
    return [Extension(str(n), _password(str(n)), "%06d" % random.randint(0, 999999))
            for n in numbers]


def _password(number):
    """@return: a random password that does not contain C{number} (tpbx calls that weak)."""
    while True:
        password = "Pw%sZ9" % secrets.token_hex(6)
        if number not in password:
            return password


def writeSippUsers(path, extensions, target, contactsPerUser=1, password=None):
    """
    Write a SIPp injection file for C{sipp/register.xml}.

    @param target: C{host:port} of the registrar (To/From/Request-URI).
    @param contactsPerUser: bindings per extension (field3 = contact tag).
    @param password: use this password for everyone (wrong-password runs).
    @return: the number of lines (bindings) written.
    """
    lines = ["SEQUENTIAL"]
    for tag in range(contactsPerUser):
        for ext in extensions:
            lines.append("%s;%s;[authentication username=%s password=%s];%d"
                         % (ext.number, target, ext.authId, password or ext.password, tag))
    Path(path).write_text("\n".join(lines) + "\n")
    return len(lines) - 1


@dataclass
class SippResult:
    """
    Outcome of one SIPp run: exit code, last-row statistics, error trace.
    """
    rc: int
    stats: dict
    errors: str
    cpu: float = 0.0
    command: list = field(default_factory=list)


def runSipp(workDir, target, usersCsv, calls, rate=100, expires=3600, transport="u1",
            scenario=None, timeout=60.0, cpu=None, localPort=None, extra=()):
    """
    Run SIPp (bounded by C{-m}, C{-timeout} and a process timeout).

    @param target: C{host:port}.
    @param transport: SIPp C{-t} value (C{u1} UDP, C{t1} TCP).
    @param cpu: pin SIPp to this CPU with taskset.
    @param localPort: SIPp's C{-p}; the Contact carries it, so an
        un-REGISTER must reuse the port of the REGISTER run.
    @return: a L{SippResult}; C{cpu} is SIPp's own user+system seconds.
    """
    workDir = Path(workDir)
    tag = secrets.token_hex(3)
    stf, err = workDir / ("sipp-%s.csv" % tag), workDir / ("sipp-%s.err" % tag)
    cmd = pinnedToCpu([
        "sipp", "-sf", str(scenario or SIPP_DIR / "register.xml"), "-inf", str(usersCsv),
        "-key", "expires", str(expires), target, "-i", "127.0.0.1",
        "-p", str(localPort or freePort()), "-mp", str(freePort()), "-t", transport,
        "-m", str(calls), "-r", str(rate), "-rp", "1000", "-nostdin",
        "-recv_timeout", "5000", "-timeout", "%ds" % int(timeout), "-timeout_error",
        "-trace_stat", "-stf", str(stf), "-fd", "3600",
        "-trace_err", "-error_file", str(err)] + list(extra), cpu)
    before = os.times()
    proc = subprocess.run(cmd, cwd=workDir, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=timeout + 30)
    after = os.times()
    used = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    try:
        stats = sippSummary(stf)
    except (OSError, ValueError):
        stats = {}
    errors = err.read_text(errors="replace") if err.exists() else ""
    return SippResult(proc.returncode, stats, errors + proc.stderr.decode(errors="replace"),
                      used, cmd)


def registrationItems(body):
    """
    Find the list of registrations in an API answer: the body itself if it is
    a list, else the first list value of a dict (C{registrations}, C{items}...).

    @return: a list of dicts (empty if there is none).
    """
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("registrations", "items", "data", "results", "bindings"):
            if isinstance(body.get(key), list):
                return body[key]
        for value in body.values():
            if isinstance(value, list):
                return value
    return []


_AOR_NUMBER = re.compile(r"sips?:(\d+)@")
_TRANSPORT_PARAM = re.compile(r";transport=([A-Za-z]+)")


def registeredNumbers(items):
    """
    @param items: registrations from the API (see L{registrationItems}).
    @return: the set of extension numbers they name: a digits-only value of
        C{extension}/C{number}/C{user}, or C{sip:NUMBER@} in any string value.
    """
    numbers = set()
    for item in items:
        for key in ("extension", "number", "user", "username", "aor"):
            if str(item.get(key, "")).isdigit():
                numbers.add(str(item[key]))
        for value in item.values():
            numbers.update(_AOR_NUMBER.findall(str(value)))
    return numbers


def itemTransport(item):
    """
    @return: the lower-case transport of one registration (a C{transport}
        field, else C{;transport=} in a string value), or C{None}.
    """
    for key, value in item.items():
        if "transport" in key.lower() and isinstance(value, str):
            return value.lower()
    for value in item.values():
        m = _TRANSPORT_PARAM.search(str(value))
        if m:
            return m.group(1).lower()
    return None


def tpbxAvailable():
    """@return: C{True} once the server's entry points exist in the tree."""
    return all((REPO / p).exists() for p in
               ("tpbx/tap.py", "tpbx/admin.py", "twisted/plugins/tpbx_plugin.py"))


def pinnedToCpu(command, cpu):
    """
    @param cpu: the CPU to run on, or C{None} for any.
    @return: C{command} prefixed with C{taskset -c CPU} when C{cpu} is given.
    """
    return (["taskset", "-c", str(cpu)] if cpu is not None else []) + list(command)


class PeerProcess:
    """
    A SIP server run as a child process (tpbx, or a benchmark's Kamailio or
    sippy): started pinned to a CPU with taskset, its output captured to a
    file, polled with OPTIONS until it answers, stopped by the PID we
    started, never by name.  Subclasses set C{name}, C{host}, C{sipPort},
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


class TpbxProcess(PeerProcess):
    """
    One tpbx server: a data directory, its extensions and a twistd child.

    @ivar sipPort: UDP+TCP SIP port; C{tlsPort}, C{webPort} likewise.
    @ivar extensions: dict number -> L{Extension}.
    """

    name = "tpbx"
    startTimeout = 45.0
    stopGrace = 10.0
    workDir = REPO   # so twisted/plugins is found

    def __init__(self, dataDir, digits=3, host="127.0.0.1", python=None,
                 adminPassword=None, sipPort=None):
        self.dataDir = Path(dataDir)
        self.digits = digits
        self.host = host
        self.python = python or sys.executable
        self.adminPassword = adminPassword or "Adm%sQ7" % secrets.token_hex(6)
        self.extensions = {}
        self.proc = None
        self.logPath = self.dataDir.parent / (self.dataDir.name + "-twistd.log")
        self.sipPort = sipPort or freePort(host)
        self.tlsPort = freePort(host, udp=False, exclude={self.sipPort})
        self.webPort = freePort(host, udp=False, exclude={self.sipPort, self.tlsPort})

    def admin(self, *args, timeout=300):
        """
        Run C{tpbx-admin --data DIR ARGS} with our interpreter.

        @raise RuntimeError: on a non-zero exit, with its output.
        """
        # main() rather than -m: tpbx/admin.py has no __main__ block (yet);
        # --data last: it is an option of each subcommand, not of the tool.
        cmd = [self.python, "-c", "import sys; from tpbx.admin import main; sys.exit(main())"
               ] + list(args) + ["--data", str(self.dataDir)]
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("%s -> rc=%d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p.stdout

    def init(self):
        """Create the data directory (non-interactive)."""
        self.admin("init", "--non-interactive", "--admin-password", self.adminPassword,
                   "--digits", str(self.digits))

    def addExtensions(self, extensions):
        """
        Add extensions: one C{extension add} for a few, a CSV import for many.
        """
        extensions = list(extensions)
        if len(extensions) <= 3:
            for e in extensions:
                self.admin("extension", "add", e.number, "--first-name", "E2e",
                           "--last-name", "User" + e.number, "--email", "u%s@example.com" % e.number,
                           "--password", e.password, "--pin", e.pin)
        else:
            path = self.dataDir.parent / (self.dataDir.name + "-import.csv")
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["number", "first_name", "last_name", "email", "password", "pin",
                            "auth_id", "lan_only"])
                for e in extensions:
                    w.writerow([e.number, "E2e", "User" + e.number, "u%s@example.com" % e.number,
                                e.password, e.pin, e.authId, "0"])
            self.admin("extension", "import", str(path))
        self.extensions.update((e.number, e) for e in extensions)

    def command(self):
        """@return: the twistd command line (twistd, not twist: -n/--pidfile)."""
        return [self.python, "-c", "import sys; from twisted.scripts.twistd import run; sys.exit(run())",
                "-n", "--pidfile=", "tpbx", "--data", str(self.dataDir), "--bind", self.host,
                "--sip-port", str(self.sipPort), "--tls-port", str(self.tlsPort),
                "--web-port", str(self.webPort)]

    def api(self, path, timeout=10.0):
        """
        GET C{/api/v1/...} with HTTP Basic admin credentials.

        @return: the decoded JSON body.
        """
        req = urllib.request.Request("http://%s:%d%s" % (self.host, self.webPort, path))
        token = base64.b64encode(("admin:%s" % self.adminPassword).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def apiRequest(self, method, path, body=None, timeout=10.0):
        """
        Send C{method} to C{/api/v1/...} with admin credentials and an
        optional JSON C{body} (writes: PATCH, PUT, POST, DELETE).

        @return: the decoded JSON answer, or C{None} for an empty one (204).
        @raise urllib.error.HTTPError: on a 4xx/5xx answer.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request("http://%s:%d%s" % (self.host, self.webPort, path),
                                     data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", self._basic())
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw.decode("utf-8")) if raw else None

    def apiBytes(self, path, timeout=10.0):
        """@return: the raw body of C{GET path} (a recording's WAV)."""
        req = urllib.request.Request("http://%s:%d%s" % (self.host, self.webPort, path))
        req.add_header("Authorization", self._basic())
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()

    def _basic(self):
        """@return: the C{Authorization} value for the admin user."""
        token = base64.b64encode(("admin:%s" % self.adminPassword).encode()).decode()
        return "Basic " + token

    def registrations(self):
        """@return: the items of C{GET /api/v1/registrations}."""
        return registrationItems(self.api("/api/v1/registrations"))

    def bindingCount(self):
        """@return: how many registrations the API lists, or C{None} on error."""
        try:
            return len(self.registrations())
        except (OSError, ValueError):
            return None


def sipPortPair():
    """
    @return: a port free for UDP and TCP whose next port is free for TCP:
        baresip 1.0 opens its TLS listener on its SIP port + 1.
    """
    for _ in range(50):
        port = freePort()
        if port < 65535 and portFree(port + 1, udp=False):
            return port
    raise RuntimeError("no free SIP port pair")
