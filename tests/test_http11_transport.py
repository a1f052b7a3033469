"""Http11Transport against a hostile raw server on 127.0.0.1.

Every scenario is a handler on ``asyncio.start_server`` in the test's own loop: it reads
each request head (to the blank line) and its ``Content-Length`` body, then writes exactly
the bytes the scenario crafts. The server records what it received, how many connections
it accepted, and when the client closed each one (its reader saw the end), so the tests
can check reuse, leaks and closes without sleeping.

Most answers echo something of the request (its body), so a test can tell that each send
got its own answer and never one meant for another request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionDropped,
    RequestTimeout,
    TransportError,
)
from vexora_async.transports.base import HttpRequest, HttpResponse, Timeouts
from vexora_async.transports.http11 import Http11Transport

WAIT = 5.0  # seconds: the most any awaited server-side event may take before a test fails


# -- the raw server ---------------------------------------------------------------------------


@dataclass
class Received:
    """One request as the server read it off the wire."""

    conn: int  # index of the server-side connection it came on
    line: str  # the request line
    headers: list[tuple[str, str]]  # (lower-cased name, value), in order
    body: bytes

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class Conn:
    """One accepted connection."""

    index: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)  # EOF or reset seen
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # the handler has finished

    async def write(self, *pieces: bytes) -> None:
        """Write ``pieces`` one by one, letting the client read each before the next."""
        for piece in pieces:
            self.writer.write(piece)
            await self.writer.drain()
            # Twice: the first lets the loop poll the client's socket, the second lets the
            # client's read run before this writes on.
            await asyncio.sleep(0)
            await asyncio.sleep(0)


# A scenario answers one request; it returns False to have the server close the connection.
Scenario = Callable[[Received, Conn], Awaitable[bool | None]]


class RawServer:
    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self.conns: list[Conn] = []
        self.requests: list[Received] = []
        self.open = 0
        self.max_open = 0
        self.got_request = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 20)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        body: bytes = b"",
        *,
        method: str = "POST",
        path: str = "/echo",
        headers: dict[str, str] | None = None,
    ) -> HttpRequest:
        return HttpRequest(method, self.url + path, headers or {}, body)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Conn(len(self.conns), reader, writer)
        self.conns.append(conn)
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            await self._serve(conn)
        except asyncio.CancelledError:
            pass  # ``stop``: the test is over
        finally:
            self.open -= 1
            writer.close()
            conn.ended.set()
            self._tasks.discard(task)

    async def _serve(self, conn: Conn) -> None:
        reader, writer = conn.reader, conn.writer
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                conn.client_closed.set()
                return
            text = head[:-4].decode("latin-1")
            line, *lines = text.split("\r\n")
            headers = []
            for raw in lines:
                name, _, value = raw.partition(":")
                headers.append((name.lower(), value.strip(" \t")))
            length = [int(v) for k, v in headers if k == "content-length"]
            try:
                body = await reader.readexactly(length[0] if length else 0)
            except (asyncio.IncompleteReadError, ConnectionError):
                conn.client_closed.set()
                return
            received = Received(conn.index, line, headers, body)
            self.requests.append(received)
            self.got_request.set()
            try:
                keep = await self._scenario(received, conn)
                await writer.drain()
            except ConnectionError:  # the client closed while we wrote
                conn.client_closed.set()
                return
            if keep is False:
                return

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self.conns:
            conn.writer.close()

    async def wait_requests(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.requests) < count:
                self.got_request.clear()
                await self.got_request.wait()

    async def wait_client_closed(self, index: int) -> None:
        await asyncio.wait_for(self.conns[index].client_closed.wait(), WAIT)


@contextlib.asynccontextmanager
async def serve(scenario: Scenario) -> AsyncIterator[RawServer]:
    server = RawServer(scenario)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def transport(**options: object) -> AsyncIterator[Http11Transport]:
    client = Http11Transport(**options)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        async with asyncio.timeout(WAIT):  # a hung aclose fails the test, not the run
            await client.aclose()


def ok(body: bytes, head: bytes = b"", status: bytes = b"200 OK") -> bytes:
    """A well-formed keep-alive answer with ``Content-Length``."""
    return b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n%s" % (status, head, len(body), body)


def echoed(request: Received) -> bytes:
    return b"echo:" + request.body


async def echo(request: Received, conn: Conn) -> None:
    conn.writer.write(ok(echoed(request)))


def first_then_echo(first: bytes, *, close: bool = False) -> Scenario:
    """The first request of the run gets ``first`` (then the connection is closed by the
    server if ``close``); every later one an echo."""
    answered = False

    async def scenario(request: Received, conn: Conn) -> bool | None:
        nonlocal answered
        if not answered:
            answered = True
            conn.writer.write(first)
            return False if close else None
        await echo(request, conn)
        return None

    return scenario


async def send_echo(server: RawServer, client: Http11Transport, body: bytes) -> HttpResponse:
    response = await client.send(server.request(body), timeout=WAIT)
    assert response.status == 200
    assert response.body == b"echo:" + body
    return response


LOOPS = ["asyncio", "uvloop"]


def run_on(loop: str, scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` on a new event loop of the kind named (uvloop: skipped if absent)."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            scenario.close()
            pytest.skip("uvloop is not installed")
        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    else:
        factory = None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(scenario)
    finally:
        # Collect the loop's leftovers now: a uvloop object finalized while pytest parses
        # source for a failure report breaks the parser (SystemError, INTERNALERROR).
        gc.collect()


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """The heap as it was before the test, frozen (``gc.freeze``) until it ends: the full
    collection ``run_on`` makes after each of a property test's examples then walks only
    what the examples made, not everything earlier tests left loaded (in the whole suite,
    ~0.1 s a collection, 60 examples a test)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# The heap is frozen once for all of a property test's examples, by design.
PER_TEST_FIXTURE = [HealthCheck.function_scoped_fixture]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- 1. round trip ----------------------------------------------------------------------------


