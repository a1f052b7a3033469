"""The claim contract every notification store implements, and what the stores share."""

from __future__ import annotations

import enum
import math
import uuid
from typing import Protocol, runtime_checkable

import attrs

DEFAULT_LEASE = 300.0
"""Seconds a claim stays live: longer than any sane callback, short enough to recover."""


class ClaimState(enum.Enum):
    """What ``NotificationStore.claim`` found."""

    CLAIMED = "claimed"  # yours: run the callback, then complete() or release()
    DONE = "done"  # processed before: acknowledge, do nothing
    BUSY = "busy"  # another delivery holds a live claim: have the gateway retry later


@attrs.frozen(slots=True)
class Claim:
    """The answer to a claim. ``token`` names the holder (only set when ``CLAIMED``), so a
    holder whose lease ran out cannot release the claim of whoever took it over."""

    state: ClaimState
    token: str = ""


DONE = Claim(ClaimState.DONE)
BUSY = Claim(ClaimState.BUSY)


@runtime_checkable
class NotificationStore(Protocol):
    """Where processed notifications are remembered. Keys are opaque strings.

    - ``claim(key)``: ``DONE`` if completed before, ``BUSY`` if another live claim holds it,
      otherwise a new ``CLAIMED`` claim with a fresh token (taking over an expired one).
      Must be atomic: of two concurrent claims on a free key exactly one gets ``CLAIMED``.
    - ``complete(key, token)``: remember the key as processed, for good.
    - ``release(key, token)``: drop the claim if ``token`` still holds it; nothing otherwise.
    """

    async def claim(self, key: str) -> Claim: ...

    async def complete(self, key: str, token: str) -> None: ...

    async def release(self, key: str, token: str) -> None: ...


def new_token() -> str:
    return uuid.uuid4().hex


def check_lease(lease: float) -> float:
    if not (isinstance(lease, int | float) and math.isfinite(lease) and lease > 0):
        raise ValueError("lease must be a positive, finite number of seconds")
    return float(lease)

