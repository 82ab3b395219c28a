"""Scripted speech and noise for the BUGS.md speech tests (espeak-ng + numpy, made at test time).

Nothing here is under test: these build inputs. Levels are RMS dBFS of the whole array (for
speech: of the samples louder than −50 dBFS, so leading/trailing silence does not skew it).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from copilot.asr.segmenter import DecodeRequest
from copilot.asr.streaming import ChannelTranscriber
from copilot.asr.vad import VadStream
from copilot.asr.whisper import DecodeResult
from copilot.audio.files import read_audio

__all__ = [
    "RATE", "Decoded", "at_dbfs", "cat", "dbfs", "hum", "loops", "pink", "run_pipeline",
    "silence", "speak", "white", "words",
]

RATE = 16000


@lru_cache(maxsize=64)
def _speak_cached(text: str, voice: str, speed: int, rate: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
                       check=True, capture_output=True)
        x = read_audio(out, sample_rate=rate)[:, 0]
    # espeak pads ~0.1 s of zeros at both ends: trim to the voiced part so callers place it exactly
    idx = np.flatnonzero(np.abs(x) > 1e-3)
    return x[idx[0]: idx[-1] + 1].copy() if idx.size else x


def speak(text: str, voice: str = "en-us", speed: int = 160, rate: int = RATE) -> np.ndarray:
    """1-D float32 speech of ``text`` at ``rate`` Hz, leading/trailing silence trimmed."""
    return _speak_cached(text, voice, speed, rate).copy()


def dbfs(x: np.ndarray) -> float:
    loud = x[np.abs(x) > 10 ** (-50 / 20)]
    ref = loud if loud.size > len(x) // 10 else x
    return float(20 * np.log10(np.sqrt(np.mean(ref.astype(np.float64) ** 2)) + 1e-12))


def at_dbfs(x: np.ndarray, level: float) -> np.ndarray:
    return (x * 10 ** ((level - dbfs(x)) / 20)).astype(np.float32)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)), np.float32)


def white(seconds: float, level: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """Line hiss: white noise at ``level`` dBFS RMS."""
    n = np.random.default_rng(seed).standard_normal(int(round(seconds * rate)))
    return (n * 10 ** (level / 20)).astype(np.float32)


def pink(seconds: float, level: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """Room tone: 1/f noise (FFT-shaped) at ``level`` dBFS RMS."""
    n = int(round(seconds * rate))
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.arange(spec.size)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    x /= np.sqrt(np.mean(x**2)) + 1e-12
    return (x * 10 ** (level / 20)).astype(np.float32)


def hum(seconds: float, level: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """Telephone line noise: 50 Hz hum with harmonics plus hiss, at ``level`` dBFS RMS."""
    t = np.arange(int(round(seconds * rate))) / rate
    x = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 3, 5))
    x = x + np.random.default_rng(seed).standard_normal(t.size) * 0.5
    x /= np.sqrt(np.mean(x**2))
    return (x * 10 ** (level / 20)).astype(np.float32)


def cat(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(p, np.float32) for p in parts])


_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def loops(text: str, min_repeats: int = 3, max_n: int = 6) -> list[str]:
    """Every n-gram (n ≤ max_n) that occurs ``min_repeats``+ times back to back in ``text``."""
    w = words(text)
    found = []
    for n in range(1, max_n + 1):
        for i in range(len(w) - n * min_repeats + 1):
            gram = w[i:i + n]
            if all(w[i + k * n: i + (k + 1) * n] == gram for k in range(min_repeats)):
                found.append(" ".join(gram))
    return found


@dataclass(frozen=True)
class Decoded:
    request: DecodeRequest
    result: DecodeResult | None  # None: not decoded (a partial skipped by ``partials=False``)
    event: object  # the Transcript the live path would publish, or None


def run_pipeline(engine, audio: np.ndarray, *, partials: bool = False,  # noqa: ANN001
                 frame: int = 640, speaker: str = "customer") -> list[Decoded]:
    """The live ASR path without sockets or pacing: VAD → segmenter → Whisper → events.

    Same stages and options as :class:`copilot.call.LiveCall` (one channel, 16 kHz). Every request
    the segmenter makes is returned, so a test can check what would reach the decoder at all;
    partial requests are decoded only when ``partials`` is true (they cost most of the time).
    """
    ch = ChannelTranscriber(speaker, VadStream(engine.vad), engine.segmenter_options())
    out: list[Decoded] = []

    def drain() -> None:
        for req in list(ch.segmenter.requests):
            if req.final or partials:
                res = engine.decoder.decode(req.audio)
            else:
                res = None
            ev = ch.on_result(req, res) if res is not None else None
            out.append(Decoded(req, res, ev))
        ch.segmenter.requests.clear()

    for i in range(0, len(audio), frame):
        x = audio[i:i + frame]
        ch.segmenter.feed(x, ch.speech_probs(x))
        drain()
    ch.segmenter.end()
    drain()
    return out
