"""What travels through the middleware chain: an ``ApiCall`` down, an ``Envelope`` back up.

Both are plain slotted classes: one of each is made per attempt, so they cost as little as a
tuple. Treat an ``ApiCall`` as immutable: a middleware that changes something passes on
``call.replace(...)`` (or ``with_request``), so every attempt of a retried call starts from
the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["ApiCall", "Envelope"]

NO_HEADERS: Mapping[str, str] = MappingProxyType({})
NO_BODY: Mapping[str, Any] = MappingProxyType({})


class ApiCall:
    """One gateway call as it goes down the chain.

    - ``operation``: ``"checkout"``, ``"query"``, ...; ``path``: the endpoint path.
    - ``fields``: the wire fields (signing adds ``timestamp`` and ``sign`` to a copy).
    - ``trade_no``: the order the call is about (``""`` when none, e.g. a balance).
    - ``timeout``: seconds for this attempt (set by the retry link);
      ``deadline``: the call's end on the retry link's clock (``None``: unbounded).
    - ``attempt``: 1 for the first try; ``retry``: a ``RetryPolicy`` overriding the client's.
    """

    __slots__ = (
        "attempt",
        "deadline",
        "fields",
        "headers",
        "operation",
        "path",
        "retry",
        "timeout",
        "trade_no",
    )

    def __init__(
        self,
        operation: str,
        path: str,
        fields: Mapping[str, Any],
        trade_no: str,
        timeout: float | None = None,
        headers: Mapping[str, str] = NO_HEADERS,
        attempt: int = 1,
        retry: Any = None,
        deadline: float | None = None,
    ) -> None:
        self.operation = operation
        self.path = path
        self.fields = fields
        self.trade_no = trade_no
        self.timeout = timeout
        self.headers = headers
        self.attempt = attempt
        self.retry = retry
        self.deadline = deadline

    def for_attempt(self, attempt: int, timeout: float | None) -> ApiCall:
        """This call as attempt number ``attempt``, with that attempt's timeout."""
        return ApiCall(
            self.operation, self.path, self.fields, self.trade_no, timeout, self.headers,
            attempt, self.retry, self.deadline,
        )  # fmt: skip

    def with_request(self, fields: Mapping[str, Any], headers: Mapping[str, str]) -> ApiCall:
        """This call with other wire fields and headers (what signing sends on)."""
        return ApiCall(
            self.operation, self.path, fields, self.trade_no, self.timeout, headers,
            self.attempt, self.retry, self.deadline,
        )  # fmt: skip

    def replace(self, **changes: Any) -> ApiCall:
        """A copy with some attributes changed: ``call.replace(headers={...})``."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return ApiCall(**values)

    def __repr__(self) -> str:  # no fields: they hold payer data
        return (
            f"ApiCall(operation={self.operation!r}, path={self.path!r}, "
            f"trade_no={self.trade_no!r}, attempt={self.attempt})"
        )


class Envelope:
    """The gateway's answer: ``code`` says whether the *request* worked (SPEC §2).

    ``msg`` is the gateway's text, cleaned of control characters and capped in length.
    ``attempts`` and ``maybe_sent`` are set by the retry link: how many attempts the call
    took, and whether an earlier one may have reached the gateway without a readable answer
    (then a refusal may mean "you already created it").
    """

    __slots__ = ("attempts", "code", "data", "headers", "http_status", "maybe_sent", "msg", "raw")

    def __init__(
        self,
        code: str,
        msg: str,
        data: Any,
        http_status: int = 200,
        headers: Mapping[str, str] = NO_HEADERS,
        raw: Mapping[str, Any] = NO_BODY,
    ) -> None:
        self.code = code
        self.msg = msg
        self.data = data
        self.http_status = http_status
        self.headers = headers
        self.raw = raw
        self.attempts = 1
        self.maybe_sent = False

    def __repr__(self) -> str:  # no data: it may hold payer fields
        return f"Envelope(code={self.code!r}, msg={self.msg!r}, http_status={self.http_status})"
