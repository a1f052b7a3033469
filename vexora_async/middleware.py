"""The middleware chain above the transport, and the two links every client has.

A middleware is ``async def mw(call, next_) -> Envelope``. The chain is composed once per
client: ``[retry] -> signing -> [yours...] -> send``. Because signing sits inside retry,
every attempt gets a fresh ``timestamp`` and ``sign`` over the same business fields.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from .call import ApiCall, Envelope
from .envelope import decode_envelope
from .signing import sign
from .transports.base import HttpRequest, Transport
from .wire import dumps

__all__ = ["Middleware", "Next", "SigningMiddleware", "compose", "epoch_millis", "sender"]

Next = Callable[[ApiCall], Awaitable[Envelope]]
Middleware = Callable[[ApiCall, Next], Awaitable[Envelope]]


def epoch_millis() -> int:
    return time.time_ns() // 1_000_000


class SigningMiddleware:
    """Stamps ``timestamp``, signs the field dict and sets the ``merchantNo`` header."""

    def __init__(
        self,
        merchant_no: str,
        secret: str,
        *,
        timestamp_as_number: bool = False,
        clock: Callable[[], int] = epoch_millis,
    ) -> None:
        self._headers = {"merchantNo": merchant_no, "Content-Type": "application/json"}
        self._secret = secret
        self._as_number = timestamp_as_number
        self._clock = clock

    def __call__(self, call: ApiCall, next_: Next) -> Awaitable[Envelope]:
        # A plain function returning the next link's awaitable: no coroutine of its own.
        fields = dict(call.fields)
        stamp = self._clock()
        fields["timestamp"] = stamp if self._as_number else str(stamp)
        fields.pop("sign", None)
        fields["sign"] = sign(fields, self._secret)
        headers = {**call.headers, **self._headers} if call.headers else self._headers
        return next_(call.with_request(fields, headers))

    def __repr__(self) -> str:
        return f"SigningMiddleware(merchant_no={self._headers['merchantNo']!r}, secret='***')"


def sender(transport: Transport, base_url: str) -> Next:
    """The end of the chain: encode, send over ``transport``, decode the envelope."""
    root = base_url.rstrip("/")
    urls: dict[str, str] = {}  # per path, built once (a client uses two or three paths)

    async def send(call: ApiCall) -> Envelope:
        url = urls.get(call.path)
        if url is None:
            url = urls[call.path] = root + call.path
        request = HttpRequest("POST", url, call.headers, dumps(call.fields))
        response = await transport.send(request, timeout=call.timeout)
        return decode_envelope(response)

    return send


def compose(middlewares: Sequence[Middleware], end: Next) -> Next:
    """Wrap ``end`` so that ``middlewares[0]`` runs first; built once, not per call."""
    handler = end
    for middleware in reversed(middlewares):
        handler = _link(middleware, handler)
    return handler


def _link(middleware: Middleware, next_: Next) -> Next:
    # A plain function returning the middleware's awaitable: no extra coroutine per call.
    def run(call: ApiCall) -> Awaitable[Envelope]:
        return middleware(call, next_)

    return run
