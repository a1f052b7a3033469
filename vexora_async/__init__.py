"""vexora_async: an async-first SDK for the Vexora and Paypro payment gateways.

Pipeline, in the order a request travels: ``models`` -> ``regions`` (validate, render) ->
``client`` -> ``reconcile`` (truthful create) -> ``retry`` (``outcome`` classifies each
attempt) -> ``middleware`` (signing via ``signing``) -> ``transports`` -> ``envelope`` ->
``wire`` (structure).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The public names, listed once: this block is what type checkers read, and at run time the
# table of lazy imports is read from it (so the two can never disagree). Names are imported
# on first use: `import vexora_async` (and the pytest plugin that comes with it) stays cheap,
# and a program only loads the parts it touches.
if TYPE_CHECKING:
    from .batch import (
        BatchOutcome as BatchOutcome,
        BatchResult as BatchResult,
        Created as Created,
        Failed as Failed,
    )
    from .call import (
        ApiCall as ApiCall,
        Envelope as Envelope,
    )
    from .client import (
        VexoraClient as VexoraClient,
    )
    from .codes import (
        GatewayCodes as GatewayCodes,
    )
    from .convert import (
        to_dict as to_dict,
        to_json as to_json,
    )
    from .dedupe import (
        MemoryNotificationStore as MemoryNotificationStore,
        NotificationStore as NotificationStore,
        PostgresNotificationStore as PostgresNotificationStore,
        RedisNotificationStore as RedisNotificationStore,
        SQLiteNotificationStore as SQLiteNotificationStore,
    )
    from .errors import (
        AmbiguousNotification as AmbiguousNotification,
        APIError as APIError,
        AuthenticationError as AuthenticationError,
        ConfigurationError as ConfigurationError,
        ConnectError as ConnectError,
        ConnectionDropped as ConnectionDropped,
        HTTPStatusError as HTTPStatusError,
        MalformedNotification as MalformedNotification,
        MalformedResponse as MalformedResponse,
        OrderExists as OrderExists,
        OrderNotFound as OrderNotFound,
        OrderRejected as OrderRejected,
        OutcomeUnknown as OutcomeUnknown,
        RequestTimeout as RequestTimeout,
        ResponseError as ResponseError,
        SignatureError as SignatureError,
        TransportClosed as TransportClosed,
        TransportError as TransportError,
        UnexpectedRedirect as UnexpectedRedirect,
        UnknownNotificationKey as UnknownNotificationKey,
        ValidationError as ValidationError,
        VexoraError as VexoraError,
        Violation as Violation,
    )
    from .middleware import (
        RETRY as RETRY,
        SIGNING as SIGNING,
        Middleware as Middleware,
        Next as Next,
    )
    from .models import (
        CheckoutRequest as CheckoutRequest,
        PaymentLink as PaymentLink,
        PaymentState as PaymentState,
        TradeState as TradeState,
        TradeStatus as TradeStatus,
    )
    from .notify import (
        NotificationResult as NotificationResult,
        PaymentNotification as PaymentNotification,
        notification_handler as notification_handler,
        parse_notification as parse_notification,
        process_notification as process_notification,
        verify_notification as verify_notification,
    )
    from .outcome import (
        Delivery as Delivery,
        Outcome as Outcome,
    )
    from .payout_models import (
        Balance as Balance,
        Payout as Payout,
        PayoutRequest as PayoutRequest,
        PayoutState as PayoutState,
        PayoutStatus as PayoutStatus,
    )
    from .payout_notify import (
        PayoutNotification as PayoutNotification,
        TradePrefix as TradePrefix,
        parse_payout_notification as parse_payout_notification,
        payment_notification_handler as payment_notification_handler,
        payout_notification_handler as payout_notification_handler,
        process_payout_notification as process_payout_notification,
    )
    from .ratelimit import (
        LocalRateLimiter as LocalRateLimiter,
        RateLimiter as RateLimiter,
        RateLimitMiddleware as RateLimitMiddleware,
        RedisRateLimiter as RedisRateLimiter,
    )
    from .regions import (
        RegionProfile as RegionProfile,
        get_profile as get_profile,
        register_profile as register_profile,
    )
    from .responses import (
        RawResponse as RawResponse,
        ResponseInfo as ResponseInfo,
    )
    from .retry import (
        AttemptEvent as AttemptEvent,
        RequestEvent as RequestEvent,
        RetryMiddleware as RetryMiddleware,
        RetryPolicy as RetryPolicy,
    )
    from .transports.aiohttp import (
        AiohttpTransport as AiohttpTransport,
    )
    from .transports.base import (
        HttpRequest as HttpRequest,
        HttpResponse as HttpResponse,
        Timeouts as Timeouts,
        Transport as Transport,
    )
    from .transports.http11 import (
        Http11Transport as Http11Transport,
    )
    from .transports.memory import (
        MemoryTransport as MemoryTransport,
    )

__version__ = "0.1.0"

_public: dict[str, str] | None = None


def _table() -> dict[str, str]:
    """name -> module, from the ``if TYPE_CHECKING:`` block above (parsed once)."""
    global _public
    if _public is None:
        tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
        table: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                for imp in node.body:
                    assert isinstance(imp, ast.ImportFrom) and imp.module is not None
                    for alias in imp.names:
                        table[alias.name] = "." * imp.level + imp.module
        _public = table
    return _public


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted([*_table(), "__version__"])
    module = _table().get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_table()])
