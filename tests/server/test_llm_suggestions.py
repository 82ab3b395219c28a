"""The LLM path end to end: real LangChain/openai client over real HTTP to a loopback stand-in."""

from __future__ import annotations

import asyncio

import pytest

from copilot.audio.files import read_audio
from copilot.replay import replay_samples
from tests.conftest import SALES_CALL, ServerThread
from tests.fake_openai_server import FakeOpenAI, Script

CLIP = (39.5, 52.0)  # the turn where the prospect says Algolia quoted half our price


@pytest.fixture(scope="module")
def fake_llm():
    with FakeOpenAI() as server:
        yield server


def run_clip(engine, fake_llm, script: Script, **llm):
    settings = engine.settings.model_copy(deep=True)
    settings.llm = settings.llm.model_copy(update={"base_url": fake_llm.base_url, **llm})
    fake_llm.script = script
    srv = ServerThread(engine, settings)
    try:
        audio = read_audio(SALES_CALL)[int(CLIP[0] * 16000):int(CLIP[1] * 16000)]
        return asyncio.run(replay_samples(audio, srv.url, sample_rate=16000, speed=2))
    finally:
        srv.close()


def algolia_cards(result):
    flag = next(f for f in result.of_type("flag") if f["competitor"] == "algolia")
    return [s for s in result.of_type("suggestion") if s["flag_id"] == flag["flag_id"]]


def test_llm_reply_streams_over_the_extractive_card_and_is_stored(engine, fake_llm):
    tokens = ["Totally", " fair", " to", " compare", ":", " our", " plans", " are", " fixed",
              " monthly", " tiers", "."]
    before = len(fake_llm.requests)
    r = run_clip(engine, fake_llm, Script(tokens=tokens, token_delay=0.1))
    cards = algolia_cards(r)
    assert cards[0]["composer"] == "extractive" and not cards[0]["partial"]
    llm = [c for c in cards if c["composer"] == "llm"]
    assert len(llm) >= 2 and llm[-1]["partial"] is False and any(c["partial"] for c in llm)
    assert llm[-1]["text"] == "".join(tokens).strip()
    assert {c["suggestion_id"] for c in cards} == {cards[0]["suggestion_id"]}  # updates in place
    assert llm[-1]["prompt_version"].startswith("suggest_reply")
    extractive = [c for c in cards if c["composer"] == "extractive"]
    assert llm[-1]["sources"] == extractive[-1]["sources"]
    assert extractive[-1]["sources"][0]["section"] == "algolia/pricing"
    sent = fake_llm.requests[before].body["messages"]
    assert "algolia" in str(sent).lower()
    stored = [e for e in engine.store.events(r.call_id) if e["type"] == "suggestion"]
    assert [e["composer"] for e in stored][-2:] == ["extractive", "llm"]  # partials not stored
    assert all(not e["partial"] for e in stored)


def test_llm_timeout_keeps_the_extractive_reply(engine, fake_llm):
    r = run_clip(engine, fake_llm, Script(tokens=["late"], first_byte_delay=3.0),
                 first_token_timeout_s=0.5)
    cards = algolia_cards(r)
    assert cards and all(c["composer"] == "extractive" for c in cards)
    assert not r.of_type("error")
