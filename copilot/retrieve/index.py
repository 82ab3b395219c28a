"""Dense index of playbook sections: FAISS ``IndexFlatIP`` over L2-normalised chunk vectors.

Each section becomes a few chunks (title + reply, each example, body paragraphs under the
title), because one vector per section blurs a battlecard's several claims together; a section
scores as its best chunk. The index is persisted with a ``meta.json`` that records the model,
the dimension, the playbook version and a hash of the chunk texts, so :func:`load_or_build`
re-embeds only when the playbooks, the chunking or the model changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from copilot.playbooks.model import PlaybookSet, Section
from copilot.retrieve.embedder import TextEncoder

__all__ = ["CHUNKER_VERSION", "Chunk", "SectionIndex", "chunk_sections", "load_or_build"]

log = logging.getLogger(__name__)

#: bump when :func:`chunk_sections` changes, so persisted indexes are rebuilt
CHUNKER_VERSION = 1
_MAX_CHUNK_CHARS = 600
_META = "meta.json"
_VECTORS = "index.faiss"


@dataclass(frozen=True)
class Chunk:
    """One embedded piece of a section."""

    section_id: str
    kind: str  # "head" | "example" | "body"
    text: str


def _paragraphs(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out: list[str] = []
    for part in parts:
        if out and len(out[-1]) + len(part) < _MAX_CHUNK_CHARS // 2:
            out[-1] = out[-1] + "\n" + part  # glue short bullets/lines together
        else:
            out.extend(part[i : i + _MAX_CHUNK_CHARS] for i in range(0, len(part), _MAX_CHUNK_CHARS))
    return out


def chunk_sections(sections: Sequence[Section]) -> list[Chunk]:
    """Chunks for every section, in section order (deterministic: it feeds the content hash)."""
    chunks: list[Chunk] = []
    for sec in sections:
        chunks.append(Chunk(sec.id, "head", f"{sec.title}. {sec.reply}".strip()))
        chunks.extend(Chunk(sec.id, "example", ex) for ex in sec.examples if ex.strip())
        chunks.extend(Chunk(sec.id, "body", f"{sec.title}: {p}") for p in _paragraphs(sec.text))
    return chunks


def _content_hash(version: str, chunks: Sequence[Chunk]) -> str:
    h = hashlib.sha256(f"{CHUNKER_VERSION}\n{version}\n".encode())
    for c in chunks:
        h.update(f"{c.section_id}\x1f{c.kind}\x1f{c.text}\x1e".encode())
    return h.hexdigest()[:16]


class SectionIndex:
    """Chunk vectors plus the chunk → section mapping; search returns sections by best chunk."""

    def __init__(self, chunks: Sequence[Chunk], vectors: np.ndarray, meta: dict) -> None:
        if len(chunks) != vectors.shape[0]:
            raise ValueError("one vector per chunk is required")
        self.chunks = list(chunks)
        self.meta = dict(meta)
        self._index = faiss.IndexFlatIP(int(vectors.shape[1]))
        if len(chunks):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int = 10) -> dict[str, float]:
        """Best cosine per section for one L2-normalised query vector, over the top chunks.

        Returns up to ``k`` sections (fewer if the index is small), ``{section_id: cosine}``.
        """
        if self.ntotal == 0:
            return {}
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        # Several chunks may belong to one section: ask for enough to fill k sections.
        n = min(self.ntotal, max(k * 8, 32))
        scores, ids = self._index.search(q, n)
        out: dict[str, float] = {}
        for score, idx in zip(scores[0].tolist(), ids[0].tolist(), strict=True):
            if idx < 0:
                continue
            sid = self.chunks[idx].section_id
            if sid not in out:
                out[sid] = float(score)
                if len(out) >= k:
                    break
        return out

    def save(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(index_dir / _VECTORS))
        meta = dict(self.meta, chunks=[[c.section_id, c.kind, c.text] for c in self.chunks])
        tmp = index_dir / (_META + ".tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(index_dir / _META)  # meta last: a torn write reads as "no index"

    @classmethod
    def load(cls, index_dir: Path) -> SectionIndex:
        meta = json.loads((index_dir / _META).read_text(encoding="utf-8"))
        chunks = [Chunk(*row) for row in meta.pop("chunks")]
        raw = faiss.read_index(str(index_dir / _VECTORS))
        vectors = raw.reconstruct_n(0, raw.ntotal) if raw.ntotal else np.zeros((0, raw.d), "float32")
        return cls(chunks, vectors, meta)


def build(playbooks: PlaybookSet, embedder: TextEncoder) -> SectionIndex:
    """Embed every chunk of ``playbooks`` (no persistence)."""
    chunks = chunk_sections(playbooks.sections)
    vectors = embedder.encode([c.text for c in chunks]) if chunks else np.zeros(
        (0, embedder.dim), dtype=np.float32
    )
    meta = {
        "model": embedder.name,
        "dim": int(embedder.dim),
        "normalized": True,
        "metric": "inner_product",
        "playbook_version": playbooks.version,
        "content_hash": _content_hash(playbooks.version, chunks),
        "chunker_version": CHUNKER_VERSION,
    }
    return SectionIndex(chunks, vectors, meta)


def load_or_build(
    playbooks: PlaybookSet, embedder: TextEncoder, index_dir: str | Path | None
) -> SectionIndex:
    """The persisted index in ``index_dir`` if it matches; otherwise build (and save) a new one.

    "Matches" means same model name, dimension and content hash (playbook version + chunk
    texts + chunker version). A missing, unreadable or stale index is rebuilt, never an error.
    ``index_dir`` None: build in memory only.
    """
    chunks = chunk_sections(playbooks.sections)
    want = _content_hash(playbooks.version, chunks)
    if index_dir is not None:
        path = Path(index_dir)
        try:
            index = SectionIndex.load(path)
            m = index.meta
            if (m.get("model"), m.get("dim"), m.get("content_hash")) == (
                embedder.name, int(embedder.dim), want
            ):
                return index
            log.info("playbook index in %s is stale; rebuilding", path)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            log.info("no usable playbook index in %s; building", path)
    index = build(playbooks, embedder)
    if index_dir is not None:
        index.save(Path(index_dir))
    return index
