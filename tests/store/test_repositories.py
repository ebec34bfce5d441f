# -*- test-case-name: tests.store.test_repositories -*-
"""
Tests for L{tpbx.store.repositories.Store}: the L{IConfigStore} contract,
conflicts, the access lists, settings and the configuration version.
"""

import pytest
from zope.interface.verify import verifyObject

from tpbx.errors import Conflict, NotFound, ValidationError
from tpbx.interfaces import IConfigStore
from tpbx.model import AccessEntry, Extension
from tpbx.passwords import weakPasswordReason
from tpbx.store import FieldConflict

STRONG = "Tr1cky-Sip-Secret"


def ann(**extra):
    return {"number": "100", "firstName": "Ann", "lastName": "Lee",
            "email": "ann@example.com", **extra}


def test_providesIConfigStore(store):
    """Store provides L{IConfigStore} exactly as documented."""
    assert verifyObject(IConfigStore, store)


def test_createGeneratesPasswordAndAuthId(store):
    """
    A creation without password gets a strong generated one, returned
    once; the auth ID defaults to the number.
    """
    extension, generated = store.createExtension(ann())
    assert generated is not None
    assert weakPasswordReason(generated, "100") is None
    assert extension == Extension("100", "Ann", "Lee", "ann@example.com",
                                  authId="100", password=generated)
    assert store.getExtension("100") == extension


def test_createWithPassword(store):
    """A given strong password is stored and nothing is generated."""
    extension, generated = store.createExtension(
        ann(password=STRONG, pin="4711", authId="ann.lee", lanOnly=True))
    assert generated is None
    assert store.getExtension("100") == extension
    assert (extension.password, extension.pin, extension.authId,
            extension.lanOnly) == (STRONG, "4711", "ann.lee", True)


def test_listOrderedByNumber(store):
    """listExtensions returns every extension ordered by number."""
    for number in ("300", "100", "200"):
        store.createExtension(ann(number=number))
    assert [e.number for e in store.listExtensions()] == \
        ["100", "200", "300"]


def test_getMissingIsNone(store):
    """getExtension of an unknown number is None."""
    assert store.getExtension("555") is None


def test_duplicateNumberConflict(store):
    """Creating an existing number is a Conflict naming C{number}."""
    store.createExtension(ann())
    with pytest.raises(Conflict) as caught:
        store.createExtension(ann(firstName="Other"))
    assert caught.value.field == "number"


def test_duplicateAuthIdConflict(store):
    """
    An auth ID is unique across extensions, including one that equals
    another extension's default auth ID (its number).
    """
    store.createExtension(ann(authId="201"))
    with pytest.raises(FieldConflict) as caught:
        store.createExtension(ann(number="201"))
    assert caught.value.field == "authId"
    assert "extension 100" in str(caught.value)


def test_createRejectsWeakPassword(store):
    """A weak SIP password is refused unless explicitly allowed (B5)."""
    with pytest.raises(ValidationError) as caught:
        store.createExtension(ann(password="100100100"))
    assert caught.value.field == "password"
    extension, _ = store.createExtension(
        ann(password="100100100", allowWeakPassword=True))
    assert extension.password == "100100100"


def test_digitCountEnforced(store):
    """Once C{extensionDigits} is set, numbers must have that length."""
    store.setSetting("extensionDigits", 4)
    with pytest.raises(ValidationError) as caught:
        store.createExtension(ann())
    assert caught.value.field == "number"
    store.createExtension(ann(number="1000"))


def test_voicemailNumberReserved(store):
    """The voicemail access number cannot become an extension."""
    store.setSetting("voicemailNumber", "999")
    with pytest.raises(ValidationError, match="voicemail"):
        store.createExtension(ann(number="999"))


def test_update(store, clock):
    """updateExtension changes only the given fields."""
    store.createExtension(ann(password=STRONG))
    clock.advance(10)
    updated = store.updateExtension("100", {"lastName": "Smith",
                                            "lanOnly": True})
    assert updated == Extension("100", "Ann", "Smith", "ann@example.com",
                                "100", STRONG, "", True)
    assert store.getExtension("100") == updated


def test_updateMissing(store):
    """Updating an unknown extension raises NotFound."""
    with pytest.raises(NotFound):
        store.updateExtension("100", {"firstName": "X"})


def test_updateCannotRenumber(store):
    """The number of an extension is its identity and cannot change."""
    store.createExtension(ann())
    with pytest.raises(ValidationError) as caught:
        store.updateExtension("100", {"number": "101"})
    assert caught.value.field == "number"


