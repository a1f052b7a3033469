"""What travels through the middleware chain: an ``ApiCall`` down, an ``Envelope`` back up."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["ApiCall", "CallTrace", "Envelope"]

NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@attrs.define(slots=True)
class CallTrace:
    """What the attempts of one call found out, filled in by the retry middleware.

    ``maybe_sent`` turns true once any attempt may have reached the gateway without a
    readable answer: from then on a rejection may mean "you already created it".
    """

    maybe_sent: bool = False
    attempts: int = 0
    outcomes: list[str] = attrs.Factory(list)

    def record(self, outcome: str, *, maybe_sent: bool) -> None:
        self.attempts += 1
        self.outcomes.append(outcome)
        self.maybe_sent = self.maybe_sent or maybe_sent


@attrs.frozen(slots=True)
class ApiCall:
    """One logical gateway call. ``fields`` are the wire fields; signing adds ``timestamp``
    and ``sign`` to a copy, so every attempt of a retried call starts from the same fields."""

    operation: str  # "checkout" or "query"
    path: str
    fields: Mapping[str, Any] = attrs.field(repr=False)
    trade_no: str
    timeout: float | None = None
    headers: Mapping[str, str] = NO_HEADERS
    attempt: int = 1
    retry: Any = None  # a RetryPolicy overriding the client's for this call
    trace: CallTrace | None = attrs.field(default=None, eq=False, repr=False)

    # The two copies every attempt makes, spelled out: ``attrs.evolve`` would look up the
    # class's fields on every call.
    def for_attempt(self, attempt: int, timeout: float | None) -> ApiCall:
        """This call as attempt number ``attempt``, with that attempt's timeout."""
        return self.__class__(
            self.operation, self.path, self.fields, self.trade_no, timeout, self.headers,
            attempt, self.retry, self.trace,
        )

    def with_request(self, fields: Mapping[str, Any], headers: Mapping[str, str]) -> ApiCall:
        """This call with other wire fields and headers (what signing sends on)."""
        return self.__class__(
            self.operation, self.path, fields, self.trade_no, self.timeout, headers,
            self.attempt, self.retry, self.trace,
        )


@attrs.frozen(slots=True)
class Envelope:
    """The gateway's answer: ``code`` says whether the *request* worked (SPEC §2)."""

    code: str
    msg: str
    data: Any = attrs.field(repr=False)
    http_status: int = 200
    headers: Mapping[str, str] = attrs.field(default=NO_HEADERS, repr=False)
    raw: Mapping[str, Any] = attrs.field(default=MappingProxyType({}), repr=False)

    @property
    def accepted(self) -> bool:
        return self.code == "0000"
