"""How to install an optional dependency, in error messages.

The SDK is installed from a clone, not from the package index: a hint must never name
``vexora_async[extra]``, which pip would look up on the index (where someone else could
publish that name). It names the extra, for a clone, and the bare dependency.
"""

from __future__ import annotations

__all__ = ["install_hint"]


def install_hint(package: str, extra: str) -> str:
    """``the 'redis' extra: pip install '.[redis]' from a clone, or pip install redis``."""
    return f"the {extra!r} extra: pip install '.[{extra}]' from a clone, or pip install {package}"
