"""The batch's result channel: every item once, in order, never more than ``size`` waiting,
and no writer left stuck by another's cancellation."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings, strategies as st

from vexora_async.channel import Channel


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 4),
    writers=st.lists(st.integers(0, 8), min_size=1, max_size=6),
    cancel=st.sets(st.integers(0, 5), max_size=3),
    seed=st.integers(0, 2**16),
)
def test_every_item_arrives_once_in_each_writers_order(
    size: int, writers: list[int], cancel: set[int], seed: int
) -> None:
    """Writers race a reader that sometimes yields to them; some writers are cancelled
    midway. Each item a writer finished putting arrives exactly once, in that writer's
    order, and the channel never holds more than ``size``."""

    async def scenario() -> None:
        channel: Channel[tuple[int, int]] = Channel(size)
        chance = random.Random(seed)
        put: list[list[int]] = [[] for _ in writers]

        async def write(who: int, count: int) -> None:
            for n in range(count):
                if not channel.offer((who, n)):
                    await channel.put((who, n))
                put[who].append(n)
                if chance.random() < 0.3:
                    await asyncio.sleep(0)

        tasks = [asyncio.create_task(write(who, count)) for who, count in enumerate(writers)]
        done = asyncio.gather(*tasks, return_exceptions=True)
        done.add_done_callback(lambda _: channel.close())
        got: list[tuple[int, int]] = []
        turns = 0
        while True:
            assert len(channel._items) <= size
            ok, item = channel.poll()
            if not ok:
                ok, item = await channel.take()
                if not ok:
                    break
            assert item is not None
            got.append(item)
            turns += 1
            if turns == 2:  # cancel some writers, perhaps while they wait for room
                for who in cancel:
                    if who < len(tasks):
                        tasks[who].cancel()
            if chance.random() < 0.5:
                await asyncio.sleep(0)
        await done
        for who in range(len(writers)):
            mine = [n for w, n in got if w == who]
            assert mine == put[who]  # once each, in order, nothing lost
            if who not in cancel:
                assert put[who] == list(range(writers[who]))
        assert not channel._writers

    asyncio.run(scenario())


async def test_a_full_channel_holds_the_writer_until_the_reader_takes() -> None:
    channel: Channel[int] = Channel(1)
    assert channel.offer(1)
    assert not channel.offer(2)
    writer = asyncio.create_task(channel.put(2))
    await asyncio.sleep(0)
    assert not writer.done()
    assert channel.poll() == (True, 1)
    await writer
    assert channel.poll() == (True, 2)
    assert channel.poll() == (False, None)


async def test_a_woken_writer_that_is_cancelled_passes_the_room_on() -> None:
    channel: Channel[int] = Channel(1)
    channel.offer(0)
    first = asyncio.create_task(channel.put(1))
    second = asyncio.create_task(channel.put(2))
    await asyncio.sleep(0)
    assert channel.poll() == (True, 0)  # wakes ``first`` ...
    first.cancel()  # ... which is cancelled before it runs
    await asyncio.wait([first, second])
    assert first.cancelled()
    assert second.done() and not second.cancelled()
    assert channel.poll() == (True, 2)


async def test_close_wakes_the_reader_after_what_is_left() -> None:
    channel: Channel[int] = Channel(4)
    reader = asyncio.create_task(channel.take())
    await asyncio.sleep(0)
    channel.offer(7)
    assert await reader == (True, 7)
    channel.offer(8)
    channel.close()
    assert await channel.take() == (True, 8)
    assert await channel.take() == (False, None)


def test_a_channel_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Channel(0)
