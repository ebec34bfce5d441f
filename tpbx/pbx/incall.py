# -*- test-case-name: tests.pbx.test_incall -*-
"""
In-call codes (issue part 4): dial codes keyed during an answered call,
as DTMF, rather than dialled as a new call.

Why a matcher of its own: phones without a transfer or record key can
still use those features by keying C{*1} (toggle recording) or C{*2},
a number and C{#} (blind-transfer the other party) while they talk.
The digits come one at a time, from RTP telephone-events or SIP INFO
(L{tpbx.pbx.calldigits}); each party's digits are matched apart, since
both may key at once.

Sans-IO: digits and a clock in, the callbacks it was given out.  A code
started but not finished is forgotten after C{timeout} seconds without
a digit; the number after the transfer code ends with C{#} or with that
same timeout.  When one code is a prefix of the other, the shorter wins.
"""

from __future__ import annotations

__all__ = ["InCallCodes", "INTERDIGIT"]

#: Seconds between two digits before a started code is given up (or the
#: transfer number taken as complete).
INTERDIGIT = 3.0


class _Keyed:
    """One party's digits so far, and its inter-digit timer."""

    __slots__ = ("digits", "number", "timer")

    def __init__(self):
        self.digits = ""
        self.number = None   # the transfer number being keyed, or None
        self.timer = None


class InCallCodes:
    """
    Match in-call codes in each party's digits.

    @ivar record: the record code (C{""}: off).
    @ivar transfer: the transfer code (C{""}: off).
    """

    __slots__ = ("_clock", "record", "transfer", "_onRecord", "_onTransfer", "_timeout",
                 "_parties")

    def __init__(self, clock, record: str, transfer: str, onRecord, onTransfer,
                 timeout: float = INTERDIGIT):
        """
        @param clock: provides C{callLater(delay, f, *args)}.
        @param onRecord: called with the party (a leg) that keyed the
            record code.
        @param onTransfer: called with the party and the number keyed
            after the transfer code.
        """
        self._clock = clock
        self.record, self.transfer = record or "", transfer or ""
        self._onRecord, self._onTransfer = onRecord, onTransfer
        self._timeout = timeout
        self._parties: dict = {}

    def digit(self, party, digit) -> None:
        """
        One key press of C{party} (a L{tpbx.media.dtmf.Digit}, or its
        character): the signature of a call's C{onDigit} listeners.
        """
        key = getattr(digit, "digit", digit)
        keyed = self._parties.get(party)
        if keyed is None:
            keyed = self._parties[party] = _Keyed()
        self._cancel(keyed)
        if keyed.number is not None:
            self._numberDigit(party, keyed, key)
        else:
            self._codeDigit(party, keyed, key)
        if keyed.digits or keyed.number is not None:
            keyed.timer = self._clock.callLater(self._timeout, self._expired, party)

    def _codeDigit(self, party, keyed: _Keyed, key: str) -> None:
        digits = keyed.digits + key
        if not self._isPrefix(digits):
            digits = key if self._isPrefix(key) else ""
        keyed.digits = digits
        if digits and digits == self.record:
            keyed.digits = ""
            self._onRecord(party)
        elif digits and digits == self.transfer:
            keyed.digits, keyed.number = "", ""

    def _numberDigit(self, party, keyed: _Keyed, key: str) -> None:
        if key == "#":
            self._transferTo(party, keyed)
        elif key.isdigit():
            keyed.number += key
        else:   # "*" or A-D: not a number; give the code up
            keyed.number = None

    def _isPrefix(self, digits: str) -> bool:
        return any(code and code.startswith(digits) for code in (self.record, self.transfer))

    def _transferTo(self, party, keyed: _Keyed) -> None:
        number, keyed.number = keyed.number, None
        if number:
            self._onTransfer(party, number)

    def _expired(self, party) -> None:
        """No digit for C{timeout}: a transfer number is complete, a
        started code is forgotten."""
        keyed = self._parties.pop(party, None)
        if keyed is not None and keyed.number is not None:
            self._transferTo(party, keyed)

    @staticmethod
    def _cancel(keyed: _Keyed) -> None:
        timer, keyed.timer = keyed.timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def stop(self) -> None:
        """Forget every party's digits and cancel the timers (call end)."""
        for keyed in self._parties.values():
            self._cancel(keyed)
        self._parties.clear()
