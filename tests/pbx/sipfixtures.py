"""
Helpers shared by the registrar and authentication tests: REGISTER
requests as phones send them, and a client answering challenges.
"""

from tpbx.model import Extension
from tpbx.sip.digest import digestAuthorization
from tpbx.sip.headers import Headers
from tpbx.sip.message import Request, Response
from tpbx.sip.peer import Peer
from tpbx.testing_directory import FakeDirectory

HOST = "pbx.example"
PHONE = Peer("udp", "192.168.1.10", 5062)

ALICE = Extension("1001", "Alice", authId="alice-auth", password="alice-pw-123")
BOB = Extension("1002", "Bob", password="bob-pw-456")
CAROL = Extension("1003", "Carol", password="carol-pw-789", lanOnly=True)


def directory():
    """@return: a L{FakeDirectory} with ALICE, BOB and CAROL."""
    return FakeDirectory([ALICE, BOB, CAROL])


def register(user="1001", contacts=("<sip:1001@192.168.1.10:5062>",),
             expires=None, callId="call-1", cseq=1, method="REGISTER"):
    """@return: a REGISTER (or other request) for C{user} to L{HOST}."""
    headers = Headers([
        ("Via", "SIP/2.0/UDP 192.168.1.10:5062;branch=z9hG4bK-1"),
        ("From", f"<sip:{user}@{HOST}>;tag=from1"),
        ("To", f"<sip:{user}@{HOST}>"),
        ("Call-ID", callId), ("CSeq", f"{cseq} {method}"),
        ("Max-Forwards", "70"), ("User-Agent", "TestPhone/1.0"),
    ])
    for contact in contacts:
        headers.add("Contact", contact)
    if expires is not None:
        headers.add("Expires", str(expires))
    return Request(method, f"sip:{HOST}", headers)


def answer(request: Request, challenge: Response, username: str, password: str,
           nc: int = 1, cnonce: str = "c0ffee", index: int = 0,
           proxy: bool = False) -> Request:
    """
    Add credentials answering the C{index}-th challenge of C{challenge}.

    @return: C{request}.
    """
    name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    value = challenge.headers.getAll(name)[index]
    request.headers.set("Proxy-Authorization" if proxy else "Authorization",
                        digestAuthorization(value, request.method, request.uri,
                                            username, password, nc, cnonce))
    return request
