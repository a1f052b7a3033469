"""The transport contract: bytes in, status/headers/bytes out, typed failures.

A transport raises ``ConnectError`` when the request certainly never left, ``RequestTimeout``
or ``ConnectionDropped`` when it may have reached the gateway. It never interprets the body.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_MAX_BODY",
    "HttpRequest",
    "HttpResponse",
    "LowerCaseHeaders",
    "Timeouts",
    "Transport",
    "wrong_loop",
]

DEFAULT_MAX_BODY = 1 << 20  # a checkout answer is < 4 KiB; anything near 1 MiB is not ours


DEFAULT_ATTEMPT_TIMEOUT = 15.0  # for a transport called directly, without the retry link


def _finite_seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{attribute.name} must be a number of seconds")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{attribute.name} must be a positive, finite number of seconds")


@attrs.frozen(slots=True)
class Timeouts:
    """What the transport itself bounds: ``connect`` covers the pool wait and connecting,
    the window in which a failure proves the request was never sent.

    How long one attempt may take is not a transport setting: it is
    ``RetryPolicy.attempt_timeout`` (or a call's ``timeout=``), capped by the call's
    ``deadline``, and the retry link hands it to the transport with every attempt.
    """

    connect: float = attrs.field(default=5.0, validator=_finite_seconds)


# Immutable named tuples: one of each per attempt, so they cost what a tuple costs. The
# body (signed, with payer data) never shows in a repr.


def wrong_loop() -> ConfigurationError:
    """The error for a transport used from an event loop other than the one its
    connections were made in (they cannot move between loops)."""
    return ConfigurationError(
        "this client's connections belong to another event loop: a client works in the loop "
        "that first used it. Create one client per loop (for example inside the coroutine "
        "you pass to asyncio.run), or use vexora_async.sync from synchronous code"
    )


class HttpRequest(NamedTuple):
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def __repr__(self) -> str:
        size = len(self.body)
        return f"HttpRequest(method={self.method!r}, url={self.url!r}, body=<{size} bytes>)"


class HttpResponse(NamedTuple):
    status: int
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes

    def __repr__(self) -> str:
        return f"HttpResponse(status={self.status!r}, body=<{len(self.body)} bytes>)"


class LowerCaseHeaders(Mapping[str, str]):
    """A read-only view of a case-insensitive header mapping with lower-cased keys.

    Wraps what the HTTP library returns instead of copying every header per response:
    lookups go straight to it, only iteration lower-cases.
    """

    __slots__ = ("_headers",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers  # must look names up case-insensitively

    def __getitem__(self, name: str) -> str:
        return self._headers[name]

    def _names(self) -> dict[str, None]:
        return dict.fromkeys(name.lower() for name in self._headers)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"LowerCaseHeaders({dict(self)!r})"


@runtime_checkable
class Transport(Protocol):
    """Anything that can send an ``HttpRequest``; ``timeout`` is seconds for this attempt."""

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse: ...

    async def aclose(self) -> None: ...
