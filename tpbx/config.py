# -*- test-case-name: tests.test_tap -*-
"""
Typed, frozen settings of one tpbx process, parsed once from the command line.

Everything that is configuration *of the PBX* (extensions, access lists,
dial codes ...) lives in the store and is edited while the server runs; what
is here is what the process needs before it can open the store: where the
data is, what to bind, which ports.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerConfig", "PortRange", "parsePortRange"]


@dataclass(frozen=True, slots=True)
class PortRange:
    """An inclusive range of UDP ports for RTP (SPEC A4)."""

    first: int
    last: int

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def parsePortRange(text: str) -> PortRange:
    """
    @param text: C{"7000-7499"}.
    @raise ValueError: when it is not two ports in order.
    """
    first, sep, last = text.partition("-")
    first, last = first.strip(), last.strip()
    if not (sep and first.isascii() and first.isdigit() and last.isascii()
            and last.isdigit()):
        raise ValueError(f"expected FIRST-LAST, got {text!r}")
    result = PortRange(int(first), int(last))
    if not 1 <= result.first <= result.last <= 65535:
        raise ValueError(f"port range out of order or out of 1-65535: {text!r}")
    return result


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """
    @ivar dataDir: holds the database, TLS keys, recordings, prompts.
    @ivar dbUrl: an SQLAlchemy URL, or L{None} for SQLite in C{dataDir}.
    @ivar bindHost: the address every listener binds.
    @ivar advertisedHost: the host written in Via/Contact and the digest
        realm; L{None} to use the bind address, or for a wildcard bind the
        address of the interface the default route leaves by.
    @ivar rtpTimeout: seconds without RTP on either side of a relayed call
        after which it is hung up.
    @ivar serverHeader: the Server/User-Agent value; no version by default.
    """

    dataDir: str = "data"
    dbUrl: str | None = None
    bindHost: str = "0.0.0.0"
    advertisedHost: str | None = None
    sipPort: int = 5060
    tlsPort: int = 5061
    webPort: int = 5000
    rtpInternal: PortRange = PortRange(7000, 7499)
    rtpExternal: PortRange = PortRange(9000, 9049)
    rtpTimeout: int = 60
    serverHeader: str = "tpbx"
