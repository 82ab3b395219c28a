"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from copilot.evaluation.dataset import LabelledMention
from copilot.evaluation.metrics import (
    Detection,
    claim_type_macro_f1,
    detection_scores,
    detections_from_flags,
    false_flags_per_hour,
    latency_summary,
    match_detections,
    mean_reciprocal_rank,
    normalize_text,
    number_to_words,
    percentile,
    real_time_factor,
    recall_at_k,
    word_error_rate,
)
from copilot.events import Flag

# ---------------------------------------------------------------- normalisation and WER


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (205, "two hundred five"),
        (200_000, "two hundred thousand"),
        (1_000_001, "one million one"),
        (2_500_000_000, "two billion five hundred million"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


def test_normalize_text_rules() -> None:
    assert normalize_text("Hello, World!") == "hello world"
    assert normalize_text("About 200,000 products") == "about two hundred thousand products"
    assert normalize_text("2.5% faster") == "two point five percent faster"
    assert normalize_text("We DON\u2019T re-index 'often'") == "we don't re index often"
    assert normalize_text("  \n ") == ""


def test_wer_hand_computed() -> None:
    # same length, two words differ (cat→bat, the→very): 2 substitutions / 6 words
    result = word_error_rate("the cat sat on the mat", "the bat sat on very mat")
    assert result.reference_words == 6
    assert (result.substitutions, result.deletions, result.insertions) == (2, 0, 0)
    assert result.wer == pytest.approx(2 / 6)


def test_wer_counts_deletion_and_insertion() -> None:
    r = word_error_rate("a b c d", "a c d e")
    # a=a, b deleted, c=c, d=d, e inserted → 2/4
    assert (r.deletions, r.insertions, r.substitutions) == (1, 1, 0)
    assert r.wer == pytest.approx(0.5)


def test_wer_is_corpus_level_and_normalises() -> None:
    r = word_error_rate(["Two hundred thousand.", "hello there"], ["200,000", "hello"])
    # pair 1: 0 errors / 3 words; pair 2: 1 deletion / 2 words → 1/5 (not the mean 0.25)
    assert r.reference_words == 5
    assert r.wer == pytest.approx(1 / 5)


def test_wer_empty_sides() -> None:
    assert word_error_rate("", "").wer == 0.0
    r = word_error_rate("", "noise words")
    assert r.insertions == 2 and math.isinf(r.wer)
    assert word_error_rate("three words here", "").wer == pytest.approx(1.0)
    with pytest.raises(ValueError):
        word_error_rate(["a"], ["a", "b"])


# ---------------------------------------------------------------- detection matching


def gold(comp: str | None, claim: str, start: float | None, end: float | None = None) -> LabelledMention:
    return LabelledMention(competitor=comp, claim_type=claim, start=start,
                           end=end if end is not None else start, kind="competitor" if comp else "objection")


def pred(comp: str | None, claim: str, start: float | None, end: float | None = None) -> Detection:
    return Detection(comp, claim, start, end if end is not None else start,
                     kind="competitor" if comp else "objection")


def test_match_by_competitor_and_window() -> None:
    labels = [gold("algolia", "pricing", 10.0, 10.5), gold("elasticsearch", "unspecified", 20.0, 21.0)]
    preds = [
        pred("algolia", "pricing", 11.0, 12.0),  # 0.5 s after the label: match
        pred("elasticsearch", "integration", 30.0, 31.0),  # 9 s away: false flag
        pred("typesense", "pricing", 20.0, 21.0),  # wrong competitor: false flag
    ]
    m = match_detections(preds, labels, window=3.0)
    assert m.pairs == ((0, 0),)
    assert m.false_positives == (1, 2)
    assert m.false_negatives == (1,)
    s = detection_scores([m])
    assert (s.tp, s.fp, s.fn) == (1, 2, 1)
    assert s.precision == pytest.approx(1 / 3)
    assert s.recall == pytest.approx(1 / 2)
    assert s.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_match_is_one_to_one_and_prefers_the_closest() -> None:
    labels = [gold("algolia", "pricing", 10.0), gold("algolia", "performance", 14.0)]
    # prediction 0 is within the window of both labels but closest to label 1;
    # prediction 1 can only reach label 0
    preds = [pred("algolia", "performance", 13.5), pred("algolia", "pricing", 9.0)]
    m = match_detections(preds, labels, window=5.0)
    assert m.pairs == ((0, 1), (1, 0))
    # a duplicate flag of an already matched mention is a false positive
    m2 = match_detections([pred("algolia", "pricing", 10.0), pred("algolia", "pricing", 10.2)],
                          [gold("algolia", "pricing", 10.0)])
    assert m2.pairs == ((0, 0),) and m2.false_positives == (1,)


def test_objections_match_on_type_and_untimed_match_in_order() -> None:
    labels = [gold(None, "budget", 5.0), gold("algolia", "pricing", None)]
    preds = [pred(None, "timing", 5.0), pred(None, "budget", 6.0), pred("algolia", "pricing", None)]
    m = match_detections(preds, labels)
    assert m.pairs == ((1, 0), (2, 1))
    assert m.false_positives == (0,)


def test_scores_with_empty_denominators() -> None:
    s = detection_scores([match_detections([], [])])
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    s = detection_scores([match_detections([pred("algolia", "pricing", 1.0)], [])])
    assert (s.precision, s.recall, s.f1) == (0.0, 1.0, 0.0)


def test_claim_type_macro_f1_hand_computed() -> None:
    labels = [gold("algolia", "pricing", 1.0), gold("typesense", "feature_gap", 10.0),
              gold("elasticsearch", "pricing", 20.0)]
    preds = [pred("algolia", "pricing", 1.0), pred("typesense", "pricing", 10.0),
             pred("mongodb", "support", 30.0)]
    m = match_detections(preds, labels)
    macro, per = claim_type_macro_f1([(preds, labels, m)])
    # pricing: TP 1 (algolia); FP 1 (typesense said pricing, label feature_gap); FN 1 (es missed)
    #   → P 1/2, R 1/2, F1 1/2
    # feature_gap: TP 0, FP 0, FN 1 → P 1.0 (nothing predicted), R 0 → F1 0
    # support: TP 0, FP 1, FN 0 → P 0, R 1.0 → F1 0
    assert per["pricing"].f1 == pytest.approx(0.5)
    assert per["feature_gap"].f1 == 0.0 and per["support"].f1 == 0.0
    assert macro == pytest.approx(0.5 / 3)


def test_false_flags_per_hour_and_rtf() -> None:
    assert false_flags_per_hour(3, 1800.0) == pytest.approx(6.0)
    assert real_time_factor(12.0, 60.0) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        false_flags_per_hour(1, 0.0)
    with pytest.raises(ValueError):
        real_time_factor(1.0, -1.0)


def test_detections_from_flag_events() -> None:
    flag = Flag(flag_id="f1", competitor="algolia", claim_type="pricing", start=1.5, end=2.0,
                speaker="customer")
    (d,) = detections_from_flags([flag])
    assert d == Detection("algolia", "pricing", 1.5, 2.0, "customer", "competitor")


# ---------------------------------------------------------------- percentiles, retrieval


def test_percentile_linear_interpolation() -> None:
    xs = [4.0, 1.0, 3.0, 2.0]  # sorted 1 2 3 4
    assert percentile(xs, 50) == pytest.approx(2.5)  # rank 1.5
    assert percentile(xs, 95) == pytest.approx(3.85)  # rank 2.85 → 3 + 0.85
    assert percentile(xs, 0) == 1.0 and percentile(xs, 100) == 4.0
    assert percentile([7.0], 95) == 7.0
    rng = np.random.default_rng(0)
    sample = rng.random(101).tolist()
    for q in (5, 50, 90, 95, 99):
        assert percentile(sample, q) == pytest.approx(float(np.percentile(sample, q)))
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_summary() -> None:
    s = latency_summary([0.1, 0.2, 0.3])
    assert s["n"] == 3 and s["p50"] == pytest.approx(0.2) and s["max"] == pytest.approx(0.3)
    assert s["p95"] == pytest.approx(0.29)
    assert latency_summary([])["n"] == 0


def test_recall_at_k_and_mrr() -> None:
    ranked = [["a", "b", "c"], ["x", "y", "z"], ["p", "q"], ["m"]]
    relevant = [{"b"}, {"z", "y"}, {"nope"}, set()]  # last query has no label: skipped
    assert recall_at_k(ranked, relevant, 1) == pytest.approx(0 / 3)
    assert recall_at_k(ranked, relevant, 2) == pytest.approx(2 / 3)
    assert mean_reciprocal_rank(ranked, relevant) == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    with pytest.raises(ValueError):
        recall_at_k(ranked, relevant, 0)
    with pytest.raises(ValueError):
        mean_reciprocal_rank(ranked, relevant[:2])
