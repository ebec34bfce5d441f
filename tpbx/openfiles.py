# -*- test-case-name: tests.test_openfiles -*-
"""
How many files the process may hold open, raised when a feature needs it.

Why: the RTP relay keeps the sockets of every port pair it has used open
between calls (L{tpbx.media.relay.RTPRelay}, C{keepSockets}), up to one
descriptor per port of its ranges, on top of what SIP connections, the
store, logs and recordings hold.  The soft limit a shell or a service
manager gives (often 1,024) is below that on a PBX with a range of
thousands of ports, while the hard limit (what the process may raise its
soft one to, unprivileged) is usually far above.  So the service asks for
what it needs and keeps the relay's sockets only if it got it: a process
out of descriptors refuses calls and connections, which keeping sockets
must never cause.
"""

from __future__ import annotations

import resource

__all__ = ["ensureOpenFiles", "OTHER_FILES"]

#: Descriptors kept for everything but the relay's sockets: SIP TCP/TLS
#: connections, web clients, the store, logs, recordings.
OTHER_FILES = 4096


def ensureOpenFiles(needed: int, getrlimit=resource.getrlimit,
                    setrlimit=resource.setrlimit) -> bool:
    """
    Raise the soft limit on open files to C{needed} when it is lower and
    the hard limit allows.

    @param needed: descriptors the process should be able to hold.
    @param getrlimit: L{resource.getrlimit}, a fake in tests;
        C{setrlimit} likewise.
    @return: whether the soft limit is now at least C{needed}.
    """
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return True
    if hard != resource.RLIM_INFINITY and hard < needed:
        return False
    try:
        setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    except (OSError, ValueError):
        return False
    return True
