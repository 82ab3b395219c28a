"""Eval datasets: the :class:`Case` record and the manifest loader.

A dataset is a manifest (``manifest.json`` in a folder, or any ``*.json`` with a ``cases`` list)
whose entries are either label files in our own format (docs/eval.md, "Label file") or objects
that name a shared-data adapter (``txt``, ``stm``, ``spokenwoz``, ``axondata``, ``text``). Paths
are relative to the manifest's folder, or to its ``base`` folder when the manifest sets one (so a
manifest can point at ``../shared/data`` without copying it).

Loading never stops at a bad case: each one that cannot be loaded becomes a
:class:`~copilot.errors.CaseError` in :attr:`Dataset.problems` and the others load.
Only a manifest that cannot be read at all raises.
"""

from __future__ import annotations

import json
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import CaseError
from copilot.evaluation.adapters import (
    Turn,
    join_turns,
    parse_axondata,
    parse_plain_text,
    parse_spokenwoz,
    parse_stm,
)
from copilot.events import CLAIM_TYPES

__all__ = [
    "FORMATS",
    "Case",
    "Dataset",
    "LabelledMention",
    "Turn",
    "load_case",
    "load_dataset",
]

#: manifest entry formats and what each reads
FORMATS = ("label", "txt", "stm", "spokenwoz", "axondata", "text")


@dataclass(frozen=True)
class LabelledMention:
    """A competitor mention (or a competitor-less objection) a detector should flag.

    ``start``/``end`` are the audio seconds of the evidence words, None in text-only cases.
    """

    competitor: str | None  # catalog id; None for an objection
    claim_type: str  # events.CLAIM_TYPES for competitors; objection type (budget, timing…)
    speaker: str = "unknown"
    start: float | None = None
    end: float | None = None
    kind: str = "competitor"  # "competitor" | "objection"
    evidence: str = ""
    expected_sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """One eval item: audio (or none, for text-only cases) with what is known about it.

    Attributes:
        id: unique within the dataset.
        audio: absolute path of the audio file; None for a text-only case.
        sample_rate, channels: of the audio as stored (None rate when not declared).
        speakers: who is on each channel; ``("unknown",)`` means "mix to mono, speaker unknown".
        turns: reference utterances (timed when the source has times).
        mentions: labelled mentions; meaningful only when ``mentions_labelled`` is true (a case
            with ``mentions_labelled`` and no mentions is a false-flag check).
        duration: audio seconds when known (needed for false flags per hour).
        format: the manifest format the case came from.
        restricted: data that must never be copied into the repo (non-commercial or unlicensed
            sources, DESIGN §5): read at run time only.
        notes: non-fatal problems found while loading (e.g. malformed time stamps).
    """

    id: str
    audio: Path | None
    sample_rate: int | None = None
    channels: int = 1
    speakers: tuple[str, ...] = ("unknown",)
    turns: tuple[Turn, ...] = ()
    mentions: tuple[LabelledMention, ...] = ()
    mentions_labelled: bool = False
    duration: float | None = None
    format: str = "label"
    description: str = ""
    tags: tuple[str, ...] = ()
    restricted: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def text_only(self) -> bool:
        return self.audio is None

    @property
    def reference(self) -> str:
        """The whole reference transcript (all speakers, in time order)."""
        return join_turns(self.turns)

    def reference_for(self, speaker: str) -> str:
        """The reference transcript of one speaker's turns (empty if the speaker never talks)."""
        return join_turns(t for t in self.turns if t.speaker == speaker)


@dataclass(frozen=True)
class Dataset:
    """The loaded cases plus the problems that kept other cases out. Iterates over cases."""

    name: str
    manifest: Path
    cases: tuple[Case, ...]
    problems: tuple[CaseError, ...] = ()

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)

    def get(self, case_id: str) -> Case | None:
        return next((c for c in self.cases if c.id == case_id), None)


