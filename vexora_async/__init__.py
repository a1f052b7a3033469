"""vexora_async: an async-first SDK for the Vexora and Paypro payment gateways.

Pipeline, in the order a request travels: ``models`` -> ``regions`` (validate, render) ->
``middleware`` (signing via ``signing``) -> ``transports`` -> ``envelope`` -> ``wire`` (structure).
"""

from .client import VexoraClient
from .errors import (
    APIError,
    ConfigurationError,
    ConnectError,
    ConnectionDropped,
    HTTPStatusError,
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
from .regions import RegionProfile, get_profile, register_profile
from .transports.aiohttp import AiohttpTransport
from .transports.base import HttpRequest, HttpResponse, Timeouts, Transport
from .transports.memory import MemoryTransport

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AiohttpTransport",
    "CheckoutRequest",
    "ConfigurationError",
    "ConnectError",
    "ConnectionDropped",
    "HTTPStatusError",
    "HttpRequest",
    "HttpResponse",
    "MalformedResponse",
    "MemoryTransport",
    "OrderExists",
    "OrderNotFound",
    "OrderRejected",
    "OutcomeUnknown",
    "PaymentLink",
    "PaymentState",
    "RegionProfile",
    "RequestTimeout",
    "ResponseError",
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
    "register_profile",
]
