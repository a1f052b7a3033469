"""Serving on a private event loop in a daemon thread: what ``SandboxThread`` and
``NotifyRecorder`` share, so tests without pytest-asyncio (and sync code) can use them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

__all__ = ["LoopThread"]

logger = logging.getLogger("vexora_async.sandbox")


class LoopThread:
    """Start a loop thread, wait until it serves (or raise what went wrong), stop it.

    A subclass implements ``_serve(stopping)``: bind, call ``self._ready.set()``, then await
    ``stopping.wait()`` and clean up.
    """

    _thread_name = "vexora-loop"

    def __init__(self, startup_timeout: float = 10.0) -> None:
        self._startup_timeout = startup_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> LoopThread:
        """Start serving; returns once it serves (or raises what went wrong)."""
        name = type(self).__name__
        if self._thread is not None:
            raise RuntimeError(f"this {name} was started already")
        self._thread = threading.Thread(target=self._main, name=self._thread_name, daemon=True)
        self._thread.start()
        if not self._ready.wait(self._startup_timeout):
            self.stop()
            raise TimeoutError(f"the {name} did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        try:
            await self._serve(self._stopping)
        except BaseException as exc:  # handed to start(), or logged: a thread cannot raise
            if self._ready.is_set():
                logger.warning("%s stopped with %s", self._thread_name, type(exc).__name__)
            self._error = exc
            self._ready.set()

    async def _serve(self, stopping: asyncio.Event) -> None:
        raise NotImplementedError
