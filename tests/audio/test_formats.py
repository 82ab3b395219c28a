import numpy as np
import pytest

from copilot.audio.files import encode_samples, mulaw_encode
from copilot.audio.formats import AudioFormat, FormatSniffer, decode_frame, mulaw_decode
from copilot.errors import AudioFormatError


def tone(seconds=1.0, rate=16000, amp=0.5, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_s16_round_trip_and_shape():
    x = tone(0.1)
    out = decode_frame(AudioFormat("pcm_s16le", 16000, 1), encode_samples(x[:, None], "pcm_s16le"))
    assert out.shape == (1600, 1)
    assert np.abs(out[:, 0] - x).max() < 1e-4


def test_stereo_frames_deinterleave_into_channels():
    left, right = tone(0.05, freq=300), tone(0.05, freq=900, amp=0.2)
    data = encode_samples(np.stack([left, right], axis=1), "pcm_f32le")
    out = decode_frame(AudioFormat("pcm_f32le", 16000, 2), data)
    assert np.allclose(out[:, 0], left) and np.allclose(out[:, 1], right)


def test_mulaw_round_trip_within_quantisation():
    x = np.linspace(-0.9, 0.9, 1000).astype(np.float32)
    y = mulaw_decode(mulaw_encode(x))
    assert np.abs(x - y).max() < 0.02
    assert mulaw_decode(bytes([0xFF]))[0] == 0.0  # μ-law silence code


def test_ragged_frame_is_rejected_with_a_reason():
    with pytest.raises(AudioFormatError, match="whole number"):
        decode_frame(AudioFormat("pcm_s16le", 16000, 2), b"\x00" * 6)


def test_int16_bytes_declared_as_float32_are_rejected():
    # S04: int16 sent, pcm_f32le declared → huge or non-finite floats
    data = encode_samples(tone(0.1)[:, None], "pcm_s16le")
    with pytest.raises(AudioFormatError, match="int16"):
        decode_frame(AudioFormat("pcm_f32le", 16000, 1), data)


def test_sniffer_flags_float32_declared_as_int16():
    fmt = AudioFormat("pcm_s16le", 16000, 1)
    data = encode_samples(tone(1.2)[:, None], "pcm_f32le")  # float bytes, int16 declared
    sniffer = FormatSniffer(fmt)
    with pytest.raises(AudioFormatError, match="float"):
        for i in range(0, len(data), 3200):
            chunk = data[i:i + 3200]
            sniffer.feed(chunk, decode_frame(fmt, chunk))


def test_sniffer_accepts_real_int16_speechlike_audio():
    fmt = AudioFormat("pcm_s16le", 16000, 1)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(24000) * 0.1).astype(np.float32)
    data = encode_samples(x[:, None], "pcm_s16le")
    sniffer = FormatSniffer(fmt)
    sniffer.feed(data, decode_frame(fmt, data))
    assert sniffer.done  # looked, and found nothing wrong


def test_sniffer_judges_stereo_as_soon_as_one_channel_has_sound():
    # the rep talks first, the customer channel is still silent: no need to wait for it
    fmt = AudioFormat("pcm_s16le", 16000, 2)
    rng = np.random.default_rng(0)
    rep = (rng.standard_normal(16000) * 0.1).astype(np.float32)  # 1 s
    data = encode_samples(np.stack([rep, np.zeros_like(rep)], axis=1), "pcm_s16le")
    sniffer = FormatSniffer(fmt)
    fed = 0
    while not sniffer.done:
        chunk = data[fed:fed + 2560]  # 40 ms of stereo
        sniffer.feed(chunk, decode_frame(fmt, chunk))
        fed += len(chunk)
    assert fed <= 0.6 * 16000 * 4  # judged within ~0.5 s of the rep's speech


def test_sniffer_flags_stereo_float32_declared_as_int16():
    fmt = AudioFormat("pcm_s16le", 16000, 2)
    x = tone(1.2)
    data = encode_samples(np.stack([x, np.zeros_like(x)], axis=1), "pcm_f32le")
    sniffer = FormatSniffer(fmt)
    with pytest.raises(AudioFormatError, match="float"):
        for i in range(0, len(data), 3200):
            chunk = data[i:i + 3200]
            sniffer.feed(chunk, decode_frame(fmt, chunk))


@pytest.mark.parametrize("kwargs, word", [
    ({"encoding": "opus"}, "encoding"),
    ({"sample_rate": 12345}, "sample_rate"),
    ({"channels": 3}, "channels"),
])
def test_unsupported_declarations(kwargs, word):
    with pytest.raises(AudioFormatError, match=word):
        AudioFormat(**kwargs)
