import numpy as np

from copilot.asr.segmenter import SegmenterOptions, UtteranceSegmenter
from copilot.asr.vad import WINDOW

W = WINDOW / 16000  # seconds per window


def feed(seg, probs):
    probs = np.asarray(probs, dtype=np.float32)
    audio = np.repeat(probs, WINDOW).astype(np.float32)  # the audio carries its own probability
    seg.feed(audio, probs)


def windows(seconds):
    return int(round(seconds / W))


def test_silence_never_produces_a_request():
    seg = UtteranceSegmenter()
    feed(seg, [0.01] * windows(30))
    seg.end()
    assert seg.requests == []


def test_one_utterance_gives_partials_then_one_final_with_padding():
    seg = UtteranceSegmenter(SegmenterOptions(partial_interval_s=0.6, speech_pad_ms=320))
    feed(seg, [0.0] * windows(2) + [0.9] * windows(3) + [0.0] * windows(2))
    finals = [r for r in seg.requests if r.final]
    partials = [r for r in seg.requests if not r.final]
    assert len(finals) == 1 and len(partials) >= 3
    f = finals[0]
    assert abs(f.start - (2 - 0.32)) < 2 * W  # pre-roll keeps a soft first word (S15)
    assert 5.0 <= f.end <= 5.0 + 0.32 + 2 * W
    assert len(f.audio) == round((f.end - f.start) * 16000)
    assert all(p.index == f.index for p in partials)
    # partial audio grows; every partial ends before the final
    ends = [p.end for p in partials]
    assert ends == sorted(ends) and ends[-1] <= f.end


def test_short_noise_burst_is_not_an_utterance():
    seg = UtteranceSegmenter()
    feed(seg, [0.0] * 10 + [0.9] * 3 + [0.0] * windows(2))
    assert [r for r in seg.requests if r.final] == []


def test_long_speech_is_cut_and_buffer_stays_bounded():
    seg = UtteranceSegmenter(SegmenterOptions(max_utterance_s=15))
    probs = [0.9 if i % 40 else 0.6 for i in range(windows(60))]
    for i in range(0, len(probs), 10):
        feed(seg, probs[i:i + 10])
        assert seg.buffered_seconds <= 15 + W
    seg.end()
    finals = [r for r in seg.requests if r.final]
    assert len(finals) >= 4
    assert max(r.end - r.start for r in finals) <= 15 + W
    # consecutive utterances tile the audio without overlap
    for a, b in zip(finals, finals[1:], strict=False):
        assert b.start >= a.end - 1e-6


def test_end_of_stream_flushes_the_open_utterance():
    seg = UtteranceSegmenter()
    feed(seg, [0.0] * 5 + [0.9] * windows(1.5))
    assert not [r for r in seg.requests if r.final]
    seg.end()
    finals = [r for r in seg.requests if r.final]
    assert len(finals) == 1 and finals[0].end >= 1.5


def test_hysteresis_keeps_a_dip_inside_the_utterance():
    seg = UtteranceSegmenter(SegmenterOptions(min_silence_ms=500))
    feed(seg, [0.9] * windows(1) + [0.4] * windows(0.3) + [0.9] * windows(1) + [0.0] * windows(1))
    assert len([r for r in seg.requests if r.final]) == 1


def test_past_the_soft_length_a_shorter_pause_ends_the_utterance():
    opts = SegmenterOptions(min_silence_ms=500, soft_utterance_s=4.0, long_silence_ms=300)
    pause = [0.0] * windows(0.4)  # longer than 300 ms, shorter than 500 ms
    seg = UtteranceSegmenter(opts)
    # before the soft length the 0.4 s pause stays inside the utterance ...
    feed(seg, [0.9] * windows(2) + pause + [0.9] * windows(3) + pause + [0.9] * windows(1)
         + [0.0] * windows(1))
    finals = [r for r in seg.requests if r.final]
    assert len(finals) == 2, [(r.start, r.end) for r in finals]
    # ... the second pause, 5.4 s in, ends it
    assert 5.0 < finals[0].end - finals[0].start < 6.2
    assert finals[1].end - finals[1].start < 2.0


def test_a_pause_gets_a_partial_at_its_start_and_an_early_final_once_settled():
    seg = UtteranceSegmenter(SegmenterOptions(partial_interval_s=10))  # no cadence partials
    feed(seg, [0.0] * windows(1) + [0.9] * windows(2) + [0.0] * windows(1))
    partials = [r for r in seg.requests if not r.final]
    final = next(r for r in seg.requests if r.final)
    assert len(partials) == 2
    speech_end = 3.0
    # the first as the pause begins, the second ~0.2 s into it: both before the final
    assert abs(partials[0].end - speech_end) <= 2 * W
    assert abs(partials[1].end - (speech_end + 0.19)) <= 2 * W
    assert partials[1].end < final.end
    # the second is the early final, and only silence followed it: the final may reuse it
    assert partials[0].early_final == 0
    assert partials[1].early_final == len(partials[1].audio) > 0
    assert final.early_final == partials[1].early_final
    assert np.array_equal(final.audio[: final.early_final], partials[1].audio)


def test_speech_after_an_early_final_voids_it():
    seg = UtteranceSegmenter(SegmenterOptions(partial_interval_s=10))
    # a 0.25 s pause inside the sentence (early final at 0.19 s), then more speech
    feed(seg, [0.0] * windows(1) + [0.9] * windows(2) + [0.0] * windows(0.25)
         + [0.9] * windows(1) + [0.0] * windows(0.1) + [0.4] * windows(0.2) + [0.0] * windows(1))
    early = [r for r in seg.requests if not r.final and r.early_final]
    finals = [r for r in seg.requests if r.final]
    assert len(finals) == 1 and len(early) == 2
    # the final may only reuse the last early final, which came after all the speech
    assert finals[0].early_final == early[-1].early_final
    assert early[-1].end > 4.2
    # a window between the thresholds (0.4: not silence) also voided the one before it
    seg2 = UtteranceSegmenter(SegmenterOptions(partial_interval_s=10))
    feed(seg2, [0.0] * windows(1) + [0.9] * windows(2) + [0.0] * windows(0.25)
         + [0.4] * windows(0.1) + [0.0] * windows(1))
    last_early = [r for r in seg2.requests if not r.final and r.early_final][-1]
    final2 = next(r for r in seg2.requests if r.final)
    assert final2.early_final == last_early.early_final and last_early.end > 3.3


def test_a_cut_or_a_flushed_stream_does_not_reuse_an_early_final():
    seg = UtteranceSegmenter(SegmenterOptions(partial_interval_s=10))
    feed(seg, [0.0] * windows(1) + [0.9] * windows(2) + [0.0] * windows(0.25))
    seg.feed(np.zeros(100, np.float32), np.zeros(0, np.float32))  # < 1 window pending
    seg.end()
    final = next(r for r in seg.requests if r.final)
    assert final.early_final == 0  # the stream's last samples were never judged silence
