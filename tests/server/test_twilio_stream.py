"""BUGS S06: a recorded Twilio Media Streams sequence, replayed at real time to the real server."""

from __future__ import annotations

import json
import threading
import time

from websockets.sync.client import connect

from tests.conftest import FIXTURES

SEQUENCE = FIXTURES / "twilio" / "algolia_pricing.jsonl"


def test_twilio_stream_gives_partials_then_finals_and_the_flag(live_server, engine):
    messages = [line for line in SEQUENCE.read_text().splitlines() if line]
    call_id = "twilio-CA00000000000000000000000000000001"
    seen: list[tuple[float, dict]] = []

    with connect(live_server.url + "/v1/twilio") as tw:
        tw.send(messages[0])
        tw.send(messages[1])  # start: the call exists from here on
        time.sleep(0.3)
        with connect(live_server.url + "/v1/watch/" + call_id) as watcher:
            def listen() -> None:
                try:
                    while True:
                        seen.append((time.monotonic(), json.loads(watcher.recv(timeout=120))))
                        if seen[-1][1]["type"] == "ended":
                            return
                except Exception:  # noqa: BLE001 - socket closed at the end
                    return

            reader = threading.Thread(target=listen)
            reader.start()
            t0 = time.monotonic()
            sent = 0
            for m in messages[2:]:
                if '"event": "media"' in m and '"inbound"' in m:
                    due = t0 + sent * 0.02  # 20 ms per packet, real time
                    time.sleep(max(0.0, due - time.monotonic()))
                    sent += 1
                tw.send(m)
            reader.join(120)

    events = [e for _, e in seen]
    partials = [(t, e) for t, e in seen if e["type"] == "transcript" and not e["final"]]
    assert partials, "no partial transcript"
    assert partials[0][0] - t0 < 2.5  # first words on screen about a second after speech starts
    finals = [e for e in events if e["type"] == "transcript" and e["final"]]
    assert finals and {e["speaker"] for e in finals} == {"customer"}  # rep track was silent
    flags = [e for e in events if e["type"] == "flag"]
    assert any(f["competitor"] == "algolia" and f["claim_type"] == "pricing" for f in flags)
    assert events[-1]["type"] == "ended"
    assert engine.store.call(call_id).status == "ended"