async def test_round_trip_sends_exactly_the_request_and_reads_the_answer() -> None:
    answer = (
        b"HTTP/1.1 201 Created\r\n"
        b"X-Thing: Yes Sir\r\n"
        b"X-Pad: \t padded value \t \r\n"
        b"Content-Type: application/json\r\n"
        b"Set-Thing: a\r\n"
        b"set-thing: b\r\n"
        b"Content-Length: 5\r\n"
        b"Content-Length: 5\r\n"  # repeated, not conflicting: allowed
        b"\r\n"
        b"hello"
    )

    async def scenario(request: Received, conn: Conn) -> None:
        conn.writer.write(answer)

    body = b'{"amount": 1000, "note": "caf\xc3\xa9"}'
    async with serve(scenario) as server, transport() as client:
        request = HttpRequest(
            "POST",
            server.url + "/api/pay?x=1&y=%20z",
            {"X-Trace": "abc  def", "merchantNo": "M-1"},
            body,
        )
        response = await client.send(request, timeout=WAIT)

        assert response.status == 201
        assert response.body == b"hello"
        assert all(name == name.lower() for name in response.headers)
        assert response.headers["x-thing"] == "Yes Sir"
        assert response.headers["x-pad"] == "padded value"
        assert response.headers["content-type"] == "application/json"
        assert response.headers["set-thing"] == "a, b"

        [received] = server.requests
        assert received.line == "POST /api/pay?x=1&y=%20z HTTP/1.1"
        names = [name for name, _ in received.headers]
        assert len(names) == len(set(names)), f"a header sent twice: {names}"
        assert set(names) == {
            "host",
            "x-trace",
            "merchantno",
            "content-length",
            "accept-encoding",
            "user-agent",
        }
        assert received.values("host") == [f"127.0.0.1:{server.port}"]
        assert received.values("x-trace") == ["abc  def"]
        assert received.values("merchantno") == ["M-1"]
        assert received.values("content-length") == [str(len(body))]
        assert received.values("accept-encoding") == ["gzip, deflate"]
        assert received.values("user-agent")[0]
        assert received.body == body


async def test_a_given_user_agent_replaces_the_default() -> None:
    async with serve(echo) as server, transport() as client:
        await client.send(server.request(b"x", headers={"User-Agent": "mine/1.0"}), timeout=WAIT)
        assert server.requests[0].values("user-agent") == ["mine/1.0"]


async def test_headers_mutated_between_sends_are_sent_as_they_are_now() -> None:
    headers = {"X-Seq": "1"}
    async with serve(echo) as server, transport() as client:
        await client.send(server.request(b"a", headers=headers), timeout=WAIT)
        headers["X-Seq"] = "2"
        headers["X-New"] = "n"
        await client.send(server.request(b"b", headers=headers), timeout=WAIT)
        assert server.requests[0].values("x-seq") == ["1"]
        assert server.requests[1].values("x-seq") == ["2"]
        assert server.requests[1].values("x-new") == ["n"]
        headers["X-Seq"] = "bad\r\nX-Evil: 1"
        with pytest.raises(ConfigurationError):
            await client.send(server.request(b"c", headers=headers), timeout=WAIT)
        assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("path", "targets"),
    [
        ("", {"/"}),
        ("/p?q=1#fragment", {"/p?q=1"}),
        ("/a%2Fb?x=%26", {"/a%2Fb?x=%26"}),
        ("/caf%C3%A9", {"/caf%C3%A9"}),
        ("/café", {"/caf%C3%A9", None}),  # encoded, or refused (None)
    ],
    ids=["empty", "fragment", "escapes", "utf8-escaped", "non-ascii"],
)
async def test_the_request_target(path: str, targets: set[str | None]) -> None:
    async with serve(echo) as server, transport() as client:
        try:
            await client.send(server.request(b"x", path=path), timeout=WAIT)
        except ConfigurationError:
            assert None in targets
            assert server.requests == []
        else:
            [received] = server.requests
            method, target, version = received.line.split(" ")
            assert (method, version) == ("POST", "HTTP/1.1")
            assert target in targets


