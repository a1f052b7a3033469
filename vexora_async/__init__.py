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
    )
    from .batch import (
        BatchResult as BatchResult,
    )
    from .call import (
        ApiCall as ApiCall,
    )
    from .call import (
        Envelope as Envelope,
    )
    from .client import (
        VexoraClient as VexoraClient,
    )
    from .codes import (
        GatewayCodes as GatewayCodes,
    )
    from .dedupe import (
        MemoryNotificationStore as MemoryNotificationStore,
    )
    from .dedupe import (
        NotificationStore as NotificationStore,
    )
    from .dedupe import (
        SQLiteNotificationStore as SQLiteNotificationStore,
    )
    from .errors import (
        APIError as APIError,
    )
    from .errors import (
        AuthenticationError as AuthenticationError,
    )
    from .errors import (
        ConfigurationError as ConfigurationError,
    )
    from .errors import (
        ConnectError as ConnectError,
    )
    from .errors import (
        ConnectionDropped as ConnectionDropped,
    )
    from .errors import (
        HTTPStatusError as HTTPStatusError,
    )
    from .errors import (
        MalformedNotification as MalformedNotification,
    )
    from .errors import (
        MalformedResponse as MalformedResponse,
    )
    from .errors import (
        OrderExists as OrderExists,
    )
    from .errors import (
        OrderNotFound as OrderNotFound,
    )
    from .errors import (
        OrderRejected as OrderRejected,
    )
    from .errors import (
        OutcomeUnknown as OutcomeUnknown,
    )
    from .errors import (
        RequestTimeout as RequestTimeout,
    )
    from .errors import (
        ResponseError as ResponseError,
    )
    from .errors import (
        SignatureError as SignatureError,
    )
    from .errors import (
        TransportError as TransportError,
    )
    from .errors import (
        UnexpectedRedirect as UnexpectedRedirect,
    )
    from .errors import (
        ValidationError as ValidationError,
    )
    from .errors import (
        VexoraError as VexoraError,
    )
    from .errors import (
        Violation as Violation,
    )
    from .middleware import (
        RETRY as RETRY,
    )
    from .middleware import (
        SIGNING as SIGNING,
    )
    from .middleware import (
        Middleware as Middleware,
    )
    from .middleware import (
        Next as Next,
    )
    from .models import (
        CheckoutRequest as CheckoutRequest,
    )
    from .models import (
        PaymentLink as PaymentLink,
    )
    from .models import (
        PaymentState as PaymentState,
    )
    from .models import (
        TradeState as TradeState,
    )
    from .models import (
        TradeStatus as TradeStatus,
    )
    from .notify import (
        NotificationResult as NotificationResult,
    )
    from .notify import (
        PaymentNotification as PaymentNotification,
    )
    from .notify import (
        notification_handler as notification_handler,
    )
    from .notify import (
        parse_notification as parse_notification,
    )
    from .notify import (
        process_notification as process_notification,
    )
    from .notify import (
        verify_notification as verify_notification,
    )
    from .outcome import (
        Delivery as Delivery,
    )
    from .outcome import (
        Outcome as Outcome,
    )
    from .regions import (
        RegionProfile as RegionProfile,
    )
    from .regions import (
        get_profile as get_profile,
    )
    from .regions import (
        register_profile as register_profile,
    )
    from .retry import (
        AttemptEvent as AttemptEvent,
    )
    from .retry import (
        RequestEvent as RequestEvent,
    )
    from .retry import (
        RetryMiddleware as RetryMiddleware,
    )
    from .retry import (
        RetryPolicy as RetryPolicy,
    )
    from .transports.aiohttp import (
        AiohttpTransport as AiohttpTransport,
    )
    from .transports.base import (
        HttpRequest as HttpRequest,
    )
    from .transports.base import (
        HttpResponse as HttpResponse,
    )
    from .transports.base import (
        Timeouts as Timeouts,
    )
    from .transports.base import (
        Transport as Transport,
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
