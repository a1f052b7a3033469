"""pytest plugin: the ``vexora_sandbox`` fixture, a sandbox gateway on a free loopback port.

Registered through the ``pytest11`` entry point, so installing the package is enough. The
fixture is synchronous (the sandbox runs its own loop in a thread): it needs no
pytest-asyncio and works with any test's event loop. This module imports only pytest until
the fixture is used, and adds nothing to a run that does not use it but a marker.

    def test_checkout(vexora_sandbox):
        client = vexora_sandbox.client("IDR")          # merchant 0000000001 / TESTSECRET
        ...
        vexora_sandbox.pay(None, trade_no)
        vexora_sandbox.ledger.order(trade_no)

    @pytest.mark.vexora_sandbox(time_factor=0.01)     # any SandboxThread option
    def test_slower_retries(vexora_sandbox): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .sandbox import SandboxThread

__all__ = ["DEFAULT_TIME_FACTOR", "MARKER", "vexora_sandbox"]

MARKER = "vexora_sandbox"
# Tests want the notification retry schedule (2 s ... 3 h) in milliseconds.
DEFAULT_TIME_FACTOR = 0.001


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the vexora_sandbox fixture, passed to "
        "vexora_async.sandbox.SandboxThread (time_factor, merchants, allow_external_notify, "
        "sandbox)",
    )


@pytest.fixture
def vexora_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxThread]:
    """A running ``SandboxThread`` with one merchant per built-in profile
    (``vexora_async.sandbox.TEST_MERCHANTS``): ``base_url``, ``merchants``, ``client()``,
    ``ledger``, ``faults``, ``pay()``/``pay_async()``, ``wait_for_notifications()``/
    ``notifications_settled()``."""
    from .sandbox import SandboxThread  # aiohttp.web only for the tests that use it

    options: dict[str, Any] = {"time_factor": DEFAULT_TIME_FACTOR}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword options only")
        options.update(marker.kwargs)
    with SandboxThread(**options) as sandbox:
        yield sandbox
