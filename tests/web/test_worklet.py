"""The capture worklet in Chromium's OfflineAudioContext (no server, no models: fast).

It must resample 48 kHz to 16 kHz through a real low-pass: a 12 kHz tone would alias to 4 kHz
with naive sample picking, and must come out attenuated; a 1 kHz tone must pass at full level.
Int16 conversion clamps, and stereo stays interleaved channel by channel.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "copilot" / "web"

RENDER = """async ({freqs, amp, rate}) => {
  const n = rate;  // one second
  const ctx = new OfflineAudioContext({numberOfChannels: freqs.length, length: n, sampleRate: rate});
  await ctx.audioWorklet.addModule('worklet.js');
  const buf = ctx.createBuffer(freqs.length, n, rate);
  freqs.forEach((f, c) => { const d = buf.getChannelData(c);
    for (let i = 0; i < n; i++) d[i] = f === 0 ? amp : amp * Math.sin(2 * Math.PI * f * i / rate); });
  const src = ctx.createBufferSource(); src.buffer = buf;
  const node = new AudioWorkletNode(ctx, 'capture-processor', {channelCount: freqs.length,
    channelCountMode: 'explicit', channelInterpretation: 'discrete',
    processorOptions: {channels: freqs.length, frameMs: 40}});
  const frames = [];
  node.port.onmessage = (e) => { if (e.data.type === 'frame') frames.push(e.data); };
  src.connect(node); node.connect(ctx.destination); src.start();
  await ctx.startRendering();
  await new Promise((r) => setTimeout(r, 300));  // let the last port messages arrive
  return {sizes: frames.map((f) => f.samples), pcm: frames.flatMap((f) => Array.from(f.pcm))};
}"""


@pytest.fixture(scope="module")
def static_origin() -> Iterator[str]:
    """copilot/web over plain HTTP on loopback (a secure context, as AudioWorklet needs)."""
    handler = partial(_QuietHandler, directory=str(WEB))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def worklet_page(browser, static_origin: str):  # noqa: ANN001, ANN201
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.goto(f"{static_origin}/index.html")
    yield pg
    ctx.close()


def rms(xs: list[int]) -> float:
    return math.sqrt(sum(x * x for x in xs) / len(xs))


def test_resamples_48k_to_16k_in_40ms_frames(worklet_page) -> None:  # noqa: ANN001
    out = worklet_page.evaluate(RENDER, {"freqs": [1000], "amp": 0.5, "rate": 48000})
    assert set(out["sizes"][:-1]) == {640}  # 40 ms of 16 kHz
    assert abs(len(out["pcm"]) - 16000) <= 640
    steady = out["pcm"][800:-800]
    assert rms(steady) == pytest.approx(0.5 * 0x7FFF / math.sqrt(2), rel=0.03)


def test_low_pass_stops_aliasing(worklet_page) -> None:  # noqa: ANN001
    out = worklet_page.evaluate(RENDER, {"freqs": [12000], "amp": 0.5, "rate": 48000})
    steady = out["pcm"][800:-800]
    # naive decimation would give a full-level 4 kHz alias (rms ~11585)
    assert rms(steady) < 0.01 * 0.5 * 0x7FFF


def test_other_rates_and_clamping(worklet_page) -> None:  # noqa: ANN001
    out = worklet_page.evaluate(RENDER, {"freqs": [0], "amp": 1.5, "rate": 44100})
    assert abs(len(out["pcm"]) - 16000) <= 640
    assert max(out["pcm"][800:-800]) == 0x7FFF  # clamped to 1.0, then x 0x7FFF


def test_stereo_stays_interleaved(worklet_page) -> None:  # noqa: ANN001
    out = worklet_page.evaluate(RENDER, {"freqs": [1000, 0], "amp": 0.0, "rate": 48000})
    assert abs(len(out["pcm"]) - 32000) <= 1280
    out = worklet_page.evaluate(RENDER, {"freqs": [1000, 1000], "amp": 0.5, "rate": 48000})
    pcm = out["pcm"][1600:-1600]
    left, right = pcm[0::2], pcm[1::2]
    assert rms(left) == pytest.approx(rms(right), rel=0.01)
    assert rms(left) > 10000
