"""The gateway's signature rule (SPEC §3): sorted ``key=value`` pairs, secret appended, MD5.

Works on the field dict exactly as it is (or was) sent, so requests and callbacks share it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["canonical_string", "masked_canonical_string", "sign", "verify", "wire_text"]

SIGN_FIELD = "sign"


def wire_text(value: object) -> str:
    """The text a JSON value is signed as: its form on the wire, unquoted."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        # Decimal keeps the digits it was parsed from ("10000.50" stays "10000.50").
        return format(value, "f")
    if isinstance(value, float):
        # Only reachable for callbacks parsed without Decimal: repr is the shortest round-trip.
        return repr(value)
    # Nested objects do not occur on this gateway; sign their plain text form.
    return str(value)


def canonical_string(fields: Mapping[str, object]) -> str:
    """``k1=v1k2=v2...`` over every field but ``sign``, empty and null values dropped."""
    parts: list[str] = []
    for key in sorted(fields):
        value = fields[key]
        if type(value) is not str:  # most values are text already: no conversion call
            if value is None:
                continue
            value = wire_text(value)
        if value and key != SIGN_FIELD:
            parts.append(f"{key}={value}")
    return "".join(parts)


def sign(fields: Mapping[str, object], secret: str) -> str:
    """The lowercase hex MD5 of the canonical string followed by the secret."""
    payload = canonical_string(fields) + secret
    return hashlib.md5(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify(fields: Mapping[str, object], secret: str) -> bool:
    """True when ``fields["sign"]`` is the signature of the other fields (constant time).

    The comparison is exact: the gateway sends lowercase hex, so an upper-cased copy is a
    different (and rejected) value.
    """
    given = fields.get(SIGN_FIELD)
    if not isinstance(given, str) or not given:
        return False
    expected = sign(fields, secret)
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))


def masked_canonical_string(fields: Mapping[str, object]) -> str:
    """The canonical string with ``<secret>`` where the secret goes, for debugging output."""
    return canonical_string(fields) + "<secret>"
