#!/usr/bin/env python3
# -*- test-case-name: tests.e2e.test_bench_calls -*-
"""
Call-setup benchmark: SIPp UAC -> B2BUA -> SIPp UAS, no media, for tpbx
and sippy's B2BUA in the same run; plus memory per held call.

Why this shape: a B2BUA's cost per call is two dialogs, their transactions
and (tpbx) a relay session with four UDP sockets, so per server the run
measures
  1. call setups/s: steps of SIPp -r (50, 100, 200, 300, ...) of short
     calls (INVITE, tpbx: 407 + authenticated INVITE, 180, 200, ACK, -d
     hold, BYE, 200) for ~15 s each; a step passes with < 1 % failed calls,
     < 1 retransmission per 100 calls and >= 90 % of the asked rate
     completed, and the first failing step ends the series;
  2. on a fresh instance, memory per active call: N calls held open at
     once (a long -d), PSS of the server after minus before / N.
The server runs on CPU 0 and both SIPps on CPU 1 (taskset), all on
127.0.0.1, every loop bounded in steps and time.  sippy runs
b2bua_simple (static next hop, no auth, no media relay) from its own venv.

    python3 bench/calls/run.py                  # full run, writes docs/PERFORMANCE.md
    python3 bench/calls/run.py --quick          # smoke run, prints only
    python3 bench/calls/run.py --servers tpbx --rates 300,400 --duration 10
"""

import argparse
import datetime
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

from bench.register.run import versions, writeDoc  # noqa: E402
from sippy_peer import SippyB2bua, ensureSippy  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    cpuSeconds, freePort, makeExtensions, processTree, pssBytes, tpbxAvailable)
from tests.e2e.sippcalls import (  # noqa: E402
    CALLEE, CALLER, SippProcess, callerArgs, callerCsv, registerAnswerer, startCallServer,
    target)

__all__ = ["StepResult", "MemoryResult", "main"]

SERVER_CPU, CLIENT_CPU = 0, 1
MARK_BEGIN, MARK_END = "<!-- bench/calls:begin -->", "<!-- bench/calls:end -->"


@dataclass
class StepResult:
    """One rate step: asked, completed, failures, CPU, verdict."""
    rate: int
    calls: int
    ok: int
    failRatio: float
    retrans: int
    setupMs: float
    achieved: float
    serverCpu: float
    passed: bool


@dataclass
class MemoryResult:
    """The held-calls run: how many were up at once and the memory per call."""
    calls: int
    held: object
    ok: int
    bytesPerCall: float


class Bench:
    """
    One server kind under test: a fresh server with an answering SIPp port.
    """

    def __init__(self, kind, args, workDir):
        self.kind, self.args, self.workDir = kind, args, Path(workDir)
        self.workDir.mkdir(parents=True, exist_ok=True)
        self.uasPort = freePort()
        self.server = None

    def start(self):
        """Start the server (CPU 0); tpbx: register 200 on the UAS port."""
        if self.kind == "tpbx":
            self.server = startCallServer(self.workDir / "data", makeExtensions([CALLER, CALLEE]),
                                          python=self.args.python, cpu=SERVER_CPU)
            registerAnswerer(self.server, self.workDir, CALLEE, self.uasPort, cpu=CLIENT_CPU)
        else:
            self.server = SippyB2bua(self.workDir, self.args.sippy_python,
                                     "127.0.0.1:%d" % self.uasPort)
            self.server.start(cpu=SERVER_CPU)

    def stop(self):
        """Stop the server by PID."""
        if self.server is not None:
            self.server.stop()

    def run(self, calls, rate, holdMs, timeout, during=None):
        """
        C{calls} calls at C{rate}/s held C{holdMs}: the UAS first, then the UAC.

        @param during: called once, C{during[0]} s after the UAC started.
        @return: (UAC L{tests.e2e.harness.SippResult}, wall seconds, server CPU s,
            what C{during} returned).
        """
        tpbx = self.kind == "tpbx"
        uas = SippProcess.start(self.workDir, "uas_answer.xml", ["-m", calls], cpu=CLIENT_CPU,
                                port=self.uasPort)
        try:
            time.sleep(0.3)
            csv = callerCsv(self.workDir, self.server.extensions[CALLER] if tpbx else None,
                            target(self.server))
            pids = processTree(self.server.pid)
            cpu0, t0 = cpuSeconds(pids), time.monotonic()
            uac = SippProcess.start(self.workDir, "uac_auth_call.xml", callerArgs(
                target(self.server), CALLEE, csv, auth=tpbx) + [
                "-m", calls, "-r", rate, "-d", holdMs, "-recv_timeout", 10000],
                cpu=CLIENT_CPU)
            seen = None
            if during is not None:
                time.sleep(during[0])
                seen = during[1]()
            res = uac.finish(timeout)
            wall = time.monotonic() - t0
            return res, wall, cpuSeconds(processTree(self.server.pid)) - cpu0, seen
        finally:
            uas.finish(10.0)

    def step(self, rate):
        """
        One rate step of C{args.duration} seconds.  It passes when fewer
        than 1 % of the calls failed, SIPp retransmitted fewer than one
        request per 100 calls (a server that answers late is not keeping
        up, even if the calls end up succeeding), and the completed rate
        is at least 90 % of the asked one.
        """
        calls = max(1, int(rate * self.args.duration))
        hold = self.args.hold
        res, wall, cpu, _ = self.run(calls, rate, hold, self.args.duration * 3 + 30)
        ok = res.stats.get("SuccessfulCall(C)", 0)
        failRatio = (calls - ok) / calls
        achieved = ok / max(wall - hold / 1000.0, 1e-3)
        retrans = res.stats.get("Retransmissions(C)", 0)
        return StepResult(rate, calls, ok, failRatio, retrans,
                          1000 * res.stats.get("ResponseTime1(C)", 0.0), achieved, cpu,
                          failRatio < 0.01 and retrans < 0.01 * calls and achieved >= 0.9 * rate)

    def memory(self):
        """
        Hold C{args.held} calls at once and compare the server's PSS with
        the idle (warmed-up) server's.
        """
        n, rate = self.args.held, self.args.held_rate
        self.run(min(50, n), 50, 0, 60)          # warm-up: code paths, caches
        time.sleep(1.0)
        before = pssBytes(processTree(self.server.pid))
        ramp = n / rate
        hold = int((ramp + 15) * 1000)
        mid = {}

        def sample():
            mid["pss"] = pssBytes(processTree(self.server.pid))
            return self.server.api("/api/v1/status")["calls"] if self.kind == "tpbx" else "n/a"
        res, _, _, held = self.run(n, rate, hold, ramp + hold / 1000 + 60, during=(ramp + 5, sample))
        ok = res.stats.get("SuccessfulCall(C)", 0)
        return MemoryResult(n, held, ok, (mid["pss"] - before) / n)


