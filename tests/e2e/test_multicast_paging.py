# -*- test-case-name: tests.e2e.test_multicast_paging -*-
"""
Multicast paging (SPEC E4) end to end: a SIPp caller pages a group
configured with a multicast address, and its audio reaches a socket that
joined the group -- the way a paging phone listens.  Run in a network
namespace of its own (tests/e2e/multicast_page_ns.py), so that the page
never leaves this test.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import tpbxAvailable

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).with_name("multicast_page_ns.py")
#: RTP packets in SIPp's g711a.pcap, which uac_auth_pcap.xml plays.
PCAP_PACKETS = 236


def test_pageReachesGroup(tmp_path):
    """
    The caller is answered, the relay sends its A-law voice to the
    group (the pcap's 236 RTP packets, a handful lost at most; payload
    type 8; voice, not one packet repeated), and after the caller's BYE
    no call, leg or relay session is left.
    """
    requireBinaries("sipp", "unshare", "ip")
    if not tpbxAvailable():
        pytest.skip("tpbx server not there yet")
    done = subprocess.run(["unshare", "-n", sys.executable, str(SCRIPT), str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["sipp"]["rc"], report["sipp"]["ok"], report["sipp"]["failed"]) == (0, 1, 0), report
    assert PCAP_PACKETS - 5 <= report["packets"] <= PCAP_PACKETS, report
    assert report["payloadTypes"] == [8], report
    assert report["distinctPayloads"] > 100, report
    after = report["after"]
    assert (after["calls"], after["legs"], after["relaySessions"]) == (0, 0, 0), after
