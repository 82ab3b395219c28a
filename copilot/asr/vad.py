"""Streaming Silero VAD (the v6 ONNX model shipped inside faster-whisper, on onnxruntime).

The model reads 512-sample windows at 16 kHz (32 ms) with the previous window's last 64 samples
as context, and carries an LSTM state (h, c). :class:`VadStream` keeps that state per audio
channel so speech probabilities come out frame by frame, exactly as the offline batch would
compute them. The ONNX session is shared by every stream.
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["WINDOW", "SileroVad", "VadStream", "default_vad_path"]

WINDOW = 512  # samples at 16 kHz
_CONTEXT = 64


def default_vad_path() -> str:
    import faster_whisper

    return os.path.join(os.path.dirname(faster_whisper.__file__), "assets", "silero_vad_v6.onnx")


class SileroVad:
    """The shared ONNX session. ``run`` is thread-safe (onnxruntime sessions are)."""

    def __init__(self, path: str | None = None) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            path or default_vad_path(), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self._lock = threading.Lock()

    def run(
        self, batch: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out, h, c = self._session.run(None, {"input": batch, "h": h, "c": c})
        return np.asarray(out, dtype=np.float32).reshape(-1), h, c


class VadStream:
    """Speech probability per 32 ms window for one channel; feed any number of samples."""

    def __init__(self, vad: SileroVad) -> None:
        self._vad = vad
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities for every *complete* window now available (possibly none)."""
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        n = len(buf) // WINDOW
        self._pending = buf[n * WINDOW :].copy()
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        wins = buf[: n * WINDOW].reshape(n, WINDOW)
        ctx = np.vstack([self._context[None, :], wins[:-1, -_CONTEXT:]])
        batch = np.ascontiguousarray(np.hstack([ctx, wins]), dtype=np.float32)
        self._context = wins[-1, -_CONTEXT:].copy()
        probs, self._h, self._c = self._vad.run(batch, self._h, self._c)
        return probs
