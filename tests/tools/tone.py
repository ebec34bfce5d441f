# -*- test-case-name: tests.media.test_tone -*-
"""
Make test tones and find which tone a recording holds, in pure Python.

The end-to-end tests prove audio went through the PBX by sending a tone
(1 kHz one way, 2 kHz the other) and finding it in the WAV recorded at the
far end (issue 3, part 13).  This is the logic of the shared recipes
C{make_tone.py} and C{tone_check.py} without numpy: the Goertzel algorithm
measures the power at the few frequencies that matter instead of a whole
FFT, so the test environment needs nothing but the stdlib.

The recording is cut into 100 ms windows; windows quieter than
C{silenceDbfs} (silence, comfort noise, jitter-buffer fill) are ignored; a
window "has" a tone when most of its energy sits within C{tol} Hz of it.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from dataclasses import dataclass

__all__ = ["DTMF", "makeTone", "writeTone", "readSamples", "goertzel",
           "toneFraction", "dominantFrequency", "levelDbfs", "ToneReport",
           "analyse", "main"]

#: The two frequencies of each DTMF key (ITU-T Q.23).
DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
        "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
        "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
        "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def makeTone(freqs, seconds: float, rate: int = 8000, level: float = -6.0) -> bytes:
    """
    @param freqs: the frequencies to sum, in Hz (none gives silence).
    @param level: the amplitude of each tone in dBFS.
    @return: 16-bit mono PCM (native byte order, little-endian here).
    """
    amp = 32767 * 10 ** (level / 20)
    steps = [2 * math.pi * f / rate for f in freqs]
    return array("h", [max(-32768, min(32767, round(amp * sum(math.sin(w * i) for w in steps))))
                       for i in range(int(seconds * rate))]).tobytes()


def writeTone(path: str, freqs, seconds: float, rate: int = 8000,
              level: float = -6.0, channels: int = 1) -> None:
    """Write L{makeTone}'s audio as a 16-bit WAV file (all channels alike)."""
    pcm = makeTone(freqs, seconds, rate, level)
    if channels > 1:
        samples = array("h", pcm)
        pcm = array("h", [s for s in samples for _ in range(channels)]).tobytes()
    with wave.open(path, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)


def readSamples(path: str) -> tuple:
    """
    @return: C{(samples, rate)}: a 16-bit WAV's samples as floats in -1..1,
        channels averaged.
    @raise ValueError: not a 16-bit PCM WAV.
    """
    try:
        with wave.open(path, "rb") as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate, raw = reader.getframerate(), reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{path}: not a PCM WAV file ({e!r})") from None
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit samples, expected 16-bit")
    ints = array("h", raw[:len(raw) - len(raw) % (2 * channels)])
    frames = [sum(ints[i:i + channels]) / channels for i in range(0, len(ints), channels)]
    return [v / 32768 for v in frames], rate


def goertzel(samples, rate: int, freq: float) -> float:
    """
    @return: the power of C{samples} at C{freq}, normalised so a full-scale
        sine at exactly C{freq} gives about 1.
    """
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 4 * power / (len(samples) ** 2) if samples else 0.0


def levelDbfs(samples) -> float:
    """@return: the RMS level in dBFS (-200 for silence)."""
    if not samples:
        return -200.0
    rms = math.sqrt(sum(x * x for x in samples) / len(samples))
    return 20 * math.log10(rms) if rms > 0 else -200.0


def toneFraction(samples, rate: int, freq: float, tol: float = 20.0) -> float:
    """
    @return: the share (0..1) of the energy of C{samples} found within
        C{tol} Hz of C{freq} (the best of 5 Hz steps across that band).
    """
    energy = sum(x * x for x in samples)
    if not energy:
        return 0.0
    steps = max(1, int(tol // 5))
    best = max(goertzel(samples, rate, freq + 5 * k) for k in range(-steps, steps + 1))
    return min(1.0, best * len(samples) / (2 * energy))


def dominantFrequency(samples, rate: int, low: float = 100.0, high: float | None = None) -> float:
    """
    @return: the strongest frequency of C{samples} to within about 2 Hz:
        a coarse 25 Hz scan over a short stretch, then a fine one around
        the best coarse frequency over all of C{samples}.
    """
    high = high if high is not None else rate / 2 - 100
    head = samples[:rate // 40 * 4]
    coarse = max((goertzel(head, rate, f), f) for f in _frange(low, high, 25.0))[1]
    return max((goertzel(samples, rate, f), f)
               for f in _frange(coarse - 40, coarse + 40, 2.0))[1]


def _frange(start: float, stop: float, step: float):
    """@return: C{start}, C{start + step} ... up to C{stop}."""
    return [start + step * k for k in range(int((stop - start) / step) + 1)]


@dataclass
class ToneReport:
    """
    @ivar seconds: the length of the file.
    @ivar loudSeconds: the length of its non-silent windows.
    @ivar toneSeconds: the length of the windows holding the tone.
    @ivar firstToneAt: when the first of them starts (L{None} if none).
    @ivar dominant: the strongest frequency of the first loud window.
    """

    seconds: float
    loudSeconds: float
    toneSeconds: float
    firstToneAt: float | None
    dominant: float | None

    def has(self, minSeconds: float = 1.0) -> bool:
        """@return: whether the tone lasted at least C{minSeconds}."""
        return self.toneSeconds >= minSeconds


def analyse(path: str, expect: float, tol: float = 20.0, silenceDbfs: float = -45.0,
            window: float = 0.1, share: float = 0.6) -> ToneReport:
    """
    Look for a tone of C{expect} Hz in a WAV file, window by window.

    @param share: the part of a window's energy the tone must have.
    @raise ValueError: not a 16-bit PCM WAV.
    """
    samples, rate = readSamples(path)
    n = max(1, int(rate * window))
    loud = [(i / rate, samples[i:i + n]) for i in range(0, len(samples) - n + 1, n)
            if levelDbfs(samples[i:i + n]) > silenceDbfs]
    hits = [start for start, chunk in loud if toneFraction(chunk, rate, expect, tol) >= share]
    return ToneReport(round(len(samples) / rate, 3), round(len(loud) * window, 3),
                      round(len(hits) * window, 3), hits[0] if hits else None,
                      dominantFrequency(loud[0][1], rate) if loud else None)


def main(argv=None) -> int:
    """
    C{python -m tests.tools.tone FILE.wav FREQ [MIN_SECONDS]}: print the
    report; exit 0 when the tone is there long enough, 1 if not, 2 when
    the file cannot be read.
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        report = analyse(argv[0], float(argv[1]))
    except (OSError, ValueError) as e:
        sys.stderr.write(f"{e}\n")
        return 2
    sys.stdout.write(f"{report}\n")
    return 0 if report.has(float(argv[2]) if len(argv) > 2 else 1.0) else 1


if __name__ == "__main__":
    sys.exit(main())
