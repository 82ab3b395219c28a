"""VAD-bounded utterance segmentation with partial and final decode requests. Pure.

Policy (measured in docs/streaming.md): audio becomes an *utterance* when Silero's speech
probability crosses ``threshold``; it ends after ``min_silence_ms`` below ``threshold - 0.15``
(Silero's own hysteresis). While an utterance grows, a *partial* decode of the whole utterance so
far is requested every ``partial_interval_s`` of new audio and at the first pause; when it ends,
one *final* decode. Once a pause has lasted ``_SETTLED_PAUSE_WINDOWS`` the partial is an *early
final*: decoded as a final would be, and reused by the final if no speech came since (the final
request then carries ``early_final``), so the final does not wait out the rest of the endpointing
window before its decode even starts.
Past ``soft_utterance_s`` a shorter pause (``long_silence_ms``) ends the utterance; utterances
that still reach ``max_utterance_s`` are cut at the least speech-like window of their last
seconds, so the recogniser's buffer stays bounded however long someone talks (BUGS S08). Audio
outside utterances is dropped: silence and line noise never reach the decoder (BUGS S01, S16), and
``speech_pad_ms`` of pre-roll keeps a soft first word (BUGS S15).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from copilot.asr.vad import WINDOW

__all__ = ["DecodeRequest", "SegmenterOptions", "UtteranceSegmenter"]

RATE = 16000
#: a pause inside an utterance, for partial commits: ≥ 96 ms below the hysteresis threshold
_PAUSE_WINDOWS = 3
#: the early final this far into a pause (192 ms; the endpoint is ≥ 300 ms)
_SETTLED_PAUSE_WINDOWS = 6


@dataclass(frozen=True)
class SegmenterOptions:
    #: Silero speech probability that starts an utterance (its own default)
    threshold: float = 0.5
    #: silence that ends an utterance: the endpointing window
    min_silence_ms: int = 500
    #: audio kept before detected speech, so a soft first word survives (BUGS S15)
    speech_pad_ms: int = 400
    #: re-decode the utterance in progress this often, for partials. Most words that take
    #: over 1 s to show were in earlier partials' audio but misheard there: a sooner next try
    #: helps (partial p95 on pyannote + SNG1640 + the sales call: 0.6 s → 1.58 s, 0.4 s → 1.37 s,
    #: 0.3 s → 1.25 s); under load the decode scheduler sheds partials, finals unchanged
    #: (12 calls: final p95 1.58 / 1.37 s at 0.6 / 0.4 s)
    partial_interval_s: float = 0.4
    #: longer utterances are cut and finalised: the recogniser's buffer stays bounded (S08)
    max_utterance_s: float = 15.0
    #: past this length a shorter pause ends the utterance (``long_silence_ms``): a long turn
    #: gets its finals at its natural pauses instead of at the hard cut, whose final covers
    #: audio up to a third of ``max_utterance_s`` old (final p95 3.8 s for ≥ 10 s utterances
    #: at 8 calls, bench_concurrency). 10 s, not 6: at 6 s counting "13 … 18" ended at a
    #: pause and the 2 s left ("19 20") came out "The high in 2020" (BUGS S09 test)
    soft_utterance_s: float = 10.0
    long_silence_ms: int = 300
    #: utterances shorter than this (after padding) are noise bursts, not words
    min_utterance_s: float = 0.25


@dataclass(frozen=True)
class DecodeRequest:
    """Decode ``audio`` (16 kHz float32) of utterance ``index``; ``final`` closes the utterance."""

    index: int
    start: float  # audio seconds of the first sample
    end: float
    audio: np.ndarray
    final: bool
    #: partials: sample offsets (into ``audio``) of pauses inside the utterance, where the
    #: transcriber may commit the words before (copilot/asr/streaming.py)
    pauses: tuple[int, ...] = ()
    #: partials: samples of ``audio`` whose text is already committed (decode from here) …
    skip: int = 0
    #: … and, when above ``skip``, decode ``audio[skip:commit]`` as a piece of its own and commit
    #: its text; ``prefix`` is the utterance's text committed so far
    commit: int = 0
    prefix: str = ""
    #: a partial: > 0 makes it an early final of its ``audio`` (this many samples), decoded with
    #: the finals' settings. A final: the early final of its first ``early_final`` samples
    #: still stands (only silence followed), so its result may be reused
    early_final: int = 0


class UtteranceSegmenter:
    """Feed samples with their per-window speech probabilities; collect decode requests."""

    def __init__(self, options: SegmenterOptions | None = None) -> None:
        self.o = options or SegmenterOptions()
        self._neg = max(self.o.threshold - 0.15, 0.05)
        pad_windows = max(1, int(self.o.speech_pad_ms * RATE / 1000 / WINDOW))
        self._preroll: deque[np.ndarray] = deque(maxlen=pad_windows)
        self._windows: list[np.ndarray] = []  # current utterance, window by window
        self._probs: list[float] = []
        self._pending = np.zeros(0, dtype=np.float32)
        self._t = 0  # windows consumed so far
        self._utt_start = 0  # window index where the current utterance's audio begins
        self._in_speech = False
        self._silence = 0
        self._since_partial = 0
        self._early = 0  # windows covered by the open utterance's standing early final
        self._index = 0
        self.requests: list[DecodeRequest] = []

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def buffered_seconds(self) -> float:
        return len(self._windows) * WINDOW / RATE

    def feed(self, samples: np.ndarray, probs: np.ndarray) -> None:
        """``probs`` holds one probability per complete window of the concatenated stream."""
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        n = len(probs)
        wins = buf[: n * WINDOW].reshape(n, WINDOW) if n else ()
        self._pending = buf[n * WINDOW :].copy()
        for win, p in zip(wins, probs, strict=True):
            self._step(win, float(p))

    def _step(self, win: np.ndarray, p: float) -> None:
        o = self.o
        if not self._in_speech:
            if p >= o.threshold:
                self._in_speech = True
                self._silence = 0
                self._since_partial = 0
                self._windows = list(self._preroll)
                self._probs = [0.0] * len(self._windows)
                self._utt_start = self._t - len(self._windows)
                self._preroll.clear()
            else:
                self._preroll.append(win)
                self._t += 1
                return
        self._windows.append(win)
        self._probs.append(p)
        self._t += 1
        self._since_partial += 1
        self._silence = self._silence + 1 if p < self._neg else 0
        if self._silence == 0:
            self._early = 0  # speech again: the early final no longer covers the utterance
        silence_s = self._silence * WINDOW / RATE
        endpoint_ms = o.min_silence_ms
        if self.buffered_seconds >= o.soft_utterance_s:
            endpoint_ms = min(o.min_silence_ms, o.long_silence_ms)
        if silence_s * 1000 >= endpoint_ms:
            # keep speech_pad of the trailing silence, return the rest to the pre-roll
            keep = len(self._windows) - self._silence + (self._preroll.maxlen or 0)
            self._finish(min(keep, len(self._windows)))
            return
        if self.buffered_seconds >= o.max_utterance_s:
            self._cut_long()
            return
        if self._since_partial * WINDOW / RATE >= o.partial_interval_s and self._silence == 0:
            self._since_partial = 0
            self._emit(len(self._windows), final=False)
        elif self._silence == _SETTLED_PAUSE_WINDOWS:
            # once more, with the silence after the last word in view (tiny.en often drops or
            # mishears a word the audio ends on), and decoded as the final will be
            self._since_partial = 0
            self._early = len(self._windows)
            self._emit(len(self._windows), final=False, early=True)
        elif self._silence == 1 and self._since_partial >= 3:
            # speech just paused: show the last words now rather than with the final, which
            # waits out the endpointing window (measured: 15% of words otherwise first appeared
            # in the final, partial latency p95 3.3 s; docs/streaming.md)
            self._since_partial = 0
            self._emit(len(self._windows), final=False)

    def _emit(self, n_windows: int, final: bool, early: bool = False) -> None:
        audio = np.concatenate(self._windows[:n_windows]) if n_windows else np.zeros(0, np.float32)
        start = self._utt_start * WINDOW / RATE
        pauses = () if final else self._pauses(n_windows)
        if final:  # the standing early final, if it covers this final's speech
            early_final = self._early * WINDOW if 0 < self._early <= n_windows else 0
        else:
            early_final = len(audio) if early else 0
        self.requests.append(DecodeRequest(self._index, start, start + len(audio) / RATE, audio,
                                           final, pauses, early_final=early_final))

    def _pauses(self, n_windows: int) -> tuple[int, ...]:
        """Middles of the runs of ≥ ``_PAUSE_WINDOWS`` silent windows with speech on both sides."""
        out: list[int] = []
        run, spoke = 0, False
        for i, p in enumerate(self._probs[:n_windows]):
            if p < self._neg:
                run += 1
                continue
            if spoke and run >= _PAUSE_WINDOWS:
                out.append((i - run + run // 2) * WINDOW)
            run, spoke = 0, spoke or p >= self.o.threshold
        return tuple(out)

    def _finish(self, n_windows: int) -> None:
        speech = sum(1 for p in self._probs[:n_windows] if p >= self.o.threshold)
        if speech * WINDOW / RATE >= self.o.min_utterance_s:
            self._emit(n_windows, final=True)
            self._index += 1
        self._in_speech = False
        self._early = 0
        self._preroll.clear()
        for w in self._windows[n_windows:][-self._preroll.maxlen :]:
            self._preroll.append(w)
        self._windows, self._probs = [], []

    def _cut_long(self) -> None:
        # cut at the latest pause-like window of the last third (a word is rarely split, and
        # the final covers recent audio: cutting at the least speech-like window anywhere in
        # it made the cut's final up to 5 s late), else where speech is least likely
        n = len(self._windows)
        lo = n * 2 // 3
        tail = np.asarray(self._probs[lo:])
        pauses = np.flatnonzero(tail < self._neg)
        cut = lo + int(pauses[-1] if pauses.size else np.argmin(tail)) + 1
        rest_w, rest_p = self._windows[cut:], self._probs[cut:]
        self._early = 0  # the windows shift under it
        self._emit(cut, final=True)
        self._index += 1
        self._utt_start += cut
        self._windows, self._probs = rest_w, rest_p
        self._since_partial = len(rest_w)

    def end(self) -> None:
        """End of stream: whatever is buffered becomes a final (BUGS S13)."""
        if self._pending.size and self._in_speech:
            self._windows.append(self._pending)
            self._probs.append(self.o.threshold)
            self._pending = np.zeros(0, dtype=np.float32)
            self._early = 0  # the stream's last samples may hold speech the early final lacks
        if self._in_speech:
            self._finish(len(self._windows))