async def test_an_ipv6_origin_is_named_in_brackets() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        listener = await asyncio.start_server(lambda r, w: None, "::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback")
    listener.close()
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(ok(b"six"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "::1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with transport() as client:
            request = HttpRequest("GET", f"http://[::1]:{port}/v6", {}, b"")
            assert (await client.send(request, timeout=WAIT)).body == b"six"
        assert f"\r\nHost: [::1]:{port}\r\n".encode() in seen[0]
    finally:
        server.close()


# -- 2. keep-alive ----------------------------------------------------------------------------


async def test_sequential_sends_reuse_one_connection() -> None:
    async with serve(echo) as server, transport() as client:
        for body in (b"one", b"two", b"three"):
            await send_echo(server, client, body)
        assert len(server.conns) == 1
        assert [r.conn for r in server.requests] == [0, 0, 0]
        assert client.connections() == 1


async def test_a_connection_idle_past_keepalive_is_not_reused() -> None:
    async with serve(echo) as server, transport(keepalive=0.05) as client:
        await send_echo(server, client, b"one")
        await asyncio.sleep(0.15)  # time passing is the point: nothing to await instead
        await send_echo(server, client, b"two")
        assert len(server.conns) == 2
        await server.wait_client_closed(0)


@pytest.mark.parametrize(
    ("keep_alive", "connections"),
    [(b"timeout=1", 2), (b"timeout=1, max=100", 2), (b"max=5, timeout=600", 1), (b"bogus", 1)],
)
async def test_the_servers_keep_alive_timeout_bounds_reuse(
    keep_alive: bytes, connections: int
) -> None:
    """A server that keeps idle connections for N seconds is trusted for N - 1: with
    ``timeout=1`` a connection is never reused (no request races the server's close)."""

    async def scenario(request: Received, conn: Conn) -> None:
        conn.writer.write(ok(echoed(request), b"Keep-Alive: " + keep_alive + b"\r\n"))

    async with serve(scenario) as server, transport() as client:
        await send_echo(server, client, b"one")
        await send_echo(server, client, b"two")
        assert len(server.conns) == connections


async def test_answers_with_one_head_never_share_their_headers() -> None:
    """Identical heads are parsed once: each answer must still get headers of its own."""
    async with serve(echo) as server, transport() as client:
        first = await send_echo(server, client, b"one")
        assert isinstance(first.headers, dict)
        first.headers["content-length"] = "tampered"
        first.headers["x-added"] = "yes"
        second = await send_echo(server, client, b"two")
        assert second.headers == {"content-length": "8"}


# -- 3. chunked answers -----------------------------------------------------------------------


async def test_chunked_answer_with_extensions_and_trailers_then_reuse() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"\r\n"
        b"5;ext=1\r\nhello\r\n"
        b'6 ; name="quoted;value"\r\n world\r\n'
        b"A\r\n0123456789\r\n"
        b"0;last=yes\r\n"
        b"X-Trailer: t\r\n"
        b"X-Other: u\r\n"
        b"\r\n"
    )

    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"chunked":
            conn.writer.write(chunked)
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        response = await client.send(server.request(b"chunked"), timeout=WAIT)
        assert response.status == 200
        assert response.body == b"hello world0123456789"
        await send_echo(server, client, b"after")
        assert len(server.conns) == 1


@st.composite
def framed_answers(draw: st.DrawFn) -> tuple[bytes, bytes, list[int]]:
    """(body, the answer's bytes, where to cut them)."""
    body = draw(st.binary(max_size=200))
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        encoded = b""
        for piece in pieces:
            if not piece:
                continue
            size = b"%x" % len(piece)
            if draw(st.booleans()):
                size = size.upper()
            ext = draw(st.sampled_from([b"", b";a=1", b';n="v;x"', b" ;b"]))
            encoded += size + ext + b"\r\n" + piece + b"\r\n"
        encoded += b"0\r\n" + draw(st.sampled_from([b"", b"X-Sum: 1\r\n"])) + b"\r\n"
        answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + encoded
    else:
        answer = ok(body, b"X-A: 1\r\n")
    if draw(st.booleans()):
        answer = b"HTTP/1.1 100 Continue\r\n\r\n" + answer
    splits = sorted(set(draw(st.lists(st.integers(1, len(answer) - 1), max_size=10))))
    return body, answer, splits


async def _split_scenario(body: bytes, answer: bytes, splits: list[int]) -> None:
    pieces = [answer[a:b] for a, b in zip([0, *splits], [*splits, len(answer)], strict=True)]

    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"split":
            await conn.write(*pieces)
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        response = await client.send(server.request(b"split"), timeout=WAIT)
        assert response.status == 200
        assert response.body == body
        await send_echo(server, client, b"next")
        assert len(server.conns) == 1


@pytest.mark.parametrize("loop", LOOPS)
@settings(max_examples=40, deadline=None, suppress_health_check=PER_TEST_FIXTURE)
@given(case=framed_answers())
def test_an_answer_split_anywhere_reads_the_same(
    loop: str, frozen_heap: None, case: tuple[bytes, bytes, list[int]]
) -> None:
    run_on(loop, _split_scenario(*case))


_VALID_ANSWERS = [
    ok(b"echo:first", b"X-A: 1\r\n"),
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;x=y\r\necho:\r\n5\r\nfirst\r\n0\r\nT: 1\r\n\r\n"
    ),
    b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"echo:first"),
    ok(gzip.compress(b"echo:first"), b"Content-Encoding: gzip\r\n"),
]


