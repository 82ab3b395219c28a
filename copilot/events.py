"""One typed event vocabulary for the wire, the store and the eval harness.

Every event is a frozen dataclass; its JSON form (``to_dict`` / ``to_json``) is derived from the
fields, never built by hand, and :func:`event_from_dict` reads it back. Server → client events
carry ``call_id``, a per-call increasing ``seq`` (assigned by the call when it emits the event)
and the wall-clock time ``ts`` at emission, so latency is measurable at every hop. Audio times
(``start``/``end``) are seconds from the start of the call's audio.

Client → server control messages (``start``, ``stop``, ``annotate``, ``ping``) are parsed by
:mod:`copilot.protocol`, not here.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

__all__ = [
    "SCHEMA_VERSION",
    "AnnotationAck",
    "CLAIM_TYPES",
    "Ended",
    "ErrorEvent",
    "Event",
    "Flag",
    "Pong",
    "Ready",
    "Source",
    "Status",
    "Suggestion",
    "Transcript",
    "event_from_dict",
]

SCHEMA_VERSION = 1

Speaker = str  # "rep" | "customer" | "unknown" (mono audio, speaker not known)

#: Claim types a flag can carry. ``unspecified``: a competitor was named, no claim recognised.
CLAIM_TYPES = (
    "pricing",
    "feature_gap",
    "integration",
    "performance",
    "security_compliance",
    "support",
    "contract_switching",
    "unspecified",
)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of server events. Subclasses set ``type``."""

    type: ClassVar[str] = "event"
    call_id: str = ""
    seq: int = 0
    ts: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type, "v": SCHEMA_VERSION}
        data.update(dataclasses.asdict(self))
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def stamped(self, *, call_id: str, seq: int, ts: float) -> Event:
        """Copy with the per-call envelope filled in (done once, by the call that emits it)."""
        return dataclasses.replace(self, call_id=call_id, seq=seq, ts=ts)


@dataclass(frozen=True, kw_only=True)
class Ready(Event):
    """Sent once the ``start`` message is accepted: the server is listening for audio."""

    type: ClassVar[str] = "ready"
    encoding: str = "pcm_s16le"
    sample_rate: int = 16000
    channels: int = 1
    speakers: tuple[str, ...] = ("unknown",)
    resumed_from: float = 0.0  # audio seconds already received for this call (reconnect)
    playbook_version: str = ""


@dataclass(frozen=True, kw_only=True)
class Transcript(Event):
    """A partial (``final`` false) or final transcript of one utterance.

    Later partials and the final of the same ``segment_id`` *replace* earlier ones (BUGS S17):
    clients must never append partials.
    """

    type: ClassVar[str] = "transcript"
    segment_id: str
    speaker: Speaker
    start: float
    end: float
    text: str
    final: bool
    #: audio seconds this event is about, up to which the server had received audio when it
    #: emitted it (latency = ts of arrival − the wall time at which that audio was sent)
    audio_received: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Flag(Event):
    """Competitor messaging (or an objection) was detected in a transcript."""

    type: ClassVar[str] = "flag"
    flag_id: str
    kind: Literal["competitor", "objection"] = "competitor"
    competitor: str | None = None  # catalog id, e.g. "algolia"; None for an objection
    competitor_name: str | None = None
    claim_type: str = "unspecified"
    evidence: str = ""  # the words that triggered the flag
    utterance: str = ""  # the transcript text it came from
    speaker: Speaker = "unknown"
    segment_id: str = ""
    start: float = 0.0  # audio time of the triggering words
    end: float = 0.0
    confidence: float = 0.0
    from_partial: bool = False
    #: withdrawn: the final of its utterance did not support what a partial heard; clients drop
    #: the flag and its card (same ``flag_id``, so it replaces the earlier flag)
    retracted: bool = False
    audio_received: float = 0.0


@dataclass(frozen=True)
class Source:
    """Where a suggested reply comes from: playbook file, section, version."""

    playbook: str  # file path relative to the playbooks root
    section: str  # section id
    title: str
    version: str  # content hash (or git commit) of the playbook set
    score: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Suggestion(Event):
    """A suggested reply for the rep, answering one flag. ``partial`` true while LLM text streams."""

    type: ClassVar[str] = "suggestion"
    suggestion_id: str
    flag_id: str
    text: str
    sources: tuple[Source, ...] = ()
    composer: Literal["extractive", "llm"] = "extractive"
    score: float = 0.0
    latency_s: float = 0.0  # from the end of the triggering audio having arrived to emission
    partial: bool = False
    prompt_version: str = ""  # LLM replies: the prompt template that produced it
    audio_received: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Event):
    type: ClassVar[str] = "error"
    code: str
    message: str
    fatal: bool = False


@dataclass(frozen=True, kw_only=True)
class AnnotationAck(Event):
    """The server stored the rep's annotation (sent only after the write committed)."""

    type: ClassVar[str] = "annotation_ack"
    annotation_id: str
    target_id: str
    action: str
    revision: int = 1


@dataclass(frozen=True, kw_only=True)
class Status(Event):
    """Health of the call's pipeline; sent when it changes (degraded on/off, audio shed)."""

    type: ClassVar[str] = "status"
    lag_s: float = 0.0  # audio received − audio transcribed, seconds
    degraded: bool = False  # partials are skipped to keep up
    shed_s: float = 0.0  # audio seconds dropped untranscribed so far in this call


@dataclass(frozen=True, kw_only=True)
class Pong(Event):
    """Answer to the client's application-level ``ping`` (browsers run no websocket keepalive)."""

    type: ClassVar[str] = "pong"


@dataclass(frozen=True, kw_only=True)
class Ended(Event):
    type: ClassVar[str] = "ended"
    reason: str = "stop"
    audio_seconds: float = 0.0
    segments: int = 0
    flags: int = 0
    suggestions: int = 0


_REGISTRY: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (Ready, Transcript, Flag, Suggestion, ErrorEvent, AnnotationAck, Status, Pong,
                Ended)
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of :meth:`Event.to_dict` (unknown keys are ignored, for forward compatibility)."""
    cls = _REGISTRY.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if cls is Suggestion and "sources" in kwargs:
        kwargs["sources"] = tuple(Source(**s) for s in kwargs["sources"])
    if cls is Ready and "speakers" in kwargs:
        kwargs["speakers"] = tuple(kwargs["speakers"])
    return cls(**kwargs)
