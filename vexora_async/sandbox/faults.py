"""Fault kinds and the policy that decides which request gets one.

A fault is chosen per request, in this order: the ``X-Sandbox-Fault`` header, then an
injection for the request's trade number (``inject``), then the random rate (``set_rate``,
or ``mix`` for every kind on both operations). A kind applies to the operations it names
(``FaultKind.operations``): a rate draws, for each request, only among the kinds that apply.
With a seed, the rate's choice depends only on (seed, operation, trade number, how many
requests for that trade number came before), not on the order requests race in, so a
concurrent benchmark faults the same requests on every run.
"""

from __future__ import annotations

import enum
import hashlib
import random
import threading
from collections.abc import Iterable

import attrs

from .ledger import Operation

__all__ = ["ALL_KINDS", "CLASSIC_KINDS", "FAULT_HEADER", "FaultKind", "FaultPolicy"]

FAULT_HEADER = "X-Sandbox-Fault"


class FaultKind(enum.StrEnum):
    """What goes wrong. ``before_store`` kinds answer before the request is processed (a
    checkout's order does not exist); the others answer after it was processed (a valid new
    order *is* stored, a query was answered from the ledger and the answer replaced)."""

    SERVER_ERROR_BEFORE_STORE = "5xx-before-store"  # HTTP 500, HTML body
    RATE_LIMITED = "429-before-store"  # HTTP 429 with Retry-After
    UNAVAILABLE = "503-before-store"  # HTTP 503 with Retry-After
    SERVER_ERROR_AFTER_STORE = "5xx-after-store"  # HTTP 502, HTML body
    DROP_AFTER_STORE = "drop-after-store"  # connection closed without an answer
    DELAY_AFTER_STORE = "delay-after-store"  # normal answer after ``FaultPolicy.delay``
    MALFORMED_AFTER_STORE = "malformed-after-store"  # HTTP 200, truncated JSON
    SYSTEM_ERROR_AFTER_STORE = "code-5000-after-store"  # envelope with code 5000
    # A proxy or load balancer that committed the order and still answers "throttled".
    RATE_LIMITED_AFTER_STORE = "429-after-store"  # HTTP 429 with Retry-After, HTML body
    UNAVAILABLE_AFTER_STORE = "503-after-store"  # HTTP 503 with Retry-After, HTML body
    # An envelope with ``SandboxCodes.throttled_code``/``_msg``, before processing.
    THROTTLE_CODE = "throttle-code"
    # An envelope with ``SandboxCodes.unknown_code``/``_msg``, after processing.
    UNKNOWN_CODE_AFTER_STORE = "unknown-code-after-store"
    # Queries only: answered from a replica ``FaultPolicy.replica_lag`` seconds behind, so
    # an order committed more recently than that is "not found".
    LAGGING_REPLICA = "lagging-replica"
    # A proxy that committed the request and answers 503 with a body that looks like the
    # gateway's "not found" envelope: no verdict, whatever the body says. Drawn for a create,
    # the order's next ``STICKY_QUERIES`` queries get it too (the front stays overloaded).
    PROXY_ENVELOPE_AFTER_STORE = "503-envelope-after-store"
    # The real answer, naming another order's tradeNo: it proves nothing of this one.
    OTHER_ORDER_AFTER_STORE = "other-order-after-store"

    @property
    def before_store(self) -> bool:
        return self in _BEFORE_STORE

    @property
    def operations(self) -> frozenset[Operation]:
        """The operations this kind can apply to."""
        return _QUERY_ONLY if self is FaultKind.LAGGING_REPLICA else _ANY

    @classmethod
    def parse(cls, value: FaultKind | str) -> FaultKind:
        """A kind from itself, its value or its name (any case)."""
        if isinstance(value, FaultKind):
            return value
        text = value.strip()
        try:
            return cls(text.lower())
        except ValueError:
            pass
        try:
            return cls[text.upper().replace("-", "_")]
        except KeyError:
            known = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown fault kind; known: {known}") from None


