"""What a merchant's credentials must look like: one home for the checks the client, the
sandbox and the notification side all apply."""

from __future__ import annotations

import re

from .errors import ConfigurationError

__all__ = ["check_merchant_no", "check_secret"]

_MERCHANT_NO = re.compile(r"[0-9]{1,32}")  # ASCII digits only: the gateway's header value


def check_merchant_no(value: object) -> str:
    """``value`` if it is a merchant number (digits), else a ``ConfigurationError``."""
    if not isinstance(value, str) or _MERCHANT_NO.fullmatch(value) is None:
        raise ConfigurationError("merchant_no must be the merchant number's digits")
    return value


def check_secret(value: object) -> str:
    """``value`` if it can be an app secret (non-empty text), else a ``ConfigurationError``
    that never quotes it."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError("secret must be a non-empty string")
    return value
