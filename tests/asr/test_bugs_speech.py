"""Every speech row of /work/shared/BUGS.md (S01–S17) as a small input with its "right behaviour".

Inputs are made here (espeak-ng speech, numpy noise) or read from ../shared/data. Rows whose right
behaviour is about time (S09, S10, S13, S16) go through the real server at real time; rows about
*what* reaches the decoder or what text comes out (S01–S03, S14, S15) run the same live ASR stages
without sockets (``run_pipeline``), which is exact and much faster. Long versions (S02 10 min,
S08 40 min, S11 2 h) are benchmark cases under ``eval/bugs/``.
"""

from __future__ import annotations

import asyncio
import json
import time
import wave

import numpy as np
import pytest
from websockets.sync.client import connect

from copilot.audio.files import encode_samples, read_audio
from copilot.audio.resample import StreamResampler
from copilot.evaluation.metrics import word_error_rate
from copilot.replay import ReplayResult, replay_samples
from tests.asr.speech_inputs import (
    at_dbfs,
    cat,
    hum,
    loops,
    pink,
    run_pipeline,
    silence,
    speak,
    white,
    words,
)
from tests.conftest import drop_and_resume, shared_file

CATALOG = ("algolia", "elasticsearch", "elastic", "mongodb", "mongo", "postgresql", "postgres",
           "typesense")
PRICING = "Honestly, Algolia was cheaper for our catalog last year."
# the segmenter keeps speech_pad_ms (0.4 s) either side of speech and needs min_silence_ms
# (0.5 s) to end an utterance; a request may reach this far into a gap, no further
EDGE_S = 1.0


def replay(server, samples, rate=16000, **kw) -> ReplayResult:  # noqa: ANN001
    if samples.ndim == 1:
        samples = samples[:, None]
    return asyncio.run(replay_samples(samples, server.url, sample_rate=rate, **kw))


def texts(r: ReplayResult) -> list[str]:
    return [e["text"] for e in r.of_type("transcript") if e["text"]]


def _events(ws, until: str, timeout: float = 120) -> list[dict]:  # noqa: ANN001
    out, end = [], time.time() + timeout
    while time.time() < end:
        e = json.loads(ws.recv(timeout=max(0.1, end - time.time())))
        out.append(e)
        if e["type"] == until:
            return out
    raise AssertionError(f"no {until!r} event")


def send_raw(server, call_id: str, start: dict, data: bytes, chunk: int = 1280) -> list[dict]:  # noqa: ANN001
    """Send ``data`` as-is after ``start`` (no pacing), then stop; all events up to ``ended``."""
    with connect(server.url + "/v1/calls/" + call_id, max_size=2**22) as ws:
        ws.send(json.dumps({"type": "start", **start}))
        for i in range(0, len(data), chunk):
            ws.send(data[i:i + chunk])
        ws.send(json.dumps({"type": "stop"}))
        return _events(ws, "ended")


# S01 — nothing is invented on silence --------------------------------------------------------

def test_s01_room_tone_then_a_sentence_nothing_before_the_sentence(live_server):
    lead = 30.0
    audio = cat(pink(lead, -60, seed=1), speak(PRICING), silence(1.0))
    r = replay(live_server, audio, speed=6)
    trans = r.of_type("transcript")
    assert trans, "the sentence after the room tone was not transcribed"
    early = [e for e in trans if e["start"] < lead - EDGE_S]
    assert early == [], f"text inside 30 s of room tone: {early}"
    flags = r.of_type("flag")
    assert any(f["competitor"] == "algolia" for f in flags), (r.transcript(), flags)
    assert all(f["start"] >= lead - EDGE_S for f in flags)


