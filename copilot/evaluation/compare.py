"""``copilot eval compare A B``: metric-by-metric deltas between two eval reports.

Each numeric metric of ``report.json`` has a direction (WER, latency, RTF, RSS, false flags:
lower is better; precision, recall, F1, MRR: higher is better; counts and facts: informational)
and a tolerance kind. B regresses on a metric when it is worse than A by more than the
tolerance. Defaults (:data:`DEFAULT_TOLERANCE`):

- ``rate`` 0.02 absolute: WER, precision/recall/F1, claim macro-F1, retrieval recall/MRR;
- ``relative`` 0.10 (10 %) of A: latency percentiles, RTFs, peak RSS; a latency must also
  worsen by at least ``latency_floor_s`` (0.05 s) so that timer noise on a busy machine does
  not fail a run;
- ``per_hour`` 1.0 absolute: false flags per hour (one false flag in a 30-min set is 2/h);
- ``count`` 0 absolute: error events.

A metric missing or null on either side is shown and never a regression; latency maxima
(``*_max_s``, one sample each) are shown but informational.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from copilot.errors import CopilotError

__all__ = [
    "DEFAULT_TOLERANCE",
    "Delta",
    "compare_reports",
    "format_table",
    "load_report",
    "main_compare",
    "metric_rule",
    "parse_tolerances",
]

DEFAULT_TOLERANCE: dict[str, float] = {
    "rate": 0.02, "relative": 0.10, "latency_floor_s": 0.05, "per_hour": 1.0, "count": 0.0,
}
#: keys that describe the run rather than measure it
_FACTS = {"n_cases", "n_scored", "n_problems", "n_skipped", "n_labelled", "audio_seconds", "speed",
          "reference_words", "retrieval_queries", "flag_tp", "flag_fp", "flag_fn",
          "flags_retracted", "flags_retracted_true", "suggestions_per_minute", "python"}


@dataclass(frozen=True)
class Delta:
    """One metric of the comparison. ``direction``: -1 lower is better, +1 higher, 0 info."""

    metric: str
    a: float | None
    b: float | None
    direction: int
    kind: str
    regression: bool
    improvement: bool

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


def metric_rule(name: str) -> tuple[int, str]:
    """``(direction, tolerance kind)`` for a report key (kind ``info`` for facts and counts)."""
    # a maximum is one sample: too noisy to gate on, shown for information
    if name in _FACTS or name.endswith(("_latency_n", "_max_s")) or name.startswith("n_"):
        return 0, "info"
    if name.startswith("wer"):
        return -1, "rate"
    if name.startswith("false_flags_per_hour"):
        return -1, "per_hour"
    if "latency" in name:
        return -1, "latency"
    if name.endswith("rtf") or name == "peak_rss_mb":
        return -1, "relative"
    if name == "error_events":
        return -1, "count"
    if any(t in name for t in ("precision", "recall", "f1", "mrr")):
        return 1, "rate"
    return 0, "info"


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return None if math.isnan(x) else float(x)


def _is_regression(a: float, b: float, direction: int, kind: str, metric: str,
                   tol: Mapping[str, float]) -> bool:
    worse = (b - a) * -direction  # > 0 when B is worse
    if direction == 0 or worse <= 0:
        return False
    if metric in tol:
        return worse > tol[metric]
    if kind == "rate":
        return worse > tol["rate"]
    if kind == "per_hour":
        return worse > tol["per_hour"]
    if kind == "count":
        return worse > tol["count"]
    allowed = tol["relative"] * abs(a)
    if kind == "latency":
        allowed = max(allowed, tol["latency_floor_s"])
    return worse > allowed


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any],
                    tolerance: Mapping[str, float] | None = None) -> list[Delta]:
    """Every numeric top-level metric present in A or B, in A's key order then B's extras."""
    tol = {**DEFAULT_TOLERANCE, **(tolerance or {})}
    keys = [k for k in a if _num(a[k]) is not None or _num(b.get(k)) is not None]
    keys += [k for k in b if k not in a and _num(b[k]) is not None]
    out = []
    for k in keys:
        va, vb = _num(a.get(k)), _num(b.get(k))
        direction, kind = metric_rule(k)
        both = va is not None and vb is not None
        reg = both and _is_regression(va, vb, direction, kind, k, tol)  # type: ignore[arg-type]
        better = both and direction != 0 and (vb - va) * direction > 0 and not reg  # type: ignore[operator]
        out.append(Delta(k, va, vb, direction, kind, bool(reg), bool(better)))
    return out


def load_report(path: str | Path) -> dict[str, Any]:
    """A ``report.json`` (or a folder holding one).

    Raises:
        CopilotError: missing or not a JSON object.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CopilotError(f"no eval report at {p}") from None
    except json.JSONDecodeError as exc:
        raise CopilotError(f"{p} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CopilotError(f"{p} is not an eval report (expected a JSON object)")
    return data


def parse_tolerances(items: Sequence[str]) -> dict[str, float]:
    """``["rate=0.05", "relative=0.2", "wer_offline=0.1", "0.03"]`` → overrides (bare = rate).

    Raises:
        CopilotError: a value that is not a non-negative number.
    """
    out: dict[str, float] = {}
    for item in items:
        key, _, value = item.rpartition("=")
        try:
            v = float(value)
        except ValueError:
            raise CopilotError(f"bad --tolerance {item!r}: expected [METRIC=]NUMBER") from None
        if v < 0 or math.isnan(v):
            raise CopilotError(f"bad --tolerance {item!r}: must be >= 0")
        out[key or "rate"] = v
    return out


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


def format_table(deltas: Sequence[Delta], a_name: str = "A", b_name: str = "B") -> str:
    """A plain-text table: metric, A, B, delta, better-direction and verdict."""
    arrow = {-1: "lower", 1: "higher", 0: ""}
    rows = [("metric", a_name, b_name, "delta", "better", "")]
    for d in deltas:
        verdict = "REGRESSION" if d.regression else ("better" if d.improvement else "")
        delta = "–" if d.delta is None else f"{d.delta:+.4g}"
        rows.append((d.metric, _f(d.a), _f(d.b), delta, arrow[d.direction], verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows) + "\n"


def main_compare(a_path: str, b_path: str, tolerance_args: Sequence[str] = (),
                 out: TextIO = sys.stdout) -> int:
    """Print the comparison of two reports; 1 if B regresses beyond tolerance, else 0."""
    a, b = load_report(a_path), load_report(b_path)
    tol = parse_tolerances(tolerance_args)
    for key in ("dataset", "mode", "speed", "model"):
        if a.get(key) != b.get(key):
            out.write(f"note: {key} differs ({a.get(key)!r} vs {b.get(key)!r}); "
                      "deltas may reflect the setup, not the code\n")
    deltas = compare_reports(a, b, tol)
    out.write(format_table(deltas, Path(a_path).name or "A", Path(b_path).name or "B"))
    bad = [d.metric for d in deltas if d.regression]
    if bad:
        out.write(f"{len(bad)} regression(s) beyond tolerance: {', '.join(bad)}\n")
        return 1
    out.write("no regression beyond tolerance\n")
    return 0