@st.composite
def mangled_answers(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, or a valid answer with a few bytes changed, dropped or added."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=120))
    answer = bytearray(draw(st.sampled_from(_VALID_ANSWERS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(answer) - 1))
        action = draw(st.sampled_from(["set", "drop", "add"]))
        byte = draw(st.sampled_from([*b"\r\n :;0aF\x00\xff-, ", draw(st.integers(0, 255))]))
        if action == "set":
            answer[at] = byte
        elif action == "drop":
            del answer[at]
        else:
            answer.insert(at, byte)
    return bytes(answer)


async def _mangled_scenario(answer: bytes) -> None:
    async with serve(first_then_echo(answer, close=True)) as server, transport() as client:
        try:
            response = await client.send(server.request(b"first"), timeout=WAIT)
        except ConnectionDropped:
            pass
        else:
            assert isinstance(response, HttpResponse)
            assert 100 <= response.status <= 999
        # Whatever the first answer did, once the client has seen the server's close the
        # next send gets its own answer (on a new connection).
        await asyncio.wait_for(server.conns[0].ended.wait(), WAIT)
        for _ in range(4):
            await asyncio.sleep(0)
        await send_echo(server, client, b"second")
        assert server.requests[-1].conn == 1
        assert client.connections() == 1


@pytest.mark.parametrize("loop", LOOPS)
@settings(max_examples=60, deadline=None, suppress_health_check=PER_TEST_FIXTURE)
@given(answer=mangled_answers())
def test_a_mangled_answer_fails_cleanly(loop: str, frozen_heap: None, answer: bytes) -> None:
    # The server writes the bytes and closes: the client reads an answer or raises
    # ConnectionDropped, never anything else, and never hangs.
    run_on(loop, _mangled_scenario(answer))


# -- 4. close-delimited -----------------------------------------------------------------------


async def test_a_close_delimited_body_is_read_to_the_end_and_not_reused() -> None:
    async def scenario(request: Received, conn: Conn) -> bool | None:
        if request.body == b"close":
            await conn.write(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", b"part one, ", b"part two")
            return False
        await echo(request, conn)
        return None

    async with serve(scenario) as server, transport() as client:
        response = await client.send(server.request(b"close"), timeout=WAIT)
        assert response.status == 200
        assert response.body == b"part one, part two"
        await send_echo(server, client, b"next")
        assert [r.conn for r in server.requests] == [0, 1]
        assert client.connections() == 1


# -- 5. interim, bodiless and HTTP/1.0 answers ------------------------------------------------


@pytest.mark.parametrize("split", [False, True], ids=["together", "apart"])
async def test_interim_answers_are_skipped(split: bool) -> None:
    interim = [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
    ]

    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"interim":
            final = ok(b"final", b"X-Final: 1\r\n")
            if split:
                await conn.write(*interim, final)
            else:
                conn.writer.write(b"".join(interim) + final)
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        response = await client.send(server.request(b"interim"), timeout=WAIT)
        assert response.status == 200
        assert response.body == b"final"
        assert response.headers["x-final"] == "1"
        assert "link" not in response.headers
        await send_echo(server, client, b"next")
        assert len(server.conns) == 1


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("POST", b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
        ("GET", b'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: "e"\r\n\r\n'),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
        ("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ],
    ids=["204", "304-with-length", "head-with-length", "head-chunked"],
)
async def test_answers_without_a_body_leave_the_connection_in_step(
    method: str, answer: bytes
) -> None:
    async def scenario(request: Received, conn: Conn) -> None:
        if request.line.startswith(method + " /bodiless"):
            conn.writer.write(answer)
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        response = await client.send(server.request(method=method, path="/bodiless"), timeout=WAIT)
        assert response.body == b""
        assert response.status == int(answer[9:12])
        # The next answer is read from the same connection, whole and its own.
        await send_echo(server, client, b"next")
        await send_echo(server, client, b"again")
        assert len(server.conns) == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["http10", "http10-keepalive", "close", "close-in-list"],
)
async def test_answers_that_end_the_connection_close_it(answer: bytes) -> None:
    # The server keeps its side open: the client alone must decide to close.
    async with serve(first_then_echo(answer)) as server, transport() as client:
        response = await client.send(server.request(b"first"), timeout=WAIT)
        assert (response.status, response.body) == (200, b"ok")
        await server.wait_client_closed(0)
        await send_echo(server, client, b"second")
        assert [r.conn for r in server.requests] == [0, 1]


# -- 6. content codings -----------------------------------------------------------------------

PAYLOAD = b'{"code":"0000","msg":"compressed answer"}' * 20


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


_BOMB: list[bytes] = []


def gzip_bomb() -> bytes:
    """50 MB of zeros, gzipped (about 50 KB)."""
    if not _BOMB:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = bytes(1 << 20)
        parts = [compressor.compress(block) for _ in range(50)]
        _BOMB.append(b"".join([*parts, compressor.flush()]))
    return _BOMB[0]


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("gzip", gzip.compress(PAYLOAD)),
        ("GZip", gzip.compress(PAYLOAD)),
        ("deflate", zlib.compress(PAYLOAD)),
        ("deflate", _raw_deflate(PAYLOAD)),
    ],
    ids=["gzip", "gzip-case", "deflate-zlib", "deflate-raw"],
)
async def test_compressed_bodies_are_decompressed(coding: str, encoded: bytes) -> None:
    head = f"Content-Encoding: {coding}\r\n".encode()
    async with serve(first_then_echo(ok(encoded, head))) as server, transport() as client:
        response = await client.send(server.request(b"first"), timeout=WAIT)
        assert response.status == 200
        assert response.body == PAYLOAD
        await send_echo(server, client, b"second")


async def test_a_chunked_gzip_body_is_decompressed() -> None:
    encoded = gzip.compress(PAYLOAD)
    half = len(encoded) // 2
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (half, encoded[:half])
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(encoded) - half, encoded[half:])
    )
    async with serve(first_then_echo(answer)) as server, transport() as client:
        response = await client.send(server.request(b"first"), timeout=WAIT)
        assert response.body == PAYLOAD


async def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 200_000
    answer = ok(bomb, b"Content-Encoding: gzip\r\n")
    async with serve(first_then_echo(answer)) as server, transport(max_body_size=200_000) as client:
        with pytest.raises(ConnectionDropped):
            await client.send(server.request(b"first"), timeout=WAIT)
        await send_echo(server, client, b"second")


async def test_a_decompressed_body_at_the_cap_is_accepted() -> None:
    body = b"z" * 4096
    answer = ok(gzip.compress(body), b"Content-Encoding: gzip\r\n")
    async with serve(first_then_echo(answer)) as server, transport(max_body_size=4096) as client:
        response = await client.send(server.request(b"first"), timeout=WAIT)
        assert response.body == body


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("br", b"\x0b\x02\x80hello\x03"),
        ("compress", b"\x1f\x9d\x90hello"),
        ("gzip, gzip", gzip.compress(gzip.compress(PAYLOAD))),
        ("gzip", b"this is not gzip at all"),
        ("gzip", gzip.compress(PAYLOAD)[:-12]),  # cut short
    ],
    ids=["br", "compress", "stacked", "corrupt", "truncated"],
)
async def test_unreadable_content_codings_are_refused(coding: str, encoded: bytes) -> None:
    head = f"Content-Encoding: {coding}\r\n".encode()
    async with serve(first_then_echo(ok(encoded, head))) as server, transport() as client:
        with pytest.raises(ConnectionDropped):
            await client.send(server.request(b"first"), timeout=WAIT)
        await send_echo(server, client, b"second")


async def test_a_multi_member_gzip_body_is_never_cut_short() -> None:
    # RFC 1952: a gzip file is a series of members; gunzip reads them all. Returning the
    # first member alone would be a wrong (short) answer; refusing it is fine.
    encoded = gzip.compress(b"first half, ") + gzip.compress(b"second half")
    answer = ok(encoded, b"Content-Encoding: gzip\r\n")
    async with serve(first_then_echo(answer)) as server, transport() as client:
        try:
            response = await client.send(server.request(b"first"), timeout=WAIT)
        except ConnectionDropped:
            return
        assert response.body == b"first half, second half"


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 31\r\n\r\n"),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\n\r\n"),
        ("POST", b"HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n"),
    ],
    ids=["head", "304", "204"],
)
async def test_a_content_coding_on_an_answer_without_body_is_not_an_error(
    method: str, answer: bytes
) -> None:
    # HEAD and 304 answers carry the headers the full answer would have, Content-Encoding
    # included, and no body: there is nothing to decompress.
    async with serve(first_then_echo(answer)) as server, transport() as client:
        response = await client.send(server.request(method=method), timeout=WAIT)
        assert response.status == int(answer[9:12])
        assert response.body == b""


