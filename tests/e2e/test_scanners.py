# -*- test-case-name: tests.e2e.test_scanners -*-
"""
SIPVicious against the PBX: extension enumeration must learn nothing and
password guessing must end with the scanner blacklisted.

Why: a PBX that answers a known user differently from an unknown one
(404 vs 401, or a different challenge) hands out its extension list to
svwar; one that allows unlimited guesses hands out passwords to svcrack.
sipvicious 0.3.3 ignores its -b option (the bind address is never passed
on) and binds port 5060 unless given -P, so the scanners send from
127.0.0.1 on a free port we choose; every test therefore gets its own
server, and a blacklisted 127.0.0.1 there silences no other test.
"""

import re
import subprocess

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, sipRequestAnswered

pytestmark = pytest.mark.e2e

REAL = [str(n) for n in range(100, 111)]
SCANNED = [str(n) for n in range(100, 121)]
ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([^|]*?)\s*\|", re.M)


def scan(tool, server, *args, timeout=120):
    """
    @return: the finished svwar/svcrack process (-x: no look-up of our
        address on the Internet; -P: never its default port 5060).
    """
    cmd = [tool, "-x", "127.0.0.1", "-P", str(freePort())] + list(args) + [
        "udp://%s:%d" % (server.host, server.sipPort)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("force", [False, True])
def test_svwarLearnsNothing(tpbx_server, force):
    """
    svwar over 100-120 (100-110 exist) distinguishes no real extension:
    it reports none, or reports every scanned number with the same answer.
    """
    requireBinaries("svwar")
    server = tpbx_server(numbers=REAL)
    p = scan("svwar", server, "-e%s-%s" % (SCANNED[0], SCANNED[-1]),
             *(["--force"] if force else []))
    found = dict(ROW.findall(p.stdout + p.stderr))
    assert not found or (set(found) >= set(SCANNED) and len(set(found.values())) == 1), (
        p.stdout + p.stderr)
    assert sipRequestAnswered(server.host, server.sipPort, timeout=2.0) is not None


def test_svcrackGetsBlacklisted(tpbx_server, tmp_path):
    """
    svcrack with 40 wrong passwords finds nothing, and after 25 failed
    authentications in 60 s its address (127.0.0.1) gets no answers at all
    (not even to OPTIONS), while another source (127.0.0.2) still does.
    """
    requireBinaries("svcrack")
    server = tpbx_server(numbers=REAL)
    password = server.extensions["100"].password
    words = tmp_path / "words.txt"
    words.write_text("".join("guess%02dPw\n" % i for i in range(40)))
    p = scan("svcrack", server, "-u", "100", "-d", str(words),
             "--maximumtime", "5")
    output = p.stdout + p.stderr
    assert password not in output
    assert not [r for r in ROW.findall(output) if r[0] == "100"], output
    assert sipRequestAnswered(server.host, server.sipPort, timeout=2.0) is None
    assert sipRequestAnswered(server.host, server.sipPort, timeout=2.0, bindHost="127.0.0.2") is not None
