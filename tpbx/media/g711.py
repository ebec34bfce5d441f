# -*- test-case-name: tests.media.test_g711 -*-
"""
G.711 mu-law (PCMU) and A-law (PCMA) codecs for 16-bit linear PCM.

Recording, music on hold and DTMF generation are the only places that touch
audio samples; they all go through here.  The stdlib C{audioop} (Python
3.11; the C{audioop-lts} backport on 3.13+) does the work when importable,
and a pure-Python implementation with the same results (tables built once,
on first use) stands in otherwise, so the PBX runs on any Python.  Both
follow ITU-T G.711 exactly as C{audioop} does (RFC 3551 sec. 4.5.14).

Linear PCM is signed 16-bit in the machine's byte order, which is what
C{audioop} uses and, on every platform tpbx runs on, the little-endian
order of WAV files.
"""

from __future__ import annotations

import warnings
from array import array
from functools import cache

__all__ = ["audioop", "CODECS", "SILENCE", "encode", "decode",
           "lin2ulaw", "ulaw2lin", "lin2alaw", "alaw2lin",
           "pureLin2ulaw", "pureUlaw2lin", "pureLin2alaw", "pureAlaw2lin"]


def _importAudioop():
    """
    @return: the C{audioop} module, or L{None} when neither the stdlib nor
        C{audioop-lts} provides it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop as module
        except ImportError:
            return None
    return module


audioop = _importAudioop()

#: The static payload types of G.711 (RFC 3551 sec. 6, table 4).
CODECS = {"PCMU": 0, "PCMA": 8}

#: One byte of silence (linear 0) in each codec.
SILENCE = {"PCMU": b"\xff", "PCMA": b"\xd5"}

_QUANT = 0x0F
_ULAW_CLIP = 8159
_ULAW_BIAS = 0x84
_ULAW_SEGMENTS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ALAW_SEGMENTS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple) -> int:
    """@return: the first segment whose end is >= C{value}, or 8."""
    for seg, end in enumerate(ends):
        if value <= end:
            return seg
    return 8


def _ulawByte(sample: int) -> int:
    """
    Encode one 16-bit sample as G.711 mu-law (on its 14 most significant
    bits, as C{audioop} does).
    """
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(value, _ULAW_SEGMENTS)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & _QUANT)) ^ mask


def _alawByte(sample: int) -> int:
    """Encode one 16-bit sample as G.711 A-law (on its 13 top bits)."""
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    seg = _segment(value, _ALAW_SEGMENTS)
    if seg >= 8:
        return 0x7F ^ mask
    shift = 1 if seg < 2 else seg
    return ((seg << 4) | ((value >> shift) & _QUANT)) ^ mask


def _ulawSample(code: int) -> int:
    """Decode one mu-law byte to a 16-bit sample."""
    code = ~code & 0xFF
    t = (((code & _QUANT) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    return _ULAW_BIAS - t if code & 0x80 else t - _ULAW_BIAS


def _alawSample(code: int) -> int:
    """Decode one A-law byte to a 16-bit sample."""
    code ^= 0x55
    t = (code & _QUANT) << 4
    seg = (code & 0x70) >> 4
    t += 8 if seg == 0 else 0x108
    if seg > 1:
        t <<= seg - 1
    return t if code & 0x80 else -t


@cache
def _encodeTable(byteOf) -> bytes:
    """@return: the code of every 16-bit sample, indexed by its unsigned value."""
    return bytes(byteOf(u - 0x10000 if u & 0x8000 else u) for u in range(0x10000))


@cache
def _decodeTable(sampleOf) -> tuple:
    """@return: the 2 PCM bytes of every code, indexed by code."""
    return tuple(array("h", [sampleOf(code)]).tobytes() for code in range(256))


def _samples(pcm: bytes) -> memoryview:
    """
    @return: C{pcm} seen as unsigned 16-bit values.
    @raise ValueError: C{pcm} has an odd number of bytes.
    """
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM needs an even number of bytes, got {len(pcm)}")
    return memoryview(pcm).cast("B").cast("H")


def pureLin2ulaw(pcm: bytes) -> bytes:
    """@return: C{pcm} encoded as mu-law, without C{audioop}."""
    return bytes(map(_encodeTable(_ulawByte).__getitem__, _samples(pcm)))


def pureLin2alaw(pcm: bytes) -> bytes:
    """@return: C{pcm} encoded as A-law, without C{audioop}."""
    return bytes(map(_encodeTable(_alawByte).__getitem__, _samples(pcm)))


def pureUlaw2lin(data: bytes) -> bytes:
    """@return: mu-law C{data} decoded to 16-bit PCM, without C{audioop}."""
    return b"".join(map(_decodeTable(_ulawSample).__getitem__, data))


def pureAlaw2lin(data: bytes) -> bytes:
    """@return: A-law C{data} decoded to 16-bit PCM, without C{audioop}."""
    return b"".join(map(_decodeTable(_alawSample).__getitem__, data))


def _audioopLin2ulaw(pcm: bytes) -> bytes:
    """@return: C{pcm} encoded as mu-law by C{audioop}."""
    _samples(pcm)
    return audioop.lin2ulaw(pcm, 2)


def _audioopLin2alaw(pcm: bytes) -> bytes:
    """@return: C{pcm} encoded as A-law by C{audioop}."""
    _samples(pcm)
    return audioop.lin2alaw(pcm, 2)


def _audioopUlaw2lin(data: bytes) -> bytes:
    """@return: mu-law C{data} decoded by C{audioop}."""
    return audioop.ulaw2lin(data, 2)


def _audioopAlaw2lin(data: bytes) -> bytes:
    """@return: A-law C{data} decoded by C{audioop}."""
    return audioop.alaw2lin(data, 2)


if audioop is not None:
    lin2ulaw, ulaw2lin = _audioopLin2ulaw, _audioopUlaw2lin
    lin2alaw, alaw2lin = _audioopLin2alaw, _audioopAlaw2lin
else:  # pragma: no cover - exercised on Pythons without audioop
    lin2ulaw, ulaw2lin = pureLin2ulaw, pureUlaw2lin
    lin2alaw, alaw2lin = pureLin2alaw, pureAlaw2lin

_ENCODERS = {"PCMU": lin2ulaw, "PCMA": lin2alaw}
_DECODERS = {"PCMU": ulaw2lin, "PCMA": alaw2lin}


def encode(codec: str, pcm: bytes) -> bytes:
    """
    @param codec: C{"PCMU"} or C{"PCMA"}.
    @param pcm: 16-bit linear PCM.
    @return: one G.711 byte per sample.
    @raise KeyError: unknown codec.
    @raise ValueError: C{pcm} has an odd number of bytes.
    """
    return _ENCODERS[codec](pcm)


def decode(codec: str, data: bytes) -> bytes:
    """
    @param codec: C{"PCMU"} or C{"PCMA"}.
    @param data: G.711 bytes.
    @return: 16-bit linear PCM, two bytes per input byte.
    @raise KeyError: unknown codec.
    """
    return _DECODERS[codec](data)
