"""``NotifyRecorder``: a merchant's notify endpoint on 127.0.0.1 that records what it receives.

For tests of the notification flow (the ``notify_recorder`` pytest fixture is one). It serves
in a thread with its own event loop, like ``SandboxThread``, so sync tests and any test's
event loop can use it, and answers each notification with ``answer`` (``OK`` by default,
which ends the gateway's retries; anything else makes it retry).

>>> with NotifyRecorder() as recorder:
...     ...  # create an order with notify_url=recorder.url, pay it
...     [body] = recorder.wait(1)               # or: await recorder.wait_async(1)
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from ..hosts import url_host
from .app import parse_fields
from .threaded import LoopThread

__all__ = ["NotifyRecorder"]


class NotifyRecorder(LoopThread):
    """Records POSTed notifications: ``received`` (parsed JSON objects, numbers kept as
    sent), ``bodies`` (the raw bytes of every POST). ``answer``/``status`` may be changed at
    any time; they apply to the next notification."""

    _thread_name = "vexora-notify-recorder"

    def __init__(
        self,
        *,
        answer: str = "OK",
        status: int = 200,
        host: str = "127.0.0.1",
        path: str = "/notify",
        startup_timeout: float = 10.0,
    ) -> None:
        self.answer = answer
        self.status = status
        self.path = path if path.startswith("/") else f"/{path}"
        self.received: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self._host = host
        super().__init__(startup_timeout)
        self._url: str | None = None
        self._changed = threading.Condition()
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def url(self) -> str:
        """The endpoint's URL, to use as an order's ``notify_url``."""
        if self._url is None:
            raise RuntimeError("the recorder is not serving")
        return self._url

    # -- waiting --------------------------------------------------------------------------

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``count`` notifications arrived in all; the parsed bodies so far.
        Raises ``TimeoutError`` after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.bodies) >= count, timeout):
                raise TimeoutError(f"{len(self.bodies)} of {count} notifications arrived")
            return list(self.received)

    async def wait_async(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """``wait`` for async tests: await it from any event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._changed:
            if len(self.bodies) >= count:
                return list(self.received)
            self._waiters.append((count, loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"{len(self.bodies)} of {count} notifications arrived") from None
        finally:
            with self._changed:
                self._waiters = [w for w in self._waiters if w[2] is not future]
        with self._changed:
            return list(self.received)

    # -- serving --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        parsed = parse_fields(body)
        answer, status = self.answer, self.status
        with self._changed:
            self.bodies.append(body)
            if parsed is not None:
                self.received.append(parsed)
            arrived = len(self.bodies)
            for count, loop, future in self._waiters:
                if arrived >= count:
                    loop.call_soon_threadsafe(_resolve, future)
            self._changed.notify_all()
        return web.Response(text=answer, status=status)

    def start(self) -> NotifyRecorder:
        """Start serving; returns once the port is bound."""
        super().start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._url = None

    async def _serve(self, stopping: asyncio.Event) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            await runner.setup()
            site = web.TCPSite(runner, self._host, 0)
            await site.start()
            port = runner.addresses[0][1]
            self._url = f"http://{url_host(self._host, port)}{self.path}"
            self._ready.set()
            await stopping.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> NotifyRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"NotifyRecorder(url={self._url!r}, received={len(self.bodies)})"


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
