"""
The base of the SIP state machines' enumerations.

Why: the transaction and INVITE-session tables are dicts keyed by
C{(state, input)}, looked up for every message and timer, and
L{enum.Enum} hashes a member by hashing its name in a Python-level
C{__hash__}: two interpreted calls per lookup.  Members are singletons
compared by identity, so identity hashing is just as correct, and done in C.
"""

from enum import Enum

__all__ = ["StateEnum"]


class StateEnum(Enum):
    """An L{Enum} whose members hash by identity (C{object.__hash__})."""

    __hash__ = object.__hash__
