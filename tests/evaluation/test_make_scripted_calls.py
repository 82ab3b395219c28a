"""eval/make_scripted_calls.py: pure label arithmetic, script validation, and a real regeneration.

The regeneration test runs espeak-ng + sox (installed in CI) on three calls (~2 s) and checks
that the committed labels and the committed test fixture are what the generator makes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import wave
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTED = REPO / "eval/datasets/scripted"
FIXTURE = REPO / "tests/fixtures/audio"
CALLS = ["sales_call_two_competitors", "call_performance_algolia_stereo",
         "call_security_mongodb_8k_noise"]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_scripted_calls", REPO / "eval/make_scripted_calls.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(gen: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scripted")
    argv = ["--out", str(out)]
    for c in CALLS:
        argv += ["--only", c]
    assert gen.main(argv) == 0
    return out


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return data.reshape(-1, w.getnchannels()).astype(np.float64) / 32768, w.getframerate()


def test_gaps_are_deterministic_and_in_range(gen: ModuleType) -> None:
    gaps = gen.gap_seconds("some_call", 50)
    assert gaps == gen.gap_seconds("some_call", 50)
    assert gaps != gen.gap_seconds("other_call", 50)
    assert all(0.4 <= g <= 0.9 for g in gaps)


def test_label_times_come_from_sample_counts(gen: ModuleType) -> None:
    voice = gen.Voice("en-us", 160, 50)
    spec = gen.CallSpec(
        id="t", description="", sample_rate=8000, channels=1, noise=0.0,
        voices={"rep": voice, "customer": voice},
        turns=(gen.TurnSpec("rep", "Hello."),
               gen.TurnSpec("customer", "We use Algolia.",
                            (gen.MentionSpec("Algolia", "algolia", "pricing", ("algolia/pricing",)),))),
    )
    # at 16 kHz: lead-in 4800, turn 16000, gap 8000, turn 24000 samples
    label = gen.label_for(spec, "audio/t.wav", [16000, 24000], [4800, 8000], [[], [(0.5, 1.0)]])
    assert [(t["start"], t["end"]) for t in label["turns"]] == [(0.3, 1.3), (1.8, 3.3)]
    (m,) = label["mentions"]
    assert (m["start"], m["end"], m["speaker"]) == (2.3, 2.8, "customer")
    assert label["duration"] == pytest.approx(3.3 + gen.TAIL_S)
    assert label["sample_rate"] == 8000 and label["speakers"] == ["unknown"]


def test_scripts_are_validated(gen: ModuleType, tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text(
        "calls:\n  - id: x\n    voices: {rep: {voice: en-us}}\n    turns:\n"
        "      - speaker: rep\n        text: Hello there\n"
        "        mentions: [{word: Algolia, competitor: algolia, claim_type: pricing}]\n"
    )
    with pytest.raises(ValueError, match="Algolia"):
        gen.load_scripts(bad)
    assert len(gen.load_scripts(gen.DEFAULT_SCRIPTS)) >= 11


def test_regeneration_matches_committed_labels(generated: Path) -> None:
    manifest = json.loads((SCRIPTED / "manifest.json").read_text())
    fresh_manifest = json.loads((generated / "manifest.json").read_text())
    same_tools = manifest["generator"] == fresh_manifest["generator"]
    for call in CALLS:
        committed = json.loads((SCRIPTED / f"{call}.json").read_text())
        fresh = json.loads((generated / f"{call}.json").read_text())
        wav = generated / fresh["audio"]
        assert fresh["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
        if same_tools:
            assert fresh == committed
        else:  # another espeak-ng/sox build: same structure, times may move a little
            assert [t["text"] for t in fresh["turns"]] == [t["text"] for t in committed["turns"]]
        samples, rate = read_wav(wav)
        assert rate == fresh["sample_rate"] and samples.shape[1] == fresh["channels"]
        assert len(samples) / rate == pytest.approx(fresh["duration"], abs=0.01)


def test_fixture_is_the_generated_acceptance_call(generated: Path) -> None:
    fixture = json.loads((FIXTURE / "sales_call_two_competitors.json").read_text())
    committed = json.loads((SCRIPTED / "sales_call_two_competitors.json").read_text())
    assert {**fixture, "audio": committed["audio"]} == committed
    wav = (FIXTURE / fixture["audio"]).read_bytes()
    assert hashlib.sha256(wav).hexdigest() == fixture["sha256"]
    assert len(wav) < 2_000_000


def test_audio_follows_the_labels(generated: Path) -> None:
    """Speech where the labels say a turn is, silence in the gaps, channels per speaker."""
    label = json.loads((generated / "call_performance_algolia_stereo.json").read_text())
    samples, rate = read_wav(generated / label["audio"])

    def rms(ch: int, a: float, b: float) -> float:
        return float(np.sqrt(np.mean(samples[int(a * rate): int(b * rate), ch] ** 2)))

    turns = label["turns"]
    for t, nxt in zip(turns, turns[1:], strict=False):
        own = 0 if t["speaker"] == "rep" else 1
        assert rms(own, t["start"], t["end"]) > 0.01
        assert rms(1 - own, t["start"], t["end"]) == 0.0  # the other channel is silent
        assert rms(0, t["end"] + 0.01, nxt["start"] - 0.01) == 0.0  # gap: silence
        assert rms(1, t["end"] + 0.01, nxt["start"] - 0.01) == 0.0

    noisy = json.loads((generated / "call_security_mongodb_8k_noise.json").read_text())
    samples, rate = read_wav(generated / noisy["audio"])
    assert rate == 8000
    t0, t1 = noisy["turns"][0]["end"], noisy["turns"][1]["start"]
    gap = rms(0, t0 + 0.05, t1 - 0.05)
    assert 0.0005 < gap < 0.02  # light noise in the gaps, well under speech level


def test_cli_rejects_unknown_call(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "eval/make_scripted_calls.py"), "--out", str(tmp_path),
         "--only", "no_such_call"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2 and "no_such_call" in proc.stderr
