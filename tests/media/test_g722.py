# -*- test-case-name: tests.media.test_g722 -*-
"""
Tests for L{tpbx.media.g722}: the decoder is bit-exact with a trusted
implementation (FFmpeg's G.722 encoder made the streams below, FFmpeg's
decoder the digests), and a tone comes out at its frequency.

The vectors were made with FFmpeg 5.1::

    ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=16000:duration=0.1 \\
        -c:a g722 -f g722 tone.g722
    ffmpeg -f lavfi -i anoisesrc=color=white:sample_rate=16000:duration=0.1:\\
amplitude=0.5:seed=7 -c:a g722 -f g722 noise.g722
    ffmpeg -f lavfi -i sine=frequency=6000:sample_rate=16000:duration=0.1 \\
        -c:a g722 -f g722 hi.g722
    ffmpeg -f g722 -i X.g722 -f s16le X.raw     # the digests: sha256 of X.raw

(noise and hi cut to their first 400 bytes, their digests to the first
1600 samples of the decoded audio).
"""

import base64
import hashlib
from array import array

import pytest

from tests.tools.tone import dominantFrequency, levelDbfs
from tpbx.media.g722 import RATE, G722Decoder, decode

TONE_1K = base64.b64decode("""
+pgsjiGSoKBg8InH1N/z7vF719PXvvTwcvyX1Ne+9PDzf9eU1/+08PP+V5XY/7Tv9P3Xldj+9G/0
v9eV2P/z8fP+15bZ/fPx8/7Xltm98/L0/NeV1/u1cbT915TW/PRw9L7VlNb9tHD0/tWTWZ508fX+
1ZTV/vZx89/alNa/9XDz3tuV1r/2cPOfXJLa3/RwtHzXldTc93L0/NmS1574cvf+15XT37p19d7Y
j9jVevf635aRUdn++frbls/U0/x9ntrSkY9a2v7c2NSP2NL9ff+ck9nQ1/n8+drbldDau3u8+teW
095+/PT/1ZPY1b13+r3X15Pb/3v5/taT1pd8+vy/09XQ1vvf9tjWldCY/vr629yP2ta8eLze1dGU
1/l9+9qZ0dO/23X+nNbTmFX7+/vb2pPX2/t9udzUkdeff/z12tWS2Nn/9fvY1pbW27d9t9jWl9ff
e/r5m9jPvtZ3+vz/0JWX/Px4uNnT1tbd/Xed2dSQ1/uedf2Z09fY2fd7/5nTmtTc9vn82NKZ1N6z
frzb1dOb+/92396R0v+c+HT815TRnv/5dt3Z0ZXa+vj23djRld2/9ffb3tCT+d20dpvdzp7Y/vN+
/5TT3JT293ve15jQ3rT1fd+a0dSddvj439bRlv/89Hma1dCV/775d9TU0Na93vX+1tbRldz9t1qc
0NCW////fNrQ0JW8/f9919TNmr5b9N3W0tSU3Pz1W5nS1pf/vHbbXJDT/5n2+37Y0diW+Pf99tTV
1pz++bF/ltdZlvm1dP/W2dLdv/TzWNyT29je7v/829XTn/n2+nuWldO//rhw/lPZkr5br1/411TT
/r769P1U0NWe/Pe7ftTP/5L49Ppc0diR2Pu6+VvYz9qW+7/8fY/Yzt3f/PxXls/Xl/7b+tfT1dCW
+5v51tbU0Jr8+plcl9XRnfve+F7V0pnc3rPfedTRndr1t/x205vY2fO79XuT/9P59/nwf9eZ17j5
8rZ9mtTX9/3w8P7V1v+Z9u+4eJfbWZvu97Z83VTTsfn0sXtW173e9/LxfNbbnNnxr/t9nliS9vP2
9HQ=""")

