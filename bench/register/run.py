#!/usr/bin/env python3
# -*- test-case-name: tests.e2e.test_bench_register -*-
"""
Registration benchmark: SIPp REGISTERs with digest auth against tpbx and
Kamailio, same machine, same run, same users.

Why this shape: a registrar's cost is one challenge plus one authenticated
REGISTER per phone and refresh, and its memory grows with the bindings it
holds.  So per server the run measures
  1. the highest REGISTER rate (SIPp -r, ~20 s per step, stepping up) that
     keeps failures and UDP retransmissions under 1 %;
  2. on a fresh instance, the memory per binding (PSS of the process tree,
     which is VmRSS for a single process, after minus before registering
     10,000 bindings with a long Expires) and the server CPU time per
     registration (utime+stime from /proc/PID/stat).
The server runs on CPU 0 and SIPp on CPU 1 (taskset), everything on
127.0.0.1, every loop bounded in steps and time.

    python3 bench/register/run.py                 # full run, writes docs/PERFORMANCE.md
    python3 bench/register/run.py --quick         # smoke run, a few seconds per step
    python3 bench/register/run.py --servers kamailio --rates 500,1000
"""

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.lib import options, perfdoc, ratesteps, runner  # noqa: E402
from bench.lib.peerprocess import CLIENT_CPU, SERVER_CPU  # noqa: E402
from bench.register.kamailio_peer import KamailioProcess, kamailioAvailable  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    TpbxProcess, cpuSeconds, makeExtensions, processTree, pssBytes, runSipp,
    tpbxAvailable, vmRssBytes, writeSippUsers)

__all__ = ["StepResult", "MemoryResult", "stepUp", "measureMemory", "main"]

FIRST_USER = 1000

#: Option -> (--quick default, full-run default).
DEFAULTS = {
    "rates": ("50,100", "250,500,750,1000,1500,2000,3000,4000,5000,6500,8000,10000"),
    "duration": (2, 20),
    "users": (100, 5000),
    "bindings": (500, 10000),
}


@dataclass(kw_only=True)
class StepResult(ratesteps.RateStep):
    """One rate step, with retransmissions per REGISTER and SIPp's CPU share."""
    retransRatio: float
    clientCpu: float


@dataclass
class MemoryResult:
    """The bindings run: memory and CPU per registration."""
    bindings: int
    ok: int
    seen: object
    bytesPerBinding: float
    vmRssPerBinding: float
    cpuPerReg: float


def measureStep(server, usersCsv, rate, duration, workDir, transport):
    """
    Run one step of C{duration} seconds at C{rate} registrations/s.

    Retransmissions count against the two REGISTERs of each registration
    (L{bench.lib.ratesteps.stepPassed} judges the step).
    """
    calls = max(1, int(rate * duration))
    pids = processTree(server.pid)
    cpu0, t0 = cpuSeconds(pids), time.monotonic()
    res = runSipp(workDir, "%s:%d" % (server.host, server.sipPort), usersCsv, calls, rate=rate,
                  transport=transport, timeout=duration * 3 + 20, cpu=CLIENT_CPU)
    wall = time.monotonic() - t0
    serverCpu = cpuSeconds(processTree(server.pid)) - cpu0
    ok = res.stats.get("SuccessfulCall(C)", 0)
    failRatio = (calls - ok) / calls
    retransRatio = res.stats.get("Retransmissions(C)", 0) / (2 * calls)
    achieved = ok / max(wall, 1e-3)
    return StepResult(rate, calls, ok, failRatio, achieved, serverCpu,
                      ratesteps.stepPassed(failRatio, retransRatio, achieved, rate),
                      retransRatio=retransRatio, clientCpu=res.cpu / max(wall, 1e-3))


def describeStep(kind, step):
    """@return: the progress line of one rate step."""
    return ("  %-8s rate %6d/s: ok %6d/%-6d fail %5.2f%% retrans %5.2f%% achieved %8.1f/s "
            "sipp cpu %3.0f%% %s" % (kind, step.rate, step.ok, step.calls, 100 * step.failRatio,
                                     100 * step.retransRatio, step.achieved, 100 * step.clientCpu,
                                     "pass" if step.passed else "FAIL"))


def stepUp(server, usersCsv, rates, duration, workDir, transport="u1", log=print):
    """
    Step the rate up until a step fails (bounded by the C{rates} list).

    @return: (list of L{StepResult}, best passing StepResult or C{None}).
    """
    return ratesteps.stepUntilFailure(
        rates, lambda rate: measureStep(server, usersCsv, rate, duration, workDir, transport),
        lambda step: describeStep(server.name, step), log, pause=1.0)


