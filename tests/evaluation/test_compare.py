"""``copilot eval compare``: directions, tolerances, exit codes."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from copilot.errors import CopilotError
from copilot.evaluation.cli import add_eval_parser, run_eval_command
from copilot.evaluation.compare import (
    DEFAULT_TOLERANCE,
    compare_reports,
    load_report,
    main_compare,
    metric_rule,
    parse_tolerances,
)

BASE = {
    "dataset": "scripted", "mode": "websocket", "speed": 1.0, "n_cases": 12,
    "wer_streaming": 0.12, "wer_offline": 0.10, "flag_precision": 0.9, "flag_recall": 0.8,
    "flag_f1": 0.847, "claim_macro_f1": 0.7, "false_flags_per_hour": 2.0,
    "flag_latency_p50_s": 1.2, "flag_latency_p95_s": 2.0, "suggestion_latency_p95_s": 2.4,
    "retrieval_recall_at_3": 0.9, "retrieval_mrr": 0.8, "rtf": 1.02, "cpu_rtf": 0.3,
    "peak_rss_mb": 900.0, "error_events": 0, "flag_latency_n": 10, "problems": [],
    "claim_f1_per_type": {"pricing": 1.0},
}


def _write(tmp_path: Path, name: str, report: dict) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "report.json").write_text(json.dumps(report))
    return d


def _by_metric(a: dict, b: dict, **tol: float) -> dict:
    return {d.metric: d for d in compare_reports(a, b, tol)}


def test_directions() -> None:
    assert metric_rule("wer_streaming") == (-1, "rate")
    assert metric_rule("flag_f1") == (1, "rate")
    assert metric_rule("retrieval_recall_at_3") == (1, "rate")
    assert metric_rule("suggestion_latency_p95_s") == (-1, "latency")
    assert metric_rule("peak_rss_mb") == (-1, "relative")
    assert metric_rule("false_flags_per_hour") == (-1, "per_hour")
    assert metric_rule("n_cases")[0] == 0 and metric_rule("flag_latency_n")[0] == 0
    assert metric_rule("flag_latency_max_s")[0] == 0


def test_identical_reports_pass(tmp_path: Path) -> None:
    a, b = _write(tmp_path, "a", BASE), _write(tmp_path, "b", BASE)
    out = io.StringIO()
    assert main_compare(str(a), str(b), out=out) == 0
    text = out.getvalue()
    assert "no regression" in text and "REGRESSION" not in text
    # every numeric metric is in the table, non-numeric ones are not
    for key in ("wer_streaming", "rtf", "peak_rss_mb", "flag_latency_p95_s"):
        assert key in text
    assert "claim_f1_per_type" not in text


@pytest.mark.parametrize(("metric", "worse"), [
    ("wer_streaming", 0.12 + 0.05),        # rate: more than 0.02 absolute
    ("flag_recall", 0.8 - 0.1),            # higher is better
    ("flag_latency_p95_s", 2.0 * 1.25),    # latency: more than 10 % relative
    ("peak_rss_mb", 900.0 * 1.2),
    ("false_flags_per_hour", 2.0 + 3.0),
    ("error_events", 1),
])
def test_injected_regression_fails(tmp_path: Path, metric: str, worse: float) -> None:
    a = _write(tmp_path, "a", BASE)
    b = _write(tmp_path, "b", {**BASE, metric: worse})
    out = io.StringIO()
    assert main_compare(str(a), str(b), out=out) == 1
    line = next(ln for ln in out.getvalue().splitlines() if ln.startswith(metric + " "))
    assert "REGRESSION" in line
    assert f"regression(s) beyond tolerance: {metric}" in out.getvalue()


def test_changes_within_tolerance_or_better_pass() -> None:
    b = {**BASE, "wer_streaming": 0.12 + 0.01, "flag_latency_p95_s": 2.0 * 1.05,
         "flag_recall": 1.0, "peak_rss_mb": 500.0}
    d = _by_metric(BASE, b)
    assert not any(x.regression for x in d.values())
    assert d["flag_recall"].improvement and d["peak_rss_mb"].improvement
    assert not d["wer_streaming"].improvement  # worse, only within tolerance
    assert d["wer_streaming"].delta == pytest.approx(0.01)


def test_latency_floor_absorbs_timer_noise_on_tiny_latencies() -> None:
    a = {**BASE, "flag_latency_p50_s": 0.10}
    b = {**BASE, "flag_latency_p50_s": 0.14}  # +40 % but only 0.04 s
    assert not _by_metric(a, b)["flag_latency_p50_s"].regression
    assert _by_metric(a, b, latency_floor_s=0.01)["flag_latency_p50_s"].regression


def test_tolerance_overrides(tmp_path: Path) -> None:
    assert parse_tolerances(["0.05", "relative=0.3", "wer_offline=0.2"]) == {
        "rate": 0.05, "relative": 0.3, "wer_offline": 0.2}
    with pytest.raises(CopilotError):
        parse_tolerances(["rate=abc"])
    with pytest.raises(CopilotError):
        parse_tolerances(["-1"])
    b = {**BASE, "wer_streaming": 0.16}
    assert _by_metric(BASE, b)["wer_streaming"].regression
    assert not _by_metric(BASE, b, rate=0.05)["wer_streaming"].regression
    assert not _by_metric(BASE, b, wer_streaming=0.1)["wer_streaming"].regression
    assert DEFAULT_TOLERANCE["rate"] == 0.02  # documented default in docs/eval.md


def test_missing_or_null_metric_is_shown_not_failed() -> None:
    b = {**BASE, "retrieval_mrr": None}
    b.pop("wer_offline")
    d = _by_metric(BASE, b)
    assert d["retrieval_mrr"].b is None and not d["retrieval_mrr"].regression
    assert d["wer_offline"].delta is None and not d["wer_offline"].regression


def test_setup_difference_is_noted(tmp_path: Path) -> None:
    a = _write(tmp_path, "a", BASE)
    b = _write(tmp_path, "b", {**BASE, "speed": 4.0, "mode": "inprocess"})
    out = io.StringIO()
    main_compare(str(a), str(b), out=out)
    assert "note: speed differs" in out.getvalue() and "note: mode differs" in out.getvalue()


def test_load_report_file_or_dir_and_errors(tmp_path: Path) -> None:
    d = _write(tmp_path, "a", BASE)
    assert load_report(d) == load_report(d / "report.json") == BASE
    with pytest.raises(CopilotError, match="no eval report"):
        load_report(tmp_path / "nowhere")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(CopilotError, match="not an eval report"):
        load_report(tmp_path / "bad.json")


def _cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="copilot")
    sub = p.add_subparsers(dest="command", required=True)
    add_eval_parser(sub)
    return run_eval_command(p.parse_args(argv))


def test_cli_compare_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path, "a", BASE)
    b = _write(tmp_path, "b", {**BASE, "flag_f1": 0.6})
    assert _cli(["eval", "compare", str(a), str(a)]) == 0
    assert _cli(["eval", "compare", str(a), str(b)]) == 1
    assert _cli(["eval", "compare", str(a), str(b), "--tolerance", "flag_f1=0.5"]) == 0
    assert _cli(["eval", "compare", str(a)]) == 2
    assert _cli(["eval", "compare", str(a), str(tmp_path / "none")]) == 2
    assert "no eval report" in capsys.readouterr().err


def test_copilot_cli_routes_eval_compare(tmp_path: Path) -> None:
    from copilot.cli import main

    a = _write(tmp_path, "a", BASE)
    b = _write(tmp_path, "b", {**BASE, "wer_streaming": 0.3})
    assert main(["eval", "compare", str(a), str(a)]) == 0
    assert main(["eval", "compare", str(a), str(b)]) == 1
