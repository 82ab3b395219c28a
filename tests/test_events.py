import json

import pytest

from copilot.events import Flag, Ready, Source, Suggestion, Transcript, event_from_dict


def test_json_round_trip_for_every_shape():
    events = [
        Ready(speakers=("rep", "customer"), channels=2),
        Transcript(segment_id="rep-0", speaker="rep", start=0.1, end=1.5, text="hi", final=True),
        Flag(flag_id="f1", competitor="algolia", claim_type="pricing", start=1.0, end=1.4),
        Suggestion(suggestion_id="s1", flag_id="f1", text="reply",
                   sources=(Source("competitors/algolia.md", "algolia/pricing", "Pricing", "v1"),)),
    ]
    for ev in events:
        stamped = ev.stamped(call_id="c1", seq=7, ts=123.0)
        data = json.loads(stamped.to_json())
        assert data["type"] == ev.type and data["seq"] == 7 and data["v"] == 1
        assert event_from_dict(data) == stamped


def test_unknown_event_type():
    with pytest.raises(ValueError):
        event_from_dict({"type": "nope"})
