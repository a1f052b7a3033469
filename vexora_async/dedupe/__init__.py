"""Stores that remember which payment notifications were processed (SPEC §7: they repeat).

A store hands out *claims* on a notification key. The caller that gets ``CLAIMED`` runs the
callback, then calls ``complete`` (success: later deliveries get ``DONE``) or ``release``
(failure: the next delivery claims it again). While a claim is live, other deliveries get
``BUSY``, so two copies arriving at once never both run the callback. Claims expire after a
lease, so a claim held by a process that crashed cannot block the notification forever.

This gives "at most one run at a time, and no run after a success". It cannot give "exactly
once" across a crash between the callback's own commit and ``complete``: make the callback's
effect idempotent too (for example, a unique constraint on the trade number).

Stores: ``MemoryNotificationStore`` (one process), ``SQLiteNotificationStore`` (the processes
of one machine), ``RedisNotificationStore`` and ``PostgresNotificationStore`` (replicas on
many machines; extras ``redis`` and ``postgres``, imported only when such a store is made).
"""

from __future__ import annotations

from ._base import DEFAULT_LEASE, Claim, ClaimState, NotificationStore
from ._memory import MemoryNotificationStore
from ._postgres import PostgresNotificationStore
from ._redis import RedisNotificationStore
from ._sqlite import SQLiteNotificationStore

__all__ = [
    "DEFAULT_LEASE",
    "Claim",
    "ClaimState",
    "MemoryNotificationStore",
    "NotificationStore",
    "PostgresNotificationStore",
    "RedisNotificationStore",
    "SQLiteNotificationStore",
]
