"""pytest plugin: the ``vexora_sandbox`` fixture, a sandbox gateway on a free loopback port,
and ``notify_recorder``, a merchant notify endpoint that records what it receives.

Registered through the ``pytest11`` entry point, so installing the package is enough. The
fixtures are synchronous (each serves from its own loop in a thread): they need no
pytest-asyncio and work with any test's event loop. This module imports only pytest until
a fixture is used, and adds nothing to a run that does not use them but two markers.

    def test_checkout(vexora_sandbox):
        client = vexora_sandbox.client("IDR")          # merchant 0000000001 / TESTSECRET
        ...
        vexora_sandbox.pay(None, trade_no)
        vexora_sandbox.ledger.order(trade_no)
        vexora_sandbox.payouts.fund("0000000001", 500000)   # before the first payout

    @pytest.mark.vexora_sandbox(time_factor=0.01)     # any SandboxThread option
    def test_slower_retries(vexora_sandbox): ...

    def test_notified(vexora_sandbox, notify_recorder):
        ...  # an order with notify_url=notify_recorder.url, paid
        [body] = notify_recorder.wait(1)                # await notify_recorder.wait_async(1)

    @pytest.mark.vexora_notify(answer="FAIL")           # the gateway retries until OK
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .sandbox import NotifyRecorder, SandboxThread

__all__ = ["DEFAULT_TIME_FACTOR", "MARKER", "NOTIFY_MARKER", "notify_recorder", "vexora_sandbox"]

MARKER = "vexora_sandbox"
NOTIFY_MARKER = "vexora_notify"
# Tests want the notification retry schedule (2 s ... 3 h) in milliseconds.
DEFAULT_TIME_FACTOR = 0.001


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the vexora_sandbox fixture, passed to "
        "vexora_async.sandbox.SandboxThread (time_factor, merchants, allow_external_notify, "
        "sandbox)",
    )
    config.addinivalue_line(
        "markers",
        f"{NOTIFY_MARKER}(**options): options for the notify_recorder fixture (answer, status, "
        "path), passed to vexora_async.sandbox.NotifyRecorder",
    )


def _options(request: pytest.FixtureRequest, marker_name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(marker_name)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{marker_name} takes keyword options only")
    return dict(marker.kwargs)


@pytest.fixture
def vexora_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxThread]:
    """A running ``SandboxThread`` with one merchant per built-in profile
    (``vexora_async.sandbox.TEST_MERCHANTS``): ``base_url``, ``merchants``, ``client()``,
    ``ledger``, ``faults``, ``pay()``/``pay_async()``, ``wait_for_notifications()``/
    ``notifications_settled()``, and ``payouts`` (``fund()``, ``balances``, ``ledger``,
    ``decide()``, ``settled()``/``wait_settled()``...; see ``ThreadedPayouts``)."""
    from .sandbox import SandboxThread  # aiohttp.web only for the tests that use it

    options: dict[str, Any] = {"time_factor": DEFAULT_TIME_FACTOR}
    options.update(_options(request, MARKER))
    with SandboxThread(**options) as sandbox:
        yield sandbox


@pytest.fixture
def notify_recorder(request: pytest.FixtureRequest) -> Iterator[NotifyRecorder]:
    """A running ``NotifyRecorder`` on 127.0.0.1: ``url`` (use it as the order's
    ``notify_url``), ``received`` (parsed bodies), ``bodies`` (raw), ``wait(n)`` /
    ``await wait_async(n)`` (until n arrived, no polling), ``answer``/``status`` (``OK``/200
    by default; set them, or ``@pytest.mark.vexora_notify(answer="FAIL")``)."""
    from .sandbox import NotifyRecorder

    with NotifyRecorder(**_options(request, NOTIFY_MARKER)) as recorder:
        yield recorder
