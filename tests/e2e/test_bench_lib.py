# -*- test-case-name: tests.e2e.test_bench_lib -*-
"""
The benchmark runners' shared parts (bench/lib): options and their quick
or full defaults, rate stepping, the run loop, the marked sections of
docs/PERFORMANCE.md and the peer process wrapper.

Why here: the smoke runs (test_bench_register, test_bench_calls) only show
that a run completes; these pin down the rules every benchmark relies on,
without SIPp or a server and in milliseconds.
"""

import shutil
import sys

import pytest

from bench.lib import options, perfdoc, ratesteps, runner
from bench.lib.peerprocess import PeerProcess, pinnedToCpu
from tests.e2e.harness import freePort

DEFAULTS = {"rates": ("1,2", "10,20,30"), "duration": (2, 20), "users": (5, 500)}


def parse(argv):
    """Parse C{argv} with the shared options and one runner option."""
    ap = options.benchParser("title\n\nWhat it measures.", ("tpbx", "peer"), "smoke", DEFAULTS)
    ap.add_argument("--users", type=int)
    options.addInterpreterOption(ap)
    options.addOutputOptions(ap)
    return options.parseWithDefaults(ap, argv, DEFAULTS)


def test_fullRunDefaults():
    """Without --quick every server runs, the full defaults apply and the document is written."""
    a = parse([])
    assert (a.servers, a.rates, a.duration, a.users) == (["tpbx", "peer"], [10, 20, 30], 20, 500)
    assert a.doc == options.PERFORMANCE_DOC and not a.keep


def test_quickRunDefaults():
    """--quick takes the smoke defaults and writes no document."""
    a = parse(["--quick"])
    assert (a.rates, a.duration, a.users, a.doc) == ([1, 2], 2, 5, None)


def test_docNoneWritesNoDocument():
    """A full run with --doc none writes no document (and no file named none)."""
    assert parse(["--doc", "none"]).doc is None


def test_givenOptionsWin():
    """An option given on the command line beats both defaults."""
    a = parse(["--quick", "--servers", "peer,", "--rates", "7", "--duration", "3", "--users", "9",
               "--doc", "/tmp/x.md"])
    assert (a.servers, a.rates, a.duration, a.users, a.doc) == (["peer"], [7], 3, 9, "/tmp/x.md")


def test_durationHelpNamesFullDefault(capsys):
    """--help states the full run's step length from the defaults."""
    with pytest.raises(SystemExit):
        parse(["--help"])
    assert "seconds per rate step (default 20)" in capsys.readouterr().out


@pytest.mark.parametrize("failRatio, retransRatio, achieved, passed", [
    (0.0, 0.0, 90.0, True), (0.0099, 0.0099, 100.0, True), (0.01, 0.0, 100.0, False),
    (0.0, 0.01, 100.0, False), (0.0, 0.0, 89.9, False)])
def test_stepPassed(failRatio, retransRatio, achieved, passed):
    """A step at 100/s passes below 1 % failed, below 1 % retransmitted, at 90 % completed."""
    assert ratesteps.stepPassed(failRatio, retransRatio, achieved, 100) is passed


def step(rate, passed):
    """@return: a L{ratesteps.RateStep} at C{rate}."""
    return ratesteps.RateStep(rate, rate, rate, 0.0, rate, 0.0, passed)


def test_stepUntilFailureStopsAtFirstFailure():
    """The series ends at the first failing step; the best is the last that passed."""
    lines, pauses = [], []
    steps, best = ratesteps.stepUntilFailure(
        [1, 2, 3, 4], lambda rate: step(rate, rate < 3), lambda s: "rate %d" % s.rate,
        lines.append, 2.0, sleep=pauses.append)
    assert [s.rate for s in steps] == [1, 2, 3] and best.rate == 2
    assert lines == ["rate 1", "rate 2", "rate 3"] and pauses == [2.0, 2.0]


