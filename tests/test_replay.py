import numpy as np

from copilot.replay import ResultBuilder


def test_the_first_card_per_flag_is_its_latency_and_re_typed_cards_are_updates():
    sent_at = 1000.0 + np.arange(100) * 0.1  # frame k (0.1 s of audio) sent at 1000 + 0.1 k
    rb = ResultBuilder("c", 10.0, 0.1, sent_at)
    rb.add({"type": "flag", "flag_id": "f1", "end": 2.0}, 1000.0 + 1.9 + 0.4)
    rb.add({"type": "suggestion", "flag_id": "f1"}, 1000.0 + 1.9 + 0.7)
    rb.add({"type": "suggestion", "flag_id": "f1"}, 1000.0 + 1.9 + 5.0)  # re-typed by the final
    rb.add({"type": "flag", "flag_id": "f1", "end": 2.0}, 1000.0 + 1.9 + 5.0)  # re-sent flag
    lat = rb.result.latencies
    assert lat["flag"] == [0.4]
    assert lat["suggestion"] == [0.7]
    assert lat["suggestion_update"] == [5.0]
    assert rb.result.first_card_s == {"f1": 0.7}  # by flag, for scoring true flags apart
