"""Reference-format parsers, on literals and (where present) on the shared files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.evaluation.adapters import (
    Turn,
    join_turns,
    parse_axondata,
    parse_plain_text,
    parse_spokenwoz,
    parse_stm,
)


def test_plain_text() -> None:
    assert parse_plain_text(" and so my\nfellow  Americans \n") == [
        Turn("unknown", "and so my fellow Americans")
    ]
    assert parse_plain_text("\n \n") == []


def test_stm_parses_fields_and_skips_comments() -> None:
    text = (
        ";; comment line\n"
        "sample 1 Diane 6.68 7.16 Hello?\n"
        "\n"
        "sample 1 Sheila 7.634 8.155 Hello   there.\n"
        "sample 1 Sheila 9.0 9.5 ignore_time_segment_in_scoring\n"
    )
    assert parse_stm(text) == [
        Turn("Diane", "Hello?", 6.68, 7.16),
        Turn("Sheila", "Hello there.", 7.634, 8.155),
    ]


@pytest.mark.parametrize("line", ["sample 1 Diane 6.68", "sample 1 Diane x 7.0 hi"])
def test_stm_bad_lines_name_the_line(line: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_stm("sample 1 A 0 1 ok\n" + line)


def test_spokenwoz_groups_words_by_speaker_and_pause() -> None:
    words = [
        {"speaker": "A", "word": "hi", "start": 0.5, "end": 0.8},
        {"speaker": "A", "word": "there", "start": 0.9, "end": 1.2},
        {"speaker": "B", "word": "hello", "start": 1.5, "end": 1.9},
        {"speaker": "B", "word": "again", "start": 4.0, "end": 4.3},  # 2.1 s pause: new turn
    ]
    assert parse_spokenwoz(words, max_pause=1.0) == [
        Turn("A", "hi there", 0.5, 1.2),
        Turn("B", "hello", 1.5, 1.9),
        Turn("B", "again", 4.0, 4.3),
    ]
    with pytest.raises(ValueError, match="word 0"):
        parse_spokenwoz([{"speaker": "A", "word": "x"}])
    with pytest.raises(ValueError):
        parse_spokenwoz({"not": "a list"})


AXON = """Summary
Key points 00:00:99 is not a stamp line
EN transcription
00:00:02
Hello?
00:00:04
Hello. Am I speaking to Maria?
00:01:60
Carry stamp.
00:0x:10
Unreadable stamp.
00:00:30
Goes backwards.
Continues the same utterance.
00:03:00
Last one.
"""


def test_axondata_stamps_and_problems() -> None:
    turns, problems = parse_axondata(AXON, duration=200.0)
    assert [t.text for t in turns] == [
        "Hello?",
        "Hello. Am I speaking to Maria?",
        "Carry stamp.",
        "Unreadable stamp.",
        "Goes backwards. Continues the same utterance.",
        "Last one.",
    ]
    assert [t.start for t in turns] == [2.0, 4.0, 120.0, None, None, 180.0]
    # each timed turn ends where the next timed one starts; the last ends at the duration
    assert [t.end for t in turns] == [4.0, 120.0, 180.0, None, None, 200.0]
    assert len(problems) == 3
    assert "00:01:60" in problems[0] and "read as 120 s" in problems[0]
    assert "00:0x:10" in problems[1]
    assert "backwards" in problems[2]


def test_axondata_without_heading_is_an_error() -> None:
    with pytest.raises(ValueError, match="heading"):
        parse_axondata("00:00:01\nhello\n")
    with pytest.raises(ValueError, match="no utterances"):
        parse_axondata("EN transcription\n00:00:01\n")


def test_join_turns_orders_by_time_only_when_all_timed() -> None:
    timed = [Turn("B", "second", 2.0, 3.0), Turn("A", "first", 0.0, 1.0)]
    assert join_turns(timed) == "first second"
    mixed = [Turn("B", "second", 2.0), Turn("A", "first", None)]
    assert join_turns(mixed) == "second first"


@pytest.mark.shared_data
def test_shared_files_parse(shared_data: Path) -> None:
    stm = parse_stm((shared_data / "pyannote-sample-conversation/sample.stm").read_text())
    assert len(stm) == 13 and {t.speaker for t in stm} == {"Diane", "Sheila"}
    assert all(t.start is not None and t.end is not None and t.start < t.end for t in stm)

    words = json.loads((shared_data / "spokenwoz-8k-calls/MUL1423.json").read_text())
    turns = parse_spokenwoz(words)
    assert sum(len(t.text.split()) for t in turns) == len(words)
    assert {t.speaker for t in turns} == {"A", "B"}

    axon = next((shared_data / "axondata-callcenter-samples").glob("EN_customer_support_*.txt"))
    turns, problems = parse_axondata(axon.read_text(), duration=689.76)
    assert turns[0].text == "Hello?" and turns[0].start == 2.0
    assert len(turns) > 50
    assert any("00:01:60" in p for p in problems)
    timed = [t.start for t in turns if t.start is not None]
    assert timed == sorted(timed) and timed[-1] <= 689.76
