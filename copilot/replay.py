"""``copilot replay``: stream an audio file to a server as a live call and report what came back.

Frames are paced at real time (``speed`` faster). For each event, the latency is measured from
the moment the client *sent* the audio the event is about (a transcript's ``end``, a flag's
``end``, a suggestion's flag ``end``) to the moment the event arrived: what a rep would feel.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from websockets.asyncio.client import connect

from copilot.audio.files import encode_samples, read_audio

__all__ = ["ReplayResult", "percentile", "replay_file", "replay_samples"]


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values."""
    return round(float(np.percentile(values, q)), 3) if values else None


@dataclass
class ReplayResult:
    call_id: str
    audio_seconds: float
    events: list[dict[str, Any]] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    wall_seconds: float = 0.0
    #: flag_id → latency of its first suggestion card (the ``suggestion`` latencies, by flag)
    first_card_s: dict[str, float] = field(default_factory=dict)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def finals(self) -> list[dict[str, Any]]:
        return [e for e in self.of_type("transcript") if e["final"]]

    def transcript(self, speaker: str | None = None) -> str:
        return " ".join(e["text"] for e in self.finals()
                        if e["text"] and (speaker is None or e["speaker"] == speaker))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "summary",
            "call_id": self.call_id,
            "audio_s": round(self.audio_seconds, 2),
            "wall_s": round(self.wall_seconds, 2),
            "segments": len(self.finals()),
            "partials": sum(1 for e in self.of_type("transcript") if not e["final"]),
            "flags": len(kept := {e["flag_id"]: e for e in self.of_type("flag")}),
            "retracted": sum(1 for e in kept.values() if e.get("retracted")),
            "suggestions": len(self.of_type("suggestion")),
            "errors": len(self.of_type("error")),
        }
        for name, values in self.latencies.items():
            out[f"{name}_latency_p50_s"] = percentile(values, 50)
            out[f"{name}_latency_p95_s"] = percentile(values, 95)
        return out


def _line(e: dict[str, Any]) -> str:
    kind = e.get("type")
    if kind == "transcript":
        mark = "FINAL  " if e["final"] else "partial"
        return f"[{e['start']:7.2f}-{e['end']:7.2f}] {mark} {e['speaker']:>8}: {e['text']}"
    if kind == "flag":
        who = e.get("competitor_name") or "objection"
        if e.get("retracted"):
            return f"[{e['start']:7.2f}] RETRACT {who}: the final did not hear it"
        return (f"[{e['start']:7.2f}] FLAG    {who} / {e['claim_type']} "
                f"({e['speaker']}, conf {e['confidence']:.2f}): \"{e['evidence']}\"")
    if kind == "suggestion":
        src = ", ".join(f"{s['playbook']}#{s['section']}@{s['version']}" for s in e["sources"])
        return f"          SUGGEST {e['text']}\n          source: {src} (latency {e['latency_s']:.2f} s)"
    if kind == "error":
        return f"          ERROR   {e['code']}: {e['message']}"
    if kind == "ready":
        return f"          ready: {e['encoding']} {e['sample_rate']} Hz x{e['channels']} {e['speakers']}"
    if kind == "ended":
        return f"          ended: {e['reason']} after {e['audio_seconds']:.1f} s of audio"
    return json.dumps(e)