@pytest.mark.parametrize("hiss_dbfs", [None, -55.0], ids=["digital_silence", "line_hiss"])
def test_s01_silent_gaps_never_reach_the_decoder(engine, hiss_dbfs):
    sentences = [
        "Thanks for taking the time today, I wanted to walk through the rollout plan.",
        "We tried Algolia last year and it was too expensive for our catalog.",
        "The search relevance matters most for our product team.",
        "Can you send the security documents before Friday?",
    ]
    parts, gaps, t = [], [], 0.0
    for k, s in enumerate(sentences):
        x = speak(s)
        parts.append(x)
        t += len(x) / 16000
        if k < len(sentences) - 1:
            gap = silence(20.0) if hiss_dbfs is None else white(20.0, hiss_dbfs, seed=k)
            gaps.append((t, t + 20.0))
            parts.append(gap)
            t += 20.0
    audio = cat(*parts, silence(1.0))
    if hiss_dbfs is not None:
        audio = audio + white(len(audio) / 16000, hiss_dbfs, seed=9)
    out = run_pipeline(engine, audio)
    for d in out:  # every request the segmenter made, partial or final
        for g0, g1 in gaps:
            inside = min(d.request.end, g1 - EDGE_S) - max(d.request.start, g0 + EDGE_S)
            assert inside <= 0, (f"decode request {d.request.start:.1f}-{d.request.end:.1f} s "
                                 f"reaches into the gap {g0:.1f}-{g1:.1f} s")
    finals = [d.event.text for d in out if d.event is not None and d.event.text]
    wer = word_error_rate(" ".join(sentences), " ".join(finals)).wer
    assert wer <= 0.25, (wer, finals)


# S02 — no repetition loops on noisy, overlapping speech ----------------------------------------

def test_s02_noisy_overlapping_minute_has_no_loop_that_was_not_spoken(engine):
    main = [
        "Our team reviewed three vendors for site search this quarter.",
        "The first one was fast but the pricing grew with every record we added.",
        "Support answered quickly, although the documentation was thin in places.",
        "We need typo tolerance, synonyms, and filters on price and brand.",
        "Procurement wants a yearly contract with a clear cap on usage.",
        "Security asked for single sign on and an audit log for every change.",
        "If the pilot goes well we would roll it out to all stores in the spring.",
        "Can you share a reference customer in retail with a similar catalog size?",
    ]
    other = ["Sorry, go on.", "Right, right.", "Yes, that matches what I heard.",
             "Hmm, interesting.", "Okay, and the timeline?"]
    speech = cat(*[cat(speak(s), silence(0.6)) for s in main])
    speech = cat(speech, speech[: max(0, 60 * 16000 - len(speech))])[: 60 * 16000]
    crosstalk = np.zeros_like(speech)
    for k, s in enumerate(other):  # a second voice talking over the first, 10 dB quieter
        x = at_dbfs(speak(s, voice="en-us+f3", speed=180), -32)
        at = int((5 + 11 * k) * 16000)
        crosstalk[at:at + len(x)] += x[: len(crosstalk) - at]
    audio = at_dbfs(speech, -22) + crosstalk + pink(len(speech) / 16000, -42, seed=3)
    out = run_pipeline(engine, np.clip(audio, -1, 1).astype(np.float32))
    finals = [d.event.text for d in out if d.event is not None and d.event.text]
    assert finals, "nothing transcribed"
    spoken = set(loops(" ".join(main + other)))
    invented = {d.event.text: loops(d.event.text) for d in out
                if d.event is not None and set(loops(d.event.text)) - spoken}
    assert invented == {}, invented
    # the whole-call text too: a loop may straddle two segments
    assert set(loops(" ".join(finals))) <= spoken, " | ".join(finals)
    for d in out:
        assert d.request.end - d.request.start <= 15.5  # bounded buffer (S08)


# S03 — quiet speech is transcribed, not turned into "All right. All right…" ---------------------

QUIET = "We compared two search engines and chose the one with better typo handling."
COUNT = "one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen."


@pytest.mark.parametrize("text", [QUIET, COUNT], ids=["sentence", "counting"])
def test_s03_speech_at_minus_35_dbfs_gives_the_right_words(engine, text):
    audio = cat(pink(1.0, -70, seed=5), at_dbfs(speak(text), -35), silence(1.0))
    out = run_pipeline(engine, audio)
    got = " ".join(d.event.text for d in out if d.event is not None and d.event.text)
    assert not loops(got, min_repeats=2, max_n=3) or "," in text, got
    wer = word_error_rate(text, got).wer
    assert wer <= 0.2, (wer, got)


