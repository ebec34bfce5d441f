# -*- test-case-name: tests.media.test_bench_relay_quick -*-
"""
The relay benchmark: concurrent G.711 calls relayed at rising load by
tpbx's RTPRelay, by a bare Twisted forwarding loop (bare.py) and, when it
is installed, by rtpengine in userspace; loss, p99 time through the relay
and the relay's CPU at each step, side by side.

Why these three: the bare loop is the floor any Twisted relay pays (so the
cost of tpbx's own logic is the difference), rtpengine is what a C relay
does on the same core.  The relay runs pinned to CPU 0 and the load
generator (loadgen.py) to CPU 1, on 127.0.0.1 only; every step is bounded
in time and every process is stopped by PID.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from bench.relay.rtpengine_peer import Rtpengine  # noqa: E402

DOC = REPO / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench/relay:begin -->", "<!-- bench/relay:end -->"
FULL_STEPS = [100, 200, 300, 400, 600, 800, 1000, 1200, 1500]
QUICK_STEPS = [20, 60]
TICKS = os.sysconf("SC_CLK_TCK")
HEADER = "| relay | calls | packets sent | loss % | p50 ms | p99 ms | relay CPU % | generator lag ms | load avg |"


def freePorts(n):
    """@return: C{n} distinct UDP ports on 127.0.0.1, free just now."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cpuSeconds(pid):
    """@return: user + system CPU seconds of process C{pid} (all threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class TwistedRelay:
    """server.py (tpbx or bare) as a pinned subprocess, driven over stdin."""

    def __init__(self, kind, python, ports, cpu):
        self.kind, self.python, self.ports, self.cpu = kind, python, ports, cpu
        self.process = None

    def start(self):
        command = ["taskset", "-c", self.cpu, self.python, str(HERE / "server.py"),
                   "--kind", self.kind, "--ports", self.ports]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=REPO)

    def _ask(self, command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("%s relay exited" % self.kind)
        return json.loads(line)

    def allocate(self, n, a, b):
        return self._ask({"op": "alloc", "n": n, "a": a, "b": b})["pairs"]

    def free(self):
        return self._ask({"op": "free"})["counts"]

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def runStep(relay, pid, calls, args, workdir):
    """Allocate C{calls}, run the load generator, free them; @return: a row dict."""
    aPort, bPort = freePorts(2)
    pairs = relay.allocate(calls, ["127.0.0.1", aPort], ["127.0.0.1", bPort])
    pairsFile = Path(workdir) / "pairs.json"
    pairsFile.write_text(json.dumps(pairs))
    command = ["taskset", "-c", args.load_cpu, sys.executable, str(HERE / "loadgen.py"),
               "--pairs", str(pairsFile), "--a-port", str(aPort), "--b-port", str(bPort),
               "--duration", str(args.duration)]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    result, cpu = None, {}
    try:
        for line in load.stdout:
            if line.startswith("MEASURE_"):
                cpu[line.strip()] = (time.monotonic(), cpuSeconds(pid))
            elif line.startswith("{"):
                result = json.loads(line)
        load.wait(args.duration + 30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    counts = relay.free()
    if result is None or len(cpu) != 2:
        raise RuntimeError("load generator gave no result")
    (t0, c0), (t1, c1) = cpu["MEASURE_START"], cpu["MEASURE_END"]
    result["cpuPercent"] = round(100 * (c1 - c0) / (t1 - t0), 1)
    result["afterFree"] = counts
    return result


def makeRelay(kind, args):
    ports = "%d-%d" % (args.first_port, args.first_port + 9999)
    if kind == "rtpengine":
        return Rtpengine(freePorts(1)[0], args.first_port, args.first_port + 9999, cpu=args.relay_cpu,
                         logPath=os.path.join(tempfile.gettempdir(), "bench-rtpengine.log"))
    return TwistedRelay(kind, args.python, ports, args.relay_cpu)


def runServer(kind, args, workdir):
    """@return: the rows of every step for one relay (stops after a step over 10 % loss)."""
    relay = makeRelay(kind, args)
    relay.start()
    rows = []
    try:
        for calls in args.steps:
            row = runStep(relay, relay.process.pid, calls, args, workdir)
            row["server"], row["loadavg"] = kind, os.getloadavg()[0]
            rows.append(row)
            print(formatRow(row), flush=True)
            if row["lossPercent"] > 10:
                break
    finally:
        relay.stop()
    return rows


def formatRow(row):
    return "| %s | %d | %d | %.2f | %.1f | %.1f | %.1f | %.1f | %.2f |" % (
        row["server"], row["calls"], row["sent"], row["lossPercent"], row["p50ms"],
        row["p99ms"], row["cpuPercent"], row["maxSendLagMs"], row["loadavg"])


def passed(row):
    """
    @return: whether a step is a clean pass: < 1 % loss, p99 under 20 ms,
        and a generator that kept its schedule (lag under 20 ms), so the row
        measures the relay and not a starved generator.
    """
    return row["lossPercent"] < 1.0 and row["p99ms"] < 20 and row["maxSendLagMs"] < 20


def summary(rows, steps):
    """@return: markdown lines: best clean step per relay, CPU ratios tpbx/bare."""
    lines, best = [], {}
    for row in rows:
        if passed(row):
            best[row["server"]] = max(best.get(row["server"], 0), row["calls"])
    for server in dict.fromkeys(r["server"] for r in rows):
        lines.append("* %s: %d concurrent calls, highest step with < 1 %% loss, p99 < 20 ms and "
                     "generator lag < 20 ms" % (server, best.get(server, 0)))
    cpu = {(r["server"], r["calls"]): r["cpuPercent"] for r in rows}
    ratios = ["%d: %.2f" % (calls, cpu[("tpbx", calls)] / cpu[("bare", calls)]) for calls in steps
              if cpu.get(("bare", calls)) and ("tpbx", calls) in cpu]
    if ratios:
        lines.append("* relay CPU, tpbx / bare loop, by calls: " + ", ".join(ratios))
    return lines


def markdown(rows, args, command):
    header = [HEADER,
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    return "\n".join([
        BEGIN, "## RTP relay (bench/relay)", "",
        "Command: `%s` (%s, %d s per step; relay on CPU %s, load generator on CPU %s; "
        "%s)." % (command, time.strftime("%Y-%m-%d"), args.duration, args.relay_cpu,
                  args.load_cpu, os.uname().machine),
        "", "Each call: two G.711 streams of 50 packets/s, 172-byte packets. Loss counts packets "
        "sent in the measured window and not received 0.5 s after it; p50/p99 are the time from "
        "the generator's send to its receive through the relay (loopback included); generator "
        "lag is how far its sending fell behind schedule at worst (it must stay small for the "
        "row to be about the relay); load avg is the machine's 1-minute load after the step "
        "(above ~2.2 on two CPUs something else was running: the row is not clean). A relay "
        "stops at the first step over 10 % loss.", "",
        *header, *(formatRow(r) for r in rows), "", *summary(rows, args.steps), "", END])


def writeDoc(section):
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 small steps, prints only")
    parser.add_argument("--servers", default="tpbx,bare,rtpengine")
    parser.add_argument("--steps", default=None, help="comma-separated call counts")
    parser.add_argument("--duration", type=float, default=None)
    venv = REPO / ".venv" / "bin" / "python"
    parser.add_argument("--python", default=str(venv) if venv.exists() else sys.executable)
    parser.add_argument("--first-port", type=int, default=20000,
                        help="relay ports: 10,000 from here, below the ephemeral range the generator binds in")
    parser.add_argument("--relay-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/PERFORMANCE.md")
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(",")] if args.steps else (
        QUICK_STEPS if args.quick else FULL_STEPS)
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    servers = [s for s in args.servers.split(",") if s]
    if "rtpengine" in servers and shutil.which("rtpengine") is None:
        print("rtpengine not installed (apt-get install rtpengine-daemon): skipped", flush=True)
        servers.remove("rtpengine")
    print(HEADER, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in servers:
            rows.extend(runServer(kind, args, workdir))
    for line in summary(rows, args.steps):
        print(line)
    if not (args.quick or args.no_doc):
        writeDoc(markdown(rows, args, "python3 bench/relay/run.py " + " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()
