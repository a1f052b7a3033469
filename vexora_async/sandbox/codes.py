"""The codes and texts the sandbox answers with, and the error its Python API raises.

The real gateway publishes only ``0000``, ``5000`` and (implicitly) ``8000`` (SPEC §2, §8).
The other request-level codes are the sandbox's own choice, picked so that a client which
follows SPEC §2 (anything but ``0000``/``5000`` means "rejected") reads them correctly.
Every code and message below is a field of ``SandboxCodes``, so a test can make the sandbox
answer like a gateway that words things differently (``Sandbox(codes=SandboxCodes(...))``):

======  =====================  ======================================================
code    ``SandboxCodes`` name  meaning
======  =====================  ======================================================
0000    ``accepted``           accepted (checkout stored, query found)
1000    ``invalid_parameter``  bad JSON, a missing or mistyped ``timestamp``/``amount``,
                               or a broken profile rule (``msg`` names the fields and
                               rules, never values)
1001    ``sign_error``         sign missing or wrong (for this merchant's secret)
1002    ``unknown_merchant``   no or unknown ``merchantNo`` header, or the merchant's
                               profile does not serve this path
1015    ``throttled``          "request too frequent": sent only by the ``throttle-code``
                               fault (before processing: a checkout is not stored)
5000    ``system_error``       system exception (only sent by the ``code-5000-after-store``
                               fault, or when a custom profile's check crashes)
7777    ``unknown``            a code no document explains: sent only by the
                               ``unknown-code-after-store`` fault (checkout: stored)
8000    ``duplicate``          a duplicate ``tradeNo`` on checkout (the order exists)
8000    ``not_found``          an unknown ``tradeNo`` on query (SPEC §2: "not known")
======  =====================  ======================================================

``sign_error`` and ``unknown_merchant`` always differ from each other and from ``not_found``:
a wrong secret must never read as "no such order".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..codes import ACCEPTED, SYSTEM_ERROR  # the SDK's, one home for the documented codes
from ..errors import VexoraError

__all__ = [
    "ACCEPTED",
    "DUPLICATE",
    "INVALID_PARAMETER",
    "NOT_FOUND",
    "SIGN_ERROR",
    "STATUS_FAILED",
    "STATUS_MESSAGES",
    "STATUS_PAID",
    "STATUS_PARTIAL",
    "STATUS_PROCESSING",
    "SYSTEM_ERROR",
    "THROTTLED",
    "UNKNOWN",
    "UNKNOWN_MERCHANT",
    "SandboxCodes",
    "SandboxError",
    "changed_codes",
]

INVALID_PARAMETER = "1000"
SIGN_ERROR = "1001"
UNKNOWN_MERCHANT = "1002"
THROTTLED = "1015"
UNKNOWN = "7777"
DUPLICATE = "8000"
NOT_FOUND = "8000"  # SPEC §2: on a query, 8000 is "not known", not a failure of the order

# Transaction statuses (``data.status`` and the notification's ``status``).
STATUS_PAID = "0000"
STATUS_PARTIAL = "0001"
STATUS_PROCESSING = "0015"
STATUS_FAILED = "00029"

STATUS_MESSAGES = {
    STATUS_PAID: "Success",
    STATUS_PARTIAL: "Partially paid",
    STATUS_PROCESSING: "Processing",
    STATUS_FAILED: "Failed",
}


def _code(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value or not value.isascii() or not value.isprintable():
        raise ValueError(f"{attribute.name} must be a non-empty printable ASCII string")


def _msg(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.isprintable():
        raise ValueError(f"{attribute.name} must be printable text")


@attrs.frozen
class SandboxCodes:
    """The envelope ``code`` and ``msg`` of every answer the sandbox can give but success.

    >>> Sandbox(TEST_MERCHANTS, codes=SandboxCodes(duplicate_code="9101",
    ...                                             duplicate_msg="order no repeat"))
    """

    accepted_code: str = attrs.field(default=ACCEPTED, validator=_code)
    accepted_msg: str = attrs.field(default="success", validator=_msg)
    invalid_parameter_code: str = attrs.field(default=INVALID_PARAMETER, validator=_code)
    sign_error_code: str = attrs.field(default=SIGN_ERROR, validator=_code)
    sign_error_msg: str = attrs.field(default="sign error", validator=_msg)
    unknown_merchant_code: str = attrs.field(default=UNKNOWN_MERCHANT, validator=_code)
    unknown_merchant_msg: str = attrs.field(default="unknown merchant", validator=_msg)
    throttled_code: str = attrs.field(default=THROTTLED, validator=_code)
    throttled_msg: str = attrs.field(default="request too frequent", validator=_msg)
    system_error_code: str = attrs.field(default=SYSTEM_ERROR, validator=_code)
    system_error_msg: str = attrs.field(default="system exception", validator=_msg)
    unknown_code: str = attrs.field(default=UNKNOWN, validator=_code)
    unknown_msg: str = attrs.field(default="unexpected error", validator=_msg)
    duplicate_code: str = attrs.field(default=DUPLICATE, validator=_code)
    duplicate_msg: str = attrs.field(
        default="duplicate tradeNo: the order already exists", validator=_msg
    )
    not_found_code: str = attrs.field(default=NOT_FOUND, validator=_code)
    not_found_msg: str = attrs.field(default="order not found", validator=_msg)

    def __attrs_post_init__(self) -> None:
        # A wrong secret must never read as "accepted" or "no such order".
        auth = {self.sign_error_code, self.unknown_merchant_code}
        if len(auth) != 2 or auth & {self.accepted_code, self.not_found_code}:
            raise ValueError(
                "sign_error_code and unknown_merchant_code must differ from each other, "
                "from accepted_code and from not_found_code"
            )
        others = (
            self.invalid_parameter_code, self.throttled_code, self.system_error_code,
            self.unknown_code, self.duplicate_code, self.not_found_code,
        )
        if self.accepted_code in others:
            raise ValueError("accepted_code must differ from every other code")


def changed_codes(codes: SandboxCodes, changes: Mapping[str, Any]) -> SandboxCodes:
    """``codes`` with ``changes`` (by ``SandboxCodes`` field name); ``ValueError`` naming
    an unknown name and listing the valid ones (the CLI's ``--code``, the control API)."""
    names = [field.name for field in attrs.fields(SandboxCodes)]
    unknown = sorted(str(name) for name in changes if name not in names)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise ValueError(f"unknown name(s) {shown}; the names are: {', '.join(names)}")
    return attrs.evolve(codes, **changes)


class SandboxError(VexoraError):
    """A sandbox API call that cannot be done: unknown order, bad payment amount, ..."""