def load_dataset(path: str | Path, *, check_audio: bool = True) -> Dataset:
    """Load a dataset from a folder (its ``manifest.json``), a manifest file or one label file.

    Args:
        path: folder, manifest or label file.
        check_audio: when true (default) a case whose audio file is missing is a problem; when
            false it loads anyway (``Case.audio`` keeps the path), for text-only runs over
            labelled calls whose audio has not been generated.

    Returns:
        The dataset; cases that failed are in ``problems`` (never silently dropped).

    Raises:
        CaseError: the manifest itself is missing, not JSON, or has no ``cases`` list.
    """
    path = Path(path)
    manifest = path / "manifest.json" if path.is_dir() else path
    data = _read_json(manifest, case_id=None)
    if isinstance(data, dict) and "cases" not in data and "turns" in data:
        # a single label file is a dataset of one
        data = {"name": manifest.stem, "cases": [manifest.name]}
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CaseError("manifest has no 'cases' list", file=manifest)
    base = manifest.parent / data.get("base", ".")
    defaults = data.get("defaults", {})
    cases: list[Case] = []
    problems: list[CaseError] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["cases"]):
        if isinstance(entry, dict):
            entry = {**defaults, **entry}
        try:
            case = load_case(entry, base, check_audio=check_audio)
            if case.id in seen:
                raise CaseError("duplicate case id", case_id=case.id, file=manifest)
        except CaseError as exc:
            problems.append(exc)
            continue
        except (ValueError, TypeError, KeyError, OSError) as exc:
            problems.append(CaseError(f"entry {index}: {exc}", case_id=_entry_id(entry), file=manifest))
            continue
        seen.add(case.id)
        cases.append(case)
    return Dataset(str(data.get("name", manifest.stem)), manifest, tuple(cases), tuple(problems))


def load_case(entry: str | Mapping[str, Any], base: Path, *, check_audio: bool = True) -> Case:
    """Load one manifest entry: a label-file path, or an object with a ``format``.

    Raises:
        CaseError: unknown format, missing file, or a reference/label that does not parse.
    """
    if isinstance(entry, str):
        entry = {"format": "label", "label": entry}
    fmt = entry.get("format", "label")
    cid = _entry_id(entry)
    if fmt not in FORMATS:
        raise CaseError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})", case_id=cid)
    if fmt == "label":
        return _load_label(entry, base, check_audio)
    if not cid:
        raise CaseError(f"{fmt} entry without an 'id'")

    audio = _resolve(base, entry.get("audio"), cid, must_exist=check_audio)
    notes: list[str] = []
    turns: list[Turn]
    if fmt == "text":
        text = entry.get("text")
        if text is None:
            text = _read_text(_resolve(base, entry.get("reference"), cid), cid)
        turns = parse_plain_text(text, entry.get("speaker", "unknown"))
    elif fmt == "txt":
        turns = _txt_turns(entry, base, cid)
    elif fmt == "stm":
        turns = _parsed(parse_stm, _read_text(_resolve(base, entry.get("reference"), cid), cid), cid)
    elif fmt == "spokenwoz":
        ref = _resolve(base, entry.get("reference"), cid)
        turns = _parsed(parse_spokenwoz, _read_json(ref, cid), cid)
    else:  # axondata
        text = _read_text(_resolve(base, entry.get("reference"), cid), cid)
        turns, notes = _parsed(lambda t: parse_axondata(t, entry.get("duration")), text, cid)
    speaker_map = entry.get("speaker_map", {})
    turns = [Turn(speaker_map.get(t.speaker, t.speaker), t.text, t.start, t.end) for t in turns]
    if not any(t.text for t in turns):
        raise CaseError("reference is empty", case_id=cid)
    return _make_case(entry, cid, fmt, audio, turns, notes)


# --------------------------------------------------------------------------- helpers