def stepUp(bench, rates, log):
    """
    Step the rate up until a step fails.

    @return: (L{StepResult}s, best passing one or L{None}).
    """
    results, best = [], None
    for rate in rates:
        s = bench.step(rate)
        results.append(s)
        log("  %-6s %5d/s: ok %6d/%-6d fail %5.2f%% retrans %6d setup %6.1f ms completed %7.1f/s "
            "server CPU %5.1f s %s" % (bench.kind, s.rate, s.ok, s.calls, 100 * s.failRatio,
                                       s.retrans, s.setupMs, s.achieved, s.serverCpu,
                                       "pass" if s.passed else "FAIL"))
        if not s.passed:
            break
        best = s
        time.sleep(2.0)
    return results, best


def benchServer(kind, args, workDir, log):
    """
    Both phases for one server, each on a fresh instance.

    @return: (steps, best, L{MemoryResult}).
    """
    out = {}
    for phase in ("rate", "memory"):
        bench = Bench(kind, args, workDir / phase)
        bench.start()
        try:
            if phase == "rate":
                out["steps"], out["best"] = stepUp(bench, args.rates, log)
            else:
                out["memory"] = bench.memory()
                m = out["memory"]
                log("  %-6s held %s/%d calls: %.0f B per call (PSS), %d completed"
                    % (kind, m.held, m.calls, m.bytesPerCall, m.ok))
        finally:
            bench.stop()
    return out["steps"], out["best"], out["memory"]


def tableRows(results):
    """@return: markdown table lines for C{{kind: (steps, best, memory)}}."""
    rows = ["| server | call setups/s at <1% failed | setup time at that rate (ms) | "
            "server CPU s per 1,000 calls | memory per held call (B, PSS) | calls held / completed |",
            "|---|---|---|---|---|---|"]
    for kind, (_, best, mem) in results.items():
        rows.append("| %s | %s | %s | %s | %.0f | %s / %d |" % (
            kind, ("%.0f (asked %d)" % (best.achieved, best.rate)) if best else "none passed",
            "%.1f" % best.setupMs if best else "n/a",
            "%.2f" % (1000 * best.serverCpu / max(best.ok, 1)) if best else "n/a",
            mem.bytesPerCall, mem.held, mem.ok))
    return rows


def ratioLines(results):
    """@return: the tpbx/sippy ratios, when both ran."""
    if not {"tpbx", "sippy"} <= results.keys():
        return []
    (_, bt, mt), (_, bs, ms) = results["tpbx"], results["sippy"]
    rate = "%.2f" % (bt.achieved / bs.achieved) if bt and bs else "n/a"
    memory = "%.2f" % (mt.bytesPerCall / ms.bytesPerCall) if ms.bytesPerCall > 0 else "n/a"
    return ["- call setups/s tpbx/sippy: %s (aim: at least 3)" % rate,
            "- memory per held call tpbx/sippy: %s (aim for tpbx: at most 10 KB per call)" % memory]


