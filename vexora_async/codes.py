"""The gateway's request-level codes (SPEC §2), in one place.

Only ``0000`` and ``5000`` are documented for certain; ``8000`` is "order error" (a
rejected create, an unknown ``tradeNo`` on a query). The codes for a bad sign or an unknown
merchant are not documented at all: the defaults below are the sandbox's, and a profile can
declare its gateway's own (``RegionProfile(codes=GatewayCodes(...))``).
"""

from __future__ import annotations

import attrs

__all__ = ["ACCEPTED", "DEFAULT_CODES", "SYSTEM_ERROR", "GatewayCodes"]

ACCEPTED = "0000"
SYSTEM_ERROR = "5000"


def _codes(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(str(code) for code in value)  # type: ignore[attr-defined]


@attrs.frozen
class GatewayCodes:
    """How to read a non-success ``code``.

    - ``system_error``: the gateway failed internally; whatever was asked may have happened.
    - ``not_found``: a query's "no such order" (the only answer that counts as absent).
    - ``authentication``: the gateway could not authenticate the request (bad sign, unknown
      merchant): a configuration problem, raised as ``AuthenticationError``.

    Any other code on a create is a refusal, believed only once a query confirms the order
    is absent; on a query it is an ``APIError`` that proves nothing about the order.
    """

    accepted: str = ACCEPTED
    system_error: frozenset[str] = attrs.field(default=frozenset({SYSTEM_ERROR}), converter=_codes)
    not_found: frozenset[str] = attrs.field(default=frozenset({"8000"}), converter=_codes)
    authentication: frozenset[str] = attrs.field(
        default=frozenset({"1001", "1002"}), converter=_codes
    )


DEFAULT_CODES = GatewayCodes()
