"""Playbook data model: what the loader produces and every later stage reads.

Pure data; no I/O. See docs/playbooks.md for the file format that maps onto these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = ["Competitor", "PlaybookSet", "Section"]


@dataclass(frozen=True)
class Competitor:
    """One competitor in the catalog."""

    id: str  # stable slug, e.g. "algolia"
    name: str  # display name, e.g. "Algolia"
    aliases: tuple[str, ...] = ()  # other ways people say it ("Elastic", "ES")
    products: tuple[str, ...] = ()  # product names that imply the competitor ("Elastic Cloud")
    misrecognitions: tuple[str, ...] = ()  # what ASR writes instead ("all goalie", "type sense")
    not_names: tuple[str, ...] = ()  # phrases that contain a name but are not it ("elastic band")
    file: str = ""  # playbook file that defines it (relative to the playbooks root)
    line: int = 0


@dataclass(frozen=True)
class Section:
    """One retrievable section of a playbook (battlecard entry, objection handler, pack)."""

    id: str  # stable slug, unique across the set, e.g. "algolia/pricing"
    file: str  # relative path, e.g. "competitors/algolia.md"
    title: str
    kind: str  # "battlecard" | "objection" | "solution_pack" | "overview"
    text: str  # the section body (markdown, as written)
    reply: str  # the approved reply a rep can say (extractive suggestion)
    competitor: str | None = None  # competitor id, when the section is about one
    claim_types: tuple[str, ...] = ()  # from events.CLAIM_TYPES, or objection types
    examples: tuple[str, ...] = ()  # labelled utterances that should retrieve this section
    owner: str = ""
    last_reviewed: date | None = None
    line: int = 0  # line of the section heading in its file


@dataclass(frozen=True)
class PlaybookSet:
    """Everything loaded from one playbooks directory, with the content hash as its version."""

    root: str
    version: str  # short sha256 of all files' bytes, in path order
    competitors: tuple[Competitor, ...] = ()
    sections: tuple[Section, ...] = ()
    files: tuple[str, ...] = field(default=())

    def competitor(self, competitor_id: str) -> Competitor | None:
        return next((c for c in self.competitors if c.id == competitor_id), None)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)
