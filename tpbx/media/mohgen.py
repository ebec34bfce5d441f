# -*- test-case-name: tests.media.test_player -*-
"""
Generate the default music on hold shipped in C{tpbx/media/moh/default.wav}.

The PBX must play something when a call is held (issue 3, part 5) and may
ship no audio whose licence is unclear, so it ships music it composes
itself: a slow I-vi-IV-V chord progression of soft sine tones with a
plucked arpeggio on top, 8 kHz 16-bit mono, fading in and out so the loop
is seamless.  Regenerate with C{python -m tpbx.media.mohgen}.
"""

from __future__ import annotations

import math
import sys
from array import array
from pathlib import Path

from tpbx.media.wav import RATE, writeWav

__all__ = ["DEFAULT_PATH", "PROGRESSION", "generate", "main"]

DEFAULT_PATH = Path(__file__).parent / "moh" / "default.wav"

#: The chords, as MIDI note numbers: C, Am, F, G (twice round).
PROGRESSION = ((48, 60, 64, 67), (45, 60, 64, 69), (41, 60, 65, 69), (43, 59, 62, 67)) * 2

_PAD_LEVEL = 0.07
_PLUCK_LEVEL = 0.12
_EDGE = 0.4


def _hertz(note: int) -> float:
    """@return: the frequency of a MIDI note (A4 = 69 = 440 Hz)."""
    return 440.0 * 2 ** ((note - 69) / 12)


def _envelope(t: float, length: float) -> float:
    """@return: a raised-cosine fade in and out over L{_EDGE} seconds."""
    edge = min(t, length - t, _EDGE) / _EDGE
    return 0.5 - 0.5 * math.cos(math.pi * max(edge, 0.0))


def _chord(notes: tuple, seconds: float) -> list:
    """@return: float samples of one chord: a soft pad and a slow arpeggio."""
    count = int(seconds * RATE)
    step = seconds / 8
    pads = [2 * math.pi * _hertz(n) / RATE for n in notes]
    arpeggio = [2 * math.pi * _hertz(n + 12) / RATE for n in notes[1:] + notes[2:3]]
    out = []
    for i in range(count):
        t = i / RATE
        pad = sum(math.sin(w * i) for w in pads) * _PAD_LEVEL * _envelope(t, seconds)
        beat, offset = divmod(t, step)
        pluck = math.sin(arpeggio[int(beat) % len(arpeggio)] * i) * math.exp(-3 * offset)
        fade = min(1.0, offset * 200, (seconds - t) * 20)
        out.append(pad + pluck * _PLUCK_LEVEL * fade)
    return out


def generate(seconds: float = 30.0) -> bytes:
    """
    @param seconds: the total length, shared evenly by the chords.
    @return: the music as 16-bit mono PCM at 8 kHz.
    """
    samples = []
    for notes in PROGRESSION:
        samples.extend(_chord(notes, seconds / len(PROGRESSION)))
    return array("h", [max(-32767, min(32767, round(v * 32767))) for v in samples]).tobytes()


def main(argv: list | None = None) -> int:
    """
    Write the music to the path given, or to L{DEFAULT_PATH}.

    @return: the exit status.
    """
    argv = sys.argv[1:] if argv is None else argv
    writeWav(argv[0] if argv else DEFAULT_PATH, generate())
    return 0


if __name__ == "__main__":
    sys.exit(main())
