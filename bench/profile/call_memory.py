# -*- test-case-name: tests.pbx.test_call_memory -*-
"""
Memory per held call through the B2BUA, PBX side only, measured in one
process with tracemalloc.

It builds the call tests' bench (L{tests.pbx.callstack.Bench}: the real
SIPEngine, TransactionLayer, PBXCore and CallManager over a fake clock and
a fake network, with simulated phones), sets up N answered calls that
stay up (held: idle, nobody hangs up), lets every transaction timer run
out (40 s of fake time: Timer D, H, J, K are at most 32 s), and counts
what is still allocated.  Only allocations whose traceback passes
through C{tpbx/pbx/engine.py} are counted -- the PBX's work on messages
that reached it -- so the simulated phones' own dialogs are left out.
The fake relay's sessions are made by the call manager too but belong to
the relay (bench/profile/relay_memory.py measures the real one): what is
allocated in test code (innermost frame under C{tests/}) is reported on
a line of its own and left out of the PBX figure.

Why: a held call costs the process what its objects keep until its BYE;
thousands of held calls must fit a small box.  The top allocation sites
(innermost C{tpbx/} frame of each traceback) say where the bytes go.

    .venv/bin/python bench/profile/call_memory.py [-n N] [--top K]
        [--warmup W] [--frames F]

The first C{--warmup} calls (20) are set up before measuring, so caches
and interned strings made once per process are not charged to the calls;
for the same reason the parsers' bounded memo caches (C{functools}
caches of C{tpbx} modules, whose size does not grow with the calls) are
emptied before each snapshot.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.pbx.callstack import Bench, Phone, connect  # noqa: E402
from tpbx.model import Extension  # noqa: E402

#: Fake seconds to run after the calls are up: past every transaction timer.
SETTLE = 40
#: The frame that marks an allocation as the PBX's (see the docstring).
PBX_FRAME = os.path.join("tpbx", "pbx", "engine.py")
_TPBX = os.sep + "tpbx" + os.sep
_TESTS = os.path.join(ROOT, "tests") + os.sep


def phones(bench, n: int) -> list:
    """
    @return: C{n} (caller, callee) pairs of new phones, each with its own
        extension, address and RTP port; the callees registered.
    """
    pairs = []
    for i in range(n):
        pair = []
        for k, net in ((2 * i, "10.1"), (2 * i + 1, "10.2")):
            extension = Extension(str(2000 + k), f"U{k}", password=f"pw-{k}-xxxxxxxx")
            bench.directory._byNumber[extension.number] = extension
            bench.directory._byAuthId[extension.number] = extension
            host = f"{net}.{i // 200}.{i % 200 + 1}"
            phone = Phone(bench, f"p{k}", extension, host, 5060, 30000 + 2 * k)
            bench.phones[phone.name] = phone
            bench.net.phones[(phone.peer.host, phone.peer.port)] = phone
            pair.append(phone)
        bench.register(pair[1])
        pairs.append(tuple(pair))
    return pairs


def hold(bench, pairs) -> None:
    """Set up a call for every pair and let its transactions end."""
    for caller, callee in pairs:
        connect(bench, caller, callee, callee.extension.number)
    bench.run(SETTLE)


def clearCaches() -> None:
    """Empty the C{functools} caches of every loaded C{tpbx} module."""
    for name, module in list(sys.modules.items()):
        if name == "tpbx" or name.startswith("tpbx."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def _site(traceback) -> str:
    """@return: C{file:line} of the innermost C{tpbx/} frame of C{traceback}."""
    frame = next((f for f in reversed(traceback) if _TPBX in f.filename), traceback[-1])
    name = frame.filename
    return f"{name[len(ROOT) + 1:] if name.startswith(ROOT) else name}:{frame.lineno}"


def measure(n: int, warmup: int, frames: int) -> tuple[int, int, collections.Counter]:
    """
    @return: the PBX side's bytes for C{n} held calls, the test fakes'
        bytes among those the PBX side made, and the PBX side's bytes by
        allocation site (L{_site}).
    """
    bench = Bench()
    pairs = phones(bench, warmup + n)
    hold(bench, pairs[:warmup])
    clearCaches()
    gc.collect()
    tracemalloc.start(frames)
    before = tracemalloc.take_snapshot()
    hold(bench, pairs[warmup:])
    bench.net.log.clear()
    clearCaches()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = bench.calls.counts()
    if held["calls"] != warmup + n or held["transactions"]:
        raise SystemExit(f"calls not held as expected: {held}")
    total, fakes, sites = 0, 0, collections.Counter()
    for stat in after.compare_to(before, "traceback"):
        if stat.size_diff <= 0 or not any(PBX_FRAME in f.filename for f in stat.traceback):
            continue
        if stat.traceback[-1].filename.startswith(_TESTS):
            fakes += stat.size_diff
            continue
        total += stat.size_diff
        sites[_site(stat.traceback)] += stat.size_diff
    return total, fakes, sites


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="held calls measured (200)")
    parser.add_argument("--top", type=int, default=25, help="allocation sites shown (25)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="calls set up before measuring (20)")
    parser.add_argument("--frames", type=int, default=30,
                        help="traceback depth kept by tracemalloc (30)")
    options = parser.parse_args(argv)
    total, fakes, sites = measure(options.n, options.warmup, options.frames)
    print(f"{options.n} held calls: {total // options.n} bytes per call (PBX side, tracemalloc)")
    print(f"{fakes // options.n} bytes per call more in test fakes (the fake relay session)")
    for site, size in sites.most_common(options.top):
        print(f"{size / options.n:8.0f}  {site}")


if __name__ == "__main__":
    main()
