"""Retries that never change the order: same fields, fresh stamp and sign per attempt.

``RetryMiddleware`` sits outside ``SigningMiddleware``, so each attempt is re-stamped and
re-signed while ``tradeNo`` and every business field stay byte-identical. Creating a link is
not idempotent, but the gateway keeps ``tradeNo`` unique, so resending the *same* order is
safe: at worst the gateway answers "duplicate" and the client reconciles with a query.

Each attempt is classified:

- ``ok`` / ``answered``: the gateway gave a readable answer; no retry.
- ``not_sent``: the request never left (connect refused, DNS, pool wait); retry.
- ``throttled``: 429, or 503 with ``Retry-After``: the gateway did not process it; retry
  after the wait it asks for (up to a cap).
- ``unknown``: sent, outcome unknown (timeout, dropped connection, 5xx, malformed body,
  code ``5000``); retry with the same ``tradeNo``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import attrs

from .call import ApiCall, CallTrace, Envelope
from .envelope import ACCEPTED, SYSTEM_ERROR
from .errors import (
    ConfigurationError,
    ConnectError,
    HTTPStatusError,
    ResponseError,
    TransportError,
    VexoraError,
)
from .middleware import Next

__all__ = [
    "ANSWERED",
    "NOT_SENT",
    "NO_RETRY",
    "OK",
    "THROTTLED",
    "UNKNOWN",
    "AttemptEvent",
    "RequestEvent",
    "RetryMiddleware",
    "RetryPolicy",
    "classify_envelope",
    "classify_error",
]

logger = logging.getLogger("vexora_async")

OK = "ok"
ANSWERED = "answered"
NOT_SENT = "not_sent"
THROTTLED = "throttled"
UNKNOWN = "unknown"
_RETRYABLE = frozenset({NOT_SENT, THROTTLED, UNKNOWN})


@attrs.frozen
class RetryPolicy:
    """How hard to try. The defaults suit an interactive checkout and a batch alike.

    - ``attempts``: tries per call, the first included (``1`` turns retrying off).
    - ``backoff`` * 2**(n-1), capped at ``backoff_max``, minus up to ``jitter`` of it at
      random (so a thousand workers do not retry in step).
    - ``retry_after_max``: the longest ``Retry-After`` honoured; a longer one waits this long.
    - ``attempt_timeout``: seconds for one attempt; ``deadline``: seconds for the whole call,
      retries and waits included. No attempt starts after the deadline.
    - ``reconcile``: after an unknown outcome, query the order before reporting anything.
    """

    attempts: int = 4
    backoff: float = 0.25
    backoff_max: float = 8.0
    jitter: float = 0.5
    retry_after_max: float = 30.0
    attempt_timeout: float | None = 15.0
    deadline: float | None = 90.0
    reconcile: bool = True

    def __attrs_post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigurationError("attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError("jitter must be between 0 and 1")
        for name in ("backoff", "backoff_max", "retry_after_max", "attempt_timeout", "deadline"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigurationError(f"{name} must be positive")

    def delay(self, attempt: int, draw: float, retry_after: float | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based); ``draw`` is uniform in [0, 1)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        base = min(self.backoff_max, self.backoff * 2.0 ** (attempt - 1))
        return base * (1 - self.jitter * draw)


NO_RETRY = RetryPolicy(attempts=1)


@attrs.frozen(slots=True)
class AttemptEvent:
    """One attempt, for hooks and logs: no fields, no sign, no personal data."""

    operation: str
    trade_no: str
    attempt: int
    outcome: str
    elapsed: float
    code: str | None = None
    error: str | None = None
    will_retry: bool = False


@attrs.frozen(slots=True)
class RequestEvent:
    """An attempt about to be sent."""

    operation: str
    trade_no: str
    attempt: int


AttemptHook = Callable[[AttemptEvent], Awaitable[None]]
RequestHook = Callable[[RequestEvent], Awaitable[None]]


def classify_envelope(envelope: Envelope) -> str:
    if envelope.code == ACCEPTED:
        return OK
    if envelope.code == SYSTEM_ERROR:
        return UNKNOWN
    return ANSWERED


def classify_error(error: VexoraError) -> str:
    if isinstance(error, ConnectError):
        return NOT_SENT
    if isinstance(error, HTTPStatusError):
        if error.status == 429 or (error.status == 503 and error.retry_after is not None):
            return THROTTLED
        return UNKNOWN if error.status >= 500 else ANSWERED
    if isinstance(error, TransportError | ResponseError):
        return UNKNOWN
    return ANSWERED


class RetryMiddleware:
    """The outermost link of the chain. ``sleep``, ``clock`` and ``random`` are injectable
    so tests can check the schedule without waiting."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        on_request: RequestHook | None = None,
        on_attempt: AttemptHook | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._on_request = on_request
        self._on_attempt = on_attempt
        self._sleep = sleep
        self._clock = clock
        self._random = random

    async def __call__(self, call: ApiCall, next_: Next) -> Envelope:
        policy: RetryPolicy = call.retry or self.policy
        trace = call.trace if call.trace is not None else CallTrace()
        clock = self._clock
        started = clock()
        deadline = None if policy.deadline is None else started + policy.deadline
        attempt = 0
        while True:
            attempt += 1
            timeout = call.timeout if call.timeout is not None else policy.attempt_timeout
            begun = clock()
            if deadline is not None:
                left = deadline - begun
                timeout = left if timeout is None else min(timeout, left)
            if self._on_request is not None:
                await self._on_request(RequestEvent(call.operation, call.trade_no, attempt))
                begun = clock()
            envelope: Envelope | None = None
            error: VexoraError | None = None
            retry_after: float | None = None
            try:
                envelope = await next_(call.for_attempt(attempt, timeout))
                code = envelope.code  # classify_envelope, inlined: this runs once per attempt
                outcome = OK if code == ACCEPTED else UNKNOWN if code == SYSTEM_ERROR else ANSWERED
            except (TransportError, ResponseError) as exc:
                error = exc
                outcome = classify_error(exc)
                if isinstance(exc, HTTPStatusError):
                    retry_after = exc.retry_after
            trace.record(outcome, maybe_sent=outcome is UNKNOWN)

            delay = 0.0
            will_retry = outcome in _RETRYABLE and attempt < policy.attempts
            if will_retry:
                delay = policy.delay(attempt, self._random(), retry_after)
                if deadline is not None and clock() + delay >= deadline:
                    will_retry = False
            level = logging.DEBUG if outcome is OK or outcome is ANSWERED else logging.INFO
            if self._on_attempt is not None or logger.isEnabledFor(level):
                # Only built when someone listens: most calls pay nothing for reporting.
                await self._report(
                    call, attempt, outcome, begun, envelope, error, will_retry, level
                )

            if not will_retry:
                if error is not None:
                    raise error
                assert envelope is not None
                return envelope
            await self._sleep(delay)

    async def _report(
        self,
        call: ApiCall,
        attempt: int,
        outcome: str,
        begun: float,
        envelope: Envelope | None,
        error: VexoraError | None,
        will_retry: bool,
        level: int,
    ) -> None:
        event = AttemptEvent(
            operation=call.operation,
            trade_no=call.trade_no,
            attempt=attempt,
            outcome=outcome,
            elapsed=self._clock() - begun,
            code=envelope.code if envelope is not None else None,
            error=type(error).__name__ if error is not None else None,
            will_retry=will_retry,
        )
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "%s trade=%s attempt=%d outcome=%s code=%s error=%s elapsed_ms=%.1f retry=%s",
                event.operation,
                event.trade_no,
                event.attempt,
                event.outcome,
                event.code,
                event.error,
                event.elapsed * 1000,
                event.will_retry,
            )
        if self._on_attempt is not None:
            await self._on_attempt(event)
