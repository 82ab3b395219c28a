"""Audio files → samples, and samples → wire bytes. Used by replay and eval (not by the server).

Decoding uses PyAV (which faster-whisper already brings): WAV, FLAC, MP3, OGG, … at any rate,
resampled and down/up-mixed by FFmpeg's resampler to what the caller asks for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from copilot.errors import AudioFormatError

__all__ = ["encode_samples", "mulaw_encode", "read_audio"]


def read_audio(path: str | Path, sample_rate: int = 16000, channels: int = 1) -> np.ndarray:
    """float32 samples of shape (n, channels) in [-1, 1].

    Raises:
        AudioFormatError: the file is missing or not decodable audio.
    """
    import av

    layout = {1: "mono", 2: "stereo"}[channels]
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioFormatError(f"{path}: no audio stream")
            resampler = av.AudioResampler(format="flt", layout=layout, rate=sample_rate)
            parts: list[np.ndarray] = []
            for frame in container.decode(audio=0):
                frame.pts = None
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1, channels))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1, channels))
    except FileNotFoundError:
        raise AudioFormatError(f"audio file not found: {path}") from None
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise AudioFormatError(f"{path}: cannot decode audio ({exc})") from None
    if not parts:
        return np.zeros((0, channels), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts).astype(np.float32))


def mulaw_encode(samples: np.ndarray) -> bytes:
    """G.711 μ-law, the inverse of :func:`copilot.audio.formats.mulaw_decode`."""
    x = np.clip(samples, -1.0, 1.0) * 32767.0
    sign = (x < 0).astype(np.int32)
    mag = np.minimum(np.abs(x).astype(np.int32) + 0x84, 0x7FFF)
    exponent = np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    code = ~((sign << 7) | (exponent << 4) | mantissa) & 0xFF
    return code.astype(np.uint8).tobytes()


def encode_samples(samples: np.ndarray, encoding: str) -> bytes:
    """(n, channels) float32 → interleaved bytes in ``encoding``."""
    flat = np.ascontiguousarray(samples).reshape(-1)
    if encoding == "pcm_s16le":
        return (np.clip(flat, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    if encoding == "pcm_f32le":
        return flat.astype("<f4").tobytes()
    if encoding == "mulaw":
        return mulaw_encode(flat)
    raise AudioFormatError(f"unsupported encoding {encoding!r}")
