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

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

from tests.e2e.harness import (  # noqa: E402
    TpbxProcess, cpuSeconds, makeExtensions, processTree, pssBytes, runSipp,
    tpbxAvailable, vmRssBytes, writeSippUsers)
from kamailio_peer import KamailioProcess, kamailioAvailable  # noqa: E402

__all__ = ["StepResult", "MemoryResult", "stepUp", "measureMemory", "main"]

SERVER_CPU, CLIENT_CPU = 0, 1
MARK_BEGIN, MARK_END = "<!-- bench/register:begin -->", "<!-- bench/register:end -->"
FIRST_USER = 1000


@dataclass
class StepResult:
    """One rate step: what was asked, what came back, and whether it passed."""
    rate: int
    calls: int
    ok: int
    failRatio: float
    retransRatio: float
    achieved: float
    serverCpu: float
    clientCpu: float
    passed: bool


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

    A step passes when failures and retransmissions are each below 1 % of
    the calls and the completed rate is at least 90 % of the asked one.
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
    passed = failRatio < 0.01 and retransRatio < 0.01 and achieved >= 0.9 * rate
    return StepResult(rate, calls, ok, failRatio, retransRatio, achieved,
                      serverCpu, res.cpu / max(wall, 1e-3), passed)


def stepUp(server, usersCsv, rates, duration, workDir, transport="u1", log=print):
    """
    Step the rate up until a step fails (bounded by the C{rates} list).

    @return: (list of L{StepResult}, best passing StepResult or C{None}).
    """
    results, best = [], None
    for rate in rates:
        step = measureStep(server, usersCsv, rate, duration, workDir, transport)
        results.append(step)
        log("  %-8s rate %6d/s: ok %6d/%-6d fail %5.2f%% retrans %5.2f%% achieved %8.1f/s "
            "sipp cpu %3.0f%% %s" % (server.name, rate, step.ok, step.calls, 100 * step.failRatio,
                                     100 * step.retransRatio, step.achieved, 100 * step.clientCpu,
                                     "pass" if step.passed else "FAIL"))
        if not step.passed:
            break
        best = step
        time.sleep(1.0)
    return results, best


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