def measureMemory(server, usersCsv, warmCsv, bindings, rate, workDir, transport="u1"):
    """
    Warm up (un-REGISTERs of unknown contacts), then register C{bindings}
    with Expires 3600 and compare memory and CPU before and after.
    """
    target = "%s:%d" % (server.host, server.sipPort)
    runSipp(workDir, target, warmCsv, 200, rate=min(rate, 200), expires=0, transport=transport,
            timeout=30, cpu=CLIENT_CPU)
    time.sleep(1.0)
    pids = processTree(server.pid)
    pss0, rss0, cpu0 = pssBytes(pids), vmRssBytes(server.pid), cpuSeconds(pids)
    res = runSipp(workDir, target, usersCsv, bindings, rate=rate, expires=3600, transport=transport,
                  timeout=bindings / rate * 3 + 30, cpu=CLIENT_CPU)
    time.sleep(2.0)
    pids = processTree(server.pid)
    ok = res.stats.get("SuccessfulCall(C)", 0)
    n = max(ok, 1)
    return MemoryResult(bindings, ok, server.bindingCount(), (pssBytes(pids) - pss0) / n,
                        (vmRssBytes(server.pid) - rss0) / n, (cpuSeconds(pids) - cpu0) / n)


def newServer(kind, workDir, extensions, python):
    """@return: a started-ready (not yet started) server with the users loaded."""
    workDir.mkdir(parents=True, exist_ok=True)
    if kind == "kamailio":
        server = KamailioProcess(workDir)
    else:
        server = TpbxProcess(workDir / "data", digits=4, python=python)
        server.init()
        # SIPp is one source sending thousands of requests/s: without this the
        # flood guard (SPEC I3, event 12292) blacklists it within a second.
        # Kamailio's config has no flood guard (no pike) either.
        server.admin("whitelist", "add", "127.0.0.1", "--reason", "benchmark load generator")
    server.addExtensions(extensions)
    return server


