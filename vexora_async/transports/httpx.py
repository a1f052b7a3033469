"""An optional transport over ``httpx.AsyncClient`` (install the ``httpx`` extra).

Same contract as the aiohttp transport: a client you pass in is yours and never closed.
"""

from __future__ import annotations

import asyncio

import httpx

from ..errors import (
    ConfigurationError,
    ConnectionDropped,
    RequestTimeout,
    TransportClosed,
)
from .base import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_MAX_BODY,
    HttpRequest,
    HttpResponse,
    Timeouts,
    wrong_loop,
)
from .connect_errors import connect_error

__all__ = ["HttpxTransport"]


class HttpxTransport:
    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        limit: int = 100,
        timeouts: Timeouts | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
    ) -> None:
        if limit < 1:
            raise ConfigurationError("limit must be at least 1")
        self._timeouts = timeouts or Timeouts()
        self._client = client
        self._owns_client = client is None
        self._limit = limit
        self._max_body = max_body_size
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None  # where the client's pool lives

    def _timeout(self, total: float | None) -> httpx.Timeout:
        return httpx.Timeout(total, connect=self._timeouts.connect, pool=self._timeouts.connect)

    def _open_client(self) -> httpx.AsyncClient:
        if self._closed:
            raise TransportClosed("the transport is closed")
        self._loop = asyncio.get_running_loop()
        limits = httpx.Limits(max_connections=self._limit, max_keepalive_connections=self._limit)
        # Redirects are never followed: that would re-send the signed body, with payer data, to
        # whatever host Location names. A 3xx reaches the client as a typed error.
        self._client = httpx.AsyncClient(
            limits=limits,
            timeout=self._timeout(DEFAULT_ATTEMPT_TIMEOUT),
            follow_redirects=False,
        )
        return self._client

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        client = self._client or self._open_client()
        if self._loop is not None and asyncio.get_running_loop() is not self._loop:
            raise wrong_loop()
        try:
            response = await client.request(
                request.method,
                request.url,
                content=request.body,
                headers=dict(request.headers),
                timeout=self._timeout(timeout if timeout is not None else DEFAULT_ATTEMPT_TIMEOUT),
                follow_redirects=False,
            )
        # Connect and pool timeouts happen before anything is written: never sent.
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            target = httpx.URL(request.url)
            reason = _reason(exc)
            raise connect_error(target.host, target.port or _DEFAULT_PORTS.get(target.scheme),
                                reason) from None  # fmt: skip
        except httpx.TimeoutException as exc:
            raise RequestTimeout(f"no answer in time: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise ConnectionDropped(f"connection failed: {type(exc).__name__}") from None
        if len(response.content) > self._max_body:
            raise ConnectionDropped(f"response body larger than {self._max_body} bytes")
        headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpResponse(response.status_code, headers, response.content)

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()

    def __repr__(self) -> str:
        return f"HttpxTransport(limit={self._limit}, timeouts={self._timeouts!r})"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _reason(exc: Exception) -> BaseException | str:
    """The OS error under httpx's (its message is that error's text), or what timed out."""
    if isinstance(exc, httpx.PoolTimeout):
        return "no connection in the attempt's time"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    context = exc.__context__
    while context is not None and not isinstance(context, OSError):
        context = context.__context__
    return context if context is not None else type(exc).__name__
