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
import contextlib
import functools
import os
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from .batch import BatchResult, BatchRun
from .client import VexoraClient as AsyncVexoraClient
from .errors import ConfigurationError, ConnectError, ConnectionDropped, OutcomeUnknown
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
        # Calls in flight: what each caller waits on -> the error it ends with if cut short.
        self._pending: dict[concurrent.futures.Future[Any], _CutShort] = {}
        # Set by a close() that was interrupted: the calls in flight are cut short, and a
        # call that has not started yet is not sent.
        self._abandoned = False
        # The loop thread's own: tasks inside a call that may be cut short, and those cut.
        self._running: set[asyncio.Task[Any]] = set()
        self._cut: set[asyncio.Task[Any]] = set()

    def run(self, coroutine: Coroutine[Any, Any, T], cut_short: _CutShort | None) -> T:
        """Run ``coroutine`` on the loop and wait for it. ``cut_short``: the error it ends
        with if an interrupted ``close()`` cuts it short once started (None: the coroutine
        guards its own parts, as a batch guards each order)."""
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
        future = self._submit(coroutine, cut_short)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # KeyboardInterrupt in the caller: do not leave the call running
            raise

    def _submit(
        self, coroutine: Coroutine[Any, Any, T], cut_short: _CutShort | None
    ) -> concurrent.futures.Future[T]:
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
            task = asyncio.run_coroutine_threadsafe(self.guard(coroutine, cut_short), self._loop)
            # What the caller waits on: the task's result, or (close() interrupted, the task
            # stuck) its cut-short error set from outside.
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            self._pending[future] = cut_short or _no_answer
        task.add_done_callback(functools.partial(_settle, future))
        future.add_done_callback(functools.partial(self._forget, task))
        return future

    def _forget(
        self, task: concurrent.futures.Future[Any], future: concurrent.futures.Future[Any]
    ) -> None:
        with self._lock:
            self._pending.pop(future, None)
        if future.cancelled():
            task.cancel()

    async def guard(self, coroutine: Coroutine[Any, Any, T], cut_short: _CutShort | None) -> T:
        """Run one call on the loop. Once close() was interrupted, a call that has not
        started raises ``ConnectError`` (never sent) and one under way ``cut_short()``."""
        if self._abandoned:
            coroutine.close()
            raise _not_sent()
        if cut_short is None:
            return await coroutine
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            return await coroutine
        except asyncio.CancelledError:
            if task not in self._cut:
                raise
            task.uncancel()  # cut short by close(), not cancelled by its caller
            raise cut_short() from None
        finally:
            self._running.discard(task)
            self._cut.discard(task)

    def _cut_all(self) -> None:
        """On the loop: cancel every call under way (each then raises its cut-short error)."""
        for task in self._running:
            self._cut.add(task)
            task.cancel()

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            # Whatever is still there (only after an interrupted close): cancelled and given
            # a moment to run its finally blocks, so no task is destroyed pending.
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left, timeout=_WIND_DOWN))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def close(self, last: Coroutine[Any, Any, None] | None) -> None:
        """Wait for the calls in flight (each ends by its deadline: cutting one short could
        leave an order unknown), run ``last`` (the async client's ``aclose``) on the loop,
        stop it and join the thread.

        Interrupted (Ctrl+C), it cuts the calls in flight short instead, each with an error
        that says what is known (``OutcomeUnknown`` for a create under way, ``ConnectError``
        for a call not started), still runs ``last``, and raises the interruption."""
        if self._thread is threading.current_thread():
            raise ConfigurationError("close() cannot be called from the client's own loop")
        closing: concurrent.futures.Future[None] | None = None
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
            try:
                concurrent.futures.wait(pending)
                if last is not None:
                    closing, last = asyncio.run_coroutine_threadsafe(last, loop), None
                    closing.result()
            except BaseException:
                self._abandon(loop, last, closing)
                raise
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    def _abandon(
        self,
        loop: asyncio.AbstractEventLoop,
        last: Coroutine[Any, Any, None] | None,
        closing: concurrent.futures.Future[None] | None,
    ) -> None:
        """close() was interrupted: end every call in flight now, then close the
        connections, each step bounded so the interruption is not held up."""
        with self._lock:
            self._abandoned = True
            calls = dict(self._pending)
        try:
            loop.call_soon_threadsafe(self._cut_all)
            concurrent.futures.wait(calls, timeout=_WIND_DOWN)
            if last is not None:
                closing = asyncio.run_coroutine_threadsafe(last, loop)
            if closing is not None:
                concurrent.futures.wait([closing], timeout=_WIND_DOWN)
        finally:
            # A call whose task did not end in time (a stuck hook) ends anyway.
            for future, cut_short in calls.items():
                _settle_with(future, cut_short())

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread


