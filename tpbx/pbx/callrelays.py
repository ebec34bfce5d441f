# -*- test-case-name: tests.pbx.test_calls_direct,tests.pbx.test_paging -*-
"""
How calls use the media relay: whether a call needs it (direct media for
LAN phones, SPEC E1; paging always relays), sessions allocated -- L{None}
when the ports run out, which the caller of L{CallRelays.allocate} turns
into its own answer -- each watched for silence, and given back.

Why apart from the call manager: the decision is taken when a call starts
and again when a direct call's plan goes on to other targets (forwarding
on no answer or busy), and both must take it the same way.
"""

from __future__ import annotations

from twisted.logger import Logger

from tpbx.media.relay import PortsExhausted
from tpbx.pbx.callmedia import needsRelay
from tpbx.pbx.features.ringgroup import PagingTargets

__all__ = ["CallRelays"]

_log = Logger()


def _hangUpSilent(session) -> None:
    """A watched session's C{onInactive}: its call is hung up."""
    session.owner.hangupAll("pbx")


class CallRelays:
    """
    @ivar relay: the L{tpbx.interfaces.IMediaRelay}, or L{None} to let
        every call's media flow phone to phone.
    """

    def __init__(self, relay, directory):
        self.relay = relay
        self._directory = directory

    def wanted(self, caller, targets) -> bool:
        """
        Whether extension C{caller} ringing C{targets} needs a relay
        session: a page always does; a call unless the caller and every
        callee allow direct media (L{needsRelay}).
        """
        return self.relay is not None and (isinstance(targets, PagingTargets)
                                           or needsRelay(self._directory, caller, targets))

    def allocate(self, callId: str):
        """@return: a relay session for C{callId}, or L{None} when no
        ports are free."""
        try:
            return self.relay.allocate(callId)
        except PortsExhausted:
            _log.warn("no media ports free for {callId}", callId=callId)
            return None

    def forForward(self, call, targets):
        """
        A watched session for the direct C{call} when the next step of its
        plan rings C{targets} that need one; L{None} when they do not, or
        when no port is free (the call stays direct).
        """
        caller = self._directory.extensionByNumber(call.record.caller)
        if not self.wanted(caller, targets):
            return None
        session = self.allocate(call.a.callId)
        if session is not None:
            self.watch(session, call)
        return session

    @staticmethod
    def watch(session, call) -> None:
        """
        Hang C{call} up when its relay C{session} hears no RTP: the call
        is the session's owner and one function serves every session (a
        closure per call cost 200 bytes a held call).
        """
        session.owner, session.onInactive = call, _hangUpSilent

    def release(self, session) -> None:
        """Give C{session} back; its call is not told of silence any more."""
        session.onInactive = session.owner = None   # set by L{watch}: the call
        self.relay.release(session)
