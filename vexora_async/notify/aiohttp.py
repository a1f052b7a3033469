"""``process_notification`` as an ``aiohttp.web`` handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from aiohttp import web

from ..dedupe import MemoryNotificationStore, NotificationStore
from .kinds import NotificationKind, notification_kind
from .model import Notification
from .process import ExpectedAmount, OwnsTrade, _process
from .verify import check_secret

__all__ = ["notification_handler"]

N = TypeVar("N", bound=Notification)


def notification_handler(
    secret: str,
    on_payment: Callable[[N], Awaitable[object]],
    *,
    store: NotificationStore | None = None,
    expected_amount: ExpectedAmount | None = None,
    kind: NotificationKind[N] | str = "payment",
    extra_keys: Collection[str] = (),
    owns_trade: OwnsTrade | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An ``aiohttp.web`` handler for your ``notifyUrl``: ``app.router.add_post(path, h)``.

    Answers exactly as ``process_notification`` decides (``200 OK`` only once ``on_payment``
    succeeded or had succeeded before). ``store`` defaults to a new
    ``MemoryNotificationStore`` for this handler; pass an ``SQLiteNotificationStore`` (or your
    own) so that deduplication survives restarts and is shared by worker processes.
    ``kind``, ``extra_keys`` and ``owns_trade`` as for ``process_notification``; serve each
    kind on its own path (``kind="payment"`` here, a payout endpoint with its own kind).
    Settings are checked here, once: a bad one raises ``ConfigurationError`` at start-up.
    A body over the application's ``client_max_size`` (1 MiB by default; a genuine
    notification is under 1 KiB) is answered ``413`` by aiohttp before anything runs.
    """
    check_secret(secret)
    chosen = notification_kind(kind)
    keys = chosen.allowed_keys(extra_keys)
    shared: NotificationStore = store if store is not None else MemoryNotificationStore()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        result = await _process(
            body, secret, on_payment, shared, expected_amount, chosen, keys, owns_trade
        )
        return web.Response(status=result.http_status, text=result.body)

    return handle
