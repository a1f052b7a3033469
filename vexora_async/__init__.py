"""vexora_async: an async-first SDK for the Vexora and Paypro payment gateways.

Pipeline, in the order a request travels: ``models`` -> ``regions`` (validate, render) ->
``middleware`` (signing via ``signing``) -> ``transports`` -> ``envelope`` -> ``wire`` (structure).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batch import BatchOutcome, BatchResult
    from .client import VexoraClient
    from .dedupe import MemoryNotificationStore, NotificationStore, SQLiteNotificationStore
    from .errors import (
        APIError,
        ConfigurationError,
        ConnectError,
        ConnectionDropped,
        HTTPStatusError,
        MalformedNotification,
        MalformedResponse,
        OrderExists,
        OrderNotFound,
        OrderRejected,
        OutcomeUnknown,
        RequestTimeout,
        ResponseError,
        SignatureError,
        TransportError,
        ValidationError,
        VexoraError,
        Violation,
    )
    from .models import CheckoutRequest, PaymentLink, PaymentState, TradeState, TradeStatus
    from .notify import (
        NotificationResult,
        PaymentNotification,
        notification_handler,
        parse_notification,
        process_notification,
        verify_notification,
    )
    from .payout_models import Balance, Payout, PayoutRequest, PayoutState, PayoutStatus
    from .payout_notify import (
        PayoutNotification,
        TradePrefix,
        parse_payout_notification,
        payment_notification_handler,
        payout_notification_handler,
        process_payout_notification,
    )
    from .regions import RegionProfile, get_profile, register_profile
    from .retry import RetryMiddleware, RetryPolicy
    from .transports.aiohttp import AiohttpTransport
    from .transports.base import HttpRequest, HttpResponse, Timeouts, Transport
    from .transports.memory import MemoryTransport

__version__ = "0.1.0"

# Names are imported on first use: `import vexora_async` (and the pytest plugin that comes
# with it) stays cheap, and a program only loads the parts it touches.
_LAZY = {
    "Balance": ".payout_models",
    "Payout": ".payout_models",
    "PayoutRequest": ".payout_models",
    "PayoutState": ".payout_models",
    "PayoutStatus": ".payout_models",
    "PayoutNotification": ".payout_notify",
    "TradePrefix": ".payout_notify",
    "parse_payout_notification": ".payout_notify",
    "payment_notification_handler": ".payout_notify",
    "payout_notification_handler": ".payout_notify",
    "process_payout_notification": ".payout_notify",
    "APIError": ".errors",
    "AiohttpTransport": ".transports.aiohttp",
    "BatchOutcome": ".batch",
    "BatchResult": ".batch",
    "CheckoutRequest": ".models",
    "ConfigurationError": ".errors",
    "ConnectError": ".errors",
    "ConnectionDropped": ".errors",
    "HTTPStatusError": ".errors",
    "HttpRequest": ".transports.base",
    "HttpResponse": ".transports.base",
    "MalformedNotification": ".errors",
    "MalformedResponse": ".errors",
    "MemoryNotificationStore": ".dedupe",
    "MemoryTransport": ".transports.memory",
    "NotificationResult": ".notify",
    "NotificationStore": ".dedupe",
    "OrderExists": ".errors",
    "OrderNotFound": ".errors",
    "OrderRejected": ".errors",
    "OutcomeUnknown": ".errors",
    "PaymentLink": ".models",
    "PaymentNotification": ".notify",
    "PaymentState": ".models",
    "RegionProfile": ".regions",
    "RequestTimeout": ".errors",
    "ResponseError": ".errors",
    "RetryMiddleware": ".retry",
    "RetryPolicy": ".retry",
    "SQLiteNotificationStore": ".dedupe",
    "SignatureError": ".errors",
    "Timeouts": ".transports.base",
    "TradeState": ".models",
    "TradeStatus": ".models",
    "Transport": ".transports.base",
    "TransportError": ".errors",
    "ValidationError": ".errors",
    "VexoraClient": ".client",
    "VexoraError": ".errors",
    "Violation": ".errors",
    "get_profile": ".regions",
    "notification_handler": ".notify",
    "parse_notification": ".notify",
    "process_notification": ".notify",
    "register_profile": ".regions",
    "verify_notification": ".notify",
}

__all__ = [
    "APIError",
    "AiohttpTransport",
    "Balance",
    "BatchOutcome",
    "BatchResult",
    "CheckoutRequest",
    "ConfigurationError",
    "ConnectError",
    "ConnectionDropped",
    "HTTPStatusError",
    "HttpRequest",
    "HttpResponse",
    "MalformedNotification",
    "MalformedResponse",
    "MemoryNotificationStore",
    "MemoryTransport",
    "NotificationResult",
    "NotificationStore",
    "OrderExists",
    "OrderNotFound",
    "OrderRejected",
    "OutcomeUnknown",
    "PaymentLink",
    "PaymentNotification",
    "PaymentState",
    "Payout",
    "PayoutNotification",
    "PayoutRequest",
    "PayoutState",
    "PayoutStatus",
    "RegionProfile",
    "RequestTimeout",
    "ResponseError",
    "RetryMiddleware",
    "RetryPolicy",
    "SQLiteNotificationStore",
    "SignatureError",
    "Timeouts",
    "TradePrefix",
    "TradeState",
    "TradeStatus",
    "Transport",
    "TransportError",
    "ValidationError",
    "VexoraClient",
    "VexoraError",
    "Violation",
    "__version__",
    "get_profile",
    "notification_handler",
    "parse_notification",
    "parse_payout_notification",
    "payment_notification_handler",
    "payout_notification_handler",
    "process_notification",
    "process_payout_notification",
    "register_profile",
    "verify_notification",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
