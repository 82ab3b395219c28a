"""Write an eval run to disk: ``report.json``, ``report.md``, ``cases.jsonl`` and PNG plots.

No transcripts are written (restricted data sets may only be read at run time, DESIGN §5); the
per-case rows carry counts, scores and flag summaries.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from copilot.evaluation.runner import CaseResult, EvalRun

__all__ = ["PLOTS", "render_markdown", "write_outputs"]

#: plot files written next to the report
PLOTS = ("latency_hist.png", "wer_per_case.png")

_HEADLINE = (
    ("ASR", ("wer_streaming", "wer_offline", "reference_words")),
    ("Detection", ("flag_precision", "flag_recall", "flag_f1", "flag_tp", "flag_fp", "flag_fn",
                   "flags_retracted", "flags_retracted_true", "claim_macro_f1",
                   "false_flags_per_hour", "false_flags_per_hour_all")),
    ("Retrieval", ("retrieval_queries", "retrieval_recall_at_1", "retrieval_recall_at_3",
                   "retrieval_mrr", "suggestions_per_minute")),
    ("Latency (s)", ("first_partial_latency_p50_s", "first_partial_latency_p95_s",
                     "final_latency_p50_s", "final_latency_p95_s", "flag_latency_p50_s",
                     "flag_latency_p95_s", "suggestion_latency_p50_s", "suggestion_latency_p95_s",
                     "suggestion_true_flag_latency_p95_s", "suggestion_update_latency_p95_s")),
    ("Cost", ("rtf", "cpu_rtf", "offline_rtf", "peak_rss_mb", "audio_seconds")),
)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def render_markdown(run: EvalRun) -> str:
    """A readable report: run facts, headline tables, then one row per case."""
    r = run.report
    lines = [
        f"# Eval: {r['dataset']}",
        "",
        f"{r['date']} · {r['machine']} · model `{r.get('model')}` · mode `{r['mode']}` at "
        f"speed {r['speed']:g}× · {r['n_scored']} of {r['n_cases']} cases scored "
        f"({r['n_problems']} problems, {r['n_skipped']} skipped), {r['audio_seconds']:.0f} s audio",
        "",
    ]
    if r["speed"] != 1:
        lines += ["> Latencies were measured at speed "
                  f"{r['speed']:g}×: only speed-1 latencies are what a rep would feel.", ""]
    for title, keys in _HEADLINE:
        lines += [f"## {title}", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(r.get(k))} |" for k in keys]
        lines.append("")
    if r.get("claim_f1_per_type"):
        lines += ["Claim-type F1: " + ", ".join(
            f"{k} {_fmt(v)}" for k, v in r["claim_f1_per_type"].items()), ""]
    lines += ["## Cases", "",
              "| case | status | audio s | WER stream | WER offline | mentions | flags | tp | fp | fn "
              "| sugg | flag lat p50 |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in run.cases:
        row = c.row()
        lat = row["latency"].get("flag") or []
        p50 = sorted(lat)[len(lat) // 2] if lat else None
        lines.append(
            f"| {c.id} | {c.status} | {row['audio_s']:.1f} | {_fmt(row['wer_streaming'])} | "
            f"{_fmt(row['wer_offline'])} | {row['mentions']} | {row['flags']} | {_fmt(row['tp'])} | "
            f"{_fmt(row['fp'])} | {_fmt(row['fn'])} | {row['suggestions']} | {_fmt(p50)} |")
    problems = [f"- {c.id}: {p}" for c in run.cases for p in c.problems]
    if problems:
        lines += ["", "## Problems and notes", "", *problems]
    return "\n".join(lines) + "\n"


def _plots(run: EvalRun, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    ok = [c for c in run.cases if c.status == "ok"]
    written = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ("final", "flag", "suggestion"):
        vals = [v for c in ok for v in c.latencies.get(name, [])]
        if vals:
            ax.hist(vals, bins=20, alpha=0.55, label=f"{name} (n={len(vals)})")
    ax.set_xlabel("latency, s (audio sent → event received)")
    ax.set_ylabel("events")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{run.dataset}: latency at speed {run.options.effective_speed:g}×")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / PLOTS[0], dpi=100)
    plt.close(fig)
    written.append(PLOTS[0])

    scored = [c for c in ok if c.wer is not None]
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(scored) + 2), 4.5))
    xs = range(len(scored))
    stream = [c.wer or 0.0 for c in scored]
    offline = [c.wer_offline or 0.0 for c in scored]
    for shift, vals, label in ((-0.2, stream, "streaming"), (0.2, offline, "offline")):
        bars = ax.bar([x + shift for x in xs], vals, width=0.4, label=label)
        # the value on each bar: a WER of 0 is otherwise an invisible bar
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in vals], fontsize=7, padding=1)
    ax.set_ylim(0, max([0.1, *stream, *offline]) * 1.2)
    ax.set_xticks(list(xs), [c.id for c in scored], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("WER")
    ax.set_title(f"{run.dataset}: WER per case")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / PLOTS[1], dpi=100)
    plt.close(fig)
    written.append(PLOTS[1])
    return written


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no NaN/inf; null reads as "not measured"
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def write_outputs(run: EvalRun, out: str | Path) -> dict[str, Path]:
    """Write the run into ``out`` (created). Returns name → path of each file written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report.json": out / "report.json", "report.md": out / "report.md",
             "cases.jsonl": out / "cases.jsonl"}
    paths["report.json"].write_text(json.dumps(_jsonable(run.report), indent=1) + "\n", encoding="utf-8")
    paths["report.md"].write_text(render_markdown(run), encoding="utf-8")
    rows: list[CaseResult] = run.cases
    paths["cases.jsonl"].write_text(
        "".join(json.dumps(_jsonable(c.row()), ensure_ascii=False) + "\n" for c in rows),
        encoding="utf-8")
    for name in _plots(run, out):
        paths[name] = out / name
    return paths
