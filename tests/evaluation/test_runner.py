"""The eval runner: pure scoring on hand-made events, then one tiny end-to-end run.

The end-to-end run replays the committed acceptance call (two labelled competitor mentions) and,
where ../shared/data exists, JFK, plus one case with a corrupt audio file, through the real
server with the session's engine, at 4x to keep it short on 2 shared cores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from copilot.evaluation.dataset import Case, LabelledMention, load_dataset
from copilot.evaluation.metrics import Detection
from copilot.evaluation.runner import (
    CaseResult,
    EvalOptions,
    aggregate,
    detections_from_events,
    ranked_sections,
    retracted_flags,
    run_eval,
    score_case,
    select_cases,
    wire_format,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = (REPO_ROOT / "../shared/data").resolve()
SALES_LABEL = REPO_ROOT / "tests/fixtures/audio/sales_call_two_competitors.json"

REQUIRED_KEYS = (
    "wer_streaming", "wer_offline", "flag_precision", "flag_recall", "flag_f1", "claim_macro_f1",
    "false_flags_per_hour", "flag_latency_p50_s", "flag_latency_p95_s", "suggestion_latency_p95_s",
    "retrieval_recall_at_3", "retrieval_mrr", "rtf", "peak_rss_mb", "speed", "mode", "n_cases",
    "date", "machine",
)


def _case(**kw) -> Case:  # noqa: ANN003
    base = dict(id="c", audio=Path("/x.wav"), sample_rate=16000, channels=1, speakers=("unknown",),
                turns=(), mentions=(), mentions_labelled=True, duration=60.0)
    return Case(**{**base, **kw})


def _flag(fid: str, comp: str | None, claim: str, start: float, end: float, **kw) -> dict:  # noqa: ANN003
    return {"type": "flag", "flag_id": fid, "competitor": comp, "claim_type": claim,
            "start": start, "end": end, "speaker": "customer", "kind": "competitor", **kw}


# --------------------------------------------------------------------------- pure parts


def test_wire_format_follows_declared_layout() -> None:
    stereo = _case(channels=2, speakers=("rep", "customer"))
    assert wire_format(stereo) == (16000, 2, ["rep", "customer"])
    # 2 channels without named speakers are mixed down; 44.1 kHz is resampled to 16 kHz
    assert wire_format(_case(channels=2, sample_rate=44100)) == (16000, 1, None)
    assert wire_format(_case(sample_rate=8000)) == (8000, 1, None)


def test_flags_resent_with_same_id_count_once_with_latest_claim() -> None:
    events = [_flag("f1", "algolia", "unspecified", 1.0, 1.5, from_partial=True),
              {"type": "transcript", "final": True},
              _flag("f1", "algolia", "pricing", 1.0, 1.6),
              _flag("f2", "typesense", "feature_gap", 9.0, 9.5)]
    dets, ids = detections_from_events(events)
    assert ids == ["f1", "f2"]
    assert [d.claim_type for d in dets] == ["pricing", "feature_gap"]
    assert dets[0].end == 1.6


def test_retracted_flags_are_not_scored_but_counted() -> None:
    events = [_flag("f1", "algolia", "unspecified", 1.0, 1.5, from_partial=True),
              _flag("f1", "algolia", "unspecified", 1.0, 1.5, retracted=True),
              _flag("f2", "typesense", "feature_gap", 9.0, 9.5)]
    dets, ids = detections_from_events(events)
    assert ids == ["f2"] and [d.competitor for d in dets] == ["typesense"]
    assert [d.competitor for d in retracted_flags(events)] == ["algolia"]


def test_ranked_sections_keeps_last_suggestion_and_qualifies_bare_anchors() -> None:
    events = [
        {"type": "suggestion", "flag_id": "f1", "sources": [{"playbook": "algolia", "section": "x"}]},
        {"type": "suggestion", "flag_id": "f1",
         "sources": [{"playbook": "algolia", "section": "algolia/pricing"},
                     {"playbook": "algolia", "section": "overview"}]},
    ]
    assert ranked_sections(events) == {"f1": ["algolia/pricing", "algolia/overview"]}


def test_score_case_matches_flags_and_scores_retrieval() -> None:
    from copilot.evaluation.adapters import Turn

    mentions = (
        LabelledMention("algolia", "pricing", "customer", 10.0, 10.5,
                        expected_sections=("algolia/pricing",)),
        LabelledMention("typesense", "feature_gap", "customer", 30.0, 30.4,
                        expected_sections=("typesense/feature-gaps",)),
    )
    case = _case(mentions=mentions, turns=(Turn("customer", "algolia is cheaper", 9.0, 11.0),))
    events = [
        _flag("f1", "algolia", "pricing", 10.1, 10.6),
        {"type": "suggestion", "flag_id": "f1",
         "sources": [{"playbook": "algolia", "section": "algolia/overview"},
                     {"playbook": "algolia", "section": "algolia/pricing"}]},
        _flag("f2", "mongodb", "pricing", 50.0, 50.5),  # nothing labelled there
    ]
    res = score_case(case, events, streamed={"*": "algolia is cheaper"}, offline={"*": "algolia is"})
    assert res.match is not None
    assert res.match.pairs == ((0, 0),)
    assert res.match.false_positives == (1,) and res.match.false_negatives == (1,)
    assert res.retrieval == [(["algolia/overview", "algolia/pricing"], ["algolia/pricing"])]
    assert res.wer == 0.0
    assert res.wer_offline == pytest.approx(1 / 3)
    assert res.suggestions == 1
    # a retracted flag on the missed Typesense mention: a real mention the final lost
    res2 = score_case(case, [*events, _flag("f3", "typesense", "unspecified", 30.0, 30.3,
                                            retracted=True)],
                      streamed={"*": ""}, offline=None)
    assert res2.match is not None and res2.match.false_negatives == (1,)
    assert len(res2.retracted) == 1 and res2.retracted_true == 1
    assert res2.row()["retracted"] == 1


def test_aggregate_pools_cases() -> None:
    opts = EvalOptions(mode="inprocess")
    hit = score_case(
        _case(id="a", mentions=(LabelledMention("algolia", "pricing", start=5.0, end=5.5,
                                                expected_sections=("algolia/pricing",)),)),
        [_flag("f1", "algolia", "pricing", 5.0, 5.4),
         {"type": "suggestion", "flag_id": "f1", "sources": [{"section": "algolia/x"},
                                                            {"section": "algolia/pricing"}]}],
        streamed={"*": ""}, offline=None)
    clean = score_case(_case(id="b"), [_flag("g", "algolia", "pricing", 3.0, 3.5)],
                       streamed={"*": ""}, offline=None)
    for r, audio in ((hit, 600.0), (clean, 1800.0)):
        r.audio_seconds, r.wall_seconds, r.cpu_seconds = audio, audio / 4, audio / 10
        r.latencies = {"flag": [0.5, 1.5]}
    report = aggregate([hit, clean, CaseResult("bad", "problem", ["broken"])],
                       dataset="t", options=opts)
    assert report["speed"] == 4.0 and report["n_cases"] == 3 and report["n_scored"] == 2
    assert report["flag_tp"] == 1 and report["flag_fp"] == 1
    assert report["flag_precision"] == 0.5 and report["flag_recall"] == 1.0
    # false flags per hour only over cases with nothing labelled: 1 in 30 min
    assert report["false_flags_per_hour"] == pytest.approx(2.0)
    assert report["retrieval_recall_at_1"] == 0.0 and report["retrieval_recall_at_3"] == 1.0
    assert report["retrieval_mrr"] == pytest.approx(0.5)
    assert report["rtf"] == pytest.approx(0.25) and report["cpu_rtf"] == pytest.approx(0.1)
    assert report["flag_latency_p50_s"] == pytest.approx(1.0)
    assert report["problems"] == ["bad: broken"]
    assert report["peak_rss_mb"] > 10


def test_select_cases_skips_long_and_filters() -> None:
    from copilot.evaluation.dataset import Dataset

    ds = Dataset("d", Path("m.json"), (_case(id="short", duration=20.0),
                                       _case(id="long", duration=700.0),
                                       _case(id="text", audio=None)))
    run, skipped = select_cases(ds, EvalOptions(max_seconds=300))
    assert [c.id for c in run] == ["short"]
    assert {r.id: r.status for r in skipped} == {"long": "skipped", "text": "skipped"}
    run, _ = select_cases(ds, EvalOptions(only=("long",)))
    assert [c.id for c in run] == ["long"]


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="session")
def e2e_run(engine, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    """One eval run over the acceptance call (+ JFK where shared data exists) + a corrupt case."""
    import asyncio

    from copilot.evaluation.report import write_outputs

    root = tmp_path_factory.mktemp("evalrun")
    (root / "broken.wav").write_bytes(b"RIFF this is not audio")
    (root / "broken.txt").write_text("hello world\n")
    cases: list = [str(SALES_LABEL),
                   {"id": "broken", "format": "txt", "audio": str(root / "broken.wav"),
                    "reference": str(root / "broken.txt"), "sample_rate": 16000, "duration": 1.0,
                    "mentions": []},
                   {"id": "missing", "format": "txt", "audio": str(root / "nope.wav"),
                    "reference": str(root / "broken.txt"), "mentions": []}]
    if SHARED.is_dir():
        cases.append({"id": "jfk", "format": "txt", "audio": str(SHARED / "openai-whisper-jfk/jfk.flac"),
                      "reference": str(SHARED / "openai-whisper-jfk/jfk.txt"), "sample_rate": 44100,
                      "channels": 2, "duration": 11.0, "mentions": []})
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({"name": "tiny", "cases": cases}))
    ds = load_dataset(manifest)
    seen: list[str] = []
    run = asyncio.run(run_eval(ds, engine.settings, EvalOptions(mode="inprocess"),
                               progress=lambda r: seen.append(r.id), engine=engine))
    paths = write_outputs(run, root / "out")
    return run, paths, seen


@pytest.mark.slow
def test_e2e_report_has_keys_and_sane_values(e2e_run) -> None:  # noqa: ANN001
    run, paths, seen = e2e_run
    report = json.loads(paths["report.json"].read_text())
    for key in REQUIRED_KEYS:
        assert key in report, key
    assert report["speed"] == 4.0 and report["mode"] == "inprocess"
    assert 0 <= report["wer_streaming"] <= 0.35  # synthetic speech through tiny.en
    assert 0 <= report["wer_offline"] <= 0.35
    # the acceptance call names Elasticsearch and Algolia; the live path must find at least one
    assert report["flag_recall"] >= 0.5 and report["flag_tp"] >= 1
    assert report["flag_latency_p50_s"] is not None and report["flag_latency_p50_s"] > 0
    # every matched flag got its card: the true-flag latencies are a subset of the first cards
    assert 1 <= report["suggestion_true_flag_latency_n"] <= report["suggestion_latency_n"]
    assert report["flags_retracted_true"] <= report["flags_retracted"]
    assert 0 < report["rtf"] < 1  # at 4x, wall time is about a quarter of the audio
    assert report["peak_rss_mb"] > 100
    assert "sales_call_two_competitors" in seen and "broken" in seen


@pytest.mark.slow
def test_e2e_bad_cases_are_reported_and_run_goes_on(e2e_run) -> None:  # noqa: ANN001
    run, paths, _ = e2e_run
    rows = {json.loads(line)["id"]: json.loads(line) for line in paths["cases.jsonl"].read_text().splitlines()}
    assert rows["broken"]["status"] == "problem" and rows["broken"]["problems"]
    assert rows["missing"]["status"] == "problem" and "not found" in rows["missing"]["problems"][0]
    assert rows["sales_call_two_competitors"]["status"] == "ok"
    assert run.report["n_problems"] == 2
    assert any(p.startswith("broken:") for p in run.report["problems"])
    md = paths["report.md"].read_text()
    assert "## Problems and notes" in md and "sales_call_two_competitors" in md
    for name in ("latency_hist.png", "wer_per_case.png"):
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.shared_data
def test_e2e_jfk_wer(e2e_run) -> None:  # noqa: ANN001
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (read-only eval data)")
    run, _, _ = e2e_run
    jfk = next(c for c in run.cases if c.id == "jfk")
    assert jfk.status == "ok"
    assert jfk.wer is not None and jfk.wer <= 0.10
    assert jfk.wer_offline is not None and jfk.wer_offline <= 0.10
    assert not math.isnan(jfk.audio_seconds) and 10.5 < jfk.audio_seconds < 11.5
    assert jfk.match is not None and jfk.match.false_positives == ()
    assert isinstance(jfk.detections, list) and all(isinstance(d, Detection) for d in jfk.detections)


def test_aggregate_without_labelled_mentions_reports_null_scores() -> None:
    # a set of real calls with nothing to flag: one false flag is a false-flag rate, not an F1
    r = score_case(_case(id="real"), [_flag("g", "algolia", "unspecified", 3.0, 3.5)],
                   streamed={"*": ""}, offline=None)
    r.audio_seconds = 900.0
    report = aggregate([r], dataset="t", options=EvalOptions())
    assert report["flag_fp"] == 1
    assert report["flag_precision"] is None and report["flag_recall"] is None
    assert report["flag_f1"] is None and report["claim_macro_f1"] is None
    assert report["false_flags_per_hour"] == pytest.approx(4.0)
