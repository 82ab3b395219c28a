"""Benchmark: how many simultaneous calls one server keeps up with, and where the CPU goes.

For each N in ``--ns``, N calls replay real speech (LibriVox ×3 + jfk + pyannote sample, looped,
each call starting at a different offset) at 1× for ``--seconds`` each, all at once, through one
in-process server. Per N: final latency p50/p95/max (client send time of a final's ``end`` → its
arrival), max decoding lag from ``status`` events, time spent in degraded mode (partials skipped),
partial decodes requested vs run, audio shed, and the process CPU % (user+sys over wall; 100 % =
one core). "Keeps up" at N means: no audio shed, max final latency ≤ ``server.max_lag_s`` (lag
bounded), and final p95 ≤ 2 s. The baseline is N = 1 in the same run (ratios against it).

The same is repeated for the ``--alt`` settings (default ``asr.workers=2, asr.cpu_threads=1``:
two decodes at once with one thread each, vs the default one decode with two threads) at
``--alt-ns``. Where the time goes is measured with wall-clock timers wrapped around each stage
in-process (VAD, feature extraction, Whisper encoder, Whisper decoder/generate, analysis,
store): seconds per stage and share of the process CPU time.

Run:  .venv/bin/python eval/bench_concurrency.py [--seconds 45] [--ns 1 2 4 6 8 10 12]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from bench_streaming import (  # noqa: E402
    DATA,
    RESULTS,
    final_latencies,
    frames_of,
    machine,
    pct,
    stream_call,
    write_report,
)

from copilot.audio.files import read_audio  # noqa: E402

__all__ = ["StageTimers", "main", "speech_loop"]

SOURCES = ["pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
           "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
           "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
           "openai-whisper-jfk/jfk.flac",
           "pyannote-sample-conversation/sample.wav"]


def speech_loop() -> np.ndarray:
    """The real-speech loop (16 kHz mono), 0.5 s of silence between sources."""
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is absent: this benchmark needs the shared real audio")
    gap = np.zeros((8000, 1), np.float32)
    parts = []
    for rel in SOURCES:
        parts += [read_audio(DATA / rel, 16000, 1), gap]
    return np.concatenate(parts)


def call_audio(loop: np.ndarray, seconds: float, offset_s: float) -> np.ndarray:
    n = int(seconds * 16000)
    start = int(offset_s * 16000) % len(loop)
    reps = (start + n) // len(loop) + 1
    return np.concatenate([loop] * reps)[start:start + n]


class StageTimers:
    """Thread-safe wall-clock totals per stage, installed by wrapping the live path in-process."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, stage: str, dt: float) -> None:
        with self._lock:
            self.seconds[stage] += dt
            self.calls[stage] += 1

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()

    def wrap(self, stage: str, fn: Any) -> Any:
        def timed(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.add(stage, time.perf_counter() - t)
        return timed


class _ModelProxy:
    """Stands in for the CTranslate2 Whisper object (its methods cannot be patched) to time it."""

    def __init__(self, model: Any, timers: StageTimers) -> None:
        self._m = model
        self.encode = timers.wrap("whisper_encoder", model.encode)
        self.generate = timers.wrap("whisper_decoder", model.generate)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._m, name)


#: the timers the class-level wrappers report to (one engine, hence one set, per variant)
_ACTIVE: list[StageTimers] = []


