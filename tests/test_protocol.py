import json

import pytest

from copilot.errors import AudioFormatError, ProtocolError
from copilot.protocol import Annotate, Ping, Start, Stop, parse_client_message, valid_call_id


def test_start_defaults_and_stereo_speakers():
    m = parse_client_message('{"type": "start"}')
    assert isinstance(m, Start) and m.format.sample_rate == 16000 and m.speakers == ("unknown",)
    m = parse_client_message(json.dumps({"type": "start", "channels": 2, "sample_rate": 8000,
                                         "encoding": "mulaw", "rep": "dan"}))
    assert m.speakers == ("rep", "customer") and m.format.encoding == "mulaw" and m.rep == "dan"


@pytest.mark.parametrize("text, exc, words", [
    ("not json", ProtocolError, "not valid JSON"),
    ("[1,2]", ProtocolError, "JSON object"),
    ('{"type": "hello"}', ProtocolError, "unknown message type 'hello'"),
    ('{"type": "start", "encoding": "opus"}', AudioFormatError, "unsupported encoding"),
    ('{"type": "start", "sample_rate": "16k"}', ProtocolError, "integer"),
    ('{"type": "start", "channels": 2, "speakers": ["rep", "rep"]}', ProtocolError, "distinct"),
    ('{"type": "annotate", "action": "like", "annotation_id": "a", "target_id": "t"}',
     ProtocolError, "action 'like' unknown"),
    ('{"type": "annotate", "action": "accept"}', ProtocolError, "annotation_id"),
])
def test_bad_messages_say_what_is_wrong(text, exc, words):
    with pytest.raises(exc, match=words):
        parse_client_message(text)


def test_other_messages():
    assert isinstance(parse_client_message('{"type": "stop"}'), Stop)
    assert isinstance(parse_client_message('{"type": "ping"}'), Ping)
    a = parse_client_message(json.dumps({"type": "annotate", "annotation_id": "a1",
                                         "target_id": "s1", "action": "wrong",
                                         "reason": "wrong claim"}))
    assert isinstance(a, Annotate) and a.fields == {"reason": "wrong claim"}


def test_call_ids():
    assert valid_call_id("crm-123_a.b")
    assert not valid_call_id("../etc") and not valid_call_id("") and not valid_call_id("a" * 200)
