"""Retries that never change the order: same fields, fresh stamp and sign per attempt.

``RetryMiddleware`` sits outside ``SigningMiddleware``, so each attempt is re-stamped and
re-signed while ``tradeNo`` and every business field stay byte-identical. Creating a link is
not idempotent, but the gateway keeps ``tradeNo`` unique, so resending the *same* order is
safe: at worst the gateway refuses a duplicate and the client reconciles with a query.

Each attempt is classified once, by ``outcome.delivery_of`` (not sent / maybe sent /
answered). Not-sent and maybe-sent attempts are retried (a refusal by the HTTP front, a
bare 4xx, is not: it would be refused again). What the attempts proved travels with the
result: ``Envelope.maybe_sent`` / ``VexoraError.maybe_sent`` and ``.attempts``.

One timeout rule: an attempt gets ``timeout`` (per call) or ``RetryPolicy.attempt_timeout``,
never more than what is left of the call's ``deadline``, which bounds everything the call
does: attempts, waits, and the client's reconciliation queries and resend.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable

import attrs

from .call import ApiCall, Envelope
from .codes import SYSTEM_ERROR
from .echoes import shown_code
from .errors import ConfigurationError, HTTPStatusError, RequestTimeout, VexoraError
from .middleware import Next
from .outcome import Delivery, delivery_of, is_retryable

__all__ = [
    "AttemptEvent",
    "AttemptHook",
    "MadeAttempt",
    "RequestEvent",
    "RequestHook",
    "RetryMiddleware",
    "RetryPolicy",
]

logger = logging.getLogger("vexora_async")
# Enum members looked up once: on Python 3.11 each ``Delivery.X`` costs a descriptor call.
_ANSWERED, _MAYBE_SENT = Delivery.ANSWERED, Delivery.MAYBE_SENT
_debug_enabled = logger.isEnabledFor  # bound once: asked on every answered attempt


def _finite_positive(name: str, value: float | None, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive, finite number of seconds")


@attrs.frozen
class RetryPolicy:
    """How hard to try. The defaults suit an interactive checkout and a batch alike.

    - ``attempts``: tries per call, the first included (``1`` turns retrying off).
    - ``backoff`` * 2**(n-1), capped at ``backoff_max``, minus up to ``jitter`` of it at
      random (so a thousand workers do not retry in step).
    - ``retry_after_max``: the longest ``Retry-After`` honoured; a longer one waits this long.
    - ``attempt_timeout``: seconds for one attempt; ``deadline``: seconds for the whole call:
      attempts, waits, reconciliation queries and the resend. No attempt starts after it.
    - ``reconcile``: after an unclear attempt or a refusal, query the order before reporting.
    - ``settle_queries`` spread over ``settle_window`` seconds: an order counts as absent
      only when every one of them answers "not found" (replicas lag: one answer is not
      proof). Set the window above your gateway's replication lag.
    """

    attempts: int = 4
    backoff: float = 0.25
    backoff_max: float = 8.0
    jitter: float = 0.5
    retry_after_max: float = 30.0
    attempt_timeout: float | None = 15.0
    deadline: float | None = 90.0
    reconcile: bool = True
    settle_queries: int = 3
    settle_window: float = 2.0

    def __attrs_post_init__(self) -> None:
        for name in ("attempts", "settle_queries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number, at least 1")
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, int | float):
            raise ConfigurationError("jitter must be a number")
        if not 0 <= self.jitter <= 1:  # also refuses NaN
            raise ConfigurationError("jitter must be between 0 and 1")
        for name in ("backoff", "backoff_max", "retry_after_max", "settle_window"):
            _finite_positive(name, getattr(self, name), optional=False)
        _finite_positive("attempt_timeout", self.attempt_timeout)
        _finite_positive("deadline", self.deadline)
        if self.attempt_timeout is None and self.deadline is None:
            raise ConfigurationError("set attempt_timeout or deadline: a call must end")

    def delay(self, attempt: int, draw: float, retry_after: float | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based); ``draw`` is uniform in [0, 1)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        base = min(self.backoff_max, self.backoff * 2.0 ** (attempt - 1))
        return base * (1 - self.jitter * draw)


@attrs.frozen(slots=True)
class AttemptEvent:
    """One attempt, for hooks and logs: no fields, no sign, no personal data.

    ``delivery`` is the attempt's verdict; ``code`` the gateway's code when it answered;
    ``http_status`` the HTTP status when there was one.
    """

    operation: str
    trade_no: str
    attempt: int
    delivery: Delivery
    elapsed: float
    code: str | None = None
    http_status: int | None = None
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


class MadeAttempt:
    """An attempt made before the retry link was called (the default chain's first, see
    ``direct.py``): when it began and what it ended in, an answer or a typed error."""

    __slots__ = ("begun", "outcome")

    def __init__(self, begun: float, outcome: Envelope | VexoraError) -> None:
        self.begun = begun
        self.outcome = outcome

    def envelope(self) -> Envelope:
        """The answer, or the attempt's error raised again."""
        if isinstance(self.outcome, VexoraError):
            raise self.outcome
        return self.outcome


