# -*- test-case-name: tests.e2e.test_bench_lib -*-
"""
The command-line options every benchmark runner takes.

Why shared: C{--quick}, C{--servers}, C{--rates}, C{--duration},
C{--python}, C{--doc} and C{--keep} mean the same in every runner, and each
option left unset takes a default that depends on C{--quick} (a smoke run of
a few seconds per step that writes no document, or the full run that
rewrites docs/PERFORMANCE.md).  A runner adds its own options between
L{benchParser} and L{addOutputOptions} and lists its defaults in one dict.
"""

import argparse

from tests.e2e.harness import REPO

__all__ = ["PERFORMANCE_DOC", "benchParser", "addInterpreterOption", "addOutputOptions",
           "parseWithDefaults"]

#: Where full runs write their sections.
PERFORMANCE_DOC = str(REPO / "docs" / "PERFORMANCE.md")


def benchParser(doc, servers, quickHelp, defaults):
    """
    @param doc: the runner's module docstring; its second paragraph
        describes the benchmark in C{--help}.
    @param servers: the server kinds, tpbx first; all are run by default.
    @param defaults: option name -> (quick default, full default); its
        C{duration} entry names the full run's step length in C{--help}.
    @return: a parser with C{--quick}, C{--servers}, C{--rates}, C{--duration}.
    """
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true", help=quickHelp)
    ap.add_argument("--servers", default=",".join(servers),
                    help="comma list of %s" % ", ".join(servers))
    ap.add_argument("--rates", help="comma list of rates to step through")
    ap.add_argument("--duration", type=int,
                    help="seconds per rate step (default %d)" % defaults["duration"][1])
    return ap


def addInterpreterOption(ap):
    """Add C{--python}: the interpreter tpbx runs with (this checkout's venv)."""
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"),
                    help="interpreter with tpbx installed")


def addOutputOptions(ap):
    """Add C{--doc} (where the section goes) and C{--keep} (the work directory)."""
    ap.add_argument("--doc", help="markdown file to update, or 'none' (default: "
                                  "docs/PERFORMANCE.md, none with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")


def parseWithDefaults(ap, argv, defaults):
    """
    Parse C{argv}, give each unset (or zero) option in C{defaults} and
    C{--doc} its quick or full default, and split C{--servers} and C{--rates}.

    @param defaults: option name -> (quick default, full default), with
        C{rates} (a comma list) and C{duration} among them; C{doc} is
        L{PERFORMANCE_DOC} for full runs and none for quick ones; C{--doc
        none} writes no document either.
    @return: the options; C{rates} a list of ints, C{servers} of names,
        C{doc} a path or L{None}.
    """
    a = ap.parse_args(argv)
    for name, (quick, full) in dict(defaults, doc=(None, PERFORMANCE_DOC)).items():
        if not getattr(a, name):
            setattr(a, name, quick if a.quick else full)
    if a.doc == "none":
        a.doc = None
    a.rates = [int(r) for r in a.rates.split(",")]
    a.servers = [s for s in a.servers.split(",") if s]
    return a
