# -*- test-case-name: tests.sip.test_sessiontimer -*-
"""
Tests for L{tpbx.sip.sessiontimer}: RFC 4028 negotiation on both sides,
the 422 rule, header parsing, and the refresh/expiry times.
"""

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip.dialog import newRequest
from tpbx.sip.reply import makeResponse
from tpbx.sip.sessiontimer import (
    Negotiated, SessionTimer, SessionTimerPolicy, TooSmall, parseMinSE,
    parseSessionExpires,
)

POLICY = SessionTimerPolicy(sessionExpires=1800, minSE=90)


def request(*headers):
    return newRequest("INVITE", "sip:b@h", "<sip:a@h>", "<sip:b@h>",
                      "sip:a@h", "SIP/2.0/UDP h", extraHeaders=headers)


def test_uasTakesSmallerInterval():
    """The UAS keeps a request's interval below its own, keeps the asked
    refresher, and requires timer in the 2xx (sec. 9)."""
    result = POLICY.uasNegotiate(request(("Supported", "timer"),
                                         ("Session-Expires", "600;refresher=uas")))
    assert result == Negotiated(600, "uas", True)
    assert result.responseHeaders() == [("Session-Expires", "600;refresher=uas"),
                                        ("Require", "timer")]


def test_uasLowersInterval():
    """A larger interval than ours is lowered to ours, not below Min-SE;
    the UAS picks its preferred refresher."""
    result = POLICY.uasNegotiate(request(("Supported", "timer"),
                                         ("Session-Expires", "7200")))
    assert result == Negotiated(1800, "uac", True)
    small = SessionTimerPolicy(sessionExpires=100, minSE=90)
    result = small.uasNegotiate(request(("Supported", "timer"), ("Min-SE", "300"),
                                        ("Session-Expires", "7200")))
    assert result.interval == 300


def test_tooSmall422():
    """Below our Min-SE with timer supported: 422 with our Min-SE."""
    policy = SessionTimerPolicy(minSE=600)
    result = policy.uasNegotiate(request(("Supported", "timer"),
                                         ("Session-Expires", "120")))
    assert result == TooSmall(600)
    assert result.responseHeaders() == [("Min-SE", "600")]


def test_uacWithoutTimerSupport():
    """A UAC that does not support timers is never rejected: the interval
    is raised and the UAS refreshes, with no Require (errata 1687)."""
    policy = SessionTimerPolicy(minSE=600)
    result = policy.uasNegotiate(request(("Session-Expires", "120")))
    assert result == Negotiated(600, "uas", False)
    assert POLICY.uasNegotiate(request()) == Negotiated(1800, "uas", False)


def test_uacNegotiate():
    """The UAC takes the 2xx's interval and refresher (uac by default);
    without Session-Expires it refreshes alone or runs no timer."""
    invite = request()
    response = makeResponse(invite, 200, headers=[("Session-Expires", "900;refresher=uas")])
    assert POLICY.uacNegotiate(response) == Negotiated(900, "uas")
    response.headers.set("Session-Expires", "900")
    assert POLICY.uacNegotiate(response).refresher == "uac"
    response.headers.remove("Session-Expires")
    assert POLICY.uacNegotiate(response) == Negotiated(1800, "uac", False)
    assert SessionTimerPolicy(refreshAlone=False).uacNegotiate(response) is None


def test_after422():
    """A 422's Min-SE is the interval to retry with; none is an error."""
    invite = request()
    assert POLICY.after422(makeResponse(invite, 422, headers=[("Min-SE", "300")])) == 300
    with pytest.raises(ProtocolError):
        POLICY.after422(makeResponse(invite, 422))


def test_requestHeaders():
    """Requests carry Supported: timer, Session-Expires and Min-SE."""
    assert POLICY.requestHeaders() == [("Supported", "timer"),
                                       ("Session-Expires", "1800"), ("Min-SE", "90")]
    assert POLICY.requestHeaders(600, "uac", 120)[1:] == [
        ("Session-Expires", "600;refresher=uac"), ("Min-SE", "120")]


@pytest.mark.parametrize("value", ["abc", "-1", "0", "90;refresher=me", ""])
def test_badSessionExpires(value):
    """A malformed Session-Expires is a 400."""
    with pytest.raises(ProtocolError) as error:
        parseSessionExpires(request(("Session-Expires", value)))
    assert error.value.statusHint == 400


def test_parse():
    """Parsing is tolerant of spaces and case in the refresher."""
    assert parseSessionExpires(request(("x", "300 ; Refresher=UAC"))) == (300, "uac")
    assert parseMinSE(request(("Min-SE", "120"))) == 120
    assert parseMinSE(request()) is None
    with pytest.raises(ProtocolError):
        parseMinSE(request(("Min-SE", "x")))


def test_policyValidation():
    """Min-SE below 90 or above the interval, or a bad refresher, are
    refused."""
    for kwargs in ({"minSE": 60}, {"sessionExpires": 100, "minSE": 200},
                   {"refresher": "both"}):
        with pytest.raises(ValueError):
            SessionTimerPolicy(**kwargs)


def test_timerRefresher():
    """The refresher is told to refresh at half the interval, once; the
    session expires at interval - min(32, interval/3) (sec. 10)."""
    timer = SessionTimer(1800, True, 100.0)
    assert timer.nextDeadline() == 1000.0
    assert timer.due(999.0) is None
    assert timer.due(1000.0) == "refresh"
    assert timer.due(1001.0) is None
    assert timer.nextDeadline() == 100.0 + 1800 - 32
    timer.refreshed(1800, True, 1001.0)
    assert timer.due(1900.0) is None
    assert timer.due(1901.0) == "refresh"


def test_timerNonRefresher():
    """The other side only expires: 90 s interval -> 60 s (a third)."""
    timer = SessionTimer(90, False, 0.0)
    assert timer.refreshAt is None and timer.nextDeadline() == 60.0
    assert timer.due(59.9) is None
    assert timer.due(60.0) == "expired"
