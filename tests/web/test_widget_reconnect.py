"""Resume after a dropped socket: the widget buffers audio, reconnects, re-sends `start` and
streams from `ready.resumed_from`, so the stored transcript neither loses nor repeats words.

The reference is a browser run of the same audio without a cut (the end-to-end test's call
when it ran first in this session, else a fresh one).
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from tests.web.driver import RATE, final_segments, finish_call, start_call

pytestmark = pytest.mark.slow

CUT_AT_S = 9.0      # audio seconds captured when the link dies (mid "How many products…")
BLACKHOLE_S = 1.0   # before the close, audio the client believes sent vanishes (dying link)
OFFLINE_MS = 3000   # stay offline long enough that ~3 s of audio must come from the buffer
COMPARE_UNTIL_S = 30.0  # Chromium loops the file: the tail of a run may hold its start again


def words(segments: list[dict]) -> list[str]:
    return [w for s in segments for w in re.findall(r"[a-z0-9']+", s["text"].lower())]


def content(ws: list[str]) -> list[str]:
    return [w for w in ws if len(w) > 3]


def test_reconnect_loses_and_repeats_nothing(page, live_server, engine,  # noqa: ANN001
                                             finished_calls) -> None:
    store = engine.store
    ref_id = finished_calls.get("reference")
    if ref_id is None:
        ref_id = f"web-ref-{int(time.time())}"
        start_call(page, ref_id)
        finish_call(page)
        page.goto("about:blank")

    call_id = f"web-cut-{int(time.time())}"
    start_call(page, call_id)
    page.wait_for_function(f"window.copilot.client.captured >= {int(CUT_AT_S * RATE)}",
                           timeout=60_000, polling=100)
    # a dying link: binary frames go into a black hole (as frames in flight when TCP dies)
    page.evaluate("""() => { const ws = window.copilot.client.ws; const send = ws.send.bind(ws);
        ws.send = (d) => { if (typeof d === 'string') send(d); }; }""")
    reached = page.evaluate("window.copilot.client.sent")
    page.wait_for_function(
        f"window.copilot.client.sent >= {reached + int(BLACKHOLE_S * RATE)}", timeout=10_000)
    sent_before = page.evaluate("window.copilot.client.sent")
    page.evaluate(f"window.copilot.client.dropConnection({OFFLINE_MS})")
    page.wait_for_function("document.getElementById('conn').dataset.state === 'offline'",
                           timeout=5_000)
    page.wait_for_function(
        "window.copilot.client.reconnects === 1 && window.copilot.client.ready", timeout=30_000)
    resumed = page.evaluate("window.copilot.client.resumedFrom")
    captured_at_resume = page.evaluate("window.copilot.client.captured")
    # the server says where it stopped: before the black-holed audio, not where we think
    assert resumed * RATE == pytest.approx(reached, abs=RATE * 0.05)
    assert sent_before - resumed * RATE >= BLACKHOLE_S * RATE * 0.9
    assert captured_at_resume - sent_before >= OFFLINE_MS / 1000 * RATE * 0.8
    assert page.evaluate("window.copilot.client.lost") == 0
    finish_call(page)

    server_seconds = next(e for e in store.events(call_id) if e["type"] == "ended")["audio_seconds"]
    client_seconds = page.evaluate("window.copilot.client.captured") / RATE
    # every captured sample reached the server exactly once
    assert server_seconds == pytest.approx(client_seconds, abs=0.002)

    ref = words(final_segments(store, ref_id, COMPARE_UNTIL_S))
    cut = words(final_segments(store, call_id, COMPARE_UNTIL_S))
    ref_n, cut_n = Counter(content(ref)), Counter(content(cut))
    repeated = {w: n for w, n in cut_n.items() if n > ref_n.get(w, 0) + (w not in ref_n)}
    assert not repeated, f"words repeated after the cut: {repeated}\nref={ref}\ncut={cut}"
    # the words spoken around the cut are all there
    around = [s for s in final_segments(store, ref_id)
              if s["start"] < CUT_AT_S + 4 and s["end"] > CUT_AT_S - 4]
    want = set(content(words(around)))
    got = set(content(cut))
    assert len(want & got) >= 0.8 * len(want), f"missing near the cut: {want - got}"
