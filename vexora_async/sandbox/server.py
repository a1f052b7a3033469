"""Serving the sandbox on this machine: in the running loop, or in a thread of its own.

``Sandbox`` is the ``Gateway`` (behaviour) plus what serving needs: its aiohttp application
and clients pointed at it. ``run_sandbox`` is for async code. ``SandboxThread`` runs its own
event loop in a background thread, so sync code and any test's event loop can use it alike
(the pytest fixture does). Both bind to 127.0.0.1 unless told otherwise, and refuse a
non-loopback interface unless ``allow_external=True``.

Like a real gateway's front server, the sandbox does not let clients hold connections
forever (``ServerLimits``): an idle connection, or one that has not finished sending its
request head, is closed after ``idle_timeout``; a request body not received within
``body_timeout`` is answered 408 and the connection closed; beyond ``max_connections`` open
connections, new ones are closed at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import attrs
from aiohttp import web

from ..client import VexoraClient
from ..errors import ConfigurationError
from ..hosts import is_loopback_host, url_host
from .app import build_app
from .codes import SandboxError
from .faults import FaultPolicy
from .gateway import Gateway, PayOutcome
from .ledger import Ledger, NotificationAttempt, Order
from .merchants import TEST_MERCHANTS, SandboxMerchant
from .threaded import LoopThread
from .threaded_payouts import ThreadedPayouts

__all__ = ["Sandbox", "SandboxThread", "ServerLimits", "check_bind_host", "run_sandbox"]

logger = logging.getLogger("vexora_async.sandbox")

T = TypeVar("T")

_UNSPECIFIED = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class Sandbox(Gateway):
    """A fake Vexora/Paypro gateway: give it merchants, serve ``app()`` (see ``run_sandbox``).

    Takes ``Gateway``'s options: ``time_factor``, ``allow_external_notify``,
    ``notify_timeout``, ``notify_schedule``, ``log_size``, ``faults`` (``FaultPolicy``) and
    ``codes`` (``SandboxCodes``).
    """

    def app(self, *, body_timeout: float | None = None) -> web.Application:
        """A new aiohttp application serving this sandbox (``body_timeout``: seconds to
        receive a request's body, unlimited when ``None``)."""
        return build_app(self, body_timeout=body_timeout)

    def client(self, merchant: str = "IDR", **options: Any) -> VexoraClient:
        """A ``VexoraClient`` for one of the merchants (by number or profile name), pointed at
        this sandbox. ``options`` go to ``VexoraClient`` (``timeouts``, ``middlewares``...)."""
        if self.base_url is None:
            raise SandboxError("the sandbox is not serving yet")
        account = self.find_merchant(merchant)
        return VexoraClient(
            merchant_no=account.merchant_no,
            secret=account.secret,
            region=account.profile,
            base_url=self.base_url,
            **options,
        )


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise ConfigurationError(f"{attribute.name} must be a finite number greater than 0")


@attrs.frozen
class ServerLimits:
    """How long a client may hold a connection, and how many it may open.

    ``idle_timeout``: seconds a connection may stay without a complete request head, from its
    opening or from the end of the last answer (aiohttp's ``keepalive_timeout``; longer than
    the SDK's pooled-connection lifetime, so a pooled connection is not cut under a request).
    ``body_timeout``: seconds to receive a request's body once its head arrived.
    ``max_connections``: open connections at most; a new one beyond is closed unanswered.
    """

    idle_timeout: float = attrs.field(default=30.0, validator=_positive)
    body_timeout: float = attrs.field(default=30.0, validator=_positive)
    max_connections: int = attrs.field(default=4096, validator=_positive)


class _Gate:
    """Counts open connections and closes those beyond the cap, in front of aiohttp's own
    protocol (``AppRunner.server``, a public protocol factory) to which it hands the rest."""

    def __init__(self, factory: web.Server, limit: int) -> None:
        self._factory = factory
        self._limit = limit
        self.open = 0
        self.refused = 0

    def __call__(self) -> asyncio.Protocol:
        return _GatedProtocol(self)


class _GatedProtocol(asyncio.Protocol):
    __slots__ = ("_gate", "_inner")

    def __init__(self, gate: _Gate) -> None:
        self._gate = gate
        self._inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        gate = self._gate
        if gate.open >= gate._limit:
            gate.refused += 1
            transport.abort()  # type: ignore[attr-defined]
            return
        gate.open += 1
        self._inner = gate._factory()
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._gate.open -= 1
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


def check_bind_host(host: str, allow_external: bool) -> None:
    """Refuse a host that is not loopback unless ``allow_external`` (``ConfigurationError``)."""
    if not allow_external and not is_loopback_host(host):
        raise ConfigurationError(
            f"refusing to serve the sandbox on {host!r}: it is not a loopback address "
            "(pass allow_external=True, or --allow-external, to expose it)"
        )


def _make_sandbox(
    sandbox: Sandbox | None,
    merchants: Iterable[SandboxMerchant] | None,
    time_factor: float,
    allow_external_notify: bool,
) -> Sandbox:
    if sandbox is not None and not isinstance(sandbox, Sandbox):
        raise ConfigurationError("sandbox must be a vexora_async.sandbox.Sandbox")
    if sandbox is None:
        return Sandbox(
            TEST_MERCHANTS if merchants is None else merchants,
            time_factor=time_factor,
            allow_external_notify=allow_external_notify,
        )
    if merchants is not None:
        raise ConfigurationError("pass merchants or a sandbox, not both")
    return sandbox


@asynccontextmanager
async def run_sandbox(
    merchants: Iterable[SandboxMerchant] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_external: bool = False,
    time_factor: float = 1.0,
    allow_external_notify: bool = False,
    sandbox: Sandbox | None = None,
    backlog: int = 1024,
    limits: ServerLimits | None = None,
) -> AsyncIterator[Sandbox]:
    """Serve a sandbox in the running loop until the block ends; yields it with ``base_url``.

    ``merchants`` defaults to ``TEST_MERCHANTS`` (one per built-in profile). Port 0 picks a
    free port. Pass a ``Sandbox`` you built yourself for the less common options, and
    ``ServerLimits`` to change the connection timeouts and cap.
    """
    check_bind_host(host, allow_external)
    served = _make_sandbox(sandbox, merchants, time_factor, allow_external_notify)
    limits = limits or ServerLimits()
    name = host.strip("[]")
    bind = "127.0.0.1" if name.lower() == "localhost" else name
    # A short shutdown: held answers (the delay fault) are released when it starts.
    runner = web.AppRunner(
        served.app(body_timeout=limits.body_timeout),
        access_log=None,
        shutdown_timeout=2.0,
        keepalive_timeout=limits.idle_timeout,
    )
    await runner.setup()
    server: asyncio.Server | None = None
    try:
        assert runner.server is not None
        gate = _Gate(runner.server, limits.max_connections)
        # Our own listening socket (not TCPSite): the gate must see every connection first.
        server = await asyncio.get_running_loop().create_server(
            gate, bind or None, port, backlog=backlog
        )
        bound_port = server.sockets[0].getsockname()[1]
        local = _UNSPECIFIED.get(bind, bind)
        served.base_url = f"http://{url_host(local, bound_port)}"
        served.payment_base_url = None if bind in _UNSPECIFIED else served.base_url
        yield served
    finally:
        served.base_url = served.payment_base_url = None
        if server is not None:
            server.close()  # stop accepting; the runner closes the open connections
        await runner.cleanup()
        if server is not None:
            await server.wait_closed()


class SandboxThread(LoopThread):
    """A sandbox served by its own event loop in a daemon thread.

    >>> with SandboxThread(time_factor=0.001) as sandbox:
    ...     client = sandbox.client("IDR")       # use it in any event loop
    ...     sandbox.pay("0000000001", "T1")      # sync, thread-safe

    Every method and attribute here is thread-safe: what touches the sandbox's loop runs on
    it. Blocking ones (``pay``, ``wait_for_notifications``) must not be called from a loop
    that serves the merchant's notify endpoint: it could not answer while blocked; use the
    async ones (``pay_async``, ``notifications_settled``) there. ``payouts`` is the payout
    side (``ThreadedPayouts``: ``fund``, ``balances``, ``ledger``, ``decide``, ``settled``...),
    safe from any thread in the same way. ``sandbox`` is the ``Sandbox`` itself: its own
    methods belong to the sandbox's loop (``call``/``call_async`` run a coroutine there).
    """

    _thread_name = "vexora-sandbox"

    def __init__(
        self,
        merchants: Iterable[SandboxMerchant] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_external: bool = False,
        time_factor: float = 1.0,
        allow_external_notify: bool = False,
        sandbox: Sandbox | None = None,
        startup_timeout: float = 10.0,
        limits: ServerLimits | None = None,
    ) -> None:
        check_bind_host(host, allow_external)
        self.sandbox = _make_sandbox(sandbox, merchants, time_factor, allow_external_notify)
        self._limits = limits
        self._host = host
        self._port = port
        self._allow_external = allow_external
        super().__init__(startup_timeout)
        self.payouts = ThreadedPayouts(self.sandbox.payouts, self.call, self.call_async)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SandboxThread:
        """Start serving; returns once the port is bound (or raises what went wrong)."""
        super().start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread (pending notifications are abandoned)."""
        super().stop(timeout)

    def __enter__(self) -> SandboxThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self, stopping: asyncio.Event) -> None:
        async with run_sandbox(
            host=self._host,
            port=self._port,
            allow_external=self._allow_external,
            sandbox=self.sandbox,
            limits=self._limits,
        ):
            self._ready.set()
            await stopping.wait()

    # -- what the sandbox holds -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        url = self.sandbox.base_url
        if url is None:
            raise RuntimeError("the sandbox is not serving")
        return url

    @property
    def ledger(self) -> Ledger:
        return self.sandbox.ledger

    @property
    def faults(self) -> FaultPolicy:
        return self.sandbox.faults

    @property
    def merchants(self) -> dict[str, SandboxMerchant]:
        """Merchants by profile name (the first one of each profile)."""
        found: dict[str, SandboxMerchant] = {}
        for merchant in self.sandbox.merchants.values():
            found.setdefault(merchant.profile.name, merchant)
        return found

    def merchant(self, key: str) -> SandboxMerchant:
        """A merchant by number or profile name."""
        return self.sandbox.find_merchant(key)

    def client(self, merchant: str = "IDR", **options: Any) -> VexoraClient:
        """A ``VexoraClient`` for a merchant (number or profile name), aimed at this sandbox.
        Use it (``async with``) in your own event loop."""
        return self.sandbox.client(merchant, **options)

    # -- actions, run on the sandbox's loop -----------------------------------------------

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 10.0) -> T:
        """Run ``coro`` on the sandbox's loop and wait for its result (from another thread)."""
        loop = self._running_loop(coro)
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    async def call_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the sandbox's loop; await it from any other loop."""
        loop = self._running_loop(coro)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def _running_loop(self, coro: Coroutine[Any, Any, Any]) -> asyncio.AbstractEventLoop:
        loop = self._loop
        problem = None
        if loop is None or self.sandbox.base_url is None:
            problem = "the sandbox is not serving"
        elif threading.current_thread() is self._thread:
            problem = "already on the sandbox's loop: await the Sandbox's own methods"
        if problem is not None:
            coro.close()
            raise RuntimeError(problem)
        assert loop is not None
        return loop

    def pay(
        self,
        merchant_no: str | None,
        trade_no: str,
        outcome: PayOutcome = "paid",
        amount: int | Decimal | str | None = None,
        *,
        timeout: float = 10.0,
    ) -> Order:
        """``Sandbox.pay`` from sync code (blocks until the payment is applied)."""
        return self.call(self.sandbox.pay(merchant_no, trade_no, outcome, amount), timeout)

    async def pay_async(
        self,
        merchant_no: str | None,
        trade_no: str,
        outcome: PayOutcome = "paid",
        amount: int | Decimal | str | None = None,
    ) -> Order:
        """``Sandbox.pay`` from any event loop."""
        return await self.call_async(self.sandbox.pay(merchant_no, trade_no, outcome, amount))

    def redeliver(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> Order:
        """``Sandbox.redeliver`` from any thread: the same notification, sent again."""

        async def on_loop() -> Order:
            return self.sandbox.redeliver(trade_no, merchant_no)

        return self.call(on_loop(), timeout)

    def wait_for_notifications(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> list[NotificationAttempt]:
        """Block until the order's latest notification settled; its attempts."""
        coro = self.sandbox.notifications_settled(trade_no, merchant_no, timeout=timeout)
        return self.call(coro, timeout + 1.0)

    async def notifications_settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> list[NotificationAttempt]:
        """Await (from any loop) until the order's latest notification settled."""
        coro = self.sandbox.notifications_settled(trade_no, merchant_no, timeout=timeout)
        return await self.call_async(coro)

    def __repr__(self) -> str:
        return f"SandboxThread(base_url={self.sandbox.base_url!r})"
