"""Write a Twilio Media Streams message sequence (JSONL) from a WAV, as Twilio would send it.

Used to make tests/fixtures/twilio/algolia_pricing.jsonl from the scripted sales call:
`connected`, `start` (both tracks), 20 ms `media` events per track (base64 μ-law 8 kHz, the
outbound track silent with a 600 ms hole, as Twilio skips packets), a `mark`, `stop`.

    .venv/bin/python eval/make_twilio_fixture.py IN.wav OUT.jsonl [--start S] [--end S]
"""

from __future__ import annotations

import argparse
import base64
import json

from copilot.audio.files import mulaw_encode, read_audio


def messages(path: str, start: float, end: float) -> list[dict]:
    audio = read_audio(path, sample_rate=8000)[int(start * 8000):int(end * 8000), 0]
    sid, call = "MZ00000000000000000000000000000001", "CA00000000000000000000000000000001"
    out: list[dict] = [
        {"event": "connected", "protocol": "Call", "version": "1.0.0"},
        {"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": {
            "streamSid": sid, "accountSid": "AC0", "callSid": call,
            "tracks": ["inbound", "outbound"], "customParameters": {"rep": "dan"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}},
    ]
    seq = 2
    for k in range(0, len(audio), 160):
        ts = k // 8
        for track, chunk in (("inbound", mulaw_encode(audio[k:k + 160])),
                             ("outbound", b"\xff" * len(audio[k:k + 160]))):
            if track == "outbound" and 3000 <= ts < 3600:
                continue  # Twilio sent nothing on this track for 600 ms
            out.append({"event": "media", "sequenceNumber": str(seq), "streamSid": sid,
                        "media": {"track": track, "chunk": str(k // 160 + 1),
                                  "timestamp": str(ts),
                                  "payload": base64.b64encode(chunk).decode()}})
            seq += 1
    out.append({"event": "mark", "sequenceNumber": str(seq), "streamSid": sid,
                "mark": {"name": "greeting-done"}})
    out.append({"event": "stop", "sequenceNumber": str(seq + 1), "streamSid": sid,
                "stop": {"accountSid": "AC0", "callSid": call}})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wav")
    p.add_argument("out")
    p.add_argument("--start", type=float, default=0.0)
    p.add_argument("--end", type=float, default=1e9)
    a = p.parse_args()
    with open(a.out, "w") as f:
        for m in messages(a.wav, a.start, a.end):
            f.write(json.dumps(m) + "\n")


if __name__ == "__main__":
    main()
