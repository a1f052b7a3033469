"""Session fixtures: real Redis and PostgreSQL servers (``tests/servers.py``).

A missing server binary or client package skips the tests that need it, with the reason
repeated at the end of the run; with ``CI=true`` it fails them instead, so CI never passes
without having run them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from .servers import PostgresServer, RedisServer, ServerUnavailable, start_postgres, start_redis

_MISSING: set[str] = set()


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: these tests must run)", pytrace=False)
    _MISSING.add(message)
    pytest.skip(message)


def _require(module: str, extra: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        _unavailable(f"the {module!r} package is not installed (pip install -e '.[{extra}]')")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    _require("redis", "redis")
    try:
        server = start_redis()
    except ServerUnavailable as exc:
        _unavailable(f"Redis tests did not run: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    _require("asyncpg", "postgres")
    try:
        server = start_postgres()
    except ServerUnavailable as exc:
        _unavailable(f"PostgreSQL tests did not run: {exc}")
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for message in sorted(_MISSING):
        terminalreporter.write_line(f"NOT TESTED: {message}", yellow=True, bold=True)
