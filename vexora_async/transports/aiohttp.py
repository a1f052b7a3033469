"""The default transport: a pooled ``aiohttp.ClientSession``.

The session is created lazily inside the running loop (so a client can be built anywhere).
A session or connector you pass in is yours: it is used and never closed here.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ..errors import (
    ConfigurationError,
    ConnectError,
    ConnectionDropped,
    RequestTimeout,
    TransportClosed,
)
from .base import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_MAX_BODY,
    HttpRequest,
    HttpResponse,
    LowerCaseHeaders,
    Timeouts,
    wrong_loop,
)
from .connect_errors import connect_error
from .deadlines import AttemptDeadlines, finish, timed_out

__all__ = ["AiohttpTransport"]


class AiohttpTransport:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        connector: aiohttp.BaseConnector | None = None,
        limit: int = 100,
        timeouts: Timeouts | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        ssl: _ssl.SSLContext | None = None,
    ) -> None:
        if session is not None and connector is not None:
            raise ConfigurationError("pass a session or a connector, not both")
        if limit < 1:
            raise ConfigurationError("limit must be at least 1")
        self._session = session
        self._owns_session = session is None
        self._connector = connector
        self._limit = limit
        self._timeouts = timeouts or Timeouts()
        # aiohttp bounds the pool wait and connecting; the attempt's own time is kept by
        # ``_deadlines`` (far cheaper than aiohttp's per-request timer, see deadlines.py).
        self._connect_only = aiohttp.ClientTimeout(total=None, connect=self._timeouts.connect)
        self._deadlines: AttemptDeadlines  # set by ``_bind``, for the first request's loop
        self._max_body = max_body_size
        self._ssl = ssl
        self._closed = False
        # Keywords for every request in a task: a session not ours gets our connect-only
        # timeout (its own could end attempts that ``_deadlines`` keeps).
        self._options: dict[str, Any] = (
            {} if session is None else {"timeout": self._connect_only}
        )
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the session lives on
        self._parsed: dict[str, URL] = {}
        # The last headers sent, as given, as they were then, and in aiohttp's own type.
        self._headers_given: Mapping[str, str] | None = None
        self._headers_then: dict[str, str] = {}
        self._headers_sent: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())

    def _bind(self) -> None:
        """The first request's loop owns the connections and the deadlines from now on."""
        if self._loop is not None:
            raise wrong_loop()
        self._loop = asyncio.get_running_loop()
        self._deadlines = AttemptDeadlines(self._loop)

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransportClosed("the transport is closed")
        connector = self._connector or aiohttp.TCPConnector(
            limit=self._limit, ssl=self._ssl or True
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            connector_owner=self._connector is None,
            timeout=self._connect_only,
            # No skip_auto_headers: aiohttp would build a header set per request to apply it.
            auto_decompress=True,
        )
        return self._session

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self._loop is not asyncio.get_running_loop():
            self._bind()
        session = self._session or self._open_session()
        seconds = DEFAULT_ATTEMPT_TIMEOUT if timeout is None else timeout
        task = asyncio.current_task()
        # Our own session's default is ``_connect_only``: then no ``timeout=`` at all (each
        # keyword costs aiohttp a search through its thirty parameters).
        options = self._options
        if task is None:  # not in a task: aiohttp's own timer then
            due = None
            options = {
                "timeout": aiohttp.ClientTimeout(total=seconds, connect=self._timeouts.connect)
            }
        else:
            due = self._deadlines.start(task, seconds)
        try:
            # Awaited, not ``async with``: the context manager's two extra coroutines per
            # request are measurable, and ``read()`` already hands the connection back.
            response = await session.request(
                request.method,
                self._url(request.url),
                data=request.body,
                headers=self._headers(request.headers),
                # Never followed: that would re-send the signed body, with payer data, to
                # whatever host Location names (plain http too). A 3xx is a typed error.
                allow_redirects=False,
                **options,
            )
            try:
                content = response.content
                if self._owns_session and content.is_eof():
                    # The whole answer has arrived (a small one does, with its head): take
                    # it without a wait. (No trace hooks on our own session to tell.)
                    body = content.read_nowait()
                    if len(body) > self._max_body:
                        raise _too_large(self._max_body)
                else:
                    body = await self._read(response)
            except BaseException:
                response.close()  # a half-read connection cannot go back to the pool
                raise
            response.release()
            # tuple.__new__: the named tuple's own __new__ is a Python call, twice the cost.
            return tuple.__new__(
                HttpResponse, (response.status, LowerCaseHeaders(response.headers), body)
            )
        # Order matters: the connector errors subclass the OS and timeout errors below.
        except aiohttp.ClientConnectorError as exc:
            raise self._connect_error(request.url, exc.os_error) from None
        except aiohttp.ConnectionTimeoutError:
            raise self._connect_error(request.url, "timed out") from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise RequestTimeout(f"no answer in time: {type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            raise ConnectionDropped(f"connection failed: {type(exc).__name__}") from None
        except asyncio.CancelledError:
            if due is not None and task is not None and timed_out(due, task):
                raise RequestTimeout("no answer in time: the attempt's timeout") from None
            if self._closed and task is not None and not task.cancelling():
                # Nobody cancelled this task: closing the session cancelled its wait for a
                # pooled connection. Nothing was sent.
                raise TransportClosed("the transport is closed") from None
            raise
        finally:
            if due is not None and task is not None:
                finish(due, task)

    def _connect_error(self, url: str, cause: BaseException | str) -> ConnectError:
        """Which host and port could not be reached, and why (never the path or query)."""
        parsed = self._url(url)
        return connect_error(parsed.raw_host, parsed.port, cause)

    def _headers(self, headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
        """``headers`` in aiohttp's own type, which it takes without a copy. A client sends
        the same few headers every time: the last ones are kept (and compared, in case the
        mapping was changed since)."""
        if headers is not self._headers_given or headers != self._headers_then:
            self._headers_sent = CIMultiDictProxy(CIMultiDict(headers))
            self._headers_given, self._headers_then = headers, dict(headers)
        return self._headers_sent

    def _url(self, url: str) -> URL:
        """``url`` parsed once: a client posts to a few URLs, thousands of times."""
        parsed = self._parsed.get(url)
        if parsed is None:
            parsed = URL(url)
            if len(self._parsed) < 64:
                self._parsed[url] = parsed
        return parsed

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The body of an answer still arriving (or from a session that is not ours)."""
        length = response.content_length
        if length is not None and length <= self._max_body and not response.headers.get(
            "Content-Encoding"
        ):
            # Exactly `length` bytes: within the cap. From our own session (no trace hooks
            # to tell) the stream is read directly: ``read()`` adds two coroutines, and the
            # caller's ``release()`` returns the connection either way.
            return await (response.content.read() if self._owns_session else response.read())
        return await self._read_capped(response)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole body, refused past the size cap. ``content.read(n)`` would return only
        what has arrived so far: a body split over several reads would come back cut."""
        limit = self._max_body
        length = response.content_length
        if length is not None and length > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        # Counted as it arrives (after decompression), so a compressed body cannot grow past
        # the cap in memory either.
        while chunk := await response.content.readany():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            if self._loop is not None and asyncio.get_running_loop() is not self._loop:
                raise wrong_loop()
            await session.close()

    def __repr__(self) -> str:
        return f"AiohttpTransport(limit={self._limit}, timeouts={self._timeouts!r})"


def _too_large(limit: int) -> ConnectionDropped:
    return ConnectionDropped(f"response body larger than {limit} bytes")