def instrument(engine: Any, timers: StageTimers) -> None:
    """Wrap each stage of the live path with timers (class-level for per-call objects)."""
    from copilot.analysis import CallAnalyzer
    from copilot.asr.segmenter import UtteranceSegmenter
    from copilot.asr.streaming import ChannelTranscriber

    dec = engine.decoder
    if not isinstance(dec._wm.model, _ModelProxy):
        dec._wm.model = _ModelProxy(dec._wm.model, timers)
    dec.features = timers.wrap("features", dec.features)
    engine.store.append = timers.wrap("store", engine.store.append)
    _ACTIVE[:] = [timers]
    if not getattr(ChannelTranscriber, "_bench_timed", False):
        ChannelTranscriber.speech_probs = _cls_wrap("vad", ChannelTranscriber.speech_probs)
        CallAnalyzer.on_transcript = _cls_wrap("analysis", CallAnalyzer.on_transcript)
        CallAnalyzer.suggest = _cls_wrap("analysis", CallAnalyzer.suggest)
        orig_emit = UtteranceSegmenter._emit

        def emit(self: Any, n: int, final: bool, early: bool = False) -> None:
            _ACTIVE[0].add("requested_final" if final else "requested_partial", 0.0)
            orig_emit(self, n, final, early)

        UtteranceSegmenter._emit = emit
        orig_next = ChannelTranscriber.next_request

        def next_request(self: Any, partials: bool = True) -> Any:
            req = orig_next(self, partials)
            if req is not None:
                _ACTIVE[0].add("decoded_final" if req.final else "decoded_partial", 0.0)
            return req

        ChannelTranscriber.next_request = next_request
        orig_take = ChannelTranscriber.take_early_final

        def take_early_final(self: Any) -> Any:
            got = orig_take(self)
            if got is not None:  # a final published from its early final, no decode
                _ACTIVE[0].add("reused_final", 0.0)
            return got

        ChannelTranscriber.take_early_final = take_early_final
        ChannelTranscriber._bench_timed = True


