"""A small OpenAI-compatible chat-completions server on loopback, for tests and benchmarks.

The one stand-in DESIGN allows: the real ``openai`` / LangChain client code runs over real HTTP
(HTTP/1.1, keep-alive, chunked server-sent events) against it. It runs its own asyncio loop in
a background thread so that it works from sync code, from any test's event loop, and so that
its timing does not share a loop with the client under test.

Usage::

    with FakeOpenAI() as server:
        server.script = Script(tokens=["Hi", " there"], first_byte_delay=0.1)
        ChatOpenAI(base_url=server.base_url, ...)
        server.requests[0].body["messages"]      # what the client sent

Per request it records the parsed JSON body, how the response ended (``complete``,
``disconnected`` — the client went away mid-stream — or ``error``) and the
``time.perf_counter()`` at which the first content token was written, so a benchmark in the same
process can measure client-side latency after the server's first byte.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeOpenAI", "RecordedRequest", "Script"]


@dataclass
class Script:
    """How the server answers. Replace ``FakeOpenAI.script`` between requests to change it."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", ",", " world", "."])
    #: seconds before anything (status line included) is written
    first_byte_delay: float = 0.0
    #: seconds before each content token (the first one included)
    token_delay: float = 0.0
    #: non-200 → a JSON error body with this status instead of a stream
    status: int = 200
    #: close the socket without finishing after this many tokens (a dropped connection)
    drop_after: int | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    outcome: str = "pending"  # → complete | disconnected | error | dropped
    first_token_sent_at: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 5.0) -> str:
        """Block until the response ended (any outcome); return the outcome."""
        self.finished.wait(timeout)
        return self.outcome


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunked(data: bytes) -> bytes:
    # HTTP/1.1 chunked transfer coding (RFC 9112 §7.1) keeps the connection reusable.
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class FakeOpenAI:
    """OpenAI-compatible ``POST /v1/chat/completions`` (streaming and not) on 127.0.0.1."""

    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[RecordedRequest] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._on_connection, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- server side (runs on the server's own loop) ---

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # owned: cancelled by stop()
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                try:
                    keep = await self._respond(request, reader, writer)
                finally:
                    request.finished.set()
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels us; ending quietly keeps asyncio's stream callback from
            # reporting the cancellation as an unhandled error.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else {}
        return RecordedRequest(method, path, headers, body, raw)

    async def _respond(
        self,
        request: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        script = self.script
        if script.first_byte_delay:
            await asyncio.sleep(script.first_byte_delay)
        if not request.path.endswith("/chat/completions"):
            return await self._json(writer, request, 404, {"error": {"message": "not found"}})
        if script.status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return await self._json(writer, request, script.status, error)
        model = str(request.body.get("model", "fake"))
        if not request.body.get("stream"):
            text = "".join(script.tokens)
            message = {"role": "assistant", "content": text}
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
            await self._json(writer, request, 200, payload)
            request.outcome = "complete"
            return True
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        try:
            writer.write(_chunked(_chunk(model, {"role": "assistant", "content": ""})))
            await writer.drain()
            for i, token in enumerate(script.tokens):
                if script.token_delay:
                    await asyncio.sleep(script.token_delay)
                if reader.at_eof():  # the client closed its side: it stopped listening
                    request.outcome = "disconnected"
                    return False
                if script.drop_after is not None and i >= script.drop_after:
                    request.outcome = "dropped"
                    writer.transport.abort()
                    return False
                writer.write(_chunked(_chunk(model, {"content": token})))
                await writer.drain()
                if request.first_token_sent_at is None:
                    request.first_token_sent_at = time.perf_counter()
            writer.write(_chunked(_chunk(model, {}, finish="stop")))
            writer.write(_chunked(b"data: [DONE]\n\n") + _chunked(b""))
            await writer.drain()
        except ConnectionError:
            request.outcome = "disconnected"
            return False
        request.outcome = "complete"
        return True

    @staticmethod
    async def _json(
        writer: asyncio.StreamWriter, request: RecordedRequest, status: int, payload: Any
    ) -> bool:
        data = json.dumps(payload).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        request.outcome = "complete" if status == 200 else "error"
        return True