async def replay_samples(
    samples: np.ndarray,
    url: str,
    *,
    sample_rate: int,
    encoding: str = "pcm_s16le",
    speakers: list[str] | None = None,
    speed: float = 1.0,
    frame_ms: int = 40,
    call_id: str | None = None,
    on_event: Callable[[dict[str, Any], str], None] | None = None,
    start_extra: dict[str, Any] | None = None,
) -> ReplayResult:
    """Stream ``samples`` (n, channels) to ``url`` (server base, e.g. ws://127.0.0.1:8765).

    ``on_event(event, raw_text)`` is called for every server event as it arrives.
    """
    channels = samples.shape[1]
    call_id = call_id or f"replay-{uuid.uuid4().hex[:10]}"
    frame = max(1, int(sample_rate * frame_ms / 1000))
    n_frames = (len(samples) + frame - 1) // frame
    sent_at = np.full(n_frames, np.nan)
    result = ResultBuilder(call_id, len(samples) / sample_rate, frame / sample_rate, sent_at)
    start = {"type": "start", "encoding": encoding, "sample_rate": sample_rate,
             "channels": channels, **(start_extra or {})}
    if speakers:
        start["speakers"] = speakers
    t_begin = time.time()
    async with connect(url.rstrip("/") + "/v1/calls/" + call_id, max_size=2**22) as ws:
        await ws.send(json.dumps(start))

        async def send_audio() -> None:
            t0 = time.monotonic()
            for k in range(n_frames):
                due = t0 + k * frame / sample_rate / speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(encode_samples(samples[k * frame:(k + 1) * frame], encoding))
                sent_at[k] = time.time()
            await ws.send(json.dumps({"type": "stop"}))

        sender = asyncio.create_task(send_audio())
        try:
            async for raw in ws:
                event = json.loads(raw)
                result.add(event, time.time())
                if on_event:
                    on_event(event, raw if isinstance(raw, str) else raw.decode())
                if event.get("type") == "ended":
                    break
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
    result.result.wall_seconds = time.time() - t_begin
    return result.result


class ResultBuilder:
    def __init__(self, call_id: str, audio_s: float, frame_s: float, sent_at: np.ndarray) -> None:
        self.result = ReplayResult(call_id, audio_s)
        self._frame_s = frame_s
        self._sent_at = sent_at
        self._flag_end: dict[str, float] = {}
        self._partial_seen: set[str] = set()
        self._carded: set[str] = set()  # flags whose first suggestion card arrived

    def _sent(self, audio_t: float) -> float | None:
        k = min(max(int(np.ceil(audio_t / self._frame_s)) - 1, 0), len(self._sent_at) - 1)
        v = self._sent_at[k]
        return None if np.isnan(v) else float(v)

    def _lat(self, name: str, audio_t: float, arrived: float) -> float | None:
        sent = self._sent(audio_t)
        if sent is None:
            return None
        lat = round(arrived - sent, 4)
        self.result.latencies.setdefault(name, []).append(lat)
        return lat

    def add(self, e: dict[str, Any], arrived: float) -> None:
        self.result.events.append(e)
        kind = e.get("type")
        if kind == "transcript":
            if e["final"]:
                self._lat("final", e["end"], arrived)
            elif e["segment_id"] not in self._partial_seen:
                self._partial_seen.add(e["segment_id"])
                self._lat("first_partial", e["end"], arrived)
        elif kind == "flag" and e["flag_id"] not in self._flag_end:
            self._flag_end[e["flag_id"]] = e["end"]
            self._lat("flag", e["end"], arrived)
        elif kind == "suggestion" and e["flag_id"] in self._flag_end:
            # the first card for a flag is what the rep waits for; later events re-type the
            # same card in place (the final's wording, LLM tokens) and are timed apart
            first = e["flag_id"] not in self._carded
            self._carded.add(e["flag_id"])
            lat = self._lat("suggestion" if first else "suggestion_update",
                            self._flag_end[e["flag_id"]], arrived)
            if first and lat is not None:
                self.result.first_card_s[e["flag_id"]] = lat


async def replay_file(path: str | Path, url: str, *, encoding: str = "pcm_s16le",
                      sample_rate: int = 16000, channels: int = 1, speed: float = 1.0,
                      frame_ms: int = 40, as_json: bool = False, out: TextIO = sys.stdout,
                      call_id: str | None = None, speakers: list[str] | None = None,
                      ) -> ReplayResult:
    samples = read_audio(path, sample_rate=sample_rate, channels=channels)

    def show(e: dict[str, Any], raw: str) -> None:
        if as_json:
            out.write(raw + "\n")  # exactly as received
        elif e.get("type") != "transcript" or e.get("final"):
            out.write(_line(e) + "\n")
        out.flush()

    result = await replay_samples(samples, url, sample_rate=sample_rate, encoding=encoding,
                                  speed=speed, frame_ms=frame_ms, call_id=call_id,
                                  speakers=speakers, on_event=show)
    summary = result.summary()
    if as_json:
        out.write(json.dumps(summary) + "\n")
    else:
        out.write("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()
                                          if k != "type") + "\n")
    out.flush()
    return result
