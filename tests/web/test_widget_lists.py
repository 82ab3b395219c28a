"""The widget's lists and forms, in real Chromium against the real server (no audio).

Before the call the page shows the rep's stored calls (``GET /v1/calls?rep=``), newest first;
the "AI missed this" picker offers every catalog competitor and the claim/objection types from
``GET /v1/catalog``, not only the competitors flagged so far; a flag chip re-rendered by a
refined flag keeps working. Events are fed to the views directly where no audio is needed.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from copilot.events import Flag, Suggestion

pytestmark = pytest.mark.slow


def _store_call(store, call_id: str, rep: str, account: str, seconds: float,  # noqa: ANN001
                flags: int) -> float:
    """A finished call with ``flags`` flags, each answered by one suggestion; its start time."""
    store.open_call(call_id, rep=rep, account=account, encoding="pcm_s16le", sample_rate=16000,
                    channels=1, speakers=["unknown"], playbook_version="test")
    seq = 0
    for i in range(flags):
        for ev in (Flag(flag_id=f"f{i}", competitor="algolia", competitor_name="Algolia",
                        claim_type="pricing", segment_id=f"s{i}"),
                   Suggestion(suggestion_id=f"f{i}/s", flag_id=f"f{i}", text="Our answer.")):
            seq += 1
            store.append(ev.stamped(call_id=call_id, seq=seq, ts=time.time()))
    store.close_call(call_id, audio_seconds=seconds)
    return store.call(call_id).started_at


def test_recent_calls_before_the_call(page, live_server, engine) -> None:  # noqa: ANN001
    stamp = int(time.time() * 1000)
    rep = f"rita-{stamp}@beacon.example"
    older = f"web-old-{stamp}"
    newer = f"web-new-{stamp}"
    older_start = _store_call(engine.store, older, rep, "globex", 754.0, flags=1)
    _store_call(engine.store, newer, rep, "initech", 65.0, flags=2)
    _store_call(engine.store, f"web-other-{stamp}", f"someone-{stamp}@beacon.example",
                "acme", 10.0, flags=0)

    page.goto(f"{page.base_url}/?call=web-page-{stamp}&rep={rep}&account=globex")
    rows = page.locator("#recent-list li")
    rows.first.wait_for(timeout=15_000)
    assert page.locator("#recent").is_visible()
    # this rep's calls only, newest first
    assert [rows.nth(i).get_attribute("data-call-id") for i in range(rows.count())] \
        == [newer, older]
    old = page.locator(f"#recent-list li[data-call-id='{older}']")
    assert old.locator(".account").inner_text() == "globex"
    assert old.locator(".duration").inner_text() == "12:34"
    assert old.locator(".counts").inner_text() == "1 flag · 1 reply"
    assert page.locator(f"#recent-list li[data-call-id='{newer}'] .counts").inner_text() \
        == "2 flags · 2 replies"
    # the date shown is the stored start time (machine-readable in <time datetime>)
    shown = old.locator("time").get_attribute("datetime").replace("Z", "+00:00")
    assert abs(datetime.fromisoformat(shown).timestamp() - older_start) < 1.0
    assert old.locator("time").inner_text().startswith("Today ")

    # a rep with no stored calls gets a plain sentence, not an empty box
    page.goto(f"{page.base_url}/?rep=nobody-{stamp}%40beacon.example")
    page.locator("#recent-empty").wait_for(timeout=15_000)
    assert "No earlier calls" in page.locator("#recent-empty").inner_text()
    assert page.locator("#recent-list li").count() == 0
    # and without ?rep= there is nothing to ask for
    page.goto(f"{page.base_url}/")
    page.evaluate("window.copilot.loaded")
    assert page.locator("#recent").is_hidden()


def test_missed_picker_offers_the_catalog(page, live_server, engine) -> None:  # noqa: ANN001
    page.goto(f"{page.base_url}/?call=web-picker-{int(time.time())}")
    page.evaluate("window.copilot.loaded")
    # one transcript line, no flag in this call yet: the catalog must still be offered in full
    page.evaluate("""window.copilot.transcript.transcript({segment_id: 'unknown-1/s1',
        speaker: 'customer', start: 3.2, end: 6.0, final: true,
        text: 'We also looked at Typesense because it was cheaper'})""")
    line = page.locator(".line[data-segment-id='unknown-1/s1']")
    line.hover()
    line.locator("button.missed").click()
    form = line.locator(".missed-form")
    what = form.locator("select.missed-competitor")
    names = what.locator("optgroup option").all_inner_texts()
    assert names == [c.name for c in engine.playbooks.competitors]
    assert len(names) >= 3
    ids = what.locator("optgroup option").evaluate_all("os => os.map(o => o.value)")
    assert ids == [c.id for c in engine.playbooks.competitors]

    catalog = page.evaluate("fetch('/v1/catalog').then(r => r.json())")
    claim = form.locator("select.missed-claim")
    values = lambda: claim.locator("option").evaluate_all("os => os.map(o => o.value)")  # noqa: E731
    assert values() == catalog["claim_types"]
    assert claim.input_value() == "unspecified"
    assert "pricing" in values() and "budget" not in values()
    what.select_option("__objection")
    assert values() == catalog["objection_types"]
    assert "budget" in values() and "pricing" not in values()
    assert form.locator(".missed-other").is_hidden()
    what.select_option("__other")
    assert values() == catalog["claim_types"]
    assert form.locator(".missed-other").is_visible()

    # a catalog competitor never flagged in this call: sent as its catalog id
    what.select_option(label="Typesense")
    claim.select_option("pricing")
    form.locator("button.save").click()
    status = line.locator(".meta .status")
    assert status.get_attribute("data-state") == "pending"  # no call yet: sent once it starts
    [msg] = page.evaluate("window.copilot.outbox")
    assert msg["action"] == "missed" and msg["target_id"] == "unknown-1/s1"
    assert msg["text"] == "We also looked at Typesense because it was cheaper"
    typesense = next(c for c in engine.playbooks.competitors if c.name == "Typesense")
    assert (msg["kind"], msg["competitor"], msg["competitor_name"], msg["claim_type"]) \
        == ("competitor", typesense.id, "Typesense", "pricing")


def test_flag_chip_survives_a_refined_flag(page, live_server) -> None:  # noqa: ANN001
    """A flag re-sent with a refined claim re-renders its chip: a "wrong" form opened before
    must still save, and the status the rep sees must be the one that gets updated."""
    page.goto(f"{page.base_url}/?call=web-chip-{int(time.time())}")
    page.evaluate("window.copilot.loaded")
    page.evaluate("""() => { const t = window.copilot.transcript;
        t.transcript({segment_id: 'unknown-2/s1', speaker: 'unknown', start: 1.0, end: 4.0,
          final: true, text: 'Algolia quoted us less'});
        t.flag({flag_id: 'unknown-2/f1', kind: 'competitor', competitor: 'algolia',
          competitor_name: 'Algolia', claim_type: 'unspecified', evidence: 'Algolia quoted',
          segment_id: 'unknown-2/s1'}); }""")
    chip = page.locator(".flag-chip[data-flag-id='unknown-2/f1']")
    chip.locator(".flag-wrong").click()
    chip.locator("select.reason").select_option("wrong_claim")
    # the final refines the claim while the form is open
    page.evaluate("""window.copilot.transcript.flag({flag_id: 'unknown-2/f1', kind: 'competitor',
        competitor: 'algolia', competitor_name: 'Algolia', claim_type: 'pricing',
        evidence: 'Algolia quoted', segment_id: 'unknown-2/s1'})""")
    assert chip.locator(".chip.claim").inner_text() == "pricing"
    assert chip.locator("select.reason").input_value() == "wrong_claim"
    chip.locator(".wrong-form button.save").click()
    status = chip.locator(".status")
    assert status.get_attribute("data-state") == "pending"
    assert status.inner_text() == "Flag marked wrong · saving…"
    [msg] = page.evaluate("window.copilot.outbox")
    assert (msg["action"], msg["target_id"], msg["reason"]) == ("wrong", "unknown-2/f1", "wrong_claim")
    # after one more re-render, "Right" revises the same annotation on the visible status
    page.evaluate("""window.copilot.transcript.flag({flag_id: 'unknown-2/f1', kind: 'competitor',
        competitor: 'algolia', competitor_name: 'Algolia', claim_type: 'pricing',
        evidence: 'Algolia quoted', segment_id: 'unknown-2/s1'})""")
    chip.locator(".flag-ok").click()
    assert chip.locator(".status").inner_text() == "Flag confirmed · saving…"
    first, second = page.evaluate("window.copilot.outbox")
    assert second["action"] == "accept"
    assert second["annotation_id"] == first["annotation_id"] == msg["annotation_id"]


def test_retracted_flag_takes_its_highlight_chip_and_open_card(page, live_server) -> None:  # noqa: ANN001
    """A partial's flag that the final withdrew (``retracted``) leaves the screen: its <mark>,
    its chip and its card. A card the rep already answered stays, marked withdrawn."""
    page.goto(f"{page.base_url}/?call=web-retract-{int(time.time())}")
    page.evaluate("window.copilot.loaded")
    page.evaluate("""() => { const c = window.copilot;
        c.transcript.transcript({segment_id: 'unknown-1/s1', speaker: 'unknown', start: 1.0,
          end: 4.0, final: false, text: 'I spoke with Algolia'});
        for (const [fid, seg, who] of [['unknown-1/f1', 'unknown-1/s1', 'Algolia'],
                                       ['unknown-2/f2', 'unknown-2/s2', 'Typesense']]) {
          const f = {flag_id: fid, kind: 'competitor', competitor: who.toLowerCase(),
            competitor_name: who, claim_type: 'unspecified', evidence: who, segment_id: seg};
          c.transcript.flag(f); c.cards.flag(f);
          c.cards.suggestion({suggestion_id: fid + '/s', flag_id: fid, text: 'Answer for ' + who,
            sources: [], latency_s: 0.4});
        } }""")
    assert page.locator("mark.flag").count() == 1
    assert page.locator(".card").count() == 2
    page.locator("[data-suggestion-id='unknown-2/f2/s'] .accept").click()
    page.evaluate("""() => { const c = window.copilot;
        for (const [fid, seg] of [['unknown-1/f1', 'unknown-1/s1'], ['unknown-2/f2', 'unknown-2/s2']]) {
          const f = {flag_id: fid, kind: 'competitor', competitor: 'x', claim_type: 'unspecified',
            segment_id: seg, retracted: true};
          c.transcript.flag(f); c.cards.flag(f);
        }
        c.transcript.transcript({segment_id: 'unknown-1/s1', speaker: 'unknown', start: 1.0,
          end: 4.0, final: true, text: 'I spoke with our data team'}); }""")
    assert page.locator("mark.flag").count() == 0
    assert page.locator(".flag-chip").count() == 0
    assert page.locator("[data-suggestion-id='unknown-1/f1/s']").count() == 0
    kept = page.locator("[data-suggestion-id='unknown-2/f2/s']")
    assert kept.count() == 1 and "withdrawn" in (kept.get_attribute("class") or "")
