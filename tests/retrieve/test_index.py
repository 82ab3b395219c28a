"""Dense section index: chunking, persistence with meta.json, rebuild only when content changes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from copilot.playbooks.model import PlaybookSet, Section
from copilot.retrieve.index import chunk_sections, load_or_build

SECTIONS = (
    Section("algolia/pricing", "competitors/algolia.md", "Pricing", "battlecard",
            "Usage based billing.\n\n**Proof points**\n- Fixed tiers.", "We are fixed-tier.",
            "algolia", ("pricing",), ("Algolia is cheaper", "Algolia quoted less")),
    Section("budget/no-budget", "objections/budget.md", "No budget", "objection",
            "Start on the free edition.", "Start free.", None, ("budget",), ("No budget",)),
)
PLAYBOOKS = PlaybookSet(root="/x", version="v1", sections=SECTIONS)


class CountingEncoder:
    """Wraps the real model and counts encode calls (rebuilds)."""

    def __init__(self, inner, name: str | None = None) -> None:
        self.inner = inner
        self.calls = 0
        self._name = name or inner.name

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts):
        self.calls += 1
        return self.inner.encode(texts)


def test_chunks_cover_title_reply_examples_body():
    chunks = chunk_sections(SECTIONS)
    kinds = [(c.section_id, c.kind) for c in chunks]
    assert kinds.count(("algolia/pricing", "example")) == 2
    assert ("algolia/pricing", "head") in kinds and ("algolia/pricing", "body") in kinds
    assert all(c.text.strip() for c in chunks)


@pytest.mark.slow
def test_persist_and_rebuild_only_on_change(tmp_path, embedder):
    enc = CountingEncoder(embedder)
    first = load_or_build(PLAYBOOKS, enc, tmp_path)
    assert enc.calls == 1
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["model"] == embedder.name and meta["dim"] == 384 and meta["normalized"] is True
    assert meta["playbook_version"] == "v1"
    assert {row[0] for row in meta["chunks"]} == {"algolia/pricing", "budget/no-budget"}

    again = load_or_build(PLAYBOOKS, enc, tmp_path)
    assert enc.calls == 1  # same content, same model: loaded, not re-embedded
    assert again.ntotal == first.ntotal
    q = embedder.encode(["Algolia is cheaper"])[0]
    assert again.search(q, k=2) == pytest.approx(first.search(q, k=2))

    changed = dataclasses.replace(
        PLAYBOOKS, version="v2",
        sections=(dataclasses.replace(SECTIONS[0], reply="New reply."), SECTIONS[1]))
    load_or_build(changed, enc, tmp_path)
    assert enc.calls == 2

    other_model = CountingEncoder(embedder, name="another-model")
    load_or_build(changed, other_model, tmp_path)
    assert other_model.calls == 1


@pytest.mark.slow
def test_corrupt_index_is_rebuilt(tmp_path, embedder):
    enc = CountingEncoder(embedder)
    load_or_build(PLAYBOOKS, enc, tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    index = load_or_build(PLAYBOOKS, enc, tmp_path)
    assert enc.calls == 2 and index.ntotal == len(chunk_sections(SECTIONS))


@pytest.mark.slow
def test_search_best_chunk_per_section(embedder):
    index = load_or_build(PLAYBOOKS, embedder, None)
    scores = index.search(embedder.encode(["Algolia came in cheaper"])[0], k=5)
    assert list(scores) == ["algolia/pricing", "budget/no-budget"]
    assert all(-1.0 <= s <= 1.0 for s in scores.values())
    assert np.isclose(max(scores.values()), scores["algolia/pricing"])
