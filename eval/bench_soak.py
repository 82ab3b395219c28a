"""Soak benchmark: one long call of real speech; memory and decoding lag must stay flat.

The call loops pyannote sample + LibriVox ×3 + jfk + the AxonData EN support call (read at run
time only, never copied), with one minute of silence after each pass, for ``--minutes`` of audio,
sent at ``--speed``× real time through an in-process server over a real websocket. The audio is
generated frame by frame, so a 2-hour call never sits in memory, and the client keeps counters
only (no event list) so the process RSS is the server's.

Sampled at audio minute 1 and every ``--every`` audio minutes (and at the end): process RSS,
Python heap objects (``gc``), the live call's decoding lag (``LiveCall.lag_s``: now − arrival of
the last decoded audio), audio shed so far, and the final latency p50/p95 of the finals that
arrived since the previous sample. Flat means: RSS at the end within ``--rss-slack-mb`` of the
first sample after warm-up (minute 10, or the second sample), no shed audio and lag never above
``server.max_lag_s`` (or, if it is, not growing from the first to the last third). The last
sample is taken when the call has ended (``after_end`` once the server has dropped it; its RSS
then shows what was given back).

``--minutes 120 --speed 1`` is the true 2-hour call. Default: 120 audio minutes at 8× (15 min wall).

Run:  .venv/bin/python eval/bench_soak.py [--minutes 120] [--speed 8] [--every 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from bench_streaming import (  # noqa: E402
    DATA,
    RESULTS,
    SentLog,
    machine,
    pct,
    rss_mb,
    stream_call,
    write_report,
)

from copilot.audio.files import read_audio  # noqa: E402

__all__ = ["main", "soak_frames"]

SOURCES = ["pyannote-sample-conversation/sample.wav",
           "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
           "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
           "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
           "openai-whisper-jfk/jfk.flac",
           "axondata-callcenter-samples/EN_customer_support_1735404531.458927.mp3"]
FRAME = 640  # 40 ms at 16 kHz


def soak_frames(minutes: float, silence_s: float = 60.0) -> Iterator[np.ndarray]:
    """40 ms frames (16 kHz mono) of the looped sources, ``silence_s`` of silence per pass."""
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is absent: the soak needs the shared real audio")
    pieces = [read_audio(DATA / rel, 16000, 1) for rel in SOURCES if (DATA / rel).exists()]
    pieces.append(np.zeros((int(silence_s * 16000), 1), np.float32))
    one_pass = np.concatenate(pieces)
    total = int(minutes * 60 * 16000)
    pos = 0
    while pos < total:
        k = pos % len(one_pass)
        n = min(FRAME, len(one_pass) - k, total - pos)
        yield one_pass[k:k + n]
        pos += n


def judge(samples: list[dict[str, Any]], max_lag: float, rss_slack_mb: float) -> dict[str, Any]:
    """Flat or not, from the samples taken while the call was open (see module doc)."""
    live = [s for s in samples if not s.get("after_end")] or samples
    warm = next((s for s in live if s["audio_min"] >= 10), live[min(1, len(live) - 1)])
    end = live[-1]
    lags = [s["lag_s"] or 0.0 for s in live]
    third = max(1, len(lags) // 3)
    shed = max(s["shed_s"] or 0.0 for s in samples)
    return {
        "rss_growth_mb_after_warmup": round(end["rss_mb"] - warm["rss_mb"], 1),
        "rss_flat": end["rss_mb"] - warm["rss_mb"] <= rss_slack_mb,
        "rss_after_call_closed_mb": samples[-1]["rss_mb"] if samples[-1].get("after_end") else None,
        "lag_max_s": max(lags), "shed_s": shed,
        "lag_bounded": max(lags) <= max_lag
        or float(np.mean(lags[-third:])) <= float(np.mean(lags[:third])) + 1.0,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from copilot.config import load_settings
    from copilot.server import running_server

    samples: list[dict[str, Any]] = []
    pass_s = sum(len(read_audio(DATA / rel, 16000, 1)) for rel in SOURCES) / 16000 + 60
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        settings = load_settings(store={"path": f"{tmp}/events.sqlite3"},
                                 retrieval={"index_dir": str(ROOT / "var/index")})
        async with running_server(settings, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.port}"
            call_id = f"soak-{int(time.time())}"
            state: dict[str, Any] = {"finals": 0, "partials": 0, "window": [], "status_lag": 0.0,
                                     "flags": 0, "next": 1.0, "shed": 0.0}
            sent_ref: dict[str, Any] = {"log": SentLog()}
            t_start = time.perf_counter()

            def sample(audio_min: float) -> None:
                call = server.calls.get(call_id)  # gone once the call has ended
                gc.collect()
                row = {"audio_min": round(audio_min, 1),
                       "wall_s": round(time.perf_counter() - t_start, 1),
                       "rss_mb": round(rss_mb(), 1), "gc_objects": len(gc.get_objects()),
                       "lag_s": round(call.lag_s, 2) if call else None,
                       "degraded": call.degraded if call else None,
                       "shed_s": round(call.shed_s, 1) if call else state["shed"],
                       "after_end": call is None,
                       "final_p50_s": pct(state["window"], 50),
                       "final_p95_s": pct(state["window"], 95),
                       "finals_total": state["finals"], "status_lag_max_s": state["status_lag"]}
                samples.append(row)
                state["window"] = []
                print(f"audio {row['audio_min']:6.1f} min  wall {row['wall_s']:7.1f} s  "
                      f"rss {row['rss_mb']:7.1f} MB  objects {row['gc_objects']:>8}  "
                      f"lag {row['lag_s']} s  shed {row['shed_s']} s  final p50/p95 "
                      f"{row['final_p50_s']}/{row['final_p95_s']} s  finals {row['finals_total']}",
                      flush=True)

            def on_event(e: dict[str, Any], now: float) -> None:
                kind = e.get("type")
                if kind == "transcript":
                    if e["final"]:
                        state["finals"] += 1
                        s = sent_ref["log"].wall(e["end"])
                        if s is not None:
                            state["window"].append(max(0.0, now - s))
                    else:
                        state["partials"] += 1
                elif kind == "status":
                    state["status_lag"] = max(state["status_lag"], e["lag_s"])
                    state["shed"] = max(state["shed"], e.get("shed_s", 0.0))
                elif kind == "flag":
                    state["flags"] += 1

            async def sampler() -> None:
                # sample by audio time sent (the send log grows as the client sends)
                while True:
                    await asyncio.sleep(0.25)
                    log = sent_ref["log"]
                    if not len(log.ends):
                        continue
                    audio_min = log.ends[-1] / 60
                    if audio_min >= state["next"]:
                        sample(audio_min)
                        state["next"] = (args.every if state["next"] < args.every
                                         else state["next"] + args.every)

            task = asyncio.create_task(sampler())
            try:
                await stream_call(url, soak_frames(args.minutes), sample_rate=16000,
                                  speed=args.speed, call_id=call_id, keep_events=False,
                                  on_event=on_event, sent=sent_ref["log"])
            finally:
                task.cancel()
            sample(args.minutes)
            max_lag = settings.server.max_lag_s
    verdict = judge(samples, max_lag, args.rss_slack_mb)
    return {"benchmark": "bench_soak", "machine": machine(), "minutes": args.minutes,
            "speed": args.speed, "silence_per_pass_s": 60, "pass_s": round(pass_s, 1),
            "sources": SOURCES, "flags": state["flags"], "partials": state["partials"],
            "verdict": verdict, "samples": samples}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--speed", type=float, default=8.0)
    ap.add_argument("--every", type=float, default=10.0, help="sample every N audio minutes")
    ap.add_argument("--rss-slack-mb", type=float, default=30.0)
    ap.add_argument("--out", default=str(RESULTS / "bench_soak.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rep = asyncio.run(run(args))
    print(f"verdict: {rep['verdict']}")
    write_report(args.out, rep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
