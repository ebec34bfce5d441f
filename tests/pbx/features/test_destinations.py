"""
Tests for L{tpbx.pbx.features.destinations}: destination specs.
"""

import pytest

from tests.pbx.features.fakes import FeatureDirectory, extensions
from tpbx.errors import ValidationError
from tpbx.pbx.features.destinations import (DestinationSpec, parseDestinationSpec,
                                            resolveDestination, voicemail)
from tpbx.pbx.routing import Destination, Reject, Targets

URI = "sip:{number}@10.0.0.5:5060"


@pytest.mark.parametrize("spec, parsed", [
    ("end", DestinationSpec("end")),
    ("voicemail", DestinationSpec("voicemail")),
    ("voicemail:101", DestinationSpec("voicemail", "101")),
    ("extension:101", DestinationSpec("extension", "101")),
    ("external:0612345678", DestinationSpec("external", "0612345678")),
    ("external:+31612345678", DestinationSpec("external", "+31612345678")),
    ("external:*31#", DestinationSpec("external", "*31#")),
    (" end ", DestinationSpec("end")),
])
def test_parseValid(spec, parsed):
    """Every documented form parses into its kind and argument."""
    assert parseDestinationSpec(spec) == parsed


@pytest.mark.parametrize("spec", [
    "", "foo", "end:1", "end:", "extension", "extension:", "extension:12a",
    "extension:+101", "external", "external:", "external:+", "external:06-12",
    "external:12 34", "voicemail:", "voicemail:abc", "Extension:101",
    "external:" + "1" * 33, "extension:" + "1" * 33,
])
def test_parseInvalid(spec):
    """A spec that is not one of the forms is a ValidationError naming
    the field."""
    with pytest.raises(ValidationError) as e:
        parseDestinationSpec(spec, field="noAnswer")
    assert e.value.field == "noAnswer"


def test_parseNotText():
    """A non-string spec is refused, not crashed on."""
    with pytest.raises(ValidationError):
        parseDestinationSpec(None)


def test_externalLengthWithoutPlus():
    """The 32-character limit counts digits, not the leading +."""
    assert parseDestinationSpec("external:+" + "1" * 32).argument == "+" + "1" * 32


def test_resolveExtension():
    """extension:EXT rings that extension's contacts."""
    directory = FeatureDirectory(extensions("101"))
    assert resolveDestination("extension:101", directory) == \
        Targets((Destination("extension", "101"),))


def test_resolveMissingExtension():
    """An extension that no longer exists: 404."""
    assert resolveDestination("extension:109", FeatureDirectory()).status == 404


def test_resolveExtensionThroughHook():
    """With C{ringNumber}, the hook decides how an extension rings."""
    seen = []
    result = resolveDestination("extension:101", FeatureDirectory(),
                                ringNumber=lambda n: seen.append(n) or Reject(482))
    assert seen == ["101"] and result == Reject(482)


def test_resolveExternal():
    """external:NUM is the configured URI template filled with NUM."""
    directory = FeatureDirectory(settings={"externalCallUri": URI})
    assert resolveDestination("external:0612345678", directory) == \
        Targets((Destination("uri", "sip:0612345678@10.0.0.5:5060"),))


def test_resolveExternalUnconfigured():
    """No externalCallUri: 503 No route to external numbers."""
    assert resolveDestination("external:06", FeatureDirectory()) == \
        Reject(503, "No route to external numbers")


@pytest.mark.parametrize("template", ["sip:{nummer}@x", "sip:{0}@x", "sip:{@x"])
def test_resolveExternalBadTemplate(template):
    """A template that does not format with C{number} routes nowhere (503),
    it does not raise."""
    directory = FeatureDirectory(settings={"externalCallUri": template})
    assert resolveDestination("external:06", directory).status == 503


def test_resolveVoicemailPlaceholder():
    """Voicemail (own or another's) is a 480 placeholder for now, from the
    one function that the voicemail work replaces."""
    assert voicemail("101") == Reject(480, "Voicemail not available")
    assert resolveDestination("voicemail", FeatureDirectory(), owner="101") == voicemail("101")
    assert resolveDestination("voicemail:102", FeatureDirectory()) == voicemail("102")


@pytest.mark.parametrize("outcome, status", [
    (None, 480), ("no-answer", 480), ("not-registered", 480), ("failed", 480), ("busy", 486)])
def test_resolveEnd(outcome, status):
    """end: busy after a busy callee, else 480 Temporarily Unavailable."""
    assert resolveDestination("end", FeatureDirectory(), outcome=outcome).status == status


def test_resolveBadSpec():
    """A bad spec met during a call refuses the call with 500."""
    assert resolveDestination("ring:101", FeatureDirectory()) == \
        Reject(500, "Bad destination configured")
