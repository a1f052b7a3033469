"""A lean HTTP/1.1 transport written on asyncio's protocols: the SDK's own HTTP client.

The gateway's API is a small corner of HTTP: JSON posted to one host, a small answer read
back. For that corner a general client does a great deal per request that nobody asked for
(aiohttp's ``ClientSession`` costs about 110 µs of CPU per request here, this about 35).
This transport speaks just that corner, strictly:

- one request at a time per kept-alive connection, at most ``limit`` connections per
  origin; the pool wait and connecting are bounded by ``Timeouts.connect`` (a failure there
  proves the request never left: ``ConnectError``);
- answers framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the connection's
  end (RFC 9112 §6.3); interim 1xx answers skipped; ``gzip``/``deflate`` decompressed under
  the size cap;
- anything else (a malformed head, conflicting lengths, another transfer coding, bytes after
  the answer or while idle) is refused and that connection is closed, never reused: an
  answer is only ever read from a connection whose framing was understood to the byte, so it
  is always the answer to the request just sent.

Not supported, on purpose: proxies, redirects (never followed anyway), HTTP/2, cookies.
Use ``AiohttpTransport`` for those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl as _ssl
import string
import zlib
from collections import deque
from collections.abc import Mapping
from typing import Any, cast

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
    Timeouts,
    wrong_loop,
)
from .connect_errors import connect_error
from .deadlines import AttemptDeadlines, finish, timed_out

__all__ = ["Http11Transport"]

MAX_HEAD = 64 * 1024  # status line and headers (and a chunked answer's trailers)
_MAX_SIZE_LINE = 1024  # a chunk-size line, extensions included
_HEX = b"0123456789abcdefABCDEF"
# Set by the transport itself, so a caller's copy would contradict it.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_NAMES: dict[str, str] = {}  # a received header name that is a token -> lower-cased


class _Refused(Exception):
    """The answer breaks HTTP/1.1 framing: the connection cannot be trusted any further."""


def _lower_name(name: str) -> str:
    """A received header name, lower-cased; ``_Refused`` unless it is a token."""
    lowered = _NAMES.get(name)
    if lowered is None:
        if not name or not _TOKEN_CHARS.issuperset(name):
            raise _Refused("a header name that is not a token")
        lowered = name.lower()
        if len(_NAMES) < 512:  # answers repeat a few names: remembered, bounded
            _NAMES[name] = lowered
    return lowered


def _parse_head(head: str) -> tuple[int, int, dict[str, str]]:
    """``(minor version, status, headers)`` from a head decoded as Latin-1, CRLFs and all."""
    # A bare CR or LF would be read as a line end by some parsers and not by others.
    crlf = head.count("\r\n")
    if "\x00" in head or head.count("\r") != crlf or head.count("\n") != crlf:
        raise _Refused("a head with a bare CR, LF or NUL")
    lines = head.split("\r\n")
    status = _STATUS_LINES.get(lines[0]) or _status_line(lines[0])
    headers: dict[str, str] = {}
    names = _NAMES
    for text in lines[1:]:
        name, colon, value = text.partition(":")
        if not colon:
            raise _Refused("a header line without a colon")
        # obs-fold (a line opening with a space) is no token: refused by ``_lower_name``
        key = names.get(name) or _lower_name(name)
        value = value.strip(" \t")
        if key in headers:  # repeated: one list, as RFC 9110 §5.3 reads it
            headers[key] = f"{headers[key]}, {value}"
        else:
            headers[key] = value
    return status[0], status[1], headers


# A server sends the same head over and over (its Date changes once a second): each distinct
# head is parsed once, and every answer gets its own copy of the headers.
_HEADS: dict[bytes, tuple[int, int, dict[str, str]]] = {}


def _read_head(head: bytes) -> tuple[int, int, dict[str, str]]:
    parsed = _HEADS.get(head)
    if parsed is None:
        parsed = _parse_head(head.decode("latin-1"))
        if len(head) <= 1024:  # a long head is not remembered, and there are at most 32
            if len(_HEADS) >= 32:
                _HEADS.clear()
            _HEADS[head] = parsed
    return parsed[0], parsed[1], dict(parsed[2])


_STATUS_LINES: dict[str, tuple[int, int]] = {}  # a status line -> (minor version, status)


def _status_line(line: str) -> tuple[int, int]:
    if (
        line[:7] != "HTTP/1."
        or line[7:8] not in ("0", "1")
        or line[8:9] != " "
        or not (line[9:12].isdecimal() and line[9:12].isascii())
        or line[9] == "0"
        or (len(line) > 12 and line[12] != " ")
    ):
        raise _Refused("a malformed status line")
    found = int(line[7]), int(line[9:12])
    if len(_STATUS_LINES) < 64:  # "HTTP/1.1 200 OK" and a few others, over and over
        _STATUS_LINES[line] = found
    return found


def _content_length(text: str) -> int:
    if text.isdecimal() and text.isascii() and len(text) <= 18:  # the usual: one number
        return int(text)
    values = {part.strip(" \t") for part in text.split(",")}
    if len(values) != 1:
        raise _Refused("conflicting Content-Length values")
    (value,) = values
    if not value or not value.isascii() or not value.isdecimal() or len(value) > 18:
        raise _Refused("a malformed Content-Length")
    return int(value)


class _Connection(asyncio.Protocol):
    """One kept-alive connection: parses the answer to the one request in flight."""

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self.transport: asyncio.Transport | None = None
        self.counted = True  # holds one of the pool's ``limit`` places
        self.closed = False
        self.idle_since = 0.0
        self.max_idle = pool.keepalive  # seconds idle before it is no longer trusted
        self.waiter: asyncio.Future[tuple[int, dict[str, str], bytes, bool]] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._cap = 0
        self._head_only = False
        self._buffer = b""
        self._reset()

    def _reset(self) -> None:
        self._head: tuple[int, int, dict[str, str]] | None = None
        self._mode = 0  # 0 head, 1 length, 2 chunk size, 3 chunk data, 4 chunk end,
        #                5 trailers, 6 until the connection ends
        self._remaining = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._keep = False

    # -- the request side ------------------------------------------------------------------

    def start(self, data: bytes, cap: int, head_only: bool) -> asyncio.Future[Any]:
        """Write one request; the future gets ``(status, headers, body, reusable)``."""
        if not self.usable():  # closed by the server since it was handed out: not sent
            self.close()
            raise ConnectError("the connection closed before the request was written")
        assert self.transport is not None
        waiter = self.waiter = self._pool.loop.create_future()
        self._cap = cap
        self._head_only = head_only
        self.transport.write(data)
        return waiter

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def close(self, *, abort: bool = False) -> None:
        """Close for good (a connection whose state is unknown is never reused)."""
        self.closed = True
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()
        self._pool.forget(self)

    async def wait_closed(self) -> None:
        if self.transport is None or self._lost is None:
            return
        await self._lost

    # -- asyncio's callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an ``asyncio.Transport`` subclass, but is one).
        self.transport = cast(asyncio.Transport, transport)
        self._lost = self._pool.loop.create_future()

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():  # nothing asked: never trust it again
            self.close()
            return
        buffer = self._buffer + data if self._buffer else data
        try:
            self._buffer = self._feed(buffer)
        except _Refused as exc:
            self._fail(ConnectionDropped(f"unreadable answer: {exc}"))

    def eof_received(self) -> bool:
        if self._mode == 6:  # the answer ends with the connection
            self._done(False)
        else:
            self._fail(ConnectionDropped("the server closed the connection before answering"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if self._mode == 6 and exc is None:
            self._done(False)
        else:
            self._fail(ConnectionDropped("the connection was lost before the answer ended"))
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    # -- reading the answer -------------------------------------------------------------------

    def _fail(self, error: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _done(self, reusable: bool) -> None:
        waiter, self.waiter = self.waiter, None
        head = self._head
        body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._reset()
        if waiter is not None and not waiter.done() and head is not None:
            waiter.set_result((head[1], head[2], body, reusable))

    def _server_idle(self, value: str) -> None:
        """``Keep-Alive: timeout=N``: trusted for a second less than N (never more than ours),
        so that a request is not sent just as the server closes the connection."""
        for item in value.split(","):
            name, _, seconds = item.partition("=")
            if name.strip(" \t").lower() == "timeout" and seconds.strip(" \t").isdecimal():
                self.max_idle = min(self._pool.keepalive, int(seconds.strip(" \t")) - 1.0)

    def _take(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._size > self._cap:
            raise _Refused(f"a body larger than {self._cap} bytes")
        self._parts.append(data if start == 0 and end == len(data) else data[start:end])

    def _body_part(self, data: bytes, at: int) -> int:
        """Take what ``data`` holds, from ``at``, of the ``_remaining`` bytes; the new ``at``."""
        take = min(self._remaining, len(data) - at)
        if take:
            self._take(data, at, at + take)
            self._remaining -= take
        return at + take

    def _finish(self, data: bytes, at: int) -> bytes:
        """The answer ended at ``at``; bytes beyond it mean the server is out of step."""
        self._done(self._keep and at == len(data))
        if at != len(data):
            self.close()
        return b""

    def _feed(self, data: bytes) -> bytes:
        """Parse what has arrived; returns what is left over for the next call."""
        at = 0
        while True:
            mode = self._mode
            if mode == 0:
                end = data.find(b"\r\n\r\n", at)
                if end < 0:
                    if len(data) - at > MAX_HEAD:
                        raise _Refused("a head larger than 64 KiB")
                    return data[at:]
                if end - at > MAX_HEAD:
                    raise _Refused("a head larger than 64 KiB")
                minor, status, headers = _read_head(data[at:end])
                at = end + 4
                if status < 200:  # interim (100, 103): the answer follows
                    if status == 101:
                        raise _Refused("a protocol switch nobody asked for")
                    continue
                self._head = (minor, status, headers)
                connection = headers.get("connection", "").lower()
                self._keep = minor == 1 and "close" not in connection
                if "keep-alive" in headers:  # the server says how long it keeps idle ones
                    self._server_idle(headers["keep-alive"])
                coding = headers.get("transfer-encoding")
                if self._head_only or status == 204 or status == 304:
                    self._mode, self._remaining = 1, 0
                elif coding is not None:
                    if coding.lower() != "chunked":
                        raise _Refused("a transfer coding other than chunked")
                    if "content-length" in headers:  # RFC 9112 §6.1: close after
                        self._keep = False
                    self._mode = 2
                elif "content-length" in headers:
                    self._remaining = _content_length(headers["content-length"])
                    if self._remaining > self._cap:
                        raise _Refused(f"a body larger than {self._cap} bytes")
                    self._mode = 1
                else:
                    self._mode, self._keep = 6, False
            elif mode == 1:
                at = self._body_part(data, at)
                if self._remaining:
                    return b""
                return self._finish(data, at)
            elif mode == 2:
                end = data.find(b"\r\n", at)
                if end < 0:
                    if len(data) - at > _MAX_SIZE_LINE:
                        raise _Refused("a chunk-size line too long")
                    return data[at:]
                size = data[at:end].split(b";", 1)[0].strip(b" \t")
                if not size or size.strip(_HEX) or len(size) > 15 or end - at > _MAX_SIZE_LINE:
                    raise _Refused("a malformed chunk size")
                at = end + 2
                self._remaining = int(size, 16)
                self._mode = 3 if self._remaining else 5
            elif mode == 3:
                at = self._body_part(data, at)
                if self._remaining:
                    return b""
                self._mode = 4
            elif mode == 4:
                if len(data) - at < 2:
                    return data[at:]
                if data[at : at + 2] != b"\r\n":
                    raise _Refused("a chunk not ended by CRLF")
                at += 2
                self._mode = 2
            elif mode == 5:  # trailers: read past, not kept
                if data[at : at + 2] == b"\r\n":
                    at += 2
                else:
                    end = data.find(b"\r\n\r\n", at)
                    if end < 0:
                        if len(data) - at > MAX_HEAD:
                            raise _Refused("trailers larger than 64 KiB")
                        return data[at:]
                    at = end + 4
                return self._finish(data, at)
            else:  # mode 6: everything until the connection ends
                if at < len(data):
                    self._take(data, at, len(data))
                return b""


class _Pool:
    """The connections to one origin: idle ones (most recent last) and how many exist."""

    def __init__(
        self, owner: Http11Transport, host: str, port: int, tls: _ssl.SSLContext | None
    ) -> None:
        self.loop = owner._bound_loop()
        self._owner = owner
        self.keepalive = owner._keepalive
        self._host = host
        self._port = port
        self._tls = tls
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._count = 0  # connections open or opening: at most ``limit``
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        # Happy eyeballs (RFC 8305) for a host name, where the loop has it (uvloop's has
        # not). Never for an address: one address has nothing to race, and on Python 3.11 a
        # race cancelled midway leaves its connected socket to the garbage collector.
        self._eyeballs: dict[str, Any] = (
            {"happy_eyeballs_delay": 0.25}
            if isinstance(self.loop, asyncio.BaseEventLoop) and not _is_address(host)
            else {}
        )

    def connect_error(self, cause: BaseException | str) -> ConnectError:
        """This origin's host and port could not be reached (never the path or query)."""
        return connect_error(self._host, self._port, cause)

    def take_idle(self) -> _Connection | None:
        """The most recently used idle connection still worth using, or None."""
        idle = self._idle
        if not idle:
            return None
        now = self.loop.time()
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < connection.max_idle and connection.usable():
                return connection
            connection.close()  # idle too long: the server may be closing it right now
        return None

    async def acquire(self) -> _Connection:
        """A connection for one request: an idle one, a new one, or the next one freed."""
        while True:
            connection = self.take_idle()
            if connection is not None:
                return connection
            if self._count < self._owner._limit:
                return await self._open()
            waiter: asyncio.Future[_Connection | None] = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                given = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    passed = waiter.result()  # handed over as we were cancelled: pass it on
                    if passed is not None:
                        self.release(passed, True)
                    else:
                        self._wake()
                raise
            if given is not None and given.usable():
                return given
            if given is not None:  # closed by the server while handed over
                given.close()
            # A place came free (a connection closed): loop round to take or open one.

    async def _open(self) -> _Connection:
        self._count += 1
        made: list[_Connection] = []

        def protocol() -> _Connection:
            made.append(_Connection(self))
            return made[0]

        try:
            _, connection = await self.loop.create_connection(
                protocol,
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls is not None else None,
                **self._eyeballs,
            )
        except BaseException:
            # Cancelled after the connection was made, asyncio closes it, and its
            # ``connection_lost`` frees its place too: the place is freed once, here.
            if not made or made[0].counted:
                if made:
                    made[0].counted = False
                self._count -= 1
                self._wake()
            raise
        if self._owner._closed:  # closed while connecting
            connection.close()
            raise TransportClosed("the transport is closed")
        if connection.counted:  # (not already closed by the server)
            self._all.add(connection)
        return connection

    def release(self, connection: _Connection, reusable: bool) -> None:
        """Hand a connection back after an answer read to the byte (``reusable``)."""
        if not reusable or not connection.usable() or self._owner._closed:
            connection.close()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connection.idle_since = self.loop.time()
        self._idle.append(connection)

    def forget(self, connection: _Connection) -> None:
        """A connection closed (by either side): its place in the pool comes free."""
        if connection.counted:
            connection.counted = False
            self._count -= 1
            self._all.discard(connection)
            if connection in self._idle:
                self._idle.remove(connection)
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(TransportClosed("the transport is closed"))
        self._waiters.clear()
        connections = list(self._all)
        for connection in connections:
            connection.close(abort=True)  # now, not after a TLS goodbye the peer may never send
        for connection in connections:
            await connection.wait_closed()

    def __len__(self) -> int:
        return self._count


