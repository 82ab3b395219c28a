"""Hybrid retrieval over the repo's playbooks: right section, metadata filters, the gate."""

from __future__ import annotations

import pytest

from copilot.retrieve.hybrid import HybridRetriever, lexical_tokens

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def retriever(playbooks, embedder) -> HybridRetriever:
    return HybridRetriever(playbooks, embedder)


def test_lexical_tokens_stem_and_drop_stopwords():
    assert lexical_tokens("The integrations are cheaper") == lexical_tokens("integration cheap")


@pytest.mark.parametrize(
    ("query", "competitor", "claim", "expected"),
    [
        ("Honestly Algolia came in way cheaper for us", "algolia", "pricing", "algolia/pricing"),
        ("Typesense is faster than you in our benchmarks", "typesense", "performance",
         "typesense/performance"),
        ("we're locked into a three year contract with Elastic", "elasticsearch",
         "contract_switching", "elasticsearch/switching"),
        ("we don't have the budget this quarter", None, "budget", None),
    ],
)
def test_top_hit(retriever, playbooks, query, competitor, claim, expected):
    hits = retriever.search(query, competitor_id=competitor, claim_type=claim)
    assert hits, "expected a hit above the gate"
    top = hits[0].section
    if expected is not None:
        assert top.id == expected
    else:
        assert top.kind == "objection" and claim in top.claim_types
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert all(h.score >= retriever.min_score for h in hits)


def test_other_competitors_cards_are_never_returned(retriever):
    hits = retriever.search("they are cheaper than you", competitor_id="typesense",
                            claim_type="pricing", k=10)
    assert hits and all(h.section.competitor in (None, "typesense") for h in hits)


def test_objection_never_gets_a_battlecard(retriever):
    hits = retriever.search("it costs too much", claim_type="budget", k=10)
    assert all(not (h.section.kind == "battlecard" and h.section.competitor) for h in hits)


def test_gate_returns_nothing_for_off_topic(retriever):
    assert retriever.search("my grandmother grows tomatoes in Texas", min_score=0.6) == []
    assert retriever.search("   ") == []


def test_without_metadata_dense_plus_lexical_still_finds_claim(retriever):
    hits = retriever.search("Algolia quoted us less than you for the first year", k=3)
    assert hits[0].section.id == "algolia/pricing"
    assert 0 < hits[0].dense <= 1 and 0 <= hits[0].lexical <= 1


def test_context_changes_the_query(retriever):
    bare = retriever.search("what about them", k=1, min_score=0.0)
    with_ctx = retriever.search("what about them", k=1, min_score=0.0,
                                context=["Typesense is faster than you"],
                                competitor_id="typesense")
    assert with_ctx[0].section.competitor == "typesense"
    assert with_ctx[0].score != bare[0].score