def test_stepUntilFailureNonePassed():
    """When the first step fails there is no best step."""
    steps, best = ratesteps.stepUntilFailure([5, 6], lambda rate: step(rate, False), str,
                                             lambda line: None, 1.0, sleep=pytest.fail)
    assert len(steps) == 1 and best is None


def _refined(rates, limit, times):
    """@return: (rates measured, the best rate, the warm-up rate of each
    refining step) of a series and its refinement against a server passing
    every rate up to C{limit}."""
    measured, warmed = [], []

    def measure(rate):
        measured.append(rate)
        return step(rate, rate <= limit)

    def refine(rate, passed):
        warmed.append(passed)
        return measure(rate)
    results, best = ratesteps.stepUntilFailure(rates, measure, str, lambda line: None, 0.0,
                                               sleep=lambda s: None)
    best = ratesteps.refineLimit(results, best, refine, str, lambda line: None, times)
    assert [s.rate for s in results] == measured
    return measured, best.rate if best is not None else None, warmed


def test_refineLimitHalvesTheGap():
    """After the first failure, each refining step halves the gap between
    the highest rate that passed and the lowest that failed, and is told
    the highest rate passed so far (its server's warm-up)."""
    assert _refined([150, 200, 250, 300], 237, 3) == (
        [150, 200, 250, 225, 237, 243], 237, [200, 225, 237])
    assert _refined([150, 200, 250, 300], 210, 2) == ([150, 200, 250, 225, 212], 200, [200, 200])


def test_refineLimitStopsWhenNothingToRefine():
    """No refining when nothing passed or nothing failed, and none once the
    gap is under 2 % of the rate that passed."""
    assert _refined([5, 6], 0, 3) == ([5], None, [])
    assert _refined([5, 6], 10, 3) == ([5, 6], 6, [])
    assert _refined([1000, 1050], 1029, 5) == ([1000, 1050, 1025, 1037], 1025, [1000, 1025])


def test_measureEachSkipsAndSurvivesFailures(capsys):
    """Unavailable servers are skipped; a failing one is reported and the rest still run."""
    def measure(kind, log):
        if kind == "bad":
            raise RuntimeError("did not answer")
        log("measuring")
        return kind.upper()
    results, status = runner.measureEach(["absent", "bad", "good"],
                                         {"bad": True, "good": True}, measure, "not here")
    assert (results, status) == ({"good": "GOOD"}, 1)
    assert capsys.readouterr().out.splitlines() == [
        "skip absent: not here", "bad:", "bad failed: did not answer", "good:", "measuring"]


def test_measureEachLetsOtherErrorsThrough():
    """Only the listed errors are a failed server; anything else is a bug and propagates."""
    def measure(kind, log):
        raise KeyError(kind)
    with pytest.raises(KeyError):
        runner.measureEach(["tpbx"], {"tpbx": True}, measure)


class FakeServer:
    """Records being stopped."""
    stopped = False

    def stop(self):
        self.stopped = True


def test_stoppedAfterwardsStopsOnFailure():
    """The server is stopped, and afterStop called, when the block raises."""
    server, seen = FakeServer(), []
    with pytest.raises(ValueError):
        with runner.stoppedAfterwards(server, seen.append):
            raise ValueError("start failed half-way")
    assert server.stopped and seen == [server]


def test_workDirectoryRemovedUnlessKept(capsys):
    """The work directory is removed at the end; with keep it stays and is named."""
    with runner.workDirectory("unit", keep=False) as gone:
        (gone / "f").write_text("x")
    with runner.workDirectory("unit", keep=True) as kept:
        pass
    assert not gone.exists() and kept.is_dir() and gone.name.startswith("tpbx-bench-unit-")
    assert capsys.readouterr().out == "work directory: %s\n" % kept
    shutil.rmtree(kept)


