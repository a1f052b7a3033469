"""The one classifier: what an attempt proved, and what a call's result stands for."""

from __future__ import annotations

import pytest

from vexora_async.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionDropped,
    HTTPStatusError,
    MalformedResponse,
    OrderExists,
    OrderRejected,
    OutcomeUnknown,
    RequestTimeout,
    UnexpectedRedirect,
    ValidationError,
    VexoraError,
    Violation,
)
from vexora_async.models import PaymentState
from vexora_async.outcome import Delivery, Outcome, delivery_of, is_retryable, outcome_of


@pytest.mark.parametrize(
    ("error", "delivery", "retryable"),
    [
        (ConnectError("refused"), Delivery.NOT_SENT, True),
        (RequestTimeout("late"), Delivery.MAYBE_SENT, True),
        (ConnectionDropped("cut"), Delivery.MAYBE_SENT, True),
        (MalformedResponse("junk"), Delivery.MAYBE_SENT, True),
        (HTTPStatusError(500), Delivery.MAYBE_SENT, True),
        (HTTPStatusError(429, retry_after=1.0), Delivery.MAYBE_SENT, True),  # a proxy may commit
        (HTTPStatusError(503, retry_after=1.0), Delivery.MAYBE_SENT, True),
        (HTTPStatusError(408), Delivery.MAYBE_SENT, True),
        (HTTPStatusError(404), Delivery.MAYBE_SENT, False),  # refused again if resent
        (UnexpectedRedirect(307, location_host="evil.example"), Delivery.MAYBE_SENT, False),
        (APIError("9999", "no"), Delivery.ANSWERED, False),
    ],
)
def test_only_a_connect_failure_is_not_sent(
    error: VexoraError, delivery: Delivery, retryable: bool
) -> None:
    assert delivery_of(error) is delivery
    assert is_retryable(error) is retryable


def test_each_result_has_one_outcome() -> None:
    state = PaymentState.__new__(PaymentState)
    connect = ConnectError("refused")
    after_unknown = ConnectError("refused")
    after_unknown.maybe_sent = True
    cases: list[tuple[BaseException | None, Outcome]] = [
        (None, Outcome.CREATED),
        (OrderExists("T", state), Outcome.EXISTS),
        (OrderRejected("1000", "bad"), Outcome.REJECTED),
        (ValidationError([Violation("amount", "below_minimum")]), Outcome.INVALID),
        (connect, Outcome.NOT_SENT),
        (after_unknown, Outcome.ERROR),  # never "not sent" once an attempt may have landed
        (OutcomeUnknown("T", "timeout"), Outcome.UNKNOWN),
        (AuthenticationError("1001", "sign error"), Outcome.ERROR),
        (ConfigurationError("x"), Outcome.ERROR),
        (RuntimeError("bug"), Outcome.ERROR),
    ]
    for error, outcome in cases:
        assert outcome_of(error) is outcome, error
    assert [o.value for o in Outcome] == [
        "created", "exists", "rejected", "invalid", "not_sent", "unknown", "error",
    ]  # fmt: skip
