"""The text benchmark runs end to end on a tiny subset (the full run is eval/bench_text.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "eval" / "bench_text.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_text", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_bench_text_tiny_subset(embedder, tmp_path):
    bench = _load()
    res = bench.run(limit=3, shared=tmp_path / "absent")  # our own labelled lines only
    assert res["sizes"]["claims"] == 3 and res["sizes"]["shared_data"] is False
    for key in ("detector", "baseline_exact_name"):
        assert 0.0 <= res["mentions"][key]["f1"] <= 1.0
    assert res["mentions"]["detector"]["tp"] == 3  # three Algolia lines, all found
    assert set(res["retrieval"]) == {"hybrid_oracle_metadata", "hybrid_detected_metadata",
                                     "baseline_dense_only"}
    assert res["retrieval"]["hybrid_oracle_metadata"]["n"] == 6
    assert res["latency"]["mentions"]["p95_ms"] >= res["latency"]["mentions"]["p50_ms"] > 0
    assert "recall@3" in bench._table(res)


def test_shared_readers(tmp_path):
    bench = _load()
    shared = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    if not shared.is_dir():
        pytest.skip("../shared/data is absent")
    sentences = bench.earnings21_sentences(shared)
    assert len(sentences) > 100 and any(org for _, org in sentences)
    assert any("Hello?" == line for line in bench.non_sales_lines(shared))