def _cls_wrap(stage: str, fn: Any) -> Any:
    def timed(self: Any, *a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(self, *a, **kw)
        finally:
            _ACTIVE[0].add(stage, time.perf_counter() - t)
    return timed


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def degraded_seconds(events: list[dict[str, Any]]) -> float:
    total, since = 0.0, None
    for e in events:
        if e.get("type") == "status":
            if e["degraded"] and since is None:
                since = e["_t"]
            elif not e["degraded"] and since is not None:
                total, since = total + e["_t"] - since, None
    if since is not None and events:
        total += events[-1]["_t"] - since
    return total


async def run_n(url: str, n: int, loop: np.ndarray, seconds: float, timers: StageTimers,
                max_lag_s: float) -> dict[str, Any]:
    timers.reset()
    c0, t0 = _cpu(), time.perf_counter()
    calls = [stream_call(url, frames_of(call_audio(loop, seconds, 7.3 * k), 16000),
                         sample_rate=16000, call_id=f"conc-{n}-{k}-{time.time_ns() % 10**8}")
             for k in range(n)]
    results = await asyncio.gather(*calls)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    fin: list[float] = []
    by_len: dict[str, list[float]] = defaultdict(list)  # final latency by utterance length
    lag, degraded, shed, partials = 0.0, 0.0, 0.0, 0
    for events, sent in results:
        fin += final_latencies(events, sent)
        for e in events:
            if e.get("type") == "transcript" and e["final"] and e["text"]:
                s = sent.wall(e["end"])
                if s is not None:
                    d = e["end"] - e["start"]
                    by_len["<5s" if d < 5 else "5-10s" if d < 10 else ">=10s"].append(
                        max(0.0, e["_t"] - s))
        st = [e for e in events if e.get("type") == "status"]
        lag = max([lag] + [e["lag_s"] for e in st])
        shed = max([shed] + [e.get("shed_s", 0.0) for e in st])
        degraded += degraded_seconds(events)
        partials += sum(1 for e in events if e.get("type") == "transcript" and not e["final"])
    req_p, run_p = timers.calls.get("requested_partial", 0), timers.calls.get("decoded_partial", 0)
    stages = {k: round(v, 2) for k, v in timers.seconds.items() if v > 0}
    row = {
        "n": n, "audio_s_per_call": seconds, "wall_s": round(wall, 1),
        "final_p50_s": pct(fin, 50), "final_p95_s": pct(fin, 95),
        "final_max_s": round(max(fin), 2) if fin else None, "finals": len(fin),
        "final_p95_by_length_s": {k: [len(v), pct(v, 95)] for k, v in sorted(by_len.items())},
        "status_lag_max_s": round(lag, 2), "shed_s": round(shed, 2),
        "degraded_s_total": round(degraded, 1),
        "degraded_share": round(degraded / (n * wall), 3),
        "partials_requested": req_p, "partials_decoded": run_p,
        "partials_skipped_share": round(1 - run_p / req_p, 3) if req_p else None,
        "partial_events": partials,
        # finals published from their early final (no decode) vs decoded after the endpoint
        "finals_reused": timers.calls.get("reused_final", 0),
        "finals_decoded": timers.calls.get("decoded_final", 0),
        "cpu_pct": round(100 * cpu / wall, 1),
        "stage_seconds": stages,
        # stage wall time over the sum of all stages' wall time (threads overlap, so shares of
        # the process CPU time would not add up)
        "stage_share": {k: round(v / sum(stages.values()), 3) for k, v in stages.items()},
    }
    row["keeps_up"] = bool(row["shed_s"] == 0 and fin and max(fin) <= max_lag_s
                           and row["final_p95_s"] <= 2.0)
    return row


async def run_variant(name: str, overrides: dict[str, Any], ns: list[int], seconds: float,
                      loop: np.ndarray) -> dict[str, Any]:
    from copilot.config import load_settings
    from copilot.engine import Engine
    from copilot.server import running_server

    with tempfile.TemporaryDirectory(prefix="bench-conc-") as tmp:
        settings = load_settings(asr=overrides, store={"path": f"{tmp}/events.sqlite3"},
                                 retrieval={"index_dir": str(ROOT / "var/index")})
        engine = await asyncio.to_thread(Engine.load, settings)
        timers = StageTimers()
        instrument(engine, timers)
        rows = []
        try:
            async with running_server(settings, "127.0.0.1", 0, engine=engine) as server:
                url = f"ws://127.0.0.1:{server.port}"
                for n in ns:
                    row = await run_n(url, n, loop, seconds, timers, settings.server.max_lag_s)
                    rows.append(row)
                    _print_row(name, row)
        finally:
            await asyncio.to_thread(engine.close)
    ok = [r["n"] for r in rows if r["keeps_up"]]
    return {"name": name, "asr": overrides, "rows": rows,
            "max_n_keeping_up": max(ok) if ok else 0}


def _print_row(name: str, r: dict[str, Any]) -> None:
    s = r["stage_share"]
    top = ", ".join(f"{k} {v:.0%}" for k, v in sorted(s.items(), key=lambda kv: -kv[1])[:4])
    print(f"{name:10} N={r['n']:>2} final p50/p95/max {r['final_p50_s']}/{r['final_p95_s']}/"
          f"{r['final_max_s']} s lag {r['status_lag_max_s']} s shed {r['shed_s']} s "
          f"degraded {r['degraded_share']:.0%} partials skipped {r['partials_skipped_share']} "
          f"cpu {r['cpu_pct']}% keeps_up={r['keeps_up']} | {top} | by length "
          f"{r['final_p95_by_length_s']}", flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    loop = speech_loop()
    variants = [await run_variant("default", {}, args.ns, args.seconds, loop)] if args.ns else []
    if args.alt_ns:
        alt = {"workers": args.alt_workers, "cpu_threads": args.alt_threads}
        variants.append(await run_variant(f"w{args.alt_workers}t{args.alt_threads}", alt,
                                          args.alt_ns, args.seconds, loop))
    base = variants[0]["rows"][0]
    for v in variants:
        for r in v["rows"]:
            if base["n"] == 1 and base["final_p95_s"] and r["final_p95_s"] is not None:
                r["final_p95_ratio_vs_n1"] = round(r["final_p95_s"] / base["final_p95_s"], 2)
    return {"benchmark": "bench_concurrency", "machine": machine(), "seconds_per_call": args.seconds,
            "speed": 1.0, "keeps_up_rule": "no audio shed, max final latency <= server.max_lag_s, "
            "final p95 <= 2 s", "variants": variants}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=45.0)
    ap.add_argument("--ns", nargs="*", type=int, default=[1, 2, 4, 6, 8, 10, 12],
                    help="N values for the default settings (none: only the --alt run)")
    ap.add_argument("--alt-ns", nargs="*", type=int, default=[4, 8])
    ap.add_argument("--alt-workers", type=int, default=2)
    ap.add_argument("--alt-threads", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS / "bench_concurrency.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rep = asyncio.run(run(args))
    for v in rep["variants"]:
        print(f"{v['name']}: max N keeping up = {v['max_n_keeping_up']}")
    write_report(args.out, rep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
