# -*- test-case-name: tests.sip.test_address,tests.sip.test_via -*-
"""
Parity checks of a parser's one-step path for plain values: what the
parser makes of a value with its fast-path pattern in place, and with the
pattern made to match nothing (so everything takes the general path).
"""

from __future__ import annotations

import re

from tpbx.errors import ProtocolError

__all__ = ["fastAndGeneral"]

_NEVER = re.compile(r"(?!)")


def fastAndGeneral(parse, module, patternName: str, value: str) -> tuple:
    """
    @param parse: the parser (unwrapped from any cache).
    @param module: the module holding the fast-path pattern.
    @param patternName: the pattern's name in C{module}.
    @return: C{(fast, general)}: each the parse result, or
        C{("error", reason)} for a L{ProtocolError}.
    """
    def outcome():
        try:
            return parse(value)
        except ProtocolError as e:
            return ("error", e.reason)
    fast = outcome()
    pattern = getattr(module, patternName)
    setattr(module, patternName, _NEVER)
    try:
        return fast, outcome()
    finally:
        setattr(module, patternName, pattern)
