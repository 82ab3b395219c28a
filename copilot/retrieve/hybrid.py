"""Hybrid playbook retrieval: dense (FAISS) + lexical (BM25), fused, boosted, gated.

Fusion is a weighted sum of the dense cosine and the BM25 score scaled to 0–1 by the best BM25
score of the query (RRF would throw away how *close* the best match is, and the gate needs an
absolute scale — the dense cosine gives it). Metadata then decides: a battlecard about another
competitor than the one flagged is never returned (a wrong card is worse than none); the flagged
competitor's and claim type's sections get a boost. Nothing under ``min_score`` is returned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from copilot.playbooks.model import PlaybookSet, Section
from copilot.retrieve.embedder import TextEncoder
from copilot.retrieve.index import SectionIndex, load_or_build

# bm25s sets its own logger to DEBUG at import, which prints index builds into server logs
logging.getLogger("bm25s").setLevel(logging.WARNING)

__all__ = ["Hit", "HybridRetriever", "lexical_tokens"]

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    """a an the and or but of to in on at for with by from is are was were be been it its this
    that these those we you they i he she our your their my me us them so as if not do does did
    have has had will would can could should just also there here what which who how about than
    then very really like um uh yeah okay ok oh well""".split()
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ers", "er", "est", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    # Crude suffix stripping (no stemmer wheel is installed): "cheaper"/"cheap",
    # "integrates"/"integration"/"integrate" → "integr"… good enough for a second signal.
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 4:
            return word[: -len(suf)].rstrip("e")
    return word.rstrip("e") if len(word) > 4 else word


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased, stop-worded, crudely stemmed tokens for BM25 (documents and queries alike)."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


@dataclass(frozen=True)
class Hit:
    """One retrieved section: fused ``score`` (what the gate sees) and its two parts."""

    section: Section
    score: float
    dense: float
    lexical: float


class HybridRetriever:
    """Retrieves playbook sections for a flagged utterance.

    Args:
        playbooks: the loaded playbook set.
        embedder: the text encoder (same model as ``index``).
        index: a dense :class:`SectionIndex`; None builds one in memory (or from ``index_dir``).
        index_dir: where to persist the dense index (see :func:`load_or_build`).
        min_score: the confidence gate on the fused score.
        dense_weight: share of the dense cosine in the fused score (lexical gets the rest).
        competitor_boost / claim_boost: added when the section is about the flagged
            competitor / carries the flagged claim type.
        context_weight: share of the recent-context vector in the dense query.
    """

    def __init__(
        self,
        playbooks: PlaybookSet,
        embedder: TextEncoder,
        index: SectionIndex | None = None,
        *,
        index_dir: str | None = None,
        min_score: float = 0.35,
        dense_weight: float = 0.7,
        competitor_boost: float = 0.1,
        claim_boost: float = 0.1,
        context_weight: float = 0.25,
    ) -> None:
        self._sections = {s.id: s for s in playbooks.sections}
        self._order = [s.id for s in playbooks.sections]
        self._embedder = embedder
        self._index = index or load_or_build(playbooks, embedder, index_dir)
        self.min_score = min_score
        self._wd = dense_weight
        self._boost_comp = competitor_boost
        self._boost_claim = claim_boost
        self._ctx_w = context_weight
        corpus = [lexical_tokens(_lexical_doc(s)) for s in playbooks.sections]
        self._bm25: bm25s.BM25 | None = None
        if corpus:
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)

    @property
    def version(self) -> str:
        return str(self._index.meta.get("playbook_version", ""))

    def search(
        self,
        query: str,
        *,
        competitor_id: str | None = None,
        claim_type: str | None = None,
        context: Sequence[str] = (),
        k: int = 3,
        min_score: float | None = None,
    ) -> list[Hit]:
        """Up to ``k`` sections for ``query``, best first, all at or above the gate.

        Args:
            query: the flagged utterance.
            competitor_id: the flagged competitor; other competitors' sections are excluded.
            claim_type: the flagged claim (or objection) type, boosted when a section carries it;
                given without ``competitor_id`` (an objection), competitor sections are excluded.
            context: recent utterances of the call, oldest first (they sharpen short queries).
            k: how many hits at most.
            min_score: override the gate for this query.
        """
        gate = self.min_score if min_score is None else min_score
        if not self._sections or not query.strip():
            return []
        dense = self._dense(query, context)
        lexical = self._lexical(query, context)
        hits: list[Hit] = []
        for sid in self._order:
            sec = self._sections[sid]
            if competitor_id is not None and sec.competitor not in (None, competitor_id):
                continue
            if competitor_id is None and claim_type and sec.competitor is not None:
                continue  # a typed flag naming no competitor (an objection) never gets a battlecard
            d, lex = dense.get(sid, 0.0), lexical.get(sid, 0.0)
            score = self._wd * d + (1.0 - self._wd) * lex
            if competitor_id is not None and sec.competitor == competitor_id:
                score += self._boost_comp
            # "unspecified" is a type too: a bare mention ("we run Elasticsearch") is answered
            # by the competitor's overview card, not by whichever claim card shares most words
            if claim_type and claim_type in sec.claim_types:
                score += self._boost_claim
            if score >= gate:
                hits.append(Hit(sec, round(score, 4), round(d, 4), round(lex, 4)))
        hits.sort(key=lambda h: (-h.score, h.section.id))
        return hits[:k]

    def _dense(self, query: str, context: Sequence[str]) -> dict[str, float]:
        texts = [query]
        recent = " ".join(context[-3:]).strip()
        if recent and self._ctx_w > 0:
            texts.append(recent)
        vectors = self._embedder.encode(texts)
        q = vectors[0]
        if len(texts) == 2:
            q = (1.0 - self._ctx_w) * vectors[0] + self._ctx_w * vectors[1]
            q = q / max(float(np.linalg.norm(q)), 1e-12)
        return self._index.search(q, k=len(self._sections))

    def _lexical(self, query: str, context: Sequence[str]) -> dict[str, float]:
        if self._bm25 is None:
            return {}
        tokens = lexical_tokens(query) + lexical_tokens(" ".join(context[-2:]))
        if not tokens:
            return {}
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        top = float(scores.max()) if scores.size else 0.0
        if top <= 0:
            return {}
        return {sid: float(s) / top for sid, s in zip(self._order, scores.tolist(), strict=True)}


def _lexical_doc(sec: Section) -> str:
    return "\n".join([sec.title, *sec.examples, sec.reply, sec.text])
