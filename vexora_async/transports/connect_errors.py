"""``ConnectError`` messages that say what could not be reached and why.

``could not connect to HOST:PORT: REASON``: the host and port only (never the URL's path,
query or userinfo: a base URL may carry a token there), and the operating system's reason
in words (``connection refused``, ``timed out``, a name that does not resolve, a TLS
handshake refused), never a traceback or Python internals.
"""

from __future__ import annotations

import errno as _errno
import os
import socket
import ssl

from ..errors import ConnectError
from ..hosts import url_host

__all__ = ["connect_error", "connect_reason"]

_MAX_REASON = 200


def connect_error(host: str | None, port: int | None, reason: str | BaseException) -> ConnectError:
    """``ConnectError("could not connect to HOST:PORT: REASON")``."""
    where = "the gateway" if not host else url_host(host, port) if port else host
    why = reason if isinstance(reason, str) else connect_reason(reason)
    return ConnectError(f"could not connect to {where}: {why}")


def connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in words, from the OS (or TLS) error that ended it."""
    if isinstance(exc, ssl.SSLError):  # (set by the ssl module; absent on a hand-made one)
        reason = getattr(exc, "reason", None) or type(exc).__name__
        if isinstance(exc, ssl.SSLCertVerificationError):
            why = getattr(exc, "verify_message", None) or reason
            return f"TLS certificate not accepted ({why})"
        return f"TLS handshake failed ({reason})"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host ({exc.strerror or 'no address'})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in _errno.errorcode:
        return _first_lower(os.strerror(code))
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return _first_lower(text[:_MAX_REASON])


def _first_lower(text: str) -> str:
    # "Connection refused" reads as part of the sentence: "...: connection refused".
    return text[:1].lower() + text[1:] if text[:2].isalpha() and not text[:2].isupper() else text
