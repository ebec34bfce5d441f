# -*- test-case-name: tests.e2e.test_bench_lib -*-
"""
What the benchmark runners (bench/register, bench/calls) have in common.

Why a package: each runner measures something different against a
different peer, but they start peer servers, step rates, read options and
write their section of docs/PERFORMANCE.md the same way.  Keeping that
here means a fix to, say, how a peer is stopped or how the document is
rewritten lands in every benchmark at once.

  - L{bench.lib.peerprocess}: a peer SIP server as our pinned child process;
  - L{bench.lib.ratesteps}: stepping the rate up until the first failing step;
  - L{bench.lib.options}: the command-line options every runner takes;
  - L{bench.lib.runner}: the work directory, server after server, the summary;
  - L{bench.lib.perfdoc}: the marked sections of docs/PERFORMANCE.md.
"""

__all__ = []
