# -*- test-case-name: tests.pbx.test_calldigits -*-
"""
DTMF inside a call (issue part 4): the digits either party keys reach the
in-call codes of L{tpbx.pbx.incall} (when they are on) and the call's
C{onDigit} listeners (later IVR and voicemail), whichever way the phone
sends them, and
a digit sent by SIP INFO reaches a party that wants RFC 4733
telephone-events as RTP.

Why here and not in the relay: the relay's per-packet path must stay
cheap (L{tpbx.media.relay}), so a telephone-event tap is put on a relay
side only while someone listens and only when that party negotiated
telephone-event; the tap drops every other packet on one byte compare.
Why INFO is turned into RTP: a party that negotiated telephone-event
listens for DTMF in its RTP and may ignore (or refuse) INFO; when the
call is not relayed, or that party has no telephone-event, the INFO is
passed on as before.

Timers (the paced RTP of L{tpbx.media.dtmf.DigitSender}, the in-call
codes' inter-digit timeout) run on the call manager's scheduler through
L{ManagerClock}: one DelayedCall for the whole PBX, and every timer
counted by the manager's leak checks until the call ends.
"""

from __future__ import annotations

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.media.dtmf import (INFO_DTMF, INFO_DTMF_RELAY, Digit, DigitSender,
                             DTMFDetector, parseInfoBody)
from tpbx.pbx.anchor import eventType
from tpbx.sip.sdp import parseSDP

__all__ = ["CallDigits", "ManagerClock"]

_log = Logger()
_DTMF_TYPES = (INFO_DTMF_RELAY, INFO_DTMF)
_NO_TAPS = (None, None)
#: The shortest delay the scheduler is asked for (a zero ring time means
#: "the default ring time" to the call manager).
_MIN_DELAY = 0.001


class _Timer:
    """One C{callLater} on the manager's scheduler (its C{ringTimeout}
    is what the scheduler fires)."""

    __slots__ = ("_manager", "_f", "_args", "_active")

    def __init__(self, manager, f, args):
        self._manager, self._f, self._args, self._active = manager, f, args, True

    def ringTimeout(self) -> None:
        self._active = False
        self._f(*self._args)

    def active(self) -> bool:
        return self._active

    def cancel(self) -> None:
        if self._active:
            self._active = False
            self._manager.stopRingTimer(self)


class ManagerClock:
    """
    C{seconds} and C{callLater} (the part of C{IReactorTime} the DTMF
    sender and the in-call codes use) on the call manager's timers.
    """

    __slots__ = ("_manager",)

    def __init__(self, manager):
        """@param manager: the L{tpbx.pbx.calls.CallManager}."""
        self._manager = manager

    def seconds(self) -> float:
        return self._manager.now()

    def callLater(self, delay: float, f, *args) -> _Timer:
        timer = _Timer(self._manager, f, args)
        self._manager.ringTimer(timer, max(delay, _MIN_DELAY))
        return timer


def _receives(leg) -> int | None:
    """
    The telephone-event type C{leg}'s party receives: the one of its own
    description, if the PBX's last description to it has one too (it was
    negotiated, RFC 4733 sec. 7.1.1), else L{None}.
    """
    if not leg.remote or leg.sdp.lastEventType is None:
        return None
    try:
        return eventType(parseSDP(leg.remote))
    except ProtocolError:
        return None


class _EventTap(DTMFDetector):
    """
    The detector of one relay side's telephone-events, and its tap: the
    relay calls it with every packet, and any other payload type is
    dropped on one byte compare.  Callable itself rather than through a
    bound method: one object less per side of every held call.
    """

    __slots__ = ("_digits", "_name")

    def __init__(self, digits, name: str, payloadType: int):
        """
        @param digits: the L{CallDigits} told of each digit.
        @param name: the relay side, C{"a"} or C{"b"}.
        """
        super().__init__(payloadType)
        self._digits, self._name = digits, name

    def __call__(self, packet: bytes, now: float) -> None:
        if len(packet) > 1 and packet[1] & 0x7F == self.payloadType:
            digit = self.feed(packet, now)
            if digit is not None:
                self._digits._fromSide(self._name, digit)


