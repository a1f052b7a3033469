"""What the subcommands share: credentials from options or the environment, exit codes,
and progress output (rich when the ``cli`` extra is installed, plain lines otherwise)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

from .._loop import run as run_loop
from ..client import ENVIRONMENT, VexoraClient
from ..errors import ConfigurationError
from ..ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED_ROWS",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID_INPUT",
    "EXIT_OK",
    "EXIT_USAGE",
    "Progress",
    "Stop",
    "add_credentials",
    "add_rate_limit",
    "client_from",
    "endpoint",
    "fail",
    "plural",
    "rate_limit_from",
    "run_stoppable",
    "setting",
]

# Exit codes scripts can rely on (README: "Exit codes").
EXIT_OK = 0
EXIT_FAILED_ROWS = 1  # the command ran, but some orders are not created (see the output)
EXIT_USAGE = 2  # argparse's own
EXIT_INVALID_INPUT = 3  # input rejected before anything was sent
EXIT_CONFIG = 4  # missing or bad credentials, base URL, region or journal
EXIT_INTERRUPTED = 130  # stopped by Ctrl+C (128 + SIGINT); a batch resumes on the next run

ENV = ENVIRONMENT  # the variables VexoraClient.from_env reads


def add_credentials(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "account",
        "each falls back to its environment variable; prefer VEXORA_SECRET over "
        "--secret (command lines are visible to other users of the machine)",
    )
    group.add_argument("--merchant-no", help="merchant number (VEXORA_MERCHANT_NO)")
    group.add_argument("--secret", help="app secret (VEXORA_SECRET)")
    group.add_argument("--base-url", help="gateway base URL (VEXORA_BASE_URL)")
    group.add_argument("--region", help="region profile, e.g. IDR (VEXORA_REGION; default IDR)")
    connection = parser.add_argument_group("connection")
    connection.add_argument(
        "--http", choices=("aiohttp", "http11"), default="aiohttp",
        help="HTTP client: aiohttp's (default) or the SDK's lean HTTP/1.1 one, for less CPU",
    )


def add_rate_limit(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "rate limit",
        "requests per second to the gateway, retries included; with --rate-redis every "
        "process naming the same Redis and key shares one budget",
    )
    group.add_argument("--rate", type=float, help="requests per second (no limit by default)")
    group.add_argument("--burst", type=int, default=1, help="requests at once after a pause (1)")
    group.add_argument("--rate-redis", metavar="URL", help="share the limit through this Redis")
    group.add_argument(
        "--rate-key", metavar="KEY", help="the shared limit's name (default: the merchant number)"
    )


def rate_limit_from(args: argparse.Namespace) -> RateLimiter | None:
    """The limiter ``--rate`` asks for, or None."""
    rate = getattr(args, "rate", None)
    if rate is None:
        if getattr(args, "rate_redis", None):
            raise ConfigurationError("--rate-redis needs --rate")
        return None
    burst = getattr(args, "burst", 1)
    redis_url = getattr(args, "rate_redis", None)
    if redis_url:
        key = getattr(args, "rate_key", None) or setting(args, "merchant_no") or "vexora"
        return RedisRateLimiter(redis_url, key, rate, burst)
    return LocalRateLimiter(rate, burst)


def setting(args: argparse.Namespace, name: str) -> str | None:
    value = getattr(args, name, None)
    return value if value else os.environ.get(ENV[name]) or None


def client_from(args: argparse.Namespace, **options: Any) -> VexoraClient:
    """A client from the options/environment; ``ConfigurationError`` names what is missing."""
    missing = [
        f"--{name.replace('_', '-')} ({ENV[name]})"
        for name in ("merchant_no", "secret", "base_url")
        if not setting(args, name)
    ]
    if missing:
        raise ConfigurationError("missing " + ", ".join(missing))
    given = {name: getattr(args, name) for name in ENV if getattr(args, name, None)}
    options.setdefault("http", getattr(args, "http", None) or "aiohttp")
    limiter = None if "rate_limit" in options else rate_limit_from(args)
    if limiter is None:
        return VexoraClient.from_env(**given, **options)
    return _LimitedClient.from_env(**given, rate_limit=limiter, **options)


class _LimitedClient(VexoraClient):
    """A command's client with the rate limiter its options made: closing the client closes
    the limiter too (a shared one holds a Redis connection)."""

    def __init__(self, *, rate_limit: RateLimiter, **options: Any) -> None:
        super().__init__(rate_limit=rate_limit, **options)
        self._limiter = rate_limit

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            if isinstance(self._limiter, RedisRateLimiter):
                await self._limiter.aclose()


T = TypeVar("T")


class Stop:
    """Set by the first Ctrl+C: work that can wind down gracefully checks ``requested``."""

    def __init__(self) -> None:
        self.requested = False


def run_stoppable(
    main: Coroutine[Any, Any, T], stopping: str, *, stop: Stop | None = None, grace: float = 0.5
) -> T | None:
    """Run ``main`` (on uvloop when installed), stopped cleanly by one Ctrl+C: None if it
    was cancelled.

    The first Ctrl+C says so at once and sets ``stop.requested`` (no new work starts); after
    ``grace`` seconds ``main`` is cancelled, and its ``finally`` blocks and TaskGroups wind
    down whatever is still in flight. A second Ctrl+C interrupts at once.
    """

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_sigint() -> None:
            print(f"vexora-async: stopping ({stopping}); Ctrl+C again to quit at once",
                  file=sys.stderr, flush=True)  # fmt: skip
            loop.remove_signal_handler(signal.SIGINT)  # the next one raises KeyboardInterrupt
            if stop is None:
                task.cancel()
            else:
                stop.requested = True
                loop.call_later(grace, task.cancel)

        installed = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)  # main thread, POSIX only
            installed = True
        try:
            return await main
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        # uvloop when installed (the ``uvloop`` extra): less CPU per request;
        # VEXORA_NO_UVLOOP=1 turns it off.
        return run_loop(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return None


def endpoint(base_url: str) -> str:
    """``host:port`` of a base URL, for messages about connecting."""
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    host = parts.hostname or base_url
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows`` (``many``: an irregular plural)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def fail(message: str, code: int) -> int:
    """Say what went wrong on stderr; the exit code to return."""
    print(f"vexora-async: {message}", file=sys.stderr)
    return code


class Progress:
    """A progress bar on a terminal (rich if installed), ``progress N/TOTAL`` lines otherwise
    (every ``every`` items), or nothing (``mode="none"``)."""

    def __init__(self, total: int, description: str, mode: str = "auto", every: int = 100) -> None:
        self.total = total
        self.done = 0
        self._every = max(1, every)
        self._bar: Any = None
        self._task: Any = None
        self._write: Callable[[str], None] | None = None
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        if mode == "bar":
            self._bar = _rich_progress(description, total)
            if self._bar is None:
                mode = "lines"
            else:
                self._task = self._bar.add_task(description, total=total)
        if mode == "lines":
            self._write = _line_writer(sys.stdout)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        elif self._write is not None and (self.done % self._every == 0 or self.done == self.total):
            self._write(f"progress {self.done}/{self.total}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _rich_progress(description: str, total: int) -> Any:
    try:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress as RichProgress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        return None
    return RichProgress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )


def _line_writer(stream: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()  # a supervising process reads these as they come

    return write


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column table (rich if installed)."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        width = max((len(k) for k, _ in rows), default=0)
        for key, value in rows:
            print(f"  {key:<{width}}  {value}")
        return
    table = Table(title=title, show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)