_CutShort = Callable[[], Exception]
_WIND_DOWN = 5.0  # seconds an interrupted close() gives cut-short calls and aclose
_CUT_SHORT = "the client was closed while the call was in flight (close() was interrupted)"


def _not_sent() -> Exception:
    return ConnectError("the client was closed before the call was sent")


def _order_unknown(request: object) -> _CutShort:
    """A create cut short: it may have reached the gateway (query it before creating it
    again under another number)."""

    def error() -> Exception:
        trade_no = getattr(request, "trade_no", None)
        return OutcomeUnknown(trade_no if isinstance(trade_no, str) else "", _CUT_SHORT)

    return error


def _no_answer() -> Exception:
    """A query cut short: it may have been sent, and no answer will come."""
    error = ConnectionDropped(_CUT_SHORT)
    error.maybe_sent = True
    return error


def _settle(future: concurrent.futures.Future[Any], task: concurrent.futures.Future[Any]) -> None:
    """Pass a call's end on to the future its caller waits on (unless already ended)."""
    if task.cancelled():
        future.cancel()
    elif (error := task.exception()) is not None:
        _settle_with(future, error)
    else:
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            future.set_result(task.result())


def _settle_with(future: concurrent.futures.Future[Any], error: BaseException) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_exception(error)


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
            ),
            _order_unknown(request),
        )

    def create_payment_links(
        self,
        requests: Iterable[CheckoutRequest],
        *,
        concurrency: int = 64,
        retry: RetryPolicy | None = None,
    ) -> list[BatchResult]:
        """Every request's ``BatchResult``, in input order (``concurrency`` in flight)."""
        create = functools.partial(self._client.create_payment_link, retry=retry)
        return self._runner.run(self._batch(create, requests, concurrency), None)

    def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PaymentState:
        """See ``vexora_async.VexoraClient.query_payment``."""
        return self._runner.run(
            self._client.query_payment(trade_no, timeout=timeout, retry=retry), _no_answer
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
            ),
            _order_unknown(request),
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
        create = functools.partial(self._client.create_payout, retry=retry)
        return self._runner.run(self._batch(create, requests, concurrency), None)

    def query_payout(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PayoutState:
        """See ``vexora_async.VexoraClient.query_payout``."""
        return self._runner.run(
            self._client.query_payout(trade_no, timeout=timeout, retry=retry), _no_answer
        )

    def get_balance(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Balance:
        """See ``vexora_async.VexoraClient.get_balance``."""
        return self._runner.run(self._client.get_balance(timeout=timeout, retry=retry), _no_answer)

    def _batch(
        self,
        create: Callable[[Any], Coroutine[Any, Any, Any]],
        requests: Iterable[Any],
        concurrency: int,
    ) -> Coroutine[Any, Any, list[BatchResult]]:
        """The async client's batch, each order guarded on its own: cut short by an
        interrupted close(), an order under way ends ``unknown`` and one not started
        ``not_sent``, and the list still comes back whole."""
        runner = self._runner

        def guarded(request: Any) -> Coroutine[Any, Any, Any]:
            return runner.guard(create(request), _order_unknown(request))

        return BatchRun(guarded, requests, concurrency).collect()

    @property
    def with_raw_response(self) -> SyncRawResponses:
        """The same calls returning a ``RawResponse`` (status, headers, ``parse()``)."""
        return SyncRawResponses(self)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections and stop the loop thread (joined before this returns).
        A client from ``with_options`` leaves both to the original. Interrupted (Ctrl+C),
        it ends the calls in flight at once (a create under way: ``OutcomeUnknown``), still
        closes the connections and joins the thread, then raises the interruption."""
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
            raw.create_payment_link(request, timeout=timeout, retry=retry, maybe_sent=maybe_sent),
            _order_unknown(request),
        )

    def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> RawResponse[PaymentState]:
        raw = self._client.async_client.with_raw_response
        return self._client._runner.run(
            raw.query_payment(trade_no, timeout=timeout, retry=retry), _no_answer
        )


VexoraClient = SyncVexoraClient  # ``from vexora_async.sync import VexoraClient``
