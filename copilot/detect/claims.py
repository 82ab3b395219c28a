"""Claim typing (what is said about a competitor) and objection detection: pure.

Two signals are combined per type:

* **cues**: hand-written regular expressions for the words prospects use ("cheaper", "doesn't
  support", "integrates with", "renewing"). Precise and explainable; they also give the evidence
  span shown to the rep.
* **nearest exemplar**: cosine similarity between the utterance and the playbook ``examples`` of
  each section labelled with that type, through an injected ``embed_fn`` (L2-normalised rows), so
  this module never imports a model. Catches paraphrases the cues miss.

The combined score is ``cue_weight * cue + (1 - cue_weight) * rescaled_similarity``; below
``min_confidence`` the type is ``unspecified`` (for competitor claims) or no objection at all.
Objections need more evidence than claims because they fire on utterances naming no competitor
— most of a call — so they use a higher threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from copilot.events import CLAIM_TYPES
from copilot.playbooks.model import Section

__all__ = [
    "CLAIM_CUES",
    "OBJECTION_CUES",
    "OBJECTION_TYPES",
    "ClaimClassifier",
    "ClaimResult",
    "EmbedFn",
    "sentence_and_next",
]

EmbedFn = Callable[[list[str]], np.ndarray]

OBJECTION_TYPES = ("budget", "timing", "authority", "status_quo", "security_compliance")


def _cues(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


#: Claim cues: what a prospect says *about a competitor*.
CLAIM_CUES: dict[str, re.Pattern[str]] = {
    "pricing": _cues(
        r"cheap(?:er|est)?", r"less expensive", r"(?:more |too )?expensive", r"pric(?:e|es|ed|ing)",
        r"cost(?:s|ing)?", r"discount(?:s|ed)?", r"free (?:tier|plan)", r"budget", r"fees?",
        r"per (?:month|year|seat|search|request|record)", r"\$\s?\d[\d,.]*k?", r"dollars?",
        r"quoted?", r"half (?:the|of what)", r"bill(?:ed|ing)?", r"usage[- ]based", r"pay(?:ing)?",
    ),
    "feature_gap": _cues(
        r"(?:has|have|offers?|comes? with|gives? (?:us|you)) (?:built[- ]in |native )?\w+ (?:out of the box)",
        r"out of the box", r"(?:don't|doesn't|do not|does not|can't|cannot) (?:you |your \w+ )?(?:have|support|offer|do)",
        r"features?", r"(?:a|an) \w+ (?:dashboard|feature)", r"a/?b test(?:ing)?", r"analytics",
        r"merchandising", r"(?:vector|semantic|hybrid|neural|ai) search", r"synonyms?",
        r"typo tolerance", r"facet(?:s|ing|ed)?", r"geo ?search", r"personali[sz]ation",
        r"you (?:guys )?(?:lack|are missing|don't have)", r"missing",
        r"(?:didn't|did not|don't|do not|can't|cannot|couldn't|could not) (?:see|find) (?:that|it|this|those|them|one|\w+) in your",
    ),
    "integration": _cues(
        r"integrat(?:e|es|ed|ion|ions)", r"connectors?", r"plug[- ]?ins?", r"shopify", r"magento",
        r"salesforce", r"sdks?", r"apis?", r"works? with", r"plugs? into", r"hooks? into",
        r"erp", r"crm", r"stack", r"already (?:in|part of) our", r"kafka", r"wordpress", r"sync(?:s|ing)?",
        r"ecosystem", r"kibana", r"logstash",
    ),
    "performance": _cues(
        r"fast(?:er|est)?", r"quick(?:er|ly)?", r"latency", r"slow(?:er)?", r"milliseconds?", r"ms",
        r"speed", r"scal(?:e|es|ing|able|ability)", r"throughput", r"benchmarks?", r"performan(?:ce|t)",
        r"millions? of (?:records|documents|queries)", r"billions?", r"handles? more", r"load",
        r"ram", r"memory", r"response times?", r"instant",
    ),
    "security_compliance": _cues(
        r"soc ?2", r"soc two", r"gdpr", r"hipaa", r"iso ?27001", r"complian(?:t|ce)", r"security",
        r"secure", r"certifi(?:ed|cation|cations)", r"audit(?:s|ed)?", r"encrypt(?:ed|ion)",
        r"data residency", r"sso", r"saml", r"pen(?:etration)? test(?:s|ing)?", r"infosec",
        r"our data", r"on[- ]prem(?:ise|ises)?", r"self[- ]host(?:ed|ing)?",
        # residency said without the word: "keeps our data in the European Union"
        r"european union",
        r"(?:keeps?|keeping|stored|hosted|hosts) (?:our |the |your |all )?\w+ in the (?:eu|uk|us)",
    ),
    "support": _cues(
        r"support(?: team| plan| contract| engineer| tickets?)?", r"sla", r"24/7", r"24 ?x ?7",
        r"account manager", r"customer success", r"response time to tickets", r"help ?desk",
        r"dedicated (?:engineer|manager|team)", r"onboarding", r"hand[- ]holding", r"responsive",
        r"get back to us", r"community", r"documentation", r"docs",
    ),
    "contract_switching": _cues(
        r"contract", r"renew(?:al|ing|ed)?", r"locked in", r"lock[- ]in", r"switch(?:ing)?",
        r"migrat(?:e|ion|ing)", r"move (?:off|away|over)", r"moving (?:off|away|over)", r"rip (?:and|&) replace",
        r"multi[- ]year", r"commit(?:ment|ted)?", r"signed", r"sign(?:ing)? (?:with|a)",
        r"(?:two|three|2|3)[- ]year deal", r"exit (?:fee|clause)", r"termination", r"cost of switching",
        r"already (?:use|using|on|have|pay)", r"stick(?:ing)? with", r"stay(?:ing)? with", r"incumbent",
    ),
}

#: Objection cues: resistance with no competitor named.
OBJECTION_CUES: dict[str, re.Pattern[str]] = {
    "budget": _cues(
        r"(?:no|out of|over|tight|limited|blown|our|the|small) budget", r"budget(?:s|ed)? (?:is|are|was|for)",
        r"too expensive", r"(?:can't|cannot|can not|couldn't) afford", r"(?:too|very|really) (?:pricey|costly|much)",
        r"cheaper", r"money", r"price is (?:too )?high", r"costs? too much", r"out of (?:our )?price range",
        r"(?:lower|better|best) (?:price|offer)", r"discount", r"spend", r"funds?", r"bottom dollar",
        r"(?:\$\s?\d+|\d+ dollars) (?:is|max|tops|at most)", r"(?:only|can) (?:do|pay|offer) \$?\d+",
    ),
    "timing": _cues(
        r"not (?:the )?right time", r"(?:next|later this) (?:quarter|year|month|fiscal)", r"not now",
        r"too (?:busy|soon|early)", r"circle back", r"revisit", r"(?:in|after) (?:q[1-4]|the new year)",
        r"(?:later|some other time)", r"think about it", r"no rush", r"hold off", r"put (?:it|this) on hold",
        r"bandwidth", r"(?:re)?org(?:anization)?", r"freeze", r"check (?:it )?out later",
        r"get back to you", r"timeline", r"not a priority",
    ),
    "authority": _cues(
        # a boss merely mentioned is not an objection ("I can escalate to my manager"): the
        # decision has to be theirs
        r"(?:ask|check with|talk to|run (?:it|this) by|run (?:it|this) past|get) (?:my|our|the) (?:boss|manager|cto|cfo|ceo|vp|director|team|procurement|legal|board)",
        r"(?:my|our|the) (?:boss|manager|cto|cfo|ceo|vp|director|procurement|legal|board) (?:has|needs|will need|would need|must) to (?:approve|sign|decide|agree|ok)",
        r"(?:procurement|legal|finance) (?:signs?|has to sign) off",
        r"(?:not|isn't|not really) (?:my|up to me)", r"sign[- ]off", r"approv(?:e|al)", r"decision[- ]makers?",
        r"(?:run|check) (?:it|this) (?:by|past|with)", r"need to (?:ask|talk to|check with|consult)",
        r"(?:can't|cannot) (?:decide|make (?:that|the|this) (?:call|decision))", r"my (?:wife|husband|partner)",
        r"committee", r"stakeholders?",
    ),
    "status_quo": _cues(
        r"(?:works?|working) (?:fine|well|for us)", r"happy with", r"(?:don't|do not) need",
        r"no (?:need|reason) to (?:change|switch)", r"(?:if it )?ain't broke", r"good enough",
        r"(?:we've|we have|we) (?:always )?(?:built|build|use|used|do) (?:it|our own|in[- ]house)",
        r"in[- ]house", r"homegrown", r"home[- ]grown", r"not (?:interested|looking)",
        r"(?:current|existing) (?:solution|setup|system|vendor)", r"(?:don't|do not) see the (?:need|value|point)",
        r"already (?:have|got|donate|give)", r"satisfied",
    ),
    "security_compliance": CLAIM_CUES["security_compliance"],
}

_SENTENCE_BREAK = re.compile(r"[.!?]+(?:\s+|$)")


def sentence_and_next(text: str, pos: int) -> tuple[int, int]:
    """Bounds of the sentence holding ``pos`` and the sentence after it."""
    ends = [m.end() for m in _SENTENCE_BREAK.finditer(text)]
    lo = max((e for e in ends if e <= pos), default=0)
    after = [e for e in ends if e > pos]
    hi = after[1] if len(after) > 1 else len(text)
    return lo, hi


_EXEMPLAR_FLOOR = 0.25  # cosine below this says nothing (MiniLM: unrelated sentences ~0.0–0.2)
_EXEMPLAR_CEIL = 0.75  # cosine at or above this is as good as a cue


@dataclass(frozen=True)
class ClaimResult:
    """A typed claim or objection with its confidence and the cue words that support it."""

    type: str
    confidence: float
    cue: str | None = None  # the first cue's words, when a cue matched
    cue_start: int = -1
    cue_end: int = -1


class ClaimClassifier:
    """Types competitor claims and detects objections; build once, call per utterance.

    Args:
        sections: playbook sections; their ``examples`` labelled by ``claim_types`` are the
            exemplars (battlecards for claims, ``kind == "objection"`` for objections).
        embed_fn: ``list[str] -> (n, d)`` float array of L2-normalised rows, or None for cues only.
        cue_weight: share of the cue signal in the combined score when exemplars exist.
        min_confidence: claims below this are ``unspecified``.
        min_objection_confidence: objections below this are not reported.
        names: competitor names, aliases and products. They are replaced by "the vendor" in
            exemplars and queries before embedding, so similarity measures the *claim*, not
            the name: unmasked, "we run Elasticsearch" sat at 0.9 cosine from a support example
            that names Elasticsearch, and was typed a support claim.
    """

    def __init__(
        self,
        sections: Sequence[Section],
        embed_fn: EmbedFn | None = None,
        *,
        cue_weight: float = 0.6,
        min_confidence: float = 0.3,
        min_objection_confidence: float = 0.45,
        names: Sequence[str] = (),
    ) -> None:
        self._embed = embed_fn
        ordered = sorted({n for n in names if n.strip()}, key=len, reverse=True)
        self._names = (
            re.compile(r"\b(?:" + "|".join(re.escape(n) for n in ordered) + r")(?:'s)?\b", re.I)
            if ordered else None
        )
        self._last: tuple[str, np.ndarray] | None = None
        self._cue_weight = cue_weight if embed_fn is not None else 1.0
        self._min = min_confidence
        self._min_objection = min_objection_confidence
        # "unspecified" exemplars (overview sections) compete too: a bare mention that reads
        # like them stays untyped instead of borrowing the nearest claim.
        claim_types = list(CLAIM_TYPES)
        self._claim_ex = self._exemplars(sections, claim_types, objection=False)
        self._objection_ex = self._exemplars(sections, list(OBJECTION_TYPES), objection=True)

    def _exemplars(
        self, sections: Sequence[Section], types: list[str], *, objection: bool
    ) -> tuple[list[str], np.ndarray] | None:
        labels: list[str] = []
        texts: list[str] = []
        for sec in sections:
            if (sec.kind == "objection") != objection:
                continue
            for ctype in sec.claim_types:
                if ctype in types:
                    labels += [ctype] * len(sec.examples)
                    texts += list(sec.examples)
                    break  # an example counts for its section's first known type only
        if self._embed is None or not texts:
            return None
        vectors = np.asarray(self._embed([self._mask(t) for t in texts]), dtype=np.float32)
        return labels, vectors

    def _mask(self, text: str) -> str:
        return self._names.sub("the vendor", text) if self._names is not None else text

    # -- public --------------------------------------------------------------------------

    def classify(self, text: str) -> tuple[str, float]:
        """Claim type of an utterance about a competitor: ``(claim_type, confidence)``.

        Returns ``("unspecified", c)`` when no type reaches ``min_confidence`` (``c`` is the
        best type's score, for calibration).
        """
        result = self.classify_detail(text)
        return result.type, result.confidence

    def classify_detail(self, text: str) -> ClaimResult:
        """Like :meth:`classify`, with the supporting cue span."""
        # as for objections: without a cue word, only a near-copy of an exemplar types a claim.
        # Similarity alone typed "our catalog runs on Elasticsearch" as support, then as
        # contract_switching — a wrong card costs more than an untyped one.
        best = self._best(text, CLAIM_CUES, self._claim_ex, need_cue=True)
        if best.confidence < self._min:
            return ClaimResult("unspecified", best.confidence)
        if best.cue is None:
            sims = self._similarities(text, self._claim_ex)
            if sims.get("unspecified", -1.0) >= sims.get(best.type, -1.0):
                return ClaimResult("unspecified", best.confidence)
        return best

    def objection(self, text: str) -> tuple[str, float] | None:
        """Objection type of an utterance that names no competitor, or None (most utterances)."""
        result = self.objection_detail(text)
        return None if result is None else (result.type, result.confidence)

    def objection_detail(self, text: str) -> ClaimResult | None:
        """Like :meth:`objection`, with the supporting cue span."""
        best = self._best(text, OBJECTION_CUES, self._objection_ex, need_cue=True)
        if best.confidence >= self._min_objection:
            return best
        if best.cue is None:
            return None
        # A cue in a long mono utterance ("…will launch where none search. It's not the right
        # time.") is diluted by the other sentences when the whole is embedded: judge the
        # cue's own sentence and the next one, as mentions are judged by their clause.
        lo, hi = sentence_and_next(text, best.cue_start)
        if (lo, hi) == (0, len(text)):
            return None
        near = self._best(text[lo:hi], OBJECTION_CUES, self._objection_ex, need_cue=True)
        if near.confidence < self._min_objection or near.cue is None:
            return None
        return ClaimResult(near.type, near.confidence, near.cue, lo + near.cue_start,
                           lo + near.cue_end)

    # -- scoring -------------------------------------------------------------------------

    def _best(
        self,
        text: str,
        cues: dict[str, re.Pattern[str]],
        exemplars: tuple[list[str], np.ndarray] | None,
        *,
        need_cue: bool = False,
    ) -> ClaimResult:
        sims = self._similarities(text, exemplars)
        best = ClaimResult("unspecified", 0.0)
        for ctype, pattern in cues.items():
            hits = list(pattern.finditer(text))
            cue = min(1.0, 0.7 + 0.15 * (len(hits) - 1)) if hits else 0.0
            sim = sims.get(ctype)
            if sim is None:
                score = cue if exemplars is None else self._cue_weight * cue
            else:
                scaled = (sim - _EXEMPLAR_FLOOR) / (_EXEMPLAR_CEIL - _EXEMPLAR_FLOOR)
                scaled = min(1.0, max(0.0, scaled))
                score = self._cue_weight * cue + (1.0 - self._cue_weight) * scaled
            # Objections without any cue fire only on a near-copy of an exemplar: the resistance
            # words carry the meaning, similarity alone confuses topic with stance.
            if need_cue and not hits and (sim is None or sim < _EXEMPLAR_CEIL):
                continue
            if score > best.confidence:
                first = hits[0] if hits else None
                best = ClaimResult(
                    ctype,
                    round(score, 4),
                    first.group(0) if first else None,
                    first.start() if first else -1,
                    first.end() if first else -1,
                )
        return best

    def _similarities(
        self, text: str, exemplars: tuple[list[str], np.ndarray] | None
    ) -> dict[str, float]:
        if exemplars is None or self._embed is None:
            return {}
        labels, vectors = exemplars
        if self._last is not None and self._last[0] == text:
            query = self._last[1]  # classify_detail asks twice for the same utterance
        else:
            query = np.asarray(self._embed([self._mask(text)]), dtype=np.float32)[0]
            self._last = (text, query)
        sims = vectors @ query
        out: dict[str, float] = {}
        for label, sim in zip(labels, sims.tolist(), strict=True):
            if sim > out.get(label, -1.0):
                out[label] = sim
        return out
