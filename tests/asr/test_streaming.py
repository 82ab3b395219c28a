import numpy as np

from copilot.asr.segmenter import SegmenterOptions
from copilot.asr.streaming import ChannelTranscriber
from copilot.asr.vad import WINDOW
from copilot.asr.whisper import DecodeResult


class LoudIsSpeech:
    """A stand-in VAD for the pure tests: a window is speech when its level is high."""

    def __init__(self):
        self._pending = np.zeros(0, np.float32)

    def feed(self, samples):
        buf = np.concatenate([self._pending, samples])
        n = len(buf) // WINDOW
        self._pending = buf[n * WINDOW:]
        wins = buf[: n * WINDOW].reshape(n, WINDOW) if n else np.zeros((0, WINDOW))
        return (np.abs(wins).mean(axis=1) > 0.05).astype(np.float32)


def result(text, dropped=False):
    return DecodeResult(text, -0.2, 0.01, 1.2, 0.0, 0.05, dropped)


def speech(seconds, level=0.5):
    return np.full(int(seconds * 16000), level, np.float32)


def silence(seconds):
    return np.zeros(int(seconds * 16000), np.float32)


def run(ch, audio, frame=320):
    for i in range(0, len(audio), frame):
        ch.feed(audio[i:i + frame])


def make():
    return ChannelTranscriber("customer", LoudIsSpeech(), SegmenterOptions(partial_interval_s=0.5))


def test_stale_partials_are_skipped_finals_never():
    ch = make()
    run(ch, np.concatenate([speech(2), silence(1), speech(1.5), silence(1)]))
    reqs = []
    while (r := ch.next_request()) is not None:
        reqs.append(r)
    assert [r.final for r in reqs] == [True, True]  # both utterances closed before decoding
    assert [r.index for r in reqs] == [0, 1]


def test_partial_then_final_share_the_segment_id():
    ch = make()
    run(ch, speech(1.2))
    p = ch.next_request()
    assert p is not None and not p.final
    ev_p = ch.on_result(p, result("hello there"))
    run(ch, silence(1))
    f = ch.next_request()
    ev_f = ch.on_result(f, result("hello there friend"))
    assert ev_p.segment_id == ev_f.segment_id == "customer-0"
    assert not ev_p.final and ev_f.final and ev_f.speaker == "customer"


def test_late_partial_after_its_final_is_not_published():
    ch = make()
    run(ch, speech(1.2))
    p = ch.next_request()
    run(ch, silence(1))
    f = ch.next_request()
    assert ch.on_result(f, result("final words")) is not None
    assert ch.on_result(p, result("stale partial")) is None


def test_dropped_final_retracts_a_shown_partial_and_is_silent_otherwise():
    ch = make()
    run(ch, speech(1.2))
    p = ch.next_request()
    assert ch.on_result(p, result("thank you")) is not None
    run(ch, silence(1))
    f = ch.next_request()
    retract = ch.on_result(f, result("Thank you.", dropped=True))
    assert retract is not None and retract.final and retract.text == ""

    ch2 = make()
    run(ch2, np.concatenate([speech(0.8), silence(1)]))
    while (r := ch2.next_request()) is not None:
        assert ch2.on_result(r, result("Thank you.", dropped=True)) is None


def test_end_flushes_the_last_words():
    ch = make()
    run(ch, speech(0.9))
    ch.end()
    reqs = []
    while (r := ch.next_request()) is not None:
        reqs.append(r)
    assert reqs and reqs[-1].final


def test_context_carries_earlier_finals_only_when_asked_and_resets_after_a_sampled_one():
    from copilot.asr.segmenter import DecodeRequest

    def final(i):
        return DecodeRequest(i, float(i), i + 1.0, np.zeros(160, np.float32), True)

    off = ChannelTranscriber("customer", LoudIsSpeech())  # the default: no previous text
    off.on_result(final(0), result("We run Algolia."))
    assert off.context() == ""
    on = ChannelTranscriber("customer", LoudIsSpeech(), carry_context=True)
    on.on_result(final(0), result("We run Algolia."))
    on.on_result(DecodeRequest(1, 1.0, 1.5, np.zeros(160, np.float32), False), result("It is"))
    on.on_result(final(1), result("It is fast."))
    assert on.context() == "We run Algolia. It is fast."  # finals only, in order
    on.on_result(final(2), DecodeResult("Mumble.", -0.9, 0.1, 1.2, 0.6, 0.05))
    assert on.context() == ""  # a sampled (temperature > 0.5) final is not carried
    on.on_result(final(3), result("x" * 500))
    assert len(on.context()) <= 240  # bounded however long the call


class PiecewiseDecoder:
    """Stands in for WhisperDecoder: text by how much audio it is given; records each call.

    The utterance is 0.4 s of pre-roll and 2 s of speech, a pause at 2.5 s, then more speech:
    2.3–2.7 s is the piece before the pause, under 2.3 s the tail after it, more the whole.
    """

    def __init__(self, *, agree=True):
        self.agree = agree
        self.calls = []

    def decode(self, audio, prev_text="", final=True, full_context=True):
        s = len(audio) / 16000
        self.calls.append((round(s, 2), prev_text, final))
        if final:
            return result("We run Algolia. It is fast.")
        if 2.3 <= s <= 2.7:
            return result("We run Algolia.")
        if s < 2.3:
            return result("It is fast.")
        return result("We run Algolia. It is" if self.agree else "We ran a Golia. It is")


def partial(ch, dec):
    from copilot.asr.streaming import decode_request

    req = ch.next_request()
    assert req is not None and not req.final
    res, committed = decode_request(dec, req, "")
    return req, ch.on_result(req, res, committed)


