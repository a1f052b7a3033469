"""The middleware chain above the transport, and the links every client has.

A middleware is ``async def mw(call, next_) -> Envelope``: it may look at or change the
``ApiCall`` on the way down (pass ``call.replace(...)`` on) and the ``Envelope`` on the way
up. The chain is composed once per client from one ordered list, as aiohttp's
``ClientSession(middlewares=...)``: yours, with the two markers ``RETRY`` and ``SIGNING``
saying where the client's own links go. Without markers the chain is
``RETRY -> yours... -> SIGNING -> send``: yours run once per attempt and anything they add
to the fields is signed. Put one before ``RETRY`` to wrap the whole retry loop, after
``SIGNING`` to see the signed request. Signing must stay inside retry, so that every
attempt gets a fresh ``timestamp`` and ``sign`` over the same business fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from .call import ApiCall, Envelope
from .envelope import decode_envelope
from .errors import ConfigurationError
from .signing import sign
from .transports.base import HttpRequest, Transport
from .wire import dumps, epoch_millis

__all__ = [
    "RETRY",
    "SIGNING",
    "Middleware",
    "Next",
    "Sender",
    "SigningMiddleware",
    "Slot",
    "arrange",
    "compose",
    "epoch_millis",
    "sender",
    "signed_post",
]

Next = Callable[[ApiCall], Awaitable[Envelope]]
Middleware = Callable[[ApiCall, Next], Awaitable[Envelope]]


class Slot:
    """A marker in a client's ``middlewares`` list: where one of the client's links goes."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name.upper()


RETRY: Final = Slot("retry")
SIGNING: Final = Slot("signing")


def arrange(
    middlewares: Sequence[Middleware | Slot],
    retry: Middleware,
    signing: Middleware,
    *,
    per_attempt: Sequence[Middleware] = (),
) -> tuple[Middleware, ...]:
    """The full chain from a user's list: markers replaced, missing ones put in their
    default places (``RETRY`` first, ``SIGNING`` last); ``per_attempt`` links (the client's
    rate limit) go right inside the retry loop."""
    items: list[Middleware | Slot] = list(middlewares)
    for slot in (RETRY, SIGNING):
        if items.count(slot) > 1:
            raise ConfigurationError(f"middlewares names {slot!r} more than once")
    if RETRY not in items:
        items.insert(0, RETRY)
    if SIGNING not in items:
        items.append(SIGNING)
    if items.index(RETRY) > items.index(SIGNING):
        raise ConfigurationError(
            "SIGNING must come after RETRY in middlewares: every attempt is signed afresh"
        )
    for item in items:
        if not isinstance(item, Slot) and not callable(item):
            raise ConfigurationError("a middleware must be callable as mw(call, next_)")
    chain: list[Middleware] = []
    for item in items:
        if item is RETRY:
            chain.extend((retry, *per_attempt))
        elif item is SIGNING:
            chain.append(signing)
        else:
            chain.append(item)  # type: ignore[arg-type]
    return tuple(chain)


