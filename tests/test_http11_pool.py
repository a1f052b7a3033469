"""``Http11Transport``'s pool keeps ``limit`` through cancellations at the worst moment."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from vexora_async.transports import http11
from vexora_async.transports.base import HttpRequest
from vexora_async.transports.http11 import Http11Transport

from .helpers import serving


async def test_a_request_cancelled_as_its_connection_is_made_frees_one_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Cancelled in the loop turn its new connection was made (as a timeout or a TaskGroup
    # can): asyncio closes that connection, whose connection_lost frees its place, and the
    # failed open must not free it again. Freed twice, the pool let limit + N connections
    # open after N such cancellations.
    in_flight = 0
    most = 0
    gate = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if in_flight >= 2:
            gate.set()
        await gate.wait()  # hold each request until two are in at once
        in_flight -= 1
        return web.json_response({})

    made: list[Any] = []
    to_cancel: list[asyncio.Task[Any]] = []
    connection_made = http11._Connection.connection_made

    def made_then_cancelled(self: Any, transport: asyncio.BaseTransport) -> None:
        connection_made(self, transport)
        made.append(self)
        if to_cancel:
            to_cancel.pop().cancel()  # lands while create_connection still awaits

    monkeypatch.setattr(http11._Connection, "connection_made", made_then_cancelled)
    app = web.Application()
    app.router.add_post("/", answer)
    async with serving(app) as base:
        transport = Http11Transport(limit=2)
        request = HttpRequest("POST", base + "/", {}, b"{}")
        try:
            for _ in range(5):
                task = asyncio.create_task(transport.send(request, timeout=5.0))
                to_cancel.append(task)
                with pytest.raises(asyncio.CancelledError):
                    await task
                await made[-1]._lost  # its connection_lost has run
            (pool,) = transport._pools.values()
            assert pool._count == 0
            gate.clear()
            sends = [transport.send(request, timeout=5.0) for _ in range(8)]
            answers = await asyncio.gather(*sends)
            assert [a.status for a in answers] == [200] * 8
            assert most <= 2  # the limit held
        finally:
            await transport.aclose()
