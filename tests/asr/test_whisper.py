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