NOISE = base64.b64decode("""
Mo4jhyGEhL+srrmFrp6wpxwoOLk/ryhIPbdoMAwdLhwu4203uEqxsVUPNbSqvRuZbyW/EdDQTxgc
5OfZLvDysZXV3ZY0ULaubhSa5S7TuBiV+ad98a0Y+d1l1Zatm0+ZH89uuVbfle0xPHEZe5lJLe9L
dQk5rZpbrrjTkHM2UnaUMrvHtDETTRaPeFBS/pCO0w8tmtrrly3nNarp67A4JJt+D72Oki7Myo6/
8k2OZhSnPbYdpWoMvpjzqOtLJUf7mRGtuKmWTjhbZEuuurwRutWbinVTdCV9NKpIiV7KreWYMBPb
5fAeZm2SVsg9nS69SpMKy56+XRXjnhk0L7RdY95Sj0uS61GQthL947rVvzS6yLsa7RLPlPIq3woK
XBfNyucynBsJ0r8Q6Po1Tj5obmR7SIm7zhNsbbfIbjxoKxC81l9kEu60kY4T9royEHOrLmeMHcl3
l74XxzmO7gYZOW8QqCkq9WyzatfnuJ1uOtWNTrwZMvG7lg63lRbSmstUrckuzek+Y9Bq2VHLDCe+
yQ==""")

TONE_6K = base64.b64decode("""
+jeIIIQgvL0+PL+/PT+9vT09vb09Pb29PT29/T19vfw9fbz8PX38/D19/Pw8fLz8fHy8+z19+/0/
f/39P3+8/H5+vPx+frz8Pn78vH7+vPw+fvy8fv68+154tvh6e7n5Xze5d190tvl5Ofd7O3v7+zt7
+7t7+7v7O3t7+zt7+/s6evq6Ovp6+jp6+ro6+nreMl7yunr63vQecrj4+l7ynjX4tfjec/i6XvO4
3zh4dfp6OLh6XnO6+vo6+l41ePX4Onp6+jo6+no6evr6XnK6unr6uttyeve3evee8h5z+Lpe9bX6
eni1utz1s991eLbfeHi4+F4z+3o6eLje+Dj1dTh6nvX6evX4HDi0enp0eNw6Ovp0NHfe+l50sLh6
3rX6XHHxnBz19t80e/u7XvOf9l92tpx73Pb7OHa43182+Ht6eLjeODj1eHp6uvp6erq6evq6+vr6
urp6erp6+nq63nI6ul70dLr6+jqbdHd6+t50Orp3d3qY+tsuuHh6XPXeNTP4ehl4ePg4dfPcHDv4
dQ==""")

DIGESTS = {
    "tone": "a3db91a8b34fcc878ab79409e6513526d67c97d2e29dec3c7f45c4b0ed10de5f",
    "noise": "0e4aff6e82de26af895608d36739e01b68b04f5605e8c656dae0d0b492abd8d8",
    "hi": "a55e16f8a73e12a3f6c28be79840df442e0fe13463268aaae8f646c2a537f752",
}


@pytest.mark.parametrize("name, stream", [("tone", TONE_1K), ("noise", NOISE),
                                          ("hi", TONE_6K)])
def test_bitExactWithReference(name, stream):
    """
    Decoding FFmpeg's streams gives exactly FFmpeg's samples: two per byte,
    both sub-bands and the QMF (white noise fills both bands, the 6 kHz
    tone lives in the higher one).
    """
    pcm = decode(stream)
    assert len(pcm) == 4 * len(stream)
    assert hashlib.sha256(pcm).hexdigest() == DIGESTS[name]


@pytest.mark.parametrize("stream, frequency", [(TONE_1K, 1000), (TONE_6K, 6000)])
def test_toneKeepsItsFrequency(stream, frequency):
    """A 1 kHz tone decodes to 1 kHz, a 6 kHz one to 6 kHz, at 16 kHz, at its level."""
    samples = [s / 32768 for s in array("h", decode(stream))[400:]]   # past the attack
    assert RATE == 16000
    assert dominantFrequency(samples, RATE) == pytest.approx(frequency, abs=10)
    assert levelDbfs(samples) == pytest.approx(-21, abs=1)   # lavfi sine: 1/8 full scale


def test_statefulAcrossPackets():
    """A stream decoded packet by packet equals the stream decoded at once."""
    decoder = G722Decoder()
    pieces = [decoder.decode(NOISE[k:k + 160]) for k in range(0, len(NOISE), 160)]
    assert b"".join(pieces) == decode(NOISE)
    assert decoder.decode(b"") == b""


def test_everyCodeWordDecodes():
    """Every byte value decodes (no table is short), within 16 bits."""
    pcm = array("h", decode(bytes(range(256)) * 4))
    assert len(pcm) == 2048