def benchServer(kind, args, workDir, extensions, log=print):
    """
    Both phases for one server kind, each on a fresh instance.

    @return: (step results, best step, L{MemoryResult}).
    """
    contacts = -(-args.bindings // len(extensions))
    out = {}
    for phase in ("rate", "memory"):
        server = newServer(kind, workDir / phase, extensions, args.python)
        csvPath = workDir / phase / "users.csv"
        writeSippUsers(csvPath, extensions, "%s:%d" % (server.host, server.sipPort), contacts)
        warmCsv = workDir / phase / "warm.csv"
        writeSippUsers(warmCsv, extensions[:200], "%s:%d" % (server.host, server.sipPort), 1)
        server.start(cpu=SERVER_CPU)
        try:
            if phase == "rate":
                out["steps"], out["best"] = stepUp(server, csvPath, args.rates, args.duration,
                                                   workDir / phase, args.transport, log)
            else:
                best = out["best"].achieved if out["best"] else args.rates[0]
                rate = int(max(50, min(args.memory_rate or best / 2, 2000)))
                out["memory"] = measureMemory(server, csvPath, warmCsv, args.bindings, rate,
                                              workDir / phase, args.transport)
        finally:
            server.stop()
            if args.verbose:
                log(server.logTail(20))
    return out["steps"], out["best"], out["memory"]


def tableRows(results):
    """@return: markdown table lines for {kind: (steps, best, memory)}."""
    rows = ["| server | max rate at <1% fail/retrans (reg/s) | memory per binding (B, PSS) | "
            "VmRSS Δ main process per binding (B) | CPU per registration (µs) | bindings registered / listed |",
            "|---|---|---|---|---|---|"]
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


def versions():
    """@return: one line naming the machine and tool versions."""
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    return "%s; %s; Python %s; %s; %s" % (
        model, platform.platform(), platform.python_version(), first(["kamailio", "-v"]),
        first(["sipp", "-v"]).strip() or "sipp")


def markdown(results, args, argv):
    """@return: the docs/PERFORMANCE.md section for this run."""
    steps = ["", "Rate steps (%d s each, %s):" % (args.duration, "UDP" if args.transport == "u1" else "TCP"),
             "", "| server | asked/s | completed/s | failed | retrans | server CPU s | SIPp CPU | result |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, (rs, _, _) in results.items():
        steps += ["| %s | %d | %.0f | %.2f%% | %.2f%% | %.1f | %.0f%% | %s |" % (
            kind, s.rate, s.achieved, 100 * s.failRatio, 100 * s.retransRatio, s.serverCpu,
            100 * s.clientCpu, "pass" if s.passed else "fail") for s in rs]
    return "\n".join([
        MARK_BEGIN, "## Registration: SIPp REGISTER with digest auth", "",
        "Produced by `%s` on %s." % (" ".join(shlex.quote(a) for a in ["python3", "bench/register/run.py"] + argv),
                                       datetime.date.today().isoformat()),
        "Machine: %s; load average at the end %.1f (other work on the machine skews "
        "the numbers: compare only rows of one run)." % ((versions(),) + os.getloadavg()[:1]), "",
        "Each registration is REGISTER → 401 → REGISTER with Authorization → 200 "
        "(`tests/e2e/sipp/register.xml`). Server pinned to CPU 0, SIPp to CPU 1, 127.0.0.1 only. "
        "%d users (%d..%d), %d bindings (users × contacts) with Expires 3600 on a fresh instance; "
        "memory = PSS of the server's process tree after minus before (one process: = VmRSS), "
        "CPU = utime+stime of the tree. Kamailio: registrar + auth_db/db_text, usrloc in memory, "
        "%s workers, MD5 challenges (`bench/register/kamailio.cfg`); tpbx: 127.0.0.1 "
        "whitelisted (`tpbx-admin whitelist add`) so its flood guard does not blacklist SIPp, "
        "default digest settings (one MD5 challenge; SHA-256 is off by default, see docs/admin/extensions.md)." % (
            args.users, FIRST_USER, FIRST_USER + args.users - 1, args.bindings, 4), ""]
        + tableRows(results) + [""] + ratioLines(results) + steps + [MARK_END, ""])


def writeDoc(path, section, begin=MARK_BEGIN, end=MARK_END):
    """
    Replace a benchmark's section of C{path} (between its C{begin} and
    C{end} markers; this benchmark's by default), or append it.
    """
    path = Path(path)
    text = path.read_text() if path.exists() else "# tpbx performance\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def parseArgs(argv):
    """@return: the parsed options (with --quick defaults applied)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 s steps, 1,000 bindings")
    ap.add_argument("--servers", default="tpbx,kamailio", help="comma list of tpbx, kamailio")
    ap.add_argument("--rates", help="comma list of rates to step through")
    ap.add_argument("--duration", type=int, help="seconds per rate step (default 20)")
    ap.add_argument("--users", type=int, help="distinct extensions (default 5000)")
    ap.add_argument("--bindings", type=int, help="bindings for the memory run (default 10000)")
    ap.add_argument("--memory-rate", type=int, help="rate of the memory run (default best/2)")
    ap.add_argument("--transport", default="u1", choices=["u1", "t1"], help="SIPp -t")
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"),
                    help="interpreter with tpbx installed")
    ap.add_argument("--doc", help="markdown file to update (default: docs/PERFORMANCE.md, "
                                  "none with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--verbose", action="store_true", help="print server log tails")
    a = ap.parse_args(argv)
    quick = a.quick
    a.rates = [int(r) for r in (a.rates or ("50,100" if quick else
               "250,500,750,1000,1500,2000,3000,4000,5000,6500,8000,10000")).split(",")]
    a.duration = a.duration or (2 if quick else 20)
    a.users = a.users or (100 if quick else 5000)
    a.bindings = a.bindings or (500 if quick else 10000)
    a.doc = a.doc or (None if quick else str(REPO / "docs" / "PERFORMANCE.md"))
    a.servers = [s for s in a.servers.split(",") if s]
    return a


def main(argv=None):
    """Run the benchmark; exit 0 when every requested server was measured."""
    argv = sys.argv[1:] if argv is None else argv
    args = parseArgs(argv)
    available = {"tpbx": tpbxAvailable(), "kamailio": kamailioAvailable()}
    extensions = makeExtensions(range(FIRST_USER, FIRST_USER + args.users))
    results = {}
    work = Path(tempfile.mkdtemp(prefix="tpbx-bench-register-"))
    status = 0
    for kind in args.servers:
        if not available.get(kind):
            print("skip %s: not installed / not available" % kind)
            continue
        print("%s:" % kind, flush=True)
        try:
            results[kind] = benchServer(kind, args, work / kind, extensions,
                                        log=lambda s: print(s, flush=True))
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            print("%s failed: %s" % (kind, e), flush=True)
            status = 1
    section = markdown(results, args, argv)
    print("\n" + "\n".join(tableRows(results) + [""] + ratioLines(results)))
    if args.doc and results:
        writeDoc(args.doc, section)
        print("wrote %s" % args.doc)
    if args.keep:
        print("work directory: %s" % work)
    else:
        subprocess.run(["rm", "-rf", "--", str(work)], timeout=60)
    return status


if __name__ == "__main__":
    sys.exit(main())
