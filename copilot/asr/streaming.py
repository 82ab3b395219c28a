"""One speaker's audio stream → decode requests → transcript events. Pure apart from the VAD.

The shell feeds 16 kHz samples (``feed``), runs :meth:`next_request` through the decoder off the
event loop, and hands each result back to :meth:`on_result`, which returns the event to publish
(or ``None``). Requests come out in a fixed order: every *final* in utterance order; a *partial*
only for the utterance still open, and only the newest one — when decoding falls behind, stale
partials are skipped, finals never are. Segment ids are stable: a partial, its later partials and
its final share one ``segment_id`` (BUGS S17).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import replace
from typing import Protocol

import numpy as np

from copilot.asr.segmenter import RATE, DecodeRequest, SegmenterOptions, UtteranceSegmenter
from copilot.asr.vad import VadStream
from copilot.asr.whisper import DecodeResult
from copilot.events import Transcript

__all__ = ["ChannelTranscriber", "decode_request"]


#: finals decoded above this temperature are not carried as context (a sampled, shaky text would
#: steer the next utterance); faster-whisper's ``prompt_reset_on_temperature`` uses the same 0.5
_CONTEXT_MAX_TEMPERATURE = 0.5
#: characters of earlier finals carried as context (≈ 40–60 tokens; the decoder keeps ≤ 100)
_CONTEXT_CHARS = 240
#: partial commits (see :meth:`ChannelTranscriber.next_request`): once this much audio of an
#: utterance is uncommitted, the words before its latest pause are decoded once more on their
#: own and frozen; the piece must hold this much audio, and the pause be this old
_COMMIT_AFTER_S = 3.0
_COMMIT_PIECE_S = 1.5
_COMMIT_AGE_S = 0.8


def _words(text: str) -> list[str]:
    return [w for w in (re.sub(r"[^\w']", "", t.lower()) for t in text.split()) if w]


def _agrees(piece: str, last: tuple[int, int, str], req: DecodeRequest) -> bool:
    """Whether the previous partial of the same audio began with ``piece``'s words.

    Two decodes agreeing, as in LocalAgreement (whisper_streaming): a piece decoded alone
    dropped words that the whole-utterance decodes had heard ("I thought, you, I" → "I"), and a
    frozen piece keeps its mistakes until the final.
    """
    index, skip, text = last
    if index != req.index or skip != req.skip:
        return False
    words = _words(piece)
    return bool(words) and _words(text)[: len(words)] == words


class _Decoder(Protocol):
    def decode(self, audio: np.ndarray, prev_text: str = "", final: bool = True,
               full_context: bool = True) -> DecodeResult: ...


def decode_request(decoder: _Decoder, req: DecodeRequest, context: str = "",
                   full_context: bool = True) -> tuple[DecodeResult, str | None]:
    """Run ``req`` through ``decoder`` (blocking: call it off the event loop).

    Returns the result to hand to :meth:`ChannelTranscriber.on_result` and, for a partial that
    commits, the text to commit (``None`` otherwise). A partial's result text is the whole
    utterance so far: committed prefix, committed piece, then the decoded tail.
    """
    if req.final or req.early_final:
        return decoder.decode(req.audio, prev_text=context, final=True,
                              full_context=full_context), None
    prev = f"{context} {req.prefix}".strip()
    committed: str | None = None
    start = req.skip
    if req.commit > req.skip:
        head = decoder.decode(req.audio[req.skip:req.commit], prev_text=prev, final=False)
        if not head.dropped and head.text:
            committed = head.text
            prev = f"{prev} {head.text}".strip()
            start = req.commit
    tail = decoder.decode(req.audio[start:], prev_text=prev, final=False)
    parts = [req.prefix, committed or "", "" if tail.dropped else tail.text]
    text = " ".join(p for p in parts if p)
    dropped = not text or (tail.dropped and not (req.prefix or committed))
    return replace(tail, text=text, dropped=dropped), committed


class ChannelTranscriber:
    def __init__(self, speaker: str, vad: VadStream, options: SegmenterOptions | None = None,
                 *, carry_context: bool = False, partial_commit: bool = True) -> None:
        self.speaker = speaker
        self._carry_context = carry_context
        self._context = ""
        self._vad = vad
        self.segmenter = UtteranceSegmenter(options)
        self._finals: deque[DecodeRequest] = deque()
        self._partial: DecodeRequest | None = None
        self._closed_index = -1  # highest utterance index whose final was requested
        self._shown: set[int] = set()  # utterances with a published partial
        # partial commits of the open utterance: (index, samples committed, their text)
        self._commit: tuple[int, int, str] = (-1, 0, "")
        # the last partial's text past the committed prefix: (index, samples committed, text)
        self._last_rest: tuple[int, int, str] = (-1, 0, "")
        # the open utterance's early final: (index, samples decoded, result)
        self._early: tuple[int, int, DecodeResult] | None = None
        self._partial_commit = partial_commit
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
        """The next decode to run; ``partials=False`` (degraded mode) skips partial decodes.

        A partial of a long utterance decodes only what is not committed yet, with the committed
        text as its prompt. Re-decoding the whole utterance every 0.4 s cost time that grows with
        the utterance, and its early words kept changing as it grew: the partial-latency tail
        (docs/streaming.md). Words before a pause, heard in full with the silence after them,
        are decoded once more as a piece of their own and frozen. The final still decodes the
        whole utterance in one piece.
        """
        if self._finals:
            return self._finals.popleft()
        req, self._partial = self._partial, None
        if req is None or not partials:
            return None
        return self._plan(req) if self._partial_commit and not req.early_final else req

    def take_early_final(self) -> tuple[DecodeRequest, DecodeResult] | None:
        """The next final, with its result, when its early final already decoded it.

        Only silence followed that decode, so decoding the final again would give the same
        words half a second later: the final is published without a decode slot.
        """
        if not self._finals or self._early is None:
            return None
        req = self._finals[0]
        index, samples, result = self._early
        if not req.early_final or (index, samples) != (req.index, req.early_final):
            return None
        self._early = None
        return self._finals.popleft(), result

    def _plan(self, req: DecodeRequest) -> DecodeRequest:
        index, skip, prefix = self._commit
        if index != req.index:
            skip, prefix = 0, ""
        commit = 0
        # a piece is only tried against a partial that decoded the same audio in one piece
        if self._last_rest[:2] == (req.index, skip) and len(req.audio) - skip >= _COMMIT_AFTER_S * RATE:
            latest = len(req.audio) - _COMMIT_AGE_S * RATE
            ok = [p for p in req.pauses if p - skip >= _COMMIT_PIECE_S * RATE and p <= latest]
            commit = ok[-1] if ok else 0
        return replace(req, skip=skip, commit=commit, prefix=prefix)

    def shed(self, older_than: float) -> float:
        """Drop queued finals that end before ``older_than`` (audio s); returns seconds dropped."""
        dropped = 0.0
        while self._finals and self._finals[0].end < older_than:
            req = self._finals.popleft()
            dropped += req.end - req.start
            self._shown.discard(req.index)
        return dropped

    def on_result(self, req: DecodeRequest, result: DecodeResult,
                  committed: str | None = None) -> Transcript | None:
        """Event to publish for a finished decode, or None (stale partial, hallucination).

        ``committed``: the text :func:`decode_request` froze for ``req.audio[:req.commit]``.
        """
        seg = self.segment_id(req.index)
        if not req.final:
            # bookkeeping first: an early final is kept for its final even when that final
            # was queued while it decoded (the utterance is closed by then)
            if req.early_final:  # nothing here to commit against
                self._early = (req.index, req.early_final, result)
                self._last_rest = (-1, 0, "")
            elif req.commit > req.skip:  # a commit attempt: the next one needs a fresh whole decode
                if committed and _agrees(committed, self._last_rest, req):
                    self._commit = (req.index, req.commit, f"{req.prefix} {committed}".strip())
                self._last_rest = (-1, 0, "")
            else:
                self._last_rest = (req.index, req.skip, result.text[len(req.prefix):].strip())
            if req.index <= self._closed_index:
                return None
            if result.dropped or not result.text:
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