class CallDigits:
    """
    The DTMF of one call.

    Thousands of calls sit answered with nobody keying anything, so what
    only a digit needs is made when one comes: the in-call code matcher
    (L{start} only learns whether codes are on), the RFC 4733 senders.

    @ivar clock: the L{ManagerClock} its timers run on.
    @ivar taps: C{(a, b)}: the telephone-event tap of each relay side, or
        L{None}.
    @ivar codes: the call's L{tpbx.pbx.incall.InCallCodes}, once a digit
        came while in-call codes are on; else L{None}.
    @ivar listening: whether the in-call codes hear this call's digits
        (a flag, not a listener in C{onDigit}: every held call has it).
    """

    __slots__ = ("_call", "taps", "codes", "listening", "_senders")

    def __init__(self, call):
        self._call = call
        self.taps = _NO_TAPS
        self.codes = None
        self.listening = False
        self._senders: dict | None = None   # leg -> DigitSender, on first use

    @property
    def clock(self) -> ManagerClock:
        return ManagerClock(self._call.manager)

    def start(self) -> None:
        """The call is answered: listen for in-call codes (if they are on)."""
        call = self._call
        self.listening = call.manager.features.inCallCodes(call, self.clock) is not None
        self.attach()

    def _codeDigit(self, leg, digit: Digit) -> None:
        """While L{listening}: C{digit} goes to the in-call codes, whose
        matcher is made (the settings read again) on the first."""
        if self.codes is None:
            call = self._call
            self.codes = call.manager.features.inCallCodes(call, self.clock)
        if self.codes is not None:
            self.codes.digit(leg, digit)

    def attach(self) -> None:
        """
        Watch each relayed party's RTP for telephone-events while anyone
        listens (again after a transfer: the new party may use another
        payload type).
        """
        call, self.taps = self._call, _NO_TAPS
        if call.relay is not None and (self.listening or call.onDigit):
            self.taps = tuple(self._tap(name, leg) for name, leg in (("a", call.a), ("b", call.b)))
        call._updateTaps()

    def _tap(self, name: str, leg):
        """@return: the tap for relay side C{name} talking to C{leg}'s
        party, or L{None} when it negotiated no telephone-event."""
        payloadType = leg.sdp.lastEventType if leg is not None else None
        return None if payloadType is None else _EventTap(self, name, payloadType)

    def _fromSide(self, name: str, digit: Digit) -> None:
        """A digit from the party on relay side C{name} now."""
        call = self._call
        relay = call.relay
        if relay is None:
            return
        side = relay.a if name == "a" else relay.b
        leg = call.a if call.a.side is side else call.b
        if leg is not None:
            self.deliver(leg, digit)

    def deliver(self, leg, digit: Digit) -> None:
        """Tell the in-call codes (if L{listening}) and every C{onDigit}
        listener that C{leg}'s party keyed C{digit}."""
        if self.listening:
            self._codeDigit(leg, digit)
        for listener in list(self._call.onDigit):
            listener(leg, digit)

    def info(self, leg, other, request) -> None:
        """
        An INFO from C{leg}'s party in the answered call, C{other} being
        the other leg: a DTMF one becomes RTP to C{other}'s party when it
        can (answered 200), else it is passed on, as is any other INFO;
        a DTMF INFO with no digit in it is answered 400.
        """
        contentType = request.headers.get("Content-Type") or ""
        if contentType.partition(";")[0].strip().lower() not in _DTMF_TYPES:
            _passOn(leg, other, request)
            return
        try:
            key = parseInfoBody(contentType, request.body)
        except ProtocolError as e:
            _log.info("INFO from {leg} refused: {error}", leg=leg, error=e.reason)
            leg.respond(request, e.statusHint, reason=e.reason)
            return
        sender = self._sender(other)
        if sender is None:
            _passOn(leg, other, request)
        else:
            leg.respond(request, 200)
            sender.sendDigit(key)
        self.deliver(leg, Digit(key, None, None, leg.now()))

    def _sender(self, leg) -> DigitSender | None:
        """The RFC 4733 sender to C{leg}'s party, when relayed and it
        negotiated telephone-event."""
        if self._call.relay is None or leg.side is None:
            return None
        if self._senders is None:
            self._senders = {}
        sender = self._senders.get(leg)
        if sender is None:
            payloadType = _receives(leg)
            if payloadType is None:
                return None
            sender = self._senders[leg] = DigitSender(self.clock, leg.side.inject,
                                                      payloadType)
        return sender

    def stop(self) -> None:
        """The call ended: no more timers, taps or listeners of ours, and
        no reference to the call (its end frees it without the cyclic
        collector, L{tpbx.pbx.calls.CallManager._release})."""
        senders, self._senders = self._senders, None
        for sender in (senders or {}).values():
            sender.stop()
        self.listening = False
        if self.codes is not None:
            self.codes.stop()
            self.codes = None
        self.taps = _NO_TAPS
        self._call._updateTaps()
        self._call = None


def _passOn(leg, other, request) -> None:
    """Answer C{request} 200 and send its body, as it is, to C{other}."""
    leg.respond(request, 200)
    contentType = request.headers.get("Content-Type")
    other.perform(other.session.request("INFO", leg.now(), request.body, contentType))
