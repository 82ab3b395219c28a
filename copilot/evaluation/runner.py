"""``copilot eval``: replay every case of a dataset through the live path and score it.

Two halves, as everywhere in this package:

- pure scoring: :func:`score_case` turns one case plus the events the server sent for it into a
  :class:`CaseResult`; :func:`aggregate` turns all of them into the flat report dict
  (docs/eval.md, "The runner");
- the shell, :func:`run_eval`: one in-process server (port 0, engine loaded once) for the whole
  run; each case is streamed to it with :func:`copilot.replay.replay_samples`, exactly as a live
  client would, then the same Whisper model makes one offline pass over the same audio so the
  streaming WER has its ceiling next to it.

A case that cannot be read (missing or malformed audio) becomes a problem row and the run goes on.
"""

from __future__ import annotations

import asyncio
import math
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from copilot.config import Settings
from copilot.errors import CopilotError
from copilot.evaluation.dataset import Case, Dataset
from copilot.evaluation.metrics import (
    Detection,
    MatchResult,
    claim_type_macro_f1,
    detection_scores,
    false_flags_per_hour,
    latency_summary,
    match_detections,
    mean_reciprocal_rank,
    recall_at_k,
    word_error_rate,
)

__all__ = [
    "MODES",
    "CaseResult",
    "EvalOptions",
    "EvalRun",
    "aggregate",
    "detections_from_events",
    "retracted_flags",
    "offline_transcribe",
    "ranked_sections",
    "run_eval",
    "eval_settings",
    "score_case",
    "select_cases",
    "wire_format",
]

#: ``websocket``: paced at ``speed`` (default 1×, the only speed whose latencies mean what a rep
#: feels); ``inprocess``: the same loopback server and client, default 4× (fast regression runs).
#: Both go through ``replay_samples`` and the real server: there is no second pipeline.
MODES = {"websocket": 1.0, "inprocess": 4.0}
#: rates the wire gets as stored; anything else (44.1 kHz FLAC…) is resampled to 16 kHz first
_NATIVE_RATES = (8000, 16000)
#: latency streams collected by the replay client
_LATENCIES = ("first_partial", "final", "flag", "suggestion", "suggestion_true_flag",
              "suggestion_update")


@dataclass(frozen=True)
class EvalOptions:
    """How to run. ``speed`` None = the mode's default; ``max_seconds`` skips longer cases."""

    mode: str = "websocket"
    speed: float | None = None
    limit: int | None = None
    only: tuple[str, ...] = ()
    max_seconds: float | None = None
    offline: bool = True
    frame_ms: int = 40
    match_window_s: float = 3.0

    @property
    def effective_speed(self) -> float:
        return self.speed if self.speed is not None else MODES[self.mode]


@dataclass
class CaseResult:
    """One row of ``cases.jsonl``: what was measured on one case (or why it was not)."""

    id: str
    status: str  # "ok" | "skipped" | "problem"
    problems: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    offline_seconds: float = 0.0
    channels: int = 1
    speakers: tuple[str, ...] = ("unknown",)
    labelled: bool = False
    wer_pairs: list[tuple[str, str]] = field(default_factory=list)  # (reference, streamed)
    offline_pairs: list[tuple[str, str]] = field(default_factory=list)  # (reference, offline)
    detections: list[Detection] = field(default_factory=list)
    flag_ids: list[str] = field(default_factory=list)
    match: MatchResult | None = None
    #: flags withdrawn by their final; ``retracted_true``: of those, how many matched a label
    #: (a real mention lost) — the rest were false flags on screen for a moment
    retracted: list[Detection] = field(default_factory=list)
    retracted_true: int = 0
    retrieval: list[tuple[list[str], list[str]]] = field(default_factory=list)  # (ranked, expected)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    suggestions: int = 0
    error_events: list[str] = field(default_factory=list)
    mentions: tuple[Any, ...] = ()

    @property
    def wer(self) -> float | None:
        return _wer(self.wer_pairs)

    @property
    def wer_offline(self) -> float | None:
        return _wer(self.offline_pairs)

    def row(self) -> dict[str, Any]:
        """The JSON-able summary (no transcripts: restricted data stays out of result files)."""
        m = self.match
        return {
            "id": self.id, "status": self.status, "problems": self.problems,
            "audio_s": round(self.audio_seconds, 3), "wall_s": round(self.wall_seconds, 3),
            "cpu_s": round(self.cpu_seconds, 3), "offline_s": round(self.offline_seconds, 3),
            "channels": self.channels, "speakers": list(self.speakers),
            "wer_streaming": _round(self.wer), "wer_offline": _round(self.wer_offline),
            "reference_words": sum(len(r.split()) for r, _ in self.wer_pairs),
            "labelled": self.labelled, "mentions": len(self.mentions),
            "flags": len(self.detections), "retracted": len(self.retracted),
            "retracted_true": self.retracted_true,
            "tp": len(m.pairs) if m else None, "fp": len(m.false_positives) if m else None,
            "fn": len(m.false_negatives) if m else None,
            "flagged": [f"{d.competitor or d.kind}/{d.claim_type}@{d.start}" for d in self.detections],
            "suggestions": self.suggestions,
            "latency": {k: [round(v, 3) for v in vs] for k, vs in self.latencies.items()},
            "errors": self.error_events,
        }