def test_segmenter_reports_pauses_inside_the_utterance_not_the_preroll():
    ch = make()
    run(ch, np.concatenate([silence(1), speech(2), silence(0.2), speech(1.5)]))
    req = ch.segmenter.requests[-1] if ch.segmenter.requests else ch.next_request()
    assert not req.final
    assert len(req.pauses) == 1
    # preroll (0.4 s) + 2 s of speech, then the middle of the 0.2 s pause
    assert abs(req.pauses[0] / 16000 - 2.5) < 0.1


def test_long_partial_commits_the_words_before_a_pause_once_two_decodes_agree():
    from copilot.asr.streaming import decode_request

    ch, dec = make(), PiecewiseDecoder()
    run(ch, np.concatenate([silence(1), speech(2), silence(0.2), speech(1.2)]))
    req, ev = partial(ch, dec)  # long enough, but no whole decode to agree with yet
    assert req.commit == 0 and ev.text == "We run Algolia. It is"
    run(ch, speech(0.5))
    req, ev = partial(ch, dec)  # the piece before the pause, decoded alone, agrees
    assert req.commit > 0 and ev.text == "We run Algolia. It is fast."
    run(ch, speech(0.5))
    dec.calls.clear()
    req, ev = partial(ch, dec)
    # only the uncommitted audio is decoded, with the committed words as its prompt
    assert req.skip == req.pauses[0] and req.prefix == "We run Algolia."
    assert len(dec.calls) == 1 and dec.calls[0][1] == "We run Algolia."
    assert dec.calls[0][0] < len(req.audio) / 16000 - 2
    assert ev.text == "We run Algolia. It is fast." and ev.segment_id == "customer-0"
    run(ch, silence(1))
    dec.calls.clear()
    req = ch.next_request()
    assert req.final
    res, committed = decode_request(dec, req, "")
    assert committed is None and len(dec.calls) == 1  # the final: the whole utterance at once
    assert dec.calls[0][0] == round(len(req.audio) / 16000, 2)
    assert ch.on_result(req, res).text == "We run Algolia. It is fast."
    # the next utterance starts uncommitted
    run(ch, np.concatenate([speech(2), silence(0.2), speech(1.2)]))
    assert ch.next_request().skip == 0


def test_a_piece_the_whole_decode_disagrees_with_is_not_committed():
    ch, dec = make(), PiecewiseDecoder(agree=False)
    run(ch, np.concatenate([silence(1), speech(2), silence(0.2), speech(1.2)]))
    partial(ch, dec)  # whole: "We ran a Golia. It is"
    run(ch, speech(0.5))
    req, _ = partial(ch, dec)  # alone: "We run Algolia." - no agreement
    assert req.commit > 0
    for _ in range(3):  # later tries are judged against fresh whole decodes, never themselves
        run(ch, speech(0.5))
        req, _ = partial(ch, dec)
        assert req.skip == 0 and req.prefix == ""


def test_short_utterances_and_the_switch_off_decode_whole():
    ch, dec = make(), PiecewiseDecoder()
    run(ch, np.concatenate([silence(1), speech(1.0), silence(0.2), speech(0.8)]))
    partial(ch, dec)
    run(ch, speech(0.2))
    req, _ = partial(ch, dec)
    assert req.commit == 0 and req.skip == 0  # under 3 s: nothing to gain
    off = ChannelTranscriber("customer", LoudIsSpeech(), SegmenterOptions(partial_interval_s=0.5),
                             partial_commit=False)
    for more in (speech(3.5), speech(0.5), speech(0.5)):
        run(off, more)
        req, _ = partial(off, dec)
        assert req.commit == 0 and req.skip == 0


def test_a_final_reuses_its_early_final_when_only_silence_followed():
    ch = make()
    run(ch, np.concatenate([silence(0.3), speech(1.2), silence(0.25)]))
    early = ch.next_request()
    assert early is not None and early.early_final == len(early.audio)
    ev = ch.on_result(early, result("we looked at Algolia"))
    assert ev is not None and not ev.final  # shown at once, as a partial
    run(ch, silence(0.6))
    got = ch.take_early_final()
    assert got is not None
    final, res = got
    assert final.final and res.text == "we looked at Algolia"
    ev_f = ch.on_result(final, res)
    assert ev_f.final and ev_f.segment_id == ev.segment_id
    assert ch.next_request() is None  # the final was taken, not decoded again


def test_an_early_final_voided_by_more_speech_is_not_reused():
    ch = make()
    run(ch, np.concatenate([silence(0.3), speech(1.2), silence(0.25)]))
    early = ch.next_request()
    ch.on_result(early, result("we looked at"))
    run(ch, np.concatenate([speech(0.6), silence(0.1)]))
    assert ch.take_early_final() is None  # no final yet
    run(ch, silence(0.6))
    # a later early final came (speech ended again) but was not decoded: the final decodes
    assert ch.take_early_final() is None
    f = ch.next_request()
    assert f is not None and f.final and f.early_final > len(early.audio)


def test_an_early_final_decoded_after_its_final_was_queued_is_still_reused():
    ch = make()
    run(ch, np.concatenate([silence(0.3), speech(1.2), silence(0.25)]))
    early = ch.next_request()  # its decode is slow: the endpoint passes meanwhile
    run(ch, silence(0.6))
    assert ch.on_result(early, result("slow but right")) is None  # stale as a partial
    got = ch.take_early_final()
    assert got is not None and got[1].text == "slow but right"
