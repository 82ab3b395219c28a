"""The detection facade: competitor mentions + claim typing, or an objection. Pure.

One :class:`Detection` per competitor named in the utterance (its best mention), typed by the
clause around that mention; when no competitor is named, at most one objection. The speaker is
carried through and lowers ``priority`` for the rep's own words (a rep saying "unlike Algolia…"
is pitching, not hearing a claim) — the caller decides what to do with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from copilot.detect.claims import ClaimClassifier, ClaimResult, EmbedFn, sentence_and_next
from copilot.detect.mentions import Mention, MentionDetector
from copilot.playbooks.model import Competitor, PlaybookSet

__all__ = ["REP_PRIORITY_FACTOR", "Detection", "Detector", "sentence_and_next"]

#: priority multiplier for detections in the rep's own speech
REP_PRIORITY_FACTOR = 0.3
#: a bare name (no claim typed) counts this share of its mention score
_UNTYPED_SHARE = 0.5

_CLAUSE_BREAK = re.compile(r"[.!?;]+\s+|\s+(?:but|whereas|while|although)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Detection:
    """A flag-worthy finding in one utterance.

    ``char_start``/``char_end`` span the competitor mention and the claim cue in the input text;
    ``evidence`` is that text. ``priority`` is ``confidence`` lowered for the rep's speech.
    """

    kind: Literal["competitor", "objection"]
    competitor_id: str | None
    competitor_name: str | None
    claim_type: str
    evidence: str
    char_start: int
    char_end: int
    confidence: float
    speaker: str = "unknown"
    priority: float = 0.0
    method: str = ""  # how the competitor was matched ("exact", …) or "cue"/"exemplar"
    #: the competitor name's own span (the evidence may reach back to a claim cue); -1: none
    mention_start: int = -1
    mention_end: int = -1


class Detector:
    """Runs mention detection, then claim typing or objection detection, per utterance.

    Args:
        competitors: the catalog.
        classifier: the claim/objection classifier (built on the same playbooks).
        min_mention_score: mentions below this are ignored.
        rep_priority: priority factor for the ``rep`` speaker.
    """

    def __init__(
        self,
        competitors: Sequence[Competitor],
        classifier: ClaimClassifier,
        *,
        mentions: MentionDetector | None = None,
        min_mention_score: float = 0.55,
        rep_priority: float = REP_PRIORITY_FACTOR,
    ) -> None:
        self._names = {c.id: c.name for c in competitors}
        self._mentions = mentions or MentionDetector(competitors)
        self._classifier = classifier
        self._min_mention = min_mention_score
        self._rep_priority = rep_priority

    @classmethod
    def from_playbooks(
        cls, playbooks: PlaybookSet, embed_fn: EmbedFn | None = None, **kwargs: Any
    ) -> Detector:
        """Build mentions + classifier from one playbook set (``embed_fn`` as for the classifier)."""
        names = [n for c in playbooks.competitors for n in (c.name, *c.aliases, *c.products)]
        classifier = ClaimClassifier(playbooks.sections, embed_fn, names=names)
        return cls(playbooks.competitors, classifier, **kwargs)

    def detect(self, text: str, speaker: str = "unknown") -> list[Detection]:
        """Detections in ``text`` (empty for most utterances), strongest first."""
        mentions = [m for m in self._mentions.find(text) if m.score >= self._min_mention]
        factor = self._rep_priority if speaker == "rep" else 1.0
        if not mentions:
            objection = self._classifier.objection_detail(text)
            if objection is None:
                return []
            start, end = (
                (objection.cue_start, objection.cue_end) if objection.cue else (0, len(text))
            )
            return [
                Detection(
                    "objection", None, None, objection.type, text[start:end], start, end,
                    objection.confidence, speaker, round(objection.confidence * factor, 4),
                    "cue" if objection.cue else "exemplar",
                )
            ]
        best: dict[str, Mention] = {}
        for m in mentions:
            if m.competitor_id not in best or m.score > best[m.competitor_id].score:
                best[m.competitor_id] = m
        out = [self._competitor(text, m, speaker, factor) for m in best.values()]
        out.sort(key=lambda d: -d.priority)
        return out

    def claim_near(self, text: str, pos: int, competitor_id: str, untyped_confidence: float,
                   speaker: str = "unknown") -> Detection | None:
        """A typed claim about ``competitor_id`` near ``pos`` in a text that no longer names it.

        For a final whose re-decode lost the name a partial heard ("Elasticsearch" in the
        partial, gone from the final of an 8 kHz call, while "…rebuilding all the integration"
        arrived only in the final): the claim is typed on the sentence at the name's place and
        the one after it. ``untyped_confidence`` is the untyped flag's confidence, as
        :meth:`detect` gave it. None when no claim type is found there.
        """
        lo, hi = sentence_and_next(text, max(0, min(pos, len(text))))
        claim = self._classifier.classify_detail(text[lo:hi])
        if claim.type == "unspecified" or claim.cue is None:
            return None  # without the name, only a cue word is evidence enough
        start, end = lo + claim.cue_start, lo + claim.cue_end
        confidence = _confidence(min(1.0, untyped_confidence / _UNTYPED_SHARE), claim)
        factor = self._rep_priority if speaker == "rep" else 1.0
        return Detection(
            "competitor", competitor_id, self._names.get(competitor_id), claim.type,
            text[start:end], start, end, round(confidence, 4), speaker,
            round(confidence * factor, 4), "carried",
        )

    def _competitor(self, text: str, mention: Mention, speaker: str, factor: float) -> Detection:
        lo, hi = _clause(text, mention.char_start, mention.char_end)
        claim: ClaimResult = self._classifier.classify_detail(text[lo:hi])
        if claim.type == "unspecified" and (lo, hi) != (0, len(text)):
            # the claim may sit in a neighbouring clause ("We use Typesense. It's faster.") —
            # the mention's sentence and the one after it, not earlier ones: in mono audio an
            # utterance often starts with the other speaker's turn ("how does search work for
            # you today? We run Elasticsearch.")
            lo2, hi2 = sentence_and_next(text, mention.char_start)
            wider = self._classifier.classify_detail(text[lo2:hi2])
            if wider.type != "unspecified":
                claim, lo = wider, lo2
        start, end = mention.char_start, mention.char_end
        if claim.cue is not None:
            start, end = min(start, lo + claim.cue_start), max(end, lo + claim.cue_end)
        confidence = _confidence(mention.score, claim)
        return Detection(
            "competitor",
            mention.competitor_id,
            self._names.get(mention.competitor_id),
            claim.type,
            text[start:end],
            start,
            end,
            round(confidence, 4),
            speaker,
            round(confidence * factor, 4),
            mention.method,
            mention.char_start,
            mention.char_end,
        )


def _confidence(mention_score: float, claim: ClaimResult) -> float:
    # a named competitor with a typed claim is surer than a bare name
    if claim.type == "unspecified":
        return mention_score * _UNTYPED_SHARE
    return mention_score * (0.6 + 0.4 * claim.confidence)


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """Character bounds of the clause holding ``text[start:end]``."""
    lo, hi = 0, len(text)
    for m in _CLAUSE_BREAK.finditer(text):
        if m.end() <= start:
            lo = m.end()
        elif m.start() >= end:
            hi = m.start()
            break
    return lo, hi
