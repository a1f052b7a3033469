"""Http11Transport over TLS on 127.0.0.1: certificates checked, the name too, nothing sent
to a server that could not prove who it is, kept-alive TLS connections reused."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme

from vexora_async import ConnectError, HttpRequest
from vexora_async.transports.http11 import Http11Transport

ANSWER = b'{"code":"0000","msg":"ok"}'


class _TlsServer:
    """Answers every request on a connection with ``ANSWER``; counts connections and requests."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                self.requests.append(head + await reader.readexactly(length))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


async def _serve(
    authority: trustme.CA, *names: str
) -> tuple[_TlsServer, asyncio.Server, int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*names).configure_cert(context)
    state = _TlsServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    return state, server, port


@pytest.fixture
async def served(authority: trustme.CA) -> AsyncIterator[tuple[_TlsServer, int]]:
    state, server, port = await _serve(authority, "127.0.0.1")
    async with server:
        yield state, port


def _trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def _post(port: int) -> HttpRequest:
    return HttpRequest(
        "POST", f"https://127.0.0.1:{port}/v1/checkout", {"merchantNo": "M1"}, b'{"a":1}'
    )


async def test_a_trusted_certificate_carries_requests_on_one_kept_alive_connection(
    authority: trustme.CA, served: tuple[_TlsServer, int]
) -> None:
    state, port = served
    transport = Http11Transport(ssl=_trusting(authority))
    try:
        for _ in range(3):
            response = await transport.send(_post(port))
            assert (response.status, response.body) == (200, ANSWER)
    finally:
        await transport.aclose()
    assert state.connections == 1
    assert len(state.requests) == 3
    assert state.requests[0].startswith(b"POST /v1/checkout HTTP/1.1\r\n")
    assert state.requests[0].endswith(b'\r\n\r\n{"a":1}')


async def test_an_untrusted_certificate_is_refused_before_anything_is_sent(
    served: tuple[_TlsServer, int],
) -> None:
    state, port = served
    transport = Http11Transport()  # the system's trust store: it never heard of this CA
    try:
        with pytest.raises(ConnectError) as caught:
            await transport.send(_post(port))
    finally:
        await transport.aclose()
    assert state.requests == []  # the signed body never left
    assert str(caught.value).startswith(f"could not connect to 127.0.0.1:{port}: TLS certificate")


async def test_a_certificate_for_another_name_is_refused(authority: trustme.CA) -> None:
    state, server, port = await _serve(authority, "gateway.example")
    async with server:
        transport = Http11Transport(ssl=_trusting(authority))
        try:
            with pytest.raises(ConnectError) as caught:
                await transport.send(_post(port))
        finally:
            await transport.aclose()
    assert state.requests == []
    assert "TLS certificate not accepted (IP address mismatch" in str(caught.value)


async def test_plain_http_to_a_tls_port_is_no_answer_not_a_wrong_one(
    served: tuple[_TlsServer, int],
) -> None:
    from vexora_async import TransportError

    _, port = served
    transport = Http11Transport()
    request = _post(port)
    try:
        with pytest.raises(TransportError):
            await transport.send(request._replace(url=request.url.replace("https", "http")))
    finally:
        await transport.aclose()
