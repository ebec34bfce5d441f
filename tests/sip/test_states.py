"""
Tests for L{tpbx.sip.states}.
"""

import pickle

from tpbx.sip.inviteactions import InviteState
from tpbx.sip.states import StateEnum
from tpbx.sip.transaction import Input, State


class Colour(StateEnum):
    RED = "red"
    GREEN = "green"


def test_membersHashByIdentity():
    """A member's hash is its identity's, so table lookups by
    C{(state, input)} run no Python-level C{__hash__}; members still equal
    only themselves and key dicts as before."""
    assert hash(Colour.RED) == object.__hash__(Colour.RED)
    assert Colour.RED == Colour.RED and Colour.RED != Colour.GREEN
    assert Colour.RED != "red"
    table = {(Colour.RED, Colour.GREEN): 1}
    assert table[Colour.RED, Colour.GREEN] == 1 and (Colour.GREEN, Colour.RED) not in table
    assert Colour("green") is Colour.GREEN and list(Colour) == [Colour.RED, Colour.GREEN]


def test_machinesUseIt():
    """The transaction and INVITE-session enumerations are L{StateEnum}s,
    and still pickle to the same member."""
    for enum in (State, Input, InviteState):
        assert issubclass(enum, StateEnum)
        member = next(iter(enum))
        assert pickle.loads(pickle.dumps(member)) is member
