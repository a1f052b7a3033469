"""Helpers for the sandbox tests (no tests here): a merchant's notify endpoint, sample orders
for every built-in profile, raw signed requests."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from vexora_async import CheckoutRequest, VexoraClient
from vexora_async.sandbox import TEST_MERCHANTS, Sandbox, SandboxMerchant, run_sandbox
from vexora_async.signing import sign, verify
from vexora_async.wire import dumps

MERCHANTS: dict[str, SandboxMerchant] = {m.profile.name: m for m in TEST_MERCHANTS}
PROFILES = tuple(MERCHANTS)
# Never contacted: the sandbox skips non-loopback notify URLs (.example is reserved anyway).
EXTERNAL_NOTIFY = "https://merchant.example/notify"
RETURN_URL = "https://merchant.example/return"

_PAYERS: dict[str, dict[str, Any]] = {
    "IDR": {
        "amount": 150000, "username": "Budi", "mobile": "081234567890",
        "email": "budi@example.com", "channel_code": "EWALLET", "way_code": "DANA",
    },
    "PHP": {
        "amount": 300, "firstname": "Maria", "lastname": "Santos", "mobile": "0912345678",
        "email": "maria@example.com", "channel_code": "NET_BANKING",
        "way_code": "BANK_TRANSFER", "bank_number": "808-0368988888888",
        "ip_address": "203.0.113.7", "return_url": RETURN_URL,
    },
    "KHR": {
        "amount": 12000, "firstname": "Sok", "lastname": "Dara", "mobile": "012345678",
        "email": "dara@example.com", "channel_code": "KHQR", "way_code": "KHQR",
        "return_url": RETURN_URL, "remark": "order-1",
    },
}
_PAYERS["PAYPRO_IDR"] = _PAYERS["IDR"]
_PAYERS["USD"] = {
    **_PAYERS["KHR"], "amount": Decimal("12.50"), "channel_code": "BAKONG", "way_code": "VA",
}


def checkout_request(
    profile: str, trade_no: str, notify_url: str = EXTERNAL_NOTIFY, **changes: Any
) -> CheckoutRequest:
    """A valid order for ``profile``."""
    fields = {**_PAYERS[profile], "trade_no": trade_no, "notify_url": notify_url, **changes}
    return CheckoutRequest(**fields)


def stamp_for(profile: str) -> int | str:
    now = time.time_ns() // 1_000_000
    return now if MERCHANTS[profile].profile.timestamp_as_number else str(now)


def wire_body(
    profile: str,
    trade_no: str,
    notify_url: str = EXTERNAL_NOTIFY,
    *,
    secret: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A signed checkout body as the SDK would send it; ``changes`` are applied before
    signing (so a broken field still carries a valid sign)."""
    merchant = MERCHANTS[profile]
    fields = merchant.profile.prepare(checkout_request(profile, trade_no, notify_url))
    fields["timestamp"] = stamp_for(profile)
    fields.update(changes)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["sign"] = sign(fields, secret or merchant.secret)
    return fields


def query_body(profile: str, trade_no: str, *, secret: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"tradeNo": trade_no, "timestamp": stamp_for(profile)}
    fields["sign"] = sign(fields, secret or MERCHANTS[profile].secret)
    return fields


class Answer:
    """What the raw helpers got back."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)

    @property
    def code(self) -> str:
        code: str = self.json()["code"]
        return code


async def post(
    url: str,
    body: Mapping[str, Any] | bytes,
    *,
    merchant_no: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """POST JSON (or raw bytes) with a ``merchantNo`` header, as the gateway expects."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if merchant_no is not None:
        sent["merchantNo"] = merchant_no
    data = body if isinstance(body, bytes) else dumps(dict(body))
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=sent, allow_redirects=False) as response,
    ):
        return Answer(response.status, dict(response.headers), await response.read())


async def get(url: str) -> Answer:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return Answer(response.status, dict(response.headers), await response.read())


class NotifyReceiver:
    """A merchant's notify endpoint on 127.0.0.1.

    Verifies every notification with ``vexora_async.signing.verify`` and ``secret`` (400
    when it does not verify), records it, and answers the i-th one with ``answers[i]``,
    then with ``default`` (200 ``OK``).
    """

    def __init__(
        self,
        secret: str,
        answers: Sequence[tuple[int, str]] = (),
        default: tuple[int, str] = (200, "OK"),
    ) -> None:
        self.secret = secret
        self._answers = list(answers)
        self._default = default
        self.received: list[dict[str, Any]] = []
        self.verified: list[bool] = []
        self.arrivals: list[float] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read(), parse_float=Decimal)
        self.arrivals.append(time.monotonic())
        self.received.append(body)
        ok = verify(body, self.secret)
        self.verified.append(ok)
        if not ok:
            return web.Response(status=400, text="bad sign")
        index = len(self.received) - 1
        status, text = self._answers[index] if index < len(self._answers) else self._default
        return web.Response(status=status, text=text)

    async def __aenter__(self) -> NotifyReceiver:
        app = web.Application()
        app.router.add_post("/notify", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/notify"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def post_form(url: str, form: Mapping[str, str]) -> Answer:
    """Submit a cashier form the way a browser does (urlencoded, no redirect followed)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=dict(form), allow_redirects=False) as response,
    ):
        return Answer(response.status, dict(response.headers), await response.read())


def amount_text(amount: int | Decimal, profile: str) -> str:
    """How the SDK writes an amount for ``profile`` (and so how the sandbox shows it)."""
    return str(MERCHANTS[profile].profile.amount.render(amount))


@asynccontextmanager
async def merchant_setup(
    profile: str,
    answers: Sequence[tuple[int, str]] = (),
    default: tuple[int, str] = (200, "OK"),
    *,
    sandbox: Sandbox | None = None,
) -> AsyncIterator[tuple[NotifyReceiver, Sandbox, VexoraClient]]:
    """A merchant of ``profile`` with its notify endpoint, a served sandbox (time factor
    0.001 unless one is given) and a client: ``(receiver, sandbox, client)``."""
    serving = run_sandbox(time_factor=0.001) if sandbox is None else run_sandbox(sandbox=sandbox)
    async with (
        NotifyReceiver(MERCHANTS[profile].secret, answers, default) as receiver,
        serving as served,
        served.client(profile) as client,
    ):
        yield receiver, served, client