# -- 7. protocol violations -------------------------------------------------------------------

VIOLATIONS = {
    "garbage-status-line": b"HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "non-numeric-status": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
    "http2-status-line": b"HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "no-status-line": b"Content-Length: 2\r\n\r\nok",
    "conflicting-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    "conflicting-length-list": b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!",
    "negative-length": b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
    "non-numeric-length": b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
    "plus-length": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "te-gzip-chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    ),
    "te-chunked-gzip-lines": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n"
    ),
    "te-identity": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nok",
    "bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
    "negative-chunk-size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nok\r\n0\r\n\r\n"
    ),
    "hex-prefixed-chunk-size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n"
    ),
    "empty-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nok\r\n0\r\n\r\n",
    "chunk-without-crlf": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n"
    ),
    "chunk-longer-than-size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n"
    ),
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok",
    "header-without-colon": b"HTTP/1.1 200 OK\r\nX-A 1\r\nContent-Length: 2\r\n\r\nok",
    "space-before-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "bare-lf-in-head": b"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok",
    "nul-in-header": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "huge-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n",
    "huge-head-many-lines": (
        b"HTTP/1.1 200 OK\r\n"
        + b"X-Many: 0123456789abcdef\r\n" * 3000
        + b"Content-Length: 0\r\n\r\n"
    ),
    "endless-head": b"HTTP/1.1 200 OK\r\n" + b"X-Many: 0123456789abcdef\r\n" * 3000,
}


@pytest.mark.parametrize("answer", list(VIOLATIONS.values()), ids=list(VIOLATIONS))
async def test_protocol_violations_drop_the_connection(answer: bytes) -> None:
    # The server keeps its side open after the bad bytes: a client that waited for more
    # would time out (RequestTimeout, a failure here) instead of seeing the violation.
    async with serve(first_then_echo(answer)) as server, transport() as client:
        with pytest.raises(ConnectionDropped):
            await client.send(server.request(b"first"), timeout=2.0)
        await server.wait_client_closed(0)
        await send_echo(server, client, b"second")
        assert [r.conn for r in server.requests] == [0, 1]
        assert client.connections() == 1


async def test_chunked_with_a_content_length_is_never_trusted_for_reuse() -> None:
    # RFC 9112 §6.1: Transfer-Encoding overrides Content-Length; such an answer may be an
    # attempt at response splitting: refuse it, or read it as chunked and close after.
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    async with serve(first_then_echo(answer)) as server, transport() as client:
        try:
            response = await client.send(server.request(b"first"), timeout=2.0)
        except ConnectionDropped:
            pass
        else:
            assert response.body == b"hello"
        await server.wait_client_closed(0)
        await send_echo(server, client, b"second")
        assert server.requests[-1].conn == 1


def _chunked(*chunks: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
        + b"0\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("answer", "fits"),
    [
        (ok(b"x" * 1000), True),
        (ok(b"x" * 1001), False),
        (_chunked(b"x" * 600, b"y" * 400), True),
        (_chunked(b"x" * 600, b"y" * 401), False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\nxx", False),
    ],
    ids=["length-at-cap", "length-over", "chunked-at-cap", "chunked-over", "huge-length"],
)
async def test_body_size_cap(answer: bytes, fits: bool) -> None:
    async with serve(first_then_echo(answer)) as server, transport(max_body_size=1000) as client:
        if fits:
            response = await client.send(server.request(b"first"), timeout=2.0)
            assert len(response.body) == 1000
        else:
            with pytest.raises(ConnectionDropped):
                await client.send(server.request(b"first"), timeout=2.0)
            await server.wait_client_closed(0)
        await send_echo(server, client, b"second")


@pytest.mark.parametrize("size", [1000, 1001])
async def test_body_size_cap_close_delimited(size: int) -> None:
    async def scenario(request: Received, conn: Conn) -> bool | None:
        if request.body == b"first":
            await conn.write(b"HTTP/1.1 200 OK\r\n\r\n", b"x" * 500, b"x" * (size - 500))
            if size > 1000:  # keep it open: the client must stop by itself
                return None
            return False
        await echo(request, conn)
        return None

    async with serve(scenario) as server, transport(max_body_size=1000) as client:
        if size <= 1000:
            response = await client.send(server.request(b"first"), timeout=2.0)
            assert response.body == b"x" * size
        else:
            with pytest.raises(ConnectionDropped):
                await client.send(server.request(b"first"), timeout=2.0)
            await server.wait_client_closed(0)
        await send_echo(server, client, b"second")


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        _chunked(b"abc")[:-5],
    ],
    ids=["nothing", "half-head", "mid-body", "chunked-without-last"],
)
async def test_the_server_closing_before_the_answer_ends_drops_the_connection(
    answer: bytes,
) -> None:
    async with serve(first_then_echo(answer, close=True)) as server, transport() as client:
        with pytest.raises(ConnectionDropped):
            await client.send(server.request(b"first"), timeout=2.0)
        await send_echo(server, client, b"second")


