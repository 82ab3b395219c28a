"""The detection facade: competitor + claim, objections, speaker priority, evidence spans."""

from __future__ import annotations

import pytest

from copilot.detect.claims import ClaimClassifier
from copilot.detect.detector import REP_PRIORITY_FACTOR, Detector
from copilot.playbooks.model import Competitor

CATALOG = (
    Competitor("algolia", "Algolia"),
    Competitor("typesense", "Typesense", misrecognitions=("type sense",)),
)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(CATALOG, ClaimClassifier(()))


def test_competitor_claim_with_evidence_span(detector):
    text = "Honestly, Algolia came in cheaper for us."
    (d,) = detector.detect(text, "customer")
    assert (d.kind, d.competitor_id, d.competitor_name, d.claim_type) == (
        "competitor", "algolia", "Algolia", "pricing")
    assert text[d.char_start : d.char_end] == d.evidence
    assert "Algolia" in d.evidence and "cheaper" in d.evidence
    assert d.priority == d.confidence


def test_each_competitor_typed_by_its_own_clause(detector):
    found = detector.detect("Algolia is cheaper, but type sense is faster", "customer")
    by_id = {d.competitor_id: d.claim_type for d in found}
    assert by_id == {"algolia": "pricing", "typesense": "performance"}


def test_claim_in_neighbouring_sentence(detector):
    (d,) = detector.detect("We use Typesense. It is a lot cheaper.", "customer")
    assert d.claim_type == "pricing"


def test_bare_name_is_unspecified_and_less_confident(detector):
    (bare,) = detector.detect("We also talked to Algolia", "customer")
    (typed,) = detector.detect("Algolia is cheaper", "customer")
    assert bare.claim_type == "unspecified"
    assert bare.confidence < typed.confidence


def test_rep_speech_gets_lower_priority(detector):
    (cust,) = detector.detect("Algolia is cheaper", "customer")
    (rep,) = detector.detect("Algolia is cheaper", "rep")
    assert rep.confidence == cust.confidence
    assert rep.priority == pytest.approx(cust.priority * REP_PRIORITY_FACTOR, abs=1e-3)
    assert rep.speaker == "rep"


def test_objection_when_no_competitor(detector):
    (d,) = detector.detect("we don't have the budget for this", "customer")
    assert (d.kind, d.competitor_id, d.claim_type) == ("objection", None, "budget")
    assert d.evidence in "we don't have the budget for this"


@pytest.mark.parametrize("text", ["Hello?", "Oh, I'm originally from Chicago also.", ""])
def test_nothing_in_small_talk(detector, text):
    assert detector.detect(text, "customer") == []


@pytest.mark.slow
def test_from_real_playbooks(playbooks, embedder):
    det = Detector.from_playbooks(playbooks, embedder.encode)
    (d,) = det.detect("we're locked into a three year contract with Elastic", "customer")
    assert (d.competitor_id, d.claim_type) == ("elasticsearch", "contract_switching")


def test_claim_near_types_a_claim_without_the_name(detector):
    text = "Hello there. It would mean rebuilding all the integrations. Anyway."
    d = detector.claim_near(text, text.index("It would"), "algolia", 0.9, "customer")
    assert d is not None and (d.competitor_id, d.claim_type) == ("algolia", "integration")
    assert text[d.char_start:d.char_end] == "integrations" and d.method == "carried"
    # nothing is invented where no claim cue is said
    assert detector.claim_near("Hello there. How are you?", 13, "algolia", 0.9) is None
