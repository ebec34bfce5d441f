# -*- test-case-name: tests.store.test_repositories -*-
"""
Plain records shared by the store, the PBX core and the web API.

They are frozen so a snapshot handed to the SIP path can never be changed
behind its back; edits go through L{tpbx.interfaces.IConfigStore}.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Extension", "AccessEntry"]


@dataclass(frozen=True, slots=True)
class Extension:
    """
    An extension (SPEC B1, B5).

    @ivar number: the extension number, digits only.
    @ivar authId: the SIP authentication ID (defaults to the number).
    @ivar password: the SIP digest password.
    @ivar pin: voicemail / portal PIN (digits).
    @ivar lanOnly: refuse registration from non-private addresses (B5).
    """

    number: str
    firstName: str = ""
    lastName: str = ""
    email: str = ""
    authId: str = ""
    password: str = ""
    pin: str = ""
    lanOnly: bool = False

    @property
    def displayName(self) -> str:
        return f"{self.firstName} {self.lastName}".strip()


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """
    A blacklist or whitelist entry (SPEC I3).

    @ivar network: an address or CIDR network, as text.
    @ivar until: epoch seconds the entry ends at, or L{None} for permanent.
    @ivar reason: why it was added (shown in the console).
    """

    network: str
    until: float | None = None
    reason: str = ""
