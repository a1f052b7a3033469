"""Every error the SDK raises, under one base class.

The classes answer the question a payment integration cares about most: *was the order
created?*  ``OrderRejected`` means definitely not, ``OrderExists`` means definitely yes,
``OutcomeUnknown`` means the caller must not assume either.  ``ConnectError`` means the
request never left this process.

No message, ``str`` or ``repr`` here contains a secret, a signature or customer data: the
errors carry field names, rule names, codes and trade numbers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .models import PaymentState
    from .payout_models import PayoutState
    from .responses import ResponseInfo

__all__ = [
    "APIError",
    "AmbiguousNotification",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectError",
    "ConnectionDropped",
    "HTTPStatusError",
    "MalformedNotification",
    "MalformedResponse",
    "OrderExists",
    "OrderNotFound",
    "OrderRejected",
    "OutcomeUnknown",
    "RequestTimeout",
    "ResponseError",
    "SignatureError",
    "TransportError",
    "UnexpectedRedirect",
    "UnknownNotificationKey",
    "ValidationError",
    "VexoraError",
    "Violation",
]


class VexoraError(Exception):
    """Base class of every error raised by vexora_async.

    Errors that come out of a gateway call also say where and what it proved:
    ``operation`` (``"checkout"``, ``"query"``, ...), ``path`` (the endpoint), ``attempts``
    and ``maybe_sent`` (whether any attempt may have reached the gateway without a readable
    answer). The retry link sets them; nothing re-derives them from the class.

    For debugging, the last answer the error is about: ``status`` (HTTP), the gateway's
    ``code`` and ``msg``, and ``response``, a redacted ``ResponseInfo`` (status, headers,
    the envelope without payer data). ``str(error)`` never holds response data.
    """

    operation: str | None = None
    path: str | None = None
    attempts: int = 0
    maybe_sent: bool = False
    status: int | None = None
    code: str | None = None
    msg: str | None = None
    response: ResponseInfo | None = None


@attrs.frozen
class Violation:
    """One broken rule: which field (SDK name), which rule, and a hint that holds no data."""

    field: str
    rule: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}" + (f" ({self.hint})" if self.hint else "")


class ValidationError(VexoraError, ValueError):
    """The request breaks one or more rules of its profile; nothing was sent.

    ``violations`` lists every broken rule, not just the first one found.
    """

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        count = len(self.violations)
        lines = "; ".join(str(v) for v in self.violations)
        super().__init__(f"{count} invalid field{'s' if count != 1 else ''}: {lines}")

    @property
    def fields(self) -> tuple[str, ...]:
        """The offending field names, in the order they were found (may repeat)."""
        return tuple(v.field for v in self.violations)


class ConfigurationError(VexoraError, ValueError):
    """The client or a profile is configured in a way that cannot work."""


class SignatureError(VexoraError):
    """A signature is missing or does not verify (callbacks, signed payloads)."""


class TransportError(VexoraError):
    """The HTTP exchange failed below the gateway's answer."""


class ConnectError(TransportError):
    """No connection could be made (refused, DNS, pool wait): the request was never sent."""


class TransportClosed(ConnectError):
    """The client (or its transport) was closed: nothing was sent, and no retry can help."""


class RequestTimeout(TransportError, TimeoutError):
    """No answer in time after the request may have been sent: the outcome is unknown."""


class ConnectionDropped(TransportError):
    """The connection broke after the request may have been sent: the outcome is unknown."""


