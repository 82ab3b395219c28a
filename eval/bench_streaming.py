"""Benchmark: streaming ASR quality and latency over a real websocket, against offline decoding.

What it measures, per case (shared real audio + scripted calls), replayed at ``--speed`` (1 = real
time) through an in-process server:

- **WER** of the streamed finals vs the **offline baseline** of the same model on the same audio:
  faster-whisper ``WhisperModel.transcribe`` on the same CTranslate2 model dir, beam 1,
  ``vad_filter=True``. Target: streaming − offline ≤ +1.5 WER points.
- **Partial latency** per word: the wall time from the client sending the audio at the *end of a
  word* (word end times from an offline ``transcribe(..., word_timestamps=True)`` pass) to the
  first transcript event (partial or final) of the utterance that covers the word and contains it
  (words matched in order: the k-th "the" of an utterance needs k "the"s). Target p95 ≤ 1.0 s.
- **Final latency**: the client's send time of a final's ``end`` → its arrival. Target p95 ≤ 2.0 s.

Long restricted sources (AxonData, SpokenWOZ) are read at run time only and cut at a reference
turn boundary after ``--long-seconds``. Results: a table on stdout, JSON in
``eval/results/bench_streaming.json``.

Run:  .venv/bin/python eval/bench_streaming.py [--speed 1] [--scripted 4] [--long-seconds 180]

The small client helpers here (:func:`stream_call`, :class:`SentLog`, :func:`machine`) are shared
by the other ``eval/bench_*`` speech benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from copilot.audio.files import encode_samples, read_audio  # noqa: E402
from copilot.evaluation.metrics import normalize_text, percentile, word_error_rate  # noqa: E402

__all__ = ["DATA", "SentLog", "machine", "main", "pct", "stream_call", "word_latencies"]

DATA = (ROOT / "../shared/data").resolve()
RESULTS = ROOT / "eval" / "results"
TARGETS = {"wer_delta_points": 1.5, "partial_p95_s": 1.0, "final_p95_s": 2.0}


# --------------------------------------------------------------------------- shared helpers


def pct(values: Iterable[float], q: float) -> float | None:
    xs = list(values)
    return round(percentile(xs, q), 3) if xs else None


def machine() -> dict[str, Any]:
    """What the numbers were measured on (they mean little without it)."""
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")  # noqa: SIM115
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": len(os.sched_getaffinity(0)), "cpu": cpu, "gpu": "none (CPU only)",
            "python": platform.python_version(), "load_avg_1_5_15min": os.getloadavg()}


def write_report(out: str | Path, rep: dict[str, Any]) -> None:
    """Print the machine line and write a benchmark's JSON result (shared by the bench_* scripts)."""
    print(f"machine: {rep['machine']}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(rep, indent=1) + "\n")
    print(f"wrote {out}")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class SentLog:
    """When the client sent each frame: ``wall(audio_t)`` = send time of the frame holding ``t``."""

    def __init__(self) -> None:
        self.ends = array("d")  # audio seconds at the end of each sent frame
        self.walls = array("d")

    def add(self, audio_end: float, wall: float) -> None:
        self.ends.append(audio_end)
        self.walls.append(wall)

    def wall(self, audio_t: float) -> float | None:
        k = bisect_left(self.ends, audio_t - 1e-6)
        return self.walls[k] if k < len(self.walls) else None


async def stream_call(url: str, frames: Iterable[np.ndarray], *, sample_rate: int,
                      channels: int = 1, speakers: list[str] | None = None, speed: float = 1.0,
                      call_id: str | None = None, keep_events: bool = True,
                      on_event: Callable[[dict[str, Any], float], None] | None = None,
                      sent: SentLog | None = None) -> tuple[list[dict[str, Any]], SentLog]:
    """Send ``frames`` ((n, channels) float32 arrays) paced at ``speed``× real time, then ``stop``.

    Returns the events (each with ``_t`` = arrival wall time; empty if not ``keep_events``) and
    the send log (``sent`` if given, so a caller can read it while the call runs). Frames may
    come from a generator, so a 2-hour call never sits in memory.
    """
    from websockets.asyncio.client import connect

    call_id = call_id or f"bench-{uuid.uuid4().hex[:10]}"
    events: list[dict[str, Any]] = []
    sent = sent if sent is not None else SentLog()
    start: dict[str, Any] = {"type": "start", "encoding": "pcm_s16le", "sample_rate": sample_rate,
                             "channels": channels}
    if speakers:
        start["speakers"] = speakers
    async with connect(url.rstrip("/") + "/v1/calls/" + call_id, max_size=2**22) as ws:
        await ws.send(json.dumps(start))

        async def send_audio() -> None:
            t0, audio_t = time.monotonic(), 0.0
            for fr in frames:
                audio_t += len(fr) / sample_rate
                delay = t0 + audio_t / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(encode_samples(fr, "pcm_s16le"))
                sent.add(audio_t, time.time())
            await ws.send(json.dumps({"type": "stop"}))

        sender = asyncio.create_task(send_audio())
        try:
            async for raw in ws:
                now = time.time()
                ev = json.loads(raw)
                ev["_t"] = now
                if keep_events:
                    events.append(ev)
                if on_event:
                    on_event(ev, now)
                if ev.get("type") == "ended":
                    break
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            if sender.done() and not sender.cancelled() and sender.exception():
                raise sender.exception()  # type: ignore[misc]
    return events, sent


def frames_of(samples: np.ndarray, sample_rate: int, frame_ms: int = 40) -> Iterable[np.ndarray]:
    n = max(1, sample_rate * frame_ms // 1000)
    for k in range(0, len(samples), n):
        yield samples[k:k + n]


def word_latencies(events: list[dict[str, Any]], words: list[tuple[str, float]], sent: SentLog,
                   speaker: str | None = None) -> tuple[list[float], int, int]:
    """Per-word partial latency (see module doc).

    Returns:
        (latencies, words never shown, words first shown by the utterance's *final*: those
        wait for the endpointing silence, so they bound how low partial latency can go).

    ``words`` are (word, end time) from an offline word-timestamp pass. A word belongs to the
    utterance whose final's [start, end] holds its end time; it is *shown* by the first event of
    that utterance that covers its end time and holds it as often as it occurred so far.
    """
    trs = [e for e in events if e.get("type") == "transcript" and e["text"]
           and (speaker is None or e["speaker"] == speaker)]
    finals = [e for e in trs if e["final"]]
    by_seg: dict[str, list[dict[str, Any]]] = {}
    for e in trs:
        by_seg.setdefault(e["segment_id"], []).append(e)
    lats: list[float] = []
    missed = by_final = 0
    seen: Counter[tuple[str, str]] = Counter()
    for w, end in words:
        seg = next((f for f in finals if f["start"] - 0.05 <= end <= f["end"] + 0.05), None)
        wn = normalize_text(w)
        if seg is None or not wn:
            missed += seg is None and bool(wn)
            continue
        key = (seg["segment_id"], wn)
        seen[key] += 1
        sent_t = sent.wall(end)
        shown = next((e for e in by_seg[seg["segment_id"]]
                      if e["end"] >= end - 0.05
                      and normalize_text(e["text"]).split().count(wn) >= seen[key]), None)
        if shown is None or sent_t is None:
            missed += 1
            continue
        lats.append(max(0.0, shown["_t"] - sent_t))
        by_final += bool(shown["final"])
    return lats, missed, by_final


def final_latencies(events: list[dict[str, Any]], sent: SentLog) -> list[float]:
    out = []
    for e in events:
        if e.get("type") == "transcript" and e["final"] and e["text"]:
            s = sent.wall(e["end"])
            if s is not None:
                out.append(max(0.0, e["_t"] - s))
    return out


# --------------------------------------------------------------------------- cases


def load_cases(scripted: int, long_seconds: float) -> list[dict[str, Any]]:
    """[{id, audio (n, ch) at rate, rate, speakers, refs {speaker|*: text}, restricted}]"""
    from copilot.evaluation.dataset import load_dataset
    from copilot.evaluation.runner import wire_format

    wanted = ["jfk", "librivox_0870", "librivox_0890", "librivox_0930", "pyannote_sample",
              "faster_whisper_stereo", "axondata_en_support", "spokenwoz_SNG1640"]
    cases: list[dict[str, Any]] = []
    if DATA.is_dir():
        ds = load_dataset(ROOT / "eval/datasets/shared_real.json")
        for cid in wanted:
            c = ds.get(cid)
            if c is None:
                continue
            rate, channels, speakers = wire_format(c)
            audio = read_audio(c.audio, rate, channels)
            turns = list(c.turns)
            if len(audio) / rate > long_seconds + 30 and turns and turns[0].start is not None:
                # cut at the first turn starting after long_seconds: audio and reference agree
                cut = next((t.start for t in turns if t.start is not None and t.start >= long_seconds),
                           None)
                if cut is not None:
                    audio = audio[: int(cut * rate)]
                    turns = [t for t in turns if t.start is not None and t.start < cut]
            keys = speakers or ["*"]
            refs = {k: " ".join(t.text for t in turns if k == "*" or t.speaker == k) for k in keys}
            cases.append({"id": cid, "audio": audio, "rate": rate, "speakers": speakers,
                          "refs": refs, "restricted": c.restricted})
    else:
        print(f"note: {DATA} absent, shared real audio skipped", file=sys.stderr)
    sdir = ROOT / "eval/datasets/scripted"
    if scripted and sdir.is_dir():
        from copilot.evaluation.dataset import load_case

        # a varied few first (8 kHz, stereo, noise, two competitors), then the rest
        first = ["sales_call_two_competitors", "call_performance_algolia_stereo",
                 "call_contract_switching_algolia_8k", "call_pricing_postgresql_noise"]
        stems = sorted(p.stem for p in sdir.glob("*.json") if p.stem != "manifest")
        names = [f"{n}.json" for n in (*[f for f in first if f in stems],
                                        *[n for n in stems if n not in first])][:scripted]
        for p in names:
            c = load_case(p, sdir)
            rate, channels, speakers = wire_format(c)
            audio = read_audio(c.audio, rate, channels)
            keys = speakers or ["*"]
            refs = {k: c.reference if k == "*" else c.reference_for(k) for k in keys}
            cases.append({"id": c.id, "audio": audio, "rate": rate, "speakers": speakers,
                          "refs": refs, "restricted": False})
    return cases


# --------------------------------------------------------------------------- main


def offline(model: Any, audio16: np.ndarray) -> tuple[str, list[tuple[str, float]]]:
    segs, _ = model.transcribe(audio16, beam_size=1, language="en", vad_filter=True)
    text = " ".join(s.text.strip() for s in segs)
    segs, _ = model.transcribe(audio16, beam_size=1, language="en", vad_filter=True,
                               word_timestamps=True)
    words = [(w.word.strip(), float(w.end)) for s in segs for w in (s.words or [])]
    return text, words


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    from copilot.config import load_settings
    from copilot.server import running_server

    cases = load_cases(args.scripted, args.long_seconds)
    if args.only:
        cases = [c for c in cases if c["id"] in args.only]
    rows: list[dict[str, Any]] = []
    all_partial: list[float] = []
    all_final: list[float] = []
    first_in_final = 0
    wer_pairs_s: list[tuple[str, str]] = []
    wer_pairs_o: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        settings = load_settings(store={"path": f"{tmp}/events.sqlite3"},
                                 retrieval={"index_dir": str(ROOT / "var/index")})
        async with running_server(settings, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.port}"
            a = server.engine.settings.asr
            model = WhisperModel(server.engine.decoder.model_path, device="cpu",
                                 compute_type=a.compute_type, cpu_threads=a.cpu_threads)
            for c in cases:
                audio, rate = c["audio"], c["rate"]
                t0 = time.perf_counter()
                events, sent = await stream_call(
                    url, frames_of(audio, rate), sample_rate=rate, channels=audio.shape[1],
                    speakers=c["speakers"], speed=args.speed, call_id=f"bench-{c['id']}")
                wall = time.perf_counter() - t0
                audio16 = audio if rate == 16000 else await asyncio.to_thread(
                    _resample16, audio, rate)
                fin = final_latencies(events, sent)
                row: dict[str, Any] = {"id": c["id"], "audio_s": round(len(audio) / rate, 1),
                                       "wall_s": round(wall, 1), "channels": {}}
                part_all: list[float] = []
                missed_all = final_all = 0
                for i, k in enumerate(c["refs"]):
                    spk = None if k == "*" else k
                    hyp = " ".join(e["text"] for e in events if e.get("type") == "transcript"
                                   and e["final"] and e["text"] and (spk is None or e["speaker"] == spk))
                    off_text, words = await asyncio.to_thread(
                        offline, model, np.ascontiguousarray(audio16[:, i]))
                    lats, missed, by_final = word_latencies(events, words, sent, spk)
                    part_all += lats
                    missed_all += missed
                    final_all += by_final
                    ref = c["refs"][k]
                    ws = word_error_rate(ref, hyp).wer if normalize_text(ref) else None
                    wo = word_error_rate(ref, off_text).wer if normalize_text(ref) else None
                    if ws is not None:
                        wer_pairs_s.append((ref, hyp))
                        wer_pairs_o.append((ref, off_text))
                    row["channels"][k] = {"wer_stream": ws, "wer_offline": wo}
                row.update(
                    wer_stream=_mean([v["wer_stream"] for v in row["channels"].values()]),
                    wer_offline=_mean([v["wer_offline"] for v in row["channels"].values()]),
                    partial_p50=pct(part_all, 50), partial_p95=pct(part_all, 95),
                    words_timed=len(part_all), words_missed=missed_all,
                    words_first_in_final=final_all,
                    final_p50=pct(fin, 50), final_p95=pct(fin, 95), finals=len(fin),
                    status_events=sum(1 for e in events if e.get("type") == "status"))
                rows.append(row)
                all_partial += part_all
                all_final += fin
                first_in_final += final_all
                _print_row(row)
    ws = word_error_rate(*zip(*wer_pairs_s, strict=True)).wer if wer_pairs_s else None
    wo = word_error_rate(*zip(*wer_pairs_o, strict=True)).wer if wer_pairs_o else None
    summary = {
        "wer_stream": _r(ws), "wer_offline": _r(wo),
        "wer_delta_points": _r((ws - wo) * 100 if ws is not None and wo is not None else None),
        "wer_ratio_stream_over_offline": _r(ws / wo if ws is not None and wo else None),
        "partial_p50_s": pct(all_partial, 50), "partial_p95_s": pct(all_partial, 95),
        "final_p50_s": pct(all_final, 50), "final_p95_s": pct(all_final, 95),
        "words_timed": len(all_partial), "words_first_in_final": first_in_final,
        "finals": len(all_final),
    }
    summary["meets_targets"] = {
        "wer": summary["wer_delta_points"] is not None
        and summary["wer_delta_points"] <= TARGETS["wer_delta_points"],
        "partial_p95": summary["partial_p95_s"] is not None
        and summary["partial_p95_s"] <= TARGETS["partial_p95_s"],
        "final_p95": summary["final_p95_s"] is not None
        and summary["final_p95_s"] <= TARGETS["final_p95_s"],
    }
    return {"benchmark": "bench_streaming", "speed": args.speed, "machine": machine(),
            "offline_baseline": "faster_whisper WhisperModel.transcribe, same model dir, beam 1, "
            "vad_filter=True", "targets": TARGETS, "summary": summary, "cases": rows}


def context_sweep(contexts: list[float], repeats: int = 3) -> dict[str, Any]:
    """Encoder context length vs decode time, WER and temperature fallbacks (loops).

    The real clips (jfk, LibriVox ×3, pyannote) are cut into utterances by the live VAD segmenter
    and each decoded with ``min_context_s`` = c (30 = what ``WhisperModel.transcribe`` always
    pads to); the encoder alone is also timed on the shortest utterance (where the context
    matters most). A fallback (temperature > 0) means the greedy pass looped or scored too low.
    """
    import ctranslate2
    from bench_hotwords import REAL, utterances

    from copilot.asr.whisper import WhisperDecoder
    from copilot.config import load_settings
    from copilot.evaluation.dataset import load_dataset

    dec = WhisperDecoder(load_settings(asr={"hotwords": False}).asr)
    ds = load_dataset(ROOT / "eval/datasets/shared_real.json")
    clips = [(ds.get(cid).reference, utterances(read_audio(DATA / rel, 16000, 1)[:, 0]))
             for cid, rel in REAL]
    dec.decode(clips[0][1][0])  # warm-up
    short = min((u for _, utts in clips for u in utts), key=len)
    out: dict[str, Any] = {}
    for c in contexts:
        dec.settings = dec.settings.model_copy(update={"min_context_s": c})
        times: list[float] = []
        fallbacks = 0
        pairs = []
        for ref, utts in clips:
            texts = []
            for u in utts:
                for _ in range(repeats):
                    r = dec.decode(u)
                    times.append(r.seconds)
                fallbacks += r.temperature > 0
                texts.append(r.text)
            pairs.append((ref, " ".join(texts)))
        # the encoder alone, min of 10 (robust to other processes taking the CPU)
        enc: list[float] = []
        for _ in range(10):
            t = time.perf_counter()
            dec._wm.model.encode(ctranslate2.StorageView.from_array(dec.features(short)))
            enc.append(time.perf_counter() - t)
        out[f"{c:g}"] = {"encoder_ms_min": round(1000 * min(enc), 1),
                         "encoder_ms_p50": round(1000 * percentile(enc, 50), 1),
                         "decode_ms_p50": round(1000 * percentile(times, 50), 1),
                         "decode_ms_p95": round(1000 * percentile(times, 95), 1),
                         "wer": round(word_error_rate(*zip(*pairs, strict=True)).wer, 4),
                         "fallbacks": fallbacks, "utterances": sum(len(u) for _, u in clips)}
        print(f"context {c:>4g} s: encoder min {out[f'{c:g}']['encoder_ms_min']} ms, decode p50 {out[f'{c:g}']['decode_ms_p50']} ms, p95 "
              f"{out[f'{c:g}']['decode_ms_p95']} ms, WER {out[f'{c:g}']['wer']}, fallbacks "
              f"{fallbacks}/{out[f'{c:g}']['utterances']}", flush=True)
    return out


def _resample16(audio: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(audio, 16000 // np.gcd(16000, rate), rate // np.gcd(16000, rate),
                         axis=0).astype(np.float32)


def _mean(xs: list[float | None]) -> float | None:
    v = [x for x in xs if x is not None]
    return round(sum(v) / len(v), 4) if v else None


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


HEAD = f"{'case':28} {'audio_s':>7} {'WER str':>7} {'WER off':>7} {'part50':>6} {'part95':>6} " \
       f"{'fin50':>6} {'fin95':>6} {'words':>5} {'miss':>4}"


def _print_row(r: dict[str, Any]) -> None:
    if not getattr(_print_row, "done", False):
        print(HEAD)
        _print_row.done = True  # type: ignore[attr-defined]
    print(f"{r['id'][:28]:28} {r['audio_s']:>7} {_f(r['wer_stream']):>7} {_f(r['wer_offline']):>7} "
          f"{_f(r['partial_p50']):>6} {_f(r['partial_p95']):>6} {_f(r['final_p50']):>6} "
          f"{_f(r['final_p95']):>6} {r['words_timed']:>5} {r['words_missed']:>4}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--scripted", type=int, default=4, help="scripted calls to include (0-12)")
    ap.add_argument("--long-seconds", type=float, default=180.0,
                    help="cut long restricted calls after this many seconds")
    ap.add_argument("--only", nargs="*", help="case ids")
    ap.add_argument("--out", default=str(RESULTS / "bench_streaming.json"))
    ap.add_argument("--context-sweep", nargs="*", type=float, metavar="S",
                    help="only run the encoder-context sweep (default 4 5 6 8 10 30 s)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.context_sweep is not None:
        sys.path.insert(0, str(ROOT / "eval"))
        res = {"benchmark": "bench_streaming --context-sweep", "machine": machine(),
               "sweep": context_sweep(args.context_sweep or [4, 5, 6, 8, 10, 30])}
        out = Path(args.out).with_name("bench_context.json")
        out.write_text(json.dumps(res, indent=1) + "\n")
        print(f"wrote {out}")
        return 0
    report = asyncio.run(run(args))
    s = report["summary"]
    print(f"\nALL: WER stream {_f(s['wer_stream'])} vs offline {_f(s['wer_offline'])} "
          f"(delta {_f(s['wer_delta_points'])} points, target <= +1.5); partial p50/p95 "
          f"{_f(s['partial_p50_s'])}/{_f(s['partial_p95_s'])} s (target p95 <= 1.0); final p50/p95 "
          f"{_f(s['final_p50_s'])}/{_f(s['final_p95_s'])} s (target p95 <= 2.0)")
    print(f"machine: {report['machine']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
