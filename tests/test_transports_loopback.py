"""Both HTTP transports against a real server on 127.0.0.1: answers and failure classes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from vexora_async import (
    ConfigurationError,
    ConnectError,
    ConnectionDropped,
    HttpRequest,
    OrderNotFound,
    OutcomeUnknown,
    RequestTimeout,
    RetryPolicy,
    Timeouts,
    Transport,
    VexoraClient,
)
from vexora_async.errors import TransportClosed, UnexpectedRedirect
from vexora_async.transports.aiohttp import AiohttpTransport
from vexora_async.transports.http11 import Http11Transport
from vexora_async.transports.httpx import HttpxTransport

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, request_from_wire

TRANSPORTS: dict[str, Callable[..., Transport]] = {
    "aiohttp": AiohttpTransport,
    "http11": Http11Transport,
    "httpx": HttpxTransport,
}


STOLEN: list[bytes] = []  # what the redirect target received: must stay empty


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    release = asyncio.Event()

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(body=body, headers={"X-Merchant": request.headers["merchantNo"]})

    async def hang(request: web.Request) -> web.Response:
        await release.wait()  # until the test ends: the client must give up first
        return web.Response(text="late")

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2048)

    async def huge_trickle(request: web.Request) -> web.StreamResponse:
        # Over the cap, in parts spaced out in time: not all there when the head is read.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"x" * 512)
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    async def huge_gzip(request: web.Request) -> web.Response:
        # 200 bytes on the wire, 64 KiB once decompressed.
        response = web.Response(body=b"x" * 65536)
        response.enable_compression(web.ContentCoding.gzip)
        return response

    async def trickle(request: web.Request) -> web.StreamResponse:
        # A body in chunks spaced out in time, as a slow network delivers it: the client's
        # first read returns only part of it. (The pause simulates the network; nothing
        # here waits for a result.)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"code":', b'"0000",', b'"msg":"split"}'):
            await response.write(part)
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    STOLEN.clear()

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(location="/stolen")

    async def steal(request: web.Request) -> web.Response:
        STOLEN.append(await request.read())
        return web.json_response({"code": "0000", "msg": "ok", "data": {}})

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/redirect/v1/vexora/checkout", redirect)
    app.router.add_post("/redirect/v1/vexora/queryPayInResult", redirect)
    app.router.add_post("/stolen", steal)
    app.router.add_post("/hang", hang)
    app.router.add_post("/huge", huge)
    app.router.add_post("/huge-trickle", huge_trickle)
    app.router.add_post("/huge-gzip", huge_gzip)
    app.router.add_post("/trickle", trickle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", release
    release.set()
    await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_round_trip(server: tuple[str, Any], name: str) -> None:
    url, _ = server
    transport = TRANSPORTS[name]()
    try:
        response = await transport.send(
            HttpRequest("POST", url + "/echo", {"merchantNo": "0000000001"}, b'{"a":1}')
        )
    finally:
        await transport.aclose()
    assert response.status == 200 and response.body == b'{"a":1}'
    assert response.headers["x-merchant"] == "0000000001"


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_refused_connection_is_never_sent(name: str) -> None:
    transport = TRANSPORTS[name]()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1/vexora/checkout?token=QUERY-SECRET"
    try:
        with pytest.raises(ConnectError) as caught:
            await transport.send(HttpRequest("POST", url, {}, b""))
    finally:
        await transport.aclose()
    message = str(caught.value)
    # What could not be reached (host and port only: never the path or query) and why.
    assert message.startswith(f"could not connect to 127.0.0.1:{port}: "), message
    assert "QUERY-SECRET" not in message and "/v1" not in message
    if name != "httpx":  # httpx words the refusal its own way ("all connection attempts")
        assert message.endswith("connection refused"), message


async def test_connect_errors_never_show_userinfo() -> None:
    # aiohttp takes user:password@ (it would send it as Basic auth); the message must not.
    transport = AiohttpTransport()
    port = _free_port()
    try:
        with pytest.raises(ConnectError) as caught:
            await transport.send(
                HttpRequest("POST", f"http://user:PASSWORD@127.0.0.1:{port}/p", {}, b"")
            )
    finally:
        await transport.aclose()
    assert str(caught.value) == f"could not connect to 127.0.0.1:{port}: connection refused"


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_no_answer_in_time_is_a_request_timeout(server: tuple[str, Any], name: str) -> None:
    url, _ = server
    transport = TRANSPORTS[name](timeouts=Timeouts(connect=5.0))
    try:
        with pytest.raises(RequestTimeout):
            await transport.send(HttpRequest("POST", url + "/hang", {}, b""), timeout=0.1)
    finally:
        await transport.aclose()


@pytest.mark.parametrize("path", ["/huge", "/huge-trickle", "/huge-gzip"])
@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_an_oversized_body_is_refused(server: tuple[str, Any], name: str, path: str) -> None:
    """Over the cap whether it arrived whole with its head, in parts, or compressed; and
    the next request on the transport gets its own answer."""
    url, _ = server
    transport = TRANSPORTS[name](max_body_size=1024)
    try:
        with pytest.raises(ConnectionDropped, match="larger than 1024 bytes"):
            await transport.send(HttpRequest("POST", url + path, {}, b""))
        echo = HttpRequest("POST", url + "/echo", {"merchantNo": "1"}, b"ok")
        assert (await transport.send(echo)).body == b"ok"
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_a_closed_transport_refuses_to_send(name: str) -> None:
    transport = TRANSPORTS[name]()
    await transport.aclose()
    with pytest.raises(ConnectError):
        await transport.send(HttpRequest("POST", "http://127.0.0.1:1/x", {}, b""))


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_a_body_in_several_reads_arrives_whole(server: tuple[str, Any], name: str) -> None:
    url, _ = server
    transport = TRANSPORTS[name]()
    try:
        response = await transport.send(HttpRequest("POST", url + "/trickle", {}, b""))
    finally:
        await transport.aclose()
    assert response.body == b'{"code":"0000","msg":"split"}'


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_redirects_are_never_followed(server: tuple[str, Any], name: str) -> None:
    url, _ = server
    transport = TRANSPORTS[name]()
    try:
        answer = await transport.send(
            HttpRequest("POST", url + "/redirect/v1/vexora/checkout", {}, b"{}")
        )
        assert answer.status == 307  # handed back as it is, not followed
        client = VexoraClient(
            merchant_no=MERCHANT, secret=SECRET, base_url=url + "/redirect", transport=transport,
            retry=RetryPolicy(attempts=2, backoff=0.001, settle_queries=1),
        )  # fmt: skip
        with pytest.raises(OutcomeUnknown) as caught:
            await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    finally:
        await transport.aclose()
    cause = caught.value.__cause__
    assert isinstance(cause, UnexpectedRedirect) and cause.status == 307
    assert cause.location_host is None or cause.location_host == "127.0.0.1"
    assert STOLEN == []  # nothing was re-sent to the host the redirect named
    assert SECRET not in repr(caught.value) and "/stolen" not in str(cause)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_one_client_in_two_event_loops_fails_fast(vexora_sandbox: Any, name: str) -> None:
    transport = TRANSPORTS[name]()
    client = vexora_sandbox.client("IDR", transport=transport)

    async def query() -> None:
        with contextlib.suppress(OrderNotFound):
            await client.query_payment("LOOP-1")

    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(query())
        with pytest.raises(ConfigurationError) as caught:
            asyncio.run(query())
        assert "event loop" in str(caught.value)
    finally:
        first.run_until_complete(transport.aclose())  # closed where it lives: nothing leaks
        first.close()


CUT_SHORT = {
    "length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    b'{"code":"0000","msg":"half"}',
    "chunked": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b'Transfer-Encoding: chunked\r\n\r\n1c\r\n{"code":"0000","msg":"half"}\r\n',
}


@pytest.mark.parametrize("cut", sorted(CUT_SHORT))
@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_an_answer_cut_short_is_never_taken_for_whole(name: str, cut: str) -> None:
    """The server sends part of an answer (fewer bytes than its length, or no last chunk)
    and closes: that is a dropped connection (maybe sent), never the part as the answer,
    however early the part and the close arrive."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(CUT_SHORT[cut])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = TRANSPORTS[name]()
    try:
        with pytest.raises(ConnectionDropped):
            await transport.send(HttpRequest("POST", f"http://127.0.0.1:{port}/x", {}, b"{}"))
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("name", ["aiohttp", "http11"])
async def test_closing_ends_the_requests_waiting_for_a_connection_as_not_sent(
    server: tuple[str, asyncio.Event], name: str
) -> None:
    # One connection, held by a request the server never answers; two more wait for it.
    # Closing the transport must end those two as TransportClosed (nothing sent), never
    # as a CancelledError nobody asked for (aiohttp's pool cancels its waiters).
    url, _ = server
    transport = TRANSPORTS[name](limit=1)
    request = HttpRequest("POST", url + "/hang", {}, b"{}")
    held = asyncio.create_task(transport.send(request, timeout=30.0))
    waiting = [asyncio.create_task(transport.send(request, timeout=30.0)) for _ in range(2)]
    while _waiting_for_a_connection(transport) < 2:
        await asyncio.sleep(0)  # (one loop turn at a time, until both wait in the pool)
    await transport.aclose()
    outcomes = await asyncio.gather(held, *waiting, return_exceptions=True)
    assert not any(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    assert all(isinstance(o, TransportClosed) for o in outcomes[1:]), outcomes


def _waiting_for_a_connection(transport: Transport) -> int:
    if isinstance(transport, Http11Transport):
        return sum(len(pool._waiters) for pool in transport._pools.values())
    session = transport._session  # type: ignore[attr-defined]
    if session is None:
        return 0
    return sum(len(waiters) for waiters in session.connector._waiters.values())