class ResponseError(VexoraError):
    """The gateway answered, but not with a readable envelope."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HTTPStatusError(ResponseError):
    """A non-2xx HTTP status that is not the gateway's answer: any 5xx, 408 or 429 (a proxy
    may answer so after the gateway acted, whatever the body says), or another status
    without a gateway envelope."""

    def __init__(self, status: int, *, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from the gateway", status=status)
        self.status: int = status
        self.retry_after = retry_after


class UnexpectedRedirect(HTTPStatusError):
    """A 3xx answer. Redirects are never followed: that would re-send the signed body with
    payer data to whatever host ``Location`` names. ``location_host`` is that host only."""

    def __init__(self, status: int, *, location_host: str | None = None) -> None:
        super().__init__(status)
        self.location_host = location_host
        where = f" to {location_host}" if location_host else ""
        self.args = (f"HTTP {status} redirect{where} from the gateway (not followed)",)


class MalformedResponse(ResponseError):
    """The body is not JSON, not an envelope, or lacks a field the SDK needs."""


class MalformedNotification(VexoraError):
    """A notification body that is not JSON, not an object, or lacks a usable required field.

    The message names fields, never their values.
    """


class AmbiguousNotification(MalformedNotification):
    """A notification whose sign would fit another body as well (SPEC §7), refused.

    The sign covers ``key=value`` pairs joined with no separator, so a value's tail can be
    re-cut into the next key's head (``tradeNo=INV7zz`` + ``wayCode`` reads as ``tradeNo=INV7``
    + ``zzwayCode``). ``field`` is the key whose value holds the text ``key=`` of a documented
    key (``key``) that could be cut out of it. Messages name keys, never values.
    """

    def __init__(self, message: str, *, field: str = "", key: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.key = key


class UnknownNotificationKey(AmbiguousNotification):
    """A notification with a key outside its kind's documented set (plus ``extra_keys``).

    ``keys`` lists every such key (sorted); the message names them, never their values.
    """

    def __init__(self, message: str, *, keys: Sequence[str]) -> None:
        super().__init__(message, field=keys[0] if keys else "")
        self.keys = tuple(keys)


class APIError(VexoraError):
    """The gateway answered with a non-success ``code``; ``msg`` is its own text."""

    def __init__(self, code: str, msg: str, *, trade_no: str | None = None) -> None:
        self.code = code
        self.msg = msg
        self.trade_no = trade_no
        where = f" for trade {trade_no}" if trade_no else ""
        super().__init__(f"gateway code {code}{where}: {msg}")


class AuthenticationError(APIError):
    """The gateway could not authenticate the request (bad sign, unknown merchant): check
    ``merchant_no``, ``secret``, ``base_url`` and the region. Nothing was done under these
    credentials; it says nothing about an order an earlier, correct call created."""


class OrderRejected(APIError):
    """The gateway refused to create the order *and* a query confirmed it does not exist."""


class OrderNotFound(APIError):
    """A query got the profile's "no such order" answer. Replicas lag: it means "not yet",
    not a failure of the order, and one such answer never proves an order absent."""


class OutcomeUnknown(VexoraError):
    """The order may or may not exist at the gateway.

    Query it later (``query_payment``) with the same ``trade_no``; never create it again
    under a new number without knowing it does not exist. ``known`` lists what each step
    learned; ``rejection`` is a refusal the client could not confirm (the order may exist).
    """

    def __init__(
        self,
        trade_no: str,
        reason: str,
        *,
        attempts: int = 1,
        known: Sequence[str] = (),
        rejection: APIError | None = None,
    ) -> None:
        self.trade_no = trade_no
        self.reason = reason
        self.attempts = attempts
        self.known = tuple(known)
        self.rejection = rejection  # a refusal that could not be confirmed, if any
        self.maybe_sent = True
        super().__init__(
            f"outcome unknown for trade {trade_no} after {attempts} attempt(s): {reason}"
        )


class OrderExists(VexoraError):
    """The order exists at the gateway (a query found it), but this call did not get the
    answer that carries its result (for a payment link, its cashier URL). Either that
    answer was lost on the way back, or the gateway refused this create because the trade
    number was used already (sent twice, by another process, or by an earlier attempt of
    this call whose answer was lost); ``refused`` tells which.

    ``state`` is what the query returned (a ``PaymentState``, or a ``PayoutState`` for a
    payout); decide from it whether to show the payer another route or to cancel on your
    side. A payout that exists is never sent again.
    """

    def __init__(
        self,
        trade_no: str,
        state: PaymentState | PayoutState,
        *,
        reason: str = "",
        refused: bool = False,
        maybe_ours: bool = True,
    ) -> None:
        self.trade_no = trade_no
        self.state = state
        self.refused = refused
        extra = f" ({reason})" if reason else ""
        if not refused:
            message = (
                f"trade {trade_no} exists at the gateway; the answer carrying its result was"
                f" lost{extra}"
            )
        elif maybe_ours:
            message = (
                f"trade {trade_no} exists at the gateway: the gateway refused this create"
                f"{extra} and a query found the order, created either by an earlier attempt"
                " of this call whose answer was lost or before, under the same trade number"
            )
        else:
            message = (
                f"trade {trade_no} already exists at the gateway: the gateway refused this"
                f" create{extra} and a query found the order, created before this call under"
                " the same trade number"
            )
        super().__init__(message)


def describe(exc: BaseException) -> str:
    """A one-line, data-free description of any exception (for logs and reasons)."""
    if isinstance(exc, VexoraError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
