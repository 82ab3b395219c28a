"""The real server over a real websocket (port 0) with the real models, on real and scripted audio."""

from __future__ import annotations

import asyncio
import io
import json
import time
from contextlib import redirect_stdout

import pytest
from websockets.sync.client import connect

from copilot.audio.files import encode_samples, read_audio
from copilot.evaluation.metrics import word_error_rate
from copilot.replay import ReplayResult, replay_samples
from tests.conftest import SALES_CALL, drop_and_resume, shared_file


def replay(server, samples, rate=16000, **kw) -> ReplayResult:
    return asyncio.run(replay_samples(samples, server.url, sample_rate=rate, **kw))


def text_of(rel: str) -> str:
    return shared_file(rel).read_text().strip()


def test_jfk_real_speech_wer_within_ten_percent(live_server):
    audio = read_audio(shared_file("openai-whisper-jfk/jfk.flac"))  # 44.1 kHz stereo → 16k mono
    r = replay(live_server, audio, speed=3)
    wer = word_error_rate(text_of("openai-whisper-jfk/jfk.txt"), r.transcript()).wer
    print(f"jfk streaming WER {wer:.3f}: {r.transcript()!r}")
    assert wer <= 0.10
    assert r.of_type("ended") and not r.of_type("error")
    # partials came first and were replaced by a final of the same segment (S17)
    segs = {e["segment_id"] for e in r.finals()}
    assert any(not e["final"] and e["segment_id"] in segs for e in r.of_type("transcript"))


def test_real_conversation_is_transcribed_and_raises_no_flag(live_server):
    audio = read_audio(shared_file("pyannote-sample-conversation/sample.wav"))
    r = replay(live_server, audio, speed=3)
    ref = " ".join(line.split(" ", 5)[5] for line in
                   text_of("pyannote-sample-conversation/sample.stm").splitlines())
    wer = word_error_rate(ref, r.transcript()).wer
    print(f"pyannote streaming WER {wer:.3f}")
    assert wer < 0.35
    assert r.of_type("flag") == [] and r.of_type("suggestion") == []


def test_scripted_sales_call_flags_both_competitors_with_sourced_answers(live_server, engine):
    labels = json.loads(SALES_CALL.with_suffix(".json").read_text())
    r = replay(live_server, read_audio(SALES_CALL), speed=2, call_id="sales-acceptance")
    flags = {}
    for f in r.of_type("flag"):
        flags[f["flag_id"]] = f  # a re-sent flag replaces the earlier one
    by_competitor = {f["competitor"]: f for f in flags.values()}
    assert set(by_competitor) >= {"algolia", "elasticsearch"}
    assert by_competitor["algolia"]["claim_type"] == "pricing"
    suggestions = r.of_type("suggestion")
    for m in labels["mentions"]:
        flag = by_competitor[m["competitor"]]
        assert abs(flag["start"] - m["start"]) < 3.0
        answers = [s for s in suggestions if s["flag_id"] == flag["flag_id"]]
        assert answers, f"no suggestion for {m['competitor']}"
        assert answers[-1]["sources"][0]["section"] in m["expected_sections"]
        assert answers[-1]["sources"][0]["version"] == engine.playbooks.version
    # everything is in the store, and `copilot show` prints it
    stored = list(engine.store.events("sales-acceptance"))
    assert {e["type"] for e in stored} >= {"transcript", "flag", "suggestion", "ended"}
    assert all(e["final"] for e in stored if e["type"] == "transcript")
    from copilot.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "sales-acceptance", "--db", str(engine.store.path)]) == 0
    printed = out.getvalue()
    assert "FLAG    Algolia / pricing" in printed and "algolia/pricing" in printed
    assert "Elasticsearch" in printed


def test_two_channels_are_two_speakers(live_server):
    audio = read_audio(shared_file("faster-whisper-stereo/stereo_diarization.wav"), channels=2)
    r = replay(live_server, audio, speed=2, speakers=["rep", "customer"])
    for speaker, rel in (("rep", "faster-whisper-stereo/stereo_diarization.left.txt"),
                         ("customer", "faster-whisper-stereo/stereo_diarization.right.txt")):
        wer = word_error_rate(text_of(rel), r.transcript(speaker)).wer
        assert wer <= 0.25, (speaker, r.transcript(speaker))


def test_telephone_mulaw_8k_is_transcribed(live_server):
    audio = read_audio(shared_file("openai-whisper-jfk/jfk.flac"), sample_rate=8000)
    r = replay(live_server, audio, rate=8000, encoding="mulaw", speed=3)
    assert word_error_rate(text_of("openai-whisper-jfk/jfk.txt"), r.transcript()).wer <= 0.2


def test_last_words_get_a_final_when_the_stream_stops_at_once(live_server):
    # BUGS S13: stop 0.2 s after the sentence ends
    audio = read_audio(shared_file("pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0930.wav"))
    r = replay(live_server, audio, speed=2)
    ref = text_of("pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0930.txt")
    assert word_error_rate(ref, r.transcript()).wer <= 0.2


