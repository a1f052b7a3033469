"""The clients under test: the same orders against the same gateway, written several ways.

Each client is a factory: given the run's settings it yields ``call(index)``, which creates
the link for order ``index`` and raises unless the gateway accepted it. Async clients yield
a coroutine function (driven by tasks, ``kind="tasks"``), ``requests`` a plain one (driven by
threads, ``kind="threads"``). ``sdk-batch`` (``kind="batch"``) yields ``create(start, count)``,
which makes links ``start`` .. ``start + count - 1`` with ``create_payment_links`` and returns
the errors. Imports happen inside the factories, so a client's process loads only what it
uses. Every client runs on asyncio's own loop except ``sdk-uvloop``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import attrs

from .common import (
    CHECKOUT_PATH,
    MERCHANT_NO,
    ORDER,
    PROFILE,
    SECRET,
    WIRE_ORDER,
    amount_of,
    epoch_millis,
    hand_sign,
    trade_no,
)

__all__ = ["CLIENTS", "ClientInfo", "Settings"]

AsyncCall = Callable[[int], Awaitable[object]]
SyncCall = Callable[[int], object]
# create(start, count) -> (errors, the first error's text)
BatchCall = Callable[[int, int], Awaitable[tuple[int, str | None]]]


@attrs.frozen
class Settings:
    base_url: str
    run_id: str
    tag: str  # two characters, unique per client and concurrency within a run
    concurrency: int
    orders: int  # every index the run will use (warm-up included), for pre-built bodies


@attrs.frozen
class ClientInfo:
    name: str
    label: str
    kind: str  # "tasks", "threads" or "batch": how the worker drives it
    factory: Callable[[Settings], Any]
    notes: Callable[[], dict[str, Any]] = dict
    needs: tuple[str, ...] = ()  # modules beyond the SDK's own dependencies
    uvloop: bool = False  # run on uvloop (the worker's loop), else on asyncio's

    @property
    def threaded(self) -> bool:
        return self.kind == "threads"


Order = tuple[str, int]  # an order's number and amount


def _orders(settings: Settings) -> list[Order]:
    """Every order's number and amount, made before the clock starts, for every client alike.

    Making them is the caller's work, not the client's, and the floor's pre-built bodies
    hold them: a client that made its own inside the measured links paid for the benchmark's
    f-string (about 4,000 instructions a link live) on top of its own work.
    """
    run_id, tag = settings.run_id, settings.tag
    return [(trade_no(run_id, tag, index), amount_of(index)) for index in range(settings.orders)]


def _wire_fields(order: Order) -> dict[str, Any]:
    """A hand-written client's body: business fields, timestamp and sign."""
    number, amount = order
    fields = {
        "tradeNo": number,
        "amount": amount,
        **WIRE_ORDER,
        "timestamp": str(epoch_millis()),
    }
    fields["sign"] = hand_sign(fields, SECRET)
    return fields


def _accepted(payload: Any) -> str:
    """What a hand-written client reads from the answer: the payment URL, or an error."""
    if payload.get("code") != "0000":
        raise RuntimeError(f"gateway code {payload.get('code')}: {payload.get('msg')}")
    url: str = payload["data"]["paymentUrl"]
    return url


_HEADERS = {"merchantNo": MERCHANT_NO}


