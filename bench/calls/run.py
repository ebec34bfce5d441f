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
The rate series runs in rounds (--rounds), the kinds interleaved in each
(tpbx, tpbx-direct, sippy, tpbx, ...), each series on a fresh server: this
VM's speed drifts by up to 1.5x within an hour, so the ratio is taken
within each round, where both servers met the same machine, and the
rounds' median is reported with every round's figure.
The server runs on CPU 0 and both SIPps on CPU 1 (taskset), all on
127.0.0.1, every loop bounded in steps and time.  sippy runs
b2bua_simple (static next hop, no auth, no media relay) from its own venv.
tpbx runs twice: as a PBX anchors media by default (kind C{tpbx}: a relay
session a call), and with both extensions on direct media (kind
C{tpbx-direct}: no relay, the work sippy's b2bua_simple does, plus tpbx's
digest auth, dial plan and CDRs).

    python3 bench/calls/run.py                  # full run, writes docs/PERFORMANCE.md
    python3 bench/calls/run.py --quick          # smoke run, prints only
    python3 bench/calls/run.py --servers tpbx --rates 300,400 --duration 10
    python3 bench/calls/run.py --servers tpbx-direct,sippy
"""

import functools
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.calls.sippy_peer import SippyB2bua, ensureSippy  # noqa: E402
from bench.lib import options, perfdoc, ratesteps, runner  # noqa: E402
from bench.lib.peerprocess import CLIENT_CPU, SERVER_CPU  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    cpuSeconds, freePort, makeExtensions, processTree, pssBytes, tpbxAvailable)
from tests.e2e.sippcalls import (  # noqa: E402
    CALLEE, CALLER, SippProcess, callerArgs, callerCsv, registerAnswerer, startCallServer,
    target)

__all__ = ["StepResult", "MemoryResult", "main"]

#: Option -> (--quick default, full-run default).
DEFAULTS = {
    # 50/s apart up to 600, where both servers' limits fall; the refining
    # steps below narrow each limit further.
    "rates": ("50,100", "50,100,150,200,250,300,350,400,450,500,550,600,700,800,1000,1200"),
    "duration": (3, 15),
    "held": (200, 2000),
    "held_rate": (100, 100),
    # Seconds after the last held call was set up before the server's
    # memory is read: in full runs past every transaction timer (64*T1 =
    # 32 s at most: RFC 3261 Timers B, F, H, J, RFC 6026 Timers L, M), so
    # that the figure is what a held call keeps, not what the last 32 s of
    # call setups still hold.
    "settle": (5, 35),
    # Rate series per server, kinds interleaved (see the module docstring).
    "rounds": (1, 3),
    # Steps halving the gap between the last rate passed and the first
    # failed (L{bench.lib.ratesteps.refineLimit}): 50/s steps alone
    # round sippy's ~200/s limit down by up to a quarter, tpbx's ~700/s
    # one by a fourteenth.
    "refine": (0, 3),
}


#: Tries of a rate step whose SIPp caller did not start at all.
SIPP_STARTS = 3
#: tpbx's --rtp-timeout in this benchmark (no RTP is sent).
HELD_RTP_TIMEOUT = 3600
#: The server kinds: tpbx relaying media, tpbx on direct media, sippy.
KINDS = ("tpbx", "tpbx-direct", "sippy")


@dataclass(kw_only=True)
class StepResult(ratesteps.RateStep):
    """One rate step, with SIPp's retransmission count and mean setup time."""
    retrans: int
    setupMs: float


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
        if self.tpbx:
            # No RTP flows here: the held calls must outlive the relay's
            # silence timeout.
            self.server = startCallServer(self.workDir / "data", makeExtensions([CALLER, CALLEE]),
                                          python=self.args.python, cpu=SERVER_CPU,
                                          rtpTimeout=HELD_RTP_TIMEOUT)
            if self.kind == "tpbx-direct":
                for number in (CALLER, CALLEE):
                    self.server.admin("extension", "set", str(number), "--direct-media")
            registerAnswerer(self.server, self.workDir, CALLEE, self.uasPort, cpu=CLIENT_CPU)
        else:
            self.server = SippyB2bua(self.workDir, self.args.sippy_python,
                                     "127.0.0.1:%d" % self.uasPort)
            self.server.start(cpu=SERVER_CPU)

    @property
    def tpbx(self) -> bool:
        """Whether this is a tpbx (challenging every call), not sippy."""
        return self.kind != "sippy"

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
        tpbx = self.tpbx
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
        One rate step of C{args.duration} seconds, judged by
        L{bench.lib.ratesteps.stepPassed} with SIPp's retransmissions
        counted per call.
        """
        calls = max(1, int(rate * self.args.duration))
        hold = self.args.hold
        for _ in range(SIPP_STARTS):
            res, wall, cpu, _ = self.run(calls, rate, hold, self.args.duration * 3 + 30)
            if res.stats:
                break
            # SIPp wrote no statistics: it did not start (a port it was
            # given was taken meanwhile), which says nothing of the server.
            runner.printNow("  %-6s %5d/s: SIPp did not start (rc %d), again: %s"
                            % (self.kind, rate, res.rc, res.errors.strip()[-300:]))
        ok = res.stats.get("SuccessfulCall(C)", 0)
        failRatio = (calls - ok) / calls
        achieved = ok / max(wall - hold / 1000.0, 1e-3)
        retrans = res.stats.get("Retransmissions(C)", 0)
        return StepResult(rate, calls, ok, failRatio, achieved, cpu,
                          ratesteps.stepPassed(failRatio, retrans / calls, achieved, rate),
                          retrans=retrans, setupMs=1000 * res.stats.get("ResponseTime1(C)", 0.0))

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
        hold = int((ramp + self.args.settle + 5) * 1000)
        mid = {}

        def sample():
            mid["pss"] = pssBytes(processTree(self.server.pid))
            return self.server.api("/api/v1/status")["calls"] if self.tpbx else "n/a"
        res, _, _, held = self.run(n, rate, hold, ramp + hold / 1000 + 60,
                                   during=(ramp + self.args.settle, sample))
        ok = res.stats.get("SuccessfulCall(C)", 0)
        return MemoryResult(n, held, ok, (mid["pss"] - before) / n)


def describeStep(kind, s):
    """@return: the progress line of one rate step."""
    return ("  %-6s %5d/s: ok %6d/%-6d fail %5.2f%% retrans %6d setup %6.1f ms completed %7.1f/s "
            "server CPU %5.1f s %s" % (kind, s.rate, s.ok, s.calls, 100 * s.failRatio, s.retrans,
                                       s.setupMs, s.achieved, s.serverCpu,
                                       "pass" if s.passed else "FAIL"))


def rateSeries(kind, args, workDir, log):
    """
    The rate steps for one server, on a fresh instance; then the steps
    refining its limit, each on a fresh instance of its own warmed by a
    step at the highest rate passed (not in the results).

    @return: (steps, the passing one at the highest rate or C{None}).
    """
    describe = functools.partial(describeStep, kind)
    with runner.stoppedAfterwards(Bench(kind, args, workDir)) as bench:
        bench.start()
        results, best = ratesteps.stepUntilFailure(args.rates, bench.step, describe, log,
                                                   pause=2.0)

    def onFreshServer(rate, passed):
        with runner.stoppedAfterwards(Bench(kind, args, workDir / ("refine%d" % rate))) as fresh:
            fresh.start()
            log("  (warm-up)" + describe(fresh.step(passed)))
            time.sleep(2.0)
            return fresh.step(rate)
    best = ratesteps.refineLimit(results, best, onFreshServer, describe, log, args.refine)
    return results, best


def heldMemory(kind, args, workDir, log):
    """@return: the L{MemoryResult} of one server, on a fresh instance."""
    with runner.stoppedAfterwards(Bench(kind, args, workDir)) as bench:
        bench.start()
        m = bench.memory()
    log("  %-6s held %s/%d calls: %.0f B per call (PSS), %d completed"
        % (kind, m.held, m.calls, m.bytesPerCall, m.ok))
    return m


#: A round in which a server did not run (it failed to start).
NOT_RUN = ([], None)


@dataclass
class KindResult:
    """
    One server kind's results: its rate series in each round, (steps, the
    last passing one or C{None}), and its held-call memory.
    """
    series: list
    memory: MemoryResult | None = None

    @property
    def bests(self):
        """@return: the best step of each round (C{None}: none passed)."""
        return [best for _, best in self.series]

    @property
    def median(self):
        """@return: the median round's best step (the lower middle of an
            even count; C{None} if that round passed no step)."""
        ranked = sorted(self.bests, key=lambda b: b.achieved if b else -1.0)
        return ranked[(len(ranked) - 1) // 2] if ranked else None


def collect(rounds, memory):
    """
    @param rounds: per round, C{{kind: (steps, best)}}.
    @param memory: C{{kind: MemoryResult}}.
    @return: C{{kind: KindResult}}, kinds in the order they first ran.
    """
    results = {}
    for index, series in enumerate(rounds):
        for kind, pair in series.items():
            results.setdefault(kind, KindResult([NOT_RUN] * index)).series.append(pair)
        for result in results.values():
            result.series += [NOT_RUN] * (index + 1 - len(result.series))
    for kind, m in memory.items():
        results.setdefault(kind, KindResult([NOT_RUN] * len(rounds))).memory = m
    return results


def _rate(best):
    return "%.0f" % best.achieved if best else "none"


def tableRows(results):
    """@return: markdown table lines for C{{kind: KindResult}}."""
    rows = perfdoc.tableHead(
        "server", "call setups/s at <1% failed (median round; each round)",
        "setup time at that rate (ms)", "server CPU s per 1,000 calls",
        "memory per held call (B, PSS)", "calls held / completed")
    for kind, result in results.items():
        best, mem = result.median, result.memory
        rate = ("%.0f (asked %d)" % (best.achieved, best.rate)) if best else "none passed"
        if len(result.bests) > 1:
            rate += "; rounds: " + " / ".join(map(_rate, result.bests))
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            kind, rate, "%.1f" % best.setupMs if best else "n/a",
            "%.2f" % (1000 * best.serverCpu / max(best.ok, 1)) if best else "n/a",
            "%.0f" % mem.bytesPerCall if mem else "n/a",
            "%s / %d" % (mem.held, mem.ok) if mem else "n/a"))
    return rows


def ratioLines(results):
    """
    @return: the ratios of each tpbx kind to sippy, when both ran: setups/s
        in each round where both passed a step (and their median), memory
        per held call.
    """
    sippy = results.get("sippy")
    if sippy is None:
        return []
    lines = []
    for kind in results.keys() - {"sippy"}:
        mine = results[kind]
        ratios = [t.achieved / s.achieved for t, s in zip(mine.bests, sippy.bests) if t and s]
        rate = ("%.2f (median round; each round: %s)" % (
            sorted(ratios)[(len(ratios) - 1) // 2], ", ".join("%.2f" % r for r in ratios))
            if ratios else "n/a")
        mt, ms = mine.memory, sippy.memory
        memory = "%.2f" % (mt.bytesPerCall / ms.bytesPerCall) if mt and ms and ms.bytesPerCall > 0 \
            else "n/a"
        lines += ["- call setups/s %s/sippy: %s (aim: at least 3)" % (kind, rate),
                  "- memory per held call %s/sippy: %s (aim for tpbx: at most 10 KB per call)"
                  % (kind, memory)]
    return sorted(lines)


def summaryLines(results):
    """@return: the results table and the ratios (printed, and in the document)."""
    return tableRows(results) + [""] + ratioLines(results)


def markdown(results, args, argv):
    """@return: the docs/PERFORMANCE.md section for this run."""
    caption = "Rate steps (%d s each, calls held %d ms):" % (args.duration, args.hold)
    steps = ["", caption, ""] + perfdoc.tableHead(
        "round", "server", "asked/s", "completed/s", "failed", "retransmissions", "setup ms",
        "server CPU s", "result")
    for index in range(args.rounds):
        for kind, result in results.items():
            steps += ["| %d | %s | %d | %.0f | %.2f%% | %d | %.1f | %.1f | %s |" % (
                index + 1, kind, s.rate, s.achieved, 100 * s.failRatio, s.retrans, s.setupMs,
                s.serverCpu, "pass" if s.passed else "fail") for s in result.series[index][0]]
    method = (
        "One call: INVITE (SDP, no RTP sent) → [tpbx: 407 → ACK → INVITE with "
        "Proxy-Authorization] → 180 → 200 → ACK → hold → BYE → 200 "
        "(`tests/e2e/sipp/uac_auth_call.xml`, callee `tests/e2e/sipp/uas_answer.xml`, "
        "registered as extension 200 on tpbx). Server on CPU 0, both SIPps on CPU 1, "
        "127.0.0.1 only, UDP. tpbx: digest auth on every call, a relay session (4 UDP "
        "sockets) allocated per call, CDRs written, 127.0.0.1 whitelisted so the flood "
        "guard leaves SIPp alone; tpbx-direct: the same with both extensions on direct "
        "media (no relay session). sippy: `sippy.b2bua_simple` (PyPI `sippy`) with a static "
        "next hop, no auth, no media relay. A step passes with < 1 %% failed calls, fewer "
        "SIPp retransmissions than 1 per 100 calls and >= 90 %% of the asked rate completed; "
        "the first failing step ends the list of rates, and %d more steps, each on a fresh "
        "server warmed by a step at the highest rate passed, halve the gap "
        "between the highest rate that passed and the lowest that failed (each limit to "
        "within a few per cent: the list's 50/s steps alone would round a 200/s limit down "
        "by up to a quarter, a 700/s one by a fourteenth). The series runs %d times, the servers "
        "interleaved in each round on fresh instances, and each ratio is taken within a "
        "round (this VM's speed drifts by up to 1.5x within an hour). Memory: %d calls held at once (started at "
        "%d/s), PSS of the server %d s after the last was set up (every transaction timer "
        "run out) minus before (after a 50-call warm-up), divided by the calls; tpbx with "
        "--rtp-timeout %d (no RTP is sent)." % (args.refine, args.rounds, args.held, args.held_rate,
                                                args.settle, HELD_RTP_TIMEOUT))
    return perfdoc.docSection(
        "calls", "## Call setups: SIPp UAC → B2BUA → SIPp UAS (bench/calls)", argv,
        "compare only rows of one run", [method, ""] + summaryLines(results) + steps)


def parseArgs(argv):
    """@return: the parsed options, with --quick defaults applied."""
    ap = options.benchParser(__doc__, KINDS, "smoke run: 3 s steps, 200 held calls",
                             DEFAULTS)
    ap.add_argument("--hold", type=int, default=1000, help="ms each call is held in the rate steps")
    ap.add_argument("--held", type=int,
                    help="calls held at once for memory (default %d)" % DEFAULTS["held"][1])
    ap.add_argument("--settle", type=int,
                    help="seconds after the last held call before memory is read "
                         "(default %d)" % DEFAULTS["settle"][1])
    ap.add_argument("--held-rate", type=int,
                    help="rate of the held calls (default %d/s)" % DEFAULTS["held_rate"][1])
    ap.add_argument("--rounds", type=int,
                    help="rate series per server, servers interleaved (default %d)"
                         % DEFAULTS["rounds"][1])
    ap.add_argument("--refine", type=int,
                    help="steps halving the gap between the last rate passed and the first "
                         "failed (default %d)" % DEFAULTS["refine"][1])
    options.addInterpreterOption(ap)
    ap.add_argument("--sippy-python", help="interpreter with sippy installed "
                                           "(default: a venv made in the work directory)")
    options.addOutputOptions(ap)
    return options.parseWithDefaults(ap, argv, DEFAULTS)


def main(argv=None):
    """Run the benchmark; exit 0 when every requested server was measured."""
    argv = sys.argv[1:] if argv is None else argv
    args = parseArgs(argv)
    # SIGTERM unwinds like Ctrl-C, so every server and SIPp is stopped by PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with runner.workDirectory("calls", args.keep) as work:
        if "sippy" in args.servers and not args.sippy_python:
            args.sippy_python = ensureSippy(work / "sippy-venv")
        available = {"tpbx": tpbxAvailable(), "tpbx-direct": tpbxAvailable(),
                     "sippy": bool(args.sippy_python)}
        errors = runner.MEASURE_ERRORS + (KeyError,)
        rounds, status = [], 0
        for index in range(args.rounds):
            runner.printNow("round %d of %d" % (index + 1, args.rounds))
            series, failed = runner.measureEach(
                args.servers, available,
                lambda kind, log: rateSeries(kind, args, work / kind / ("rate%d" % index), log),
                errors=errors)
            rounds.append(series)
            status |= failed
        runner.printNow("memory")
        memory, failed = runner.measureEach(
            args.servers, available,
            lambda kind, log: heldMemory(kind, args, work / kind / "memory", log), errors=errors)
        status |= failed
        results = collect(rounds, memory)
        runner.publish("calls", results, summaryLines(results), args.doc,
                lambda: markdown(results, args, argv))
    return status


if __name__ == "__main__":
    sys.exit(main())
