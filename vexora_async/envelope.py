"""Reading the gateway's answers: bytes to ``Envelope``, envelope to a result or a typed error."""

from __future__ import annotations

import email.utils
import time

from .call import Envelope
from .errors import (
    APIError,
    HTTPStatusError,
    MalformedResponse,
    OrderNotFound,
)
from .models import PaymentState
from .transports.base import HttpResponse
from .wire import loads, structure_response

__all__ = [
    "ACCEPTED",
    "SYSTEM_ERROR",
    "decode_envelope",
    "parse_retry_after",
    "read_query",
]

ACCEPTED = "0000"
SYSTEM_ERROR = "5000"  # the gateway failed internally: the order may or may not exist


def decode_envelope(response: HttpResponse) -> Envelope:
    """Parse a response body into an ``Envelope``.

    A non-2xx status without a readable envelope is an ``HTTPStatusError``; a 2xx body that is
    not an envelope is a ``MalformedResponse``. Neither error quotes the body.
    """
    try:
        body = loads(response.body) if response.body else None
    except (ValueError, TypeError):
        body = None
    if type(body) is not dict or "code" not in body:
        if not 200 <= response.status < 300:
            raise HTTPStatusError(
                response.status, retry_after=parse_retry_after(response.headers.get("retry-after"))
            )
        what = "not JSON" if body is None else "not a gateway envelope"
        raise MalformedResponse(f"response body is {what}", status=response.status)
    code = body["code"]
    if type(code) is not str:  # the usual case is text: one check, then the exact rules
        if isinstance(code, bool) or not isinstance(code, str | int):
            raise MalformedResponse("envelope 'code' is not a code", status=response.status)
        code = str(code)
    msg = body.get("msg")
    return Envelope(
        code,
        msg if isinstance(msg, str) else "",
        body.get("data"),
        response.status,
        response.headers,
        body,
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def read_query(envelope: Envelope, trade_no: str) -> PaymentState:
    """The envelope of a query as a ``PaymentState``; any other code means "not known yet"."""
    if envelope.code == ACCEPTED:
        return structure_response(envelope.data, PaymentState, "query response")
    if envelope.code == SYSTEM_ERROR:
        raise APIError(envelope.code, envelope.msg, trade_no=trade_no)
    raise OrderNotFound(envelope.code, envelope.msg, trade_no=trade_no)
