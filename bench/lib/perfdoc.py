# -*- test-case-name: tests.e2e.test_bench_lib -*-
"""
The benchmarks' sections of docs/PERFORMANCE.md.

Why shared: every benchmark owns one section of the same document, between
C{<!-- bench/NAME:begin -->} and C{<!-- bench/NAME:end -->}, and rewrites
only that one, so several benchmarks (and hand-written text around them)
live in one file.  Each section opens the same way: the exact command that
produced it, the date, and the machine, because numbers from another
machine or a loaded one are not comparable.
"""

import datetime
import os
import platform
import shlex
import subprocess
from pathlib import Path

__all__ = ["docMarkers", "machineDescription", "tableHead", "docSection", "writeDoc"]


def docMarkers(name):
    """@return: the (begin, end) markers of benchmark C{name}'s section."""
    return "<!-- bench/%s:begin -->" % name, "<!-- bench/%s:end -->" % name


def _firstLine(command):
    """@return: the first line C{command} prints, or C{?} when it cannot run."""
    try:
        return subprocess.run(command, capture_output=True, text=True,
                              timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machineDescription():
    """@return: one line naming the CPU, OS, Python, Kamailio and SIPp."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    return "%s; %s; Python %s; %s; %s" % (
        model, platform.platform(), platform.python_version(), _firstLine(["kamailio", "-v"]),
        _firstLine(["sipp", "-v"]).strip() or "sipp")


def tableHead(*columns):
    """@return: the header and separator lines of a markdown table."""
    return ["| %s |" % " | ".join(columns), "|" + "---|" * len(columns)]


def docSection(name, title, argv, loadNote, body):
    """
    @param name: the benchmark (C{bench/NAME/run.py}, its markers).
    @param argv: the runner's arguments, quoted into the command line shown.
    @param loadNote: the caution after the load average, in parentheses.
    @param body: the section's lines after the machine line.
    @return: the whole marked section, ending in a newline.
    """
    begin, end = docMarkers(name)
    command = " ".join(shlex.quote(a) for a in ["python3", "bench/%s/run.py" % name] + argv)
    return "\n".join([
        begin, title, "",
        "Produced by `%s` on %s." % (command, datetime.date.today().isoformat()),
        "Machine: %s; load average at the end %.1f (%s)."
        % (machineDescription(), os.getloadavg()[0], loadNote), ""] + body + [end, ""])


def writeDoc(path, name, section):
    """
    Replace benchmark C{name}'s section of C{path} with C{section}, or
    append it when the file has none (or does not exist yet).
    """
    begin, end = docMarkers(name)
    path = Path(path)
    text = path.read_text() if path.exists() else "# tpbx performance\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
