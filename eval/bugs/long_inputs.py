"""Long BUGS.md inputs (S02 10-min noisy, S08 40-min 8 kHz with 1-min silences) replayed at 1×.

The short versions are tests in ``tests/asr/test_bugs_speech.py``; these take real time, so they
are benchmark cases. Speech is the LibriVox + jfk clips from ../shared/data looped with noise and
quieter crosstalk (S02), or telephone-band 8 kHz with one-minute silences (S08). Prints one JSON
summary per case: loops found in the finals (n-gram ≥ 3× in a row), the longest decode window
(``max segment s``, S08 bound ≤ ~15 s) and final latency p50/p95 over the first and last quarter
of the call (bounded lag: the last quarter is no worse than the first).

Run (server started in-process)::

    .venv/bin/python eval/bugs/long_inputs.py --case s02 --minutes 10
    .venv/bin/python eval/bugs/long_inputs.py --case s08 --minutes 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / "../shared/data").resolve()
CLIPS = ["openai-whisper-jfk/jfk.flac",
         *(f"pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-{n}.wav"
           for n in ("0870", "0890", "0930"))]

__all__ = ["build", "main"]


def _noise(n: int, level_db: float, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(n)
    return (x * 10 ** (level_db / 20)).astype(np.float32)


def build(case: str, minutes: float, rate: int) -> np.ndarray:
    from copilot.audio.files import read_audio

    clips = [read_audio(SHARED / c, sample_rate=rate)[:, 0] for c in CLIPS]
    target = int(minutes * 60 * rate)
    parts, n, k = [], 0, 0
    while n < target:
        x = clips[k % len(clips)]
        parts.append(x)
        n += len(x)
        if case == "s08" and k % 4 == 3:
            parts.append(np.zeros(60 * rate, np.float32))  # one minute of silence
            n += 60 * rate
        else:
            parts.append(np.zeros(int(0.4 * rate), np.float32))
            n += int(0.4 * rate)
        k += 1
    speech = np.concatenate(parts)[:target]
    if case == "s02":  # overlapping talk: the same material 2 s later, 12 dB down
        speech = speech + np.roll(speech, 2 * rate) * 10 ** (-12 / 20)
    return np.clip(speech + _noise(len(speech), -40, 1), -1, 1).astype(np.float32)


def _loops(text: str) -> list[str]:
    w = re.findall(r"[a-z0-9']+", text.lower())
    return sorted({" ".join(w[i:i + n]) for n in range(1, 7) for i in range(len(w) - 3 * n + 1)
                   if w[i:i + n] == w[i + n:i + 2 * n] == w[i + 2 * n:i + 3 * n]})


async def _run(audio: np.ndarray, rate: int) -> dict:
    from copilot.config import load_settings
    from copilot.engine import Engine
    from copilot.replay import percentile, replay_samples
    from copilot.server import running_server

    settings = load_settings(store={"path": os.path.join(tempfile.mkdtemp(), "c.sqlite3")})
    engine = await asyncio.to_thread(Engine.load, settings)
    try:
        async with running_server(settings, "127.0.0.1", 0, engine=engine) as srv:
            r = await replay_samples(audio[:, None], f"ws://127.0.0.1:{srv.port}",
                                     sample_rate=rate, speed=1.0)
    finally:
        engine.close()
    finals = r.finals()
    lat = r.latencies.get("final", [])
    q = max(1, len(lat) // 4)
    return {"audio_s": r.audio_seconds, "segments": len(finals),
            "loops": _loops(" ".join(e["text"] for e in finals)),
            "max_segment_s": max((e["end"] - e["start"] for e in finals), default=0.0),
            "final_p50_first_quarter_s": percentile(lat[:q], 50),
            "final_p95_first_quarter_s": percentile(lat[:q], 95),
            "final_p50_last_quarter_s": percentile(lat[-q:], 50),
            "final_p95_last_quarter_s": percentile(lat[-q:], 95),
            "status": r.of_type("status")[-3:]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--case", choices=["s02", "s08"], required=True)
    p.add_argument("--minutes", type=float, default=10.0)
    args = p.parse_args(argv)
    rate = 8000 if args.case == "s08" else 16000
    audio = build(args.case, args.minutes, rate)
    print(json.dumps({"case": args.case, **asyncio.run(_run(audio, rate))}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
