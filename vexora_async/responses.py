"""What a person debugging or logging may see of an HTTP answer: status, headers, and the
gateway's envelope with payer data left out.

``ResponseInfo`` is attached to errors (``error.response``) and ``RawResponse`` is what
``client.with_raw_response`` returns for a successful call. Both redact by allowlist: of the
envelope only its own keys and the few keys of ``data`` known to carry no personal data, of
the headers only the values of those known to be harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from .call import ApiCall, Envelope
    from .errors import VexoraError

__all__ = ["SAFE_DATA_KEYS", "RawResponse", "ResponseInfo", "annotate", "redact_headers"]

T = TypeVar("T")

# Keys of the envelope's ``data`` that identify the order or its state, never the payer.
SAFE_DATA_KEYS = frozenset(
    {
        "tradeNo",
        "platFormTradeNo",
        "platformTradeNo",
        "status",
        "orderStatus",
        "amount",
        "orderAmount",
        "payAmount",
        "channelCode",
        "wayCode",
        "successTime",
        "code",
        "msg",
        "message",
        "desc",
    }
)
# Headers whose values are shown: the HTTP machinery and request ids, nothing a gateway or a
# proxy fills from the request. Every other header's value is "***" (its name stays): an
# allowlist, because a blocklist misses the header that echoes the request back.
_SHOWN_HEADERS = frozenset(
    {
        "age",
        "cache-control",
        "cf-ray",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "date",
        "etag",
        "expires",
        "keep-alive",
        "last-modified",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "request-id",
        "retry-after",
        "server",
        "traceparent",
        "transfer-encoding",
        "vary",
        "via",
        "x-amz-cf-id",
        "x-amzn-requestid",
        "x-correlation-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-request-id",
        "x-trace-id",
    }
)
# The envelope's own top-level keys, shown; any other key's value is "***".
_SHOWN_TOP = frozenset(
    {"code", "msg", "message", "success", "timestamp", "sign", "traceId", "requestId"}
)
_SCALARS = (str, int, float, bool, type(None))


def redact_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """Response headers with lower-cased names; only the values of headers known to be
    harmless (``_SHOWN_HEADERS``) are kept, every other one is "***"."""
    return MappingProxyType(
        {
            name.lower(): str(value) if name.lower() in _SHOWN_HEADERS else "***"
            for name, value in headers.items()
        }
    )


def _scalar(value: object) -> object:
    from .envelope import clean_gateway_text  # envelope imports errors, which names us

    if isinstance(value, str):
        return clean_gateway_text(value)
    if isinstance(value, _SCALARS):
        return value
    return f"<{type(value).__name__}>"  # nested values are not shown: they may hold data


def redact_body(body: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The envelope without payer data: its own top-level keys (``code``, ``msg``, ...; any
    other key's value is "***") and, of ``data``, only ``SAFE_DATA_KEYS``."""
    if body is None:
        return None
    view: dict[str, Any] = {}
    for key, value in body.items():
        if key == "data":
            if isinstance(value, Mapping):
                view["data"] = {
                    k: _scalar(v) for k, v in value.items() if k in SAFE_DATA_KEYS
                }
            else:
                view["data"] = _scalar(value)
        else:
            view[str(key)] = _scalar(value) if key in _SHOWN_TOP else "***"
    return MappingProxyType(view)


@attrs.frozen(slots=True)
class ResponseInfo:
    """A redacted view of one HTTP answer: ``status``, ``headers`` (credentials masked) and
    ``body``, the gateway envelope without payer data (``None`` when it was not one)."""

    status: int
    headers: Mapping[str, str] = attrs.field(
        factory=dict, converter=redact_headers, repr=lambda m: repr(dict(m))
    )
    body: Mapping[str, Any] | None = attrs.field(
        default=None, converter=redact_body, repr=lambda m: repr(None if m is None else dict(m))
    )

    @classmethod
    def of(cls, envelope: Envelope) -> ResponseInfo:
        return cls(envelope.http_status, envelope.headers, envelope.raw or None)


@attrs.frozen(slots=True)
class RawResponse(Generic[T]):
    """A successful call's HTTP answer, for logging: ``status``, ``headers`` (credentials
    masked), the gateway's ``code`` and ``msg``, where it went (``operation``, ``path``),
    what the retry link saw (``attempts``, ``maybe_sent``), and ``parse()`` for the result.
    """

    operation: str
    path: str
    status: int
    headers: Mapping[str, str] = attrs.field(converter=redact_headers, repr=lambda m: repr(dict(m)))
    code: str
    msg: str
    attempts: int
    maybe_sent: bool
    _parsed: T = attrs.field(repr=False, alias="parsed")

    def parse(self) -> T:
        """The result the plain method returns (``PaymentLink``, ``PaymentState``, ...)."""
        return self._parsed

    @classmethod
    def of(cls, call: ApiCall, envelope: Envelope, parsed: T) -> RawResponse[T]:
        from .echoes import Echoes  # (echoes reads envelopes, whose module names us)

        shown = Echoes(call.fields).envelope(envelope)  # for logging: no echo of the request
        return cls(
            operation=call.operation,
            path=call.path,
            status=shown.http_status,
            headers=shown.headers,
            code=shown.code,
            msg=shown.msg,
            attempts=envelope.attempts,
            maybe_sent=envelope.maybe_sent,
            parsed=parsed,
        )


def annotate(
    error: VexoraError,
    operation: str,
    path: str,
    answer: Envelope | VexoraError | None = None,
) -> VexoraError:
    """Stamp where ``error`` happened and the last answer it is about (an envelope, or an
    error that carried one), so every error says operation, path, status, code and msg."""
    error.operation = operation
    error.path = path
    if answer is None or answer is error:
        return error
    if isinstance(answer, BaseException):
        error.status = answer.status
        error.response = answer.response
        if error.code is None:
            error.code, error.msg = answer.code, answer.msg
        return error
    error.status = answer.http_status
    error.response = ResponseInfo.of(answer)
    if error.code is None:
        error.code, error.msg = answer.code, answer.msg
    return error
