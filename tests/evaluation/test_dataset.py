"""Manifest loading: label files, adapters, problems collected per case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.errors import CaseError, CopilotError
from copilot.evaluation.adapters import Turn
from copilot.evaluation.dataset import load_dataset
from copilot.events import CLAIM_TYPES

REPO = Path(__file__).resolve().parents[2]
SCRIPTED = REPO / "eval/datasets/scripted"


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def silent_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> Path:
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return path


LABEL = {
    "id": "call1",
    "audio": "audio/call1.wav",
    "sample_rate": 8000,
    "channels": 1,
    "speakers": ["unknown"],
    "turns": [
        {"speaker": "rep", "text": "Hello there.", "start": 0.1, "end": 0.5},
        {"speaker": "customer", "text": "Algolia is cheaper.", "start": 0.6, "end": 0.9},
    ],
    "mentions": [
        {"competitor": "algolia", "claim_type": "pricing", "speaker": "customer",
         "start": 0.6, "end": 0.7, "expected_sections": ["algolia/pricing"]},
    ],
}


def test_label_manifest_and_problems_alongside(tmp_path: Path) -> None:
    silent_wav(tmp_path / "audio/call1.wav")
    write(tmp_path / "call1.json", LABEL)
    write(tmp_path / "bad_claim.json", {**LABEL, "id": "bad_claim",
                                        "mentions": [{"competitor": "algolia", "claim_type": "cheap"}]})
    write(tmp_path / "no_audio.json", {**LABEL, "id": "no_audio", "audio": "audio/missing.wav"})
    write(tmp_path / "broken.json", "{not json")
    write(tmp_path / "manifest.json", {"name": "t", "cases": [
        "call1.json", "bad_claim.json", "no_audio.json", "broken.json", "absent.json",
        {"id": "x", "format": "nope"},
    ]})
    ds = load_dataset(tmp_path)
    assert ds.name == "t"
    assert [c.id for c in ds] == ["call1"]
    assert len(ds.problems) == 5
    assert all(isinstance(p, CaseError) and isinstance(p, CopilotError) for p in ds.problems)
    text = "\n".join(str(p) for p in ds.problems)
    for needle in ("cheap", "missing.wav", "not readable JSON", "absent.json", "unknown format"):
        assert needle in text

    case = ds.get("call1")
    assert case is not None and case.audio == (tmp_path / "audio/call1.wav").resolve()
    assert case.duration == pytest.approx(1.0)  # read from the WAV header
    assert case.reference == "Hello there. Algolia is cheaper."
    assert case.reference_for("customer") == "Algolia is cheaper."
    assert case.mentions_labelled and case.mentions[0].expected_sections == ("algolia/pricing",)
    assert case.mentions[0].kind == "competitor"

    # text-only runs may load labels whose audio has not been generated
    loose = load_dataset(tmp_path, check_audio=False)
    assert {c.id for c in loose} == {"call1", "no_audio"}


def test_single_label_file_is_a_dataset(tmp_path: Path) -> None:
    silent_wav(tmp_path / "audio/call1.wav")
    ds = load_dataset(write(tmp_path / "call1.json", LABEL))
    assert [c.id for c in ds] == ["call1"] and not ds.problems


def test_adapter_entries_with_base(tmp_path: Path) -> None:
    data = tmp_path / "data"
    silent_wav(data / "a.wav", 2.0, 16000)
    write(data / "a.txt", "ask not\n")
    write(data / "a.stm", "a 1 Diane 0.5 1.0 hi\na 1 Sheila 0.2 0.4 hello\n")
    write(data / "left.txt", "left words")
    write(data / "right.txt", "right words")
    write(data / "w.json", [{"speaker": "A", "word": "hi", "start": 0.0, "end": 0.2}])
    write(data / "ax.txt", "EN transcription\n00:00:01\nHello?\n")
    manifest = write(tmp_path / "sets/m.json", {"base": "../data", "cases": [
        {"id": "txt", "format": "txt", "audio": "a.wav", "reference": "a.txt", "mentions": []},
        {"id": "stm", "format": "stm", "audio": "a.wav", "reference": "a.stm",
         "speaker_map": {"Diane": "rep"}},
        {"id": "stereo", "format": "txt", "audio": "a.wav", "channels": 2,
         "speakers": ["rep", "customer"], "channel_references": ["left.txt", "right.txt"]},
        {"id": "woz", "format": "spokenwoz", "audio": "a.wav", "reference": "w.json"},
        {"id": "ax", "format": "axondata", "audio": "a.wav", "reference": "ax.txt", "duration": 5},
        {"id": "text", "format": "text", "text": "Typesense lacks geo search.",
         "mentions": [{"competitor": "typesense", "claim_type": "feature_gap"}]},
        {"id": "bad_speakers", "format": "txt", "audio": "a.wav", "reference": "a.txt",
         "channels": 2, "speakers": ["rep"]},
        {"format": "txt", "reference": "a.txt"},
    ]})
    ds = load_dataset(manifest)
    by_id = {c.id: c for c in ds}
    assert set(by_id) == {"txt", "stm", "stereo", "woz", "ax", "text"}
    assert len(ds.problems) == 2
    assert by_id["txt"].mentions_labelled and not by_id["stm"].mentions_labelled
    assert by_id["txt"].sample_rate == 16000 and by_id["txt"].duration == pytest.approx(2.0)
    assert by_id["stm"].turns == (Turn("rep", "hi", 0.5, 1.0), Turn("Sheila", "hello", 0.2, 0.4))
    assert by_id["stm"].reference == "hello hi"  # time order
    assert by_id["stereo"].reference_for("customer") == "right words"
    assert by_id["woz"].turns == (Turn("A", "hi", 0.0, 0.2),)
    assert by_id["ax"].turns == (Turn("unknown", "Hello?", 1.0, 5.0),)
    text = by_id["text"]
    assert text.text_only and text.mentions[0].start is None


def test_committed_scripted_labels_are_consistent() -> None:
    ds = load_dataset(SCRIPTED, check_audio=False)
    assert not ds.problems, [str(p) for p in ds.problems]
    manifest = json.loads((SCRIPTED / "manifest.json").read_text())
    assert len(ds) == len(manifest["cases"]) >= 11
    claims = {m.claim_type for c in ds for m in c.mentions}
    assert set(CLAIM_TYPES) - {"unspecified"} <= claims and {"budget", "timing"} <= claims
    assert sum(1 for c in ds if not c.mentions) >= 2  # false-flag calls
    for case in ds:
        assert case.audio is not None and case.audio.name == f"{case.id}.wav"
        assert case.sample_rate in (8000, 16000) and case.duration is not None
        starts = [t.start for t in case.turns]
        assert starts == sorted(starts)
        for a, b in zip(case.turns, case.turns[1:], strict=False):
            assert a.end is not None and b.start is not None
            assert 0.4 - 1e-3 <= b.start - a.end <= 0.9 + 1e-3
        assert case.turns[-1].end is not None and case.turns[-1].end < case.duration
        for m in case.mentions:
            # the evidence lies inside a turn of the labelled speaker that says it
            turn = next(t for t in case.turns
                        if t.start is not None and t.end is not None and m.start is not None
                        and t.start <= m.start < t.end)
            assert m.evidence in turn.text and turn.speaker == m.speaker
            assert m.end is not None and m.start < m.end <= turn.end
            assert m.expected_sections  # every mention names the answer it should retrieve
        if case.channels == 2:
            assert case.speakers == ("rep", "customer")


def test_scripted_labels_use_playbook_ids() -> None:
    """Expected sections and competitor ids exist in the committed playbooks (ids drift otherwise)."""
    from copilot.playbooks.loader import load_playbooks

    playbooks = load_playbooks(REPO / "playbooks")
    section_ids = {s.id for s in playbooks.sections}
    competitor_ids = {c.id for c in playbooks.competitors}
    ds = load_dataset(SCRIPTED, check_audio=False)
    for case in ds:
        for m in case.mentions:
            assert set(m.expected_sections) <= section_ids, (case.id, m.expected_sections)
            if m.competitor:
                assert m.competitor in competitor_ids, (case.id, m.competitor)


@pytest.mark.shared_data
def test_shared_real_manifest_loads(shared_data: Path) -> None:
    ds = load_dataset(REPO / "eval/datasets/shared_real.json")
    assert not ds.problems, [str(p) for p in ds.problems]
    ids = {c.id for c in ds}
    assert {"jfk", "pyannote_sample", "faster_whisper_stereo", "axondata_en_support"} <= ids
    assert sum(1 for i in ids if i.startswith("librivox_")) == 3
    assert sum(1 for i in ids if i.startswith("spokenwoz_")) == 3
    for case in ds:
        assert case.audio is not None and case.audio.is_file()
        assert shared_data in case.audio.parents  # read in place, never copied
        assert case.reference and case.duration and case.mentions_labelled
    assert all(c.restricted for c in ds if c.id.startswith(("spokenwoz", "axondata")))
    assert ds.get("axondata_en_support").notes  # the malformed stamps are reported
