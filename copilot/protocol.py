"""Client → server messages of wire v1 (docs/protocol.md), parsed into typed records. Pure.

Text frames are JSON objects with a ``type``; binary frames are audio in the format declared by
``start``. Anything else raises :class:`~copilot.errors.ProtocolError` with a message that says
what was wrong; the server turns it into an ``error`` event and keeps the call going.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from copilot.audio.formats import AudioFormat
from copilot.errors import ProtocolError

__all__ = [
    "ANNOTATION_ACTIONS",
    "Annotate",
    "ClientMessage",
    "Ping",
    "Start",
    "Stop",
    "parse_client_message",
    "valid_call_id",
]

ANNOTATION_ACTIONS = ("accept", "dismiss", "edit", "wrong", "missed", "note")
SPEAKERS = ("rep", "customer", "unknown")
_CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def valid_call_id(call_id: str) -> bool:
    return bool(_CALL_ID.match(call_id))


@dataclass(frozen=True)
class Start:
    format: AudioFormat
    speakers: tuple[str, ...]
    rep: str | None = None
    account: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Annotate:
    annotation_id: str
    target_id: str
    action: str
    fields: dict[str, Any] = field(default_factory=dict)


ClientMessage = Start | Stop | Ping | Annotate


def _str(obj: dict[str, Any], key: str, default: str | None = None, max_len: int = 200) -> str | None:
    value = obj.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise ProtocolError(f"'{key}' must be a string of at most {max_len} characters")
    return value


def parse_client_message(text: str) -> ClientMessage:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"text frame is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("text frame must be a JSON object with a 'type'")
    kind = obj.get("type")
    if kind == "start":
        return _parse_start(obj)
    if kind == "stop":
        return Stop()
    if kind == "ping":
        return Ping()
    if kind == "annotate":
        return _parse_annotate(obj)
    raise ProtocolError(
        f"unknown message type {kind!r}; expected one of start, stop, ping, annotate"
    )


def _parse_start(obj: dict[str, Any]) -> Start:
    encoding = obj.get("encoding", "pcm_s16le")
    rate = obj.get("sample_rate", 16000)
    channels = obj.get("channels", 1)
    if not isinstance(rate, int) or isinstance(rate, bool):
        raise ProtocolError("'sample_rate' must be an integer (Hz)")
    if not isinstance(channels, int) or isinstance(channels, bool):
        raise ProtocolError("'channels' must be an integer")
    fmt = AudioFormat(encoding=encoding, sample_rate=rate, channels=channels)
    default = ("unknown",) if channels == 1 else ("rep", "customer")
    speakers = obj.get("speakers", list(default))
    if (not isinstance(speakers, list) or len(speakers) != channels
            or any(s not in SPEAKERS for s in speakers) or len(set(speakers)) != len(speakers)):
        raise ProtocolError(
            f"'speakers' must list one distinct speaker per channel ({channels}), each one of "
            + ", ".join(SPEAKERS)
        )
    return Start(
        format=fmt,
        speakers=tuple(speakers),
        rep=_str(obj, "rep"),
        account=_str(obj, "account"),
        language=_str(obj, "language", "en") or "en",
    )


def _parse_annotate(obj: dict[str, Any]) -> Annotate:
    action = obj.get("action")
    if action not in ANNOTATION_ACTIONS:
        raise ProtocolError(
            f"annotation action {action!r} unknown; expected one of {', '.join(ANNOTATION_ACTIONS)}"
        )
    annotation_id = _str(obj, "annotation_id")
    target_id = _str(obj, "target_id")
    if not annotation_id or not target_id:
        raise ProtocolError("an annotation needs 'annotation_id' and 'target_id'")
    fields = {k: v for k, v in obj.items()
              if k not in ("type", "annotation_id", "target_id", "action")}
    if len(json.dumps(fields)) > 8000:
        raise ProtocolError("annotation fields are too large (8000 characters at most)")
    return Annotate(annotation_id, target_id, action, fields)