def test_s03_a_word_said_three_times_is_not_a_loop_to_resample(engine):
    """The pyannote call opens "Hello. Hello. Hello. I didn't know you were there ...".

    Counting those three hellos as a loop sent the 14.5 s utterance to temperature fallback,
    and a sample at 0.6 came back as just "Hello!": three quarters of the words were lost.
    """
    audio = read_audio(shared_file("pyannote-sample-conversation/sample.wav"))[:, 0]
    r = engine.decoder.decode(audio[int(7.3 * 16000):int(21.8 * 16000)])
    assert r.temperature == 0.0, r
    assert len(r.text.split()) >= 30 and "New Jersey" in r.text, r.text


# S04 / S05 / S07 — declared format is honoured, a mismatch is an error, never words -------------

@pytest.fixture(scope="module")
def jfk() -> np.ndarray:
    return read_audio(shared_file("openai-whisper-jfk/jfk.flac"))[:, 0]


def _spoken(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "transcript" and e["text"]]


def _errors(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "error"]


def test_s04_int16_declared_float32_is_an_error_not_words(live_server, jfk):
    events = send_raw(live_server, "s04-int16-as-f32", {"encoding": "pcm_f32le"},
                      encode_samples(jfk[:, None], "pcm_s16le"))
    assert _spoken(events) == []
    assert _errors(events) and _errors(events)[0]["code"] == "bad_audio"


def test_s04_float32_declared_int16_gives_no_word_after_the_error(live_server, jfk):
    events = send_raw(live_server, "s04-f32-as-int16", {"encoding": "pcm_s16le"},
                      encode_samples(jfk[:, None], "pcm_f32le"))
    errors = _errors(events)
    assert errors and errors[0]["code"] == "bad_audio" and "pcm_f32le" in errors[0]["message"]
    assert _spoken(events) == [], "garbage decoded after the format error was reported"


def test_s04_48k_declared_16k_invents_no_word(live_server):
    text = "We compared Algolia and Typesense on price."
    audio = speak(text, rate=48000)
    events = send_raw(live_server, "s04-48k-as-16k", {"encoding": "pcm_s16le"},
                      encode_samples(audio[:, None], "pcm_s16le"))
    # three times too slow and an octave and a half too low: either refused, or at worst words
    # that were said — never a competitor or a word that was not in the sentence
    said = set(words(text))
    invented = [w for t in _spoken(events) for w in words(t) if w not in said]
    assert _errors(events) or not invented, (_spoken(events), invented)
    assert not [e for e in events if e["type"] == "flag" and e["competitor"] != "algolia"
                and e["competitor"] != "typesense"]


def test_s04_float_scaled_by_1_over_32768_is_silence_not_words(live_server, jfk):
    events = send_raw(live_server, "s04-f32-scaled", {"encoding": "pcm_f32le"},
                      encode_samples((jfk / 32768.0)[:, None], "pcm_f32le"))
    assert _spoken(events) == [], _spoken(events)


