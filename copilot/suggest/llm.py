"""LLM reply composer: an OpenAI-compatible endpoint through LangChain, streamed, guarded.

The composer is optional (``llm.base_url`` empty = extractive replies only) and never the last
word: every way it can fail raises :class:`~copilot.errors.LlmError`, and the caller keeps the
extractive reply it already sent. In order, a request:

1. redacts the utterance and the call context (:func:`copilot.suggest.redact.redact`) — nothing
   personal leaves the process;
2. renders a versioned prompt from ``prompts/`` (:func:`load_prompt`) with the retrieved playbook
   sections as numbered-by-id sources;
3. streams ``prompt | ChatOpenAI(streaming=True) | StrOutputParser()`` under two deadlines
   (first token, total), with client retries off — a retry would land after the rep has moved on;
4. passes deltas through :class:`ReplyGuard`, which holds back just enough text to catch
   ``NO_ANSWER`` and numbers (prices, percentages) the sources do not contain, *before* they are
   yielded.

Shape of the prompt file (``prompts/<id>.v<version>.md``): YAML front matter with ``id``,
``version``, ``description`` and ``inputs``, then a ``# system`` and a ``# user`` section in
LangChain f-string syntax. See docs/llm.md.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import httpx
import openai
import yaml
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

from copilot.config import LlmSettings
from copilot.errors import ConfigError, LlmDeclined, LlmError
from copilot.playbooks.model import Section
from copilot.suggest.redact import redact

__all__ = [
    "NO_ANSWER",
    "LlmComposer",
    "LlmReply",
    "LoadedPrompt",
    "ReplyGuard",
    "format_sources",
    "load_prompt",
    "numbers_in",
]

logger = logging.getLogger(__name__)

#: what the prompt asks the model to answer when the sources do not cover the claim
NO_ANSWER = "NO_ANSWER"
#: earlier utterances sent as context: enough to resolve "they" / "it", bounded prompt size
MAX_CONTEXT_LINES = 6
#: per-section cap so one long pack cannot crowd out the others (or the model's context)
MAX_SOURCE_CHARS = 1200

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)
_PART_HEADING = re.compile(r"^# (system|user)\s*$", re.MULTILINE)


class LoadedPrompt(NamedTuple):
    """A prompt template and the version string a suggestion records (e.g. ``suggest_reply.v1``)."""

    template: ChatPromptTemplate
    version: str


def _prompt_file(prompts_dir: Path, name: str) -> Path:
    exact = prompts_dir / f"{name}.md"
    if exact.is_file():
        return exact
    # A bare id ("suggest_reply") means its newest version.
    versions = []
    for path in prompts_dir.glob(f"{name}.v*.md"):
        m = re.fullmatch(re.escape(name) + r"\.v(\d+)\.md", path.name)
        if m:
            versions.append((int(m.group(1)), path))
    if not versions:
        raise ConfigError(f"prompt {name!r} not found in {prompts_dir}")
    return max(versions)[1]


def load_prompt(prompts_dir: str | Path, name: str) -> LoadedPrompt:
    """Load ``prompts_dir/<name>.md`` (or the newest ``<name>.v<N>.md``) as a chat template.

    Args:
        prompts_dir: folder of prompt files.
        name: ``suggest_reply.v1`` (exact version) or ``suggest_reply`` (newest version).

    Returns:
        The template (system + human message) and its version string ``<id>.v<version>``.

    Raises:
        ConfigError: missing file, bad front matter, missing ``# system``/``# user`` part, or
            template variables that differ from the declared ``inputs``.
    """
    path = _prompt_file(Path(prompts_dir), name)
    m = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if m is None:
        raise ConfigError(f"{path}: prompt file must start with YAML front matter between ---")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: bad front matter: {exc}") from None
    missing = [k for k in ("id", "version", "inputs") if k not in meta]
    if missing:
        raise ConfigError(f"{path}: front matter lacks {', '.join(missing)}")
    pieces = _PART_HEADING.split(m.group(2))
    parts = {pieces[i]: pieces[i + 1].strip() for i in range(1, len(pieces) - 1, 2)}
    if set(parts) != {"system", "user"}:
        raise ConfigError(f"{path}: needs exactly one '# system' and one '# user' section")
    template = ChatPromptTemplate.from_messages(
        [("system", parts["system"]), ("human", parts["user"])]
    )
    declared = set(meta["inputs"])
    if set(template.input_variables) != declared:
        raise ConfigError(
            f"{path}: template uses {sorted(template.input_variables)} "
            f"but front matter declares {sorted(declared)}"
        )
    return LoadedPrompt(template, f"{meta['id']}.v{meta['version']}")


def format_sources(sections: Sequence[Section]) -> str:
    """Render retrieved sections for the prompt: id, title, body and the approved reply."""
    blocks = []
    for s in sections:
        body = s.text.strip()
        if len(body) > MAX_SOURCE_CHARS:
            body = body[:MAX_SOURCE_CHARS].rsplit(" ", 1)[0] + " …"
        block = f"[{s.id}] {s.title}\n{body}"
        if s.reply.strip():
            block += f"\nApproved reply: {s.reply.strip()}"
        blocks.append(block)
    return "\n\n".join(blocks) if blocks else "(no sources)"


# A number as people write prices, percentages, counts: "$1,200", "15%", "99.90", "2024".
_NUMBER = re.compile(
    r"(?P<cur>[$€£¥])?\s?(?P<num>\d+(?:[.,]\d+)*)(?P<pct>\s?(?:%|percent\b))?", re.IGNORECASE
)


def _normalise(num: str) -> str:
    # "1,200" and "1200" are the same fact; so are "99.90" and "99.9", "12.00" and "12".
    s = num.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s.lstrip("0") or "0"


def numbers_in(text: str) -> set[str]:
    """Normalised numbers in ``text`` (commas dropped, trailing decimal zeros dropped)."""
    return {_normalise(m.group("num")) for m in _NUMBER.finditer(text)}


def _checked_numbers(text: str) -> Iterable[str]:
    for m in _NUMBER.finditer(text):
        num = m.group("num")
        # A bare single digit ("2 options", "in 3 steps") is phrasing, not a claimed fact;
        # the same digit as a price or a percentage is checked.
        if len(num) == 1 and not (m.group("cur") or m.group("pct")):
            continue
        yield _normalise(num)


class ReplyGuard:
    """Pure filter over streamed text: catches ``NO_ANSWER`` and invented numbers early.

    Feed deltas with :meth:`feed`; it returns the text that is safe to show now. Text is held
    back only while it could still turn out to be ``NO_ANSWER`` (start of the reply) or while
    the last word contains a digit or currency sign (the number may not be complete yet).
    Call :meth:`finish` at the end of the stream for the rest.

    Raises (from ``feed``/``finish``):
        LlmDeclined: ``no_answer``, ``ungrounded`` or ``empty``.
    """

    def __init__(self, allowed_numbers: set[str]) -> None:
        self._allowed = allowed_numbers
        self._pending = ""
        self._text = ""  # everything seen, for the NO_ANSWER check
        self._started = False  # emitted anything yet

    @property
    def text(self) -> str:
        return self._text

    def feed(self, delta: str) -> str:
        self._text += delta
        self._pending += delta
        if not self._started:
            head = self._text.lstrip()
            if NO_ANSWER.startswith(head) or head.startswith(NO_ANSWER):
                if head.startswith(NO_ANSWER):
                    raise LlmDeclined("model answered NO_ANSWER", reason="no_answer")
                return ""  # could still become NO_ANSWER
            self._pending = self._pending.lstrip()
        cut = self._safe_cut(self._pending)
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return self._release(out)

    def finish(self) -> str:
        head = self._text.strip()
        if not head:
            raise LlmDeclined("model returned an empty reply", reason="empty")
        if head.startswith(NO_ANSWER) or NO_ANSWER in head:
            raise LlmDeclined("model answered NO_ANSWER", reason="no_answer")
        out, self._pending = self._pending, ""
        if not self._started:
            out = out.lstrip()
        return self._release(out).rstrip()

    @staticmethod
    def _safe_cut(pending: str) -> int:
        last_space = max(pending.rfind(" "), pending.rfind("\n"))
        tail = pending[last_space + 1 :]
        if re.search(r"[\d$€£¥]", tail):
            return last_space + 1 if last_space >= 0 else 0
        return len(pending)

    def _release(self, out: str) -> str:
        invented = [n for n in _checked_numbers(out) if n not in self._allowed]
        if invented:
            # Count only: the reply may echo what the customer said.
            logger.warning("llm reply dropped: %d number(s) not in the sources", len(invented))
            raise LlmDeclined("reply states numbers the sources do not", reason="ungrounded")
        if out:
            self._started = True
        return out


@dataclass(frozen=True)
class LlmReply:
    """A complete LLM reply (see :meth:`LlmComposer.compose`)."""

    text: str
    prompt_version: str
    model: str
    redactions: int  # how many spans were redacted from what was sent
    first_token_s: float
    total_s: float


class LlmComposer:
    """Streams a grounded suggested reply from an OpenAI-compatible chat endpoint.

    Args:
        settings: endpoint, model, sampling and the two deadlines.
        prompts_dir: folder holding ``settings.prompt`` (e.g. ``suggest_reply.v1.md``).
        http_client: the async HTTP client to use; by default the composer makes its own and
            closes it in :meth:`aclose`. (LangChain would otherwise share one cached client per
            base URL across event loops.)

    Raises:
        ConfigError: ``settings.base_url`` is empty (no LLM configured) or the prompt is bad.

    After use, ``await composer.aclose()`` (or use ``async with``) to close its connections.
    """

    def __init__(
        self,
        settings: LlmSettings,
        prompts_dir: str | Path,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not settings.base_url:
            raise ConfigError("llm.base_url is empty: the LLM composer is not configured")
        self.settings = settings
        self.prompt = load_prompt(prompts_dir, settings.prompt)
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.total_timeout_s, connect=settings.first_token_timeout_s)
        )
        model = ChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            streaming=True,
            # Our deadlines decide; a client retry would arrive after the moment has passed.
            max_retries=0,
            timeout=settings.total_timeout_s,
            # vLLM / Ollama / llama.cpp speak chat completions, not the Responses API.
            use_responses_api=False,
            stream_usage=False,
            http_async_client=self._http,
        )
        self._chain = self.prompt.template | model | StrOutputParser()

    async def aclose(self) -> None:
        """Close the HTTP connections (only those of a client the composer created)."""
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> LlmComposer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def prompt_version(self) -> str:
        return self.prompt.version

    def build_inputs(
        self,
        *,
        utterance: str,
        context: Sequence[str],
        competitor_name: str | None,
        claim_type: str,
        sections: Sequence[Section],
    ) -> tuple[dict[str, str], int]:
        """Prompt variables with the utterance and context redacted; also the redaction count."""
        said, found = redact(utterance)
        lines = []
        for line in list(context)[-MAX_CONTEXT_LINES:]:
            clean, more = redact(line)
            found += more
            lines.append(f"- {clean}")
        inputs = {
            "competitor_name": competitor_name or "(not named)",
            "claim_type": claim_type,
            "utterance": said,
            "context": "\n".join(lines) if lines else "(none)",
            "sources": format_sources(sections),
        }
        return inputs, len(found)

    async def astream(
        self,
        *,
        utterance: str,
        context: Sequence[str],
        competitor_name: str | None,
        claim_type: str,
        sections: Sequence[Section],
    ) -> AsyncIterator[str]:
        """Yield the reply as text deltas, in order.

        Deadlines run from the call: no first token within ``first_token_timeout_s``, or no
        end within ``total_timeout_s`` (time the caller spends between deltas counts too).

        Use it under ``contextlib.aclosing(...)``: to cancel (a new utterance came), stop
        iterating and close it, or cancel the task iterating it; the HTTP stream is closed
        at once and the server sees the disconnect.

        Raises:
            LlmError: ``retryable=True`` on timeout, connection failure, HTTP 5xx/429; ``False``
                on other HTTP 4xx (bad key or model: retrying will not help).
            LlmDeclined: the model said NO_ANSWER, invented a number, or said nothing.
            In every case text already yielded must be discarded; the extractive reply stands.
        """
        inputs, _ = self.build_inputs(
            utterance=utterance,
            context=context,
            competitor_name=competitor_name,
            claim_type=claim_type,
            sections=sections,
        )
        allowed = numbers_in(
            "\n".join([inputs["sources"], inputs["utterance"], inputs["context"]])
        )
        guard = ReplyGuard(allowed)
        loop = asyncio.get_running_loop()
        start = loop.time()
        first_deadline = start + self.settings.first_token_timeout_s
        total_deadline = start + self.settings.total_timeout_s
        got_token = False
        stream = self._chain.astream(inputs)
        try:
            while True:
                deadline = total_deadline if got_token else min(first_deadline, total_deadline)
                try:
                    # asyncio.timeout (not wait_for) so the stream's __anext__ runs in this task.
                    async with asyncio.timeout_at(deadline):
                        delta = await anext(stream)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    which = "first token" if deadline < total_deadline else "total"
                    raise LlmError(
                        f"LLM {which} deadline passed after {loop.time() - start:.2f}s",
                        retryable=True,
                    ) from None
                except openai.APIStatusError as exc:
                    retry = exc.status_code >= 500 or exc.status_code in (408, 409, 429)
                    raise LlmError(
                        f"LLM endpoint returned HTTP {exc.status_code}", retryable=retry
                    ) from exc
                except (openai.APIError, httpx.HTTPError, OSError) as exc:
                    raise LlmError(
                        f"LLM endpoint failed: {type(exc).__name__}", retryable=True
                    ) from exc
                if not delta:
                    continue
                got_token = True
                out = guard.feed(delta)
                if out:
                    yield out
            tail = guard.finish()
            if tail:
                yield tail
        finally:
            await stream.aclose()

    async def compose(
        self,
        *,
        utterance: str,
        context: Sequence[str],
        competitor_name: str | None,
        claim_type: str,
        sections: Sequence[Section],
    ) -> LlmReply:
        """Run :meth:`astream` to the end and return the whole reply with its timings.

        Raises:
            LlmError, LlmDeclined: as :meth:`astream`.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        first = 0.0
        parts: list[str] = []
        kwargs = {
            "utterance": utterance,
            "context": context,
            "competitor_name": competitor_name,
            "claim_type": claim_type,
            "sections": sections,
        }
        _, redactions = self.build_inputs(**kwargs)  # type: ignore[arg-type]
        async with aclosing(self.astream(**kwargs)) as stream:  # type: ignore[arg-type]
            async for delta in stream:
                if not parts:
                    first = loop.time() - start
                parts.append(delta)
        return LlmReply(
            text="".join(parts),
            prompt_version=self.prompt_version,
            model=self.settings.model,
            redactions=redactions,
            first_token_s=first,
            total_s=loop.time() - start,
        )
