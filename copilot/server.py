"""The websocket server (``websockets`` asyncio API): the only module that touches sockets.

Routes: ``/v1/calls/{call_id}`` (wire v1, docs/protocol.md), ``/healthz``. Errors become
``error`` events in exactly one place (:meth:`CopilotServer._report`); a bad frame never ends the
call and never loses what was received before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from copilot.call import LiveCall
from copilot.config import LlmSettings
from copilot.engine import Engine
from copilot.errors import CopilotError, MessageTooLarge, ProtocolError
from copilot.events import CLAIM_TYPES, AnnotationAck, ErrorEvent, Pong
from copilot.playbooks.loader import OBJECTION_TYPES
from copilot.protocol import Annotate, Ping, Start, Stop, parse_client_message, valid_call_id
from copilot.serializers.twilio import TwilioStream
from copilot.suggest.llm import LlmComposer

__all__ = ["CopilotServer"]

log = logging.getLogger(__name__)

CALL_PREFIX = "/v1/calls/"
WATCH_PREFIX = "/v1/watch/"
TWILIO_PATH = "/v1/twilio"
WEB_DIR = Path(__file__).parent / "web"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
          ".json": "application/json"}
#: the websocket layer's own hard limit; frames between our limit and this get an error event
_WS_HARD_LIMIT = 4 * 1024 * 1024


@dataclass
class CopilotServer:
    engine: Engine
    resume_grace_s: float = 30.0
    calls: dict[str, LiveCall] = field(default_factory=dict)
    llm: LlmComposer | None = None
    llm_settings: LlmSettings | None = None  # default: the engine's
    _server: Server | None = None
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    #: the widget's static files, read once at start-up (no file I/O per request)
    _assets: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._assets = _load_assets(WEB_DIR)

    async def start(self, host: str, port: int) -> Server:
        llm_settings = self.llm_settings or self.engine.settings.llm
        if self.llm is None and llm_settings.base_url:
            # made inside the running loop: its HTTP client belongs to this loop
            self.llm = LlmComposer(llm_settings, self.engine.settings.prompts_dir)
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            max_size=_WS_HARD_LIMIT,
            compression=None,  # PCM gains little from deflate and costs CPU per frame
        )
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1] if self._server.sockets else 0

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for call in list(self.calls.values()):
            await call.stop("server_shutdown")
        for task in list(self._background):
            task.cancel()
        if self.llm is not None:
            await self.llm.aclose()

    # HTTP -------------------------------------------------------------------------------
    async def _process_request(self, connection: ServerConnection,
                               request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/healthz":
            return connection.respond(HTTPStatus.OK, "OK\n")
        if path.startswith((CALL_PREFIX, WATCH_PREFIX)) or path == TWILIO_PATH:
            return None
        if path == "/v1/calls":
            return _json(connection, await self._recent_calls(parse_qs(query)))
        if path == "/v1/catalog":
            return _json(connection, self._catalog())
        if path == "/":
            path = "/index.html"
        asset = self._assets.get(path.lstrip("/"))
        if asset is not None and "upgrade" not in request.headers.get("Connection", "").lower():
            body, content_type = asset
            resp = connection.respond(HTTPStatus.OK, "")
            resp.headers = Headers([(k, v) for k, v in resp.headers.raw_items()
                                    if k.lower() not in ("content-type", "content-length")])
            resp.headers["Content-Type"] = content_type
            resp.headers["Content-Length"] = str(len(body))
            resp.headers["Cache-Control"] = "no-cache"
            return Response(resp.status_code, resp.reason_phrase, resp.headers, body)
        return _plain(connection, HTTPStatus.NOT_FOUND, f"no such endpoint: {path}\n")

    async def _recent_calls(self, q: dict[str, list[str]]) -> list[dict[str, Any]]:
        """``GET /v1/calls?rep=…&account=…&limit=…``: newest first, for the widget's call list."""
        rep, account = q.get("rep", [None])[0], q.get("account", [None])[0]
        try:
            limit = max(1, min(100, int(q.get("limit", ["20"])[0])))
        except ValueError:
            limit = 20
        store = self.engine.store
        records = await asyncio.get_running_loop().run_in_executor(
            self.engine.store_pool, lambda: store.calls(500))
        out = [r.__dict__ for r in records
               if (rep is None or r.rep == rep) and (account is None or r.account == account)]
        return out[:limit]

    def _catalog(self) -> dict[str, Any]:
        """``GET /v1/catalog``: competitors and claim/objection types (the "AI missed this" picker)."""
        pb = self.engine.playbooks
        return {
            "playbook_version": pb.version,
            "competitors": [{"id": c.id, "name": c.name} for c in pb.competitors],
            "claim_types": list(CLAIM_TYPES),
            "objection_types": list(OBJECTION_TYPES),
        }

    # websocket --------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0] if ws.request else ""
        if path == TWILIO_PATH:
            await self._handle_twilio(ws)
            return
        if path.startswith(WATCH_PREFIX):
            await self._handle_watch(ws, path[len(WATCH_PREFIX):])
            return
        call_id = path[len(CALL_PREFIX):]
        if not valid_call_id(call_id):
            await self._send_direct(ws, ErrorEvent(
                code="bad_call_id", fatal=True,
                message="call id must be 1-128 characters of letters, digits, '.', '_' or '-'"))
            await ws.close(1008, "bad call id")
            return
        call: LiveCall | None = None
        limit = self.engine.settings.server.max_message_bytes
        try:
            async for message in ws:
                try:
                    if len(message) > limit:
                        raise MessageTooLarge(
                            f"frame of {len(message)} bytes is over the {limit}-byte limit; "
                            "send audio in 20-250 ms frames (it was dropped, the call goes on)")
                    if isinstance(message, bytes):
                        if call is None:
                            raise ProtocolError("binary audio before 'start': send the JSON "
                                                "'start' message first (audio dropped)")
                        await call.push_audio(message)
                        continue
                    msg = parse_client_message(message)
                    if isinstance(msg, Start):
                        if call is not None:
                            raise ProtocolError("'start' was already received for this call")
                        call = await self._open(call_id, msg, ws.send)
                    elif isinstance(msg, Stop):
                        if call is None:
                            raise ProtocolError("'stop' before 'start'")
                        await call.stop("stop")
                        self.calls.pop(call_id, None)
                        break
                    elif isinstance(msg, Ping):
                        await (call.emit(Pong(), persist=False) if call else
                               self._send_direct(ws, Pong(call_id=call_id)))
                    elif isinstance(msg, Annotate):
                        if call is None:
                            raise ProtocolError("'annotate' before 'start'")
                        await self._annotate(call, msg)
                except CopilotError as exc:
                    await self._report(ws, call, call_id, exc)
                    if not exc.recoverable:
                        break
        except ConnectionClosed:
            pass
        finally:
            if call is not None and not call.finished.is_set() and self.calls.get(call_id) is call:
                call.detach(self.resume_grace_s, lambda: self._expire(call_id))
        if call is not None and call.finished.is_set():
            await ws.close(1000, "call ended")

    async def _open(self, call_id: str, start: Start, send: Any) -> LiveCall:
        existing = self.calls.get(call_id)
        if existing is not None and not existing.finished.is_set():
            if existing.fmt != start.format or existing.start_msg.speakers != start.speakers:
                raise ProtocolError("resumed call must declare the same audio format and speakers")
            await existing.attach(send)
            log.info("call %s resumed at %.2f s of audio", call_id, existing.received_s)
            return existing
        call = LiveCall(self.engine, call_id, start, self.llm)
        self.calls[call_id] = call
        await call.open(send)
        log.info("call %s started (%s %d Hz x%d)", call_id, start.format.encoding,
                 start.format.sample_rate, start.format.channels)
        return call

    async def _handle_twilio(self, ws: ServerConnection) -> None:
        """Twilio Media Streams: μ-law 8 kHz, inbound → customer, outbound → rep.

        Twilio takes no events back on a one-way stream, so events go to the store and to
        watchers (``/v1/watch/{call_id}``: the rep's widget).
        """
        stream = TwilioStream()
        call: LiveCall | None = None
        try:
            async for message in ws:
                try:
                    if isinstance(message, bytes):
                        raise ProtocolError("Twilio sends JSON text frames; binary frame dropped")
                    audio = stream.feed(message)
                    if call is None and stream.start is not None:
                        call = await self._open(stream.start.call_id,
                                                stream.start.start_message(), None)
                    if audio and call is not None:
                        await call.push_audio(audio)
                    if stream.stopped and call is not None:
                        await call.stop("stop")
                        self.calls.pop(call.call_id, None)
                        break
                except CopilotError as exc:
                    log.warning("twilio stream: %s: %s", exc.code, exc.message)
                    if call is not None:
                        await call.error(exc.code, exc.message)
        except ConnectionClosed:
            pass
        finally:
            if (call is not None and not call.finished.is_set()
                    and self.calls.get(call.call_id) is call):
                cid = call.call_id
                call.detach(self.resume_grace_s, lambda: self._expire(cid))

    async def _handle_watch(self, ws: ServerConnection, call_id: str) -> None:
        """A read-only view of a call (history, then live events); annotations and pings allowed."""
        call = self.calls.get(call_id)
        if call is None:
            loop = asyncio.get_running_loop()
            try:
                history = await loop.run_in_executor(
                    self.engine.store_pool, lambda: list(self.engine.store.events(call_id)))
            except CopilotError as exc:
                await self._send_direct(ws, ErrorEvent(call_id=call_id, code=exc.code,
                                                       message=exc.message, fatal=True))
                await ws.close(4404, "unknown call")
                return
            for data in history:
                await ws.send(json.dumps(data, ensure_ascii=False))
            await ws.close(1000, "call already ended")
            return
        await call.watch(ws.send)
        try:
            async for message in ws:
                try:
                    if isinstance(message, bytes):
                        raise ProtocolError("a watcher sends no audio")
                    msg = parse_client_message(message)
                    if isinstance(msg, Annotate):
                        await self._annotate(call, msg)
                    elif isinstance(msg, Ping):
                        await ws.send(Pong(call_id=call_id).to_json())
                    else:
                        raise ProtocolError("a watcher may only send 'annotate' and 'ping'")
                except CopilotError as exc:
                    await self._send_direct(ws, ErrorEvent(call_id=call_id, code=exc.code,
                                                           message=exc.message))
        except ConnectionClosed:
            pass
        finally:
            call.watchers.discard(ws.send)

    def _expire(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is None:
            return
        task = asyncio.get_running_loop().create_task(call.stop("disconnected"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _annotate(self, call: LiveCall, msg: Annotate) -> None:
        loop = asyncio.get_running_loop()
        store = self.engine.store
        revision = await loop.run_in_executor(
            self.engine.store_pool,
            lambda: store.annotate(call.call_id, msg.annotation_id, msg.target_id, msg.action,
                                   msg.fields),
        )
        await call.emit(AnnotationAck(annotation_id=msg.annotation_id, target_id=msg.target_id,
                                      action=msg.action, revision=revision), persist=False)

    async def _report(self, ws: ServerConnection, call: LiveCall | None, call_id: str,
                      exc: CopilotError) -> None:
        """The one place where errors become wire events."""
        log.warning("call %s: %s: %s", call_id, exc.code, exc.message)
        if call is not None:
            await call.error(exc.code, exc.message, fatal=not exc.recoverable)
        else:
            await self._send_direct(ws, ErrorEvent(call_id=call_id, code=exc.code,
                                                   message=exc.message, fatal=not exc.recoverable))

    @staticmethod
    async def _send_direct(ws: ServerConnection, event: Any) -> None:
        try:
            await ws.send(event.to_json())
        except ConnectionClosed:
            pass


def _json(connection: ServerConnection, data: Any) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode()
    resp = connection.respond(HTTPStatus.OK, "")
    headers = Headers([(k, v) for k, v in resp.headers.raw_items()
                       if k.lower() not in ("content-type", "content-length")])
    headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-store"
    return Response(resp.status_code, resp.reason_phrase, headers, body)


def _load_assets(root: Path) -> dict[str, tuple[bytes, str]]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), _TYPES.get(p.suffix, "application/octet-stream"))
        for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in _TYPES
    }


def _plain(connection: ServerConnection, status: HTTPStatus, text: str) -> Response:
    resp = connection.respond(status, text)
    resp.headers = Headers(resp.headers)
    return resp


class running_server:  # noqa: N801 - used as ``async with running_server(...)``
    """Load the engine (in a thread) and serve until the block exits. Yields the server."""

    def __init__(self, settings: Any, host: str | None = None, port: int | None = None,
                 engine: Engine | None = None) -> None:
        self.settings = settings
        self.host = host if host is not None else settings.server.host
        self.port = port if port is not None else settings.server.port
        self._engine = engine
        self._own_engine = engine is None
        self.server: CopilotServer | None = None

    async def __aenter__(self) -> CopilotServer:
        engine = self._engine or await asyncio.to_thread(Engine.load, self.settings)
        self._engine = engine
        self.server = CopilotServer(engine, llm_settings=self.settings.llm)
        await self.server.start(self.host, self.port)
        return self.server

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            await self.server.close()
        if self._own_engine and self._engine is not None:
            await asyncio.to_thread(self._engine.close)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://{self.host}:{self.server.port}"
