"""callSummary (copilot/web/recent.js) under Node: how a stored call reads in the recent list.

Pure function, no browser: relative day names against a fixed "now" (local time, as the rep
sees it), duration as min:s, flag/reply counts with singular/plural, non-ended status shown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

RECENT = Path(__file__).resolve().parents[2] / "copilot" / "web" / "recent.js"

HARNESS = r"""
import { callSummary } from %(recent)s;
const now = new Date(2026, 4, 14, 15, 0);           // 14 May 2026, 15:00 local
const at = (...a) => new Date(...a).getTime() / 1000;
const out = {
  today: callSummary({ started_at: at(2026, 4, 14, 0, 5), audio_seconds: 754.6,
    account: "globex", status: "ended", counts: { flag: 1, suggestion: 1, transcript: 9 } }, now),
  yesterday: callSummary({ started_at: at(2026, 4, 13, 23, 55), audio_seconds: 59,
    account: null, status: "live", counts: {} }, now),
  older: callSummary({ started_at: at(2026, 3, 2, 9, 0), audio_seconds: 3725,
    account: "acme", status: "ended", counts: { flag: 3, suggestion: 2 } }, now),
  last_year: callSummary({ started_at: at(2025, 11, 30, 9, 0), audio_seconds: 0,
    status: "ended" }, now),
  iso: new Date(at(2026, 4, 14, 0, 5) * 1000).toISOString(),
};
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Debian package nodejs) is needed to run recent.js outside a browser")
    script = tmp_path_factory.mktemp("node") / "recent.mjs"
    script.write_text(HARNESS % {"recent": json.dumps(RECENT.as_uri())})
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_relative_day_names(out: dict) -> None:
    assert out["today"]["when"].startswith("Today ")
    assert out["yesterday"]["when"].startswith("Yesterday ")  # 23:55 the day before
    for key in ("older", "last_year"):
        assert not out[key]["when"].startswith(("Today", "Yesterday"))
    assert "2025" in out["last_year"]["when"] and "2026" not in out["older"]["when"]
    assert out["today"]["iso"] == out["iso"]


def test_duration_counts_and_status(out: dict) -> None:
    assert out["today"]["duration"] == "12:34"
    assert out["older"]["duration"] == "62:05"
    assert out["today"]["counts"] == "1 flag · 1 reply"
    assert out["older"]["counts"] == "3 flags · 2 replies"
    assert out["yesterday"]["counts"] == out["last_year"]["counts"] == "0 flags · 0 replies"
    assert out["yesterday"]["account"] == "no account"
    assert out["yesterday"]["status"] == "live" and out["today"]["status"] == ""