def markdown(results, args, argv):
    """@return: the docs/PERFORMANCE.md section for this run."""
    steps = ["", "Rate steps (%d s each, calls held %d ms):" % (args.duration, args.hold), "",
             "| server | asked/s | completed/s | failed | retransmissions | setup ms | "
             "server CPU s | result |", "|---|---|---|---|---|---|---|---|"]
    for kind, (rs, _, _) in results.items():
        steps += ["| %s | %d | %.0f | %.2f%% | %d | %.1f | %.1f | %s |" % (
            kind, s.rate, s.achieved, 100 * s.failRatio, s.retrans, s.setupMs, s.serverCpu,
            "pass" if s.passed else "fail") for s in rs]
    command = " ".join(shlex.quote(a) for a in ["python3", "bench/calls/run.py"] + argv)
    return "\n".join([
        MARK_BEGIN, "## Call setups: SIPp UAC → B2BUA → SIPp UAS (bench/calls)", "",
        "Produced by `%s` on %s." % (command, datetime.date.today().isoformat()),
        "Machine: %s; load average at the end %.1f (compare only rows of one run)."
        % ((versions(),) + os.getloadavg()[:1]), "",
        "One call: INVITE (SDP, no RTP sent) → [tpbx: 407 → ACK → INVITE with "
        "Proxy-Authorization] → 180 → 200 → ACK → hold → BYE → 200 "
        "(`tests/e2e/sipp/uac_auth_call.xml`, callee `tests/e2e/sipp/uas_answer.xml`, "
        "registered as extension 200 on tpbx). Server on CPU 0, both SIPps on CPU 1, "
        "127.0.0.1 only, UDP. tpbx: digest auth on every call, a relay session (4 UDP "
        "sockets) allocated per call, CDRs written, 127.0.0.1 whitelisted so the flood "
        "guard leaves SIPp alone. sippy: `sippy.b2bua_simple` (PyPI `sippy`) with a static "
        "next hop, no auth, no media relay. A step passes with < 1 %% failed calls, fewer "
        "SIPp retransmissions than 1 per 100 calls and >= 90 %% of the asked rate completed; "
        "the first failing step ends the series. Memory: %d calls held at once (started at "
        "%d/s), PSS of the server after minus before (after a 50-call warm-up), divided "
        "by the calls." % (args.held, args.held_rate), ""]
        + tableRows(results) + [""] + ratioLines(results) + steps + [MARK_END, ""])


def parseArgs(argv):
    """@return: the parsed options, with --quick defaults applied."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true", help="smoke run: 3 s steps, 200 held calls")
    ap.add_argument("--servers", default="tpbx,sippy", help="comma list of tpbx, sippy")
    ap.add_argument("--rates", help="comma list of rates to step through")
    ap.add_argument("--duration", type=int, help="seconds per rate step (default 15)")
    ap.add_argument("--hold", type=int, default=1000, help="ms each call is held in the rate steps")
    ap.add_argument("--held", type=int, help="calls held at once for memory (default 2000)")
    ap.add_argument("--held-rate", type=int, help="rate of the held calls (default 100/s)")
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"),
                    help="interpreter with tpbx installed")
    ap.add_argument("--sippy-python", help="interpreter with sippy installed "
                                           "(default: a venv made in the work directory)")
    ap.add_argument("--doc", help="markdown file to update (default docs/PERFORMANCE.md, "
                                  "none with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args(argv)
    a.rates = [int(r) for r in (a.rates or ("50,100" if a.quick else
               "50,100,150,200,250,300,400,500,600,800,1000,1200")).split(",")]
    a.duration = a.duration or (3 if a.quick else 15)
    a.held = a.held or (200 if a.quick else 2000)
    a.held_rate = a.held_rate or 100
    a.doc = a.doc or (None if a.quick else str(REPO / "docs" / "PERFORMANCE.md"))
    a.servers = [s for s in a.servers.split(",") if s]
    return a


def main(argv=None):
    """Run the benchmark; exit 0 when every requested server was measured."""
    argv = sys.argv[1:] if argv is None else argv
    args = parseArgs(argv)
    # SIGTERM unwinds like Ctrl-C, so every server and SIPp is stopped by PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="tpbx-bench-calls-"))
    if "sippy" in args.servers and not args.sippy_python:
        args.sippy_python = ensureSippy(work / "sippy-venv")
    available = {"tpbx": tpbxAvailable(), "sippy": bool(args.sippy_python)}
    results, status = {}, 0
    for kind in args.servers:
        if not available.get(kind):
            print("skip %s: not available" % kind)
            continue
        print("%s:" % kind, flush=True)
        try:
            results[kind] = benchServer(kind, args, work / kind, lambda s: print(s, flush=True))
        except (RuntimeError, subprocess.SubprocessError, OSError, KeyError) as e:
            print("%s failed: %s" % (kind, e), flush=True)
            status = 1
    print("\n" + "\n".join(tableRows(results) + [""] + ratioLines(results)))
    if args.doc and results:
        writeDoc(args.doc, markdown(results, args, argv), MARK_BEGIN, MARK_END)
        print("wrote %s" % args.doc)
    if args.keep:
        print("work directory: %s" % work)
    else:
        subprocess.run(["rm", "-rf", "--", str(work)], timeout=60)
    return status


if __name__ == "__main__":
    sys.exit(main())
