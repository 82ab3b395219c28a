import base64
import json

import pytest

from copilot.errors import ProtocolError
from copilot.serializers.twilio import TwilioStream


def start(tracks=("inbound",), **custom):
    return json.dumps({"event": "start", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA9", "tracks": list(tracks),
        "customParameters": custom,
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})


def media(track, ts, payload: bytes):
    return json.dumps({"event": "media", "media": {
        "track": track, "timestamp": str(ts), "payload": base64.b64encode(payload).decode()}})


def test_single_track_is_the_customer_in_mono():
    s = TwilioStream()
    assert s.feed('{"event": "connected"}') == b""
    s.feed(start(call_id="crm-1"))
    msg = s.start.start_message()
    assert msg.speakers == ("customer",) and msg.format.encoding == "mulaw"
    assert msg.format.sample_rate == 8000 and s.start.call_id == "crm-1"
    assert s.feed(media("inbound", 0, b"\x01" * 160)) == b"\x01" * 160


def test_two_tracks_are_interleaved_by_time_customer_first():
    s = TwilioStream()
    s.feed(start(("inbound", "outbound")))
    assert s.start.start_message().speakers == ("customer", "rep")
    assert s.feed(media("inbound", 0, b"\x01" * 160)) == b""  # waits for the other track
    out = s.feed(media("outbound", 0, b"\x02" * 160))
    assert out == b"\x01\x02" * 160


def test_a_silent_track_is_padded_and_a_timestamp_gap_filled():
    s = TwilioStream(max_skew_ms=200)
    s.feed(start(("inbound", "outbound")))
    out = b""
    for k in range(15):  # 300 ms of inbound only
        out += s.feed(media("inbound", 20 * k, b"\x01" * 160))
    assert len(out) >= 2 * 160 * 4  # padded once inbound ran 200 ms ahead
    assert set(out[1::2]) == {0xFF}  # outbound channel = μ-law silence
    s2 = TwilioStream()
    s2.feed(start())
    s2.feed(media("inbound", 0, b"\x01" * 160))
    gap = s2.feed(media("inbound", 100, b"\x01" * 160))  # 80 ms missing
    assert len(gap) == 640 + 160 and gap[:640] == b"\xff" * 640


@pytest.mark.parametrize("text, words", [
    ("nope", "not JSON"),
    ('{"event": "party"}', "unknown Twilio event"),
    (media("inbound", 0, b"x"), "before start"),
])
def test_bad_messages(text, words):
    with pytest.raises(ProtocolError, match=words):
        TwilioStream().feed(text)


def test_wrong_media_format_and_bad_base64():
    s = TwilioStream()
    with pytest.raises(ProtocolError, match="media format"):
        s.feed(json.dumps({"event": "start", "start": {
            "tracks": ["inbound"], "mediaFormat": {"encoding": "audio/l16", "sampleRate": 16000}}}))
    s.feed(start())
    with pytest.raises(ProtocolError, match="base64"):
        s.feed(json.dumps({"event": "media", "media": {"track": "inbound", "payload": "@@@"}}))


def test_stop_flushes():
    s = TwilioStream()
    s.feed(start(("inbound", "outbound")))
    s.feed(media("inbound", 0, b"\x01" * 160))
    out = s.feed('{"event": "stop"}')
    assert s.stopped and out == b"\x01\xff" * 160