def _events(ws, until: str, timeout: float = 120) -> list[dict]:
    out, end = [], time.time() + timeout
    while time.time() < end:
        e = json.loads(ws.recv(timeout=max(0.1, end - time.time())))
        out.append(e)
        if e["type"] == until:
            return out
    raise AssertionError(f"no {until!r} event")


def test_bad_input_gets_errors_and_loses_nothing(live_server, engine):
    url = live_server.url + "/v1/calls/bad-input-call"
    audio = read_audio(shared_file("openai-whisper-jfk/jfk.flac"))
    pcm = encode_samples(audio, "pcm_s16le")
    with connect(live_server.url + "/v1/calls/early-audio") as ws:
        ws.send(b"\x00\x01" * 100)
        e = json.loads(ws.recv(timeout=10))
        assert e["type"] == "error" and "before 'start'" in e["message"]
        ws.send(json.dumps({"type": "start", "encoding": "opus"}))
        e = json.loads(ws.recv(timeout=10))
        assert e["code"] == "bad_audio" and "opus" in e["message"]
    with connect(url, max_size=2**22) as ws:
        ws.send(json.dumps({"type": "start"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        half = len(pcm) // 2 // 2 * 2
        for i in range(0, half, 1280):
            ws.send(pcm[i:i + 1280])
        ws.send(json.dumps({"type": "dance"}))
        ws.send(b"\x00" * 3)  # not whole int16 samples
        ws.send(b"\x00" * (300 * 1024))  # over the 256 KiB frame limit
        ws.send("{not json")
        for i in range(half, len(pcm), 1280):
            ws.send(pcm[i:i + 1280])
        ws.send(json.dumps({"type": "stop"}))
        events = _events(ws, "ended")
    errors = [e for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["bad_message", "bad_audio", "message_too_large",
                                          "bad_message"]
    assert "unknown message type 'dance'" in errors[0]["message"]
    assert not any(e["fatal"] for e in errors)
    finals = [e["text"] for e in events if e["type"] == "transcript" and e["final"]]
    assert word_error_rate(text_of("openai-whisper-jfk/jfk.txt"), " ".join(finals)).wer <= 0.1
    stored = [e for e in engine.store.events("bad-input-call") if e["type"] == "transcript"]
    assert [e["text"] for e in stored] == finals


def test_float32_sent_as_int16_is_an_error_not_words(live_server):
    # BUGS S04
    audio = read_audio(shared_file("openai-whisper-jfk/jfk.flac"))
    data = encode_samples(audio, "pcm_f32le")
    with connect(live_server.url + "/v1/calls/s04-call") as ws:
        ws.send(json.dumps({"type": "start", "encoding": "pcm_s16le"}))
        for i in range(0, len(data), 1280):
            ws.send(data[i:i + 1280])
        ws.send(json.dumps({"type": "stop"}))
        events = _events(ws, "ended")
    errors = [e for e in events if e["type"] == "error"]
    assert errors and errors[0]["code"] == "bad_audio" and "pcm_f32le" in errors[0]["message"]


def test_reconnect_resumes_without_losing_or_duplicating_words(live_server, engine):
    # BUGS S12: drop mid-call, reconnect, resume from the server's offset
    audio = read_audio(shared_file("openai-whisper-jfk/jfk.flac"))
    pcm = encode_samples(audio, "pcm_s16le")
    cut = 6 * 32000
    ready, events = drop_and_resume(live_server.url + "/v1/calls/resume-call", pcm, cut, 1.0)
    assert int(round(ready["resumed_from"] * 16000)) * 2 == cut
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and seqs[0] > 1  # seq continues across the reconnect
    stored = [e for e in engine.store.events("resume-call") if e["type"] == "transcript"]
    assert [e["seq"] for e in stored] == sorted(e["seq"] for e in stored)
    text = " ".join(e["text"] for e in stored)
    print("stored transcript after resume:", text)
    result = word_error_rate(text_of("openai-whisper-jfk/jfk.txt"), text)
    assert result.insertions == 0 and result.wer <= 0.1


def test_health_and_unknown_paths(live_server):
    import urllib.error
    import urllib.request

    base = live_server.url.replace("ws://", "http://")
    assert urllib.request.urlopen(base + "/healthz").read() == b"OK\n"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + "/nope")
    assert err.value.code == 404


def test_recent_calls_and_catalog_endpoints(live_server, engine):
    import urllib.request

    base = live_server.url.replace("ws://", "http://")
    engine.store.open_call("listed-call", rep="ann", account="acme", encoding="pcm_s16le",
                           sample_rate=16000, channels=1, speakers=["unknown"],
                           playbook_version=engine.playbooks.version)
    calls = json.loads(urllib.request.urlopen(base + "/v1/calls?rep=ann").read())
    assert [c["call_id"] for c in calls] == ["listed-call"]
    assert json.loads(urllib.request.urlopen(base + "/v1/calls?rep=nobody").read()) == []
    catalog = json.loads(urllib.request.urlopen(base + "/v1/catalog").read())
    assert {"algolia", "elasticsearch", "typesense"} <= {c["id"] for c in catalog["competitors"]}
    assert "pricing" in catalog["claim_types"] and "budget" in catalog["objection_types"]
