"""One vocabulary for what a call proved, and the one classifier that decides it.

Two questions run through every layer, and each has one answer here:

- *Did this attempt reach a server?* ``Delivery`` answers it for one attempt: only a
  request that provably never left (connect refused, DNS, pool wait) is ``NOT_SENT``.
  Anything whose bytes may have reached a server may have landed there, throttled answers
  and bare 4xx/5xx from a proxy included: ``MAYBE_SENT``. A readable gateway envelope is
  ``ANSWERED``.
- *Does the order exist?* ``Outcome`` answers it for a whole call, in the plain strings the
  batch results and the CLI write.

The retry link classifies each attempt with ``delivery_of`` and attaches what the call
proved to what it returns or raises (``Envelope.maybe_sent`` / ``VexoraError.maybe_sent``);
reconciliation, the batch API and the CLI read that, never re-derive it.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import (
    ConnectError,
    HTTPStatusError,
    OrderExists,
    OrderRejected,
    OutcomeUnknown,
    ResponseError,
    TransportClosed,
    TransportError,
    ValidationError,
    VexoraError,
)

__all__ = ["Delivery", "Outcome", "delivery_of", "is_retryable", "outcome_of"]


class Delivery(StrEnum):
    """What one attempt proved about reaching the gateway."""

    NOT_SENT = "not_sent"  # provably never reached a server: resending cannot duplicate
    MAYBE_SENT = "maybe_sent"  # may have landed: only a query can tell
    ANSWERED = "answered"  # the gateway's own readable answer (accepted or refused)


class Outcome(StrEnum):
    """What a call proved about the order; stable strings for files and scripts."""

    CREATED = "created"  # the gateway accepted it and the result is in hand
    EXISTS = "exists"  # it exists at the gateway (confirmed by a query); the link was lost
    REJECTED = "rejected"  # the gateway refused it AND a query confirmed it is absent
    INVALID = "invalid"  # refused by validation before anything was sent
    NOT_SENT = "not_sent"  # no attempt ever reached a server
    UNKNOWN = "unknown"  # may or may not exist: query it later, never re-create it
    ERROR = "error"  # anything else (configuration, authentication, a bug): see the error


def delivery_of(error: VexoraError) -> Delivery:
    """The verdict for one failed attempt (an ``Envelope`` is always ``ANSWERED``)."""
    if isinstance(error, ConnectError):
        return Delivery.NOT_SENT
    if isinstance(error, TransportError | ResponseError):
        return Delivery.MAYBE_SENT
    return Delivery.ANSWERED


def is_retryable(error: VexoraError) -> bool:
    """Whether another attempt can help. A refusal by the HTTP front (4xx other than 408 and
    429) will be refused again: it is not retried, but it is still ``MAYBE_SENT``."""
    if isinstance(error, HTTPStatusError):
        return error.status >= 500 or error.status in (408, 429)
    if isinstance(error, TransportClosed):
        return False  # closed stays closed: fail now, as not sent
    return isinstance(error, TransportError | ResponseError)


def outcome_of(error: BaseException | None) -> Outcome:
    """The outcome a call's result stands for (``None``: it succeeded).

    The client raises ``ConnectError`` only when no attempt of the call may have reached a
    server (otherwise it reconciles), so a ``ConnectError`` is ``NOT_SENT``.
    """
    if error is None:
        return Outcome.CREATED
    if isinstance(error, OrderExists):
        return Outcome.EXISTS
    if isinstance(error, OrderRejected):
        return Outcome.REJECTED
    if isinstance(error, ValidationError):
        return Outcome.INVALID
    if isinstance(error, OutcomeUnknown):
        return Outcome.UNKNOWN
    if isinstance(error, ConnectError) and not error.maybe_sent:
        return Outcome.NOT_SENT
    return Outcome.ERROR