def test_s05_8k_stream_resamples_by_rate_and_matches_the_file_route(live_server, tmp_path):
    text = "We compared Algolia and Typesense on price."
    eight = speak(text, rate=8000)
    eight = cat(eight, np.zeros(5 * 8000 - len(eight), np.float32))  # 5 s of 8 kHz speech
    rs = StreamResampler(8000, 1)
    parts = [rs.process(eight[i:i + 160, None])[0] for i in range(0, len(eight), 160)]
    parts.append(rs.flush()[0])
    streamed = cat(*parts)
    assert abs(len(streamed) - len(eight) * 2) <= 2, (len(streamed), len(eight) * 2)
    via_8k = replay(live_server, cat(eight, np.zeros(8000, np.float32)), rate=8000, speed=4)
    # the file route: the same 8 kHz recording as a WAV file, decoded and resampled by FFmpeg
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(encode_samples(eight[:, None], "pcm_s16le"))
    filed = read_audio(path)[:, 0]
    m = min(len(filed), len(streamed))
    # same waveform, not just the same length (a rate error would shift pitch and decorrelate)
    assert np.corrcoef(filed[:m], streamed[:m])[0, 1] > 0.98
    via_file = replay(live_server, cat(filed, silence(1.0)), speed=4)
    assert via_file.transcript()
    # both routes hear the sentence's ordinary words (a rate error would leave none of them);
    # the names are not judged here: tiny.en hears espeak's 8 kHz "Algolia" as "now earlier"
    # without the hotword prompt, and the S14 re-check rightly refuses a name whose place holds
    # no K (per-name recall with and without the prompt is bench_hotwords' job)
    plain = [w for w in words(text) if w not in ("algolia", "typesense")]
    for route in (via_8k, via_file):
        heard = set(words(route.transcript()))
        assert sum(w in heard for w in plain) >= 0.6 * len(plain), route.transcript()
    # and the same transcript (BUGS S05): waveforms that correlate at 0.98+ may still decode
    # differently now and then, which says nothing about the resampler
    assert word_error_rate(via_file.transcript(), via_8k.transcript()).wer <= 0.2, (
        via_file.transcript(), via_8k.transcript())


def test_s07_44k_stereo_float_declared_16k_mono_int16_is_rejected(live_server):
    x = read_audio(shared_file("openai-whisper-jfk/jfk.flac"), sample_rate=44100, channels=2)
    events = send_raw(live_server, "s07-stereo", {"encoding": "pcm_s16le", "sample_rate": 16000,
                                                 "channels": 1}, encode_samples(x, "pcm_f32le"))
    errors = _errors(events)
    assert errors and errors[0]["code"] == "bad_audio"
    assert _spoken(events) == []


# S09 short — counting at one number per second keeps up in real time ----------------------------

@pytest.fixture(scope="module")
def counting_call(live_server):  # noqa: ANN001
    nums = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen", "twenty"]
    parts = []
    for w in nums:
        x = speak(w)
        parts += [x, silence(1.0 - len(x) / 16000)]
    audio = cat(*parts, silence(1.0))
    return replay(live_server, audio, speed=1), nums, len(audio) / 16000


def test_s09_counting_one_per_second_keeps_up(counting_call):
    r, nums, audio_s = counting_call
    assert not any(s.get("degraded") for s in r.of_type("status")), r.of_type("status")
    lat = r.latencies.get("final", [])
    assert len(lat) >= 10, r.transcript()
    # bounded and not growing: late finals are no later than early ones (+1 s of scheduling noise
    # on a shared 2-core machine), and none is more than 4 s behind its audio
    assert max(lat) < 4.0, lat
    assert np.mean(lat[-5:]) <= np.mean(lat[:5]) + 1.0, lat
    assert r.wall_seconds < audio_s + 3.0


def test_s09_counted_numbers_are_each_transcribed_once(counting_call):
    # one short utterance per number: no number doubled ("3 3"), none invented
    r, nums, _ = counting_call
    finals = [e["text"] for e in r.finals() if e["text"]]
    w = words(r.transcript())
    assert not [a for a, b in zip(w, w[1:], strict=False) if a == b], " | ".join(finals)
    assert word_error_rate(" ".join(nums), r.transcript()).wer <= 0.25, " | ".join(finals)


# S10 + S17 — first text early; partials replaced by finals; finals spaced ----------------------

GREETING = "Hi Sam, thanks for joining."
LONG = ("So the main reason we are looking at a change is speed. Our current search takes "
        "almost a second on the product pages and customers give up. We also want better typo "
        "handling because people misspell brand names all the time. The merchandising team "
        "would like to pin products for a campaign without asking engineering. And finance "
        "wants the cost to stay flat when the catalog doubles next year, which is the part "
        "that worries me most about the current contract.")


