"""Twilio Media Streams → the copilot's audio frames. Pure.

Twilio sends JSON text frames: ``connected``, ``start`` (stream and call ids, tracks, media format
``audio/x-mulaw`` 8 kHz mono), ``media`` (base64 μ-law, ~20 ms, per ``track`` with a millisecond
``timestamp`` from the stream start), ``mark``, ``dtmf``, ``stop``. A two-track stream
(``<Stream track="both_tracks">``) is turned into one 2-channel μ-law stream — inbound (the phone
party: the customer) and outbound (what Twilio plays to them: the rep) — aligned by timestamp, so
the two speakers are transcribed separately and never down-mixed. A track that falls silent
(Twilio skips packets) is padded with μ-law silence once the other is ``max_skew_ms`` ahead.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from copilot.audio.formats import AudioFormat
from copilot.errors import ProtocolError
from copilot.protocol import Start

__all__ = ["TwilioStart", "TwilioStream"]

_SILENCE = 0xFF  # μ-law code for 0
_RATE = 8000
_TRACK_SPEAKER = {"inbound": "customer", "outbound": "rep"}


@dataclass(frozen=True)
class TwilioStart:
    stream_sid: str
    call_sid: str
    tracks: tuple[str, ...]
    custom: dict[str, Any]

    def start_message(self) -> Start:
        speakers = tuple(_TRACK_SPEAKER[t] for t in self.tracks)
        return Start(
            format=AudioFormat("mulaw", _RATE, len(self.tracks)),
            speakers=speakers,
            rep=_opt(self.custom.get("rep")),
            account=_opt(self.custom.get("account")),
        )

    @property
    def call_id(self) -> str:
        return str(self.custom.get("call_id") or f"twilio-{self.call_sid or self.stream_sid}")


def _opt(v: Any) -> str | None:
    return str(v)[:200] if v else None


class TwilioStream:
    """Feed Twilio JSON messages; read back ``TwilioStart`` once, then interleaved audio bytes."""

    def __init__(self, max_skew_ms: int = 200) -> None:
        self.start: TwilioStart | None = None
        self.stopped = False
        self._max_skew = max_skew_ms * _RATE // 1000
        self._buf: dict[str, bytearray] = {}
        self._pos: dict[str, int] = {}  # samples already placed per track (stream time)
        self.marks: list[str] = []

    def feed(self, text: str) -> bytes:
        """One Twilio message → audio bytes ready to send on (possibly empty)."""
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"Twilio message is not JSON ({exc.msg})") from None
        event = msg.get("event") if isinstance(msg, dict) else None
        if event in ("connected", "dtmf"):
            return b""
        if event == "start":
            return self._on_start(msg.get("start") or {}, msg.get("streamSid", ""))
        if event == "media":
            return self._on_media(msg.get("media") or {})
        if event == "mark":
            self.marks.append(str((msg.get("mark") or {}).get("name", "")))
            return b""
        if event == "stop":
            self.stopped = True
            return self.flush()
        raise ProtocolError(f"unknown Twilio event {event!r}")

    def _on_start(self, start: dict[str, Any], sid: str) -> bytes:
        fmt = start.get("mediaFormat") or {}
        if fmt and (fmt.get("encoding") != "audio/x-mulaw" or int(fmt.get("sampleRate", 0)) != _RATE):
            raise ProtocolError(f"unsupported Twilio media format {fmt}; expected audio/x-mulaw 8000")
        tracks = tuple(t for t in start.get("tracks", ["inbound"]) if t in _TRACK_SPEAKER)
        if not tracks:
            raise ProtocolError("Twilio start names no inbound/outbound track")
        self.start = TwilioStart(
            stream_sid=str(start.get("streamSid") or sid),
            call_sid=str(start.get("callSid", "")),
            tracks=tracks,
            custom=dict(start.get("customParameters") or {}),
        )
        self._buf = {t: bytearray() for t in tracks}
        self._pos = {t: 0 for t in tracks}
        return b""

    def _on_media(self, media: dict[str, Any]) -> bytes:
        if self.start is None:
            raise ProtocolError("Twilio media before start")
        track = media.get("track", "inbound")
        if track not in self._buf:
            return b""
        try:
            payload = base64.b64decode(media.get("payload", ""), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("Twilio media payload is not base64") from None
        ts = media.get("timestamp")
        if ts is not None:
            # a gap in the timestamps is audio Twilio did not send: fill it with silence
            at = int(int(ts) * _RATE / 1000)
            have = self._pos[track] + len(self._buf[track])
            if at > have + 8:  # > 1 ms gap
                self._buf[track] += bytes([_SILENCE]) * (at - have)
        self._buf[track] += payload
        return self._drain(final=False)

    def _drain(self, final: bool) -> bytes:
        tracks = list(self._buf)
        if len(tracks) == 1:
            out = bytes(self._buf[tracks[0]])
            self._pos[tracks[0]] += len(out)
            self._buf[tracks[0]].clear()
            return out
        a, b = (self._buf[t] for t in tracks)
        longest = max(len(a), len(b))
        if final or longest - min(len(a), len(b)) > self._max_skew:
            # the lagging track is silent (or gone): pad it to keep the channels aligned
            for buf in (a, b):
                buf += bytes([_SILENCE]) * (longest - len(buf))
        n = min(len(a), len(b))
        if n == 0:
            return b""
        out = bytearray(2 * n)
        out[0::2] = a[:n]
        out[1::2] = b[:n]
        del a[:n], b[:n]
        for t in tracks:
            self._pos[t] += n
        return bytes(out)

    def flush(self) -> bytes:
        return self._drain(final=True) if self._buf else b""