def test_publishWritesOnlyFullRunsWithResults(tmp_path, capsys):
    """The summary is always printed; the section only when a document is set and results exist."""
    doc = tmp_path / "PERFORMANCE.md"
    runner.publish("unit", {}, ["| a |"], str(doc), pytest.fail)
    runner.publish("unit", {"tpbx": 1}, ["| a |"], None, pytest.fail)
    assert not doc.exists()
    runner.publish("unit", {"tpbx": 1}, ["| a |"], str(doc),
                   lambda: "<!-- bench/unit:begin -->\nS\n<!-- bench/unit:end -->\n")
    assert doc.read_text() == "# tpbx performance\n\n<!-- bench/unit:begin -->\nS\n<!-- bench/unit:end -->\n"
    assert capsys.readouterr().out.endswith("\n| a |\nwrote %s\n" % doc)


def test_writeDocReplacesOnlyItsSection(tmp_path):
    """A benchmark's section is replaced in place; the others and the text around stay."""
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text("# t\n\n<!-- bench/a:begin -->\nold a\n<!-- bench/a:end -->\n\nhand\n\n"
                   "<!-- bench/b:begin -->\nold b\n<!-- bench/b:end -->\n")
    perfdoc.writeDoc(doc, "a", "<!-- bench/a:begin -->\nnew a\n<!-- bench/a:end -->\n")
    assert doc.read_text() == ("# t\n\n<!-- bench/a:begin -->\nnew a\n<!-- bench/a:end -->\n\nhand\n\n"
                               "<!-- bench/b:begin -->\nold b\n<!-- bench/b:end -->\n")


def test_writeDocAppendsNewSection(tmp_path):
    """A benchmark without a section yet gets one at the end, after a blank line."""
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text("# t\n\ntext\n\n\n")
    perfdoc.writeDoc(doc, "c", "<!-- bench/c:begin -->\nc\n<!-- bench/c:end -->\n")
    assert doc.read_text() == "# t\n\ntext\n\n<!-- bench/c:begin -->\nc\n<!-- bench/c:end -->\n"


def test_docSection(monkeypatch):
    """A section opens with its markers, the quoted command, the machine and the load note."""
    monkeypatch.setattr(perfdoc, "machineDescription", lambda: "CPU X")
    monkeypatch.setattr(perfdoc.os, "getloadavg", lambda: (1.25, 0.0, 0.0))
    lines = perfdoc.docSection("unit", "## Unit", ["--rates", "1 2"], "careful", ["body"]).split("\n")
    assert lines[:3] == ["<!-- bench/unit:begin -->", "## Unit", ""]
    assert lines[3].startswith("Produced by `python3 bench/unit/run.py --rates '1 2'` on ")
    assert lines[4:] == ["Machine: CPU X; load average at the end 1.2 (careful).", "", "body",
                         "<!-- bench/unit:end -->", ""]


def test_tableHead():
    """A markdown table head has one separator cell per column."""
    assert perfdoc.tableHead("a", "b c") == ["| a | b c |", "|---|---|"]


def test_pinnedToCpu():
    """A CPU pins the command with taskset; none leaves it as it is."""
    assert pinnedToCpu(["x", "-y"], 1) == ["taskset", "-c", "1", "x", "-y"]
    assert pinnedToCpu(["x"], None) == ["x"]


class ExitingPeer(PeerProcess):
    """A peer that prints a line and exits instead of answering SIP."""
    name = "exiting"
    host = "127.0.0.1"

    def __init__(self, workDir):
        self.workDir, self.logPath, self.sipPort = workDir, workDir / "out.log", freePort()

    def command(self):
        return [sys.executable, "-c", "print('no config here')"]


def test_peerThatExitsIsReportedWithItsOutput(tmp_path):
    """A peer that exits before answering OPTIONS raises, naming itself and showing its output."""
    peer = ExitingPeer(tmp_path)
    with pytest.raises(RuntimeError) as e:
        peer.start(timeout=20.0)
    assert str(e.value).startswith("exiting did not answer OPTIONS on 127.0.0.1:%d (rc=" % peer.sipPort)
    assert str(e.value).endswith("\nno config here")
    assert peer.proc.poll() is not None


def test_logTailWithoutLog(tmp_path):
    """A peer that never wrote output has no log tail to show."""
    assert ExitingPeer(tmp_path).logTail() == "(no log)"
