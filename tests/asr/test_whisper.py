"""The Whisper shell's decode modes on real speech (espeak-ng, tiny.en)."""

from __future__ import annotations

import pytest

from copilot.config import AsrSettings
from copilot.evaluation.metrics import word_error_rate
from tests.asr.speech_inputs import cat, silence, speak

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("timestamps", [False, True])
def test_final_in_either_mode_is_plain_text(timestamps: bool) -> None:
    from copilot.asr.whisper import WhisperDecoder

    dec = WhisperDecoder(AsrSettings(final_timestamps=timestamps, hotwords=False))
    said = "our search project starts in the spring and the budget is approved"
    r = dec.decode(cat(speak(said), silence(0.5)), final=True)
    assert "<|" not in r.text  # timestamp tokens never reach the text
    assert word_error_rate(said, r.text).wer <= 0.2, r.text
    # a partial never uses timestamp mode, and reads the same
    p = dec.decode(cat(speak(said), silence(0.5)), final=False)
    assert word_error_rate(said, p.text).wer <= 0.2, p.text


def test_calibration_fits_the_finals_context_to_the_budget() -> None:
    import numpy as np

    from copilot.asr.whisper import WhisperDecoder

    dec = WhisperDecoder(AsrSettings(hotwords=False))
    audio = np.zeros(16000 * 3, np.float32)
    # no budget: Whisper's own 30 s window, nothing timed
    assert dec.calibrate(0) == 30 and dec.encoder_cost == {}
    # a budget every context meets: 30 s, after timing only that one
    assert dec.calibrate(60.0) == 30 and list(dec.encoder_cost) == [30]
    assert dec.features(audio, final=True).shape[-1] == 3000
    # a budget none meets: every step timed, longest first, and the partials' 8 s floor
    assert dec.calibrate(1e-6) == 8
    assert list(dec.encoder_cost) == [30, 24, 20, 16, 12]
    costs = dec.encoder_cost
    assert costs[30] > costs[12] > 0  # a longer context costs more
    assert dec.features(audio, final=True).shape[-1] == 800
