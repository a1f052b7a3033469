"""A transport without sockets: calls an async function or an ``aiohttp.web.Application``.

For unit tests and for running the embedded sandbox in-process.

An application is driven the way httpx's ``ASGITransport`` drives an ASGI app: through the
server's public interface only. aiohttp's public one is ``AppRunner.server``, an asyncio
protocol factory; each request gets a fresh protocol, an in-memory ``asyncio.Transport``
(public asyncio API) and the request's HTTP/1.1 bytes, and the bytes the server writes back
are parsed as its answer. So the app runs exactly as behind a socket (middlewares, startup
hooks, error pages, a handler that aborts the connection) without aiohttp's private methods
or its test utilities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..errors import ConnectError, ConnectionDropped, RequestTimeout, TransportClosed
from .base import HttpRequest, HttpResponse

__all__ = ["Handler", "MemoryTransport"]

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class MemoryTransport:
    """``MemoryTransport(handler)`` or ``MemoryTransport(app)``.

    An exception escaping a handler function is reported as ``ConnectionDropped`` (the
    request was delivered, the answer lost), which is what a crashed server looks like to a
    client; an application answers it with HTTP 500, as aiohttp does behind a socket.
    """

    def __init__(self, target: Handler | web.Application) -> None:
        self._app = target if isinstance(target, web.Application) else None
        self._function: Handler | None = None if self._app is not None else target  # type: ignore[assignment]
        self._runner: web.AppRunner | None = None
        self._closed = False
        self.requests_seen = 0

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self._closed:
            raise TransportClosed("the transport is closed")
        self.requests_seen += 1
        try:
            async with asyncio.timeout(timeout):
                if self._function is not None:
                    return await self._function(request)
                return await self._call_app(request)
        except TimeoutError:
            raise RequestTimeout("no answer in time") from None
        except (ConnectError, RequestTimeout, ConnectionDropped):
            raise
        except Exception as exc:
            raise ConnectionDropped(f"handler failed: {type(exc).__name__}") from None

    async def _call_app(self, request: HttpRequest) -> HttpResponse:
        assert self._app is not None
        if self._runner is None:
            # Runs the app's startup hooks once, as a real server would; no sockets. A handler
            # whose caller gave up (timeout) is cancelled rather than left running unseen.
            runner = web.AppRunner(
                self._app, handle_signals=False, access_log=None, handler_cancellation=True
            )
            await runner.setup()
            self._runner = runner
        server = self._runner.server
        assert server is not None
        protocol = server()
        pipe = _Pipe(protocol)
        protocol.connection_made(pipe)
        try:
            protocol.data_received(_request_bytes(request))
            written = await pipe.finished
        finally:
            pipe.close()  # a cancelled or timed-out call ends the server's side too
        return _parse_response(written)

    async def aclose(self) -> None:
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _request_bytes(request: HttpRequest) -> bytes:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # A Host header as a socket client would send: without one, aiohttp asks the OS for
    # this machine's name when an app reads request.host. One request per "connection".
    headers = {"Host": parts.netloc, **request.headers}
    lines = [f"{request.method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()
              if name.lower() not in ("content-length", "connection", "transfer-encoding")]
    lines += [f"Content-Length: {len(request.body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + request.body


def _parse_response(raw: bytes) -> HttpResponse:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionDropped("the application closed the connection without an answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split(" ", 2)[1])
    except (IndexError, ValueError):
        raise ConnectionDropped("the application wrote no HTTP status line") from None
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(body) < length:
            raise ConnectionDropped("the answer ended early")
        body = body[:length]
    return HttpResponse(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, sep, rest = data.partition(b"\r\n")
        if not sep:
            raise ConnectionDropped("the answer ended early")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        if len(rest) < size + 2:
            raise ConnectionDropped("the answer ended early")
        out += rest[:size]
        data = rest[size + 2 :]


class _Pipe(asyncio.Transport):
    """The server's side of an in-memory connection: collects what it writes; ``finished``
    resolves when it closes the connection (``ConnectionDropped`` when it aborts it)."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._protocol = protocol
        self._written = bytearray()
        self._closing = False
        self.finished: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._written += data

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return not self._closing

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def close(self) -> None:
        self._end(None)

    def abort(self) -> None:
        self._end(ConnectionDropped("the application dropped the connection"))

    def _end(self, error: Exception | None) -> None:
        if self._closing:
            return
        self._closing = True
        if not self.finished.done():
            if error is None:
                self.finished.set_result(bytes(self._written))
            else:
                self.finished.set_exception(error)
        # As a socket transport does: the protocol learns of it on the next loop turn.
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)
