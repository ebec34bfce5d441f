# -*- test-case-name: tests.e2e.test_bench_lib -*-
"""
Stepping the offered rate up until the first step a server cannot keep.

Why shared: every benchmark asks "what is the highest rate this server
sustains?" the same way: SIPp at a rising C{-r}, each step judged by the
same three limits (L{stepPassed}), and the series ends at the first failing
step so that an overloaded server is not pushed further.  The list of rates
bounds the run.
"""

import time
from dataclasses import dataclass

__all__ = ["RateStep", "MAX_FAILED", "MAX_RETRANSMITTED", "MIN_COMPLETED", "stepPassed",
           "stepUntilFailure", "refineLimit"]

#: A step fails when this share of its calls (or more) failed...
MAX_FAILED = 0.01
#: ...or SIPp retransmitted this share of its requests (a server that
#: answers late is not keeping up, even if the calls end up succeeding)...
MAX_RETRANSMITTED = 0.01
#: ...or less than this share of the asked rate was completed.
MIN_COMPLETED = 0.9


@dataclass
class RateStep:
    """
    What every rate step records: the rate asked, the calls SIPp made, how
    many succeeded, the share that failed, the completed calls/s, the
    server's CPU seconds and the verdict of L{stepPassed}.  A runner's
    subclass adds its own measures as keyword-only fields.
    """
    rate: int
    calls: int
    ok: int
    failRatio: float
    achieved: float
    serverCpu: float
    passed: bool


def stepPassed(failRatio, retransRatio, achieved, rate):
    """
    @param failRatio: failed calls / calls.
    @param retransRatio: retransmissions / requests the benchmark counts.
    @param achieved: completed calls per second.
    @param rate: the asked calls per second.
    @return: whether the server kept up with this step.
    """
    return failRatio < MAX_FAILED and retransRatio < MAX_RETRANSMITTED and \
        achieved >= MIN_COMPLETED * rate


def stepUntilFailure(rates, measureStep, describe, log, pause, sleep=time.sleep):
    """
    Measure one step per rate until a step fails.

    @param measureStep: rate -> a L{RateStep}.
    @param describe: step result -> one progress line for C{log}.
    @param pause: seconds to let the server settle between steps.
    @param sleep: how to wait those seconds.
    @return: (every step result, the last passing one or C{None}).
    """
    results, best = [], None
    for rate in rates:
        step = measureStep(rate)
        results.append(step)
        log(describe(step))
        if not step.passed:
            break
        best = step
        sleep(pause)
    return results, best


def refineLimit(results, best, measureStep, describe, log, times):
    """
    After L{stepUntilFailure}: C{times} steps, each at the rate halfway
    between the highest that passed and the lowest that failed.

    Why: a list of rates rounds each server's limit down to the step below
    it, by up to a step -- a quarter of a 200/s limit with 50/s steps, a
    fourteenth of a 700/s one -- so a ratio of two limits leans towards the
    faster server.  Halving the gap a few times measures every limit to
    within a few per cent of itself.  C{measureStep} should give each step
    a fresh server, as the list's steps had: one that just failed a step
    still carries its aftermath (calls without an end, their media ports,
    timers); and warm it at the rate that passed first, as the list's
    steps were by the step before them (whose transactions end during the
    next one: 32 s after their calls).

    @param results: the steps measured so far (extended in place).
    @param best: the passing step at the highest rate, or C{None}.
    @param measureStep: C{(rate, passed)} -> a L{RateStep}, where
        C{passed} is the highest rate passed so far.
    @param times: refining steps at most; none when nothing passed or
        nothing failed, and no more once the gap is under 2 % of the rate
        that passed.
    @return: the passing step at the highest rate, or C{None}.
    """
    failed = results[-1].rate if results and not results[-1].passed else None
    for _ in range(times):
        if best is None or failed is None or failed - best.rate <= max(1, best.rate // 50):
            break
        step = measureStep((best.rate + failed) // 2, best.rate)
        results.append(step)
        log(describe(step))
        if step.passed:
            best = step
        else:
            failed = step.rate
    return best
