"""Transcripts → flags → suggested replies, for one call. Pure (models are injected).

Flag rules:
- A partial may raise a flag early (that is where the first-second latency comes from); the final
  of the same utterance then confirms it, and if the claim type changed the flag is re-sent with
  the *same* ``flag_id`` (clients replace by id, as they do transcripts by ``segment_id``).
- When the final lost a name its partial heard (re-decoded 8 kHz audio), a claim in the final at
  the name's place still keeps (and types) that flag. A partial's flag that its final gives no
  support at all — neither the name nor a claim at its place, or the objection gone — is
  *retracted*: re-sent with ``retracted`` true, and its card withdrawn (BUGS S14: a hotword-biased
  partial heard "Algolia" in "I spoke with our data team"; a wrong card costs trust).
- One mention is flagged once: the key is (segment, competitor) — or (segment, objection type).
- Every flag is logged; only the customer's (or an unknown speaker's) flags get a suggestion:
  the rep naming a competitor needs no card.
- A suggestion needs a retrieval hit above the confidence gate, and the same playbook section is
  not suggested twice within the cooldown — no card beats a wrong or repeated one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from copilot.detect.detector import sentence_and_next
from copilot.events import Flag, Source, Suggestion, Transcript

__all__ = ["CallAnalyzer", "FlagDecision", "Proposal"]


class _Detector(Protocol):
    """``detect``; optionally ``claim_near`` (see :meth:`Detector.claim_near`)."""

    def detect(self, text: str, speaker: str = "unknown") -> list[Any]: ...


class _Retriever(Protocol):
    def search(self, query: str, *, competitor_id: str | None = None,
               claim_type: str | None = None, context: Sequence[str] = (),
               k: int = 3) -> list[Any]: ...


Composer = Callable[[Any, Sequence[Any], str], tuple[str, Sequence[Source]]]


@dataclass(frozen=True)
class FlagDecision:
    flag: Flag
    detection: Any
    needs_suggestion: bool
    #: what retrieval searches with: the mention's sentence and the next one, not the whole
    #: utterance (in mono audio an utterance often opens with the other speaker's turn)
    query: str = ""


@dataclass(frozen=True)
class Proposal:
    """A suggestion and what it was built from (the LLM composer rewrites from the same hits)."""

    suggestion: Suggestion
    sections: tuple[Any, ...]
    context: tuple[str, ...]


class CallAnalyzer:
    def __init__(
        self,
        detector: _Detector,
        retriever: _Retriever | None,
        composer: Composer | None,
        *,
        playbook_version: str,
        cooldown: Any = None,
        partial_min_confidence: float = 0.7,
        context_turns: int = 2,
        top_k: int = 3,
    ) -> None:
        self._detector = detector
        self._retriever = retriever
        self._composer = composer
        self._version = playbook_version
        self._cooldown = cooldown
        self._partial_min = partial_min_confidence
        self._k = top_k
        self._flags: dict[tuple[str, str], Flag] = {}
        # flag_id → (section id, call time) of its suggestion
        self._suggested_for: dict[str, tuple[str, float]] = {}
        self._context: deque[str] = deque(maxlen=context_turns)
        self._n = 0

    @property
    def flag_count(self) -> int:
        """Flags raised so far in this call, retracted ones not counted."""
        return sum(not f.retracted for f in self._flags.values())

    def on_transcript(self, t: Transcript) -> list[FlagDecision]:
        """Flags to send for this transcript: new ones, re-typed ones, retracted ones."""
        if not t.text:
            # an empty final (judged no speech) supports none of its partials' flags
            return self._settle_unconfirmed(t, set(), []) if t.final else []
        out: list[FlagDecision] = []
        confirmed: set[tuple[str, str]] = set()  # keys this final still detects
        named_at: list[int] = []  # where this final names a competitor
        for d in self._detector.detect(t.text, t.speaker):
            # a partial raises a flag early only when it is sure: a typed claim, the name
            # itself spelled out (exact/alias, not a fuzzy guess), or an objection's own cue
            # words ("not the right time": at 0.58 below the gate, its card waited 6.8 s for a
            # long utterance's final). The final retracts what it does not support.
            sure = getattr(d, "method", "") in ("exact", "alias", "cue")
            if not t.final and d.confidence < self._partial_min and not sure:
                continue
            key = (t.segment_id, d.competitor_id or f"objection:{d.claim_type}")
            # when the words were said: proportional to the name's character offset within the
            # utterance (the evidence may start earlier, at a claim cue)
            lo = getattr(d, "mention_start", -1)
            hi = getattr(d, "mention_end", -1)
            if lo < 0:
                lo, hi = d.char_start, d.char_end
            if t.final:
                confirmed.add(key)
                if d.competitor_id:
                    named_at.append(lo)
            span = max(t.end - t.start, 0.0)
            n = max(len(t.text), 1)
            start = t.start + span * lo / n
            end = t.start + span * hi / n
            old = self._flags.get(key)
            if old is not None:
                if not t.final:
                    continue
                if old.claim_type == d.claim_type:
                    self._flags[key] = replace(old, from_partial=False)  # confirmed as sent
                    continue
                flag = replace(old, claim_type=d.claim_type, evidence=d.evidence,
                               utterance=t.text, confidence=round(d.confidence, 3),
                               from_partial=False)
            else:
                self._n += 1
                flag = Flag(
                    flag_id=f"{t.segment_id}/f{self._n}",
                    kind=d.kind,
                    competitor=d.competitor_id,
                    competitor_name=d.competitor_name,
                    claim_type=d.claim_type,
                    evidence=d.evidence,
                    utterance=t.text,
                    speaker=t.speaker,
                    segment_id=t.segment_id,
                    start=round(start, 3),
                    end=round(end, 3),
                    confidence=round(d.confidence, 3),
                    from_partial=not t.final,
                )
            self._flags[key] = flag
            out.append(_decision(flag, d, t, d.char_start))
        if t.final:
            out += self._settle_unconfirmed(t, confirmed, named_at)
            self._context.append(t.text)
        return out

    def _settle_unconfirmed(self, t: Transcript, confirmed: set[tuple[str, str]],
                            named_at: list[int]) -> list[FlagDecision]:
        """Flags a partial of this segment raised that its final did not detect again.

        A competitor flag is kept when the final holds a claim at the name's place (the
        re-decode lost the name, not the claim) and names no other competitor there (then the
        claim is that one's: "the idea of Algolia, Elasticsearch already plugs into…" became
        "the idea of the Elasticsearch already…"): typed from it. Any other is retracted.
        """
        claim_near = getattr(self._detector, "claim_near", None)
        out: list[FlagDecision] = []
        span = max(t.end - t.start, 1e-6)
        for key, old in list(self._flags.items()):
            if key[0] != t.segment_id or key in confirmed or not old.from_partial or old.retracted:
                continue
            # the name's place in the final, by time (the flag's start was placed the same way)
            pos = round(len(t.text) * min(1.0, max(0.0, (old.start - t.start) / span)))
            d = None
            lo, hi = sentence_and_next(t.text, pos) if t.text else (0, 0)
            if (old.kind == "competitor" and claim_near is not None and t.text
                    and not any(lo <= at < hi for at in named_at)):
                d = claim_near(t.text, pos, old.competitor, old.confidence, t.speaker)
            if d is None:
                flag = replace(old, retracted=True, from_partial=False)
                self._withdraw(flag.flag_id)
                self._flags[key] = flag
                out.append(FlagDecision(flag, None, needs_suggestion=False))
                continue
            flag = replace(old, claim_type=d.claim_type, evidence=d.evidence, utterance=t.text,
                           confidence=round(d.confidence, 3), from_partial=False)
            self._flags[key] = flag
            if d.claim_type != old.claim_type:
                out.append(_decision(flag, d, t, pos))
        return out

    def _withdraw(self, flag_id: str) -> None:
        """A retracted flag's card does not hold its section in the cooldown."""
        shown = self._suggested_for.pop(flag_id, None)
        if shown is not None and self._cooldown is not None:
            self._cooldown.unmark(*shown)

    def suggest(self, decision: FlagDecision, now_audio_s: float) -> Proposal | None:
        """The suggested reply for a flag, or None (gate, cooldown, rep speech, no composer)."""
        if (not decision.needs_suggestion or decision.flag.retracted or self._retriever is None
                or self._composer is None):
            return None
        flag = decision.flag
        context = [c for c in self._context if c != flag.utterance]
        hits = self._retriever.search(
            decision.query or flag.utterance, competitor_id=flag.competitor,
            claim_type=flag.claim_type,
            context=context, k=self._k,
        )
        shown = self._suggested_for.get(flag.flag_id)
        if shown is not None and shown[0] == (hits[0].section.id if hits else None):
            return None  # re-sent flag, same answer: nothing new to show
        if self._cooldown is not None:
            hits = [h for h in hits if self._cooldown.ready(h.section.id, now_audio_s)]
        if not hits:
            return None
        text, sources = self._composer(decision.detection, hits, self._version)
        if not text:
            return None
        if self._cooldown is not None:
            self._cooldown.mark(hits[0].section.id, now_audio_s)
        self._suggested_for[flag.flag_id] = (hits[0].section.id, now_audio_s)
        suggestion = Suggestion(
            # one card per flag: when the final re-types the flag, its card is replaced in place
            suggestion_id=f"{flag.flag_id}/s",
            flag_id=flag.flag_id,
            text=text,
            sources=tuple(sources),
            composer="extractive",
            score=round(float(hits[0].score), 3),
        )
        return Proposal(suggestion, tuple(h.section for h in hits), tuple(context))


def _decision(flag: Flag, detection: Any, t: Transcript, pos: int) -> FlagDecision:
    """The flag to send; retrieval searches with the sentence at ``pos`` and the next one."""
    lo, hi = sentence_and_next(t.text, pos)
    return FlagDecision(flag, detection, needs_suggestion=t.speaker != "rep",
                        query=t.text[lo:hi].strip() or t.text)
