"""The shipped playbooks/ directory: loads, validates cleanly, and meets the content bar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from copilot.events import CLAIM_TYPES
from copilot.playbooks.check import check_playbooks
from copilot.playbooks.loader import OBJECTION_TYPES, load_playbooks
from copilot.playbooks.model import PlaybookSet

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
MAIN_RIVALS = ("algolia", "elasticsearch", "typesense")


@pytest.fixture(scope="module")
def playbook_set() -> PlaybookSet:
    return load_playbooks(PLAYBOOKS)


def test_shipped_playbooks_validate_with_zero_problems() -> None:
    assert [str(p) for p in check_playbooks(PLAYBOOKS)] == []


def test_catalog_has_the_five_competitors(playbook_set: PlaybookSet) -> None:
    ids = {c.id for c in playbook_set.competitors}
    assert ids == {"algolia", "elasticsearch", "typesense", "postgresql", "mongodb_atlas"}
    for comp in playbook_set.competitors:
        assert comp.aliases or comp.products, comp.id
        assert comp.misrecognitions, comp.id  # what tiny ASR writes instead of the name
        assert comp.not_names, comp.id


def test_deliberate_name_decisions(playbook_set: PlaybookSet) -> None:
    es = playbook_set.competitor("elasticsearch")
    assert es is not None
    forms = {f.casefold() for f in (es.name, *es.aliases, *es.products, *es.misrecognitions)}
    assert "opensearch" not in forms  # a separate product, not Elasticsearch
    assert "elastic search" in forms
    assert {"elastic band", "elastic waist"} <= {n.casefold() for n in es.not_names}
    ts = playbook_set.competitor("typesense")
    assert ts is not None and "typesetting" in ts.not_names and "type sense" in ts.misrecognitions


@pytest.mark.parametrize("competitor", MAIN_RIVALS)
def test_main_battlecards_cover_every_claim_type(
    playbook_set: PlaybookSet, competitor: str
) -> None:
    sections = [s for s in playbook_set.sections if s.competitor == competitor]
    assert len(sections) >= 6
    covered = {c for s in sections for c in s.claim_types}
    assert covered == set(CLAIM_TYPES)  # the 7 claim types plus the "unspecified" overview


def test_objection_handlers_cover_every_objection_type(playbook_set: PlaybookSet) -> None:
    objections = [s for s in playbook_set.sections if s.kind == "objection"]
    assert {c for s in objections for c in s.claim_types} == set(OBJECTION_TYPES)
    assert all(s.competitor is None for s in objections)


def test_solution_packs_for_three_industries(playbook_set: PlaybookSet) -> None:
    packs = {s.file.split("/")[1] for s in playbook_set.sections if s.kind == "solution_pack"}
    assert packs == {"saas", "manufacturing", "retail"}


def test_every_section_meets_the_content_bar(playbook_set: PlaybookSet) -> None:
    for s in playbook_set.sections:
        assert 3 <= len(s.examples) <= 6, s.id
        sentences = len(re.findall(r"[.?!](?=\s|$)", s.reply))
        assert 1 <= sentences <= 3, (s.id, s.reply)
        assert s.owner.endswith("@beacon.example"), s.id
        assert s.last_reviewed is not None, s.id


def test_battlecard_examples_are_not_copied_between_sections(playbook_set: PlaybookSet) -> None:
    seen: dict[str, str] = {}
    for s in playbook_set.sections:
        for example in s.examples:
            key = example.casefold()
            assert key not in seen, (example, seen.get(key), s.id)
            seen[key] = s.id
