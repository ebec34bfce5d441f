# -*- test-case-name: tests.e2e.test_bench_register,tests.e2e.test_bench_calls -*-
"""
The peer SIP servers of the benchmarks (Kamailio, sippy's B2BUA) are
L{tests.e2e.harness.PeerProcess}es, as tpbx itself is (L{TpbxProcess}):
one way to start, pin, poll and stop a server, so the runners treat tpbx
and its peer alike.  Here: that class, and which CPU each side runs on.
"""

from tests.e2e.harness import PeerProcess, pinnedToCpu

__all__ = ["SERVER_CPU", "CLIENT_CPU", "PeerProcess", "pinnedToCpu"]

#: The server under test runs alone on CPU 0; the load generators (SIPp)
#: share CPU 1, so that they never take cycles from the server.
SERVER_CPU, CLIENT_CPU = 0, 1
