"""The codes and texts the sandbox answers with, and the error its Python API raises.

The real gateway publishes only ``0000``, ``5000`` and (implicitly) ``8000`` (SPEC §2, §8).
The other request-level codes are the sandbox's own choice, picked so that a client which
follows SPEC §2 (anything but ``0000``/``5000`` means "rejected") reads them correctly:

======  ==========================================================================
code    meaning
======  ==========================================================================
0000    accepted
1000    invalid parameter: bad JSON, a missing or mistyped ``timestamp``/``amount``,
        or a broken profile rule (``msg`` names the fields and rules, never values)
1001    sign missing or wrong
1002    unknown merchant (no or unknown ``merchantNo`` header, or the merchant's
        profile does not serve this path)
5000    system exception (only ever sent by the ``code-5000-after-store`` fault)
8000    order error: a duplicate ``tradeNo`` on checkout, an unknown ``tradeNo`` on query
======  ==========================================================================
"""

from __future__ import annotations

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
    "UNKNOWN_MERCHANT",
    "SandboxError",
]

ACCEPTED = "0000"
INVALID_PARAMETER = "1000"
SIGN_ERROR = "1001"
UNKNOWN_MERCHANT = "1002"
SYSTEM_ERROR = "5000"
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


class SandboxError(VexoraError):
    """A sandbox API call that cannot be done: unknown order, bad payment amount, ..."""
