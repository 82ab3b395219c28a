"""Extractive composer: verbatim approved reply, optional proof point, sources with version."""

from __future__ import annotations

from copilot.events import Source
from copilot.playbooks.model import Section
from copilot.retrieve.hybrid import Hit
from copilot.suggest.extractive import compose_extractive, proof_point

BODY = "Usage based billing grows.\n\n**Proof points**\n- Fixed tiers since 2021.\n- Another.\n"
SEC = Section("algolia/pricing", "competitors/algolia.md", "Pricing", "battlecard", BODY,
              "We are fixed-tier.", "algolia", ("pricing",))
OTHER = Section("algolia/perf", "competitors/algolia.md", "Perf", "battlecard", "", "Fast too.",
                "algolia", ("performance",))


def test_top_reply_with_proof_and_source():
    text, sources = compose_extractive(None, [Hit(SEC, 0.8, 0.7, 0.5), Hit(OTHER, 0.5, 0.5, 0)], "abc123")
    assert text == "We are fixed-tier. Fixed tiers since 2021."
    assert sources == (Source("competitors/algolia.md", "algolia/pricing", "Pricing", "abc123", 0.8),)


def test_without_proof_is_reply_only():
    text, _ = compose_extractive(None, [Hit(SEC, 0.8, 0.7, 0.5)], "v", with_proof=False)
    assert text == SEC.reply


def test_no_hits_no_suggestion():
    assert compose_extractive(None, [], "v") == ("", ())


def test_proof_point_forms():
    assert proof_point("- Proof: 40% lower bill at ACME") == "40% lower bill at ACME"
    assert proof_point("## Proof\n- one\n- two") == "one"
    assert proof_point("no proof here") is None
    wrapped = "**Proof points**\n- Typo tolerance is on\n  by default.\n- next one"
    assert proof_point(wrapped) == "Typo tolerance is on by default."


def test_deterministic():
    hits = [Hit(SEC, 0.8, 0.7, 0.5)]
    assert compose_extractive(None, hits, "v") == compose_extractive(None, hits, "v")