_BEFORE_STORE = frozenset(
    {
        FaultKind.SERVER_ERROR_BEFORE_STORE,
        FaultKind.RATE_LIMITED,
        FaultKind.UNAVAILABLE,
        FaultKind.THROTTLE_CODE,
    }
)
# Every kind applies to every operation (payouts included), but the lagging replica: queries.
_ANY: frozenset[Operation] = frozenset({"checkout", "query", "payout", "payout_query", "balance"})
_QUERY_ONLY: frozenset[Operation] = frozenset({"query", "payout_query"})

# The kinds of the first sandbox: a client that follows SPEC §2 and queries after any unclear
# answer reads each of them truthfully. ``set_rate`` draws from these when given no kinds.
CLASSIC_KINDS: tuple[FaultKind, ...] = tuple(FaultKind)[:8]
# Every kind, the hostile ones included (``FaultPolicy.mix``).
ALL_KINDS: tuple[FaultKind, ...] = tuple(FaultKind)
# How many of an order's queries a drawn 503-envelope-after-store answers too: more than a
# client's settle queries (3 by default), so reading its body as a verdict would show.
STICKY_QUERIES = 4
_QUERY_OF: dict[str, Operation] = {"checkout": "query", "payout": "payout_query"}


@attrs.define
class _Injection:
    kind: FaultKind
    remaining: int | None  # None: until cleared


