import numpy as np

from copilot.audio.resample import StreamResampler


def test_output_length_follows_the_rate_not_a_sample_count():
    # BUGS S05: 5 s at 8 kHz must become 5 s at 16 kHz, whatever the chunking
    rate = 8000
    x = np.sin(2 * np.pi * 200 * np.arange(5 * rate) / rate).astype(np.float32)[:, None]
    r = StreamResampler(rate, 1)
    parts = [r.process(x[i:i + 160])[0] for i in range(0, len(x), 160)]  # 20 ms frames
    parts.append(r.flush()[0])
    out = np.concatenate(parts)
    assert abs(len(out) - 80000) <= 2


def test_chunked_equals_whole_file():
    rate = 48000
    rng = np.random.default_rng(1)
    x = rng.standard_normal((rate, 2)).astype(np.float32) * 0.1
    whole = StreamResampler(rate, 2)
    a = [np.concatenate([p, q]) for p, q in zip(whole.process(x), whole.flush(), strict=True)]
    chunked = StreamResampler(rate, 2)
    outs = [chunked.process(x[i:i + 960]) for i in range(0, rate, 960)] + [chunked.flush()]
    b = [np.concatenate([o[c] for o in outs]) for c in range(2)]
    for c in range(2):
        assert len(a[c]) == len(b[c])
        assert np.abs(a[c] - b[c]).max() < 1e-5


def test_16k_passes_through_untouched():
    x = np.arange(320, dtype=np.float32)[:, None] / 1000
    out = StreamResampler(16000, 1).process(x)[0]
    assert np.array_equal(out, x[:, 0])
