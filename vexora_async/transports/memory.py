"""A transport without sockets: calls an async function or an ``aiohttp.web.Application``.

For unit tests and for running the embedded sandbox in-process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request

from ..errors import ConnectError, ConnectionDropped, RequestTimeout
from .base import HttpRequest, HttpResponse

__all__ = ["Handler", "MemoryTransport"]

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class MemoryTransport:
    """``MemoryTransport(handler)`` or ``MemoryTransport(app)``.

    An exception escaping the handler is reported as ``ConnectionDropped`` (the request was
    delivered, the answer lost), which is what a crashed server looks like to a client.
    """

    def __init__(self, target: Handler | web.Application) -> None:
        self._app = target if isinstance(target, web.Application) else None
        self._handler: Handler = self._call_app if self._app is not None else target  # type: ignore[assignment]
        self._runner: web.AppRunner | None = None
        self._closed = False
        self.requests_seen = 0

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self._closed:
            raise ConnectError("the transport is closed")
        self.requests_seen += 1
        try:
            if timeout is None:
                return await self._handler(request)
            async with asyncio.timeout(timeout):
                return await self._handler(request)
        except TimeoutError:
            raise RequestTimeout("no answer in time") from None
        except (ConnectError, RequestTimeout, ConnectionDropped):
            raise
        except Exception as exc:
            raise ConnectionDropped(f"handler failed: {type(exc).__name__}") from None

    async def _call_app(self, request: HttpRequest) -> HttpResponse:
        assert self._app is not None
        if self._runner is None:
            # Runs the app's startup hooks once, as a real server would; no sockets.
            self._runner = web.AppRunner(self._app, handle_signals=False)
            await self._runner.setup()
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        protocol = cast(BaseProtocol, _NullProtocol())
        payload = StreamReader(protocol, 1 << 16, loop=asyncio.get_running_loop())
        payload.feed_data(request.body)
        payload.feed_eof()
        # A Host header as a socket client would send: without one, aiohttp asks the OS for
        # this machine's name when an app reads request.host.
        headers = {"Host": parts.netloc, **request.headers}
        mocked = make_mocked_request(
            request.method, path, headers=headers, app=self._app, payload=payload
        )
        try:
            response = await self._app._handle(mocked)
        except web.HTTPException as exc:
            response = exc
        return HttpResponse(
            response.status,
            {k.lower(): v for k, v in response.headers.items()},
            _body_of(response),
        )

    async def aclose(self) -> None:
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _body_of(response: web.StreamResponse) -> bytes:
    body = getattr(response, "body", None)
    if body is None:
        text = getattr(response, "text", None)
        return text.encode() if isinstance(text, str) else b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    value = getattr(body, "_value", b"")  # an aiohttp Payload wrapping bytes or text
    return value.encode() if isinstance(value, str) else bytes(value)


class _NullProtocol:
    """Just enough of a protocol for a pre-filled StreamReader (it never pauses reading)."""

    _reading_paused = False

    def pause_reading(self, **_: object) -> None:
        return None

    def resume_reading(self, **_: object) -> None:
        return None
