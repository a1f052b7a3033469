"""vexora_async: an async-first SDK for the Vexora and Paypro payment gateways.

Pipeline, in the order a request travels: ``models`` -> ``regions`` (validate, render) ->
``middleware`` (signing via ``signing``) -> ``transports`` -> ``envelope`` -> ``wire`` (structure).
"""

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
from .regions import RegionProfile, get_profile, register_profile
from .retry import RetryMiddleware, RetryPolicy
from .transports.aiohttp import AiohttpTransport
from .transports.base import HttpRequest, HttpResponse, Timeouts, Transport
from .transports.memory import MemoryTransport

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AiohttpTransport",
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
    "RegionProfile",
    "RequestTimeout",
    "ResponseError",
    "RetryMiddleware",
    "RetryPolicy",
    "SQLiteNotificationStore",
    "SignatureError",
    "Timeouts",
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
    "process_notification",
    "register_profile",
    "verify_notification",
]
