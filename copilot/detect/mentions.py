"""Competitor mention detection over (partial) transcripts: pure, fast, precision first.

A competitor is found by one of four methods, tried in order of trust:

* ``exact``: the catalog name (``Algolia``);
* ``alias``: an alias, a product or a known ASR misrecognition (``ES``, ``Elastic Cloud``,
  ``all goalie``);
* ``fuzzy``: a word n-gram whose letters are within a small edit distance of a name of at least
  five letters (``algoliah``);
* ``phonetic``: a word n-gram that *sounds* like such a name (metaphone and NYSIIS agree) and is
  still close in spelling — what Whisper writes for a name it has never seen (``all goalia``).

Every surface is compared with its spaces removed against word n-grams joined without spaces, so
ASR splitting and merging (``type sense`` / ``typesense``, ``elastic search`` / ``elasticsearch``)
match as the name itself. Possessives (``Algolia's``) are reduced to the name.

"No card beats a wrong card": look-alikes are rejected by the catalog's ``not_names``
(``elastic band``), surfaces that are ordinary English words (``Elastic``, ``Atlas``) only count
near search-infrastructure context or when capitalised mid-sentence, and aliases of three letters
or fewer (``ES``) only count written in capitals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import jellyfish
from rapidfuzz import fuzz

from copilot.playbooks.model import Competitor

__all__ = ["AMBIGUOUS_WORDS", "CONTEXT_WORDS", "Mention", "MentionDetector", "tokenize"]

Method = Literal["exact", "alias", "fuzzy", "phonetic"]

#: Surfaces that are also ordinary English words: they need context (see module docstring).
AMBIGUOUS_WORDS: frozenset[str] = frozenset(
    {"elastic", "atlas", "beacon", "search", "open", "azure", "bing", "cloud", "index", "type",
     "sense", "postgres search", "full text search"}
)

#: Words that make an ambiguous surface mean the product (search infrastructure talk).
CONTEXT_WORDS: frozenset[str] = frozenset(
    """search searches searching cluster clusters cloud index indexes indices indexing query
    queries database databases db kibana logstash stack node nodes shard shards hosting hosted
    vector vectors relevance engine license licence pricing cost costs migrate migration
    migrating vendor contract renewal renew opensearch lucene atlas mongodb deployment pipeline
    pipelines kafka logs logging observability apm plugin plugins connector connectors api apis
    integration integrates integrate subscription enterprise algolia typesense meilisearch solr beacon
    outage outages uptime sla""".split()
)

_PAID: frozenset[str] = frozenset({"pay", "paid", "pays", "paying"})

# Words that never start a fuzzy/phonetic match: a name is never "the", "and", ….
_STOPWORDS: frozenset[str] = frozenset(
    """a an the and or but of to in on at for with by from is are was were be been it its this
    that these those we you they i he she our your their my me us them so as if not no yes do
    does did have has had will would can could should any some just""".split()
)

_WORD = re.compile(r"[A-Za-z0-9]+(?:[&+.][A-Za-z0-9]+)*(?:['’][A-Za-z]+)?")
_POSSESSIVE = re.compile(r"['’]s?$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]\s*$")
_SENTENCE_BREAK = re.compile(r"[.!?](?=\s|$)")

_SCORES: dict[str, float] = {"exact": 1.0, "alias": 0.95}
_MAX_NGRAM = 3
_CONTEXT_WINDOW = 6  # words either side that may carry search-infrastructure context
_FUZZY_MIN_LEN = 5  # "Names ≥ 5 letters": shorter names have too many look-alikes
_FUZZY_CUTOFF = 88.0  # rapidfuzz ratio (0–100); 88 admits one edit in an 8–9 letter name
_PHONETIC_MIN_RATIO = 70.0


@dataclass(frozen=True)
class Mention:
    """One competitor mention in a text. ``char_start``/``char_end`` index the input string."""

    competitor_id: str
    surface: str  # the words as written in the text
    char_start: int
    char_end: int
    score: float  # 0–1: how sure we are this is the competitor
    method: Method


@dataclass(frozen=True)
class _Token:
    norm: str  # lower case, possessive removed, inner punctuation removed
    start: int
    end: int
    raw: str


@dataclass(frozen=True)
class _Surface:
    competitor_id: str
    key: str  # lower case, no spaces or punctuation
    method: Method
    ambiguous: bool  # needs context (an ordinary English word)
    case_sensitive: str | None  # short acronyms: the exact spelling required ("ES")


def tokenize(text: str) -> list[_Token]:
    """Split ``text`` into word tokens with character spans (possessives and dots folded)."""
    tokens: list[_Token] = []
    for m in _WORD.finditer(text):
        raw = m.group(0)
        norm = _POSSESSIVE.sub("", raw.lower())
        norm = re.sub(r"[^a-z0-9&+]", "", norm)
        if norm:
            tokens.append(_Token(norm, m.start(), m.end(), raw))
    return tokens


def _key(phrase: str) -> str:
    return "".join(t.norm for t in tokenize(phrase))


class MentionDetector:
    """Finds competitor mentions in text; build once per playbook set, call :meth:`find` often.

    Args:
        competitors: the catalog (names, aliases, products, misrecognitions, not_names).
        ambiguous: surfaces (lower case) that also are ordinary words and need context;
            defaults to :data:`AMBIGUOUS_WORDS`.
        fuzzy: enable the fuzzy and phonetic methods (off: exact/alias only, the baseline).
    """

    def __init__(
        self,
        competitors: Sequence[Competitor],
        *,
        ambiguous: Iterable[str] | None = None,
        fuzzy: bool = True,
    ) -> None:
        self._competitors = {c.id: c for c in competitors}
        ambiguous_keys = {_key(a) for a in (AMBIGUOUS_WORDS if ambiguous is None else ambiguous)}
        self._fuzzy = fuzzy
        self._by_key: dict[str, _Surface] = {}
        self._not_names: list[tuple[str, tuple[str, ...]]] = []
        for comp in competitors:
            entries: list[tuple[str, Method]] = [(comp.name, "exact"), (comp.id, "exact")]
            entries += [(a, "alias") for a in (*comp.aliases, *comp.products, *comp.misrecognitions)]
            for phrase, method in entries:
                key = _key(phrase)
                if not key or key in self._by_key and self._by_key[key].method == "exact":
                    continue
                acronym = len(key) <= 3
                self._by_key[key] = _Surface(
                    comp.id,
                    key,
                    method,
                    ambiguous=key in ambiguous_keys,
                    case_sensitive=phrase.strip() if acronym else None,
                )
            for phrase in comp.not_names:
                self._not_names.append((comp.id, tuple(t.norm for t in tokenize(phrase))))
        # Only full names (and multi-word products) are fuzzy targets: fuzzing short aliases
        # and misrecognitions would mostly find look-alikes.
        self._fuzzy_targets = [
            s for s in self._by_key.values()
            if len(s.key) >= _FUZZY_MIN_LEN and not s.ambiguous and s.case_sensitive is None
        ]
        self._phonetic = {
            s.key: (jellyfish.metaphone(s.key), jellyfish.nysiis(s.key)) for s in self._fuzzy_targets
        }
        self._max_key = max((len(k) for k in self._by_key), default=0)

    @property
    def competitors(self) -> dict[str, Competitor]:
        return dict(self._competitors)

    def find(self, text: str) -> list[Mention]:
        """Mentions in ``text``, in text order, never overlapping.

        Where candidates overlap, the longer span wins, then the more trusted method (a product
        name ``Elastic Cloud`` beats the bare ``Elastic`` inside it).
        """
        tokens = tokenize(text)
        if not tokens:
            return []
        candidates: list[tuple[int, int, _Surface, Method, float]] = []  # (i, j) token span
        for i in range(len(tokens)):
            joined = ""
            for j in range(i, min(i + _MAX_NGRAM, len(tokens))):
                joined += tokens[j].norm
                if len(joined) > self._max_key + 2:
                    break
                surface = self._by_key.get(joined)
                if surface is not None:
                    if self._accept(text, tokens, i, j, surface):
                        candidates.append((i, j, surface, surface.method, _SCORES[surface.method]))
                    continue
                if self._fuzzy:
                    hit = self._approximate(tokens, i, j, joined)
                    if hit is None or not self._accept(text, tokens, i, j, hit[0]):
                        continue
                    # one word that only *sounds* like a name ("mango" ~ Mongo) is usually an
                    # ordinary word: it needs search/vendor talk around it, as ambiguous
                    # surfaces do. Misspellings ("algoliah") and several words mashed together
                    # ("all goalia") are not ordinary words and need no context.
                    if i == j and hit[1] == "phonetic" and not self._has_context(
                            text, tokens, i, j, same_sentence=True):
                        continue
                    candidates.append((i, j, *hit))
        return self._resolve(text, tokens, candidates)

    # -- matching ------------------------------------------------------------------------

    def _approximate(
        self, tokens: list[_Token], i: int, j: int, joined: str
    ) -> tuple[_Surface, Method, float] | None:
        if len(joined) < _FUZZY_MIN_LEN or tokens[i].norm in _STOPWORDS:
            return None
        if tokens[j].norm in _STOPWORDS or joined.isdigit():
            return None
        best: tuple[_Surface, Method, float] | None = None
        for target in self._fuzzy_targets:
            if abs(len(joined) - len(target.key)) > 3:
                continue
            ratio = fuzz.ratio(joined, target.key)
            if ratio >= _FUZZY_CUTOFF:
                cand = (target, "fuzzy", round(0.9 * ratio / 100.0, 3))
            elif ratio >= _PHONETIC_MIN_RATIO and joined[0] == target.key[0]:
                meta, nysiis = self._phonetic[target.key]
                if jellyfish.metaphone(joined) != meta or jellyfish.nysiis(joined)[:4] != nysiis[:4]:
                    continue
                cand = (target, "phonetic", round(0.8 * ratio / 100.0, 3))
            else:
                continue
            if best is None or cand[2] > best[2]:
                best = cand  # type: ignore[assignment]
        return best

    def _accept(self, text: str, tokens: list[_Token], i: int, j: int, surface: _Surface) -> bool:
        raw = text[tokens[i].start : tokens[j].end]
        if surface.case_sensitive is not None and _POSSESSIVE.sub("", raw) != surface.case_sensitive:
            return False  # "ES" only as written in capitals; "es", "Es" are other words
        if self._in_not_name(tokens, i, j, surface.competitor_id):
            return False
        if surface.ambiguous:
            return self._has_context(text, tokens, i, j)
        return True

    def _in_not_name(self, tokens: list[_Token], i: int, j: int, competitor_id: str) -> bool:
        norms = [t.norm for t in tokens]
        for cid, phrase in self._not_names:
            if cid != competitor_id or not phrase:
                continue
            n = len(phrase)
            for s in range(max(0, j - n + 1), min(i, len(norms) - n) + 1):
                if tuple(norms[s : s + n]) == phrase and s <= i and s + n - 1 >= j:
                    return True
        return False

    def _has_context(self, text: str, tokens: list[_Token], i: int, j: int,
                     same_sentence: bool = False) -> bool:
        lo, hi = max(0, i - _CONTEXT_WINDOW), min(len(tokens), j + 1 + _CONTEXT_WINDOW)
        near = tokens[lo:i] + tokens[j + 1 : hi]
        if same_sentence:
            # "…search felt slow. Our mango…": the previous sentence's "search" says nothing
            left = max((m.end() for m in _SENTENCE_BREAK.finditer(text, 0, tokens[i].start)),
                       default=0)
            right = _SENTENCE_BREAK.search(text, tokens[j].end)
            stop = right.start() if right else len(text)
            near = [t for t in near if left <= t.start and t.end <= stop]
        if any(t.norm in CONTEXT_WORDS for t in near):
            return True
        if i > 0 and tokens[i - 1].norm in _PAID:
            return True  # "we pay Elastic for …": money goes to a vendor ("demand is elastic, so
            # we pay less" has no vendor, hence only right before the word)
        # Capitalised mid-sentence reads as a proper noun ("we run Elastic today"); at a
        # sentence start capitals say nothing.
        first = tokens[i]
        if not first.raw[:1].isupper():
            return False
        before = text[: first.start].rstrip()
        return bool(before) and not _SENTENCE_END.search(before) and not before.endswith(("\"", ":"))

    def _resolve(
        self,
        text: str,
        tokens: list[_Token],
        candidates: list[tuple[int, int, _Surface, Method, float]],
    ) -> list[Mention]:
        # Catalog matches beat approximate ones whatever their length ("typesense is" must not
        # fuzz past "typesense"); among equals the longer span wins ("Elastic Cloud").
        tier = {"exact": 0, "alias": 0, "fuzzy": 1, "phonetic": 1}
        candidates.sort(key=lambda c: (tier[c[3]], -(c[1] - c[0]), -c[4], c[0]))
        taken: set[int] = set()
        chosen: list[Mention] = []
        for i, j, surface, method, score in candidates:
            span = set(range(i, j + 1))
            if span & taken:
                continue
            taken |= span
            start, end = tokens[i].start, tokens[j].end
            chosen.append(Mention(surface.competitor_id, text[start:end], start, end, score, method))
        chosen.sort(key=lambda m: m.char_start)
        return chosen
