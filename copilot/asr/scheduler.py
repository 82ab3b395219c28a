"""Decode slots shared by every channel of every call: finals first, then the stalest partial.

Why not a plain thread pool: a FIFO pool serves requests in arrival order, so with a few calls
on one box a call's *final* waits behind other calls' *partials*, and final latency grows with
the number of calls (bench_concurrency before this module: final p95 4.0 s at 2 calls, 6.7 s at
8, on 2 vCPU). Finals are what analysis, flags and the log need, and they are cheap (one decode
per utterance); partials are a courtesy that can wait or be skipped. So every decode first takes
a slot from :class:`DecodeSlots`, and a free slot goes to the waiter with the best priority *at
the moment it frees*:

1. any channel with a final waiting, the oldest audio first (earliest deadline);
2. otherwise the channel whose screen has waited longest for a partial.

Partials may hold at most ``slots - 1`` slots at once, less one per running final (one, if there
is only one slot): with
every slot busy on partials, an arriving final waited for one of them to finish while its own
decode shared the CPU with the others (bench_concurrency with a shared queue but no cap: final
p95 3.4 s at 8 calls, CPU at 195 % of 2 cores); one slot kept for finals bounds both.

Priorities are callables evaluated at grant time, so a channel waiting with a partial that
receives a final meanwhile is served as a final, and it decodes whatever is newest once it holds
the slot (the caller picks its request *after* acquiring). Pure asyncio, no threads: grants
happen on the event loop; the decode itself runs in the engine's pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DecodeSlots", "Priority"]

#: (0 = final waiting / 1 = partial only, wall time the request has been waiting since)
Priority = tuple[int, float]


@dataclass(eq=False)
class _Waiter:
    priority: Callable[[], Priority]
    future: asyncio.Future[int]
    order: int = field(default=0)


class DecodeSlots:
    """A priority semaphore of ``slots`` decodes at once."""

    def __init__(self, slots: int, partial_slots: int | None = None) -> None:
        if slots < 1:
            raise ValueError("slots must be >= 1")
        self.slots = slots
        self.partial_slots = max(1, slots - 1) if partial_slots is None else partial_slots
        self._free = slots
        self._partials_busy = 0
        self._waiters: list[_Waiter] = []
        self._order = 0
        self.granted = {0: 0, 1: 0}  # grants by class, for benchmarks

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def busy(self) -> int:
        return self.slots - self._free

    @property
    def finals_waiting(self) -> int:
        """Finals queued for a slot (the decoder shortens its context while any wait)."""
        return sum(1 for w in self._waiters if w.priority()[0] == 0)

    async def acquire(self, priority: Callable[[], Priority]) -> int:
        """Wait for a slot; returns the class it was granted as (pass it to :meth:`release`)."""
        self._order += 1
        w = _Waiter(priority, asyncio.get_running_loop().create_future(), self._order)
        self._waiters.append(w)
        self._grant()  # a final may pass partials that wait only for their capped share
        try:
            return await w.future
        except asyncio.CancelledError:
            if w in self._waiters:
                self._waiters.remove(w)
            elif w.future.done() and not w.future.cancelled():
                self.release(w.future.result())  # granted as we were cancelled: pass it on
            raise

    def release(self, kind: int) -> None:
        self._free += 1
        if kind:
            self._partials_busy -= 1
        self._grant()

    def _allowed(self, kind: int) -> bool:
        # a running final also takes a partial's place: on a saturated CPU the final then
        # gets a core to itself (long finals decoded in 1.5–2.6 s next to partials at 8 calls)
        finals_busy = self.busy - self._partials_busy
        return self._free > 0 and (
            kind == 0 or self._partials_busy + finals_busy < self.partial_slots)

    def _take(self, kind: int) -> None:
        self._free -= 1
        self._partials_busy += kind
        self.granted[kind] += 1

    def _grant(self) -> None:
        while self._free and self._waiters:
            ranked = sorted(((w.priority(), w.order, w) for w in self._waiters),
                            key=lambda r: (r[0], r[1]))
            for prio, _, w in ranked:
                if w.future.done():  # cancelled while queued
                    self._waiters.remove(w)
                    break
                kind = min(1, prio[0])
                if self._allowed(kind):
                    self._waiters.remove(w)
                    self._take(kind)
                    w.future.set_result(kind)
                    break
            else:
                return  # only partials wait, and their share of the slots is in use

    def slot(self, priority: Callable[[], Priority]) -> _Slot:
        """``async with slots.slot(prio):`` holds one slot for the block."""
        return _Slot(self, priority)


class _Slot:
    def __init__(self, slots: DecodeSlots, priority: Callable[[], Priority]) -> None:
        self._slots, self._priority = slots, priority
        self._kind = 1

    async def __aenter__(self) -> None:
        self._kind = await self._slots.acquire(self._priority)

    async def __aexit__(self, *exc: object) -> None:
        self._slots.release(self._kind)
