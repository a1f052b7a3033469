"""``MemoryTransport`` drives an aiohttp application through its public protocol only."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from vexora_async import (
    ConnectionDropped,
    HttpRequest,
    HttpResponse,
    MemoryTransport,
    RequestTimeout,
)
from vexora_async.sandbox import TEST_MERCHANTS, FaultKind, Sandbox

from .test_sandbox_support import wire_body


def _app() -> web.Application:
    started: list[str] = []

    async def on_startup(app: web.Application) -> None:
        started.append("up")

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {"body": body.decode(), "host": request.host, "x": request.headers.get("X-One"),
             "query": request.query_string, "started": len(started)},
            headers={"X-Answer": "yes"},
        )

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # no length: sent chunked
        await response.prepare(request)
        for part in (b"ab", b"c" * 70_000, b"d"):
            await response.write(part)
        await response.write_eof()
        return response

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    async def drop(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    app = web.Application()
    app.on_startup.append(on_startup)
    app.router.add_post("/echo", echo)
    app.router.add_get("/stream", streamed)
    app.router.add_get("/crash", crash)
    app.router.add_get("/drop", drop)
    app.router.add_get("/slow", slow)
    return app


async def test_requests_and_answers_round_trip() -> None:
    transport = MemoryTransport(_app())
    try:
        answer = await transport.send(
            HttpRequest("POST", "http://gw.example:81/echo?a=1", {"X-One": "1"}, b'{"k": 1}')
        )
        assert answer.status == 200
        assert answer.headers["x-answer"] == "yes"
        assert json.loads(answer.body) == {
            "body": '{"k": 1}', "host": "gw.example:81", "x": "1", "query": "a=1", "started": 1
        }
        streamed = await transport.send(HttpRequest("GET", "http://gw.example/stream", {}, b""))
        assert streamed.body == b"ab" + b"c" * 70_000 + b"d"
        crashed = await transport.send(HttpRequest("GET", "http://gw.example/crash", {}, b""))
        assert crashed.status == 500  # what aiohttp answers behind a socket too
        missing = await transport.send(HttpRequest("GET", "http://gw.example/nope", {}, b""))
        assert missing.status == 404
        with pytest.raises(ConnectionDropped):
            await transport.send(HttpRequest("GET", "http://gw.example/drop", {}, b""))
        with pytest.raises(RequestTimeout):
            slow = HttpRequest("GET", "http://gw.example/slow", {}, b"")
            await transport.send(slow, timeout=0.05)
        assert transport.requests_seen == 6
    finally:
        await transport.aclose()


async def test_sandbox_faults_through_memory() -> None:
    sandbox = Sandbox(TEST_MERCHANTS)
    transport = MemoryTransport(sandbox.app())
    idr = TEST_MERCHANTS[0]
    url = "http://127.0.0.1/v1/vexora/checkout"
    headers = {"merchantNo": idr.merchant_no, "Content-Type": "application/json"}
    try:
        sandbox.faults.retry_after = 3
        sandbox.faults.inject("MEM-503", FaultKind.UNAVAILABLE_AFTER_STORE)
        answer = await transport.send(
            HttpRequest("POST", url, headers, json.dumps(wire_body("IDR", "MEM-503")).encode())
        )
        assert (answer.status, answer.headers["retry-after"]) == (503, "3")
        assert sandbox.ledger.order("MEM-503") is not None  # committed all the same
        sandbox.faults.inject("MEM-DROP", FaultKind.DROP_AFTER_STORE)
        with pytest.raises(ConnectionDropped):
            await transport.send(
                HttpRequest("POST", url, headers, json.dumps(wire_body("IDR", "MEM-DROP")).encode())
            )
        assert sandbox.ledger.order("MEM-DROP") is not None
    finally:
        await transport.aclose()


async def test_a_failing_handler_function_is_a_dropped_connection() -> None:
    async def broken(request: HttpRequest) -> HttpResponse:
        raise KeyError("secret-looking detail")

    transport = MemoryTransport(broken)
    with pytest.raises(ConnectionDropped) as caught:
        await transport.send(HttpRequest("POST", "http://gw.example/x", {}, b""))
    assert "secret-looking" not in str(caught.value)  # only the exception's type
    await transport.aclose()


def test_answers_cut_short_are_dropped_connections() -> None:
    from vexora_async.transports.memory import _parse_response

    ok = _parse_response(
        b"HTTP/1.1 201 Created\r\nSet-Cookie: a\r\nset-cookie: b\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n1\r\nd\r\n0\r\n\r\n"
    )
    assert (ok.status, ok.headers["set-cookie"], ok.body) == (201, "a, b", b"abcd")
    for raw in (
        b"",  # closed before any answer
        b"HTTP/1.1 200 OK\r\nContent-Length: 10",  # head cut
        b"garbage\r\n\r\n",  # no status line
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5",
    ):
        with pytest.raises(ConnectionDropped):
            _parse_response(raw)
