"""Fixtures for the widget tests: a short call WAV, real Chromium (Debian's) with a fake mic.

Chromium plays ``--use-file-for-fake-audio-capture`` as the microphone (looping it), so the
widget's real capture path runs: getUserMedia -> AudioWorklet resampler -> websocket.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SALES_CALL = REPO_ROOT / "tests" / "fixtures" / "audio" / "sales_call_two_competitors.wav"
CHROMIUM = Path("/usr/bin/chromium")
#: the 16-51 s span of the scripted call: Elasticsearch (incumbent), then an Algolia pricing claim
CALL_SPAN = (16.0, 35.0)


@pytest.fixture(scope="session")
def call_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("sox") is None:
        pytest.skip("sox (Debian package) is needed to cut the test call")
    out = tmp_path_factory.mktemp("audio") / "call_span.wav"
    start, length = CALL_SPAN
    subprocess.run(["sox", str(SALES_CALL), str(out), "trim", str(start), str(length)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def browser(call_wav: Path) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={call_wav}",
                  "--autoplay-policy=no-user-gesture-required"],
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def finished_calls() -> dict[str, str]:
    """Call ids of completed browser calls, so the reconnect test can reuse a clean run."""
    return {}


@pytest.fixture
def page(browser, live_server):  # noqa: ANN001, ANN201
    ctx = browser.new_context(viewport={"width": 420, "height": 900}, device_scale_factor=2)
    ctx.grant_permissions(["microphone"])
    pg = ctx.new_page()
    pg.base_url = f"http://127.0.0.1:{live_server.server.port}"  # type: ignore[attr-defined]
    yield pg
    ctx.close()
