# -*- test-case-name: tests.test_tap -*-
"""
Tests for L{tpbx.tap} (C{twistd tpbx} options and L{makeService}) and
L{tpbx.config} (the typed, frozen settings they produce).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from twisted.python.usage import UsageError

from tpbx.config import PortRange, ServerConfig, parsePortRange
from tpbx.service import PBXService
from tpbx.tap import Options, configFromOptions, makeService
from tpbx.testing import MemoryUDPReactor

ROOT = Path(__file__).resolve().parent.parent


def parse(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


def test_defaultsAreTheManuals():
    """
    SPEC "Default ports": SIP 5060, TLS 5061, web 5000, RTP 7000-7499
    internal and 9000-9049 external; all addresses; data in ./data.
    """
    config = configFromOptions(parse())
    assert config == ServerConfig()
    assert (config.sipPort, config.tlsPort, config.webPort) == (5060, 5061, 5000)
    assert (config.rtpInternal, config.rtpExternal) == (PortRange(7000, 7499),
                                                        PortRange(9000, 9049))
    assert (config.bindHost, config.advertisedHost, config.dataDir) == ("0.0.0.0", None, "data")


def test_everyOptionReachesTheConfig():
    """Each option lands in its field of the frozen L{ServerConfig}."""
    config = configFromOptions(parse(
        "--data", "/srv/tpbx", "--db", "postgresql://u:p@db/tpbx", "--bind", "::",
        "--public-host", "pbx.example.com", "--sip-port", "0", "--tls-port", "0",
        "--web-port", "65535", "--rtp-internal", "10000-10099",
        "--rtp-external", " 20000 - 20001 ", "--rtp-timeout", "300", "--server-header", "PBX"))
    assert config == ServerConfig(
        dataDir="/srv/tpbx", dbUrl="postgresql://u:p@db/tpbx", bindHost="::",
        advertisedHost="pbx.example.com", sipPort=0, tlsPort=0, webPort=65535,
        rtpInternal=PortRange(10000, 10099), rtpExternal=PortRange(20000, 20001),
        rtpTimeout=300, serverHeader="PBX")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sipPort = 1


@pytest.mark.parametrize("bind, advertised", [
    ("127.0.0.1", "127.0.0.1"), ("192.0.2.5", "192.0.2.5"), ("::1", "::1"),
    ("0.0.0.0", None), ("::", None),
])
def test_advertisedHostFollowsASpecificBind(bind, advertised):
    """
    Without --public-host, a specific bind address is advertised; for a
    wildcard the service works it out later (the default route's address).
    """
    assert configFromOptions(parse("--bind", bind)).advertisedHost == advertised


@pytest.mark.parametrize("option", ["--sip-port", "--tls-port", "--web-port"])
@pytest.mark.parametrize("value", ["65536", "-1", "abc", "", "50 60", "\u0665\u0660\u0666\u0660"])
def test_badPortIsUsageError(option, value):
    """A port that is not 0-65535 in ASCII digits is refused."""
    with pytest.raises(UsageError, match="not a port number"):
        parse(option, value)


@pytest.mark.parametrize("value", ["example.com", "300.1.1.1", "", "127.0.0.1:5060", "[::1]"])
def test_badBindIsUsageError(value):
    """--bind must be an IP address (no names: the PBX binds, it does not resolve)."""
    with pytest.raises(UsageError, match="--bind must be an IP address"):
        parse("--bind", value)


@pytest.mark.parametrize("option", ["--rtp-internal", "--rtp-external"])
@pytest.mark.parametrize("value", ["9000", "9000-8000", "0-10", "1-65536", "a-b", "-9000",
                                   "9000-", "\u0667-\u0668", ""])
def test_badRtpRangeIsUsageError(option, value):
    """An RTP range must be FIRST-LAST, in order, within 1-65535."""
    with pytest.raises(UsageError, match=option):
        parse(option, value)


@pytest.mark.parametrize("value", ["4", "86401", "0", "-5", "1.5", "", "\u0661\u0660"])
def test_badRtpTimeoutIsUsageError(value):
    """--rtp-timeout is whole seconds, 5 to 86400 (60 by default)."""
    assert parse().get("rtp-timeout") == 60
    with pytest.raises(UsageError, match="--rtp-timeout"):
        parse("--rtp-timeout", value)


def test_parsePortRange():
    """L{parsePortRange} reads C{FIRST-LAST} and prints back the same."""
    assert parsePortRange("7000-7499") == PortRange(7000, 7499)
    assert str(parsePortRange("1-1")) == "1-1"
    with pytest.raises(ValueError):
        parsePortRange("7000-7499-8000")


def test_makeServiceBuildsThePBXService(tmp_path):
    """
    L{makeService} is the composition root: a L{PBXService} for the parsed
    configuration and the given reactor, nothing started or opened yet.
    """
    reactor = MemoryUDPReactor()
    service = makeService(parse("--data", str(tmp_path), "--bind", "127.0.0.1"), reactor)
    assert isinstance(service, PBXService)
    assert service.config == configFromOptions(parse("--data", str(tmp_path),
                                                     "--bind", "127.0.0.1"))
    assert service._reactor is reactor and not service.running
    assert list(tmp_path.iterdir()) == []


def test_makeServiceDefaultsToTheGlobalReactor(tmp_path):
    """Without a reactor, and only here, the global one is used."""
    from twisted.internet import reactor

    service = makeService(parse("--data", str(tmp_path)))
    assert service._reactor is reactor


def twistd(*args: str) -> str:
    """@return: what C{twistd ARGS} prints (run from the repository)."""
    result = subprocess.run([sys.executable, "-m", "twisted", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_twistdListsTpbx():
    """The plugin in twisted/plugins makes C{twistd --help} list tpbx."""
    [line] = [l for l in twistd("--help").splitlines() if l.split()[:1] == ["tpbx"]]
    assert "IP-PBX" in line


def test_twistdTpbxHelpShowsOptions():
    """C{twistd tpbx --help} shows the options of L{Options}."""
    text = twistd("tpbx", "--help")
    for option in ("--data", "--bind", "--sip-port", "--tls-port", "--web-port",
                   "--rtp-internal", "--rtp-external", "--rtp-timeout", "--public-host", "--db"):
        assert option in text
