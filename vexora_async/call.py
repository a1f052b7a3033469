"""What travels through the middleware chain: an ``ApiCall`` down, an ``Envelope`` back up."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["ApiCall", "Envelope"]

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@attrs.frozen(slots=True)
class ApiCall:
    """One logical gateway call. ``fields`` are the wire fields; signing adds ``timestamp``
    and ``sign`` to a copy, so every attempt of a retried call starts from the same fields."""

    operation: str  # "checkout" or "query"
    path: str
    fields: Mapping[str, Any] = attrs.field(repr=False)
    trade_no: str
    timeout: float | None = None
    headers: Mapping[str, str] = _NO_HEADERS
    attempt: int = 1


@attrs.frozen(slots=True)
class Envelope:
    """The gateway's answer: ``code`` says whether the *request* worked (SPEC §2)."""

    code: str
    msg: str
    data: Any = attrs.field(repr=False)
    http_status: int = 200
    headers: Mapping[str, str] = attrs.field(default=_NO_HEADERS, repr=False)
    raw: Mapping[str, Any] = attrs.field(default=MappingProxyType({}), repr=False)

    @property
    def accepted(self) -> bool:
        return self.code == "0000"