class SigningMiddleware:
    """Stamps ``timestamp``, signs the field dict and sets the ``merchantNo`` header.

    ``timestamp_as_number``: whether ``timestamp`` goes as a JSON number or as text;
    ``timestamp_types`` overrides it per endpoint path (a profile's payout pages type it
    otherwise than its checkout page, SPEC §9).
    """

    def __init__(
        self,
        merchant_no: str,
        secret: str,
        *,
        timestamp_as_number: bool = False,
        timestamp_types: Mapping[str, bool] | None = None,
        clock: Callable[[], int] = epoch_millis,
    ) -> None:
        # What every request carries (read-only: one mapping, sent as it is).
        self.base_headers: Mapping[str, str] = MappingProxyType(
            {"merchantNo": merchant_no, "Content-Type": "application/json"}
        )
        self._secret = secret
        self._as_number = timestamp_as_number
        self._types = dict(timestamp_types or {})
        self._clock = clock

    def __call__(self, call: ApiCall, next_: Next) -> Awaitable[Envelope]:
        # A plain function returning the next link's awaitable: no coroutine of its own.
        return next_(call.with_request(self.signed(call), self.headers(call)))

    def signed(self, call: ApiCall) -> dict[str, Any]:
        """The call's fields, stamped and signed (a new dict: the call's stay as they are)."""
        return self.sign_fields(call.fields, call.path)

    def sign_fields(self, fields: Mapping[str, Any], path: str) -> dict[str, Any]:
        """``fields`` for ``path``, stamped and signed (a new dict: the given one stays)."""
        fields = dict(fields)
        stamp = self._clock()
        as_number = self._types.get(path, self._as_number) if self._types else (
            self._as_number
        )
        fields["timestamp"] = stamp if as_number else str(stamp)
        fields.pop("sign", None)
        fields["sign"] = sign(fields, self._secret)
        return fields

    def headers(self, call: ApiCall) -> Mapping[str, str]:
        return {**call.headers, **self.base_headers} if call.headers else self.base_headers

    def __repr__(self) -> str:
        return f"SigningMiddleware(merchant_no={self.base_headers['merchantNo']!r}, secret='***')"


class Sender:
    """The end of the chain: encode, send over ``transport``, decode the envelope."""

    __slots__ = ("_root", "_urls", "transport")

    def __init__(self, transport: Transport, base_url: str) -> None:
        self.transport = transport
        self._root = base_url.rstrip("/")
        self._urls: dict[str, str] = {}  # per path, built once (a client uses a few paths)

    def __call__(self, call: ApiCall) -> Awaitable[Envelope]:
        return self.post(call.path, call.fields, call.headers, call.timeout)

    async def post(
        self,
        path: str,
        fields: Mapping[str, Any],
        headers: Mapping[str, str],
        timeout: float | None,
    ) -> Envelope:
        """``fields`` as JSON to ``path``, the answer decoded (one attempt, no retry)."""
        request = self.request(path, fields, headers)
        return decode_envelope(await self.transport.send(request, timeout=timeout))

    def request(
        self, path: str, fields: Mapping[str, Any], headers: Mapping[str, str]
    ) -> HttpRequest:
        """The HTTP request that posts ``fields`` as JSON to ``path``."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self._root + path
        # tuple.__new__: the named tuple's own __new__ is a Python call, twice the cost.
        return tuple.__new__(HttpRequest, ("POST", url, headers, dumps(fields)))


def sender(transport: Transport, base_url: str) -> Sender:
    """The end of the chain for ``transport`` and ``base_url``."""
    return Sender(transport, base_url)


def compose(middlewares: Sequence[Middleware], end: Next) -> Next:
    """Wrap ``end`` so that ``middlewares[0]`` runs first; built once, not per call.

    Signing straight before the sender (the default chain's end, and any chain without a
    middleware after ``SIGNING``) is fused with it (``signed_post``)."""
    handler = end
    for middleware in reversed(middlewares):
        if (
            handler is end
            and isinstance(end, Sender)
            and isinstance(middleware, SigningMiddleware)
        ):
            handler = signed_post(middleware, end)
        else:
            handler = _link(middleware, handler)
    return handler


def signed_post(signing: SigningMiddleware, end: Sender) -> Next:
    """``signing`` and ``end`` as one link: the same work, one call and one ``ApiCall``
    copy less per attempt."""

    def run(call: ApiCall) -> Awaitable[Envelope]:
        path = call.path
        fields = signing.sign_fields(call.fields, path)
        return end.post(path, fields, signing.headers(call), call.timeout)

    return run


def _link(middleware: Middleware, next_: Next) -> Next:
    # A plain function returning the middleware's awaitable: no extra coroutine per call.
    def run(call: ApiCall) -> Awaitable[Envelope]:
        return middleware(call, next_)

    return run