@dataclass
class EvalRun:
    """Everything one run produced: per-case results and the flat report."""

    dataset: str
    options: EvalOptions
    cases: list[CaseResult]
    report: dict[str, Any]


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, nd)


def _wer(pairs: Sequence[tuple[str, str]]) -> float | None:
    pairs = [p for p in pairs if p[0].strip()]
    if not pairs:
        return None
    refs, hyps = zip(*pairs, strict=True)
    return word_error_rate(list(refs), list(hyps)).wer


# --------------------------------------------------------------------------- pure scoring


def wire_format(case: Case) -> tuple[int, int, list[str] | None]:
    """``(sample_rate, channels, speakers)`` to declare for a case on the wire.

    Cases with named speakers per channel go as that many channels (the server transcribes each
    separately); ``("unknown",)`` cases are mixed to mono. Telephone (8 kHz) and 16 kHz audio is
    sent as stored, other rates are resampled to 16 kHz.
    """
    named = case.channels > 1 and len(case.speakers) == case.channels and "unknown" not in case.speakers
    channels = case.channels if named else 1
    rate = case.sample_rate if case.sample_rate in _NATIVE_RATES else 16000
    return rate, channels, list(case.speakers) if named else None


def detections_from_events(events: Iterable[dict[str, Any]]) -> tuple[list[Detection], list[str]]:
    """The call's flags as :class:`Detection` records, plus their ``flag_id`` s (same order).

    A flag re-sent with the same ``flag_id`` replaces the earlier one (docs/protocol.md: the
    final refines a partial's claim type), so only the last version of each is scored; a flag
    whose last version is ``retracted`` is not a detection (:func:`retracted_flags` counts them).
    """
    latest = _latest_flags(events)
    kept = {fid: e for fid, e in latest.items() if not e.get("retracted")}
    return [_detection(e) for e in kept.values()], list(kept)


def retracted_flags(events: Iterable[dict[str, Any]]) -> list[Detection]:
    """Flags shown on a partial and withdrawn by the final, as they were shown."""
    return [_detection(e) for e in _latest_flags(events).values() if e.get("retracted")]


