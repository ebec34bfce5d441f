"""
Memory per registration binding, measured in one process with tracemalloc:
register N extensions through the real REGISTER path (parser, layer, core,
registrar, digest), let every transaction end (Timer J), then count what
is still allocated.  RSS from bench/register includes the transactions
still waiting out Timer J (32 s) and the allocator's free lists; this is
the binding alone.

    .venv/bin/python bench/profile/binding_memory.py [N]
"""

import gc
import sys
import tracemalloc

sys.path.insert(0, __file__.rsplit("/", 1)[0])

import register_inprocess  # noqa: E402


def main(n: int) -> None:
    tracemalloc.start()
    clock, udp, transport, location = register_inprocess.build(n + 1)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    register_inprocess.register(clock, udp, transport, n)
    transport.written.clear()
    clock.advance(400)  # past Timer J and the nonce lifetime: only bindings stay
    register_inprocess.register(clock, udp, transport, 1, start=n)  # prunes the nonce record
    clock.advance(40)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    print(f"{location.count()} bindings, {(after - before) / (n + 1):.0f} bytes per binding "
          f"(tracemalloc; transactions and nonces expired)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
