import sqlite3

import pytest

from copilot.errors import UnknownCall
from copilot.events import Flag, Transcript
from copilot.store.sqlite import EventStore


@pytest.fixture
def store(tmp_path):
    s = EventStore(tmp_path / "db" / "events.sqlite3")
    s.open_call("c1", rep="dan", account="acme", encoding="pcm_s16le", sample_rate=16000,
                channels=1, speakers=["unknown"], playbook_version="abc")
    yield s
    s.close()


def tr(seq, final, text="hello"):
    return Transcript(segment_id="u-0", speaker="unknown", start=0, end=1, text=text,
                      final=final).stamped(call_id="c1", seq=seq, ts=100.0 + seq)


def test_finals_and_flags_are_stored_partials_are_not(store):
    store.append(tr(1, False, "hel"))
    store.append(tr(2, True))
    store.append(Flag(flag_id="f1", competitor="algolia").stamped(call_id="c1", seq=3, ts=1.0))
    events = list(store.events("c1"))
    assert [e["type"] for e in events] == ["transcript", "flag"]
    assert events[0]["final"] is True and events[0]["text"] == "hello"
    assert store.last_seq("c1") == 3
    assert store.has_item("c1", "f1") and not store.has_item("c1", "f2")
    rec = store.call("c1")
    assert rec.counts == {"transcript": 1, "flag": 1} and rec.rep == "dan"


def test_wal_mode_and_survives_reopen(store, tmp_path):
    store.append(tr(1, True))
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again = EventStore(store.path)
    assert len(list(again.events("c1"))) == 1
    assert again.open_call("c1", rep=None, account=None, encoding="pcm_s16le",
                           sample_rate=16000, channels=1, speakers=["unknown"],
                           playbook_version="abc") is False  # resumed, not recreated


def test_annotations_keep_history(store):
    assert store.annotate("c1", "a1", "s1", "accept", {}) == 1
    assert store.annotate("c1", "a1", "s1", "edit", {"text": "better", "original": "x"}) == 2
    current = store.annotations("c1")
    assert len(current) == 1 and current[0]["action"] == "edit" and current[0]["text"] == "better"
    assert [a["revision"] for a in store.annotations("c1", history=True)] == [1, 2]


def test_unknown_call(store):
    with pytest.raises(UnknownCall, match="nope"):
        store.call("nope")
    with pytest.raises(UnknownCall):
        list(store.events("nope"))


def test_retention_purges_only_old_ended_calls(store):
    store.append(tr(1, True))
    store.close_call("c1", audio_seconds=3.0)
    assert store.purge_older_than(0) == 0
    store._run("UPDATE calls SET ended_at = ended_at - 100 * 86400")
    assert store.purge_older_than(90) == 1
    with pytest.raises(UnknownCall):
        store.call("c1")


def test_a_resent_flag_counts_once(store):
    store.append(Flag(flag_id="f1", competitor="algolia").stamped(call_id="c1", seq=1, ts=1.0))
    store.append(Flag(flag_id="f1", competitor="algolia", claim_type="pricing").stamped(
        call_id="c1", seq=2, ts=2.0))
    assert store.call("c1").counts == {"flag": 1}
