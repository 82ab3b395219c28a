import asyncio

import pytest

from copilot.asr.scheduler import DecodeSlots


async def _hold(slots, prio, log, name, hold):
    async with slots.slot(prio):
        log.append(name)
        await hold.wait()


async def test_a_free_slot_goes_to_finals_before_partials_and_oldest_first():
    slots = DecodeSlots(1)
    log, release = [], asyncio.Event()
    first = asyncio.create_task(_hold(slots, lambda: (1, 0.0), log, "busy", release))
    await asyncio.sleep(0)
    assert log == ["busy"] and slots.busy == 1
    go = asyncio.Event()
    go.set()
    waiters = [
        asyncio.create_task(_hold(slots, lambda: (1, 5.0), log, "partial-new", go)),
        asyncio.create_task(_hold(slots, lambda: (1, 2.0), log, "partial-old", go)),
        asyncio.create_task(_hold(slots, lambda: (0, 9.0), log, "final-new", go)),
        asyncio.create_task(_hold(slots, lambda: (0, 3.0), log, "final-old", go)),
    ]
    await asyncio.sleep(0)
    assert slots.waiting == 4
    assert slots.finals_waiting == 2  # the finals under load get the short encoder context
    release.set()
    await asyncio.gather(first, *waiters)
    assert log == ["busy", "final-old", "final-new", "partial-old", "partial-new"]
    assert slots.busy == 0 and slots.waiting == 0 and slots.finals_waiting == 0
    assert slots.granted == {0: 2, 1: 3}


async def test_priority_is_read_when_the_slot_frees_not_when_the_waiter_queued():
    # a channel queued with a partial that meanwhile got a final must be served as a final,
    # ahead of an older partial of another call
    slots = DecodeSlots(1)
    log, release, go = [], asyncio.Event(), asyncio.Event()
    go.set()
    state = {"kind": 1}
    busy = asyncio.create_task(_hold(slots, lambda: (0, 0.0), log, "busy", release))
    await asyncio.sleep(0)
    older = asyncio.create_task(_hold(slots, lambda: (1, 10.0), log, "older-partial", go))
    upgraded = asyncio.create_task(
        _hold(slots, lambda: (state["kind"], 100.0), log, "upgraded", go))
    await asyncio.sleep(0)
    state["kind"] = 0  # its final arrived while it waited
    release.set()
    await asyncio.gather(busy, older, upgraded)
    assert log == ["busy", "upgraded", "older-partial"]


async def test_two_slots_run_two_decodes_at_once_but_partials_keep_one_free_for_finals():
    slots = DecodeSlots(2)
    log, hold = [], asyncio.Event()
    partials = [asyncio.create_task(_hold(slots, lambda: (1, 0.0), log, f"p{k}", hold))
                for k in range(2)]
    await asyncio.sleep(0)
    assert log == ["p0"] and slots.waiting == 1  # the second slot is kept for a final
    final = asyncio.create_task(_hold(slots, lambda: (0, 0.0), log, "final", hold))
    await asyncio.sleep(0)
    assert log == ["p0", "final"] and slots.busy == 2  # it passes the waiting partial
    hold.set()
    await asyncio.gather(*partials, final)
    assert log == ["p0", "final", "p1"]


async def test_a_running_final_takes_a_partials_place():
    slots = DecodeSlots(2)
    log, hold_final, go = [], asyncio.Event(), asyncio.Event()
    go.set()
    final = asyncio.create_task(_hold(slots, lambda: (0, 0.0), log, "final", hold_final))
    await asyncio.sleep(0)
    partial = asyncio.create_task(_hold(slots, lambda: (1, 0.0), log, "partial", go))
    await asyncio.sleep(0)
    assert log == ["final"] and slots.busy == 1  # a slot is free, but not for a partial
    hold_final.set()
    await asyncio.gather(final, partial)
    assert log == ["final", "partial"]
    assert DecodeSlots(1).partial_slots == 1 and DecodeSlots(4).partial_slots == 3


async def test_a_cancelled_waiter_loses_its_place_and_leaks_no_slot():
    slots = DecodeSlots(1)
    log, release, go = [], asyncio.Event(), asyncio.Event()
    go.set()
    busy = asyncio.create_task(_hold(slots, lambda: (1, 0.0), log, "busy", release))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(_hold(slots, lambda: (0, 0.0), log, "doomed", go))
    await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    release.set()
    await busy
    assert log == ["busy"]
    assert slots.busy == 0 and slots.waiting == 0
    await _hold(slots, lambda: (1, 0.0), log, "after", go)  # the slot is still usable
    assert log == ["busy", "after"]


def test_at_least_one_slot():
    with pytest.raises(ValueError):
        DecodeSlots(0)
