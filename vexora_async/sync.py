"""A synchronous client for Django, Flask, Celery and scripts: the async client on a
private event loop in a daemon thread.

    from vexora_async.sync import VexoraClient

    with VexoraClient.from_env() as client:
        link = client.create_payment_link(request)

Same methods, results and errors as ``vexora_async.VexoraClient``. Each client has one
loop thread, started on the first call and stopped by ``close()``; any number of threads may
call one client at once (the calls run concurrently on its loop, sharing its connection
pool). Called from a thread that runs an event loop, a method raises ``ConfigurationError``
at once instead of blocking that loop: use the async client there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from .batch import BatchResult
from .client import VexoraClient as AsyncVexoraClient
from .errors import ConfigurationError, ConnectError
from .models import CheckoutRequest, PaymentLink, PaymentState
from .payout_models import Balance, Payout, PayoutRequest, PayoutState
from .regions import RegionProfile
from .responses import RawResponse
from .retry import RetryPolicy

__all__ = ["SyncVexoraClient", "VexoraClient"]

T = TypeVar("T")


class _LoopThread:
    """One event loop in one daemon thread, started lazily, shared by a client and the
    clients derived from it (``with_options``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pid = 0  # the process that started the loop thread
        self._pending: set[concurrent.futures.Future[Any]] = set()  # calls in flight

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coroutine.close()
            raise ConfigurationError(
                "vexora_async.sync called from a running event loop would block it; use the "
                "async client there (await vexora_async.VexoraClient(...).create_payment_link)"
            )
        future = self._submit(coroutine)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # KeyboardInterrupt in the caller: do not leave the call running
            raise

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        # Under the lock: close() either sees this call in _pending or refuses it.
        with self._lock:
            if self._closed:
                coroutine.close()
                raise ConnectError("the client is closed")
            if self._loop is not None and self._pid != os.getpid():
                # A fork copies the loop object but not its thread: a call would wait forever.
                coroutine.close()
                raise ConfigurationError(
                    "this client was used before the process forked; create the client in "
                    "each process (Celery: per worker, e.g. on first use in a task)"
                )
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._main, args=(loop, ready), name="vexora-sync", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def close(self, last: Coroutine[Any, Any, None] | None) -> None:
        """Wait for the calls in flight (each ends by its deadline: cutting one short could
        leave an order unknown), run ``last`` (the async client's ``aclose``) on the loop,
        stop it and join the thread."""
        if self._thread is threading.current_thread():
            raise ConfigurationError("close() cannot be called from the client's own loop")
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            pending = list(self._pending)
        if loop is None or thread is None:
            if last is not None:
                last.close()
            return
        try:
            concurrent.futures.wait(pending)
            if last is not None:
                asyncio.run_coroutine_threadsafe(last, loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread


class SyncVexoraClient:
    """The synchronous twin of ``vexora_async.VexoraClient``: the same keyword options
    (``merchant_no``, ``secret``, ``base_url``, ``region``, ``retry``, ...), methods, results
    and errors. Close it (``close()`` or ``with``) to stop its loop thread."""

    def __init__(self, **options: Any) -> None:
        self._init(AsyncVexoraClient(**options), _LoopThread(), owner=True)

    def _init(self, client: AsyncVexoraClient, runner: _LoopThread, *, owner: bool) -> None:
        self._client = client
        self._runner = runner
        self._owner = owner

    @classmethod
    def _wrap(
        cls, client: AsyncVexoraClient, runner: _LoopThread, *, owner: bool
    ) -> SyncVexoraClient:
        wrapped = cls.__new__(cls)
        wrapped._init(client, runner, owner=owner)
        return wrapped

    @classmethod
    def from_env(
        cls, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> SyncVexoraClient:
        """As ``vexora_async.VexoraClient.from_env``: ``VEXORA_MERCHANT_NO``,
        ``VEXORA_SECRET``, ``VEXORA_BASE_URL``, ``VEXORA_REGION`` (default ``IDR``)."""
        client = AsyncVexoraClient.from_env(environ=environ, **overrides)
        return cls._wrap(client, _LoopThread(), owner=True)

    def with_options(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> SyncVexoraClient:
        """A client with other call options, sharing this one's loop thread and connection
        pool; closing it does nothing, closing the original stops both."""
        derived = self._client.with_options(timeout=timeout, retry=retry)
        return self._wrap(derived, self._runner, owner=False)

    # -- what the async client knows ------------------------------------------------------

    @property
    def merchant_no(self) -> str:
        return self._client.merchant_no

    @property
    def base_url(self) -> str:
        return self._client.base_url

    @property
    def profile(self) -> RegionProfile:
        return self._client.profile

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._client.retry_policy

    @property
    def async_client(self) -> AsyncVexoraClient:
        """The async client underneath (use it only on this client's loop)."""
        return self._client

    # -- operations -----------------------------------------------------------------------

    def create_payment_link(
        self,
        request: CheckoutRequest,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        maybe_sent: bool = False,
    ) -> PaymentLink:
        """See ``vexora_async.VexoraClient.create_payment_link``: same result, same errors."""
        return self._runner.run(
            self._client.create_payment_link(
                request, timeout=timeout, retry=retry, maybe_sent=maybe_sent
            )
        )

    def create_payment_links(
        self,
        requests: Iterable[CheckoutRequest],
        *,
        concurrency: int = 64,
        retry: RetryPolicy | None = None,
    ) -> list[BatchResult]:
        """Every request's ``BatchResult``, in input order (``concurrency`` in flight)."""
        run = self._client.create_payment_links(requests, concurrency=concurrency, retry=retry)
        return self._runner.run(run.collect())

    def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PaymentState:
        """See ``vexora_async.VexoraClient.query_payment``."""
        return self._runner.run(
            self._client.query_payment(trade_no, timeout=timeout, retry=retry)
        )

    # -- payouts and balance (SPEC §9) ----------------------------------------------------

    def create_payout(
        self,
        request: PayoutRequest,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        maybe_sent: bool = False,
    ) -> Payout:
        """See ``vexora_async.VexoraClient.create_payout``: same result, same errors."""
        return self._runner.run(
            self._client.create_payout(
                request, timeout=timeout, retry=retry, maybe_sent=maybe_sent
            )
        )

    def create_payouts(
        self,
        requests: Iterable[PayoutRequest],
        *,
        concurrency: int = 64,
        retry: RetryPolicy | None = None,
    ) -> list[BatchResult]:
        """Every payout's ``BatchResult``, in input order (``concurrency`` in flight;
        ``result.link`` holds the ``Payout``)."""
        run = self._client.create_payouts(requests, concurrency=concurrency, retry=retry)
        return self._runner.run(run.collect())

    def query_payout(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PayoutState:
        """See ``vexora_async.VexoraClient.query_payout``."""
        return self._runner.run(
            self._client.query_payout(trade_no, timeout=timeout, retry=retry)
        )

    def get_balance(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Balance:
        """See ``vexora_async.VexoraClient.get_balance``."""
        return self._runner.run(self._client.get_balance(timeout=timeout, retry=retry))

    @property
    def with_raw_response(self) -> SyncRawResponses:
        """The same calls returning a ``RawResponse`` (status, headers, ``parse()``)."""
        return SyncRawResponses(self)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections and stop the loop thread (joined before this returns).
        A client from ``with_options`` leaves both to the original."""
        if self._owner:
            self._runner.close(self._client.aclose())

    def __enter__(self) -> SyncVexoraClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Sync{self._client!r}"


class SyncRawResponses:
    """``client.with_raw_response`` of the synchronous client."""

    __slots__ = ("_client",)

    def __init__(self, client: SyncVexoraClient) -> None:
        self._client = client

    def create_payment_link(
        self,
        request: CheckoutRequest,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        maybe_sent: bool = False,
    ) -> RawResponse[PaymentLink]:
        raw = self._client.async_client.with_raw_response
        return self._client._runner.run(
            raw.create_payment_link(request, timeout=timeout, retry=retry, maybe_sent=maybe_sent)
        )

    def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> RawResponse[PaymentState]:
        raw = self._client.async_client.with_raw_response
        return self._client._runner.run(
            raw.query_payment(trade_no, timeout=timeout, retry=retry)
        )


VexoraClient = SyncVexoraClient  # ``from vexora_async.sync import VexoraClient``
