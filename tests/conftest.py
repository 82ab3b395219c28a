"""Fixtures shared by the whole suite: shared data, one loaded engine, a live server thread."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = (REPO_ROOT / "../shared/data").resolve()
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SALES_CALL = FIXTURES / "audio" / "sales_call_two_competitors.wav"
PLAYBOOKS_DIR = REPO_ROOT / "playbooks"


def shared_file(rel: str) -> Path:
    """A file under ../shared/data; skips (with the reason) only where that folder is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a user's own clone); CI provides it")
    path = SHARED / rel
    assert path.exists(), f"{path} missing from the shared data folder"
    return path


@pytest.fixture(scope="session")
def embedder():  # noqa: ANN201
    """The real MiniLM embedding model, loaded once per process."""
    from copilot.retrieve.embedder import Embedder

    return Embedder.shared()


@pytest.fixture(scope="session")
def playbooks():  # noqa: ANN201
    """The repo's own playbooks."""
    from copilot.playbooks.loader import load_playbooks

    return load_playbooks(PLAYBOOKS_DIR)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The real engine (Whisper tiny.en, Silero VAD, MiniLM, FAISS) loaded once per session."""
    from copilot.config import load_settings
    from copilot.engine import Engine

    root = tmp_path_factory.mktemp("engine")
    settings = load_settings(store={"path": str(root / "copilot.sqlite3")})
    eng = Engine.load(settings)
    yield eng
    eng.close()


class ServerThread:
    """A real CopilotServer on 127.0.0.1:0 running in its own thread and event loop."""

    def __init__(self, engine, settings=None) -> None:  # noqa: ANN001
        from copilot.server import running_server

        self._ctx = running_server(settings or engine.settings, "127.0.0.1", 0, engine=engine)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.server = None
        self._thread = threading.Thread(target=self._run, name="copilot-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("server did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with self._ctx as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}"

    def call(self, call_id: str):  # noqa: ANN201
        """The server's LiveCall for ``call_id`` (for white-box assertions)."""
        return self.server.calls.get(call_id)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


@pytest.fixture(scope="session")
def live_server(engine) -> Iterator[ServerThread]:  # noqa: ANN001
    srv = ServerThread(engine)
    yield srv
    srv.close()


def drop_and_resume(url: str, pcm: bytes, cut: int, offline_s: float) -> tuple[dict, list[dict]]:
    """BUGS S12 as a client does it: send ``pcm[:cut]``, drop the socket, stay offline for
    ``offline_s``, reconnect with the same call id and send from the server's ``resumed_from``.

    Returns the resumed ``ready`` event and every event after it, up to ``ended``.
    """
    import json
    import time

    from websockets.sync.client import connect

    def until(ws, kind: str) -> list[dict]:  # noqa: ANN001
        out, end = [], time.time() + 120
        while time.time() < end:
            out.append(json.loads(ws.recv(timeout=max(0.1, end - time.time()))))
            if out[-1]["type"] == kind:
                return out
        raise AssertionError(f"no {kind!r} event")

    with connect(url) as ws:
        ws.send(json.dumps({"type": "start"}))
        until(ws, "ready")
        for i in range(0, cut, 1280):
            ws.send(pcm[i:min(i + 1280, cut)])
        time.sleep(0.4)
    time.sleep(offline_s)  # the client is offline, buffering
    with connect(url) as ws:
        ws.send(json.dumps({"type": "start"}))
        ready = until(ws, "ready")[-1]
        offset = int(round(ready["resumed_from"] * 16000)) * 2
        for i in range(offset, len(pcm), 1280):
            ws.send(pcm[i:i + 1280])
        ws.send(json.dumps({"type": "stop"}))
        return ready, until(ws, "ended")
