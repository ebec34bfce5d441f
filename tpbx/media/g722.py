# -*- test-case-name: tests.media.test_g722 -*-
"""
A G.722 decoder (ITU-T G.722, 64 kbit/s mode 1), so calls that talk
G.722 (RTP payload type 9, RFC 3551 sec. 4.5.2) can be recorded.

G.722 splits 16 kHz audio into two sub-bands by a quadrature mirror
filter (QMF) and codes each at 8 kHz with adaptive differential PCM: six
bits per sample for the lower band, two for the higher, one byte per
pair of output samples.  Decoding is the lower- and higher-band ADPCM
decoders (G.722 sec. 6.2: INVQBL/INVQAL, LOGSCL/SCALEL, INVQAH,
LOGSCH/SCALEH and the shared predictor of block 4), then the receive QMF
(sec. 4.4, table 11).  All arithmetic is the reference's 16-bit integer
arithmetic, so the output is bit-exact with other conforming decoders.

Why pure Python: the PBX has no C dependency for media, and only the
recorder decodes G.722 (the relay forwards it untouched).  It is slow
(about 1.3 ms of CPU for a 20 ms packet), so the recorder keeps the coded
bytes and decodes when the recording is written, off the reactor thread
(L{tpbx.media.recorder}).
"""

from __future__ import annotations

from array import array
from operator import mul

__all__ = ["G722Decoder", "RATE", "PAYLOAD_TYPE", "decode"]

#: Output samples per second (the RTP clock still says 8000: RFC 3551
#: sec. 4.5.2).
RATE = 16000

#: The static payload type (RFC 3551 sec. 6, table 4).
PAYLOAD_TYPE = 9

# Table 15: the log-to-linear conversion of the scale factors.
_ILB = (2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599,
        2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
        3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008)

# Lower band, 6-bit inverse quantizer outputs (QQ6, table 6, scaled by 8),
# indexed by the 6-bit code word.
_QM6 = (
    -136, -136, -136, -136, -24808, -21904, -19008, -16704,
    -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
    -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
    -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
    24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
    10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
    4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
    1688, 1360, 1040, 728, 432, 136, -432, -136)

# Lower band, 4-bit inverse quantizer of the predictor's feedback (QQ4,
# table 7, scaled by 8), indexed by the code word's 4 upper bits.
_QM4 = (0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
        20456, 12896, 8968, 6288, 4240, 2584, 1200, 0)

# LOGSCL: the log scale factor step WL(RIL4) (table 8), by the 4 upper bits.
_LOW_STEP = tuple((-60, -30, 58, 172, 334, 538, 1198, 3042)[k]
                  for k in (0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0))

# Higher band: the 2-bit inverse quantizer (QQ2, table 9, scaled by 8) and
# the log scale factor step WH (table 10), by the 2-bit code word.
_QM2 = (-7408, -1616, 7408, 1616)
_HIGH_STEP = (798, -214, 798, -214)

# Table 11: the QMF coefficients, as applied to the even and odd samples
# of the receive filter's history.
_QMF_EVEN = (3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11)
_QMF_ODD = _QMF_EVEN[::-1]


def _sat(value: int) -> int:
    """@return: C{value} saturated to a signed 16-bit word."""
    return -32768 if value < -32768 else 32767 if value > 32767 else value


