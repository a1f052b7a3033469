"""An embedded fake of the Vexora/Paypro gateway, for demos, tests and benchmarks.

It verifies signatures, applies each merchant's region profile, keeps ``tradeNo`` unique,
serves a cashier page, sends signed notifications on the gateway's retry schedule, answers
queries, injects faults on request, and keeps a ledger of what really happened.

>>> async with run_sandbox(time_factor=0.001) as sandbox:      # TEST_MERCHANTS, 127.0.0.1
...     async with sandbox.client("IDR") as client:
...         link = await client.create_payment_link(request)
...     await sandbox.pay(None, request.trade_no)
...     attempts = await sandbox.notifications_settled(request.trade_no)

Module map (each imports only those before it): ``codes``, ``ledger`` (ground truth),
``merchants``, ``faults``, ``notifier``, ``gateway`` (the behaviour, no HTTP server),
``cashier`` (HTML), ``app`` (the aiohttp application), ``threaded_payouts``
(``SandboxThread.payouts``: the payout side from another thread), ``server`` (``Sandbox``:
serving it), ``recorder`` (a notify endpoint for tests), ``command`` (the console command).
"""

from .codes import SandboxCodes, SandboxError
from .faults import ALL_KINDS, CLASSIC_KINDS, FAULT_HEADER, FaultKind, FaultPolicy
from .gateway import Gateway, PayOutcome
from .ledger import Ledger, NotificationAttempt, Order, RequestRecord
from .merchants import TEST_MERCHANTS, SandboxMerchant
from .notifier import NOTIFY_SCHEDULE, notification_fields
from .recorder import NotifyRecorder
from .server import Sandbox, SandboxThread, ServerLimits, check_bind_host, run_sandbox
from .threaded_payouts import ThreadedPayouts

__all__ = [
    "ALL_KINDS",
    "CLASSIC_KINDS",
    "FAULT_HEADER",
    "NOTIFY_SCHEDULE",
    "TEST_MERCHANTS",
    "FaultKind",
    "FaultPolicy",
    "Gateway",
    "Ledger",
    "NotificationAttempt",
    "NotifyRecorder",
    "Order",
    "PayOutcome",
    "RequestRecord",
    "Sandbox",
    "SandboxCodes",
    "SandboxError",
    "SandboxMerchant",
    "SandboxThread",
    "ServerLimits",
    "ThreadedPayouts",
    "check_bind_host",
    "notification_fields",
    "run_sandbox",
]
