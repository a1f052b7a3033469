"""A whole scenario with DEBUG logging: no secret, full sign, mobile or email may appear in any
log line, repr or str of clients, requests, responses, results or exceptions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from vexora_async import (
    CheckoutRequest,
    MalformedNotification,
    OrderExists,
    OrderRejected,
    SignatureError,
    ValidationError,
    VexoraError,
    parse_notification,
    signing,
)
from vexora_async.call import ApiCall, Envelope
from vexora_async.middleware import SIGNING, Next
from vexora_async.notify import PaymentNotification, notification_handler, process_notification
from vexora_async.retry import RetryPolicy
from vexora_async.sandbox import FaultKind, SandboxThread

SECRET = "TESTSECRET"  # the IDR test merchant's
MOBILE = "081298765432"
EMAIL = "siti.rahayu@example.co.id"
NAME = "Siti Rahayu"


@pytest.fixture
async def notify_server() -> AsyncIterator[tuple[str, list[PaymentNotification]]]:
    received: list[PaymentNotification] = []

    async def on_payment(notification: PaymentNotification) -> None:
        received.append(notification)

    app = web.Application()
    app.router.add_post("/notify", notification_handler(SECRET, on_payment))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/notify", received
    await runner.cleanup()


def _request(trade_no: str, notify_url: str, **changes: Any) -> CheckoutRequest:
    fields: dict[str, Any] = {
        "trade_no": trade_no,
        "amount": 150000,
        "username": NAME,
        "mobile": MOBILE,
        "email": EMAIL,
        "notify_url": notify_url,
    }
    fields.update(changes)
    return CheckoutRequest(**fields)


async def test_nothing_private_reaches_logs_or_reprs(
    vexora_sandbox: SandboxThread,
    notify_server: tuple[str, list[PaymentNotification]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    notify_url, received = notify_server
    signs: list[str] = []
    seen: list[object] = []

    async def record_signs(call: ApiCall, next_: Next) -> Envelope:
        signs.append(call.fields["sign"])
        envelope = await next_(call)
        seen.extend([call, envelope])
        return envelope

    async def below_the_gateway_minimum(call: ApiCall, next_: Next) -> Envelope:
        if call.trade_no == "RED0007":  # passes our validation, then the gateway refuses it
            return await next_(call.replace(fields={**call.fields, "amount": 5}))
        return await next_(call)

    caplog.set_level(logging.DEBUG, logger="vexora_async")
    policy = RetryPolicy(backoff=0.001, attempt_timeout=2.0, settle_window=0.05)
    async with vexora_sandbox.client(
        "IDR", middlewares=[below_the_gateway_minimum, SIGNING, record_signs], retry=policy
    ) as client:
        seen.append(client)
        # created, then created after a retry, then "exists" (stored; the answer lost twice)
        request = _request("RED0001", notify_url)
        seen.extend([request, await client.create_payment_link(request)])
        vexora_sandbox.faults.inject("RED0002", FaultKind.SERVER_ERROR_BEFORE_STORE)
        seen.append(await client.create_payment_link(_request("RED0002", notify_url)))
        vexora_sandbox.faults.inject("RED0003", FaultKind.DROP_AFTER_STORE)
        with pytest.raises(OrderExists) as exists:
            await client.create_payment_link(_request("RED0003", notify_url))
        seen.append(exists.value)
        # refused locally, and by the gateway
        with pytest.raises(ValidationError) as invalid:
            await client.create_payment_link(_request("RED0004", notify_url, mobile="0712"))
        seen.append(invalid.value)
        with pytest.raises(OrderExists) as again:  # created before: never "rejected"
            await client.create_payment_link(request)
        seen.append(again.value)
        with pytest.raises(OrderRejected) as rejected:
            await client.create_payment_link(_request("RED0007", notify_url))
        seen.append(rejected.value)
        # paid, notified, queried
        await vexora_sandbox.pay_async(None, "RED0001")
        attempts = await vexora_sandbox.notifications_settled("RED0001")
        seen.extend([*attempts, await client.query_payment("RED0001")])
        seen.extend(received)
        # batch results
        batch = await client.create_payment_links(
            [
                _request("RED0005", notify_url),
                _request("RED0006", notify_url, email="x"),
                # text that used to reach signing and raise with the secret in its args
                _request("RED0007", notify_url, username=NAME + "\ud800"),
                _request("RED0008", notify_url, username=NAME + "\r\n", email=EMAIL + "\x00"),
            ]
        )
        assert [r.ok for r in batch] == [True, False, False, False]
        seen.extend(batch)
        seen.extend(result.error for result in batch if result.error is not None)

    # a forged notification, and one signed with another secret
    forged = b'{"tradeNo":"RED0001","status":"0000","amount":"1","sign":"' + b"0" * 32 + b'"}'
    with pytest.raises(SignatureError) as forged_error:
        parse_notification(forged, SECRET)
    seen.append(forged_error.value)
    result = await process_notification(forged, SECRET, _never, store=None)
    seen.append(result)
    async with aiohttp.ClientSession() as session, session.post(notify_url, data=forged) as answer:
        assert answer.status == 400
    # re-cut notifications carrying payer data: refused, naming keys and never values
    for recut in (
        {"tradeNo": "RED0001", "status": "0000", "amount": "1", "mobile": MOBILE},
        {"tradeNo": "RED0001", "status": "0000", "amount": "1", "remark": f"{EMAIL}tradeNo=1"},
    ):
        recut_sign = signing.sign(recut, SECRET)
        with pytest.raises(MalformedNotification) as recut_error:
            parse_notification({**recut, "sign": recut_sign}, SECRET)
        seen.append(recut_error.value)
        seen.append(await process_notification({**recut, "sign": recut_sign}, SECRET, _never))
        signs.append(recut_sign)

    assert [n.trade_no for n in received] == ["RED0001"]
    assert len(signs) >= 8
    texts = [message for record in caplog.records for message in (record.getMessage(),)]
    assert any("RED0003" in text for text in texts)  # the retries were logged
    texts += [repr(item) for item in seen] + [str(item) for item in seen]
    texts += [repr(vexora_sandbox), repr(vexora_sandbox.merchants)]
    private = [SECRET, MOBILE, EMAIL, NAME, *signs]
    leaks = [(p, t) for t in texts for p in private if p in t]
    assert leaks == []
    assert any(isinstance(item, VexoraError) for item in seen)


async def _never(notification: PaymentNotification) -> None:
    raise AssertionError("a forged notification must never be processed")
