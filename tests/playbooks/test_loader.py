"""Parsing playbook text into the model, the version hash, and load_playbooks on a directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from copilot.errors import PlaybookError
from copilot.playbooks.loader import (
    PlaybookFile,
    load_playbooks,
    parse_playbook,
    playbook_version,
    read_playbook_files,
)

BATTLECARD = """\
---
kind: battlecard
competitor:
  id: acme
  name: Acme Search
  aliases: [Acme, ACME Cloud]
  products: [Acme Vector]
  misrecognitions: [ack me search]
  not_names: [acme anvil]
owner: ana@beacon.example
last_reviewed: 2026-10-15
---
# Beacon vs Acme

Preamble text is not a section.

## Pricing: "Acme is cheaper" {#pricing}
claim: pricing
examples:
  - Acme is half your price
  - Acme's plan costs less
reply: >-
  Acme bills per search;
  we bill a flat tier.

**Proof** points here.

```
## not a heading, inside a code fence
```

## Feature gap
claim: [feature_gap, integration]
owner: bo@beacon.example
last_reviewed: 2026-11-01
reply: We have it.
"""


def test_battlecard_round_trips_to_competitor_and_sections() -> None:
    competitors, sections = parse_playbook(BATTLECARD, "competitors/acme.md")

    assert len(competitors) == 1
    acme = competitors[0]
    assert (acme.id, acme.name) == ("acme", "Acme Search")
    assert acme.aliases == ("Acme", "ACME Cloud")
    assert acme.products == ("Acme Vector",)
    assert acme.misrecognitions == ("ack me search",)
    assert acme.not_names == ("acme anvil",)
    assert (acme.file, acme.line) == ("competitors/acme.md", 3)

    assert [s.id for s in sections] == ["acme/pricing", "acme/feature-gap"]
    pricing, gap = sections
    assert pricing.title == 'Pricing: "Acme is cheaper"'
    assert pricing.kind == "battlecard"
    assert pricing.competitor == "acme"
    assert pricing.claim_types == ("pricing",)
    assert pricing.examples == ("Acme is half your price", "Acme's plan costs less")
    assert pricing.reply == "Acme bills per search; we bill a flat tier."
    assert pricing.text.startswith("**Proof** points here.")
    assert "## not a heading" in pricing.text  # fenced code stays in the body
    assert pricing.owner == "ana@beacon.example"
    assert pricing.last_reviewed == date(2026, 10, 15)
    assert pricing.line == 17

    # Section-level owner/last_reviewed override the file's; anchor defaults to the title slug.
    assert gap.claim_types == ("feature_gap", "integration")
    assert gap.owner == "bo@beacon.example"
    assert gap.last_reviewed == date(2026, 11, 1)
    assert gap.examples == ()
    assert gap.text == ""


def test_objection_file_has_no_competitor_and_uses_file_stem_as_prefix() -> None:
    text = """---
kind: objection
owner: o@beacon.example
last_reviewed: 2026-01-02
---
## Not now {#not-now}
claim: timing
examples: [Call me next year]
reply: Fair enough.
"""
    competitors, sections = parse_playbook(text, "objections/timing.md")
    assert competitors == []
    assert [(s.id, s.kind, s.competitor) for s in sections] == [
        ("timing/not-now", "objection", None)
    ]


def test_file_id_and_competitor_reference_outside_battlecards() -> None:
    text = """---
kind: solution_pack
id: retail
competitor: acme
owner: o@beacon.example
last_reviewed: "2026-01-02"
---
## Promotions {#promotions}
claim: [feature_gap, budget]
reply: Pin them.
"""
    _, sections = parse_playbook(text, "packs/retail/promo.md")
    assert sections[0].id == "retail/promotions"
    assert sections[0].competitor == "acme"
    assert sections[0].claim_types == ("feature_gap", "budget")


def test_parse_raises_first_problem_with_line() -> None:
    text = BATTLECARD.replace("claim: pricing", "claim: cheapness")
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, "competitors/acme.md")
    assert info.value.file == "competitors/acme.md"
    assert info.value.line == 18
    assert "cheapness" in info.value.reason


def _files(**contents: bytes) -> list[PlaybookFile]:
    return [PlaybookFile(k, v) for k, v in contents.items()]


def test_version_changes_with_any_byte_or_path_and_only_then() -> None:
    base = _files(**{"a.md": b"alpha", "b/c.md": b"beta"})
    same = _files(**{"a.md": b"alpha", "b/c.md": b"beta"})
    assert playbook_version(base) == playbook_version(same)
    assert len(playbook_version(base)) == 12
    assert int(playbook_version(base), 16) >= 0  # hex

    one_byte = _files(**{"a.md": b"alphb", "b/c.md": b"beta"})
    renamed = _files(**{"a2.md": b"alpha", "b/c.md": b"beta"})
    # Moving a byte from one file to the next must not collide (length-prefixed records).
    shifted = _files(**{"a.md": b"alph", "b/c.md": b"abeta"})
    versions = {playbook_version(f) for f in (base, one_byte, renamed, shifted)}
    assert len(versions) == 4


def test_load_playbooks_version_tracks_file_bytes(tmp_path: Path) -> None:
    (tmp_path / "competitors").mkdir()
    card = tmp_path / "competitors" / "acme.md"
    card.write_text(BATTLECARD, encoding="utf-8")
    (tmp_path / "README.md").write_text("not a playbook", encoding="utf-8")
    (tmp_path / ".index").mkdir()
    (tmp_path / ".index" / "cache.md").write_text("not a playbook either", encoding="utf-8")

    first = load_playbooks(tmp_path)
    assert first.files == ("competitors/acme.md",)
    assert first.competitor("acme") is not None
    assert first.section("acme/pricing") is not None
    assert first.version == playbook_version(read_playbook_files(tmp_path))

    assert load_playbooks(tmp_path).version == first.version  # unchanged bytes, same version
    (tmp_path / "README.md").write_text("edited readme", encoding="utf-8")
    assert load_playbooks(tmp_path).version == first.version  # README is not content

    card.write_text(BATTLECARD.replace("flat tier", "flat  tier"), encoding="utf-8")
    assert load_playbooks(tmp_path).version != first.version


def test_files_are_read_in_sorted_path_order(tmp_path: Path) -> None:
    for rel in ("z.md", "a/b.md", "a.md", "m/x/y.md"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert [f.rel_path for f in read_playbook_files(tmp_path)] == sorted(
        ["z.md", "a/b.md", "a.md", "m/x/y.md"]
    )


def test_missing_directory_is_a_playbook_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="not found"):
        load_playbooks(tmp_path / "nope")
