"""Attempt deadlines for many concurrent requests, on one timer per second of due time.

A timer per request is dear in asyncio: ``call_at`` and ``cancel`` are a dozen Python calls,
and aiohttp's own ``total`` timeout adds its timer context to every read (about 38k CPU
instructions per request together, a quarter of what the SDK itself spends). Here an
attempt due in the same whole second as others joins their timer: for timeouts of
``SHARED_FROM`` (10 s) or more the due time is rounded down to the second, so an attempt
ends at most a second (a tenth of its time) early and never late: the retry link gives the
last attempt exactly the call's time left, and rounding up would overrun the call's
deadline. Shorter timeouts keep an exact timer of their own.

Expiry cancels the attempt's task, and the transport turns that cancellation into a
``RequestTimeout``, the way ``asyncio.timeout`` does: a cancellation the caller asked for
(counted by ``Task.cancelling()``) stays a cancellation.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

__all__ = ["SHARED_FROM", "AttemptDeadlines", "Due", "finish", "timed_out"]

SHARED_FROM = 10.0  # seconds: attempts with at least this timeout share a timer per second

# The attempts due at one time: each running task -> its caller's own cancellations when
# it started (``Task.cancelling()``). The key ``None`` is put in once they have expired.
# (A dict, not an object per attempt: an attempt costs two dict operations.)
Due = dict["asyncio.Task[Any] | None", int]


class AttemptDeadlines:
    """The deadlines of the attempts running on one event loop."""

    __slots__ = ("_due", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[float, Due] = {}  # due time -> the attempts due then

    def start(self, task: asyncio.Task[Any], seconds: float) -> Due:
        """Start ``task``'s attempt, due ``seconds`` from now; end it with ``finish``."""
        when = self._loop.time() + seconds
        if seconds >= SHARED_FROM:
            when = math.floor(when)
        due = self._due.get(when)
        if due is None:
            due = self._due[when] = {}
            self._loop.call_at(when, self._expire, when)
        due[task] = task.cancelling()
        return due

    def _expire(self, when: float) -> None:
        due = self._due.pop(when)
        for task in due:
            task.cancel()  # type: ignore[union-attr]  # (None is never in it before this)
        due[None] = 0

    def __len__(self) -> int:
        """Attempts running under a deadline not yet expired (for leak checks)."""
        return sum(len(due) for due in self._due.values())


def timed_out(due: Due, task: asyncio.Task[Any]) -> bool:
    """Whether the ``CancelledError`` that ended ``task``'s attempt was its deadline's doing
    and not also its caller's (then it is a timeout). Ends the attempt."""
    cancelling = due.pop(task, None)
    return cancelling is not None and None in due and task.uncancel() <= cancelling


def finish(due: Due, task: asyncio.Task[Any]) -> None:
    """End ``task``'s attempt, however it ended (taking back an expiry's cancellation)."""
    if due.pop(task, None) is not None and None in due:
        task.uncancel()