@pytest.fixture(scope="module")
def greeting_call(live_server):  # noqa: ANN001
    g, body = speak(GREETING), speak(LONG)
    lead, pause = 1.0, 0.8
    audio = cat(silence(lead), g, silence(pause), body, silence(1.5))
    marks = {"speech_start": lead, "greeting_end": lead + len(g) / 16000,
             "body_s": len(body) / 16000}
    marks["audio"] = audio
    return replay(live_server, audio, speed=1), marks


def test_s10_first_partial_about_1s_after_speech_and_first_final_soon(greeting_call):
    r, marks = greeting_call
    assert marks["body_s"] >= 25
    trans = r.of_type("transcript")
    first_partial = next(e for e in trans if not e["final"])
    # replay measures each latency from when the event's own ``end`` was sent; shift to the mark
    p_lat = r.latencies["first_partial"][0] + (first_partial["end"] - marks["speech_start"])
    assert p_lat <= 1.8, f"first partial {p_lat:.2f} s after speech start"
    first_final = r.finals()[0]
    f_lat = r.latencies["final"][0] + (first_final["end"] - marks["greeting_end"])
    assert f_lat <= 3.0, f"first final {f_lat:.2f} s after the greeting ended"
    assert "thanks" in words(first_final["text"])


def test_s17_partials_replaced_by_finals_spaced_and_no_doubled_words(greeting_call, engine):
    r, marks = greeting_call
    trans = r.of_type("transcript")
    finals = r.finals()
    assert len(finals) >= 3
    seg_ids = [e["segment_id"] for e in finals]
    assert len(seg_ids) == len(set(seg_ids)), "two finals for one segment"
    for i, e in enumerate(trans):  # nothing for a segment after its final
        if e["final"]:
            assert not [x for x in trans[i + 1:] if x["segment_id"] == e["segment_id"]]
    assert {e["segment_id"] for e in trans} == set(seg_ids), "a partial never got its final"
    for e in finals:
        assert e["text"] == e["text"].strip() and "  " not in e["text"]
    # a client that replaces by segment_id shows each final once; joined with spaces the words
    # are those spoken, with no word glued or doubled at the seams
    shown = {}
    for e in trans:
        shown[e["segment_id"]] = e["text"]
    text = " ".join(shown[s] for s in seg_ids)
    w = words(text)
    assert not [a for a, b in zip(w, w[1:], strict=False) if a == b], text
    ref = set(words(GREETING + " " + LONG))
    glued = [x for x in w if x not in ref and any(x.startswith(y) and x[len(y):] in ref
                                                   for y in ref)]
    assert glued == [], glued
    # and they are the words spoken, about as well as the same model hears them offline (tiny.en
    # int8 hears this espeak voice differently per CPU: 0.14 offline on an AVX2-only EPYC)
    segs, _ = engine.decoder._wm.transcribe(marks["audio"], beam_size=1, vad_filter=True)
    offline = word_error_rate(GREETING + " " + LONG, " ".join(s.text for s in segs)).wer
    assert offline <= 0.2
    assert word_error_rate(GREETING + " " + LONG, text).wer <= offline + 0.1, text


# S12 — reconnect after a 10 s offline gap loses and doubles nothing -----------------------------

def test_s12_reconnect_after_10s_offline_resumes_exactly(live_server, engine, jfk):
    pcm = encode_samples(jfk[:, None], "pcm_s16le")
    cut = int(5.3 * 16000) * 2  # mid-sentence
    ready, _ = drop_and_resume(live_server.url + "/v1/calls/s12-resume-10s", pcm, cut, 10.0)
    assert int(round(ready["resumed_from"] * 16000)) * 2 == cut
    stored = [e for e in engine.store.events("s12-resume-10s")
              if e["type"] == "transcript" and e["text"]]
    ref = shared_file("openai-whisper-jfk/jfk.txt").read_text()
    res = word_error_rate(ref, " ".join(e["text"] for e in stored))
    assert res.insertions == 0 and res.deletions == 0 and res.wer <= 0.1, stored


# S13 — stop 200 ms after the last word: final and flag -------------------------------------------

