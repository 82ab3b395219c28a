"""Per-call cooldown on suggested sections, in call-audio time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from copilot.retrieve.cooldown import Cooldown


def test_blocks_same_section_within_window():
    cd = Cooldown(120)
    assert cd.allow("algolia/pricing", 10.0)
    assert not cd.allow("algolia/pricing", 100.0)
    assert cd.allow("algolia/perf", 100.0)  # other sections are independent
    assert cd.allow("algolia/pricing", 130.0)  # window elapsed


def test_ready_does_not_record():
    cd = Cooldown(60)
    assert cd.ready("s", 0.0) and cd.ready("s", 1.0)
    cd.mark("s", 1.0)
    assert not cd.ready("s", 30.0)


def test_filter_keeps_ready_hits_only():
    cd = Cooldown(60)
    cd.mark_all(["a"], 5.0)
    hits = [SimpleNamespace(section=SimpleNamespace(id=i)) for i in ("a", "b")]
    assert [h.section.id for h in cd.filter(hits, 10.0)] == ["b"]
    assert [h.section.id for h in cd.filter(hits, 70.0)] == ["a", "b"]


def test_negative_window_rejected():
    with pytest.raises(ValueError):
        Cooldown(-1)


def test_unmark_frees_only_the_mark_it_names() -> None:
    cd = Cooldown(120.0)
    cd.mark("algolia/pricing", 10.0)
    cd.unmark("algolia/pricing", 10.0)  # the card shown at 10 s was withdrawn
    assert cd.ready("algolia/pricing", 11.0)
    cd.mark("algolia/pricing", 20.0)
    cd.unmark("algolia/pricing", 10.0)  # an older, already replaced mark: no effect
    assert not cd.ready("algolia/pricing", 30.0)
