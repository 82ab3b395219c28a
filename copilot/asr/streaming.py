"""One speaker's audio stream → decode requests → transcript events. Pure apart from the VAD.

The shell feeds 16 kHz samples (``feed``), runs :meth:`next_request` through the decoder off the
event loop, and hands each result back to :meth:`on_result`, which returns the event to publish
(or ``None``). Requests come out in a fixed order: every *final* in utterance order; a *partial*
only for the utterance still open, and only the newest one — when decoding falls behind, stale
partials are skipped, finals never are. Segment ids are stable: a partial, its later partials and
its final share one ``segment_id`` (BUGS S17).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from copilot.asr.segmenter import DecodeRequest, SegmenterOptions, UtteranceSegmenter
from copilot.asr.vad import VadStream
from copilot.asr.whisper import DecodeResult
from copilot.events import Transcript

__all__ = ["ChannelTranscriber"]


#: finals decoded above this temperature are not carried as context (a sampled, shaky text would
#: steer the next utterance); faster-whisper's ``prompt_reset_on_temperature`` uses the same 0.5
_CONTEXT_MAX_TEMPERATURE = 0.5
#: characters of earlier finals carried as context (≈ 40–60 tokens; the decoder keeps ≤ 100)
_CONTEXT_CHARS = 240


class ChannelTranscriber:
    def __init__(self, speaker: str, vad: VadStream, options: SegmenterOptions | None = None,
                 *, carry_context: bool = False) -> None:
        self.speaker = speaker
        self._carry_context = carry_context
        self._context = ""
        self._vad = vad
        self.segmenter = UtteranceSegmenter(options)
        self._finals: deque[DecodeRequest] = deque()
        self._partial: DecodeRequest | None = None
        self._closed_index = -1  # highest utterance index whose final was requested
        self._shown: set[int] = set()  # utterances with a published partial
        self.ended = False
        self.samples_in = 0

    def context(self) -> str:
        """The end of this channel's earlier finals: the decoder's previous-text prompt.

        Utterances are decoded one by one, so without it each starts cold; offline Whisper
        conditions every 30 s window on the text before it, and on conversational phone audio
        that context is worth several WER points (docs/streaming.md §2).
        """
        return self._context

    def segment_id(self, index: int) -> str:
        return f"{self.speaker}-{index}"

    def speech_probs(self, samples: np.ndarray) -> np.ndarray:
        """The model half of :meth:`feed` (run it off the event loop)."""
        return self._vad.feed(samples)

    def feed(self, samples: np.ndarray, probs: np.ndarray | None = None) -> None:
        if probs is None:
            probs = self.speech_probs(samples)
        self.samples_in += len(samples)
        self.segmenter.feed(samples, probs)
        self._collect()

    def end(self) -> None:
        self.segmenter.end()
        self._collect()
        self.ended = True

    def _collect(self) -> None:
        for req in self.segmenter.requests:
            if req.final:
                self._finals.append(req)
                self._closed_index = max(self._closed_index, req.index)
                if self._partial is not None and self._partial.index <= req.index:
                    self._partial = None
            elif req.index > self._closed_index:
                self._partial = req  # newer partial supersedes an undecoded older one
        self.segmenter.requests.clear()

    @property
    def pending(self) -> int:
        return len(self._finals) + (self._partial is not None)

    def oldest_final_end(self) -> float | None:
        """Audio end of the oldest queued final (None: no final waiting); for scheduling."""
        return self._finals[0].end if self._finals else None

    def next_request(self, partials: bool = True) -> DecodeRequest | None:
        """The next decode to run; ``partials=False`` (degraded mode) skips partial decodes."""
        if self._finals:
            return self._finals.popleft()
        req, self._partial = self._partial, None
        return req if partials else None

    def shed(self, older_than: float) -> float:
        """Drop queued finals that end before ``older_than`` (audio s); returns seconds dropped."""
        dropped = 0.0
        while self._finals and self._finals[0].end < older_than:
            req = self._finals.popleft()
            dropped += req.end - req.start
            self._shown.discard(req.index)
        return dropped

    def on_result(self, req: DecodeRequest, result: DecodeResult) -> Transcript | None:
        """Event to publish for a finished decode, or None (stale partial, hallucination)."""
        seg = self.segment_id(req.index)
        if not req.final:
            if req.index <= self._closed_index or result.dropped or not result.text:
                return None
            self._shown.add(req.index)
        else:
            shown = req.index in self._shown
            self._shown.discard(req.index)
            self._remember(result)
            if result.dropped or not result.text:
                if not shown:
                    return None
                # a partial was on screen: an empty final retracts it
                return Transcript(segment_id=seg, speaker=self.speaker, start=req.start,
                                  end=req.end, text="", final=True)
        return Transcript(
            segment_id=seg,
            speaker=self.speaker,
            start=round(req.start, 3),
            end=round(req.end, 3),
            text=result.text,
            final=req.final,
        )

    def _remember(self, result: DecodeResult) -> None:
        if not self._carry_context:
            return
        if result.dropped or result.temperature > _CONTEXT_MAX_TEMPERATURE:
            self._context = ""
        elif result.text:
            self._context = f"{self._context} {result.text}".strip()[-_CONTEXT_CHARS:]
