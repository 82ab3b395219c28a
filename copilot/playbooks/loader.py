"""Read a playbooks directory into a :class:`~copilot.playbooks.model.PlaybookSet`.

The file format is documented in ``docs/playbooks.md``. In short: Markdown with YAML front matter
(``kind``, ``owner``, ``last_reviewed``, and for battlecards a ``competitor`` mapping that defines
the catalog entry); each ``## Heading {#anchor}`` starts a section whose first non-blank lines,
up to the first blank line, are a small YAML block (``claim``, ``examples``, ``reply``, optional
``owner``/``last_reviewed``/``competitor``); the rest of the section is free Markdown.

Layers, innermost first, all pure except :func:`read_playbook_files`:

* :func:`lint_playbook` parses one file's text and returns *every* problem it finds;
* :func:`lint_set` adds the rules that need the whole set (duplicate ids, alias clashes,
  sections that reference an unknown competitor);
* :func:`parse_playbook` / :func:`load_playbooks` raise the *first* problem as a
  :class:`~copilot.errors.PlaybookError`; :mod:`copilot.playbooks.check` reports them all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from copilot.errors import PlaybookError
from copilot.events import CLAIM_TYPES
from copilot.playbooks.model import Competitor, PlaybookSet, Section

__all__ = [
    "KINDS",
    "OBJECTION_TYPES",
    "ParsedFile",
    "PlaybookFile",
    "lint_files",
    "lint_playbook",
    "lint_set",
    "load_playbooks",
    "parse_playbook",
    "playbook_version",
    "read_playbook_files",
]

#: Values of the front-matter ``kind`` key.
KINDS = ("battlecard", "objection", "solution_pack", "overview")

#: Claim types of ``kind: objection`` sections (objections carry no competitor).
OBJECTION_TYPES = ("budget", "timing", "authority", "status_quo", "security_compliance")

_FRONT_KEYS = {"kind", "owner", "last_reviewed", "competitor", "id"}
_SECTION_KEYS = {"claim", "examples", "reply", "owner", "last_reviewed", "competitor"}
_COMPETITOR_KEYS = {"id", "name", "aliases", "products", "misrecognitions", "not_names"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HEADING = re.compile(r"^##\s+(?P<title>.*?)\s*(?:\{#(?P<anchor>[^}]*)\})?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings, so a bad date is *our* error with *our* line.

    Stock YAML turns ``2026-13-45`` into a ``ValueError`` from ``datetime.date`` with no mark.
    """


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class PlaybookFile:
    """One file as read from disk: its path relative to the root (POSIX) and its bytes."""

    rel_path: str
    data: bytes


@dataclass
class ParsedFile:
    """What :func:`lint_playbook` got out of one file, problems included."""

    rel_path: str
    competitors: list[Competitor] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    problems: list[PlaybookError] = field(default_factory=list)
    #: competitor ids the file refers to (front matter or section ``competitor:``), with lines
    references: list[tuple[str, int]] = field(default_factory=list)


class _Problems:
    """Collects errors for one file; ``add`` never raises, so one pass finds them all."""

    def __init__(self, rel_path: str, sink: list[PlaybookError]) -> None:
        self.rel_path = rel_path
        self.sink = sink

    def add(self, message: str, line: int) -> None:
        self.sink.append(PlaybookError(message, file=self.rel_path, line=line))