def _load_label(entry: Mapping[str, Any], base: Path, check_audio: bool) -> Case:
    label_path = _resolve(base, entry.get("label"), _entry_id(entry))
    assert label_path is not None
    label = _read_json(label_path, _entry_id(entry))
    if not isinstance(label, dict):
        raise CaseError("label file is not a JSON object", file=label_path)
    cid = str(label.get("id") or label_path.stem)
    try:
        turns = [
            Turn(str(t.get("speaker", "unknown")), " ".join(str(t["text"]).split()),
                 _opt_float(t.get("start")), _opt_float(t.get("end")))
            for t in label.get("turns", [])
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseError(f"bad turn ({exc})", case_id=cid, file=label_path) from None
    merged = {**label, **{k: v for k, v in entry.items() if k not in ("label", "format")}}
    # the label's own paths are relative to the label file, not to the manifest
    audio = _resolve(label_path.parent, merged.get("audio"), cid, must_exist=check_audio)
    return _make_case({**merged, "mentions": merged.get("mentions", [])}, cid, "label", audio, turns, [])


def _txt_turns(entry: Mapping[str, Any], base: Path, cid: str) -> list[Turn]:
    """One turn per reference file: ``reference`` (mono) or ``channel_references`` (per channel)."""
    per_channel = entry.get("channel_references")
    if per_channel:
        speakers = list(entry.get("speakers") or [f"channel{i}" for i in range(len(per_channel))])
        if len(speakers) != len(per_channel):
            raise CaseError("'speakers' and 'channel_references' differ in length", case_id=cid)
        turns: list[Turn] = []
        for spk, ref in zip(speakers, per_channel, strict=True):
            turns += parse_plain_text(_read_text(_resolve(base, ref, cid), cid), spk)
        return turns
    return parse_plain_text(_read_text(_resolve(base, entry.get("reference"), cid), cid),
                            entry.get("speaker", "unknown"))


def _make_case(entry: Mapping[str, Any], cid: str, fmt: str, audio: Path | None,
               turns: list[Turn], notes: list[str]) -> Case:
    channels = int(entry.get("channels", 1))
    speakers = tuple(entry.get("speakers") or ("unknown",))
    if speakers != ("unknown",) and len(speakers) != channels:
        raise CaseError(f"{len(speakers)} speakers for {channels} channel(s)", case_id=cid)
    sample_rate = entry.get("sample_rate")
    duration = _opt_float(entry.get("duration"))
    if (audio is not None and audio.suffix.lower() == ".wav" and audio.is_file()
            and (sample_rate is None or duration is None)):
        sample_rate, duration = _wav_info(audio, sample_rate, duration)
    labelled = "mentions" in entry
    mentions = tuple(_mention(m, cid) for m in entry.get("mentions") or ())
    return Case(
        id=cid,
        audio=audio,
        sample_rate=int(sample_rate) if sample_rate is not None else None,
        channels=channels,
        speakers=speakers,
        turns=tuple(turns),
        mentions=mentions,
        mentions_labelled=labelled,
        duration=duration,
        format=fmt,
        description=" ".join(str(entry.get("description", "")).split()),
        tags=tuple(entry.get("tags", ())),
        restricted=bool(entry.get("restricted", False)),
        notes=tuple(notes),
    )


def _mention(m: Any, cid: str) -> LabelledMention:
    if not isinstance(m, Mapping) or "claim_type" not in m:
        raise CaseError(f"mention {m!r} needs at least 'claim_type'", case_id=cid)
    competitor = m.get("competitor")
    kind = m.get("kind") or ("competitor" if competitor else "objection")
    if kind == "competitor" and m["claim_type"] not in CLAIM_TYPES:
        raise CaseError(f"unknown claim_type {m['claim_type']!r}", case_id=cid)
    start, end = _opt_float(m.get("start")), _opt_float(m.get("end"))
    if start is not None and end is not None and end < start:
        raise CaseError(f"mention ends before it starts ({start} > {end})", case_id=cid)
    return LabelledMention(
        competitor=competitor, claim_type=str(m["claim_type"]),
        speaker=str(m.get("speaker", "unknown")), start=start, end=end, kind=kind,
        evidence=str(m.get("evidence", "")),
        expected_sections=tuple(m.get("expected_sections", ())),
    )


def _resolve(base: Path, rel: Any, cid: str | None, *, must_exist: bool = True) -> Path | None:
    if rel is None:
        return None
    path = (base / str(rel)).resolve()
    if must_exist and not path.is_file():
        raise CaseError("file not found", case_id=cid, file=path)
    return path


def _read_text(path: Path | None, cid: str | None) -> str:
    if path is None:
        raise CaseError("no 'reference' given", case_id=cid)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"cannot read ({exc})", case_id=cid, file=path) from None


def _read_json(path: Path | None, case_id: str | None) -> Any:
    if path is None:
        raise CaseError("no file given", case_id=case_id)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError("file not found", case_id=case_id, file=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaseError(f"not readable JSON ({exc})", case_id=case_id, file=path) from None


def _parsed(parser: Any, content: Any, cid: str) -> Any:
    try:
        return parser(content)
    except ValueError as exc:
        raise CaseError(str(exc), case_id=cid) from None


def _wav_info(path: Path, rate: Any, duration: float | None) -> tuple[Any, float | None]:
    try:
        with wave.open(str(path), "rb") as w:
            return (rate if rate is not None else w.getframerate(),
                    duration if duration is not None else w.getnframes() / w.getframerate())
    except (wave.Error, EOFError) as exc:
        raise CaseError(f"not a readable WAV ({exc})", file=path) from None


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _entry_id(entry: Any) -> str:
    if isinstance(entry, Mapping):
        return str(entry.get("id") or (Path(str(entry.get("label", ""))).stem if entry.get("label") else ""))
    return Path(str(entry)).stem
