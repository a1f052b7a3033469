"""Connections go back to the pool after every kind of answer the transport reads whole,
and one that could not be read whole never does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from vexora_async import ConnectionDropped, HttpRequest
from vexora_async.transports.aiohttp import AiohttpTransport

from .helpers import serving


@pytest.fixture
async def peers() -> AsyncIterator[tuple[str, list[object]]]:
    seen: list[object] = []

    async def plain(request: web.Request) -> web.Response:
        seen.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(body=await request.read())

    async def chunked(request: web.Request) -> web.StreamResponse:
        seen.append(request.transport.get_extra_info("peername") if request.transport else None)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"code":"0000",')
        await response.write(b'"msg":"ok"}')
        await response.write_eof()
        return response

    async def gzipped(request: web.Request) -> web.Response:
        seen.append(request.transport.get_extra_info("peername") if request.transport else None)
        response = web.Response(body=b'{"code":"0000","msg":"ok"}')
        response.enable_compression(web.ContentCoding.gzip)
        return response

    async def huge(request: web.Request) -> web.Response:
        seen.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(body=b"x" * (8 << 20))  # more than one read can bring

    app = web.Application()
    for name, handler in (("plain", plain), ("chunked", chunked), ("gzipped", gzipped),
                          ("huge", huge)):  # fmt: skip
        app.router.add_post(f"/{name}", handler)
    async with serving(app) as base:
        yield base, seen


async def test_one_connection_serves_every_answer_in_turn(
    peers: tuple[str, list[object]],
) -> None:
    url, seen = peers
    transport = AiohttpTransport(limit=1)
    try:
        for round_ in range(5):
            for name in ("plain", "chunked", "gzipped"):
                body = b'{"n":%d}' % round_
                response = await transport.send(HttpRequest("POST", f"{url}/{name}", {}, body))
                assert response.status == 200
                assert response.body == (body if name == "plain" else b'{"code":"0000","msg":"ok"}')
        assert len(seen) == 15 and len(set(seen)) == 1  # one kept-alive connection for all
    finally:
        await transport.aclose()


async def test_an_answer_refused_half_read_never_goes_back_to_the_pool(
    peers: tuple[str, list[object]],
) -> None:
    url, seen = peers
    transport = AiohttpTransport(limit=1, max_body_size=1024)
    try:
        with pytest.raises(ConnectionDropped):
            await transport.send(HttpRequest("POST", f"{url}/huge", {}, b"{}"))
        response = await transport.send(HttpRequest("POST", f"{url}/plain", {}, b"{}"))
        assert response.body == b"{}"
        assert len(seen) == 2 and seen[0] != seen[1]  # a fresh connection after the refusal
    finally:
        await transport.aclose()
