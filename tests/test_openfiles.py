# -*- test-case-name: tests.test_openfiles -*-
"""Tests for L{tpbx.openfiles}: the soft open-files limit raised when it may be."""

import resource

from tpbx.openfiles import ensureOpenFiles

INF = resource.RLIM_INFINITY


class Limits:
    """Fake C{getrlimit}/C{setrlimit} of RLIMIT_NOFILE; C{refuse}: setrlimit fails."""

    def __init__(self, soft, hard, refuse=False):
        self.soft, self.hard, self.refuse, self.set = soft, hard, refuse, []

    def get(self, which):
        assert which == resource.RLIMIT_NOFILE
        return self.soft, self.hard

    def put(self, which, limits):
        assert which == resource.RLIMIT_NOFILE
        if self.refuse:
            raise ValueError("not allowed")
        self.set.append(limits)
        self.soft, self.hard = limits


def ensure(limits, needed):
    return ensureOpenFiles(needed, getrlimit=limits.get, setrlimit=limits.put)


def test_enoughAlready():
    """A soft limit at or above the need (or unlimited) is left alone."""
    for soft in (5000, INF):
        limits = Limits(soft, INF)
        assert ensure(limits, 5000) and limits.set == []


def test_softRaisedUpToTheNeed():
    """A low soft limit is raised to what is needed, the hard one kept."""
    for hard in (524288, INF):
        limits = Limits(1024, hard)
        assert ensure(limits, 14096) and limits.set == [(14096, hard)]


def test_hardLimitTooLow():
    """No raise is tried past the hard limit: the answer is no."""
    limits = Limits(1024, 4096)
    assert not ensure(limits, 14096) and limits.set == []


def test_raiseRefused():
    """A refused raise (a sandbox, a policy) is a no, not an error."""
    assert not ensure(Limits(1024, INF, refuse=True), 14096)


def test_realLimitsAnswer():
    """On the real process a need of one descriptor is always met."""
    assert ensureOpenFiles(1)
