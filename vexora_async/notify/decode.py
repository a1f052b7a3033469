"""A notification body as the gateway signed it and as values (via ``wire.signed_object``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import MalformedNotification
from ..wire import signed_object

__all__ = ["Body", "read_body"]

Body = bytes | str | Mapping[str, Any]
"""The raw request body (best), or a mapping a framework already decoded."""


def read_body(body: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields as signed (top-level numbers as their text) and as native values."""
    if isinstance(body, Mapping):
        # Already decoded by a framework: numbers are whatever it made of them.
        fields = dict(body)
        return fields, fields
    try:
        return signed_object(body)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, not an object, too deep
        pass
    # Raised outside the handler: the caught error (a JSONDecodeError keeps the whole body in
    # ``.doc``) must not stay reachable as this one's ``__context__``.
    raise MalformedNotification("notification body is not a JSON object (or nests too deeply)")
