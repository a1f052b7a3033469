"""A stub gateway for the throughput comparison: a fixed, valid checkout answer, at little cost.

    python -m benchmarks.stub --cpu 0

Reads each HTTP/1.1 request only as far as its framing (the header block and
``Content-Length``), copies the body's ``tradeNo`` into the answer, and writes a checkout
answer built once at start-up, headers included (the same headers the sandbox's aiohttp
server sends, so every client parses what it would parse there). No JSON is parsed and no
sign is checked: the stub must cost a small fraction of any client's CPU, so that the
clients, not the server, set the pace. The benchmark prints the stub's CPU busy share for
every run to show that it does. Prints ``BASE_URL <url>`` once it serves; stops like
``benchmarks.server``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Sequence
from typing import cast

from vexora_async._loop import run

from .common import pin
from .server import READY, until_stopped

__all__ = ["StubProtocol", "answer", "serve"]

_HEAD_END = b"\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_TRADE_NO = re.compile(rb'"tradeNo":\s*"([^"\\]*)"')
_PLATFORM = "sb0000000000000001"
_MARK = "@@TRADE_NO@@"  # where the request's tradeNo goes


def _answer_parts() -> tuple[bytes, bytes, bytes]:
    """The answer's bytes before the Content-Length value, between it and the tradeNo, after."""
    envelope = {
        "msg": "success",
        "code": "0000",
        "timestamp": 1763700000000,
        "success": True,
        "data": {
            "tradeNo": _MARK,
            "platFormTradeNo": _PLATFORM,
            "status": "0015",
            "desc": "Paying",
            "remark": "",
            "paymentUrl": f"http://127.0.0.1:8080/cashier/{_PLATFORM}",
            "qrString": f"00020101021226440014SANDBOX.VEXORA0116{_PLATFORM}54061500006304",
        },
    }
    before, after = json.dumps(envelope, separators=(",", ":")).encode().split(_MARK.encode())
    head = (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json; charset=utf-8\r\n"
        b"Date: Sat, 21 Nov 2026 00:00:00 GMT\r\n"
        b"Server: Python/3.11 aiohttp/3.14\r\n"
        b"Content-Length: "
    )
    return head, b"\r\n\r\n" + before, after


_HEAD, _BEFORE, _AFTER = _answer_parts()
_FIXED_LENGTH = len(_BEFORE) - 4 + len(_AFTER)  # the body without the tradeNo


def answer(body: bytes) -> bytes:
    """The whole HTTP response to one request body."""
    found = _TRADE_NO.search(body)
    trade = found.group(1) if found else b"unknown"
    return b"".join(
        (_HEAD, str(_FIXED_LENGTH + len(trade)).encode(), _BEFORE, trade, _AFTER)
    )


class StubProtocol(asyncio.Protocol):
    """One keep-alive connection; requests may arrive split or several in one read."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        replies = []
        while (end := buffer.find(_HEAD_END)) >= 0:
            length = _LENGTH.search(buffer, 0, end + 2)
            start = end + 4
            stop = start + (int(length.group(1)) if length else 0)
            if len(buffer) < stop:
                break  # the body is still on its way
            replies.append(answer(buffer[start:stop]))
            buffer = buffer[stop:]
        self._buffer = buffer
        if replies and self._transport is not None:
            self._transport.write(replies[0] if len(replies) == 1 else b"".join(replies))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(port: int, parent: int | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(StubProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        bound = server.sockets[0].getsockname()[1]
        print(f"{READY} http://127.0.0.1:{bound}", flush=True)
        await until_stopped(parent)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stub", description=__doc__)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for any free one")
    parser.add_argument(
        "--parent-pid", type=int, default=None, help="exit when this process is no longer ours"
    )
    args = parser.parse_args(argv)
    pin(args.cpu)
    run(serve(args.port, args.parent_pid))  # uvloop when installed: the cheaper server
    return 0


if __name__ == "__main__":
    sys.exit(main())