# -- 8. bytes beyond the answer ---------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [b"JUNK", b"\r\n", ok(b"echo:WRONG")],
    ids=["junk", "crlf", "unsolicited-answer"],
)
@pytest.mark.parametrize("together", [True, False], ids=["same-write", "later-write"])
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
async def test_bytes_after_the_answer_are_never_read_as_the_next_answer(
    extra: bytes, together: bool, chunked: bool
) -> None:
    extra_written = asyncio.Event()

    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"A":
            own = echoed(request)
            answer = _chunked(own[:2], own[2:]) if chunked else ok(own)
            if together:
                conn.writer.write(answer + extra)
            else:
                await conn.write(answer, extra)
            extra_written.set()
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        await send_echo(server, client, b"A")
        await extra_written.wait()
        # Let the loop deliver what is already in the client's socket buffer: bytes the
        # client has not been given yet cannot be told from the next answer by anyone.
        for _ in range(4):
            await asyncio.sleep(0)
        await send_echo(server, client, b"B")
        await send_echo(server, client, b"C")
        assert [r.conn for r in server.requests] == [0, 1, 1]
        await server.wait_client_closed(0)


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\necho:WRONG"),
        ("POST", b"HTTP/1.1 204 No Content\r\n\r\n" + ok(b"echo:WRONG")),
        ("POST", b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\necho:WRONG"),
    ],
    ids=["head-with-body", "204-then-answer", "204-chunked", "304-with-body"],
)
async def test_a_body_sent_where_none_may_be_is_never_read_as_the_next_answer(
    method: str, answer: bytes
) -> None:
    async with serve(first_then_echo(answer)) as server, transport() as client:
        response = await client.send(server.request(b"x", method=method), timeout=WAIT)
        assert response.body == b""
        for _ in range(4):
            await asyncio.sleep(0)
        await send_echo(server, client, b"B")
        assert server.requests[-1].conn == 1
        await server.wait_client_closed(0)


# -- 9. the server closes an idle connection --------------------------------------------------


@pytest.mark.parametrize("settle", [True, False], ids=["close-seen", "close-in-flight"])
@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_an_idle_connection_closed_by_the_server(settle: bool, reset: bool) -> None:
    async def scenario(request: Received, conn: Conn) -> bool | None:
        await echo(request, conn)
        if request.body == b"A":
            await conn.writer.drain()
            if reset:
                sock = conn.writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
            return False
        return None

    async with serve(scenario) as server, transport() as client:
        await send_echo(server, client, b"A")
        await asyncio.wait_for(server.conns[0].ended.wait(), WAIT)
        if settle:
            for _ in range(4):
                await asyncio.sleep(0)
            assert client.connections() == 0, "the client did not notice the close"
        try:
            response = await client.send(server.request(b"B"), timeout=WAIT)
        except ConnectionDropped:
            assert not settle, "a connection known to be closed was used"
        else:
            assert response.body == b"echo:B"
            assert server.requests[-1].conn == 1
        await send_echo(server, client, b"C")


# -- 10. connecting and the pool limit --------------------------------------------------------


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with transport() as client:
        request = HttpRequest("POST", f"http://127.0.0.1:{free_port()}/x", {}, b"x")
        with pytest.raises(ConnectError):
            await client.send(request, timeout=WAIT)
        assert client.connections() == 0


async def test_an_unknown_host_is_a_connect_error() -> None:
    async with transport(timeouts=Timeouts(connect=2.0)) as client:
        request = HttpRequest("POST", "http://no-such-host.invalid/x", {}, b"x")
        with pytest.raises(ConnectError):
            await client.send(request, timeout=WAIT)


def held_scenario(release: asyncio.Event) -> Scenario:
    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"held":
            await release.wait()
        await echo(request, conn)

    return scenario


@pytest.mark.parametrize(
    ("connect", "attempt"),
    [(0.2, WAIT), (30.0, 0.2)],
    ids=["connect-timeout", "shorter-attempt-timeout"],
)
async def test_the_pool_wait_is_bounded(connect: float, attempt: float) -> None:
    """By ``Timeouts.connect``, or by a shorter attempt timeout: never a 30 s wait. Nothing
    was written, and the error says so: a ``ConnectError`` (AiohttpTransport cannot tell
    in the second case, and says RequestTimeout)."""
    release = asyncio.Event()
    async with (
        serve(held_scenario(release)) as server,
        transport(limit=1, timeouts=Timeouts(connect=connect)) as client,
    ):
        held = asyncio.create_task(client.send(server.request(b"held"), timeout=WAIT))
        await server.wait_requests(1)
        started = time.monotonic()
        with pytest.raises(ConnectError):
            await client.send(server.request(b"waiting"), timeout=attempt)
        assert time.monotonic() - started < 2.0
        assert len(server.requests) == 1  # the second request never left
        assert len(server.conns) == 1
        release.set()
        assert (await held).body == b"echo:held"
        await send_echo(server, client, b"after")
        assert len(server.conns) == 1
        assert client.connections() == 1
        assert len(server.conns) == 1


async def _held_and_waiting(
    server: RawServer, client: Http11Transport
) -> tuple[asyncio.Task[HttpResponse], asyncio.Task[HttpResponse]]:
    """A send holding the only pooled connection (answered on release) and one queued for
    it, given ten turns of the loop to (wrongly) go elsewhere."""
    held = asyncio.create_task(client.send(server.request(b"held"), timeout=WAIT))
    await server.wait_requests(1)
    waiting = asyncio.create_task(client.send(server.request(b"waiting"), timeout=WAIT))
    for _ in range(10):
        await asyncio.sleep(0)
    return held, waiting


async def test_a_send_waits_for_the_pool_then_reuses_the_connection() -> None:
    release = asyncio.Event()
    async with serve(held_scenario(release)) as server, transport(limit=1) as client:
        held, waiting = await _held_and_waiting(server, client)
        assert not waiting.done()
        assert len(server.conns) == 1  # it waits, it does not open a second connection
        release.set()
        assert (await held).body == b"echo:held"
        assert (await waiting).body == b"echo:waiting"
        assert len(server.conns) == 1
        assert client.connections() == 1


async def test_cancelling_a_send_waiting_for_the_pool_leaks_nothing() -> None:
    release = asyncio.Event()
    async with serve(held_scenario(release)) as server, transport(limit=1) as client:
        held, waiting = await _held_and_waiting(server, client)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        assert (await held).body == b"echo:held"
        await send_echo(server, client, b"after")
        assert [r.body for r in server.requests] == [b"held", b"after"]
        assert client.connections() == 1


async def test_the_limit_is_per_origin() -> None:
    release = asyncio.Event()
    async with (
        serve(held_scenario(release)) as first,
        serve(echo) as second,
        transport(limit=1, timeouts=Timeouts(connect=1.0)) as client,
    ):
        held = asyncio.create_task(client.send(first.request(b"held"), timeout=WAIT))
        await first.wait_requests(1)
        await send_echo(second, client, b"elsewhere")  # not behind the other origin's limit
        release.set()
        assert (await held).body == b"echo:held"
        assert client.connections() == 2


