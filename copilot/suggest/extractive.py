"""Extractive reply composer: the approved words from the playbook, verbatim. Deterministic.

The default composer (no LLM): the top hit's approved ``reply``, optionally followed by one proof
point taken from the same section's body (a line starting ``Proof:``, or a bullet under a heading
containing "proof"), so what the rep reads is always something enablement wrote and reviewed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from copilot.events import Source
from copilot.retrieve.hybrid import Hit

__all__ = ["compose_extractive", "proof_point"]

_PROOF_LINE = re.compile(r"^[ \t]*(?:[-*][ \t]*)?\**proof(?: point)?s?\**[ \t]*[:\-–][ \t]*(.+)$", re.I | re.M)
_HEADING = re.compile(r"^\s*(?:#+\s*|\*\*)(.+?)\**\s*$")
_BULLET = re.compile(r"^\s*[-*]\s+(.+)$")
_EMPHASIS = re.compile(r"(?<!\w)[*_]{1,2}([^*_]+?)[*_]{1,2}(?!\w)")  # *and*, **and**, _and_


def proof_point(text: str) -> str | None:
    """The first proof point in a section body (plain text, markdown emphasis removed), or None."""
    found = _first_proof(text)
    return _EMPHASIS.sub(r"\1", found) if found else None


def _first_proof(text: str) -> str | None:
    m = _PROOF_LINE.search(text)
    if m:
        return m.group(1).strip()
    under_proof = False
    lines = text.splitlines()
    for i, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and not _BULLET.match(line):
            under_proof = "proof" in heading.group(1).lower()
            continue
        bullet = _BULLET.match(line)
        if under_proof and bullet:
            # a bullet wrapped over several lines: its indented continuation lines belong to it
            parts = [bullet.group(1).strip()]
            for nxt in lines[i + 1:]:
                if not nxt.strip() or _BULLET.match(nxt) or not nxt[:1].isspace():
                    break
                parts.append(nxt.strip())
            return " ".join(parts)
    return None


def compose_extractive(
    detection: Any, hits: Sequence[Hit], version: str, *, with_proof: bool = True
) -> tuple[str, tuple[Source, ...]]:
    """Suggested reply text and its sources for one detection.

    Args:
        detection: the triggering :class:`~copilot.detect.detector.Detection` (or flag); not
            used to write words — the reply is the playbook's — but kept in the signature so the
            LLM composer and this one are interchangeable.
        hits: retrieval hits, best first (already gated).
        version: the playbook set's version (content hash), stamped on every source.
        with_proof: append the top section's first proof point when it has one.

    Returns:
        ``("", ())`` when there is no hit; otherwise the text and one source (the top hit).
    """
    del detection  # the approved reply does not depend on how the claim was phrased
    if not hits:
        return "", ()
    top = hits[0]
    sec = top.section
    text = sec.reply.strip() or _first_paragraph(sec.text)
    if with_proof:
        proof = proof_point(sec.text)
        if proof and proof not in text:
            text = f"{text} {proof}"
    source = Source(playbook=sec.file, section=sec.id, title=sec.title, version=version,
                    score=float(top.score))
    return text, (source,)


def _first_paragraph(text: str) -> str:
    for para in re.split(r"\n\s*\n", text):
        lines = [ln for ln in para.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if lines:
            return " ".join(ln.strip() for ln in lines)
    return ""