def test_updateWeakPasswordChecksNumber(store):
    """An updated password is checked against the stored number/auth ID."""
    store.createExtension(ann(authId="ann.lee"))
    with pytest.raises(ValidationError):
        store.updateExtension("100", {"password": "ann.lee.2024"})


def test_updateAuthIdConflict(store):
    """Changing the auth ID to one in use is a Conflict."""
    store.createExtension(ann())
    store.createExtension(ann(number="101"))
    with pytest.raises(FieldConflict):
        store.updateExtension("101", {"authId": "100"})


def test_delete(store):
    """deleteExtension removes it; deleting again raises NotFound."""
    store.createExtension(ann())
    store.deleteExtension("100")
    assert store.getExtension("100") is None
    with pytest.raises(NotFound):
        store.deleteExtension("100")


def test_createExtensionsKeepsGoodItems(store):
    """
    createExtensions stores the good items and returns the error of each
    bad one in place, in one transaction and one version bump.
    """
    before = store.configVersion()
    results = store.createExtensions([
        ann(), ann(number="1x"), ann(number="101"), ann(number="100")])
    assert [type(result).__name__ for result in results] == \
        ["tuple", "ValidationError", "tuple", "FieldConflict"]
    assert [e.number for e in store.listExtensions()] == ["100", "101"]
    assert store.configVersion() == before + 1


def test_accessList(store, clock):
    """
    Access entries are normalised, listed per kind without the expired
    ones, replaced by network, and removed.
    """
    stored = store.addAccess("blacklist", AccessEntry("10.1.2.3/8", None,
                                                      "scanner"))
    assert stored.network == "10.0.0.0/8"
    store.addAccess("blacklist", AccessEntry("192.0.2.7",
                                             clock.seconds() + 60))
    store.addAccess("whitelist", AccessEntry("2001:db8::1"))
    assert [e.network for e in store.listAccess("blacklist")] == \
        ["10.0.0.0/8", "192.0.2.7"]
    clock.advance(61)
    assert store.listAccess("blacklist") == [
        AccessEntry("10.0.0.0/8", None, "scanner")]
    store.addAccess("blacklist", AccessEntry("10.0.0.0/8", None, "again"))
    assert store.listAccess("blacklist")[0].reason == "again"
    store.removeAccess("whitelist", "2001:DB8:0::1")
    assert store.listAccess("whitelist") == []
    with pytest.raises(NotFound):
        store.removeAccess("whitelist", "2001:db8::1")


@pytest.mark.parametrize("kind, network, field", [
    ("greylist", "10.0.0.1", "kind"),
    ("blacklist", "10.0.0.300", "network"),
    ("blacklist", "example.com", "network"),
])
def test_accessValidation(store, kind, network, field):
    """A bad kind or network is a ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        store.addAccess(kind, AccessEntry(network))
    assert caught.value.field == field


def test_settings(store):
    """Settings hold JSON values; a missing one gives the default."""
    assert store.getSetting("missing", 7) == 7
    store.setSetting("smtp", {"host": "mail", "port": 25})
    store.setSettings({"digits": 3, "list": [1, "a"]})
    assert store.getSetting("smtp") == {"host": "mail", "port": 25}
    assert store.getSetting("list") == [1, "a"]
    with pytest.raises(ValidationError) as caught:
        store.setSetting("bad", object())
    assert caught.value.field == "bad"


def test_configVersionBumpedByEveryWrite(store):
    """
    Every configuration write bumps the version (the server's refresh
    trigger); reads and refused writes do not.
    """
    versions = [store.configVersion()]
    store.createExtension(ann())
    versions.append(store.configVersion())
    store.updateExtension("100", {"firstName": "Anna"})
    versions.append(store.configVersion())
    store.addAccess("blacklist", AccessEntry("192.0.2.1"))
    versions.append(store.configVersion())
    store.removeAccess("blacklist", "192.0.2.1")
    versions.append(store.configVersion())
    store.setSetting("x", 1)
    versions.append(store.configVersion())
    store.deleteExtension("100")
    versions.append(store.configVersion())
    assert versions == list(range(versions[0], versions[0] + 7))
    with pytest.raises(NotFound):
        store.deleteExtension("100")
    store.listExtensions()
    assert store.configVersion() == versions[-1]


def test_writesVisibleToOtherStore(store, secondStore):
    """A write through one Store is read by another on the same DB."""
    secondStore.createExtension(ann())
    assert store.getExtension("100").firstName == "Ann"
    assert store.configVersion() == secondStore.configVersion()
