"""Reading the gateway's answers: bytes to ``Envelope``, envelope to a result or a typed error."""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any
from urllib.parse import urlsplit

from .call import Envelope
from .codes import GatewayCodes
from .errors import (
    APIError,
    AuthenticationError,
    HTTPStatusError,
    MalformedResponse,
    OrderNotFound,
    ResponseError,
    UnexpectedRedirect,
)
from .responses import ResponseInfo
from .transports.base import HttpResponse
from .wire import loads

__all__ = [
    "GATEWAY_TEXT_MAX",
    "clean_gateway_text",
    "decode_envelope",
    "parse_retry_after",
    "refusal",
]

GATEWAY_TEXT_MAX = 200
# Statuses that are never the gateway's answer, envelope or not (see decode_envelope).
_UNANSWERED = frozenset({408, 429})
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]|[\u2028\u2029\u202a-\u202e]")


def clean_gateway_text(text: object) -> str:
    """The gateway's ``msg`` made safe to print and store: control and formatting characters
    become spaces and it is cut at ``GATEWAY_TEXT_MAX`` characters. The SDK's promise of no
    payer data in files must not depend on what a gateway chooses to echo."""
    if not isinstance(text, str):
        return ""
    if len(text) <= GATEWAY_TEXT_MAX and text.isprintable():
        return text
    cleaned = _UNPRINTABLE.sub(" ", text[: GATEWAY_TEXT_MAX + 1])
    return cleaned if len(cleaned) <= GATEWAY_TEXT_MAX else cleaned[: GATEWAY_TEXT_MAX - 1] + "…"


def decode_envelope(response: HttpResponse) -> Envelope:
    """Parse a response body into an ``Envelope``.

    A 3xx is an ``UnexpectedRedirect`` (never followed); a 5xx, 408 or 429 an
    ``HTTPStatusError`` even with an envelope (a proxy may answer so after the gateway acted,
    so it proves nothing); another non-2xx status without a readable envelope an
    ``HTTPStatusError``; a 2xx body that is not an envelope a ``MalformedResponse``. No
    error quotes the body.
    """
    status, headers, raw_body = response
    if status < 300 or (400 <= status < 500 and status not in _UNANSWERED):
        try:
            body = loads(raw_body) if raw_body else None
        except (ValueError, TypeError, RecursionError):  # (absurd nesting: not an envelope)
            body = None
        if type(body) is dict:
            # The usual answer: text ``code`` and ``msg``, short and printable, so cleaning
            # changes neither. Anything else takes the general path below.
            code = body.get("code")
            msg = body.get("msg")
            if (
                type(code) is str
                and type(msg) is str
                and len(code) <= GATEWAY_TEXT_MAX
                and len(msg) <= GATEWAY_TEXT_MAX
                and code.isprintable()
                and msg.isprintable()
            ):
                return Envelope(code, msg, body.get("data"), status, headers, body)
        return _decoded(response, body)
    if status >= 400:
        # Whatever its body says, a 5xx, 408 or 429 is no verdict: a proxy may answer it
        # after the gateway acted, so it is "maybe sent", never the gateway's refusal.
        raise _with_response(
            HTTPStatusError(status, retry_after=parse_retry_after(headers.get("retry-after"))),
            response,
        )
    location = headers.get("location")
    raise _with_response(UnexpectedRedirect(status, location_host=_host_of(location)), response)


def _decoded(response: HttpResponse, body: Any) -> Envelope:
    """The general case of ``decode_envelope`` for a status that is not 3xx: ``body`` is the
    decoded JSON (``None`` when it was not JSON)."""
    status = response.status
    if type(body) is not dict or "code" not in body:
        if not 200 <= status < 300:
            raise _with_response(
                HTTPStatusError(
                    status, retry_after=parse_retry_after(response.headers.get("retry-after"))
                ),
                response,
            )
        what = "not JSON" if body is None else "not a gateway envelope"
        raise _with_response(MalformedResponse(f"response body is {what}", status=status), response)
    code = body["code"]
    if type(code) is not str:  # the usual case is text: one check, then the exact rules
        if isinstance(code, bool) or not isinstance(code, str | int):
            raise MalformedResponse("envelope 'code' is not a code", status=status)
        code = str(code)
    return Envelope(
        clean_gateway_text(code),
        clean_gateway_text(body.get("msg")),
        body.get("data"),
        status,
        response.headers,
        body,
    )


def _with_response(error: ResponseError, response: HttpResponse) -> ResponseError:
    # Status and (redacted) headers for debugging; the body is not an envelope: not kept.
    error.response = ResponseInfo(response.status, response.headers)
    return error


def _host_of(location: str | None) -> str | None:
    if not location:
        return None
    try:
        return urlsplit(location).hostname
    except ValueError:
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())


def refusal(
    envelope: Envelope, codes: GatewayCodes, trade_no: str | None, shown: Envelope | None = None
) -> APIError:
    """The typed error for a non-success answer: ``AuthenticationError`` for the profile's
    authentication codes, ``OrderNotFound`` for its not-found codes, else ``APIError``.
    Told by ``envelope``'s code as answered; worded by ``shown`` (its echoes masked)."""
    code = envelope.code
    words = envelope if shown is None else shown
    if code in codes.authentication:
        return AuthenticationError(words.code, words.msg, trade_no=trade_no)
    if code in codes.not_found:
        return OrderNotFound(words.code, words.msg, trade_no=trade_no)
    return APIError(words.code, words.msg, trade_no=trade_no)
