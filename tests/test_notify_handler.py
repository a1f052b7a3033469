"""notification_handler on a real loopback socket, driven by an aiohttp client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from vexora_async import ConfigurationError
from vexora_async.dedupe import SQLiteNotificationStore
from vexora_async.notify import notification_handler
from vexora_async.signing import sign

from .test_notify_support import (
    SECRET,
    Callback,
    body_of,
    genuine_body,
    notification_fields,
    post,
    serve_handler,
    signed,
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_delivered_five_times_processed_once(session: aiohttp.ClientSession) -> None:
    callback = Callback()
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        answers = [await post(session, url, genuine_body()) for _ in range(5)]
    assert answers == [(200, "OK")] * 5
    assert len(callback.calls) == 1


async def test_five_concurrent_deliveries_run_the_callback_once(
    session: aiohttp.ClientSession,
) -> None:
    callback = Callback()
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        answers = await asyncio.gather(*(post(session, url, genuine_body()) for _ in range(5)))
        assert len(callback.calls) == 1
        assert (200, "OK") in answers
        # Copies that arrived while the first was running were told to come back.
        assert {status for status, _ in answers} <= {200, 503}
        assert await post(session, url, genuine_body()) == (200, "OK")
    assert len(callback.calls) == 1


async def test_copies_arriving_during_a_slow_callback_are_retried_later(
    session: aiohttp.ClientSession,
) -> None:
    callback = Callback()
    callback.gate = asyncio.Event()
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        first = asyncio.create_task(post(session, url, genuine_body()))
        await callback.entered.wait()
        copies = await asyncio.gather(*(post(session, url, genuine_body()) for _ in range(4)))
        assert [status for status, _ in copies] == [503] * 4
        assert not first.done()
        callback.gate.set()
        assert await first == (200, "OK")
        assert await post(session, url, genuine_body()) == (200, "OK")
    assert len(callback.calls) == 1


def _tampered() -> dict[str, bytes]:
    genuine = signed(notification_fields())
    unsigned = notification_fields()
    no_trade = notification_fields()
    del no_trade["tradeNo"]
    return {
        "amount changed": body_of({**genuine, "amount": "1000000"}),
        "status changed": body_of({**genuine, "status": "0001"}),
        "trade changed": body_of({**genuine, "tradeNo": "T-OTHER"}),
        "field injected": body_of({**genuine, "payAmount": "1000000"}),
        "sign removed": body_of(unsigned),
        "sign upper-cased": body_of({**genuine, "sign": genuine["sign"].upper()}),
        "other secret": body_of(signed(unsigned, "OTHERSECRET")),
        "required field missing": body_of({**no_trade, "sign": sign(no_trade, SECRET)}),
        "not json": b"tradeNo=T1&status=0000",
        "not an object": b'["tradeNo", "T1"]',
        "empty": b"",
    }


@pytest.mark.parametrize("case", sorted(_tampered()))
async def test_tampered_or_malformed_is_400_and_never_processed(
    case: str, session: aiohttp.ClientSession
) -> None:
    callback = Callback()
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        status, text = await post(session, url, _tampered()[case])
    assert status == 400 and text != "OK"
    assert callback.calls == []


async def test_a_failing_callback_gets_500_then_the_fixed_retry_gets_ok(
    session: aiohttp.ClientSession,
) -> None:
    callback = Callback(fail=True)
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        assert (await post(session, url, genuine_body()))[0] == 500
        assert (await post(session, url, genuine_body()))[0] == 500
        callback.fail = False  # the merchant fixed the database
        assert await post(session, url, genuine_body()) == (200, "OK")
        assert await post(session, url, genuine_body()) == (200, "OK")
    assert len(callback.calls) == 3
    assert len(callback.succeeded) == 1


async def test_the_answer_is_plain_text_ok(session: aiohttp.ClientSession) -> None:
    async with (
        serve_handler(notification_handler(SECRET, Callback())) as url,
        session.post(url, data=genuine_body()) as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.read() == b"OK"


async def test_amount_mismatch_is_400_without_processing(session: aiohttp.ClientSession) -> None:
    callback = Callback()
    orders = {"T1": 50000}

    async def expected(trade_no: str) -> int | None:
        return orders.get(trade_no)

    handler = notification_handler(SECRET, callback, expected_amount=expected)
    async with serve_handler(handler) as url:
        assert await post(session, url, genuine_body("T1")) == (400, "amount mismatch")
        assert callback.calls == []
        orders["T1"] = 10000  # the order's amount as the merchant really created it
        assert await post(session, url, genuine_body("T1")) == (200, "OK")
    assert len(callback.calls) == 1


async def test_sqlite_dedupe_survives_reopening_the_store(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    path = tmp_path / "notifications.db"
    callbacks: list[Callback] = []
    for _ in range(2):  # two "process lifetimes" sharing one file
        callback = Callback()
        callbacks.append(callback)
        async with (
            SQLiteNotificationStore(path) as store,
            serve_handler(notification_handler(SECRET, callback, store=store)) as url,
        ):
            answers = [await post(session, url, genuine_body()) for _ in range(2)]
        assert answers == [(200, "OK")] * 2
    assert [len(c.calls) for c in callbacks] == [1, 0]


def test_the_factory_refuses_an_empty_secret() -> None:
    with pytest.raises(ConfigurationError):
        notification_handler("", Callback())
