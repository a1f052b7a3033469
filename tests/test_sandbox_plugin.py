"""The pytest plugin's ``vexora_sandbox`` fixture (registered by the package's entry point)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vexora_async.pytest_plugin import DEFAULT_TIME_FACTOR
from vexora_async.sandbox import NotifyRecorder, SandboxMerchant, SandboxThread
from vexora_async.signing import verify

from .test_sandbox_support import MERCHANTS, PROFILES, NotifyReceiver, checkout_request


def test_fixture_in_a_sync_test(vexora_sandbox: SandboxThread) -> None:
    assert vexora_sandbox.base_url.startswith("http://127.0.0.1:")
    assert sorted(vexora_sandbox.merchants) == sorted(PROFILES)
    assert vexora_sandbox.merchant("USD").secret == MERCHANTS["USD"].secret
    assert vexora_sandbox.sandbox.time_factor == DEFAULT_TIME_FACTOR

    async def scenario() -> tuple[str, bool]:
        # This loop is not the sandbox's: the fixture works with any loop.
        async with (
            NotifyReceiver(MERCHANTS["USD"].secret) as receiver,
            vexora_sandbox.client("USD") as client,
        ):
            link = await client.create_payment_link(
                checkout_request("USD", "FIX-1", receiver.url)
            )
            order = await vexora_sandbox.pay_async(None, "FIX-1", "partial", "5.25")
            attempts = await vexora_sandbox.notifications_settled("FIX-1")
            state = await client.query_payment("FIX-1")
            assert order.status == "0001"
            assert attempts[-1].acknowledged
            assert receiver.received[0]["amount"] == "5.25"
            return link.platform_trade_no, state.status.is_partially_paid

    platform_trade_no, partial = asyncio.run(scenario())
    assert partial
    order = vexora_sandbox.ledger.order("FIX-1")
    assert order is not None
    assert order.platform_trade_no == platform_trade_no


async def test_fixture_in_an_async_test(vexora_sandbox: SandboxThread) -> None:
    async with vexora_sandbox.client("PAYPRO_IDR") as client:
        await client.create_payment_link(checkout_request("PAYPRO_IDR", "FIX-2"))
    # Blocking calls are fine here: the notify URL is not served by this loop (it is
    # external, so the sandbox skips it).
    vexora_sandbox.pay(None, "FIX-2", "failed")
    attempts = vexora_sandbox.wait_for_notifications("FIX-2")
    order = vexora_sandbox.ledger.order("FIX-2")
    assert [a.skipped for a in attempts] == [True]
    assert order is not None
    assert order.status == "00029"


@pytest.mark.vexora_sandbox(
    time_factor=0.5, merchants=[SandboxMerchant("0000000077", "S", "KHR")]
)
def test_marker_options(vexora_sandbox: SandboxThread) -> None:
    assert vexora_sandbox.sandbox.time_factor == 0.5
    assert list(vexora_sandbox.sandbox.merchants) == ["0000000077"]
    assert vexora_sandbox.merchants["KHR"].merchant_no == "0000000077"


USER_TESTS = '''
import asyncio

import pytest

from vexora_async import CheckoutRequest


def test_link(vexora_sandbox):
    async def create():
        async with vexora_sandbox.client("IDR") as client:
            return await client.create_payment_link(CheckoutRequest(
                trade_no="U1", amount=10000, username="A", mobile="081234567890",
                email="a@example.com", notify_url="https://merchant.example/notify",
            ))

    link = asyncio.run(create())
    assert vexora_sandbox.pay(None, "U1").status == "0000"
    assert vexora_sandbox.wait_for_notifications("U1")[0].skipped
    assert vexora_sandbox.ledger.order("U1").platform_trade_no == link.platform_trade_no


@pytest.mark.vexora_sandbox(time_factor=0.25)
def test_marker(vexora_sandbox):
    assert vexora_sandbox.sandbox.time_factor == 0.25


def _order(trade_no, notify_url):
    return CheckoutRequest(
        trade_no=trade_no, amount=10000, username="A", mobile="081234567890",
        email="a@example.com", notify_url=notify_url,
    )


def test_notified(vexora_sandbox, notify_recorder):
    async def create():
        async with vexora_sandbox.client("IDR") as client:
            return await client.create_payment_link(_order("U2", notify_recorder.url))

    asyncio.run(create())
    vexora_sandbox.pay(None, "U2")
    [body] = notify_recorder.wait(1)
    assert (body["tradeNo"], body["status"]) == ("U2", "0000")


@pytest.mark.vexora_notify(answer="FAIL")
def test_not_acknowledged(vexora_sandbox, notify_recorder):
    async def create():
        async with vexora_sandbox.client("IDR") as client:
            return await client.create_payment_link(_order("U3", notify_recorder.url))

    asyncio.run(create())
    vexora_sandbox.pay(None, "U3")
    first, second = notify_recorder.wait(2)  # not "OK": the gateway tries again
    assert first["tradeNo"] == second["tradeNo"] == "U3"
'''


def test_plugin_needs_no_pytest_asyncio(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:asyncio", "-p", "no:cacheprovider",
         "-q", "test_user.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_plugin_module_imports_no_sandbox() -> None:
    code = "import sys, vexora_async.pytest_plugin; print('vexora_async.sandbox' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_redeliver_sends_the_same_notification_again(vexora_sandbox: SandboxThread) -> None:
    async def scenario() -> None:
        async with (
            NotifyReceiver(MERCHANTS["IDR"].secret) as receiver,
            vexora_sandbox.client("IDR") as client,
        ):
            await client.create_payment_link(checkout_request("IDR", "FIX-R", receiver.url))
            await vexora_sandbox.pay_async(None, "FIX-R")
            await vexora_sandbox.notifications_settled("FIX-R")
            vexora_sandbox.redeliver("FIX-R")
            attempts = await vexora_sandbox.notifications_settled("FIX-R")
            assert attempts[-1].acknowledged

    asyncio.run(scenario())
    deliveries = [a.delivery for a in vexora_sandbox.ledger.notifications("FIX-R")]
    assert deliveries == [1, 2]


async def test_notify_recorder_in_an_async_test(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder
) -> None:
    assert notify_recorder.url.startswith("http://127.0.0.1:")
    async with vexora_sandbox.client("KHR") as client:
        await client.create_payment_link(
            checkout_request("KHR", "REC-1", notify_recorder.url)
        )
    notify_recorder.answer = "busy"  # the first is refused, so the gateway retries
    await vexora_sandbox.pay_async(None, "REC-1", "partial")
    first = await notify_recorder.wait_async(1)
    notify_recorder.answer = "OK"
    both = await notify_recorder.wait_async(2)
    attempts = await vexora_sandbox.notifications_settled("REC-1")
    assert [a.acknowledged for a in attempts] == [False, True]
    assert first[0]["tradeNo"] == "REC-1" and first[0]["status"] == "0001"
    assert both[1] == both[0] | {"timestamp": both[1]["timestamp"], "sign": both[1]["sign"]}
    assert verify(both[1], MERCHANTS["KHR"].secret)
    with pytest.raises(TimeoutError, match="2 of 3"):
        await notify_recorder.wait_async(3, timeout=0.05)
    with pytest.raises(TimeoutError, match="2 of 3"):
        notify_recorder.wait(3, timeout=0.05)


@pytest.mark.vexora_notify(answer="nope", status=500, path="hook")
def test_notify_marker(notify_recorder: NotifyRecorder) -> None:
    assert notify_recorder.url.endswith("/hook")
    assert (notify_recorder.answer, notify_recorder.status) == ("nope", 500)
    assert "received=0" in repr(notify_recorder)