# -- 11. cancellation -------------------------------------------------------------------------


async def hang_first(request: Received, conn: Conn) -> None:
    if request.body != b"hang":
        await echo(request, conn)
    # else: no answer; the handler goes back to reading and sees the client's close


async def test_cancelling_a_send_in_flight_closes_its_connection() -> None:
    async with serve(hang_first) as server, transport() as client:
        task = asyncio.create_task(client.send(server.request(b"hang"), timeout=WAIT))
        await server.wait_requests(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_client_closed(0)
        await send_echo(server, client, b"after")
        assert [r.conn for r in server.requests] == [0, 1]
        assert client.connections() == 1


async def test_cancelling_a_send_mid_answer_closes_its_connection() -> None:
    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"slow":
            await conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfive!")
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        task = asyncio.create_task(client.send(server.request(b"slow"), timeout=WAIT))
        await server.wait_requests(1)
        for _ in range(6):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_client_closed(0)
        await send_echo(server, client, b"after")
        assert [r.conn for r in server.requests] == [0, 1]


# -- 12. the attempt timeout ------------------------------------------------------------------


async def test_no_answer_in_time_is_a_request_timeout() -> None:
    async with serve(hang_first) as server, transport() as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            await client.send(server.request(b"hang"), timeout=0.2)
        assert 0.15 < time.monotonic() - started < 2.0
        await server.wait_client_closed(0)
        await send_echo(server, client, b"after")
        assert client.connections() == 1


async def test_a_trickling_answer_past_the_timeout_is_a_request_timeout() -> None:
    async def scenario(request: Received, conn: Conn) -> None:
        if request.body == b"trickle":
            conn.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                conn.writer.write(b"x")
                await conn.writer.drain()
                await asyncio.sleep(0.01)  # a slow network
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        with pytest.raises(RequestTimeout):
            await client.send(server.request(b"trickle"), timeout=0.2)
        await send_echo(server, client, b"after")
        assert server.requests[-1].conn == 1


# -- 13. configuration errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "a\r\nX-Injected: 1"},
        {"X-A": "a\nb"},
        {"X-A": "a\rb"},
        {"X-A": "a\x00b"},
        {"X-A\r\nX-Injected": "1"},
        {"X A": "1"},
        {"X:A": "1"},
        {"": "1"},
        {"Host": "evil.example"},
        {"host": "evil.example"},
        {"Content-Length": "5"},
        {"Transfer-Encoding": "chunked"},
        {"Connection": "close"},
        {"CONNECTION": "keep-alive"},
    ],
    ids=lambda headers: repr(headers)[:40],
)
async def test_unsendable_headers_are_configuration_errors(headers: dict[str, str]) -> None:
    async with serve(echo) as server, transport() as client:
        with pytest.raises(ConfigurationError):
            await client.send(server.request(b"x", headers=headers), timeout=WAIT)
        await send_echo(server, client, b"fine")  # the refusal left nothing behind
        assert len(server.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@127.0.0.1:{port}/x",
        "http://user@127.0.0.1:{port}/x",
        "ftp://127.0.0.1:{port}/x",
        "ws://127.0.0.1:{port}/x",
        "/relative/path",
        "127.0.0.1:{port}/x",
        "http:///x",
    ],
)
async def test_bad_urls_are_configuration_errors(url: str) -> None:
    async with serve(echo) as server, transport() as client:
        request = HttpRequest("POST", url.format(port=server.port), {}, b"x")
        with pytest.raises(ConfigurationError):
            await client.send(request, timeout=WAIT)
        assert server.conns == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/a\r\nX-Evil: 1\r\n\r\nGET /b"),
        ("POST", "/a b HTTP/1.1\r\nX-Evil: 1"),
        ("GET /x HTTP/1.1\r\nX-Evil: 1\r\n\r\nPOST", "/a"),
        ("PO ST", "/a"),
    ],
    ids=["crlf-in-path", "space-in-path", "crlf-in-method", "space-in-method"],
)
async def test_nothing_is_smuggled_through_the_method_or_the_url(method: str, path: str) -> None:
    async with serve(echo) as server, transport() as client:
        try:
            await client.send(server.request(b"x", method=method, path=path), timeout=2.0)
        except ConfigurationError:
            assert server.requests == []
            return
        except TransportError:
            pass
        assert len(server.requests) <= 1
        for received in server.requests:
            assert received.values("x-evil") == []
            assert len(received.line.split(" ")) == 3


def test_a_second_event_loop_is_a_configuration_error() -> None:
    client = Http11Transport()

    async def first() -> None:
        async with serve(echo) as server:
            await send_echo(server, client, b"loop one")

    async def second() -> None:
        with pytest.raises(ConfigurationError):
            await client.send(HttpRequest("POST", "http://127.0.0.1:9/x", {}, b""), timeout=1)

    asyncio.run(first())
    asyncio.run(second())


# -- 14. redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [b"301 Moved Permanently", b"302 Found", b"307 Temporary", b"308 P"]
)
async def test_redirects_are_returned_not_followed(status: bytes) -> None:
    async def scenario(request: Received, conn: Conn) -> None:
        if request.line.startswith("POST /from "):
            conn.writer.write(ok(b"moved", b"Location: /to\r\n", status=status))
        else:
            await echo(request, conn)

    async with serve(scenario) as server, transport() as client:
        response = await client.send(server.request(b"x", path="/from"), timeout=WAIT)
        assert response.status == int(status[:3])
        assert response.headers["location"] == "/to"
        assert response.body == b"moved"
        assert [r.line for r in server.requests] == ["POST /from HTTP/1.1"]


# -- 15. many concurrent sends ----------------------------------------------------------------


