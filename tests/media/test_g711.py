# -*- test-case-name: tests.media.test_g711 -*-
"""
Tests for L{tpbx.media.g711}: both implementations agree with each other
and with G.711's known code points.
"""

from array import array

import pytest
from hypothesis import given, strategies as st

from tpbx.media import g711

EVERY_SAMPLE = array("h", range(-32768, 32768)).tobytes()
EVERY_CODE = bytes(range(256))


def test_audioopAvailable():
    """On Python 3.11 the stdlib audioop is used (without a warning leaking)."""
    assert g711.audioop is not None
    assert g711.lin2ulaw is not g711.pureLin2ulaw


@pytest.mark.parametrize("pure, fast", [
    (g711.pureLin2ulaw, g711.lin2ulaw), (g711.pureLin2alaw, g711.lin2alaw)])
def test_encodersAgreeOnEverySample(pure, fast):
    """The pure encoders give audioop's code for every 16-bit sample."""
    assert pure(EVERY_SAMPLE) == fast(EVERY_SAMPLE)


@pytest.mark.parametrize("pure, fast", [
    (g711.pureUlaw2lin, g711.ulaw2lin), (g711.pureAlaw2lin, g711.alaw2lin)])
def test_decodersAgreeOnEveryCode(pure, fast):
    """The pure decoders give audioop's sample for every code."""
    assert pure(EVERY_CODE) == fast(EVERY_CODE)


def test_knownCodePoints():
    """Zero is 0xFF in mu-law and 0xD5 in A-law; full scale is 0x80 / 0xAA."""
    zero, top = array("h", [0]).tobytes(), array("h", [32767]).tobytes()
    assert g711.encode("PCMU", zero) == g711.SILENCE["PCMU"] == b"\xff"
    assert g711.encode("PCMA", zero) == g711.SILENCE["PCMA"] == b"\xd5"
    assert g711.encode("PCMU", top) == b"\x80"
    assert g711.encode("PCMA", top) == b"\xaa"
    assert array("h", g711.decode("PCMU", b"\xff\x80")).tolist() == [0, 32124]
    assert array("h", g711.decode("PCMA", b"\xd5\xaa")).tolist() == [8, 32256]


@given(st.lists(st.integers(-32768, 32767), max_size=400), st.sampled_from(["PCMU", "PCMA"]))
def test_roundTripIsCloseAndStable(samples, codec):
    """
    Decoding an encoded signal gives it back within G.711's quantisation
    step (under 1/16 of the magnitude, plus the smallest step), and
    encoding the decoded signal again gives the same codes.
    """
    pcm = array("h", samples).tobytes()
    codes = g711.encode(codec, pcm)
    back = array("h", g711.decode(codec, codes))
    assert len(codes) == len(samples)
    for original, decoded in zip(samples, back):
        assert abs(original - decoded) <= abs(original) / 16 + 132
    assert g711.encode(codec, back.tobytes()) == codes


@pytest.mark.parametrize("encoder", [g711.lin2ulaw, g711.lin2alaw,
                                     g711.pureLin2ulaw, g711.pureLin2alaw])
def test_oddLengthRefused(encoder):
    """PCM with half a sample is refused with ValueError by both paths."""
    with pytest.raises(ValueError, match="even number of bytes"):
        encoder(b"\x00\x00\x01")


def test_unknownCodec():
    """Only PCMU and PCMA are G.711."""
    with pytest.raises(KeyError):
        g711.encode("G722", b"")
