"""Parsers for the reference formats of the shared eval data (pure: text/objects in, turns out).

Every parser takes the file *content* (a string or the decoded JSON), never a path, so it can be
tested with literals; :mod:`copilot.evaluation.dataset` reads the files and calls these.

Formats:

- **plain text** (``jfk.txt``, LibriVox ``*.txt``): the whole reference, no speakers or times.
- **STM** (NIST segment time mark, pyannote ``sample.stm``): ``file channel speaker start end
  text`` per line; ``;;`` lines are comments.
- **SpokenWOZ** word JSON: a list of ``{"speaker": "A"|"B", "word", "start", "end"}``; words are
  grouped into turns at a speaker change or a pause longer than ``max_pause``.
- **AxonData** timed transcript: after an ``EN transcription`` heading, lines alternate
  ``HH:MM:SS`` stamps and utterances, without speakers. Some stamps are malformed (``00:01:60``):
  out-of-range fields are read arithmetically (01:60 → 120 s, as the publisher evidently meant a
  carry) and reported; a stamp that does not parse at all, or goes backwards, leaves its
  utterance untimed (``start`` None) and is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Turn",
    "join_turns",
    "parse_axondata",
    "parse_plain_text",
    "parse_spokenwoz",
    "parse_stm",
]


@dataclass(frozen=True)
class Turn:
    """One reference utterance. ``start``/``end`` are audio seconds, None when not known."""

    speaker: str
    text: str
    start: float | None = None
    end: float | None = None


def parse_plain_text(text: str, speaker: str = "unknown") -> list[Turn]:
    """A plain reference file as one untimed turn (whitespace collapsed); no turn if empty."""
    body = " ".join(text.split())
    return [Turn(speaker, body)] if body else []


def parse_stm(text: str) -> list[Turn]:
    """Parse STM lines into timed turns, in file order.

    Raises:
        ValueError: a non-comment line without the six fields or with non-numeric times
            (the message gives the line number).
    """
    turns: list[Turn] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise ValueError(f"STM line {lineno}: expected 'file channel speaker start end text'")
        try:
            start, end = float(fields[3]), float(fields[4])
        except ValueError as exc:
            raise ValueError(f"STM line {lineno}: bad time ({exc})") from None
        words = fields[5] if len(fields) > 5 else ""
        # STM marks untranscribed regions with this pseudo-word
        if words.strip() in ("ignore_time_segment_in_scoring", ""):
            continue
        turns.append(Turn(fields[2], " ".join(words.split()), start, end))
    return turns


def parse_spokenwoz(words: Any, max_pause: float = 1.0) -> list[Turn]:
    """Group SpokenWOZ words into turns.

    Args:
        words: the decoded JSON (a list of word records).
        max_pause: a silence longer than this (seconds) between two words of the same speaker
            starts a new turn, so turn times stay tight for latency measurements.

    Raises:
        ValueError: not a list of records with ``speaker``, ``word``, ``start``, ``end``.
    """
    if not isinstance(words, list):
        raise ValueError("SpokenWOZ JSON must be a list of word records")
    turns: list[Turn] = []
    cur: list[str] = []
    speaker: str | None = None
    start = end = 0.0
    for i, rec in enumerate(words):
        try:
            spk, word = str(rec["speaker"]), str(rec["word"])
            w0, w1 = float(rec["start"]), float(rec["end"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"SpokenWOZ word {i}: bad record {rec!r} ({exc})") from None
        if cur and (spk != speaker or w0 - end > max_pause):
            turns.append(Turn(speaker or "unknown", " ".join(cur), start, end))
            cur = []
        if not cur:
            speaker, start = spk, w0
        cur.append(word)
        end = max(end, w1) if cur[:-1] else w1
    if cur:
        turns.append(Turn(speaker or "unknown", " ".join(cur), start, end))
    return turns


_STAMP = re.compile(r"^\s*(\d{1,2}):(\d{1,2}):(\d{1,2})\s*$")


def _looks_like_stamp(line: str) -> bool:
    """A short token with a colon, mostly digits (catches typos like ``00:0x:10``)."""
    token = line.strip()
    digits = sum(ch.isdigit() for ch in token)
    return 0 < len(token) <= 12 and " " not in token and ":" in token and digits * 2 >= len(token)

_AXON_HEADING = re.compile(r"^\s*(EN|English)\s+transcri(ption|pt)\s*$", re.IGNORECASE)


def parse_axondata(
    text: str, duration: float | None = None
) -> tuple[list[Turn], list[str]]:
    """Parse an AxonData timed transcript.

    Args:
        text: the ``.txt`` extraction of the publisher's document.
        duration: audio length in seconds, used as the end of the last turn when known.

    Returns:
        ``(turns, problems)``: turns with ``speaker`` "unknown", each ending where the next timed
        one starts; problems are human-readable notes about malformed stamps (not fatal).

    Raises:
        ValueError: no ``EN transcription`` heading, or no utterance after it.
    """
    lines = text.splitlines()
    head = next((i for i, line in enumerate(lines) if _AXON_HEADING.match(line)), None)
    if head is None:
        raise ValueError("no 'EN transcription' heading found")
    problems: list[str] = []
    raw: list[tuple[float | None, str]] = []
    stamp: float | None = None
    have_stamp = False
    last_time = -1.0
    for lineno, line in enumerate(lines[head + 1 :], start=head + 2):
        if not line.strip():
            continue
        if _looks_like_stamp(line):
            m = _STAMP.match(line)
            if m is None:
                problems.append(f"line {lineno}: unreadable time stamp {line.strip()!r}")
                stamp, have_stamp = None, True
                continue
            h, mi, s = (int(g) for g in m.groups())
            value = float(h * 3600 + mi * 60 + s)
            if mi >= 60 or s >= 60:
                problems.append(f"line {lineno}: out-of-range stamp {line.strip()!r} read as {value:g} s")
            if value < last_time:
                problems.append(f"line {lineno}: stamp {line.strip()!r} goes backwards; left untimed")
                stamp, have_stamp = None, True
                continue
            stamp, have_stamp, last_time = value, True, value
            continue
        utterance = " ".join(line.split())
        if not have_stamp and raw:
            # a second paragraph without its own stamp continues the previous utterance
            t, prev = raw[-1]
            raw[-1] = (t, prev + " " + utterance)
        else:
            raw.append((stamp, utterance))
        stamp, have_stamp = None, False
    if not raw:
        raise ValueError("no utterances after the transcription heading")
    turns: list[Turn] = []
    for i, (t, utt) in enumerate(raw):
        nxt = next((t2 for t2, _ in raw[i + 1 :] if t2 is not None), duration)
        end = nxt if t is not None and nxt is not None and nxt >= t else None
        turns.append(Turn("unknown", utt, t, end))
    return turns, problems


def join_turns(turns: Iterable[Turn]) -> str:
    """The reference transcript of a case: turn texts in time order.

    Turns are sorted by start only when every turn is timed (STM files from diarization are not
    always in time order); otherwise file order is kept, since it is the only order known.
    """
    items = list(turns)
    if all(t.start is not None for t in items):
        items.sort(key=lambda t: t.start or 0.0)  # stable: equal starts keep file order
    return " ".join(t.text for t in items if t.text)