@contextmanager
def freshServer(kind, args, phaseDir, extensions, log):
    """
    A new server of C{kind} in C{phaseDir}, with the users loaded and their
    SIPp injection files written, running on CPU 0 for the block.

    @return: a context manager giving (server, users CSV, warm-up CSV).
    """
    server = newServer(kind, phaseDir, extensions, args.python)
    target = "%s:%d" % (server.host, server.sipPort)
    usersCsv, warmCsv = phaseDir / "users.csv", phaseDir / "warm.csv"
    writeSippUsers(usersCsv, extensions, target, -(-args.bindings // len(extensions)))
    writeSippUsers(warmCsv, extensions[:200], target, 1)

    def showLog(stopped):
        if args.verbose:
            log(stopped.logTail(20))
    with runner.stoppedAfterwards(server, showLog):
        server.start(cpu=SERVER_CPU)
        yield server, usersCsv, warmCsv


def benchServer(kind, args, workDir, extensions, log=print):
    """
    Both phases for one server kind, each on a fresh instance.

    @return: (step results, best step, L{MemoryResult}).
    """
    with freshServer(kind, args, workDir / "rate", extensions, log) as (server, usersCsv, _):
        steps, best = stepUp(server, usersCsv, args.rates, args.duration, workDir / "rate",
                             args.transport, log)
    bestRate = best.achieved if best else args.rates[0]
    rate = int(max(50, min(args.memory_rate or bestRate / 2, 2000)))
    with freshServer(kind, args, workDir / "memory", extensions, log) as (server, usersCsv, warmCsv):
        memory = measureMemory(server, usersCsv, warmCsv, args.bindings, rate, workDir / "memory",
                               args.transport)
    return steps, best, memory


def tableRows(results):
    """@return: markdown table lines for {kind: (steps, best, memory)}."""
    rows = perfdoc.tableHead(
        "server", "max rate at <1% fail/retrans (reg/s)", "memory per binding (B, PSS)",
        "VmRSS Δ main process per binding (B)", "CPU per registration (µs)",
        "bindings registered / listed")
    for kind, (steps, best, mem) in results.items():
        measured = mem.ok >= 0.99 * mem.bindings
        rows.append("| %s | %s | %s | %s | %s | %d / %s |" % (
            kind, ("%.0f (asked %d)" % (best.achieved, best.rate)) if best else "none passed",
            *(("%.0f" % v if measured else "n/a (run failed)") for v in (
                mem.bytesPerBinding, mem.vmRssPerBinding, mem.cpuPerReg * 1e6)),
            mem.ok, mem.seen))
    return rows


def ratioLines(results):
    """@return: tpbx/Kamailio ratios, when both ran."""
    if not {"tpbx", "kamailio"} <= results.keys():
        return []
    (_, bt, mt), (_, bk, mk) = results["tpbx"], results["kamailio"]
    valid = mt.ok >= 0.99 * mt.bindings and mk.ok >= 0.99 * mk.bindings

    def ratio(a, b):
        return "%.2f" % (a / b) if b and valid else "n/a"
    return ["- rate tpbx/Kamailio: %s" % (ratio(bt.achieved, bk.achieved) if bt and bk else "n/a"),
            "- memory per binding tpbx/Kamailio: %s" % ratio(mt.bytesPerBinding, mk.bytesPerBinding),
            "- CPU per registration tpbx/Kamailio: %s" % ratio(mt.cpuPerReg, mk.cpuPerReg)]


def summaryLines(results):
    """@return: the results table and the ratios (printed, and in the document)."""
    return tableRows(results) + [""] + ratioLines(results)


def markdown(results, args, argv):
    """@return: the docs/PERFORMANCE.md section for this run."""
    transport = "UDP" if args.transport == "u1" else "TCP"
    steps = ["", "Rate steps (%d s each, %s):" % (args.duration, transport), ""] + perfdoc.tableHead(
        "server", "asked/s", "completed/s", "failed", "retrans", "server CPU s", "SIPp CPU", "result")
    for kind, (rs, _, _) in results.items():
        steps += ["| %s | %d | %.0f | %.2f%% | %.2f%% | %.1f | %.0f%% | %s |" % (
            kind, s.rate, s.achieved, 100 * s.failRatio, 100 * s.retransRatio, s.serverCpu,
            100 * s.clientCpu, "pass" if s.passed else "fail") for s in rs]
    method = (
        "Each registration is REGISTER → 401 → REGISTER with Authorization → 200 "
        "(`tests/e2e/sipp/register.xml`). Server pinned to CPU 0, SIPp to CPU 1, 127.0.0.1 only. "
        "%d users (%d..%d), %d bindings (users × contacts) with Expires 3600 on a fresh instance; "
        "memory = PSS of the server's process tree after minus before (one process: = VmRSS), "
        "CPU = utime+stime of the tree. Kamailio: registrar + auth_db/db_text, usrloc in memory, "
        "%s workers, MD5 challenges (`bench/register/kamailio.cfg`); tpbx: 127.0.0.1 "
        "whitelisted (`tpbx-admin whitelist add`) so its flood guard does not blacklist SIPp, "
        "default digest settings (one MD5 challenge; SHA-256 is off by default, "
        "see docs/admin/extensions.md)." % (
            args.users, FIRST_USER, FIRST_USER + args.users - 1, args.bindings, 4))
    return perfdoc.docSection(
        "register", "## Registration: SIPp REGISTER with digest auth", argv,
        "other work on the machine skews the numbers: compare only rows of one run",
        [method, ""] + summaryLines(results) + steps)


def parseArgs(argv):
    """@return: the parsed options (with --quick defaults applied)."""
    ap = options.benchParser(__doc__, ("tpbx", "kamailio"), "smoke run: 2 s steps, 1,000 bindings",
                             DEFAULTS)
    ap.add_argument("--users", type=int, help="distinct extensions (default %d)" % DEFAULTS["users"][1])
    ap.add_argument("--bindings", type=int,
                    help="bindings for the memory run (default %d)" % DEFAULTS["bindings"][1])
    ap.add_argument("--memory-rate", type=int, help="rate of the memory run (default best/2)")
    ap.add_argument("--transport", default="u1", choices=["u1", "t1"], help="SIPp -t")
    options.addInterpreterOption(ap)
    options.addOutputOptions(ap)
    ap.add_argument("--verbose", action="store_true", help="print server log tails")
    return options.parseWithDefaults(ap, argv, DEFAULTS)


def main(argv=None):
    """Run the benchmark; exit 0 when every requested server was measured."""
    argv = sys.argv[1:] if argv is None else argv
    args = parseArgs(argv)
    available = {"tpbx": tpbxAvailable(), "kamailio": kamailioAvailable()}
    extensions = makeExtensions(range(FIRST_USER, FIRST_USER + args.users))
    with runner.workDirectory("register", args.keep) as work:
        results, status = runner.measureEach(
            args.servers, available,
            lambda kind, log: benchServer(kind, args, work / kind, extensions, log),
            skipReason="not installed / not available")
        runner.publish("register", results, summaryLines(results), args.doc,
                lambda: markdown(results, args, argv))
    return status


if __name__ == "__main__":
    sys.exit(main())
