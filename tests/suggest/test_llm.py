"""LLM composer over real HTTP: LangChain + openai client against the loopback fake server."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from copilot.config import LlmSettings
from copilot.errors import ConfigError, LlmDeclined, LlmError
from copilot.playbooks.model import Section
from copilot.suggest.llm import (
    LlmComposer,
    ReplyGuard,
    format_sources,
    load_prompt,
    numbers_in,
)

# tests/ is not a package; the fake server is a sibling module of this folder's parent.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_openai_server import FakeOpenAI, Script  # noqa: E402

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"

SECTION = Section(
    id="algolia/pricing",
    file="competitors/algolia.md",
    title="Algolia: pricing",
    kind="battlecard",
    text="Our Pro plan is $1,200 per year, flat, with unlimited search requests.",
    reply="We are a flat $1,200 a year with unlimited requests, so growth does not raise the bill.",
    competitor="algolia",
    claim_types=("pricing",),
)


@pytest.fixture(scope="session")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.script = Script()
    server.requests.clear()
    return server


def settings(fake: FakeOpenAI, **kw: object) -> LlmSettings:
    base = {"base_url": fake.base_url, "model": "fake-model", "api_key": "sk-test"}
    base.update(kw)
    return LlmSettings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def composer(fake: FakeOpenAI) -> AsyncIterator[LlmComposer]:
    c = LlmComposer(
        # generous: these tests are not about deadlines, and the CI box is shared
        settings(fake, first_token_timeout_s=5.0, total_timeout_s=10.0), PROMPTS
    )
    yield c
    await c.aclose()


CALL = {
    "utterance": "Algolia is way cheaper for us",
    "context": ["we have about 40 engineers"],
    "competitor_name": "Algolia",
    "claim_type": "pricing",
    "sections": [SECTION],
}


async def collect(c: LlmComposer, **overrides: object) -> list[str]:
    async with aclosing(c.astream(**{**CALL, **overrides})) as stream:  # type: ignore[arg-type]
        return [d async for d in stream]


# --- streaming over HTTP ---


async def test_deltas_stream_in_order(fake: FakeOpenAI, composer: LlmComposer) -> None:
    tokens = ["We", " are", " a", " flat", " $", "1,", "200", " a", " year", "."]
    fake.script = Script(tokens=tokens, token_delay=0.01)
    deltas = await collect(composer)
    assert "".join(deltas) == "".join(tokens)
    assert len(deltas) > 3  # streamed, not one blob at the end
    assert deltas[0] == "We"
    body = fake.requests[0].body
    assert body["stream"] is True
    assert body["model"] == "fake-model"
    assert fake.requests[0].headers["authorization"] == "Bearer sk-test"
    assert fake.requests[0].outcome == "complete"


async def test_prompt_carries_sources_with_ids_and_rules(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    await collect(composer)
    system, user = fake.requests[0].body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert "NO_ANSWER" in system["content"]
    assert "[algolia/pricing]" in user["content"]
    assert SECTION.reply in user["content"]
    assert "Algolia is way cheaper for us" in user["content"]
    assert composer.prompt_version == "suggest_reply.v1"


async def test_redaction_happens_before_anything_is_sent(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    await collect(
        composer,
        utterance="Algolia is cheaper, send it to dana.fox@bigcorp.com",
        context=["my card is 4111 1111 1111 1111", "call 415-555-0134 after five"],
    )
    raw = fake.requests[0].raw.decode()
    for secret in ("dana.fox@bigcorp.com", "4111 1111 1111 1111", "415-555-0134"):
        assert secret not in raw
    for placeholder in ("[EMAIL]", "[CARD]", "[PHONE]"):
        assert placeholder in raw


async def test_compose_returns_text_version_and_timings(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    fake.script = Script(tokens=["Happy", " to", " compare."], token_delay=0.02)
    reply = await composer.compose(**{**CALL, "utterance": "mail a@b.io"})  # type: ignore[arg-type]
    assert reply.text == "Happy to compare."
    assert reply.prompt_version == "suggest_reply.v1"
    assert reply.redactions == 1
    assert 0 < reply.first_token_s <= reply.total_s


# --- deadlines and failures: every one is an LlmError the caller can fall back on ---


async def test_no_first_byte_in_time_raises_quickly(fake: FakeOpenAI) -> None:
    fake.script = Script(first_byte_delay=3.0)
    async with LlmComposer(settings(fake, first_token_timeout_s=0.3), PROMPTS) as c:
        t0 = time.perf_counter()
        with pytest.raises(LlmError) as err:
            await collect(c)
        elapsed = time.perf_counter() - t0
    assert err.value.retryable is True
    assert "first token" in err.value.message
    assert 0.25 < elapsed < 2.5  # the server would have waited 3 s


async def test_headers_but_no_token_in_time_raises(fake: FakeOpenAI) -> None:
    # vLLM-style: the 200 and the SSE headers come at once, the first token late.
    fake.script = Script(tokens=["late"], token_delay=3.0)
    async with LlmComposer(settings(fake, first_token_timeout_s=0.3), PROMPTS) as c:
        t0 = time.perf_counter()
        with pytest.raises(LlmError, match="first token"):
            await collect(c)
        assert time.perf_counter() - t0 < 2.5  # the token was 3 s away


async def test_total_deadline_stops_a_slow_stream(fake: FakeOpenAI) -> None:
    fake.script = Script(tokens=[" word"] * 40, token_delay=0.1)  # 4 s in all
    got: list[str] = []
    async with LlmComposer(
        settings(fake, first_token_timeout_s=0.5, total_timeout_s=0.6), PROMPTS
    ) as c:
        t0 = time.perf_counter()
        with pytest.raises(LlmError, match="total") as err:
            async with aclosing(c.astream(**CALL)) as stream:  # type: ignore[arg-type]
                async for d in stream:
                    got.append(d)
        assert time.perf_counter() - t0 < 3.0
    assert err.value.retryable is True
    assert got, "tokens before the deadline were streamed"
    assert fake.requests[0].wait() == "disconnected"


async def test_http_500_is_retryable_llm_error_without_client_retries(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    fake.script = Script(status=500)
    with pytest.raises(LlmError) as err:
        await collect(composer)
    assert not isinstance(err.value, LlmDeclined)
    assert err.value.retryable is True
    assert "500" in err.value.message
    assert len(fake.requests) == 1  # max_retries=0: our deadline, not the client's, decides


async def test_http_401_is_not_retryable(fake: FakeOpenAI, composer: LlmComposer) -> None:
    fake.script = Script(status=401)
    with pytest.raises(LlmError) as err:
        await collect(composer)
    assert err.value.retryable is False


async def test_connection_refused_is_retryable(fake: FakeOpenAI) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = LlmSettings(base_url=f"http://127.0.0.1:{port}/v1", first_token_timeout_s=2.0)
    async with LlmComposer(cfg, PROMPTS) as c:
        with pytest.raises(LlmError) as err:
            await collect(c)
    assert err.value.retryable is True


async def test_connection_dropped_mid_stream(fake: FakeOpenAI, composer: LlmComposer) -> None:
    fake.script = Script(tokens=["We", " are", " fine"], drop_after=1)
    with pytest.raises(LlmError) as err:
        await collect(composer)
    assert err.value.retryable is True


# --- declining: NO_ANSWER and invented numbers ---


@pytest.mark.parametrize(
    "tokens", [["NO_ANSWER"], ["NO", "_ANS", "WER"], ["  ", "NO_", "ANSWER", "."]]
)
async def test_no_answer_declines_before_any_text_is_shown(
    fake: FakeOpenAI, composer: LlmComposer, tokens: list[str]
) -> None:
    fake.script = Script(tokens=tokens)
    shown: list[str] = []
    with pytest.raises(LlmDeclined) as err:
        async with aclosing(composer.astream(**CALL)) as stream:  # type: ignore[arg-type]
            async for d in stream:
                shown.append(d)
    assert err.value.reason == "no_answer"
    assert shown == []


async def test_reply_starting_with_no_is_not_no_answer(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    fake.script = Script(tokens=["No", ",", " we", " are", " flat."])
    assert "".join(await collect(composer)) == "No, we are flat."


async def test_invented_price_is_never_shown(fake: FakeOpenAI, composer: LlmComposer) -> None:
    fake.script = Script(tokens=["We", " cost", " only", " $", "900", " a", " year", "."])
    shown: list[str] = []
    with pytest.raises(LlmDeclined) as err:
        async with aclosing(composer.astream(**CALL)) as stream:  # type: ignore[arg-type]
            async for d in stream:
                shown.append(d)
    assert err.value.reason == "ungrounded"
    assert "900" not in "".join(shown)


async def test_numbers_from_sources_and_customer_are_allowed(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    fake.script = Script(
        tokens=["For", " 40", " engineers", " it", " stays", " $1,200.00", " in", " 2", " steps."]
    )
    assert "".join(await collect(composer)) == "For 40 engineers it stays $1,200.00 in 2 steps."


async def test_empty_reply_declines(fake: FakeOpenAI, composer: LlmComposer) -> None:
    fake.script = Script(tokens=[" ", "\n"])
    with pytest.raises(LlmDeclined) as err:
        await collect(composer)
    assert err.value.reason == "empty"


# --- cancellation ---


async def test_closing_the_stream_disconnects_the_server(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    fake.script = Script(tokens=[f" w{i}" for i in range(100)], token_delay=0.02)
    stream = composer.astream(**CALL)  # type: ignore[arg-type]
    got = [await anext(stream), await anext(stream)]
    await stream.aclose()  # a new utterance arrived
    assert len(got) == 2
    outcome = await asyncio.to_thread(fake.requests[0].wait, 10.0)
    assert outcome == "disconnected"
    # the composer is usable straight away for the next utterance
    fake.script = Script(tokens=["Next", " one."])
    assert "".join(await collect(composer)) == "Next one."


async def test_cancelling_the_consuming_task_disconnects_the_server(
    fake: FakeOpenAI, composer: LlmComposer
) -> None:
    fake.script = Script(tokens=[f" w{i}" for i in range(100)], token_delay=0.02)
    first = asyncio.Event()

    async def consume() -> None:
        async with aclosing(composer.astream(**CALL)) as stream:  # type: ignore[arg-type]
            async for _ in stream:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake.requests[0].wait, 10.0) == "disconnected"


# --- configuration and prompts ---


def test_composer_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        LlmComposer(LlmSettings(base_url=""), PROMPTS)


def test_load_prompt_returns_template_and_version() -> None:
    loaded = load_prompt(PROMPTS, "suggest_reply.v1")
    assert loaded.version == "suggest_reply.v1"
    assert set(loaded.template.input_variables) == {
        "competitor_name",
        "claim_type",
        "utterance",
        "context",
        "sources",
    }
    assert load_prompt(PROMPTS, "suggest_reply").version == "suggest_reply.v1"


PROMPT_V = """---
id: demo
version: {v}
description: test
inputs: [x]
---
# system
Say {{x}} in version {v}.
# user
{{x}}
"""


def test_bare_id_loads_newest_version(tmp_path: Path) -> None:
    for v in (1, 2, 10):
        (tmp_path / f"demo.v{v}.md").write_text(PROMPT_V.format(v=v))
    loaded = load_prompt(tmp_path, "demo")
    assert loaded.version == "demo.v10"
    messages = loaded.template.format_messages(x="hi")
    assert messages[0].content == "Say hi in version 10."


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("no front matter\n# system\nx\n# user\ny", "front matter"),
        ("---\nid: d\nversion: 1\ninputs: [x]\n---\n# system\n{x}\n", "# user"),
        ("---\nid: d\nversion: 1\ninputs: [x]\n---\n# system\n{x}\n# user\n{y}", "declares"),
        ("---\nid: d\ninputs: [x]\n---\n# system\n{x}\n# user\n{x}", "version"),
    ],
)
def test_bad_prompt_files_are_config_errors(tmp_path: Path, text: str, why: str) -> None:
    (tmp_path / "d.v1.md").write_text(text)
    with pytest.raises(ConfigError, match=why):
        load_prompt(tmp_path, "d.v1")


def test_missing_prompt_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_prompt(tmp_path, "nope")


# --- pure pieces ---


def test_numbers_are_normalised() -> None:
    assert numbers_in("$1,200.00 and 15% and 99.90, 0.5") == {"1200", "15", "99.9", ".5"}


def test_guard_holds_an_incomplete_number_until_it_ends() -> None:
    guard = ReplyGuard({"1200"})
    assert guard.feed("It is $1") == "It is "
    assert guard.feed(",200") == ""
    assert guard.feed(" flat") == "$1,200 flat"
    assert guard.finish() == ""


def test_guard_rejects_a_number_split_across_deltas() -> None:
    guard = ReplyGuard({"12"})
    guard.feed("Only 1")
    with pytest.raises(LlmDeclined):
        guard.feed("25% more")
        guard.finish()


def test_guard_allows_bare_single_digits_but_checks_prices() -> None:
    assert ReplyGuard(set()).feed("in 3 steps ") == "in 3 steps "
    with pytest.raises(LlmDeclined):
        ReplyGuard(set()).feed("only $5 more ")


def test_format_sources_caps_long_sections() -> None:
    long = Section(id="a/b", file="f.md", title="T", kind="battlecard", text="word " * 2000, reply="")
    text = format_sources([long])
    assert text.startswith("[a/b] T\n")
    assert len(text) < 1400
    assert format_sources([]) == "(no sources)"
