"""Validator: each rule reports the right file and line; the CLI prints them and exits 0/1."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.errors import PlaybookError
from copilot.playbooks.check import check_playbooks, main
from copilot.playbooks.loader import load_playbooks

CARD = """\
---
kind: battlecard
competitor:
  id: acme
  name: Acme
  aliases: [Acme Cloud]
owner: ana@beacon.example
last_reviewed: 2026-10-15
---
## Pricing {#pricing}
claim: pricing
examples:
  - Acme is cheaper
reply: We are predictable.

Body.
"""

OBJECTION = """\
---
kind: objection
owner: ana@beacon.example
last_reviewed: 2026-10-15
---
## Budget {#budget}
claim: budget
reply: Start small.
"""


def write(root: Path, rel: str, text: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def problems(root: Path) -> list[tuple[str | None, int | None, str]]:
    return [(p.file, p.line, p.reason) for p in check_playbooks(root)]


def only_problem(root: Path) -> tuple[str | None, int | None, str]:
    found = problems(root)
    assert len(found) == 1, found
    return found[0]


def test_valid_set_has_no_problems(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD)
    write(tmp_path, "objections/budget.md", OBJECTION)
    assert problems(tmp_path) == []


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        # front matter
        ("kind: battlecard\n", "", 1, "missing required field 'kind'"),
        ("owner: ana@beacon.example\n", "", 1, "missing required field 'owner'"),
        ("last_reviewed: 2026-10-15\n", "", 1, "missing required field 'last_reviewed'"),
        ("kind: battlecard", "kind: brochure", 2, "unknown kind 'brochure'"),
        ("last_reviewed: 2026-10-15", "last_reviewed: 2026-13-45", 8, "YYYY-MM-DD"),
        ("owner: ana", "tags: [x]\nowner: ana", 7, "unknown front matter field 'tags'"),
        ("  aliases: [Acme Cloud]", "  aliases: [Acme Cloud", 7, "bad YAML in front matter"),
        ("  id: acme", "  id: Acme Corp", 3, "lowercase slug"),
        # section metadata
        ("claim: pricing\n", "", 10, "missing required field 'claim'"),
        ("reply: We are predictable.\n", "", 10, "missing required field 'reply'"),
        ("reply: We are predictable.", "reply: ''", 14, "missing required field 'reply'"),
        ("claim: pricing", "claim: [pricing, vibes]", 11, "unknown claim type 'vibes'"),
        ("examples:\n  - Acme is cheaper", "examples:\n  - a: b", 12, "examples must be"),
        ("reply: We are", "tone: calm\nreply: We are", 14, "unknown section field 'tone'"),
        ("  - Acme is cheaper", "  - Acme is cheaper\n - bad indent", 14, "bad YAML in section"),
        ("claim: pricing", "claim: pricing\nlast_reviewed: 15/10/2026", 12, "YYYY-MM-DD"),
    ],
)
def test_single_rule_reports_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, needle: str
) -> None:
    assert old in CARD
    write(tmp_path, "competitors/acme.md", CARD.replace(old, new, 1))
    file, got_line, reason = only_problem(tmp_path)
    assert file == "competitors/acme.md"
    assert got_line == line
    assert needle in reason


def test_objection_rejects_competitor_claim_types(tmp_path: Path) -> None:
    write(tmp_path, "objections/budget.md", OBJECTION.replace("claim: budget", "claim: pricing"))
    assert only_problem(tmp_path)[:2] == ("objections/budget.md", 7)
    assert "unknown objection type 'pricing'" in only_problem(tmp_path)[2]


def test_empty_section(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD + "\n## Support {#support}\n\n\n")
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("competitors/acme.md", 18)
    assert "empty section" in reason


def test_section_without_metadata_block(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD + "\n## Support {#support}\nJust prose here.\n")
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("competitors/acme.md", 19)
    assert "YAML block" in reason


def test_file_without_sections_or_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "objections/none.md", OBJECTION.split("## Budget")[0])
    write(tmp_path, "objections/plain.md", "# Just markdown\n")
    found = problems(tmp_path)
    assert [(f, ln) for f, ln, _ in found] == [
        ("objections/none.md", 5),
        ("objections/plain.md", 1),
    ]
    assert "no sections" in found[0][2]
    assert "front matter" in found[1][2]


def test_duplicate_section_ids_within_and_across_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        "competitors/acme.md",
        CARD + "\n## Pricing again {#pricing}\nclaim: pricing\nreply: Again.\n",
    )
    write(tmp_path, "objections/budget.md", OBJECTION)
    write(tmp_path, "objections/more/budget.md", OBJECTION)  # same stem, same anchor
    found = problems(tmp_path)
    assert [(f, ln) for f, ln, _ in found] == [
        ("competitors/acme.md", 18),
        ("objections/more/budget.md", 6),
    ]
    assert all("duplicate section id" in r for _, _, r in found)
    assert "acme/pricing" in found[0][2] and "competitors/acme.md:10" in found[0][2]


def test_duplicate_competitor_id(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD)
    write(
        tmp_path,
        "competitors/acme2.md",
        CARD.replace("{#pricing}", "{#pricing-2}").replace(
            "aliases: [Acme Cloud]", "aliases: [Acme Two]"
        ),
    )
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("competitors/acme2.md", 3)
    assert "duplicate competitor id 'acme'" in reason


def test_alias_claimed_by_two_competitors(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD)
    other = (
        CARD.replace("id: acme", "id: zeta")
        .replace("name: Acme", "name: Zeta")
        .replace("aliases: [Acme Cloud]", "aliases: [acme  cloud]")
    )  # case and spacing do not matter
    write(tmp_path, "competitors/zeta.md", other)
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("competitors/zeta.md", 3)
    assert "claimed by competitors 'acme'" in reason


def test_not_name_that_is_also_a_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "competitors/acme.md",
        CARD.replace(
            "  aliases: [Acme Cloud]", "  aliases: [Acme Cloud]\n  not_names: [acme cloud]"
        ),
    )
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("competitors/acme.md", 3)
    assert "both a name and a not_name" in reason


def test_reference_to_unknown_competitor(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD)
    write(
        tmp_path,
        "objections/budget.md",
        OBJECTION.replace("claim: budget", "claim: budget\ncompetitor: nobody"),
    )
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("objections/budget.md", 8)
    assert "unknown competitor 'nobody'" in reason


def test_non_utf8_file_reports_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    write(
        tmp_path,
        "objections/budget.md",
        OBJECTION.replace("Start small.", "Start sm\xe4ll.").encode("latin-1"),
    )
    file, line, reason = only_problem(tmp_path)
    assert (file, line) == ("objections/budget.md", 8)
    assert "not UTF-8" in reason


def test_validator_collects_all_while_loader_raises_the_first(tmp_path: Path) -> None:
    write(tmp_path, "competitors/acme.md", CARD.replace("claim: pricing", "claim: vibes"))
    write(tmp_path, "objections/budget.md", OBJECTION.replace("owner: ana@beacon.example\n", ""))
    found = problems(tmp_path)
    assert [(f, ln) for f, ln, _ in found] == [
        ("competitors/acme.md", 11),
        ("objections/budget.md", 1),
    ]
    with pytest.raises(PlaybookError) as info:
        load_playbooks(tmp_path)
    assert (info.value.file, info.value.line) == ("competitors/acme.md", 11)


def test_main_prints_problems_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path, "competitors/acme.md", CARD.replace("claim: pricing", "claim: vibes"))
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{tmp_path / 'competitors/acme.md'}:11: unknown claim type 'vibes'")
    assert out[-1].startswith("1 problem(s) in 1 of 1 file(s)")


def test_main_ok_and_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path, "competitors/acme.md", CARD)
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("ok: 1 files, 1 competitors, 1 sections, version ")
    assert main([str(tmp_path / "missing")]) == 1
    assert "not found" in capsys.readouterr().err
