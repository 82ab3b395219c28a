"""CallClient (copilot/web/client.js) under Node with a scripted fake WebSocket: fast, no browser.

Resume arithmetic is where words get lost or doubled, so it is checked sample by sample: after a
drop the client must send exactly the samples from ``ready.resumed_from`` on, including from the
middle of a frame; the buffer is bounded; annotations stay pending until their last ack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "copilot" / "web" / "client.js"

HARNESS = r"""
import { CallClient, RATE } from %(client)s;
class FakeWS {
  static OPEN = 1;
  constructor(url) { this.url = url; this.readyState = 1; this.sent = []; FakeWS.all.push(this);
    queueMicrotask(() => this.onopen && this.onopen()); }
  send(d) { this.sent.push(d); }
  close() { this.readyState = 3; this.onclose && this.onclose(); }
  recv(obj) { this.onmessage({ data: JSON.stringify(obj) }); }
}
FakeWS.all = [];
globalThis.WebSocket = FakeWS;
globalThis.setTimeout = (fn) => { fn(); return 0; };  // reconnect at once
const frame = (start, n, ch = 1) => {
  const a = new Int16Array(n * ch); for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++)
    a[i * ch + c] = (start + i) %% 30000; return a; };
const samplesSent = (ws) => ws.sent.filter((d) => typeof d !== "string")
  .flatMap((d) => Array.from(d));
const out = {};
const tick = () => new Promise((r) => queueMicrotask(r));

// 1. resume from the middle of a frame
let c = new CallClient({ url: "ws://x/v1/calls/a", start: { channels: 1 } });
c.connect(); await tick();
let ws = FakeWS.all.at(-1);
out.start = JSON.parse(ws.sent[0]);
ws.recv({ type: "ready", resumed_from: 0 });
for (let k = 0; k < 10; k++) c.pushAudio(frame(k * 640, 640), 640);
out.first = samplesSent(ws).length;
ws.close(); await tick();                  // drop: reconnects at once
for (let k = 10; k < 15; k++) c.pushAudio(frame(k * 640, 640), 640);   // buffered meanwhile
const ws2 = FakeWS.all.at(-1);
out.restart = JSON.parse(ws2.sent[0]);
ws2.recv({ type: "ready", resumed_from: 1000 / RATE });  // server got 1000 samples only
const again = samplesSent(ws2);
out.resent_first = again[0]; out.resent_len = again.length;
out.contiguous = again.every((v, i) => v === (1000 + i) %% 30000);

// 2. stereo: offsets count per-channel samples, slices keep channel pairs
c = new CallClient({ url: "ws://x/v1/calls/b", start: { channels: 2 } });
c.connect(); await tick(); ws = FakeWS.all.at(-1);
ws.recv({ type: "ready", resumed_from: 0 });
c.pushAudio(frame(0, 640, 2), 640); ws.close(); await tick();
ws = FakeWS.all.at(-1); ws.recv({ type: "ready", resumed_from: 100 / RATE });
out.stereo = samplesSent(ws).length;

// 3. bounded buffer while offline; acked audio leaves the buffer
c = new CallClient({ url: "ws://x/v1/calls/c", start: { channels: 1 }, maxBufferS: 1 });
c.connect(); await tick(); ws = FakeWS.all.at(-1);
ws.recv({ type: "ready", resumed_from: 0 });
c.pushAudio(frame(0, 640), 640);
ws.recv({ type: "transcript", audio_received: 640 / RATE });
out.after_ack = c.buffer.length;
c.ready = false;                           // offline: nothing goes out
for (let k = 1; k < 40; k++) c.pushAudio(frame(k * 640, 640), 640);
out.lost = c.lost; out.buffered = c.buffer.reduce((n, f) => n + f.samples, 0);

// 4. annotations: pending until the last revision's ack; re-sent after a reconnect
c = new CallClient({ url: "ws://x/v1/calls/d", start: { channels: 1 } });
c.connect(); await tick(); ws = FakeWS.all.at(-1);
ws.recv({ type: "ready", resumed_from: 0 });
c.annotate({ annotation_id: "n1", target_id: "s1", action: "accept" });
c.annotate({ annotation_id: "n1", target_id: "s1", action: "edit", text: "x", original: "y" });
ws.recv({ type: "annotation_ack", annotation_id: "n1", revision: 1 });
out.pending_after_first_ack = c.pending.has("n1");
ws.close(); await tick(); ws = FakeWS.all.at(-1);
ws.recv({ type: "ready", resumed_from: 0 });
out.resent = ws.sent.filter((d) => typeof d === "string").map((d) => JSON.parse(d))
  .filter((m) => m.type === "annotate").map((m) => m.action);
ws.recv({ type: "annotation_ack", annotation_id: "n1", revision: 3 });
out.pending_after_last_ack = c.pending.has("n1");
console.log(JSON.stringify(out));
process.exit(0);  // the ping interval would keep node alive
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Debian package nodejs) is needed to run client.js outside a browser")
    script = tmp_path_factory.mktemp("node") / "harness.mjs"
    script.write_text(HARNESS % {"client": json.dumps(CLIENT.as_uri())})
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_start_is_resent_unchanged(result: dict) -> None:
    assert result["start"] == result["restart"]
    assert result["start"]["type"] == "start"


def test_resume_sends_exactly_from_resumed_from(result: dict) -> None:
    assert result["first"] == 10 * 640
    # 15 frames captured, server had 1000 samples: 15*640-1000 follow, starting at sample 1000
    assert result["resent_len"] == 15 * 640 - 1000
    assert result["resent_first"] == 1000
    assert result["contiguous"] is True


def test_stereo_offsets_are_per_channel(result: dict) -> None:
    assert result["stereo"] == (640 - 100) * 2


def test_buffer_is_bounded_and_trimmed_by_acks(result: dict) -> None:
    assert result["after_ack"] == 0
    assert result["buffered"] <= 16000
    assert result["lost"] == 39 * 640 - result["buffered"]


def test_annotation_pending_until_last_revision_acked(result: dict) -> None:
    assert result["pending_after_first_ack"] is True
    assert result["resent"] == ["edit"]
    assert result["pending_after_last_ack"] is False
