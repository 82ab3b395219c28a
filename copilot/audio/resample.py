"""Stateful per-channel resampling to the recogniser's 16 kHz.

soxr's streaming resampler keeps filter state across frames, so chunk boundaries make no clicks
and the output length follows the *rate* (BUGS S05: resampling to a sample count per chunk drifts
and distorts).
"""

from __future__ import annotations

import numpy as np
import soxr

__all__ = ["TARGET_RATE", "StreamResampler"]

TARGET_RATE = 16000


class StreamResampler:
    """Resamples (samples, channels) float32 frames of one stream to 16 kHz, channel by channel."""

    def __init__(self, in_rate: int, channels: int, out_rate: int = TARGET_RATE) -> None:
        self.in_rate, self.out_rate, self.channels = in_rate, out_rate, channels
        self._streams = (
            None
            if in_rate == out_rate
            else [soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")
                  for _ in range(channels)]
        )

    def process(self, frame: np.ndarray, last: bool = False) -> list[np.ndarray]:
        """One float32 array per channel at ``out_rate``."""
        if self._streams is None:
            return [np.ascontiguousarray(frame[:, c]) for c in range(self.channels)]
        return [
            s.resample_chunk(np.ascontiguousarray(frame[:, c]), last=last)
            for c, s in enumerate(self._streams)
        ]

    def flush(self) -> list[np.ndarray]:
        return self.process(np.zeros((0, self.channels), dtype=np.float32), last=True)
