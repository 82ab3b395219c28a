"""Declared audio formats and the conversion of raw frames into float32 samples.

Pure functions over bytes. The client declares its format in ``start``; every frame is checked
against it, and audio that does not fit (BUGS S04, S07: float sent as int16, int16 declared as
float, ragged frames) raises :class:`~copilot.errors.AudioFormatError` instead of turning into
hallucinated words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copilot.errors import AudioFormatError

__all__ = ["ENCODINGS", "SAMPLE_RATES", "AudioFormat", "FormatSniffer", "decode_frame", "mulaw_decode"]

ENCODINGS = ("pcm_s16le", "pcm_f32le", "mulaw")
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
_BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_f32le": 4, "mulaw": 1}


@dataclass(frozen=True)
class AudioFormat:
    encoding: str = "pcm_s16le"
    sample_rate: int = 16000
    channels: int = 1

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise AudioFormatError(
                f"unsupported encoding {self.encoding!r}; use one of {', '.join(ENCODINGS)}"
            )
        if self.sample_rate not in SAMPLE_RATES:
            raise AudioFormatError(
                f"unsupported sample_rate {self.sample_rate!r}; use one of "
                + ", ".join(map(str, SAMPLE_RATES))
            )
        if self.channels not in (1, 2):
            raise AudioFormatError(f"unsupported channels {self.channels!r}; use 1 or 2")

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (one sample of every channel)."""
        return _BYTES_PER_SAMPLE[self.encoding] * self.channels

    @property
    def bytes_per_second(self) -> int:
        return self.frame_bytes * self.sample_rate


def _mulaw_table() -> np.ndarray:
    # ITU-T G.711 μ-law expansion, computed once: 256 codes → linear float in [-1, 1].
    codes = ~np.arange(256, dtype=np.uint8)
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    linear = np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84)
    return (linear / 32768.0).astype(np.float32)


_MULAW = _mulaw_table()


def mulaw_decode(data: bytes) -> np.ndarray:
    return _MULAW[np.frombuffer(data, dtype=np.uint8)]


def decode_frame(fmt: AudioFormat, data: bytes) -> np.ndarray:
    """Bytes of one frame → float32 array of shape (samples, channels) in [-1, 1].

    Raises:
        AudioFormatError: the byte count does not fit the declared sample and channel size, or
            float samples are out of range / not finite (int16 bytes declared as float32).
    """
    if len(data) % fmt.frame_bytes:
        raise AudioFormatError(
            f"frame of {len(data)} bytes is not a whole number of {fmt.encoding} "
            f"{fmt.channels}-channel samples ({fmt.frame_bytes} bytes each): "
            "is the declared encoding or channel count right?"
        )
    if fmt.encoding == "pcm_s16le":
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    elif fmt.encoding == "pcm_f32le":
        samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if samples.size and (not np.isfinite(samples).all() or np.abs(samples).max() > 4.0):
            raise AudioFormatError(
                "pcm_f32le frame has samples far outside [-1, 1] or not finite: "
                "this looks like int16 audio declared as float32"
            )
    else:
        samples = mulaw_decode(data)
    return samples.reshape(-1, fmt.channels)


class FormatSniffer:
    """Checks the first seconds of a stream for audio that contradicts its declaration.

    int16 declared but float32 sent (BUGS S04): seen as int16, every other value is the high
    half of a float32 word, whose top byte is the sign + exponent: for samples in [-1, 1] it
    sits in 0x2F–0x3F or 0xAF–0xBF, so those values crowd into |v| ≈ 12000–20800. Real int16
    speech puts nearly all its samples far below that. The check waits for enough non-zero
    audio (silence says nothing), and gives up looking after ``max_s``.
    """

    def __init__(self, fmt: AudioFormat, min_words: int = 4000, max_s: float = 10.0) -> None:
        self.fmt = fmt
        self._min_words = min_words
        self._max = int(max_s * fmt.sample_rate * fmt.channels)
        self._raw = bytearray()
        self.done = fmt.encoding != "pcm_s16le"

    def feed(self, data: bytes, samples: np.ndarray) -> None:
        """Raise AudioFormatError once enough audio is in and it looks wrong; else return."""
        if self.done:
            return
        self._raw += data
        n = len(self._raw) // 4 * 4
        ints = np.frombuffer(bytes(self._raw[:n]), dtype="<i2")
        # enough sound on *any* channel: in interleaved stereo int16 the odd values are the
        # second channel only, and waiting for it held a rep's whole first turn back ~5 s while
        # the customer was still silent (scripted stereo call, bench_streaming)
        if np.count_nonzero(ints) < 2 * self._min_words:
            if len(ints) >= self._max:
                self.done = True
                self._raw = bytearray()
            return
        self.done = True
        self._raw = bytearray()
        high = ints[1::2].astype(np.int32)
        nonzero = high[high != 0]
        if nonzero.size < self._min_words // 4:
            return  # float32 with this much sound has non-zero high halves nearly everywhere
        top = (nonzero >> 8) & 0xFF
        exponent_like = (((top >= 0x2F) & (top <= 0x3F)) | ((top >= 0xAF) & (top <= 0xBF))).mean()
        if exponent_like > 0.9:
            raise AudioFormatError(
                "audio declared pcm_s16le looks like 32-bit float samples "
                "(every other int16 sits in the float exponent band): declare pcm_f32le"
            )
