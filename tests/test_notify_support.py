"""Shared helpers of the ``test_notify_*`` modules (no tests here).

Signed notification bodies, a recording ``on_payment`` callback, and a real loopback HTTP
server running a handler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from vexora_async.notify import PaymentNotification
from vexora_async.signing import sign

SECRET = "TESTSECRET"
NOTIFY_PATH = "/vexora/notify"


def notification_fields(trade_no: str = "T20240101000001", **changes: Any) -> dict[str, Any]:
    """The fields of a paid notification (SPEC §7), without ``sign``."""
    fields: dict[str, Any] = {
        "platFormTradeNo": "PF" + trade_no,
        "tradeNo": trade_no,
        "amount": "10000",
        "status": "0000",
        "message": "success",
        "successTime": "2024-01-01 12:00:00",
        "channelCode": "EWALLET",
        "wayCode": "DANA",
        "timestamp": "1715941383720",
    }
    fields.update(changes)
    return fields


def signed(fields: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    return {**fields, "sign": sign(fields, secret)}


def body_of(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields).encode()


def genuine_body(trade_no: str = "T20240101000001", **changes: Any) -> bytes:
    return body_of(signed(notification_fields(trade_no, **changes)))


class Callback:
    """An ``on_payment`` that records what it saw; can fail (always, or its first
    ``fail_first`` calls), or wait until let through."""

    def __init__(self, *, fail: bool = False, fail_first: int = 0) -> None:
        self.fail = fail
        self.fail_first = fail_first
        self.calls: list[PaymentNotification] = []  # every call, failed ones included
        self.succeeded: list[PaymentNotification] = []
        self.entered = asyncio.Event()
        self.gate: asyncio.Event | None = None  # when set, calls wait for it

    async def __call__(self, notification: PaymentNotification) -> None:
        self.calls.append(notification)
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail or len(self.calls) <= self.fail_first:
            raise RuntimeError("merchant database is down")
        self.succeeded.append(notification)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a loopback port; yields its base URL."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_handler(handler: Any) -> AsyncIterator[str]:
    """Serve ``handler`` at ``NOTIFY_PATH``; yields the full notify URL."""
    app = web.Application()
    app.router.add_post(NOTIFY_PATH, handler)
    async with serve(app) as base:
        yield base + NOTIFY_PATH


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, str]:
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        return r.status, await r.text()
