"""Benchmark: LLM composer overhead on the first token, against the loopback fake server.

What it measures: for each run, the time from the fake server writing the first content token
(``time.perf_counter`` in the server thread, same process) to :meth:`LlmComposer.astream`
yielding its first delta — i.e. our cost on top of the model: HTTP/SSE parsing in ``openai``,
LangChain's runnable plumbing, redaction already done, and the reply guard. The server waits
``--first-byte-delay`` seconds before answering, like a model doing prefill, so connection reuse
and the deadline machinery are exercised as in a real call. A baseline run of the bare
``openai.AsyncOpenAI`` stream in the same process gives the ratio.

Target (docs/llm.md): p95 ≤ 0.5 s after the server's first byte.

Run:  .venv/bin/python eval/bench_llm.py [--runs 50] [--first-byte-delay 0.2] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from contextlib import aclosing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: copilot/ and tests/ importable

import openai  # noqa: E402

from copilot.config import LlmSettings  # noqa: E402
from copilot.playbooks.model import Section  # noqa: E402
from copilot.suggest.llm import LlmComposer  # noqa: E402
from tests.fake_openai_server import FakeOpenAI, Script  # noqa: E402

__all__ = ["main"]

TOKENS = ["We", " are", " a", " flat", " $1,200", " a", " year", " with", " unlimited", " requests."]
SECTION = Section(
    id="algolia/pricing",
    file="competitors/algolia.md",
    title="Algolia: pricing",
    kind="battlecard",
    text="Our Pro plan is $1,200 per year, flat, with unlimited search requests.",
    reply="We are a flat $1,200 a year with unlimited requests.",
    competitor="algolia",
    claim_types=("pricing",),
)
CALL = {
    "utterance": "Algolia is cheaper, send the quote to ops@example.com",
    "context": ["we have forty engineers", "call me at 415-555-0134"],
    "competitor_name": "Algolia",
    "claim_type": "pricing",
    "sections": [SECTION],
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_s": round(statistics.median(values), 5),
        "p95_s": round(_pct(values, 0.95), 5),
        "max_s": round(max(values), 5),
        "mean_s": round(statistics.fmean(values), 5),
    }


async def _composer_runs(server: FakeOpenAI, runs: int) -> tuple[list[float], list[float]]:
    after_first_byte, end_to_end = [], []
    settings = LlmSettings(
        base_url=server.base_url, model="bench", first_token_timeout_s=5.0, total_timeout_s=10.0
    )
    async with LlmComposer(settings, ROOT / "prompts") as composer:
        for _ in range(runs):
            server.requests.clear()
            t0 = time.perf_counter()
            async with aclosing(composer.astream(**CALL)) as stream:  # type: ignore[arg-type]
                first_at = None
                async for _delta in stream:
                    if first_at is None:
                        first_at = time.perf_counter()
            sent_at = server.requests[0].first_token_sent_at
            assert first_at is not None and sent_at is not None
            after_first_byte.append(first_at - sent_at)
            end_to_end.append(first_at - t0)
    return after_first_byte, end_to_end


async def _baseline_runs(server: FakeOpenAI, runs: int) -> list[float]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    out = []
    try:
        for _ in range(runs):
            server.requests.clear()
            stream = await client.chat.completions.create(
                model="bench", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            first_at = None
            async for chunk in stream:
                if first_at is None and chunk.choices and chunk.choices[0].delta.content:
                    first_at = time.perf_counter()
            sent_at = server.requests[0].first_token_sent_at
            assert first_at is not None and sent_at is not None
            out.append(first_at - sent_at)
    finally:
        await client.close()
    return out


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--first-byte-delay", type=float, default=0.2)
    ap.add_argument("--token-delay", type=float, default=0.01)
    ap.add_argument("--target-p95", type=float, default=0.5)
    ap.add_argument("--out", default=str(ROOT / "eval" / "results" / "bench_llm.json"))
    args = ap.parse_args(argv)

    with FakeOpenAI() as server:
        server.script = Script(
            tokens=TOKENS, first_byte_delay=args.first_byte_delay, token_delay=args.token_delay
        )
        asyncio.run(_composer_runs(server, 2))  # warm-up: imports, first connection
        after, e2e = asyncio.run(_composer_runs(server, args.runs))
        baseline = asyncio.run(_baseline_runs(server, args.runs))

    result: dict[str, object] = {
        "benchmark": "llm_first_token",
        "command": "python eval/bench_llm.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.machine()} {platform.system()} py{platform.python_version()}",
        "runs": args.runs,
        "server_first_byte_delay_s": args.first_byte_delay,
        "composer_after_server_first_token": _summary(after),
        "composer_request_to_first_delta": _summary(e2e),
        "baseline_openai_after_server_first_token": _summary(baseline),
        "overhead_ratio_p50": round(statistics.median(after) / statistics.median(baseline), 2),
        "target_p95_s": args.target_p95,
    }
    result["meets_target"] = _pct(after, 0.95) <= args.target_p95
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["meets_target"] else 1)
