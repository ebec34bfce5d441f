# -*- test-case-name: tests.test_tap -*-
"""
C{twistd tpbx}: command-line options and L{makeService}, the composition root.
"""

from __future__ import annotations

import ipaddress

from twisted.python import usage

from tpbx.config import ServerConfig, parsePortRange

__all__ = ["Options", "makeService", "configFromOptions"]


def _port(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 0 <= int(value) <= 65535:
        raise usage.UsageError(f"not a port number: {value!r}")
    return int(value)


#: The seconds --rtp-timeout allows: below 5 a pause in a stream (a
#: phone re-INVITing, a codec switch) would end calls; a day at most.
RTP_TIMEOUTS = range(5, 86401)


def _rtpTimeout(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) not in RTP_TIMEOUTS:
        raise usage.UsageError(f"--rtp-timeout: not {RTP_TIMEOUTS.start}-"
                               f"{RTP_TIMEOUTS.stop - 1} seconds: {value!r}")
    return int(value)


class Options(usage.Options):
    """
    Options of C{twistd tpbx}.  Ports may be 0 (pick a free one), which tests
    use; the chosen ports are logged and written to C{DATA/ports.json}.
    """

    optParameters = [
        ["data", "d", "data", "Data directory (database, TLS keys, recordings)."],
        ["db", None, None, "Database URL (default: SQLite in the data directory), "
                           "e.g. postgresql://user:pw@host/tpbx."],
        ["bind", "b", "0.0.0.0", "Address to listen on (SIP, TLS, web)."],
        ["public-host", None, None, "Host name/address written in Via/Contact and used "
                                    "as the digest realm (default: the bind address, or "
                                    "the default route's address for a wildcard)."],
        ["sip-port", None, 5060, "SIP port, UDP and TCP.", _port],
        ["tls-port", None, 5061, "SIP over TLS port.", _port],
        ["web-port", None, 5000, "Web console / REST API port.", _port],
        ["rtp-internal", None, "7000-7499", "RTP ports for internal calls."],
        ["rtp-external", None, "9000-9049", "RTP ports for trunks and remote phones."],
        ["rtp-timeout", None, 60, "Seconds without RTP either way after which a relayed "
                                  "call is hung up (a phone that vanished).", _rtpTimeout],
        ["server-header", None, "tpbx", "Server/User-Agent header value."],
    ]

    def postOptions(self) -> None:
        try:
            ipaddress.ip_address(self["bind"])
        except ValueError:
            raise usage.UsageError(f"--bind must be an IP address, got {self['bind']!r}")
        for name in ("rtp-internal", "rtp-external"):
            try:
                self[name] = parsePortRange(self[name])
            except ValueError as e:
                raise usage.UsageError(f"--{name}: {e}")


def configFromOptions(options: Options) -> ServerConfig:
    """
    @return: the frozen L{ServerConfig} the options describe.
    """
    bind = options["bind"]
    advertised = options["public-host"]
    if advertised is None and not ipaddress.ip_address(bind).is_unspecified:
        advertised = bind
    return ServerConfig(
        dataDir=options["data"], dbUrl=options["db"], bindHost=bind,
        advertisedHost=advertised, sipPort=options["sip-port"],
        tlsPort=options["tls-port"], webPort=options["web-port"],
        rtpInternal=options["rtp-internal"], rtpExternal=options["rtp-external"],
        rtpTimeout=options["rtp-timeout"], serverHeader=options["server-header"],
    )


def makeService(options: Options, reactor=None):
    """
    Build the whole PBX service tree.

    @param reactor: the reactor to use; the global one when L{None} (the only
        place in tpbx that may fall back to it).
    """
    if reactor is None:
        from twisted.internet import reactor
    from tpbx.service import PBXService

    return PBXService(configFromOptions(options), reactor)
