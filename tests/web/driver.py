"""Drives the widget page like a rep would (shared by the widget tests)."""

from __future__ import annotations

__all__ = ["CALL_SECONDS", "RATE", "final_segments", "finish_call", "start_call"]

RATE = 16000
CALL_SECONDS = 35.0  # the length of the call_wav span; stop before Chromium loops the file


def start_call(page, call_id: str) -> None:  # noqa: ANN001
    page.goto(f"{page.base_url}/?call={call_id}&rep=dan%40beacon.example&account=acme")
    assert page.locator("#call-id").inner_text() == call_id
    assert page.locator("#start").is_disabled(), "capture must wait for consent"
    assert page.locator("#rec").is_hidden()
    page.check("#consent")
    page.click("#start")
    page.locator("#rec").wait_for(state="visible", timeout=15_000)
    page.wait_for_function("document.getElementById('conn').dataset.state === 'live'",
                           timeout=30_000)


def finish_call(page, min_seconds: float = CALL_SECONDS) -> None:  # noqa: ANN001
    """Let the whole span play, then end the call and wait for the server's `ended`."""
    page.wait_for_function(f"window.copilot.client.captured >= {int(min_seconds * RATE)}",
                           timeout=int((min_seconds + 60) * 1000), polling=250)
    page.click("#stop")
    page.wait_for_function("document.getElementById('conn').dataset.state === 'ended'",
                           timeout=90_000)
    assert page.locator("#rec").is_hidden()


def final_segments(store, call_id: str, until: float = float("inf")) -> list[dict]:  # noqa: ANN001
    """A call's final transcript segments from the store, in audio order (ending by ``until``)."""
    finals = [e for e in store.events(call_id)
              if e["type"] == "transcript" and e["final"] and e["end"] <= until]
    return sorted(finals, key=lambda e: e["start"])