class FaultPolicy:
    """Which requests fail, and how. Safe to change from any thread while serving.

    ``delay`` is how long ``delay-after-store`` holds the answer (seconds, not scaled by the
    time factor: it must outlast a client's timeout); ``retry_after`` is the ``Retry-After``
    header of the 429/503 kinds, in seconds; ``replica_lag`` is how far (seconds) the replica
    of ``lagging-replica`` is behind: a query sees an order only that long after its commit.
    """

    def __init__(
        self, *, delay: float = 35.0, retry_after: int = 1, replica_lag: float = 0.5
    ) -> None:
        self.delay = delay
        self.retry_after = retry_after
        self.replica_lag = replica_lag
        self._lock = threading.Lock()
        self._injected: dict[tuple[str, str], _Injection] = {}
        self._rate = 0.0
        self._kinds: tuple[FaultKind, ...] = ()
        self._kinds_for: dict[Operation, tuple[FaultKind, ...]] = {}
        self._operations: frozenset[str] = frozenset()
        self._seed: int | None = None
        self._rng = random.Random()
        self._seen: dict[tuple[str, str], int] = {}
        # Read without the lock on every request: the fast path when nothing is configured.
        self.active = False

    def inject(
        self,
        trade_no: str,
        kind: FaultKind | str,
        *,
        times: int | None = 1,
        operation: Operation = "checkout",
    ) -> None:
        """Fail the next ``times`` requests for ``trade_no`` (``None``: all, until cleared)."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        parsed = FaultKind.parse(kind)
        if operation not in parsed.operations:
            raise ValueError(f"fault kind {parsed.value} does not apply to {operation}")
        injection = _Injection(parsed, times)
        with self._lock:
            self._injected[(operation, trade_no)] = injection
            self.active = True

    def set_rate(
        self,
        rate: float,
        kinds: Iterable[FaultKind | str] | None = None,
        *,
        seed: int | None = None,
        operations: Iterable[Operation] = ("checkout",),
    ) -> None:
        """Fail a share ``rate`` (0 to 1) of requests with kinds drawn from ``kinds``
        (``CLASSIC_KINDS`` when ``None``; ``ALL_KINDS`` for every one). Each request draws only
        among the kinds that apply to its operation. Deterministic when ``seed`` is given."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        chosen = tuple(FaultKind.parse(k) for k in (CLASSIC_KINDS if kinds is None else kinds))
        if rate > 0 and not chosen:
            raise ValueError("kinds must not be empty")
        ops = frozenset(operations)
        kinds_for = {op: tuple(k for k in chosen if op in k.operations) for op in ops}
        if rate > 0 and not any(kinds_for.values()):
            raise ValueError("none of the kinds applies to the operations")
        with self._lock:
            self._rate = rate
            self._kinds = chosen
            self._kinds_for = kinds_for
            self._operations = ops
            self._seed = seed
            self._rng = random.Random(seed)
            self._seen.clear()
            self.active = bool(self._injected) or rate > 0

    def mix(
        self,
        rate: float,
        *,
        seed: int | None = None,
        kinds: Iterable[FaultKind | str] = ALL_KINDS,
    ) -> None:
        """Every kind (or ``kinds``) on checkouts and queries at ``rate``: the soak's mix.
        Combine with ``Sandbox(codes=SandboxCodes(duplicate_code=...))`` for the duplicate
        answer and ``replica_lag`` for how far the lagging replica is behind."""
        self.set_rate(rate, kinds, seed=seed, operations=("checkout", "query"))

    def clear(self, trade_no: str | None = None) -> None:
        """Forget the injections for ``trade_no``, or every injection and the rate."""
        with self._lock:
            if trade_no is None:
                self._injected.clear()
                self._rate = 0.0
                self._seen.clear()
            else:
                for key in [k for k in self._injected if k[1] == trade_no]:
                    del self._injected[key]
            self.active = bool(self._injected) or self._rate > 0

    def pick(
        self, operation: Operation, trade_no: str | None, header: str | None = None
    ) -> FaultKind | None:
        """The fault for this request, if any (consumes an injection). A header naming an
        unknown kind, or one that does not apply to the operation, raises ``ValueError``."""
        if header:
            kind = FaultKind.parse(header)
            if operation not in kind.operations:
                raise ValueError(f"fault kind {kind.value} does not apply to {operation}")
            return kind
        if not self.active:
            return None
        with self._lock:
            if trade_no is not None:
                key = (operation, trade_no)
                injection = self._injected.get(key)
                if injection is not None:
                    if injection.remaining is not None:
                        injection.remaining -= 1
                        if injection.remaining <= 0:
                            del self._injected[key]
                            self.active = bool(self._injected) or self._rate > 0
                    return injection.kind
            kinds = self._kinds_for.get(operation) if self._rate > 0 else None
            if not kinds:
                return None
            draw, which = self._draw(operation, trade_no)
            drawn = kinds[which % len(kinds)] if draw < self._rate else None
            query = _QUERY_OF.get(operation)
            if drawn is FaultKind.PROXY_ENVELOPE_AFTER_STORE and trade_no and query:
                self._injected.setdefault(
                    (query, trade_no), _Injection(drawn, STICKY_QUERIES)
                )
            return drawn

    def _draw(self, operation: str, trade_no: str | None) -> tuple[float, int]:
        if self._seed is None or trade_no is None:
            return self._rng.random(), self._rng.randrange(1 << 30)
        key = (operation, trade_no)
        seen = self._seen.get(key, 0)
        self._seen[key] = seen + 1
        text = f"{self._seed}\x00{operation}\x00{trade_no}\x00{seen}".encode()
        digest = hashlib.blake2b(text, digest_size=16).digest()
        # 53 bits make an exactly representable fraction in [0, 1).
        draw = (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)
        return draw, int.from_bytes(digest[8:], "big")

    def describe(self) -> dict[str, object]:
        """The current configuration as JSON-ready data."""
        with self._lock:
            return {
                "injected": [
                    {"operation": op, "tradeNo": trade, "kind": inj.kind.value,
                     "remaining": inj.remaining}
                    for (op, trade), inj in self._injected.items()
                ],
                "rate": self._rate,
                "kinds": [k.value for k in self._kinds],
                "operations": sorted(self._operations),
                "seed": self._seed,
                "delay": self.delay,
                "retryAfter": self.retry_after,
                "replicaLag": self.replica_lag,
            }