def _latest_flags(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("type") == "flag":
            latest[e["flag_id"]] = e  # dict keeps first-insertion order, value is the newest
    return latest


def _detection(e: dict[str, Any]) -> Detection:
    return Detection(competitor=e.get("competitor"), claim_type=e.get("claim_type", "unspecified"),
                     start=e.get("start"), end=e.get("end"), speaker=e.get("speaker", "unknown"),
                     kind=e.get("kind", "competitor"))


def ranked_sections(events: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """flag_id → the section ids of the last suggestion for it, in source order (rank 1 first).

    Sources carry ``section`` (a set-wide id such as ``algolia/pricing``); a bare anchor is
    prefixed with its ``playbook`` so both spellings compare with ``expected_sections``.
    """
    out: dict[str, list[str]] = {}
    for e in events:
        if e.get("type") != "suggestion" or not e.get("flag_id"):
            continue
        ids = []
        for s in e.get("sources", []):
            sid = str(s.get("section", ""))
            if "/" not in sid and s.get("playbook"):
                sid = f"{s['playbook']}/{sid}"
            ids.append(sid)
        out[e["flag_id"]] = ids
    return out


def score_case(case: Case, events: Sequence[dict[str, Any]], *, streamed: dict[str, str],
               offline: dict[str, str] | None, window: float = 3.0) -> CaseResult:
    """Score one replayed case (pure).

    Args:
        case: the labelled case.
        events: the server's events for it, as on the wire.
        streamed: speaker → streamed transcript (``"*"`` for the whole call when mono).
        offline: the same for the offline pass, or None when it was not run.
        window: flag/label time tolerance for matching, seconds.
    """
    res = CaseResult(id=case.id, status="ok", channels=case.channels, speakers=case.speakers,
                     labelled=case.mentions_labelled, mentions=case.mentions)
    for key, hyp in streamed.items():
        ref = case.reference if key == "*" else case.reference_for(key)
        if ref.strip():
            res.wer_pairs.append((ref, hyp))
            if offline is not None:
                res.offline_pairs.append((ref, offline.get(key, "")))
    res.detections, res.flag_ids = detections_from_events(events)
    res.retracted = retracted_flags(events)
    res.suggestions = sum(1 for e in events if e.get("type") == "suggestion")
    res.error_events = [f"{e.get('code')}: {e.get('message')}" for e in events if e.get("type") == "error"]
    if case.mentions_labelled:
        res.match = match_detections(res.detections, case.mentions, window=window)
        if res.retracted:
            # against the labels the kept flags left unmatched
            missed = [case.mentions[gi] for gi in res.match.false_negatives]
            res.retracted_true = len(match_detections(res.retracted, missed, window=window).pairs)
        ranked = ranked_sections(events)
        for pi, gi in res.match.pairs:
            expected = list(case.mentions[gi].expected_sections)
            if expected:
                res.retrieval.append((ranked.get(res.flag_ids[pi], []), expected))
    return res


def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)  # macOS reports bytes


def aggregate(results: Sequence[CaseResult], *, dataset: str, options: EvalOptions,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flat ``report.json`` dict over all scored cases (pure but for the clock/machine keys).

    Conventions: WER is corpus level (errors summed over cases); detection scores are micro over
    labelled cases; latencies are pooled over cases; ``rtf`` = replay wall time / audio time (so
    it cannot go below 1/speed), ``cpu_rtf`` = process CPU time / audio time (the compute cost,
    meaningful at any speed); ``offline_rtf`` the same for the offline pass.
    """
    ok = [r for r in results if r.status == "ok"]
    labelled = [r for r in ok if r.labelled and r.match is not None]
    audio = sum(r.audio_seconds for r in ok)
    labelled_audio = sum(r.audio_seconds for r in labelled)
    clean = [r for r in labelled if not r.mentions]
    clean_audio = sum(r.audio_seconds for r in clean)
    scores = detection_scores(r.match for r in labelled if r.match)
    macro, per_type = claim_type_macro_f1(
        (r.detections, r.mentions, r.match) for r in labelled if r.match)
    has_mentions = scores.tp + scores.fn > 0
    has_claims = any(m.competitor for r in labelled for m in r.mentions)
    ranked = [rk for r in labelled for rk, _ in r.retrieval]
    relevant = [set(ex) for r in labelled for _, ex in r.retrieval]
    lat = {k: latency_summary(v for r in ok for v in r.latencies.get(k, [])) for k in _LATENCIES}
    wer_s = _wer([p for r in ok for p in r.wer_pairs])
    wer_o = _wer([p for r in ok for p in r.offline_pairs]) if options.offline else None
    report: dict[str, Any] = {
        "dataset": dataset,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()} {platform.system()}, {_cpus()} CPU, no GPU used",
        "python": platform.python_version(),
        "mode": options.mode,
        "speed": options.effective_speed,
        "n_cases": len(results),
        "n_scored": len(ok),
        "n_problems": sum(1 for r in results if r.status == "problem"),
        "n_skipped": sum(1 for r in results if r.status == "skipped"),
        "n_labelled": len(labelled),
        "audio_seconds": round(audio, 2),
        "wer_streaming": _round(wer_s),
        "wer_offline": _round(wer_o),
        "reference_words": sum(len(ref.split()) for r in ok for ref, _ in r.wer_pairs),
        # with no labelled mention, P/R/F1 are artefacts of the empty-denominator conventions
        # (recall 1.0, F1 0.0 after one false flag): report null; false flags per hour says it
        "flag_precision": _round(scores.precision) if has_mentions else None,
        "flag_recall": _round(scores.recall) if has_mentions else None,
        "flag_f1": _round(scores.f1) if has_mentions else None,
        "flag_tp": scores.tp, "flag_fp": scores.fp, "flag_fn": scores.fn,
        # withdrawn by their finals: not scored above, but a false one was on screen a moment
        "flags_retracted": sum(len(r.retracted) for r in labelled),
        "flags_retracted_true": sum(r.retracted_true for r in labelled),
        # None, not 0, when no competitor claim was labelled: nothing to score
        "claim_macro_f1": _round(macro) if per_type and has_claims else None,
        "false_flags_per_hour": _round(false_flags_per_hour(
            sum(len(r.match.false_positives) for r in clean if r.match), clean_audio))
        if clean_audio > 0 else None,
        "false_flags_per_hour_all": _round(false_flags_per_hour(scores.fp, labelled_audio))
        if labelled_audio > 0 else None,
        "retrieval_queries": len(ranked),
        "retrieval_recall_at_1": _round(recall_at_k(ranked, relevant, 1)) if ranked else None,
        "retrieval_recall_at_3": _round(recall_at_k(ranked, relevant, 3)) if ranked else None,
        "retrieval_mrr": _round(mean_reciprocal_rank(ranked, relevant)) if ranked else None,
        "suggestions_per_minute": _round(sum(r.suggestions for r in ok) / (audio / 60))
        if audio > 0 else None,
        "rtf": _round(sum(r.wall_seconds for r in ok) / audio) if audio > 0 else None,
        "cpu_rtf": _round(sum(r.cpu_seconds for r in ok) / audio) if audio > 0 else None,
        "offline_rtf": _round(sum(r.offline_seconds for r in ok) / audio)
        if audio > 0 and options.offline else None,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "error_events": sum(len(r.error_events) for r in ok),
    }
    for name, summary in lat.items():
        report[f"{name}_latency_n"] = summary["n"]
        for stat in ("p50", "p95", "max"):
            report[f"{name}_latency_{stat}_s"] = _round(summary[stat], 3)
    report["claim_f1_per_type"] = {c: _round(s.f1) for c, s in per_type.items()}
    report["problems"] = [f"{r.id}: {p}" for r in results for p in r.problems]
    report.update(extra or {})
    return report


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --------------------------------------------------------------------------- shell


def offline_transcribe(model: Any, audio16k: np.ndarray, beam_size: int) -> str:
    """One offline pass: faster-whisper's long-form ``WhisperModel.transcribe`` (30 s windows,
    conditioned on previous text, no VAD, no hotword prompt) over mono 16 kHz audio."""
    if len(audio16k) == 0:
        return ""
    segments, _ = model.transcribe(audio16k, beam_size=beam_size, language="en", vad_filter=False)
    return " ".join(s.text.strip() for s in segments if s.text.strip())


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _run_case(case: Case, url: str, options: EvalOptions, offline_model: Any,
                    beam_size: int) -> CaseResult:
    from copilot.audio.files import read_audio
    from copilot.replay import replay_samples

    rate, channels, speakers = wire_format(case)
    samples = await asyncio.to_thread(read_audio, case.audio, rate, channels)
    if len(samples) == 0:
        raise CopilotError(f"no audio samples in {case.audio}")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    replay = await replay_samples(samples, url, sample_rate=rate, speakers=speakers,
                                  speed=options.effective_speed, frame_ms=options.frame_ms,
                                  call_id=f"eval-{case.id}"[:128])
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    keys = speakers or ["*"]
    streamed = {k: replay.transcript(None if k == "*" else k) for k in keys}
    offline: dict[str, str] | None = None
    offline_s = 0.0
    if offline_model is not None:
        audio16 = samples if rate == 16000 else await asyncio.to_thread(read_audio, case.audio, 16000,
                                                                        channels)
        t1 = time.perf_counter()
        offline = {}
        for i, k in enumerate(keys):
            offline[k] = await asyncio.to_thread(offline_transcribe, offline_model,
                                                 np.ascontiguousarray(audio16[:, i]), beam_size)
        offline_s = time.perf_counter() - t1
    res = score_case(case, replay.events, streamed=streamed, offline=offline,
                     window=options.match_window_s)
    res.audio_seconds = len(samples) / rate
    res.wall_seconds, res.cpu_seconds, res.offline_seconds = wall, cpu, offline_s
    res.latencies = {k: list(v) for k, v in replay.latencies.items()}
    if res.match is not None:
        # first cards of flags that matched a labelled mention: the latency "from the end of
        # the triggering words" exists only where words triggered it (cards of false or
        # retracted flags stay in ``suggestion``)
        res.latencies["suggestion_true_flag"] = [
            replay.first_card_s[res.flag_ids[pi]] for pi, _ in res.match.pairs
            if res.flag_ids[pi] in replay.first_card_s]
    return res


def select_cases(dataset: Dataset, options: EvalOptions) -> tuple[list[Case], list[CaseResult]]:
    """Cases to run, plus rows for those skipped (``--max-seconds``, text-only)."""
    cases = [c for c in dataset if not options.only or c.id in options.only]
    if options.limit is not None:
        cases = cases[: options.limit]
    run: list[Case] = []
    skipped: list[CaseResult] = []
    for c in cases:
        if c.audio is None:
            skipped.append(CaseResult(c.id, "skipped", ["text-only case (no audio)"]))
        elif options.max_seconds is not None and (c.duration or 0) > options.max_seconds:
            skipped.append(CaseResult(c.id, "skipped", [
                f"{c.duration:.0f} s is longer than --max-seconds {options.max_seconds:g}"]))
        else:
            run.append(c)
    return run, skipped


def eval_settings(settings: Settings, store_dir: Path) -> Settings:
    """The run's settings: events go to a throw-away store, the playbook index stays cached."""
    index_dir = settings.retrieval.index_dir or str(Path(settings.store.path).parent / "index")
    return settings.model_copy(update={
        "store": settings.store.model_copy(update={"path": str(store_dir / "events.sqlite3")}),
        "retrieval": settings.retrieval.model_copy(update={"index_dir": index_dir}),
    })


async def run_eval(dataset: Dataset, settings: Settings, options: EvalOptions,
                   progress: Callable[[CaseResult], None] | None = None,
                   engine: Any = None) -> EvalRun:
    """Replay the dataset's cases through one in-process server and score them.

    Args:
        dataset: loaded with :func:`copilot.evaluation.load_dataset`; its ``problems`` become
            problem rows.
        settings: server settings (playbooks, ASR options); the event store is redirected to a
            temporary folder so eval calls never mix with real ones.
        options: see :class:`EvalOptions`.
        progress: called after each case (the CLI drives a progress bar with it).
        engine: an already loaded :class:`copilot.engine.Engine` to serve with (tests share
            one per session); None loads one from ``settings``.

    Raises:
        CopilotError: the engine cannot load (models, playbooks).
    """
    from websockets.exceptions import WebSocketException

    from copilot.server import running_server

    if options.mode not in MODES:
        raise CopilotError(f"unknown mode {options.mode!r} (one of {', '.join(MODES)})")
    cases, results = select_cases(dataset, options)
    results += [CaseResult(p.case_id or "?", "problem", [str(p)]) for p in dataset.problems]
    with tempfile.TemporaryDirectory(prefix="copilot-eval-") as tmp:
        async with running_server(eval_settings(settings, Path(tmp)), "127.0.0.1", 0,
                                  engine=engine) as server:
            engine = server.engine
            load_s = dict(engine.load_seconds)
            offline_model = None
            if options.offline:
                from faster_whisper import WhisperModel

                a = engine.settings.asr
                offline_model = await asyncio.to_thread(
                    WhisperModel, engine.decoder.model_path, device="cpu",
                    compute_type=a.compute_type, cpu_threads=a.cpu_threads)
            url = f"ws://127.0.0.1:{server.port}"
            for case in cases:
                try:
                    res = await _run_case(case, url, options, offline_model, engine.settings.asr.beam_size)
                except (CopilotError, OSError, ValueError, WebSocketException) as exc:
                    # one case's failure (bad audio, a dropped connection) must not end the run
                    msg = getattr(exc, "message", None) or str(exc)
                    res = CaseResult(case.id, "problem", [f"{type(exc).__name__}: {msg}"])
                res.problems += [f"note: {n}" for n in case.notes]
                results.append(res)
                if progress:
                    progress(res)
            model_path = engine.decoder.model_path
    extra = {"model": "/".join(Path(model_path).parts[-2:]),
             "load_seconds": {k: round(v, 2) for k, v in load_s.items()},
             "offline_method": "faster_whisper.WhisperModel.transcribe (same model, no VAD, no prompt)"
             if options.offline else None}
    report = aggregate(results, dataset=dataset.name, options=options, extra=extra)
    return EvalRun(dataset.name, options, results, report)
