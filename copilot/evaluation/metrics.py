"""Eval metrics: pure functions over plain values (definitions in docs/eval.md).

- :func:`normalize_text` / :func:`word_error_rate`: WER after one documented normalisation.
- :func:`match_detections` / :func:`detection_scores`: flags vs labelled mentions, one-to-one.
- :func:`claim_type_macro_f1`, :func:`false_flags_per_hour`.
- :func:`percentile` / :func:`latency_summary`: p50/p95 with linear interpolation.
- :func:`recall_at_k`, :func:`mean_reciprocal_rank`: retrieval.
- :func:`real_time_factor`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import jiwer

from copilot.evaluation.dataset import LabelledMention

__all__ = [
    "Detection",
    "MatchResult",
    "Scores",
    "WerResult",
    "claim_type_macro_f1",
    "detection_scores",
    "detections_from_flags",
    "false_flags_per_hour",
    "latency_summary",
    "match_detections",
    "mean_reciprocal_rank",
    "normalize_text",
    "number_to_words",
    "percentile",
    "real_time_factor",
    "recall_at_k",
    "word_error_rate",
]

# --------------------------------------------------------------------------- WER

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def number_to_words(n: int) -> str:
    """Spell a non-negative integer the way it is usually read ("two hundred thousand").

    No "and" (American usage, as Whisper's references); years are read as cardinals too.
    """
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (" " + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + number_to_words(rest) if rest else "")
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return number_to_words(head) + " " + name + (" " + number_to_words(rest) if rest else "")
    raise AssertionError("unreachable")


_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(%?)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def _spell_number(m: re.Match[str]) -> str:
    whole, frac, percent = m.group(1), m.group(2), m.group(3)
    words = number_to_words(int(whole.replace(",", "")))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    return f" {words}{' percent' if percent else ''} "


def normalize_text(text: str) -> str:
    """The WER normalisation (applied to reference and hypothesis alike).

    NFKC; lower case; digits spelt out (``200,000`` → ``two hundred thousand``, ``2.5`` → ``two
    point five``, ``%`` → ``percent``); hyphens and slashes become spaces; every other character
    that is not a letter, digit, apostrophe or space is dropped; apostrophes are kept inside
    words (``don't``) and dropped at word edges; whitespace collapsed. Spelling variants,
    contractions and filler words are *not* normalised (kept simple; see docs/eval.md).
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _NUMBER.sub(_spell_number, text)
    text = re.sub(r"[-\u2010-\u2015/]", " ", text)
    text = "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text)
    words = (w.strip("'") for w in text.split())
    return " ".join(w for w in words if w)


@dataclass(frozen=True)
class WerResult:
    """Corpus WER: ``(substitutions + deletions + insertions) / reference_words``."""

    wer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int


def word_error_rate(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> WerResult:
    """Corpus-level WER over pairs (errors summed over pairs, divided by reference words).

    A pair whose normalised reference is empty contributes its hypothesis words as insertions.
    With no reference words at all, ``wer`` is 0.0 if there were no insertions, else ``inf``.

    Raises:
        ValueError: the two sequences differ in length.
    """
    refs = [references] if isinstance(references, str) else list(references)
    hyps = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    s = d = i = h = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r, p = normalize_text(ref), normalize_text(hyp)
        if not r:
            i += len(p.split())
            continue
        if not p:
            d += len(r.split())
            continue
        out = jiwer.process_words(r, p)
        s, d, i, h = s + out.substitutions, d + out.deletions, i + out.insertions, h + out.hits
    n = s + d + h
    wer = (s + d + i) / n if n else (0.0 if i == 0 else math.inf)
    return WerResult(wer, s, d, i, h, n)


# --------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class Detection:
    """A predicted flag, reduced to what is scored. ``start``/``end`` None for text-only runs."""

    competitor: str | None
    claim_type: str
    start: float | None = None
    end: float | None = None
    speaker: str = "unknown"
    kind: str = "competitor"


def detections_from_flags(flags: Iterable[object]) -> list[Detection]:
    """Adapt :class:`copilot.events.Flag` events (or anything with the same attributes)."""
    return [
        Detection(
            competitor=getattr(f, "competitor", None),
            claim_type=getattr(f, "claim_type", "unspecified"),
            start=getattr(f, "start", None),
            end=getattr(f, "end", None),
            speaker=getattr(f, "speaker", "unknown"),
            kind=getattr(f, "kind", "competitor"),
        )
        for f in flags
    ]


@dataclass(frozen=True)
class MatchResult:
    """``pairs``: (prediction index, label index); the rest are unmatched indices, ascending."""

    pairs: tuple[tuple[int, int], ...]
    false_positives: tuple[int, ...]
    false_negatives: tuple[int, ...]


def _key(x: Detection | LabelledMention) -> tuple[str, str]:
    # objections have no competitor: they match on their type instead
    return ("competitor", x.competitor or "") if x.competitor else ("objection", x.claim_type)


def _time_gap(p: Detection, g: LabelledMention) -> float | None:
    """Seconds between the two spans (0 if they overlap); None if either is untimed."""
    if p.start is None or g.start is None:
        return None
    p_end = p.end if p.end is not None else p.start
    g_end = g.end if g.end is not None else g.start
    return max(0.0, p.start - g_end, g.start - p_end)


def match_detections(
    predicted: Sequence[Detection], labelled: Sequence[LabelledMention], window: float = 3.0
) -> MatchResult:
    """Match predictions to labels one-to-one, greedily by time gap.

    A prediction can match a label when both name the same competitor (objections: the same
    objection type, since they have no competitor) and their time spans are at most ``window``
    seconds apart (0 when they overlap). When either side is untimed (text-only), any candidate
    is allowed and ties are broken by order. Candidate pairs are taken in increasing
    (gap, label index, prediction index) order; each side is used at most once. Claim type does
    *not* affect matching (it is scored separately by :func:`claim_type_macro_f1`).
    """
    candidates: list[tuple[float, int, int]] = []
    for pi, p in enumerate(predicted):
        for gi, g in enumerate(labelled):
            if _key(p) != _key(g):
                continue
            gap = _time_gap(p, g)
            if gap is None:
                candidates.append((0.0, gi, pi))
            elif gap <= window:
                candidates.append((gap, gi, pi))
    candidates.sort()
    used_p: set[int] = set()
    used_g: set[int] = set()
    pairs = []
    for _, gi, pi in candidates:
        if pi in used_p or gi in used_g:
            continue
        used_p.add(pi)
        used_g.add(gi)
        pairs.append((pi, gi))
    return MatchResult(
        pairs=tuple(sorted(pairs)),
        false_positives=tuple(i for i in range(len(predicted)) if i not in used_p),
        false_negatives=tuple(i for i in range(len(labelled)) if i not in used_g),
    )


@dataclass(frozen=True)
class Scores:
    """Precision/recall/F1 with the counts they come from."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def _prf(tp: int, fp: int, fn: int) -> Scores:
    # empty denominators: nothing predicted → no wrong prediction (precision 1.0); nothing to
    # find → nothing missed (recall 1.0); F1 is 0.0 when both P and R are 0
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)


def detection_scores(matches: Iterable[MatchResult]) -> Scores:
    """Micro precision/recall/F1 over the matches of one or more cases."""
    tp = fp = fn = 0
    for m in matches:
        tp, fp, fn = tp + len(m.pairs), fp + len(m.false_positives), fn + len(m.false_negatives)
    return _prf(tp, fp, fn)


def claim_type_macro_f1(
    cases: Iterable[tuple[Sequence[Detection], Sequence[LabelledMention], MatchResult]],
) -> tuple[float, dict[str, Scores]]:
    """End-to-end claim-type macro F1 over labels and predictions of competitor mentions.

    For each claim type c: TP = matched pairs where both sides say c; FP = predictions saying c
    that are unmatched or matched to a label of another type; FN = labels of type c that are
    unmatched or matched to a prediction of another type. The macro F1 is the unweighted mean
    of per-type F1 over the types that occur in labels or predictions (0.0 if none occur).
    Objections are excluded (their type is their match key, so it cannot be wrong).

    Returns:
        ``(macro_f1, per_type_scores)``.
    """
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    fn: dict[str, int] = {}
    for predicted, labelled, match in cases:
        matched_p = {pi: gi for pi, gi in match.pairs}
        matched_g = {gi: pi for pi, gi in match.pairs}
        for pi, p in enumerate(predicted):
            if not p.competitor:
                continue
            gi = matched_p.get(pi)
            if gi is not None and labelled[gi].claim_type == p.claim_type:
                tp[p.claim_type] = tp.get(p.claim_type, 0) + 1
            else:
                fp[p.claim_type] = fp.get(p.claim_type, 0) + 1
        for gi, g in enumerate(labelled):
            if not g.competitor:
                continue
            pi = matched_g.get(gi)
            if pi is None or predicted[pi].claim_type != g.claim_type:
                fn[g.claim_type] = fn.get(g.claim_type, 0) + 1
    types = sorted(set(tp) | set(fp) | set(fn))
    per_type = {c: _prf(tp.get(c, 0), fp.get(c, 0), fn.get(c, 0)) for c in types}
    macro = sum(s.f1 for s in per_type.values()) / len(per_type) if per_type else 0.0
    return macro, per_type


def false_flags_per_hour(false_flags: int, audio_seconds: float) -> float:
    """False flags per hour of audio.

    Raises:
        ValueError: ``audio_seconds`` is not positive.
    """
    if audio_seconds <= 0:
        raise ValueError("audio_seconds must be positive")
    return false_flags * 3600.0 / audio_seconds


# --------------------------------------------------------------------------- latency, speed


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between closest ranks.

    Same definition as ``numpy.percentile(method="linear")`` (Hyndman & Fan type 7): sort, take
    rank ``(n - 1) * q / 100`` and interpolate between its neighbours.

    Raises:
        ValueError: no values, or q outside [0, 100].
    """
    xs = sorted(values)
    if not xs:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    rank = (len(xs) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo)


def latency_summary(values: Iterable[float]) -> dict[str, float]:
    """``{"n", "p50", "p95", "mean", "max"}`` of latencies (n 0 and NaN stats when empty)."""
    xs = list(values)
    if not xs:
        return {"n": 0, "p50": math.nan, "p95": math.nan, "mean": math.nan, "max": math.nan}
    return {"n": len(xs), "p50": percentile(xs, 50), "p95": percentile(xs, 95),
            "mean": sum(xs) / len(xs), "max": max(xs)}


def real_time_factor(processing_seconds: float, audio_seconds: float) -> float:
    """Processing time divided by audio duration (< 1 is faster than real time).

    Raises:
        ValueError: ``audio_seconds`` is not positive.
    """
    if audio_seconds <= 0:
        raise ValueError("audio_seconds must be positive")
    return processing_seconds / audio_seconds


# --------------------------------------------------------------------------- retrieval


def _check(ranked: Sequence[Sequence[str]], relevant: Sequence[Collection[str]]) -> list[int]:
    if len(ranked) != len(relevant):
        raise ValueError(f"{len(ranked)} rankings but {len(relevant)} relevance sets")
    # queries with nothing relevant cannot be scored; they are left out of the mean
    return [i for i, rel in enumerate(relevant) if rel]


def recall_at_k(ranked: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int) -> float:
    """Share of queries with at least one relevant id in their top ``k`` (hit rate).

    Queries with an empty relevance set are skipped; 0.0 if none is left.

    Raises:
        ValueError: k < 1 or the two sequences differ in length.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    scored = _check(ranked, relevant)
    if not scored:
        return 0.0
    hits = sum(1 for i in scored if set(ranked[i][:k]) & set(relevant[i]))
    return hits / len(scored)


def mean_reciprocal_rank(ranked: Sequence[Sequence[str]], relevant: Sequence[Collection[str]]) -> float:
    """Mean over queries of 1 / (rank of the first relevant id), 0 for a query with none.

    Queries with an empty relevance set are skipped; 0.0 if none is left.
    """
    scored = _check(ranked, relevant)
    if not scored:
        return 0.0
    total = 0.0
    for i in scored:
        rank = next((r for r, sid in enumerate(ranked[i], start=1) if sid in relevant[i]), None)
        total += 1.0 / rank if rank else 0.0
    return total / len(scored)
