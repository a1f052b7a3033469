"""process_notification without HTTP: outcomes, the amount check, store failures, logging."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from vexora_async import ConfigurationError
from vexora_async.dedupe import Claim, MemoryNotificationStore
from vexora_async.models import Money
from vexora_async.notify import ExpectedAmount, NotificationOutcome as Outcome, process_notification

from .test_notify_support import SECRET, Callback, body_of, genuine_body, notification_fields


def expecting(amount: Money | None) -> ExpectedAmount:
    async def expected(trade_no: str) -> Money | None:
        return amount

    return expected


async def test_processed_then_duplicate() -> None:
    store, callback = MemoryNotificationStore(), Callback()
    first = await process_notification(genuine_body(), SECRET, callback, store=store)
    again = await process_notification(genuine_body(), SECRET, callback, store=store)
    assert (first.outcome, first.http_status, first.body) == (Outcome.PROCESSED, 200, "OK")
    assert (again.outcome, again.http_status, again.body) == (Outcome.DUPLICATE, 200, "OK")
    assert len(callback.calls) == 1 and first.notification == callback.calls[0]


async def test_without_a_store_every_delivery_runs_the_callback() -> None:
    callback = Callback()
    for _ in range(3):
        result = await process_notification(genuine_body(), SECRET, callback, store=None)
        assert result.ok
    assert len(callback.calls) == 3


async def test_a_grown_partial_payment_is_not_a_duplicate() -> None:
    store, callback = MemoryNotificationStore(), Callback()
    for amount in ("3000", "6000", "6000"):
        body = genuine_body(status="0001", amount=amount)
        assert (await process_notification(body, SECRET, callback, store=store)).ok
    assert [n.amount for n in callback.calls] == [Decimal(3000), Decimal(6000)]


@pytest.mark.parametrize(
    ("status", "amount", "expected", "outcome"),
    [
        ("0000", "10000", Decimal("10000.00"), Outcome.PROCESSED),
        ("0000", "10000", 20000, Outcome.AMOUNT_MISMATCH),
        ("0000", "10000", None, Outcome.AMOUNT_MISMATCH),  # an order you do not know
        ("0001", "4000", 10000, Outcome.PROCESSED),
        ("0001", "10000", 10000, Outcome.AMOUNT_MISMATCH),
        ("00029", "10000", None, Outcome.PROCESSED),  # a failure moves no money: not checked
    ],
)
async def test_amount_check(
    status: str, amount: str, expected: Money | None, outcome: Outcome
) -> None:
    callback = Callback()
    result = await process_notification(
        genuine_body(status=status, amount=amount),
        SECRET,
        callback,
        store=MemoryNotificationStore(),
        expected_amount=expecting(expected),
    )
    assert result.outcome is outcome
    assert len(callback.calls) == (outcome is Outcome.PROCESSED)
    if outcome is Outcome.AMOUNT_MISMATCH:
        assert (result.http_status, result.body) == (400, "amount mismatch")
        assert result.expected == expected


async def test_a_mismatch_is_retried_and_processed_once_corrected() -> None:
    store, callback = MemoryNotificationStore(), Callback()
    wrong = await process_notification(
        genuine_body(), SECRET, callback, store=store, expected_amount=expecting(99)
    )
    right = await process_notification(
        genuine_body(), SECRET, callback, store=store, expected_amount=expecting(10000)
    )
    assert (wrong.outcome, right.outcome) == (Outcome.AMOUNT_MISMATCH, Outcome.PROCESSED)
    assert len(callback.calls) == 1


async def test_a_float_expected_amount_is_an_error_not_a_match() -> None:
    callback = Callback()

    async def float_amount(trade_no: str) -> Money | None:
        return 10000.0  # type: ignore[return-value]

    result = await process_notification(
        genuine_body(), SECRET, callback, store=None, expected_amount=float_amount
    )
    assert (result.outcome, result.http_status) == (Outcome.FAILED, 500)
    assert callback.calls == []


class BrokenStore(MemoryNotificationStore):
    async def claim(self, key: str) -> Claim:
        raise OSError("disk full")


async def test_a_failing_store_answers_500_and_runs_nothing() -> None:
    callback = Callback()
    result = await process_notification(genuine_body(), SECRET, callback, store=BrokenStore())
    assert (result.outcome, result.http_status, result.body) == (Outcome.FAILED, 500, "error")
    assert isinstance(result.error, OSError) and callback.calls == []


async def test_a_cancelled_callback_releases_its_claim() -> None:
    store, callback = MemoryNotificationStore(), Callback()
    callback.gate = asyncio.Event()
    task = asyncio.create_task(process_notification(genuine_body(), SECRET, callback, store=store))
    await callback.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    callback.gate = None
    retry = await process_notification(genuine_body(), SECRET, callback, store=store)
    assert retry.outcome is Outcome.PROCESSED and len(callback.succeeded) == 1


async def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        await process_notification(genuine_body(), "", Callback(), store=None)


async def test_logs_name_trade_and_outcome_but_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="vexora_async")
    fields = notification_fields("T-LOG", mobile="081234567890", email="budi@example.com")
    body = genuine_body("T-LOG", mobile="081234567890", email="budi@example.com")
    store, extra = MemoryNotificationStore(), ("mobile", "email")
    await process_notification(body, SECRET, Callback(), store=store, extra_keys=extra)
    await process_notification(
        body_of({**fields, "sign": "0" * 32}), SECRET, Callback(), store=store, extra_keys=extra
    )
    await process_notification(body, SECRET, Callback(), store=store)  # keys not allowed
    await process_notification(genuine_body("T-FAIL"), SECRET, Callback(fail=True), store=store)
    text = caplog.text
    assert "T-LOG" in text and "processed" in text and "bad_signature" in text
    assert "malformed (UnknownNotificationKey: 'email', 'mobile')" in text
    assert "failed (RuntimeError)" in text
    assert all(r.name == "vexora_async.notify" for r in caplog.records)
    for secret_value in (SECRET, "081234567890", "budi@example.com", "merchant database"):
        assert secret_value not in text
    assert "sign" not in text.replace("bad_signature", "")


async def test_result_repr_shows_the_error_type_only() -> None:
    result = await process_notification(
        genuine_body(), SECRET, Callback(fail=True), store=MemoryNotificationStore()
    )
    assert "RuntimeError" in repr(result) and "merchant database" not in repr(result)