@asynccontextmanager
async def _floor(settings: Settings) -> AsyncIterator[AsyncCall]:
    """Raw aiohttp posting bodies built and signed before the clock starts: the floor."""
    import aiohttp

    url = settings.base_url + CHECKOUT_PATH
    bodies = [json.dumps(_wire_fields(order)).encode() for order in _orders(settings)]
    headers = {**_HEADERS, "Content-Type": "application/json"}
    accepted = b'"code":"0000"'
    connector = aiohttp.TCPConnector(limit=settings.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(index: int) -> None:
            async with session.post(url, data=bodies[index], headers=headers) as response:
                body = await response.read()
            if accepted not in body:  # a substring test: the floor parses nothing
                raise RuntimeError("not accepted")

        yield call


@asynccontextmanager
async def _hand_aiohttp(settings: Settings) -> AsyncIterator[AsyncCall]:
    """aiohttp as its docs show it: ``json=`` in, ``response.json()`` out, MD5 by hand."""
    import aiohttp

    url = settings.base_url + CHECKOUT_PATH
    orders = _orders(settings)
    connector = aiohttp.TCPConnector(limit=settings.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(index: int) -> str:
            body = _wire_fields(orders[index])
            async with session.post(url, json=body, headers=_HEADERS) as response:
                payload = await response.json()
            return _accepted(payload)

        yield call


@asynccontextmanager
async def _client(settings: Settings, transport: str) -> AsyncIterator[Any]:
    """A ``VexoraClient`` on the named transport, closed (with a transport it was given) after."""
    from vexora_async import VexoraClient

    options: dict[str, Any] = {"limit": settings.concurrency}
    if transport == "httpx":
        from vexora_async.transports.httpx import HttpxTransport

        options = {"transport": HttpxTransport(limit=settings.concurrency)}
    elif transport == "http11":
        from vexora_async.transports.http11 import Http11Transport

        options = {"transport": Http11Transport(limit=settings.concurrency)}
    client = VexoraClient(
        merchant_no=MERCHANT_NO, secret=SECRET, region=PROFILE,
        base_url=settings.base_url, **options,
    )
    try:
        yield client
    finally:
        await client.aclose()
        if "transport" in options:  # given to the client, so not closed by it
            await options["transport"].aclose()


@asynccontextmanager
async def _sdk_batch(settings: Settings) -> AsyncIterator[BatchCall]:
    """``create_payment_links`` over a generator of requests, results streamed and counted."""
    from vexora_async import CheckoutRequest

    orders = _orders(settings)
    async with _client(settings, "aiohttp") as client:

        async def create(start: int, count: int) -> tuple[int, str | None]:
            requests = (
                CheckoutRequest(trade_no=orders[index][0], amount=orders[index][1], **ORDER)
                for index in range(start, start + count)
            )
            errors, first = 0, None
            async for result in client.create_payment_links(
                requests, concurrency=settings.concurrency
            ):
                if result.error is not None:
                    errors += 1
                    first = first or f"{type(result.error).__name__}: {result.error}"[:300]
            return errors, first

        yield create


def _sdk_factory(transport: str) -> Callable[[Settings], Any]:
    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[AsyncCall]:
        from vexora_async import CheckoutRequest

        orders = _orders(settings)
        async with _client(settings, transport) as client:

            async def call(index: int) -> object:
                number, amount = orders[index]
                request = CheckoutRequest(trade_no=number, amount=amount, **ORDER)
                return await client.create_payment_link(request)

            yield call

    return factory


@contextmanager
def _requests_threads(settings: Settings) -> Iterator[SyncCall]:
    """``requests`` in a thread pool, one ``Session`` (so kept-alive connections) per thread."""
    import requests

    url = settings.base_url + CHECKOUT_PATH
    orders = _orders(settings)
    local = threading.local()
    sessions: list[requests.Session] = []

    def call(index: int) -> str:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            sessions.append(session)
        response = session.post(url, json=_wire_fields(orders[index]), headers=_HEADERS)
        return _accepted(response.json())

    try:
        yield call
    finally:
        for session in sessions:
            session.close()


def _json_notes() -> dict[str, Any]:
    from vexora_async.wire import HAS_ORJSON

    return {"orjson": HAS_ORJSON}


CLIENTS: dict[str, ClientInfo] = {
    info.name: info
    for info in (
        ClientInfo("floor", "raw aiohttp, pre-signed bodies (floor)", "tasks", _floor),
        ClientInfo("aiohttp", "hand-written aiohttp + json + md5", "tasks", _hand_aiohttp),
        ClientInfo("sdk", "VexoraClient (aiohttp)", "tasks", _sdk_factory("aiohttp"),
                   _json_notes),
        ClientInfo(
            "sdk-uvloop", "VexoraClient (aiohttp) on uvloop", "tasks", _sdk_factory("aiohttp"),
            _json_notes, needs=("uvloop",), uvloop=True,
        ),
        ClientInfo(
            "sdk-http11", "VexoraClient (Http11Transport)", "tasks", _sdk_factory("http11"),
            _json_notes,
        ),
        ClientInfo(
            "sdk-batch", "VexoraClient.create_payment_links", "batch", _sdk_batch, _json_notes,
        ),
        ClientInfo(
            "sdk-stdjson", "VexoraClient (aiohttp), stdlib json", "tasks",
            _sdk_factory("aiohttp"), _json_notes,
        ),
        ClientInfo(
            "sdk-httpx", "VexoraClient (httpx)", "tasks", _sdk_factory("httpx"), _json_notes,
            needs=("httpx",),
        ),
        ClientInfo(
            "requests", "requests + ThreadPoolExecutor", "threads", _requests_threads,
            needs=("requests",),
        ),
    )
}
# Clients that must not see orjson, even when it is installed.
WITHOUT_ORJSON = frozenset({"sdk-stdjson"})
