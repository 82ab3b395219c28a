"""One live call: the async shell around the pure stages (audio → ASR → analysis → events).

Tasks (all owned here, cancelled by :meth:`LiveCall.close`):
- ``feed``: drains the audio queue, runs the VAD off the loop, feeds each channel's segmenter;
- one ``decode`` task per channel: runs Whisper in the engine's pool, publishes transcripts;
- ``analysis``: transcripts → flags → suggestions (embedding + retrieval in the analysis pool).

Events are stamped with ``seq`` and written to the store *before* they are sent (``emit``). A
call survives its websocket: when the connection drops without ``stop``, the call keeps its state
for ``resume_grace_s`` so the client can reconnect with the same call id and resume from
``Ready.resumed_from`` (BUGS S12); after that it is flushed and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

import numpy as np

from copilot.analysis import CallAnalyzer, Proposal
from copilot.asr.streaming import ChannelTranscriber, decode_request
from copilot.asr.vad import VadStream
from copilot.audio.formats import FormatSniffer, decode_frame
from copilot.audio.resample import StreamResampler
from copilot.engine import Engine
from copilot.errors import AudioFormatError, LlmError
from copilot.events import Ended, ErrorEvent, Event, Flag, Ready, Status, Suggestion, Transcript
from copilot.protocol import Start
from copilot.suggest.llm import LlmComposer

__all__ = ["LiveCall"]

log = logging.getLogger(__name__)

Sender = Callable[[str], Awaitable[None]]

#: a call further behind than this decodes its finals with the short encoder context
_FULL_CONTEXT_MAX_LAG_S = 1.0


class LiveCall:
    def __init__(self, engine: Engine, call_id: str, start: Start,
                 llm: LlmComposer | None = None) -> None:
        from copilot.retrieve.cooldown import Cooldown
        from copilot.suggest.extractive import compose_extractive

        self.engine = engine
        self.call_id = call_id
        self.start_msg = start
        self.fmt = start.format
        self._resampler = StreamResampler(self.fmt.sample_rate, self.fmt.channels)
        self._sniffer = FormatSniffer(self.fmt)
        opts = engine.segmenter_options()
        self.channels = [
            ChannelTranscriber(spk, VadStream(engine.vad), opts,
                               carry_context=engine.settings.asr.carry_context,
                               partial_commit=engine.settings.asr.partial_commit)
            for spk in start.speakers
        ]
        self._wake = [asyncio.Event() for _ in self.channels]
        self._served = [time.time() for _ in self.channels]  # last decode result per channel
        self.analyzer = CallAnalyzer(
            engine.detector,  # type: ignore[arg-type]
            engine.retriever,  # type: ignore[arg-type]
            compose_extractive,
            playbook_version=engine.playbooks.version,
            cooldown=Cooldown(engine.settings.retrieval.cooldown_s),
            top_k=engine.settings.retrieval.top_k,
        )
        self._audio_q: asyncio.Queue[list[np.ndarray] | None] = asyncio.Queue(maxsize=256)
        self._analysis_q: asyncio.Queue[Transcript | None] = asyncio.Queue()
        self._send: Sender | None = None
        self.watchers: set[Sender] = set()  # read-only subscribers (a widget watching a phone call)
        self._emit_lock = asyncio.Lock()
        self._seq = 0
        self.received_s = 0.0  # audio seconds received, at the declared rate
        self._arrivals: deque[tuple[float, float]] = deque()  # (audio seconds, wall time)
        self.counts = {"segments": 0, "flags": 0, "suggestions": 0}
        self.lag_s = 0.0
        self.degraded = False
        self.shed_s = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.llm = llm
        self._llm_task: asyncio.Task[None] | None = None
        self._llm_flag = ""  # the flag whose card the LLM task rewrites
        self._input_closed = False
        self._held: list[np.ndarray] = []  # frames waiting for the format sniffer's verdict
        self._format_error = ""
        self.finished = asyncio.Event()
        self._grace: asyncio.TimerHandle | None = None

    # lifecycle --------------------------------------------------------------------------
    async def open(self, send: Sender) -> None:
        loop = asyncio.get_running_loop()
        st = self.start_msg
        await loop.run_in_executor(self.engine.store_pool, lambda: self.engine.store.open_call(
            self.call_id, rep=st.rep, account=st.account, encoding=self.fmt.encoding,
            sample_rate=self.fmt.sample_rate, channels=self.fmt.channels,
            speakers=list(st.speakers), playbook_version=self.engine.playbooks.version))
        self._seq = await loop.run_in_executor(
            self.engine.store_pool, self.engine.store.last_seq, self.call_id)
        self._feed_task = asyncio.create_task(self._feed_loop(), name=f"{self.call_id}:feed")
        self._decode_tasks = [
            asyncio.create_task(self._decode_loop(i), name=f"{self.call_id}:decode{i}")
            for i in range(len(self.channels))
        ]
        self._analysis_task = asyncio.create_task(
            self._analysis_loop(), name=f"{self.call_id}:analysis")
        self._tasks = [self._feed_task, *self._decode_tasks, self._analysis_task]
        await self.attach(send)

    async def attach(self, send: Sender | None) -> None:
        """(Re)connect the audio client; it is told how much audio the server already has.

        ``send`` is None for sources that take no events back (Twilio): events then go to the
        store and the watchers only.
        """
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._send = send
        await self.emit(Ready(
            encoding=self.fmt.encoding, sample_rate=self.fmt.sample_rate,
            channels=self.fmt.channels, speakers=self.start_msg.speakers,
            resumed_from=round(self.received_s, 4), playbook_version=self.engine.playbooks.version,
        ), persist=False)

    def detach(self, grace_s: float, on_expire: Callable[[], None]) -> None:
        self._send = None
        self._grace = asyncio.get_running_loop().call_later(grace_s, on_expire)

    async def stop(self, reason: str = "stop") -> None:
        """End of input: flush every stage so the last words get a final (BUGS S13)."""
        if not self._input_closed:
            self._input_closed = True
            for f in self._held:  # a call too short for the sniffer to judge
                await self._audio_q.put(self._resampler.process(f))
            self._held = []
            await self._audio_q.put(None)
        # drain stage by stage, so every final reaches analysis before analysis ends
        await asyncio.gather(self._feed_task, return_exceptions=True)
        await asyncio.gather(*self._decode_tasks, return_exceptions=True)
        if not self._analysis_task.done():
            self._analysis_q.put_nowait(None)
        await asyncio.gather(self._analysis_task, return_exceptions=True)
        if self._llm_task is not None:
            await asyncio.gather(self._llm_task, return_exceptions=True)
        if not self.finished.is_set():
            await self.emit(Ended(reason=reason, audio_seconds=round(self.received_s, 3),
                                  **self.counts))
            await asyncio.get_running_loop().run_in_executor(
                self.engine.store_pool, lambda: self.engine.store.close_call(
                    self.call_id, audio_seconds=self.received_s))
            self.finished.set()

    async def close(self) -> None:
        """Hard stop (server shutdown): cancel the tasks without flushing."""
        for t in self._tasks + ([self._llm_task] if self._llm_task else []):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.finished.set()

    # input ------------------------------------------------------------------------------
    async def push_audio(self, data: bytes) -> None:
        """Validate and queue one audio frame. Raises AudioFormatError (frame dropped, call goes on).

        The first ~0.5 s of non-silent audio is held back until the format sniffer has judged
        it, so audio that contradicts its declaration never reaches the decoder (BUGS S04):
        after a mismatch is reported, the rest of the stream is dropped unheard.
        """
        if self._input_closed:
            raise AudioFormatError("audio after stop is ignored")
        frame = decode_frame(self.fmt, data)
        self.received_s += len(frame) / self.fmt.sample_rate
        self._arrivals.append((self.received_s, time.time()))
        while len(self._arrivals) > 2 and self._arrivals[0][0] < self.received_s - 120:
            self._arrivals.popleft()
        if self._format_error:
            return  # already reported once; this stream's audio is not what it claims to be
        if not self._sniffer.done:
            try:
                self._sniffer.feed(data, frame)
            except AudioFormatError as exc:
                self._format_error = exc.message
                self._held.clear()
                raise
            if not self._sniffer.done:
                self._held.append(frame)
                return
        frames, self._held = [*self._held, frame], []
        for f in frames:
            # a full queue makes us stop reading the socket: TCP backpressure on the client
            await self._audio_q.put(self._resampler.process(f))

    def arrival_wall(self, audio_s: float) -> float | None:
        for a, wall in self._arrivals:
            if a >= audio_s - 1e-6:
                return wall
        return None

    # output -----------------------------------------------------------------------------
    async def emit(self, event: Event, persist: bool = True) -> Event:
        async with self._emit_lock:
            self._seq += 1
            ev = event.stamped(call_id=self.call_id, seq=self._seq, ts=time.time())
            if persist:
                await asyncio.get_running_loop().run_in_executor(
                    self.engine.store_pool, self.engine.store.append, ev)
            text = ev.to_json()
            for send in ([self._send] if self._send else []) + list(self.watchers):
                try:
                    await send(text)
                except Exception:  # noqa: BLE001 - a dead socket must not stop the pipeline
                    self.watchers.discard(send)
                    log.debug("send failed for call %s; event kept in the store", self.call_id)
            return ev

    async def watch(self, send: Sender) -> None:
        """Add a watcher: stored history first, then live events, none lost or doubled.

        Holding the emit lock while reading the store and registering makes the hand-over exact:
        every event is either in the history read or sent live, never both.
        """
        loop = asyncio.get_running_loop()
        async with self._emit_lock:
            history = await loop.run_in_executor(
                self.engine.store_pool, lambda: list(self.engine.store.events(self.call_id)))
            for data in history:
                await send(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
            self.watchers.add(send)

    async def error(self, code: str, message: str, fatal: bool = False) -> None:
        await self.emit(ErrorEvent(code=code, message=message, fatal=fatal), persist=False)

    # tasks ------------------------------------------------------------------------------
    async def _feed_loop(self) -> None:
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            items = [await self._audio_q.get()]
            while not self._audio_q.empty():
                items.append(self._audio_q.get_nowait())
            if items[-1] is None:
                done = True
                items.pop()
                items.append(self._resampler.flush())
            if not items:
                continue
            chunks = [np.concatenate([it[c] for it in items]) for c in range(len(self.channels))]
            probs = await loop.run_in_executor(None, self._speech_probs, chunks)
            for i, (ch, x, p) in enumerate(zip(self.channels, chunks, probs, strict=True)):
                ch.feed(x, p)
                self._wake[i].set()
        for i, ch in enumerate(self.channels):
            ch.end()
            self._wake[i].set()

    def _speech_probs(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        return [ch.speech_probs(x) for ch, x in zip(self.channels, chunks, strict=True)]

    async def _update_lag(self, ch: ChannelTranscriber, decoded_end: float | None) -> None:
        """Track lag; switch degraded mode with hysteresis; shed hopeless backlog (BUGS S09)."""
        srv = self.engine.settings.server
        if decoded_end is not None:
            # how late this result is: now minus when its last audio arrived (silence between
            # utterances does not count as lag)
            arrived = self.arrival_wall(decoded_end)
            if arrived is not None:
                self.lag_s = max(0.0, time.time() - arrived)
        shed = 0.0
        if not self._input_closed:
            shed = ch.shed(self.received_s - srv.shed_lag_s)
        changed = shed > 0
        if not self.degraded and self.lag_s > srv.max_lag_s:
            self.degraded, changed = True, True
        elif self.degraded and self.lag_s < srv.max_lag_s / 2:
            self.degraded, changed = False, True
        if changed:
            self.shed_s += shed
            if shed:
                log.warning("call %s: %.1f s of audio dropped untranscribed (lag %.1f s)",
                            self.call_id, shed, self.lag_s)
            await self.emit(Status(lag_s=round(self.lag_s, 2), degraded=self.degraded,
                                   shed_s=round(self.shed_s, 2)), persist=bool(shed))

    def _decode_priority(self, i: int) -> tuple[int, float]:
        """Rank of channel ``i`` for the next decode slot (copilot/asr/scheduler.py)."""
        end = self.channels[i].oldest_final_end()
        if end is not None:
            return (0, self.arrival_wall(end) or time.time())
        return (1, self._served[i])

    async def _decode_loop(self, i: int) -> None:
        ch, wake = self.channels[i], self._wake[i]
        loop = asyncio.get_running_loop()
        slots = self.engine.decode_slots
        while True:
            await self._update_lag(ch, None)
            if not ch.pending:
                if ch.ended:
                    break
                await wake.wait()
                wake.clear()
                continue
            early = ch.take_early_final()  # decoded already: no slot needed
            if early is not None:
                req, result = early
                committed = None
            else:
                async with slots.slot(lambda: self._decode_priority(i)):
                    # picked only once the slot is ours: the newest partial, or a final that
                    # arrived while we waited
                    req = ch.next_request(partials=not self.degraded)
                    if req is None:
                        continue
                    # the finals' full context only while no other final waits and this call
                    # keeps up: under load a final gets the short context, never a late one
                    full = slots.finals_waiting == 0 and self.lag_s < _FULL_CONTEXT_MAX_LAG_S
                    result, committed = await loop.run_in_executor(
                        self.engine.decode_pool, functools.partial(
                            decode_request, self.engine.decoder, req, ch.context(), full))
            self._served[i] = time.time()
            await self._update_lag(ch, req.end)
            ev = ch.on_result(req, result, committed)
            if ev is None:
                continue
            ev = replace(ev, audio_received=round(self.received_s, 3))
            if ev.final:
                self.counts["segments"] += 1
            await self.emit(ev)
            self._analysis_q.put_nowait(ev)

    async def _analysis_loop(self) -> None:
        loop = asyncio.get_running_loop()
        pool = self.engine.analysis_pool
        done = False
        while not done:
            batch = [await self._analysis_q.get()]
            while not self._analysis_q.empty():
                batch.append(self._analysis_q.get_nowait())
            if batch[-1] is None:
                done = True
                batch.pop()
            # when analysis falls behind, only the newest partial of a segment matters
            latest = {t.segment_id: k for k, t in enumerate(batch) if t is not None}
            for k, t in enumerate(batch):
                if t is None or (not t.final and latest[t.segment_id] != k):
                    continue
                for decision in await loop.run_in_executor(pool, self.analyzer.on_transcript, t):
                    flag = replace(decision.flag, audio_received=round(self.received_s, 3))
                    if flag.retracted:
                        await self._stop_llm(flag.flag_id)
                    await self.emit(flag)
                    self.counts["flags"] = self.analyzer.flag_count
                    proposal = await loop.run_in_executor(
                        pool, self.analyzer.suggest, decision, self.received_s)
                    if proposal is not None:
                        await self._emit_suggestion(proposal, flag)

    async def _stop_llm(self, flag_id: str | None = None) -> None:
        """Cancel the LLM rewrite in flight (only if it is for ``flag_id``, when given)."""
        task = self._llm_task
        if task is None or task.done() or (flag_id is not None and self._llm_flag != flag_id):
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _emit_suggestion(self, proposal: Proposal, flag: Flag) -> None:
        arrived = self.arrival_wall(flag.end)
        latency = time.time() - arrived if arrived is not None else 0.0
        self.counts["suggestions"] += 1
        # only the newest card is rewritten; the old stream stops (and puts its card's
        # extractive text back) *before* the new card goes out, so nothing overwrites it
        await self._stop_llm()
        sugg = await self.emit(replace(proposal.suggestion, latency_s=round(latency, 3),
                                       audio_received=round(self.received_s, 3)))
        if self.llm is not None:
            # the extractive card is already on screen; the LLM rewrites it in place
            self._llm_flag = flag.flag_id
            self._llm_task = asyncio.create_task(
                self._llm_rewrite(sugg, flag, proposal), name=f"{self.call_id}:llm")  # type: ignore[arg-type]

    async def _llm_rewrite(self, base: Suggestion, flag: Flag, proposal: Proposal) -> None:
        """Stream the LLM reply as suggestion updates; on any failure the extractive one stands."""
        assert self.llm is not None
        text, shown, last = "", False, 0.0
        try:
            stream = self.llm.astream(
                utterance=flag.utterance, context=list(proposal.context),
                competitor_name=flag.competitor_name, claim_type=flag.claim_type,
                sections=list(proposal.sections))
            async with contextlib.aclosing(stream):
                async for delta in stream:
                    text += delta
                    if time.monotonic() - last >= 0.08:  # ~12 updates/s is plenty for a card
                        last = time.monotonic()
                        shown = True
                        await self.emit(replace(base, text=text, composer="llm", partial=True,
                                                prompt_version=self.llm.prompt_version),
                                        persist=False)
            if text.strip():
                await self.emit(replace(base, text=text.strip(), composer="llm", partial=False,
                                        prompt_version=self.llm.prompt_version))
                return
        except LlmError as exc:
            log.info("call %s: LLM reply not used (%s); extractive reply stands",
                     self.call_id, exc.code)
        except asyncio.CancelledError:
            if shown:
                await asyncio.shield(self.emit(base, persist=False))
            raise
        if shown:
            await self.emit(base, persist=False)  # put the extractive text back on the card