class _Band:
    """
    One sub-band's ADPCM decoder state (G.722 sec. 6.2): the scale factor
    (C{nb} in the log domain, C{det} linear) and the adaptive predictor
    of block 4: two poles (C{a1}, C{a2} over the reconstructed signal
    C{r1}, C{r2}), six zeros (C{b} over the quantized differences C{d}).
    """

    __slots__ = ("nb", "det", "s", "sz", "a1", "a2", "r1", "r2", "p1", "p2",
                 "b", "d", "_limit", "_shift")

    def __init__(self, det: int, limit: int, shift: int):
        self.nb = self.s = self.sz = 0
        self.a1 = self.a2 = self.r1 = self.r2 = self.p1 = self.p2 = 0
        self.b = [0] * 6
        self.d = [0] * 6
        self.det = det
        self._limit = limit
        self._shift = shift

    def scale(self, step: int) -> None:
        """LOGSCL/LOGSCH then SCALEL/SCALEH: adapt the step size."""
        nb = ((self.nb * 127) >> 7) + step
        nb = 0 if nb < 0 else self._limit if nb > self._limit else nb
        self.nb = nb
        shift = self._shift - (nb >> 11)
        linear = _ILB[(nb >> 6) & 31]
        self.det = (linear >> shift if shift >= 0 else linear << -shift) << 2

    def predict(self, d: int) -> None:
        """
        Block 4: take the quantized difference C{d}, adapt the pole
        (UPPOL2, UPPOL1) and zero (UPZERO) coefficients, and compute the
        next estimate C{s} (FILTEP, FILTEZ, PREDIC).
        """
        r0 = _sat(self.s + d)
        p0 = _sat(self.sz + d)
        sg0, sg1, sg2 = p0 >> 15, self.p1 >> 15, self.p2 >> 15
        a1, a2 = self.a1, self.a2
        wd = _sat(a1 << 2)
        wd = min(-wd if sg0 == sg1 else wd, 32767)
        ap2 = (128 if sg0 == sg2 else -128) + (wd >> 7) + ((a2 * 32512) >> 15)
        ap2 = -12288 if ap2 < -12288 else 12288 if ap2 > 12288 else ap2
        ap1 = _sat((192 if sg0 == sg1 else -192) + ((a1 * 32640) >> 15))
        bound = _sat(15360 - ap2)
        ap1 = -bound if ap1 < -bound else bound if ap1 > bound else ap1
        step, sgd = (128 if d else 0), d >> 15
        self.b = b = [_sat((step if (di >> 15) == sgd else -step) + ((bi * 32640) >> 15))
                      for bi, di in zip(self.b, self.d)]
        self.d = ds = [d] + self.d[:5]
        self.sz = sz = sum([(bi * _sat(di + di)) >> 15 for bi, di in zip(b, ds)])
        self.r2, self.r1, self.p2, self.p1 = self.r1, r0, self.p1, p0
        self.a1, self.a2 = ap1, ap2
        sp = _sat(((ap1 * _sat(r0 + r0)) >> 15) + ((ap2 * _sat(self.r2 + self.r2)) >> 15))
        self.s = _sat(sp + sz)


class G722Decoder:
    """
    Decode one G.722 stream; the state carries over from one call of
    L{decode} to the next, so a stream is decoded packet by packet.
    """

    def __init__(self):
        self._low = _Band(32, 18432, 8)
        self._high = _Band(8, 22528, 10)
        self._x = [0] * 24

    def decode(self, data: bytes) -> bytes:
        """
        @param data: G.722 code words, one byte per pair of samples (the
            payload of RTP payload type 9).
        @return: 16-bit linear PCM at L{RATE}, in the machine's byte
            order (two samples per byte of C{data}).
        """
        low, high, x = self._low, self._high, self._x
        out = array("h", bytes(4 * len(data)))
        k = 0
        for code in data:
            ilr = (code & 0x3F) >> 2
            rlow = low.s + ((low.det * _QM6[code & 0x3F]) >> 15)
            rlow = -16384 if rlow < -16384 else 16383 if rlow > 16383 else rlow
            dlow = (low.det * _QM4[ilr]) >> 15
            low.scale(_LOW_STEP[ilr])
            low.predict(dlow)
            ih = code >> 6
            dhigh = (high.det * _QM2[ih]) >> 15
            rhigh = high.s + dhigh
            rhigh = -16384 if rhigh < -16384 else 16383 if rhigh > 16383 else rhigh
            high.scale(_HIGH_STEP[ih])
            high.predict(dhigh)
            del x[:2]
            x += (rlow + rhigh, rlow - rhigh)
            out[k] = _sat(sum(map(mul, x[1::2], _QMF_ODD)) >> 11)
            out[k + 1] = _sat(sum(map(mul, x[0::2], _QMF_EVEN)) >> 11)
            k += 2
        return out.tobytes()


def decode(data: bytes) -> bytes:
    """@return: a whole G.722 stream C{data} decoded (L{G722Decoder.decode})."""
    return G722Decoder().decode(data)
