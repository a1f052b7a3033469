"""Running a coroutine on uvloop when it is installed (the ``uvloop`` extra), else on asyncio.

uvloop's event loop costs less CPU per request than asyncio's (see the README's Benchmarks).
``VEXORA_NO_UVLOOP=1`` turns it off without a code change, e.g. to rule it out of a bug.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._install_hint import install_hint
from .errors import ConfigurationError

__all__ = ["DISABLE_ENV", "loop_factory", "run", "uvloop_wanted"]

T = TypeVar("T")

DISABLE_ENV = "VEXORA_NO_UVLOOP"
_OFF_VALUES = frozenset({"", "0", "false", "no", "off"})


def uvloop_wanted(use_uvloop: bool | None = None) -> bool:
    """Whether to ask for uvloop: ``use_uvloop`` when given, else unless the switch is set."""
    if use_uvloop is not None:
        return use_uvloop
    return os.environ.get(DISABLE_ENV, "").strip().lower() in _OFF_VALUES


def loop_factory(
    use_uvloop: bool | None = None,
) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop``, or None for asyncio's default loop.

    ``use_uvloop=None``: uvloop when installed and not turned off by ``VEXORA_NO_UVLOOP``.
    ``True``: uvloop or a ``ConfigurationError`` saying how to install it. ``False``: asyncio.
    """
    if not uvloop_wanted(use_uvloop):
        return None
    try:
        import uvloop
    except ImportError:
        if use_uvloop:
            raise ConfigurationError(
                f"uvloop is not installed ({install_hint('uvloop', 'uvloop')})"
            ) from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool | None = None) -> T:
    """``asyncio.run(main)``, on uvloop when :func:`loop_factory` picks it."""
    try:
        factory = loop_factory(use_uvloop)
    except ConfigurationError:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    if factory is None:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
