"""Claim typing and objection detection, with cues only and with real exemplar embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.detect.claims import OBJECTION_TYPES, ClaimClassifier
from copilot.playbooks.model import Section


def _section(sid: str, kind: str, claim: str, *examples: str, competitor: str | None = None) -> Section:
    return Section(sid, "x.md", sid, kind, "", "reply", competitor, (claim,), examples)


MINI = (
    _section("a/pricing", "battlecard", "pricing", "Algolia came in cheaper", competitor="algolia"),
    _section("a/perf", "battlecard", "performance", "Algolia answers faster", competitor="algolia"),
    _section("budget", "objection", "budget", "We have no budget for this"),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Algolia is way cheaper", "pricing"),
        ("Typesense is faster than you", "performance"),
        ("Elastic already integrates with our ERP", "integration"),
        ("does Algolia have SOC 2", "security_compliance"),
        ("their support team answers in an hour, 24/7", "support"),
        ("we're renewing our contract with Elastic in March", "contract_switching"),
        ("Algolia has A/B testing out of the box and you don't", "feature_gap"),
        ("we had a call with Algolia", "unspecified"),
    ],
)
def test_cues_alone_type_claims(text, expected):
    clf = ClaimClassifier(MINI)
    claim, confidence = clf.classify(text)
    assert claim == expected
    assert 0.0 <= confidence <= 1.0


def test_cue_span_points_into_text():
    result = ClaimClassifier(MINI).classify_detail("Honestly Algolia came in cheaper")
    assert result.type == "pricing"
    assert "Honestly Algolia came in cheaper"[result.cue_start : result.cue_end] == result.cue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we just don't have the budget this year", "budget"),
        ("let's circle back next quarter", "timing"),
        ("I'd need to run this by my CTO", "authority"),
        ("what we have works fine for us", "status_quo"),
        ("we'd need your SOC 2 report first", "security_compliance"),
    ],
)
def test_objections_by_cue(text, expected):
    got = ClaimClassifier(MINI).objection(text)
    assert got is not None and got[0] == expected
    assert got[0] in OBJECTION_TYPES


@pytest.mark.parametrize(
    "text",
    ["Hello?", "This is Diane in New Jersey.", "I got the wrong size.", "the weather is nice"],
)
def test_no_objection_in_small_talk(text):
    assert ClaimClassifier(MINI).objection(text) is None


def test_embed_fn_is_called_for_exemplars_and_queries():
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        rows = np.ones((len(texts), 4), dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    clf = ClaimClassifier(MINI, embed)
    assert sorted(calls[0]) == sorted(["Algolia came in cheaper", "Algolia answers faster"])
    assert calls[1] == ["We have no budget for this"]
    clf.classify("anything at all")
    assert calls[-1] == ["anything at all"]


@pytest.mark.slow
def test_exemplars_catch_paraphrase_without_cue(playbooks, embedder):
    cue_only = ClaimClassifier(playbooks.sections)
    with_emb = ClaimClassifier(playbooks.sections, embedder.encode)
    text = "Algolia came in a lot lower on the first year quote"
    assert with_emb.classify(text)[0] == "pricing"
    # the embedding signal must add something the cues do not have on their own
    assert with_emb.classify(text)[1] != cue_only.classify(text)[1]


@pytest.mark.slow
def test_real_playbook_exemplars_type_their_own_examples(playbooks, embedder):
    clf = ClaimClassifier(playbooks.sections, embedder.encode)
    battle = [s for s in playbooks.sections if s.kind == "battlecard" and s.claim_types
              and s.claim_types[0] != "unspecified"]
    total = right = 0
    for sec in battle:
        for ex in sec.examples:
            total += 1
            right += clf.classify(ex)[0] == sec.claim_types[0]
    assert total > 20
    assert right / total >= 0.8


@pytest.mark.slow
def test_objection_cue_is_judged_by_its_sentence_in_a_long_utterance(playbooks, embedder):
    """In mono audio an utterance holds both speakers; the garbled rest diluted the embedding.

    The final of the 8 kHz scripted timing call (tiny.en's words): the cue matched, but
    embedding the whole utterance put it below the objection gate, so no flag was raised.
    """
    clf = ClaimClassifier(playbooks.sections, embedder.encode)
    sentence = "It's not the right time."
    text = "As time you mentioned the website will launch where none search. " + sentence
    got = clf.objection_detail(text)
    assert got is not None and got.type == "timing"
    assert text[got.cue_start:got.cue_end] == "not the right time"
    # still nothing where no cue is said, however long the utterance
    assert clf.objection_detail("As time you mentioned the website will launch. "
                                "We are in the middle of the relaunch.") is None
