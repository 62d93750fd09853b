"""The in-flight limit of Bot API calls: few while calls are fast, more while they are slow."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.inflight import InFlightLimit


class Calls:
    """Runs calls through a limit and records how many were in flight at once, and in which
    order they started."""

    def __init__(self, limit: InFlightLimit) -> None:
        self.limit = limit
        self.now = 0
        self.most = 0
        self.started: list[int] = []

    async def call(self, number: int, seconds: float) -> None:
        async with self.limit.call():
            self.started.append(number)
            self.now += 1
            self.most = max(self.most, self.now)
            await asyncio.sleep(seconds)
            self.now -= 1


async def test_fast_calls_keep_the_fewest_in_flight_in_order() -> None:
    calls = Calls(InFlightLimit(rate=30.0, fewest=2, most=8))
    await asyncio.gather(*(calls.call(n, 0) for n in range(20)))
    assert calls.most == 2
    assert calls.started == list(range(20))  # first come, first served
    assert calls.limit.busy == 0


async def test_slow_calls_open_more_places_up_to_the_most() -> None:
    # 1000 a second at 20 ms needs 20 in flight; the limit grows to its ceiling of 6.
    calls = Calls(InFlightLimit(rate=1000.0, fewest=2, most=6))
    await asyncio.gather(*(calls.call(n, 0.02) for n in range(30)))
    assert calls.most == 6
    assert calls.limit.limit == 6


async def test_the_limit_falls_again_when_calls_get_fast() -> None:
    limit = InFlightLimit(rate=1000.0, fewest=2, most=6)
    calls = Calls(limit)
    await asyncio.gather(*(calls.call(n, 0.02) for n in range(12)))
    assert limit.limit == 6
    await asyncio.gather(*(calls.call(n, 0) for n in range(40)))
    assert limit.limit == 2


async def test_a_failing_call_gives_its_place_back() -> None:
    limit = InFlightLimit(fewest=1, most=1)

    async def failing() -> None:
        async with limit.call():
            raise RuntimeError("Bot API call failed")

    with pytest.raises(RuntimeError):
        await failing()
    assert limit.busy == 0
    calls = Calls(limit)
    await calls.call(1, 0)
    assert calls.started == [1]


async def test_a_cancelled_waiter_does_not_keep_a_place() -> None:
    limit = InFlightLimit(fewest=1, most=1)
    calls = Calls(limit)
    first = asyncio.create_task(calls.call(1, 0.05))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(calls.call(2, 0))
    behind = asyncio.create_task(calls.call(3, 0))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(first, behind)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert calls.started == [1, 3]
    assert limit.busy == 0


async def test_a_waiter_cancelled_after_its_turn_came_passes_the_place_on() -> None:
    limit = InFlightLimit(fewest=1, most=1)
    calls = Calls(limit)
    async with limit.call():  # the test holds the only place
        handed = asyncio.create_task(calls.call(2, 0))
        behind = asyncio.create_task(calls.call(3, 0))
        await asyncio.sleep(0)  # both wait
    # Leaving handed the place to the second caller, whose task has not run yet.
    handed.cancel()
    await asyncio.wait_for(behind, 5)  # times out if the cancelled caller kept the place
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert calls.started == [3]
    assert limit.busy == 0