class _Route:
    """What is fixed for one URL: its pool and its request line and ``Host`` header."""

    __slots__ = ("pool", "start")

    def __init__(self, pool: _Pool, start: bytes) -> None:
        self.pool = pool
        self.start = start


class Http11Transport:
    """A lean HTTP/1.1 client for the gateway (see the module doc). ``keepalive`` is how
    long, in seconds, an idle connection is trusted to be still open."""

    def __init__(
        self,
        *,
        limit: int = 100,
        timeouts: Timeouts | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        ssl: _ssl.SSLContext | None = None,
        keepalive: float = 15.0,
    ) -> None:
        if limit < 1:
            raise ConfigurationError("limit must be at least 1")
        if not keepalive > 0:
            raise ConfigurationError("keepalive must be a positive number of seconds")
        self._limit = limit
        self._timeouts = timeouts or Timeouts()
        self._max_body = max_body_size
        self._ssl = ssl
        self._keepalive = keepalive
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadlines: AttemptDeadlines  # set by ``_bind``
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._routes: dict[tuple[str, str], _Route] = {}
        # The last headers sent, as given, as they were then, and as bytes.
        self._headers_given: Mapping[str, str] | None = None
        self._headers_then: dict[str, str] = {}
        self._headers_bytes = b""

    def _bind(self) -> None:
        if self._loop is not None:
            raise wrong_loop()
        self._loop = asyncio.get_running_loop()
        self._deadlines = AttemptDeadlines(self._loop)

    def _bound_loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self._loop is not asyncio.get_running_loop():
            self._bind()
        if self._closed:
            raise TransportClosed("the transport is closed")
        method, url, headers, body = request
        route = self._routes.get((method, url)) or self._route(method, url)
        if headers is not self._headers_given or headers != self._headers_then:
            self._set_headers(headers)
        data = b"%s%s%d\r\n\r\n%s" % (route.start, self._headers_bytes, len(body), body)
        pool = route.pool
        seconds = DEFAULT_ATTEMPT_TIMEOUT if timeout is None else timeout
        task = asyncio.current_task()
        due = None if task is None else self._deadlines.start(task, seconds)
        expiry: asyncio.TimerHandle | None = None
        connection: _Connection | None = None
        try:
            connection = pool.take_idle() or await self._connect(pool)
            if task is None:  # not in a task: a timer of its own ends the wait
                expiry = pool.loop.call_later(seconds, self._expire, connection)
            try:
                status, answer_headers, raw, reusable = await connection.start(
                    data, self._max_body, method == "HEAD"
                )
            except BaseException:
                connection.close()  # the answer may still come: the connection is spent
                raise
        except asyncio.CancelledError:
            if due is not None and task is not None and timed_out(due, task):
                if connection is None:  # still waiting for a connection: nothing was sent
                    raise pool.connect_error("no connection in the attempt's time") from None
                raise RequestTimeout("no answer in time: the attempt's timeout") from None
            raise
        finally:
            if due is not None and task is not None:
                finish(due, task)
            if expiry is not None:
                expiry.cancel()
        pool.release(connection, reusable)
        coding = answer_headers.get("content-encoding")
        if coding is not None and raw:  # (a HEAD, 204 or 304 answer names one, with no body)
            raw = self._decoded(raw, coding)
        return HttpResponse(status, answer_headers, raw)

    @staticmethod
    def _expire(connection: _Connection) -> None:
        connection._fail(RequestTimeout("no answer in time: the attempt's timeout"))

    async def _connect(self, pool: _Pool) -> _Connection:
        """A connection from the pool by ``Timeouts.connect``; failing here, nothing was sent."""
        try:
            async with asyncio.timeout(self._timeouts.connect):
                return await pool.acquire()
        except ConnectError:
            raise
        except TimeoutError:
            raise pool.connect_error("timed out") from None
        except OSError as exc:  # refused, unreachable, no such host, TLS handshake failed
            raise pool.connect_error(exc) from None

    def _route(self, method: str, url: str) -> _Route:
        if not method or not _TOKEN_CHARS.issuperset(method):
            raise ConfigurationError("the method must be an HTTP token")
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            raise ConfigurationError("the URL cannot be parsed") from None
        scheme = parsed.scheme
        if scheme not in ("http", "https") or not parsed.raw_host:
            raise ConfigurationError("the URL must be an absolute http:// or https:// URL")
        if parsed.raw_user is not None or parsed.raw_password is not None:
            raise ConfigurationError("credentials in the URL are not sent: use headers")
        port = parsed.port
        assert port is not None  # http and https have default ports
        target = parsed.raw_path_qs or "/"
        authority = parsed.raw_authority
        if not target.isascii() or not target.isprintable() or " " in target:
            raise ConfigurationError("the URL's path holds characters HTTP cannot carry")
        key = (scheme, parsed.raw_host, port)
        pool = self._pools.get(key)
        if pool is None:
            tls = self._tls_context() if scheme == "https" else None
            pool = self._pools[key] = _Pool(self, parsed.raw_host, port, tls)
        start = f"{method} {target} HTTP/1.1\r\nHost: {authority}\r\n".encode("ascii")
        route = _Route(pool, start)
        if len(self._routes) < 64:  # a client posts to a few URLs, thousands of times
            self._routes[(method, url)] = route
        return route

    def _tls_context(self) -> _ssl.SSLContext:
        if self._ssl is None:
            self._ssl = _ssl.create_default_context()
        return self._ssl

    def _set_headers(self, headers: Mapping[str, str]) -> None:
        lines: list[str] = []
        given = set()
        for name, value in headers.items():
            if not isinstance(name, str) or not name or not _TOKEN_CHARS.issuperset(name):
                raise ConfigurationError("a header name must be an HTTP token")
            lowered = name.lower()
            if lowered in _OWN_HEADERS:
                raise ConfigurationError(f"the transport sets the {name} header itself")
            if not isinstance(value, str) or "\r" in value or "\n" in value or "\x00" in value:
                raise ConfigurationError(f"the {name} header's value cannot be sent")
            given.add(lowered)
            lines.append(f"{name}: {value}\r\n")
        if "user-agent" not in given:
            from .. import __version__  # (the package is loaded by the time anything is sent)

            lines.append(f"User-Agent: vexora-async/{__version__}\r\n")
        if "accept-encoding" not in given:
            lines.append("Accept-Encoding: gzip, deflate\r\n")
        lines.append("Content-Length: ")
        self._headers_bytes = "".join(lines).encode("utf-8")
        self._headers_given, self._headers_then = headers, dict(headers)

    def _decoded(self, raw: bytes, coding: str) -> bytes:
        """The body without its content coding, refused past the size cap."""
        coding = coding.strip(" \t").lower()
        if coding in ("", "identity"):
            return raw
        if coding in ("gzip", "x-gzip"):
            wbits = 31
        elif coding == "deflate":
            wbits = 15 if raw[:1] and raw[0] & 0x0F == 8 else -15  # zlib-wrapped, or raw
        else:
            raise ConnectionDropped("unreadable answer: a content coding that was not asked for")
        limit = self._max_body
        parts: list[bytes] = []
        size = 0
        while raw:  # a gzip body may be several members, one after the other
            inflater = zlib.decompressobj(wbits)
            try:
                part = inflater.decompress(raw, limit + 1 - size)
            except zlib.error:
                raise ConnectionDropped("unreadable answer: a corrupt compressed body") from None
            size += len(part)
            if size > limit or inflater.unconsumed_tail:
                raise ConnectionDropped(f"response body larger than {limit} bytes")
            if not inflater.eof:
                raise ConnectionDropped("unreadable answer: a compressed body cut short")
            parts.append(part)
            raw = inflater.unused_data
            if raw and wbits != 31:  # only gzip has members; anything after deflate is junk
                raise ConnectionDropped("unreadable answer: bytes after the compressed body")
        return b"".join(parts)

    def connections(self) -> int:
        """Connections open or opening, over every origin (for leak checks)."""
        return sum(len(pool) for pool in self._pools.values())

    async def aclose(self) -> None:
        self._closed = True
        if self._loop is not None and asyncio.get_running_loop() is not self._loop:
            raise wrong_loop()
        pools = list(self._pools.values())
        self._pools.clear()
        self._routes.clear()
        for pool in pools:
            await pool.aclose()

    def __repr__(self) -> str:
        return f"Http11Transport(limit={self._limit}, timeouts={self._timeouts!r})"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