class RetryMiddleware:
    """The retry loop, a link of the chain. ``sleep``, ``clock`` and ``random`` are
    injectable so tests can check the schedule without waiting; the client uses the same
    ``clock`` and ``sleep`` for its reconciliation, so one deadline bounds both."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        on_request: RequestHook | None = None,
        on_attempt: AttemptHook | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
        system_error_codes: Iterable[str] = (SYSTEM_ERROR,),
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.on_request = on_request
        self.on_attempt = on_attempt
        self.sleep = sleep
        self.clock = clock
        self._random = random
        self.system_error_codes = frozenset(system_error_codes)

    async def __call__(
        self, call: ApiCall, next_: Next, made: MadeAttempt | None = None
    ) -> Envelope:
        """Run ``call``'s attempts down ``next_``. ``made``: its first attempt was already
        made outside the chain (``direct.py``); the loop carries on from its outcome."""
        policy: RetryPolicy = call.retry or self.policy
        clock = self.clock
        deadline = call.deadline
        if deadline is None and policy.deadline is not None:
            deadline = clock() + policy.deadline
        attempt = 0
        maybe_sent = False  # did any attempt so far possibly reach the gateway unanswered?
        while True:
            attempt += 1
            if made is None:
                begun = clock()
                timeout = call.timeout if call.timeout is not None else policy.attempt_timeout
                if deadline is not None:
                    left = deadline - begun
                    if left <= 0:
                        raise self._stamp(
                            RequestTimeout("the call's deadline passed before this attempt"),
                            call, attempt - 1, maybe_sent,
                        )  # fmt: skip
                    if timeout is None or left < timeout:
                        timeout = left
                if self.on_request is not None:
                    await self.on_request(RequestEvent(call.operation, call.trade_no, attempt))
                    begun = clock()
            else:
                begun = made.begun
            envelope: Envelope | None = None
            error: VexoraError | None = None
            retry_after: float | None = None
            try:
                if made is not None:
                    earlier, made = made, None  # (cleared first: its error raises here)
                    envelope = earlier.envelope()
                else:
                    # The first attempt usually runs with the call's own timeout: no copy.
                    same = attempt == call.attempt and timeout == call.timeout
                    envelope = await next_(call if same else call.for_attempt(attempt, timeout))
            except VexoraError as exc:
                error = exc
                delivery = delivery_of(exc)
                retryable = is_retryable(exc)
                if isinstance(exc, HTTPStatusError):
                    retry_after = exc.retry_after
            else:
                if envelope.code in self.system_error_codes:  # the gateway failed: it may
                    delivery, retryable = _MAYBE_SENT, True  # have acted
                elif self.on_attempt is None and not _debug_enabled(logging.DEBUG):
                    # The usual case, answered and nobody listening: nothing to decide.
                    envelope.attempts = attempt
                    envelope.maybe_sent = maybe_sent  # an answer proves this attempt arrived
                    return envelope
                else:
                    delivery, retryable = _ANSWERED, False
            sent_before = maybe_sent
            maybe_sent = maybe_sent or delivery is _MAYBE_SENT

            delay = 0.0
            will_retry = retryable and attempt < policy.attempts
            if will_retry:
                delay = policy.delay(attempt, self._random(), retry_after)
                if deadline is not None and clock() + delay >= deadline:
                    will_retry = False
            level = logging.DEBUG if delivery is _ANSWERED else logging.INFO
            if self.on_attempt is not None or logger.isEnabledFor(level):
                # Only built when someone listens: most calls pay nothing for reporting.
                await self._report(
                    call, attempt, delivery, begun, envelope, error, will_retry, level
                )

            if not will_retry:
                if error is not None:
                    raise self._stamp(error, call, attempt, maybe_sent)
                assert envelope is not None
                envelope.attempts = attempt
                # An answer proves this attempt arrived; only earlier ones may be unanswered.
                envelope.maybe_sent = maybe_sent if delivery is not _ANSWERED else sent_before
                return envelope
            await self.sleep(delay)

    @staticmethod
    def _stamp(error: VexoraError, call: ApiCall, attempts: int, maybe_sent: bool) -> VexoraError:
        error.operation = call.operation
        error.path = call.path
        error.attempts = attempts
        error.maybe_sent = maybe_sent
        return error

    async def _report(
        self,
        call: ApiCall,
        attempt: int,
        delivery: Delivery,
        begun: float,
        envelope: Envelope | None,
        error: VexoraError | None,
        will_retry: bool,
        level: int,
    ) -> None:
        status = envelope.http_status if envelope is not None else getattr(error, "status", None)
        event = AttemptEvent(
            operation=call.operation,
            trade_no=call.trade_no,
            attempt=attempt,
            delivery=delivery,
            elapsed=self.clock() - begun,
            code=shown_code(envelope.code, call.fields) if envelope is not None else None,
            http_status=status,
            error=type(error).__name__ if error is not None else None,
            will_retry=will_retry,
        )
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "%s trade=%s attempt=%d delivery=%s status=%s code=%s error=%s elapsed_ms=%.1f "
                "retry=%s",
                event.operation,
                event.trade_no,
                event.attempt,
                event.delivery.value,
                event.http_status,
                event.code,
                event.error,
                event.elapsed * 1000,
                event.will_retry,
            )
        if self.on_attempt is not None:
            await self.on_attempt(event)
