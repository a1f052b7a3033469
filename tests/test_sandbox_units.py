"""The sandbox's parts one by one: merchants, hosts, faults, ledger, payments, control API,
cashier forms, the thread host, and serving without sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from vexora_async import ConfigurationError, MemoryTransport, OutcomeUnknown, VexoraClient
from vexora_async.hosts import is_loopback_host, is_loopback_url, url_host
from vexora_async.regions import PHP, FieldRule, rules
from vexora_async.retry import RetryPolicy
from vexora_async.sandbox import (
    TEST_MERCHANTS,
    FaultKind,
    FaultPolicy,
    Ledger,
    Order,
    RequestRecord,
    Sandbox,
    SandboxError,
    SandboxMerchant,
    SandboxThread,
    check_bind_host,
    notification_fields,
    run_sandbox,
)
from vexora_async.sandbox.app import parse_fields
from vexora_async.sandbox.checks import is_json_number
from vexora_async.sandbox.merchants import parse_merchant
from vexora_async.signing import sign, verify
from vexora_async.wire import JsonNumber

from .test_sandbox_support import (
    MERCHANTS,
    checkout_request,
    get,
    post,
    post_form,
    wire_body,
)

IDR = MERCHANTS["IDR"]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(time_factor=0.001) as served:
        yield served


async def stored(sandbox: Sandbox, profile: str, trade_no: str, **changes: object) -> Order:
    merchant = MERCHANTS[profile]
    answer = await post(
        f"{sandbox.base_url}{merchant.profile.checkout_path}",
        wire_body(profile, trade_no, **changes),
        merchant_no=merchant.merchant_no,
    )
    assert answer.code == "0000", answer.json()
    order = sandbox.ledger.order(trade_no, merchant.merchant_no)
    assert order is not None
    return order


# -- merchants and hosts ------------------------------------------------------------------


def test_merchants() -> None:
    merchant = parse_merchant("0000000009:A:B:KHR")
    assert (merchant.merchant_no, merchant.secret, merchant.profile.name) == (
        "0000000009", "A:B", "KHR"
    )
    assert merchant.profile.response.payment_url[0] == "paymentLink"  # the profile's shape
    assert parse_merchant("0000000009:SECRET").profile.name == "IDR"
    assert "SECRET" not in repr(parse_merchant("0000000009:SECRET"))
    for spec in ("0000000009", "0000000009:", "x:SECRET"):
        with pytest.raises(ConfigurationError):
            parse_merchant(spec)
    with pytest.raises(ConfigurationError):
        SandboxMerchant("0000000009", "")


def test_hosts() -> None:
    for host in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "LOCALHOST."):
        assert is_loopback_host(host), host
    for host in ("", None, "0.0.0.0", "10.0.0.1", "192.168.1.1", "example.com", "::"):
        assert not is_loopback_host(host), host
    assert is_loopback_url("http://localhost:8080/notify")
    assert not is_loopback_url("https://google.com")
    assert not is_loopback_url("http://[::1")  # unparsable: not provably local
    assert url_host("::1", 80) == "[::1]:80"
    assert url_host("127.0.0.1", 80) == "127.0.0.1:80"
    check_bind_host("127.0.0.1", False)
    check_bind_host("10.0.0.1", True)
    with pytest.raises(ConfigurationError, match="loopback"):
        check_bind_host("10.0.0.1", False)


async def test_refuses_non_loopback_before_binding() -> None:
    with pytest.raises(ConfigurationError):
        async with run_sandbox(host="192.0.2.10"):
            pass  # pragma: no cover - never reached
    with pytest.raises(ConfigurationError):
        SandboxThread(host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="not both"):
        SandboxThread(TEST_MERCHANTS, sandbox=Sandbox())


async def test_localhost_binds_ipv4_loopback() -> None:
    async with run_sandbox(host="localhost") as sandbox:
        assert sandbox.base_url is not None
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert (await get(sandbox.base_url + "/sandbox")).status == 200
    assert sandbox.base_url is None


def test_sandbox_configuration() -> None:
    with pytest.raises(ConfigurationError):
        Sandbox(time_factor=0)
    sandbox = Sandbox(TEST_MERCHANTS)
    sandbox.add_merchant(TEST_MERCHANTS[0])  # the same account again is fine
    with pytest.raises(ConfigurationError, match="already"):
        sandbox.add_merchant(SandboxMerchant(IDR.merchant_no, "OTHER"))
    assert sandbox.find_merchant("php").merchant_no == MERCHANTS["PHP"].merchant_no
    with pytest.raises(SandboxError):
        sandbox.find_merchant("nobody")
    with pytest.raises(SandboxError, match="not serving"):
        sandbox.client("IDR")
    sandbox.app()
    elsewhere = PHP.with_changes(name="ELSEWHERE", checkout_path="/v2/elsewhere")
    with pytest.raises(ConfigurationError, match="before starting"):
        sandbox.add_merchant(SandboxMerchant("0000000099", "S", elsewhere))
    sandbox.add_merchant(SandboxMerchant("0000000098", "S", "USD"))  # a routed path: fine
    assert "0000000098" in sandbox.merchants
    assert "TESTSECRET" not in repr(sandbox)


async def test_custom_profile_on_its_own_path() -> None:
    # The README's example of a custom profile: a payType instead of channel/way codes.
    pay_type = PHP.with_changes(
        name="PH_PAYTYPE",
        checkout_path="/v1/vexora/ph/checkout",
        fields=(
            FieldRule("trade_no", check=rules.trade_no),
            FieldRule("payType", check=rules.one_of("GCash", "GrabPay", "Maya"), wire="payType"),
            FieldRule("notify_url", check=rules.http_url),
        ),
        conditions=(),
    )
    merchant = SandboxMerchant("0000000031", "PAYTYPE-SECRET", pay_type)
    async with (
        run_sandbox([merchant]) as sandbox,
        sandbox.client("PH_PAYTYPE") as client,
    ):
        request = checkout_request("IDR", "CUSTOM-1").__class__(
            trade_no="CUSTOM-1", amount=500, notify_url="https://merchant.example/n",
            extra={"payType": "GCash"},
        )
        link = await client.create_payment_link(request)
        # The answer has the shape of the profile it was derived from (PHP's paymentLink).
        assert link.raw[pay_type.response.payment_url[0]] == link.payment_url
        assert link.payment_url.startswith(f"{sandbox.base_url}/cashier/")
        order = sandbox.ledger.order("CUSTOM-1")
        assert order is not None
        assert order.profile == "PH_PAYTYPE"


async def test_a_failing_custom_check_is_a_system_exception() -> None:
    def broken(value: str) -> str:
        raise RuntimeError("a bug in a custom rule")

    profile = PHP.with_changes(
        name="BROKEN", fields=(FieldRule("trade_no", check=broken), FieldRule("notify_url"))
    )
    merchant = SandboxMerchant("0000000032", "S", profile)
    async with run_sandbox([merchant]) as sandbox:
        body = {"tradeNo": "BUG-1", "amount": "100", "notifyUrl": "https://merchant.example/n",
                "timestamp": "1715941383720"}
        body["sign"] = sign(body, "S")
        answer = await post(
            f"{sandbox.base_url}/v1/vexora/checkout", body, merchant_no="0000000032"
        )
    assert answer.code == "5000"
    assert "bug" not in answer.json()["msg"]
    assert len(sandbox.ledger) == 0


# -- faults ---------------------------------------------------------------------------------


def test_fault_policy() -> None:
    assert FaultKind.parse("DROP_AFTER_STORE") is FaultKind.DROP_AFTER_STORE
    assert FaultKind.parse(" 429-before-store ") is FaultKind.RATE_LIMITED
    assert FaultKind.RATE_LIMITED.before_store
    assert not FaultKind.DELAY_AFTER_STORE.before_store
    with pytest.raises(ValueError, match="known"):
        FaultKind.parse("nope")

    policy = FaultPolicy()
    assert policy.pick("checkout", "T") is None
    with pytest.raises(ValueError):
        policy.inject("T", FaultKind.UNAVAILABLE, times=0)
    with pytest.raises(ValueError):
        policy.set_rate(1.5)
    with pytest.raises(ValueError):
        policy.set_rate(0.5, kinds=[])

    policy.inject("T", "503-before-store", operation="query")
    assert policy.pick("checkout", "T") is None  # injected for queries only
    assert policy.describe()["injected"] == [
        {"operation": "query", "tradeNo": "T", "kind": "503-before-store", "remaining": 1}
    ]
    assert policy.pick("query", "T") is FaultKind.UNAVAILABLE
    assert not policy.active

    policy.set_rate(1.0, kinds=[FaultKind.DROP_AFTER_STORE])  # unseeded: random, still rate 1
    assert policy.pick("checkout", None) is FaultKind.DROP_AFTER_STORE
    assert policy.pick("query", "T") is None  # the rate covers checkout only
    policy.inject("U", FaultKind.UNAVAILABLE)
    policy.clear()
    assert not policy.active
    assert policy.pick("checkout", "U") is None


def test_seeded_rate_is_per_trade_number() -> None:
    def faulted(seed: int, order: list[str]) -> set[str]:
        policy = FaultPolicy()
        policy.set_rate(0.3, seed=seed)
        return {t for t in order if policy.pick("checkout", t) is not None}

    trades = [f"T{n}" for n in range(200)]
    first = faulted(5, trades)
    assert first == faulted(5, list(reversed(trades)))
    assert 30 < len(first) < 90
    assert first != faulted(6, trades)


# -- ledger -------------------------------------------------------------------------------


def test_ledger_bounds_its_log_but_counts_everything() -> None:
    ledger = Ledger(log_size=3)
    for n in range(5):
        ledger.record(RequestRecord("checkout", None, f"T{n}", "rejected", "1002"))
    assert [r.trade_no for r in ledger.requests()] == ["T2", "T3", "T4"]
    assert ledger.counts()["checkout"] == {"rejected": 5}


def test_ledger_arrivals_and_ambiguity() -> None:
    ledger = Ledger()
    assert ledger.arrive("A", "T") is None
    assert ledger.arrive("B", "T") is None
    assert ledger.checkout_requests("T") == 2
    assert ledger.checkout_requests("T", "A") == 1
    first = Order("A", "T", "P1", "IDR", Decimal(10000), None)
    assert ledger.store(first)
    assert first.checkout_requests == 1  # the arrival moved onto the order
    assert ledger.arrive("A", "T") is first
    assert not ledger.store(Order("A", "T", "P2", "IDR", Decimal(1), None))
    assert ledger.store(Order("B", "T", "P3", "IDR", Decimal(10000), None))
    with pytest.raises(SandboxError, match="several merchants"):
        ledger.order("T")
    assert ledger.checkout_requests("T", "A") == 2
    assert len(ledger) == 2
    assert ledger.by_platform_trade_no("P3") is not None
    assert [o.platform_trade_no for o in ledger.orders("B")] == ["P3"]
    assert ledger.notifications() == []
    assert ledger.notifications("nothing") == []
    assert ledger.snapshot(trade_no="T", merchant_no="B")["orders"][0]["platFormTradeNo"] == "P3"


def test_notification_fields_are_signed() -> None:
    order = Order("0000000002", "T", "P", "PAYPRO_IDR", Decimal(10000), None, way_code="DANA")
    order.paid_amount = Decimal(10000)
    order.status = "0000"
    paypro = MERCHANTS["PAYPRO_IDR"]
    fields = notification_fields(order, paypro, 1715941383720)
    assert verify(fields, paypro.secret)
    assert fields["timestamp"] == 1715941383720  # Paypro types it as a number
    assert "channelCode" not in fields  # unknown: left out, not sent empty
    assert fields["wayCode"] == "DANA"


def test_parse_fields_keeps_numbers_as_the_text_signed() -> None:
    for text in ("10.50", "1.0E7", "123456789012345678901234567890", "-0"):
        fields = parse_fields(b'{"amount": ' + text.encode() + b"}")
        assert fields == {"amount": text} and isinstance(fields["amount"], JsonNumber)
        assert is_json_number(fields["amount"])
    assert not is_json_number(parse_fields(b'{"amount": "10.50"}')["amount"])  # type: ignore[index]
    assert parse_fields(b"[]") is None
    assert parse_fields(b"\xff") is None
    assert parse_fields(b'{"a": 1, "a": 2}') is None  # no single reading


# -- payments -----------------------------------------------------------------------------


async def test_payment_rules(sandbox: Sandbox) -> None:
    await stored(sandbox, "USD", "PAY-1")  # 12.50 USD
    with pytest.raises(SandboxError, match="no order"):
        await sandbox.pay(None, "PAY-404")
    with pytest.raises(SandboxError, match="outcome"):
        await sandbox.pay(None, "PAY-1", "refunded")  # type: ignore[arg-type]
    with pytest.raises(SandboxError, match="full payment"):
        await sandbox.pay(None, "PAY-1", "paid", "1")
    with pytest.raises(SandboxError, match="no amount"):
        await sandbox.pay(None, "PAY-1", "failed", "1")
    with pytest.raises(SandboxError, match="less than the amount"):
        await sandbox.pay(None, "PAY-1", "partial", "12.50")
    with pytest.raises(SandboxError, match="decimals"):
        await sandbox.pay(None, "PAY-1", "partial", "1.001")
    with pytest.raises(SandboxError, match="payment amount"):
        await sandbox.pay(None, "PAY-1", "partial", 1.5)  # type: ignore[arg-type]
    order = await sandbox.pay(None, "PAY-1", "partial")
    assert order.paid_amount == Decimal("6.25")
    order = await sandbox.pay(None, "PAY-1", "partial")
    assert order.paid_amount == Decimal("9.37")  # half of what was left, rounded down
    with pytest.raises(SandboxError, match="more than paid so far"):
        await sandbox.pay(None, "PAY-1", "partial", "9")
    order = await sandbox.pay(None, "PAY-1", "paid", Decimal("12.50"))
    assert order.status == "0000"
    with pytest.raises(SandboxError, match="final"):
        await sandbox.pay(None, "PAY-1", "failed")

    await stored(sandbox, "KHR", "PAY-2", amount="1")
    with pytest.raises(SandboxError, match="partial"):
        await sandbox.pay(None, "PAY-2", "partial")  # one riel cannot be split


async def test_waiting_for_notifications() -> None:
    sandbox = Sandbox(TEST_MERCHANTS, notify_schedule=(60,))  # the retry would wait a minute
    async with run_sandbox(sandbox=sandbox):
        await stored(sandbox, "IDR", "WAIT-1", notifyUrl="http://127.0.0.1:9/unused")
        with pytest.raises(SandboxError, match="no notification"):
            await sandbox.notifications_settled("WAIT-1")
        await sandbox.pay(None, "WAIT-1")
        with pytest.raises(TimeoutError):
            await sandbox.notifications_settled("WAIT-1", timeout=0.3)
        delivery = sandbox.notifier.latest(IDR.merchant_no, "WAIT-1")
        assert delivery is not None
        assert not delivery.acknowledged
        assert delivery.attempts[0].error is not None  # nothing listens on port 9: refused
    assert delivery.done.is_set()  # stopping the sandbox ended the pending retry


# -- control API and cashier --------------------------------------------------------------


async def test_control_api(sandbox: Sandbox) -> None:
    base = sandbox.base_url
    await stored(sandbox, "IDR", "API-1")
    await stored(sandbox, "PHP", "API-1")

    info = (await get(f"{base}/sandbox")).json()
    assert info["orders"] == 2
    assert {m["profile"] for m in info["merchants"]} == set(MERCHANTS)
    assert "secret" not in str(info).lower()

    ambiguous = await get(f"{base}/sandbox/ledger?tradeNo=API-1")
    assert ambiguous.status == 400
    one = (await get(f"{base}/sandbox/ledger?tradeNo=API-1&merchantNo={IDR.merchant_no}")).json()
    assert [o["merchantNo"] for o in one["orders"]] == [IDR.merchant_no]
    everything = (await get(f"{base}/sandbox/ledger")).json()
    assert len(everything["orders"]) == 2
    assert everything["requests"]["counts"]["checkout"] == {"stored": 2}

    paid = await post(
        f"{base}/sandbox/pay",
        {"merchantNo": IDR.merchant_no, "tradeNo": "API-1", "outcome": "partial",
         "amount": "50000"},
    )
    assert paid.status == 200
    assert paid.json()["order"]["paidAmount"] == "50000"
    assert (await post(f"{base}/sandbox/pay", {"tradeNo": "API-404"})).status == 404
    assert (await post(f"{base}/sandbox/pay", {"tradeNo": "API-1"})).status == 400  # ambiguous
    assert (await post(f"{base}/sandbox/pay", b"[]")).status == 400


async def test_fault_api(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_url}/sandbox/faults"
    injected = await post(url, {"tradeNo": "F-1", "kind": "drop-after-store", "times": 2})
    assert injected.json()["injected"][0]["remaining"] == 2
    rate = await post(url, {"rate": "0.25", "kinds": ["5xx-before-store"], "seed": 3,
                            "delay": 1.5, "retryAfter": 4})
    assert rate.json()["rate"] == 0.25
    assert sandbox.faults.delay == 1.5
    assert sandbox.faults.retry_after == 4
    cleared = await post(url, {"clear": True})
    assert cleared.json()["injected"] == []
    assert cleared.json()["rate"] == 0.0
    assert (await post(url, {"kind": "meteor", "tradeNo": "F-1"})).status == 400
    assert (await post(url, {"kind": "drop-after-store"})).status == 400  # no tradeNo
    assert (await post(url, b"nope")).status == 400
    coded = await post(url, {"codes": {"duplicate_code": "9101"}, "replicaLag": 2})
    assert coded.json()["codes"]["duplicate_code"] == "9101"
    assert coded.json()["replicaLag"] == 2
    assert sandbox.codes.duplicate_code == "9101" and sandbox.faults.replica_lag == 2
    assert (await post(url, {"codes": {"sign_error_code": "8000"}})).status == 400
    unknown = await post(url, {"codes": {"no_such_code": "1"}})
    assert unknown.status == 400
    assert "unknown name(s) 'no_such_code'; the names are: accepted_code" in unknown.json()["error"]
    assert sandbox.codes.sign_error_code == "1001"


async def test_cashier_forms(sandbox: Sandbox) -> None:
    order = await stored(sandbox, "PHP", "CASH-1")  # 300, with a returnUrl
    page = f"{sandbox.base_url}/cashier/{order.platform_trade_no}"
    assert (await get(f"{sandbox.base_url}/cashier/unknown")).status == 404
    assert (await post_form(f"{sandbox.base_url}/cashier/unknown", {})).status == 404

    refused = await post_form(page, {"outcome": "partial", "amount": "300"})
    assert refused.status == 400
    assert "less than the amount" in refused.body.decode()
    assert (await post_form(page, {"outcome": "bogus"})).status == 400
    for junk in ("abc", "-5", "NaN", "0"):
        refused = await post_form(page, {"outcome": "partial", "amount": junk})
        assert refused.status == 400
        assert "enter the amount to pay now" in refused.body.decode()

    partial = await post_form(page, {"outcome": "partial", "amount": "120"})
    assert partial.status == 303
    assert partial.headers["Location"] == f"/cashier/{order.platform_trade_no}/done"
    done = (await get(page + "/done")).body.decode()
    assert "Partly paid" in done and "\u20b1120 of \u20b1300 paid" in done
    assert f'href="/cashier/{order.platform_trade_no}"' in done  # pay the rest
    html = (await get(page)).body.decode()
    assert 'id="amount">\u20b1180<' in html  # what is left
    assert 'value="90"' in html  # the next suggested payment: half of what is left
    await post_form(page, {"outcome": "paid"})
    for url in (page, page + "/done"):  # a paid order's page is its confirmation
        html = (await get(url)).body.decode()
        assert "Payment successful" in html
        assert "Back to the merchant" in html
        assert "https://merchant.example/return" in html
    again = await post_form(page, {"outcome": "paid"})  # a re-sent form pays nothing
    assert again.status == 400
    assert "final already" in again.body.decode()
    assert (await get(f"{sandbox.base_url}/cashier/unknown/done")).status == 404


# -- hosting ------------------------------------------------------------------------------


def test_thread_lifecycle() -> None:
    thread = SandboxThread(time_factor=0.001)
    with pytest.raises(RuntimeError, match="not serving"):
        _ = thread.base_url
    with pytest.raises(RuntimeError, match="not serving"):
        thread.pay(None, "T")
    with thread:
        assert "127.0.0.1" in repr(thread)
        with pytest.raises(RuntimeError, match="already"):
            thread.start()
        assert thread.faults is thread.sandbox.faults
        with pytest.raises(SandboxError, match="no order"):
            thread.pay(None, "NOPE")
    assert thread.sandbox.base_url is None


def test_thread_reports_a_failed_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        thread = SandboxThread(port=taken.getsockname()[1])
        with pytest.raises(OSError):
            thread.start()


async def test_served_without_sockets() -> None:
    # The in-memory transport calls the application directly: no socket, no port.
    sandbox = Sandbox(TEST_MERCHANTS)
    transport = MemoryTransport(sandbox.app())
    async with VexoraClient(
        merchant_no=IDR.merchant_no, secret=IDR.secret, base_url="http://127.0.0.1",
        transport=transport,
    ) as client:
        link = await client.create_payment_link(checkout_request("IDR", "MEM-1"))
        state = await client.query_payment("MEM-1")
    await transport.aclose()
    # The payment URL is built from the request's Host (or "localhost" when it has none).
    assert link.payment_url.startswith("http://")
    assert link.payment_url.endswith(f"/cashier/{link.platform_trade_no}")
    assert state.status.is_processing
    assert len(sandbox.ledger) == 1


async def test_stopping_releases_held_answers() -> None:
    loop = asyncio.get_running_loop()
    async with run_sandbox(time_factor=0.001) as sandbox:
        sandbox.faults.delay = 60.0
        sandbox.faults.inject("HOLD-1", FaultKind.DELAY_AFTER_STORE)
        async with sandbox.client("IDR", retry=RetryPolicy(attempts=1, reconcile=False)) as client:
            with pytest.raises(OutcomeUnknown):
                await client.create_payment_link(checkout_request("IDR", "HOLD-1"), timeout=0.2)
        stopping = loop.time()
    # A handler still holding its answer would keep the server for its 2 s shutdown grace.
    assert loop.time() - stopping < 1.5