async def test_many_concurrent_sends_each_get_their_own_answer() -> None:
    async def scenario(request: Received, conn: Conn) -> None:
        for _ in range(int(request.body) % 4):  # answers come back in a shuffled order
            await asyncio.sleep(0)
        await conn.write(ok(echoed(request))[:20], ok(echoed(request))[20:])

    async with serve(scenario) as server, transport(limit=8) as client:
        bodies = [str(n).encode() for n in range(200)]
        responses = await asyncio.gather(
            *(client.send(server.request(body), timeout=WAIT) for body in bodies)
        )
        assert [r.body for r in responses] == [b"echo:" + body for body in bodies]
        assert len(server.conns) <= 8
        assert server.max_open <= 8
        assert client.connections() <= 8


async def test_concurrent_sends_against_a_mixed_hostile_server_never_get_a_wrong_answer() -> None:
    # Per request (by its number): a plain answer, one followed by a forged answer, one
    # after which the server closes, a chunked one, an HTTP/1.0 one, one delimited by the
    # close. A send may fail with ConnectionDropped (it went on a connection the server was
    # closing); a send that returns must have its own answer.
    async def scenario(request: Received, conn: Conn) -> bool | None:
        number = int(request.body)
        own = echoed(request)
        for _ in range(number % 3):
            await asyncio.sleep(0)
        kind = number % 6
        if kind == 0:
            conn.writer.write(ok(own))
        elif kind == 1:
            conn.writer.write(ok(own) + ok(b"echo:forged"))
        elif kind == 2:
            conn.writer.write(ok(own))
            return False
        elif kind == 3:
            conn.writer.write(_chunked(own[:3], own[3:]))
        elif kind == 4:
            conn.writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(own), own))
        else:
            conn.writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + own)
            return False
        return None

    async with serve(scenario) as server, transport(limit=4) as client:
        bodies = [str(n).encode() for n in range(150)]
        results = await asyncio.gather(
            *(client.send(server.request(body), timeout=WAIT) for body in bodies),
            return_exceptions=True,
        )
        answered = 0
        for body, result in zip(bodies, results, strict=True):
            if isinstance(result, BaseException):
                assert isinstance(result, ConnectionDropped), repr(result)
            else:
                assert result.body == b"echo:" + body
                answered += 1
        assert answered >= len(bodies) // 2
        assert server.max_open <= 4
        assert client.connections() <= 4


# -- 16. aclose -------------------------------------------------------------------------------


async def test_aclose_closes_every_connection_and_refuses_new_sends() -> None:
    release = asyncio.Event()
    async with serve(held_scenario(release)) as server:
        client = Http11Transport(limit=4)
        held = [
            asyncio.create_task(client.send(server.request(b"held"), timeout=WAIT))
            for _ in range(3)
        ]
        await server.wait_requests(3)
        release.set()
        for task in held:
            assert (await task).body == b"echo:held"
        assert len(server.conns) == 3
        assert client.connections() == 3

        async with asyncio.timeout(WAIT):
            await client.aclose()
        for index in range(3):
            await server.wait_client_closed(index)
        assert client.connections() == 0
        with pytest.raises(ConnectError):
            await client.send(server.request(b"late"), timeout=WAIT)
        assert len(server.conns) == 3
        assert len(server.requests) == 3
        await client.aclose()  # twice is fine


async def test_aclose_with_a_send_in_flight() -> None:
    async with serve(hang_first) as server:
        client = Http11Transport()
        task = asyncio.create_task(client.send(server.request(b"hang"), timeout=WAIT))
        await server.wait_requests(1)
        async with asyncio.timeout(WAIT):
            await client.aclose()
        # The request was written: the failure must not claim it never left.
        with pytest.raises(TransportError) as caught:
            await task
        assert not isinstance(caught.value, ConnectError)
        await server.wait_client_closed(0)
        assert client.connections() == 0


# -- the same on uvloop (the CLI runs on it when installed) ------------------------------------

ON_UVLOOP: list[tuple[Callable[..., Coroutine[Any, Any, None]], tuple[object, ...]]] = [
    (test_round_trip_sends_exactly_the_request_and_reads_the_answer, ()),
    (test_sequential_sends_reuse_one_connection, ()),
    (test_chunked_answer_with_extensions_and_trailers_then_reuse, ()),
    (test_a_close_delimited_body_is_read_to_the_end_and_not_reused, ()),
    (test_interim_answers_are_skipped, (True,)),
    (test_answers_that_end_the_connection_close_it, (ok(b"ok", b"Connection: close\r\n"),)),
    (test_protocol_violations_drop_the_connection, (VIOLATIONS["conflicting-lengths"],)),
    (test_protocol_violations_drop_the_connection, (VIOLATIONS["huge-header"],)),
    (test_a_gzip_bomb_is_refused, ()),
    (
        test_bytes_after_the_answer_are_never_read_as_the_next_answer,
        (ok(b"echo:WRONG"), False, False),
    ),
    (test_an_idle_connection_closed_by_the_server, (True, False)),
    (test_an_idle_connection_closed_by_the_server, (False, True)),
    (test_a_refused_connection_is_a_connect_error, ()),
    (test_the_pool_wait_is_bounded, (0.2, WAIT)),
    (test_the_pool_wait_is_bounded, (30.0, 0.2)),
    (test_cancelling_a_send_in_flight_closes_its_connection, ()),
    (test_no_answer_in_time_is_a_request_timeout, ()),
    (test_many_concurrent_sends_each_get_their_own_answer, ()),
    (test_concurrent_sends_against_a_mixed_hostile_server_never_get_a_wrong_answer, ()),
    (test_aclose_closes_every_connection_and_refuses_new_sends, ()),
    (test_aclose_with_a_send_in_flight, ()),
]


@pytest.mark.parametrize(
    ("scenario", "args"),
    ON_UVLOOP,
    ids=[f"{scenario.__name__[5:45]}-{index}" for index, (scenario, _) in enumerate(ON_UVLOOP)],
)
def test_on_uvloop(
    scenario: Callable[..., Coroutine[Any, Any, None]], args: tuple[object, ...]
) -> None:
    run_on("uvloop", scenario(*args))
