"""The sandbox does not let clients hold connections (issue 13 item 9): real sockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from vexora_async.errors import ConfigurationError
from vexora_async.sandbox import ServerLimits, run_sandbox

from .test_sandbox_support import checkout_request

HALF_HEAD = b"POST /v1/vexora/checkout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty"
HALF_BODY = (
    b"POST /v1/vexora/checkout HTTP/1.1\r\nHost: 127.0.0.1\r\nmerchantNo: 0000000001\r\n"
    b"Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"tradeNo\": \"SL"
)


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await reader.read()  # b"" or an answer, then EOF


async def test_half_sent_requests_are_cut_and_others_served() -> None:
    limits = ServerLimits(idle_timeout=0.5, body_timeout=0.5, max_connections=1000)
    async with run_sandbox(time_factor=0.001, limits=limits) as sandbox:
        assert sandbox.base_url is not None
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(200)]
        for n, (_, writer) in enumerate(opened):
            if n % 4:  # a quarter send nothing at all
                writer.write(HALF_HEAD if n % 2 else HALF_BODY)
                await writer.drain()

        # While 200 connections hang, a normal client is served.
        async with sandbox.client("IDR") as client:
            link = await client.create_payment_link(checkout_request("IDR", "SL-OK"))
        assert link.trade_no == "SL-OK"

        # Every slow connection is closed by the server (bounded: never a hang).
        answers = await asyncio.wait_for(
            asyncio.gather(*(_until_closed(reader) for reader, _ in opened)), 30
        )
        for n, answer in enumerate(answers):
            if n % 4 and not n % 2:  # head complete, body stalled: 408, then closed
                assert answer.startswith(b"HTTP/1.1 408"), answer[:40]
            else:
                assert answer == b""
        for _, writer in opened:
            writer.close()
        assert len(sandbox.ledger) == 1  # no stalled body became an order


@pytest.mark.parametrize(
    "line",
    [b"POST /v1/vexora/checkout", b"POST /no/such/path", b"PUT /v1/vexora/checkout"],
    ids=["routed", "unknown-path", "wrong-method"],
)
async def test_a_stalled_body_gets_408_whatever_the_path(line: bytes) -> None:
    # Not only on the gateway's routes: a path or method no route takes must not let a
    # client hold the connection either (aiohttp alone would linger reading for 10 s).
    limits = ServerLimits(idle_timeout=30, body_timeout=0.5, max_connections=1000)
    async with run_sandbox(time_factor=0.001, limits=limits) as sandbox:
        assert sandbox.base_url is not None
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HALF_BODY.replace(b"POST /v1/vexora/checkout", line, 1))
        await writer.drain()
        answer = await asyncio.wait_for(_until_closed(reader), 30)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:40]


async def test_wrong_paths_and_methods_are_answered_as_aiohttp_does() -> None:
    async with run_sandbox(time_factor=0.001) as sandbox:
        assert sandbox.base_url is not None
        async with aiohttp.ClientSession() as session:
            async with session.post(sandbox.base_url + "/no/such/path", data=b"{}") as r:
                assert r.status == 404
            async with session.get(sandbox.base_url + "/v1/vexora/checkout") as r:
                assert r.status == 405 and "POST" in r.headers["Allow"]
            async with session.get(sandbox.base_url + "/sandbox") as r:
                assert r.status == 200


async def test_connections_beyond_the_cap_are_closed() -> None:
    limits = ServerLimits(idle_timeout=60, max_connections=20)
    async with run_sandbox(time_factor=0.001, limits=limits) as sandbox:
        assert sandbox.base_url is not None
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        # Each held connection is known to the server once it answers a request on it.
        for reader, writer in held:
            writer.write(b"GET /sandbox HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await writer.drain()
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        extra_reader, extra_writer = await asyncio.open_connection("127.0.0.1", port)
        extra_writer.write(b"GET /sandbox HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        with pytest.raises(ConnectionError):
            data = await asyncio.wait_for(extra_reader.read(), 30)
            if data == b"":
                raise ConnectionResetError("closed unanswered")
        for _, writer in [*held, (extra_reader, extra_writer)]:
            writer.close()


def test_limits_are_checked() -> None:
    for bad in ({"idle_timeout": 0}, {"body_timeout": float("nan")}, {"max_connections": -1},
                {"idle_timeout": float("inf")}, {"max_connections": True}):
        with pytest.raises(ConfigurationError):
            ServerLimits(**bad)  # type: ignore[arg-type]