def _load_yaml(
    text: str, first_line: int, where: str, out: _Problems
) -> tuple[bool, Any, dict[str, int]]:
    """Parse a YAML snippet that starts at file line ``first_line``.

    Returns:
        ``(ok, data, key_lines)``: ``ok`` false when the YAML did not parse (already reported,
        with the line mapped into the file), the value (``None`` when empty) and, for a mapping,
        the file line of each top-level key.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + (mark.line if mark is not None else 0)
        problem = getattr(exc, "problem", None) or str(exc)
        out.add(f"bad YAML in {where}: {problem}", line)
        return False, None, {}
    finally:
        loader.dispose()
    key_lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            key_lines[str(key_node.value)] = first_line + key_node.start_mark.line
    return True, data, key_lines


def _str_list(value: Any, key: str, line: int, out: _Problems) -> tuple[str, ...]:
    # A bare string is accepted as a one-item list: "claim: pricing" is the common case.
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        out.add(f"{key} must be a list of non-empty strings (quote yes/no/on/off)", line)
        return ()
    return tuple(v.strip() for v in value)


def _text(value: Any, key: str, line: int, out: _Problems) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        out.add(f"missing required field {key!r}", line)
        return ""
    if not isinstance(value, str):
        out.add(f"{key} must be text, got {type(value).__name__}", line)
        return ""
    return " ".join(value.split())


def _date(value: Any, line: int, out: _Problems) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        out.add(f"last_reviewed must be a date YYYY-MM-DD, got {value!r}", line)
        return None


def _competitor(value: Any, line: int, rel_path: str, out: _Problems) -> Competitor | None:
    if not isinstance(value, dict):
        out.add("battlecard 'competitor' must be a mapping with id, name, aliases, …", line)
        return None
    for key in value:
        if key not in _COMPETITOR_KEYS:
            out.add(f"unknown competitor field {key!r}", line)
    cid = value.get("id")
    if not isinstance(cid, str) or not _SLUG.match(cid):
        out.add(f"competitor id must be a lowercase slug like 'algolia', got {cid!r}", line)
        return None
    name = _text(value.get("name"), "competitor.name", line, out)
    lists = {
        k: _str_list(value.get(k) or [], f"competitor.{k}", line, out)
        for k in ("aliases", "products", "misrecognitions", "not_names")
    }
    names = {
        _norm(n) for n in (name, *lists["aliases"], *lists["products"], *lists["misrecognitions"])
    }
    for nn in lists["not_names"]:
        if _norm(nn) in names:
            out.add(f"{nn!r} is both a name and a not_name of {cid!r}", line)
    return Competitor(id=cid, name=name, file=rel_path, line=line, **lists)


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")


def _split_front_matter(lines: list[str], out: _Problems) -> tuple[list[str], int] | None:
    """Front-matter lines and the index of the line after the closing ``---``."""
    if not lines or lines[0].strip() != "---":
        out.add("file must start with YAML front matter between '---' lines", 1)
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return lines[1:i], i + 1
    out.add("front matter is not closed by a '---' line", 1)
    return None


def lint_playbook(text: str, rel_path: str) -> ParsedFile:
    """Parse one playbook file and collect every problem in it (pure; no cross-file rules).

    Args:
        text: the file's decoded text.
        rel_path: its path relative to the playbooks root, POSIX style; used for section ids
            (the file stem), ``Section.file`` and error locations.

    Returns:
        The competitors and sections it defines and the problems found, each with a 1-based line.
        Sections with problems are still returned where they can be built, so later rules see them.
    """
    parsed = ParsedFile(rel_path)
    out = _Problems(rel_path, parsed.problems)
    lines = text.splitlines()
    split = _split_front_matter(lines, out)
    if split is None:
        return parsed
    fm_lines, body_start = split
    ok, front, key_lines = _load_yaml("\n".join(fm_lines), 2, "front matter", out)
    if not ok:
        return parsed
    if not isinstance(front, dict):
        out.add("front matter must be a YAML mapping of kind, owner, last_reviewed, …", 1)
        return parsed
    for key in front:
        if key not in _FRONT_KEYS:
            out.add(f"unknown front matter field {key!r}", key_lines.get(str(key), 1))

    kind = front.get("kind")
    if kind is None:
        out.add("missing required field 'kind'", 1)
    elif kind not in KINDS:
        out.add(
            f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})", key_lines.get("kind", 1)
        )
    if kind not in KINDS:
        # Guess from the competitor field so one wrong line doesn't cascade into more errors.
        kind = "battlecard" if isinstance(front.get("competitor"), dict) else "overview"
    owner = _text(front.get("owner"), "owner", key_lines.get("owner", 1), out)
    reviewed: date | None = None
    if front.get("last_reviewed") is None:
        out.add("missing required field 'last_reviewed'", 1)
    else:
        reviewed = _date(front["last_reviewed"], key_lines["last_reviewed"], out)

    competitor_id: str | None = None
    comp_value = front.get("competitor")
    comp_line = key_lines.get("competitor", 1)
    if kind == "battlecard":
        comp = None
        if comp_value is None:
            out.add("a battlecard needs a 'competitor' mapping (id, name, aliases, …)", 1)
        else:
            comp = _competitor(comp_value, comp_line, rel_path, out)
        if comp is not None:
            parsed.competitors.append(comp)
            competitor_id = comp.id
    elif comp_value is not None:
        if isinstance(comp_value, str) and _SLUG.match(comp_value):
            competitor_id = comp_value
            parsed.references.append((comp_value, comp_line))
        else:
            out.add("outside battlecards 'competitor' must be a competitor id", comp_line)

    prefix = front.get("id", competitor_id or PurePosixPath(rel_path).stem)
    if not isinstance(prefix, str) or not _SLUG.match(prefix):
        out.add(
            f"file id {prefix!r} is not a lowercase slug: rename the file or set 'id:'",
            key_lines.get("id", 1),
        )
        prefix = PurePosixPath(rel_path).stem
    allowed = (
        OBJECTION_TYPES
        if kind == "objection"
        else (CLAIM_TYPES + OBJECTION_TYPES if kind == "solution_pack" else CLAIM_TYPES)
    )
    defaults = _Defaults(str(kind), owner, reviewed, competitor_id, prefix, allowed)
    headings = 0
    for heading_line, heading, block in _sections(lines, body_start):
        headings += 1
        _section(heading_line, heading, block, defaults, parsed, out)
    if not headings:
        out.add("no sections: add at least one '## Title {#anchor}' heading", body_start or 1)
    return parsed


@dataclass(frozen=True)
class _Defaults:
    kind: str
    owner: str
    last_reviewed: date | None
    competitor: str | None
    prefix: str
    claims: tuple[str, ...]


def _sections(lines: list[str], start: int) -> Iterable[tuple[int, str, list[str]]]:
    """Yield ``(1-based heading line, heading, lines under it)`` for each ``##`` heading.

    Headings inside fenced code blocks do not count; text before the first heading (an H1
    title, an intro paragraph) is a preamble and is not retrievable.
    """
    current: tuple[int, str, list[str]] | None = None
    in_fence = False
    for i in range(start, len(lines)):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            if current is not None:
                yield current
            current = (i + 1, line, [])
        elif current is not None:
            current[2].append(line)
    if current is not None:
        yield current


def _section(
    heading_line: int,
    heading: str,
    block: list[str],
    d: _Defaults,
    parsed: ParsedFile,
    out: _Problems,
) -> None:
    match = _HEADING.match(heading)
    title = match.group("title") if match else heading[3:].strip()
    anchor = match.group("anchor") if match else None
    if anchor is None:
        anchor = _slugify(title)
    elif not _SLUG.match(anchor):
        out.add(f"anchor {{#{anchor}}} must be a lowercase slug", heading_line)
        anchor = _slugify(anchor)
    if not title:
        out.add("section heading has no title", heading_line)

    # Metadata: the first run of non-blank lines under the heading; the body follows it.
    i = 0
    while i < len(block) and not block[i].strip():
        i += 1
    if i == len(block):
        out.add(f"empty section {title!r}: add claim, examples and reply", heading_line)
        return
    j = i
    while j < len(block) and block[j].strip():
        j += 1
    meta_first = heading_line + 1 + i
    ok, meta, key_lines = _load_yaml("\n".join(block[i:j]), meta_first, "section metadata", out)
    if not ok:
        return
    if not isinstance(meta, dict):
        out.add(
            "section must start with a YAML block (claim:, examples:, reply:) "
            "right under its heading",
            meta_first,
        )
        return
    for key in meta:
        if key not in _SECTION_KEYS:
            out.add(f"unknown section field {key!r}", key_lines.get(str(key), meta_first))

    def line_of(key: str) -> int:
        return key_lines.get(key, heading_line)

    claims: tuple[str, ...] = ()
    if meta.get("claim") is None:
        out.add("missing required field 'claim'", heading_line)
    else:
        claims = _str_list(meta["claim"], "claim", line_of("claim"), out)
        for c in claims:
            if c not in d.claims:
                what = "objection type" if d.kind == "objection" else "claim type"
                out.add(
                    f"unknown {what} {c!r} (expected one of {', '.join(d.claims)})",
                    line_of("claim"),
                )
    examples = _str_list(meta.get("examples") or [], "examples", line_of("examples"), out)
    reply = _text(meta.get("reply"), "reply", line_of("reply"), out)
    owner = d.owner
    if "owner" in meta:
        owner = _text(meta["owner"], "owner", line_of("owner"), out)
    reviewed = d.last_reviewed
    if "last_reviewed" in meta:
        reviewed = _date(meta["last_reviewed"], line_of("last_reviewed"), out)
    competitor = d.competitor
    if "competitor" in meta:
        value = meta["competitor"]
        if isinstance(value, str) and _SLUG.match(value):
            competitor = value
            parsed.references.append((value, line_of("competitor")))
        else:
            out.add("section 'competitor' must be a competitor id", line_of("competitor"))
    body = "\n".join(block[j:]).strip("\n")
    parsed.sections.append(
        Section(
            id=f"{d.prefix}/{anchor}",
            file=parsed.rel_path,
            title=title,
            kind=d.kind,
            text=body,
            reply=reply,
            competitor=competitor,
            claim_types=claims,
            examples=examples,
            owner=owner,
            last_reviewed=reviewed,
            line=heading_line,
        )
    )


def lint_set(files: Sequence[ParsedFile]) -> list[PlaybookError]:
    """Rules that need the whole set: unique section and competitor ids, each surface form
    (name, alias, product, misrecognition) owned by one competitor, references resolve.

    Each problem points at the *later* occurrence and names the earlier one.
    """
    problems: list[PlaybookError] = []
    competitors: dict[str, Competitor] = {}
    surface: dict[str, Competitor] = {}
    sections: dict[str, Section] = {}
    for pf in files:
        for comp in pf.competitors:
            if comp.id in competitors:
                first = competitors[comp.id]
                problems.append(
                    PlaybookError(
                        f"duplicate competitor id {comp.id!r} (first defined at "
                        f"{first.file}:{first.line})",
                        file=comp.file,
                        line=comp.line,
                    )
                )
                continue
            competitors[comp.id] = comp
            for form in (comp.name, *comp.aliases, *comp.products, *comp.misrecognitions):
                owner = surface.setdefault(_norm(form), comp)
                if owner.id != comp.id:
                    problems.append(
                        PlaybookError(
                            f"{form!r} is claimed by competitors {owner.id!r} ({owner.file}) and "
                            f"{comp.id!r}",
                            file=comp.file,
                            line=comp.line,
                        )
                    )
    for pf in files:
        for sec in pf.sections:
            if sec.id in sections:
                first = sections[sec.id]
                problems.append(
                    PlaybookError(
                        f"duplicate section id {sec.id!r} (first at {first.file}:{first.line}); "
                        "change the {#anchor} or the file id",
                        file=sec.file,
                        line=sec.line,
                    )
                )
            else:
                sections[sec.id] = sec
        for cid, line in pf.references:
            if cid not in competitors:
                problems.append(
                    PlaybookError(
                        f"unknown competitor {cid!r} (no battlecard defines it)",
                        file=pf.rel_path,
                        line=line,
                    )
                )
    return problems


def parse_playbook(text: str, rel_path: str) -> tuple[list[Competitor], list[Section]]:
    """Parse one file's text (pure).

    Raises:
        PlaybookError: the first problem in the file, with ``file`` and ``line``.
    """
    parsed = lint_playbook(text, rel_path)
    if parsed.problems:
        raise parsed.problems[0]
    return parsed.competitors, parsed.sections


def read_playbook_files(root: str | Path) -> list[PlaybookFile]:
    """All ``*.md`` under ``root`` in sorted relative-path order, skipping ``README.md`` files
    and anything under a dot-directory (``.index`` holds the retriever's cache).

    Raises:
        PlaybookError: ``root`` is not a directory.
    """
    base = Path(root)
    if not base.is_dir():
        raise PlaybookError(f"playbooks directory not found: {base}")
    found = []
    for path in base.rglob("*.md"):
        rel = path.relative_to(base)
        if path.name.lower() == "readme.md" or any(p.startswith(".") for p in rel.parts):
            continue
        found.append(PlaybookFile(rel.as_posix(), path.read_bytes()))
    return sorted(found, key=lambda f: f.rel_path)


def playbook_version(files: Iterable[PlaybookFile]) -> str:
    """First 12 hex digits of sha256 over each file's relative path and bytes, in the given order.

    Each file contributes ``path NUL length NUL bytes`` so no two different sets hash alike by
    shifting bytes between a path and the previous file's content.
    """
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.rel_path}\0{len(f.data)}\0".encode())
        digest.update(f.data)
    return digest.hexdigest()[:12]


def _decode(f: PlaybookFile, sink: list[PlaybookError]) -> str | None:
    try:
        return f.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = f.data.count(b"\n", 0, exc.start) + 1
        sink.append(
            PlaybookError(
                f"file is not UTF-8 (byte {f.data[exc.start]:#04x} at offset "
                f"{exc.start}); save it as UTF-8",
                file=f.rel_path,
                line=line,
            )
        )
        return None


def lint_files(files: Sequence[PlaybookFile]) -> tuple[list[ParsedFile], list[PlaybookError]]:
    """Decode and lint every file, then apply the set rules; returns parses and all problems."""
    parsed: list[ParsedFile] = []
    problems: list[PlaybookError] = []
    for f in files:
        text = _decode(f, problems)
        if text is None:
            continue
        pf = lint_playbook(text.removeprefix("\ufeff"), f.rel_path)
        problems.extend(pf.problems)
        parsed.append(pf)
    problems.extend(lint_set(parsed))
    return parsed, problems


def load_playbooks(root: str | Path) -> PlaybookSet:
    """Load and validate every playbook under ``root``.

    Returns:
        The set, its ``version`` being :func:`playbook_version` of the loaded files.

    Raises:
        PlaybookError: the first problem found (files in path order, then set-wide rules);
            run ``copilot playbooks check`` to see them all.
    """
    files = read_playbook_files(root)
    parsed, problems = lint_files(files)
    if problems:
        raise problems[0]
    return PlaybookSet(
        root=str(root),
        version=playbook_version(files),
        competitors=tuple(c for pf in parsed for c in pf.competitors),
        sections=tuple(s for pf in parsed for s in pf.sections),
        files=tuple(f.rel_path for f in files),
    )