def test_s13_stop_200ms_after_a_competitor_sentence_gives_final_and_flag(live_server):
    audio = cat(silence(0.5), speak(PRICING), silence(0.2))
    r = replay(live_server, audio, speed=1)
    assert r.finals() and "algolia" in words(r.transcript()), r.transcript()
    assert any(f["competitor"] == "algolia" for f in r.of_type("flag"))


# S14 — biasing never invents a catalog name -----------------------------------------------------

def test_s14_hotwords_never_invent_a_competitor_on_speech_naming_none(engine):
    assert engine.settings.asr.hotwords  # the default: names are in the decoder prompt
    text = ("We had an elastic budget this year, so the team posted the results every Monday. "
            "The sense we got from users was that search felt slow. "
            "Our mango and go bag products sell best in the spring. "
            "I would like a demo for the post sales team and the great support staff. "
            "Let me check the calendar and come back to you on Thursday.")
    audio = cat(silence(0.5), speak(text), silence(1.0))
    assert len(audio) / 16000 >= 20
    out = run_pipeline(engine, audio)
    got = " ".join(d.event.text for d in out if d.event is not None and d.event.text)
    assert got
    invented = [w for w in words(got) if w in CATALOG and w not in words(text)]
    assert invented == [], got


def test_s14_no_flag_on_speech_naming_no_competitor(engine):
    # what the rep sees: near-homophones ("elastic", "mango", "post") must not become a flag
    text = ("We had an elastic budget this year, so the team posted the results every Monday. "
            "The sense we got from users was that search felt slow. "
            "Our mango and go bag products sell best in the spring. "
            "I would like a demo for the post sales team and the great support staff. "
            "Let me check the calendar and come back to you on Thursday.")
    out = run_pipeline(engine, cat(silence(0.5), speak(text), silence(1.0)))
    got = " ".join(d.event.text for d in out if d.event is not None and d.event.text)
    flagged = [d for d in engine.detector.detect(got) if d.competitor_id]
    assert flagged == [], (got, flagged)


# S15 — a soft first word after a pause is kept --------------------------------------------------

def test_s15_quiet_first_word_after_a_pause_is_kept(engine):
    lead = 2.0
    rest = at_dbfs(speak("Gong was cheaper."), -32)

    def said(first_dbfs: float) -> tuple[list[str], float]:
        first = at_dbfs(speak("Honestly,"), first_dbfs)
        audio = cat(pink(lead, -65, seed=7), first, silence(0.15), rest, silence(1.0))
        out = run_pipeline(engine, audio)
        finals = [d for d in out if d.event is not None and d.event.text]
        assert finals, "nothing transcribed"
        return words(" ".join(d.event.text for d in finals)), finals[0].request.start

    loud, _ = said(-32)
    soft, start = said(-42)  # the first word 10 dB softer than the rest
    assert start <= lead - 0.2, f"utterance starts at {start:.2f} s: no pre-roll before the word"
    # tiny.en hears espeak's "Honestly" as "Honestly" or "Obviously" from run to run, at any
    # level; what must not happen is that the soft first word is lost: as many words as at full
    # level, four at least, and the first one is not the second word of the sentence
    assert len(soft) >= max(4, len(loud)) and soft[0] != "gong", (loud, soft)
    assert soft[-1] == "cheaper", soft


# S16 — line noise after the sentence still ends the utterance ----------------------------------

def test_s16_sentence_then_line_noise_final_within_the_endpointing_window(live_server):
    sentence = speak(PRICING)
    noise_s = 3.0
    # speech first, then 3 s of hum + hiss (line noise, not digital zeros)
    audio = cat(at_dbfs(sentence, -20), hum(noise_s, -45, seed=2))
    r = replay(live_server, audio, speed=1)
    finals = r.finals()
    assert finals, "no final: the line noise kept the utterance open and stop gave nothing"
    speech_end = len(sentence) / 16000
    first = finals[0]
    lat = r.latencies["final"][0] + (first["end"] - speech_end)
    assert lat <= 1.5, f"final {lat:.2f} s after speech end (noise kept the utterance open?)"
    assert "algolia" in words(r.transcript())
    assert all(e["end"] <= speech_end + EDGE_S for e in finals), finals
