"""``from_env``, ``with_options``, ``with_raw_response`` and ``VEXORA_LOG``, end to end
against the sandbox on 127.0.0.1 where a gateway is involved."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from vexora_async import (
    CheckoutRequest,
    ConfigurationError,
    ConnectError,
    OrderExists,
    PaymentLink,
    RetryPolicy,
    VexoraClient,
)
from vexora_async.commands.common import client_from
from vexora_async.logs import ENV_VAR, LOGGER_NAME, _EnvHandler, configure_from_env
from vexora_async.sandbox import FaultKind, SandboxThread

SECRET_VALUE = "s3cr3t-do-not-print"
VARIABLES = ("VEXORA_MERCHANT_NO", "VEXORA_SECRET", "VEXORA_BASE_URL", "VEXORA_REGION")


def _request(trade_no: str) -> CheckoutRequest:
    return CheckoutRequest(
        trade_no=trade_no, amount=150000, username="Budi", mobile="081234567890",
        email="budi@example.com", notify_url="http://127.0.0.1:9/notify",
    )  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*VARIABLES, ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# -- from_env -----------------------------------------------------------------------------


def test_from_env_names_every_missing_variable_and_never_the_secret(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("VEXORA_SECRET", SECRET_VALUE)
    with pytest.raises(ConfigurationError) as caught:
        VexoraClient.from_env()
    message = str(caught.value)
    assert "VEXORA_MERCHANT_NO" in message and "VEXORA_BASE_URL" in message
    assert "VEXORA_SECRET" not in message and "VEXORA_REGION" not in message
    assert SECRET_VALUE not in message and SECRET_VALUE not in repr(caught.value.args)


def test_from_env_rejects_a_bad_value_without_quoting_the_secret(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("VEXORA_MERCHANT_NO", "not-digits")
    clean_env.setenv("VEXORA_SECRET", SECRET_VALUE)
    clean_env.setenv("VEXORA_BASE_URL", "https://gw.example")
    with pytest.raises(ConfigurationError) as caught:
        VexoraClient.from_env()
    assert "merchant_no" in str(caught.value) and SECRET_VALUE not in str(caught.value)
    client = VexoraClient.from_env(merchant_no="0000000009")  # a keyword wins
    assert client.merchant_no == "0000000009" and client.profile.name == "IDR"
    assert SECRET_VALUE not in repr(client)


def test_from_env_reads_region_and_passes_options_through() -> None:
    environ = {
        "VEXORA_MERCHANT_NO": "0000000004",
        "VEXORA_SECRET": SECRET_VALUE,
        "VEXORA_BASE_URL": "https://gw.example/kh",
        "VEXORA_REGION": "khr",
    }
    policy = RetryPolicy(attempts=2)
    client = VexoraClient.from_env(environ=environ, retry=policy)
    assert client.profile.name == "KHR" and client.base_url == "https://gw.example/kh"
    assert client.retry_policy is policy
    with pytest.raises(ConfigurationError, match="unknown region"):
        VexoraClient.from_env(environ={**environ, "VEXORA_REGION": "XX"})


def test_the_cli_builds_its_client_with_from_env(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VEXORA_MERCHANT_NO", "0000000001")
    clean_env.setenv("VEXORA_SECRET", SECRET_VALUE)
    clean_env.setenv("VEXORA_BASE_URL", "https://gw.example")
    clean_env.setenv("VEXORA_REGION", "PHP")
    args = argparse.Namespace(merchant_no=None, secret=None, base_url=None, region="USD")
    client = client_from(args, limit=3)
    assert client.profile.name == "USD" and client.merchant_no == "0000000001"


async def test_a_client_from_env_creates_a_link(
    vexora_sandbox: SandboxThread, clean_env: pytest.MonkeyPatch
) -> None:
    merchant = vexora_sandbox.merchants["USD"]
    clean_env.setenv("VEXORA_MERCHANT_NO", merchant.merchant_no)
    clean_env.setenv("VEXORA_SECRET", merchant.secret)
    clean_env.setenv("VEXORA_BASE_URL", vexora_sandbox.base_url)
    clean_env.setenv("VEXORA_REGION", "USD")
    async with VexoraClient.from_env() as client:
        link = await client.create_payment_link(CheckoutRequest(
            trade_no="ENV-1", amount=Decimal("12.50"), firstname="Dara", lastname="Sok",
            mobile="12345678", email="dara@example.com", remark="r", channel_code="KHQR",
            way_code="KHQR",
            notify_url="http://127.0.0.1:9/n", return_url="http://127.0.0.1:9/r",
        ))  # fmt: skip
    assert link.trade_no == "ENV-1"
    assert vexora_sandbox.ledger.order("ENV-1", merchant.merchant_no) is not None


# -- with_options -------------------------------------------------------------------------


async def test_with_options_shares_the_pool_and_never_closes_it(
    vexora_sandbox: SandboxThread,
) -> None:
    client = vexora_sandbox.client("IDR")
    fast = client.with_options(timeout=2.5, retry=RetryPolicy(attempts=2, deadline=20))
    assert fast._transport is client._transport
    assert fast.retry_policy.attempt_timeout == 2.5 and fast.retry_policy.attempts == 2
    assert fast.retry_policy.deadline == 20
    assert client.retry_policy == RetryPolicy()  # the original is unchanged
    assert isinstance(await fast.create_payment_link(_request("OPT-1")), PaymentLink)
    await fast.aclose()  # a no-op: the original owns the transport
    assert isinstance(await client.create_payment_link(_request("OPT-2")), PaymentLink)
    assert isinstance(await fast.create_payment_link(_request("OPT-3")), PaymentLink)
    await client.aclose()
    with pytest.raises(ConnectError):
        await fast.create_payment_link(_request("OPT-4"))
    assert vexora_sandbox.ledger.order("OPT-4") is None


async def test_with_options_timeout_is_the_attempt_timeout(vexora_sandbox: SandboxThread) -> None:
    # The answer comes after 30 s: only the derived client's 0.2 s attempt timeout (not the
    # default 15 s) lets the call end quickly, and reconciliation then finds the order.
    vexora_sandbox.faults.delay = 30.0
    vexora_sandbox.faults.inject("SLOW-1", FaultKind.DELAY_AFTER_STORE)
    async with vexora_sandbox.client("IDR") as client:
        quick = client.with_options(
            timeout=0.2, retry=RetryPolicy(attempts=1, settle_queries=1, deadline=10)
        )
        with pytest.raises(OrderExists) as caught:
            await quick.create_payment_link(_request("SLOW-1"))
    assert caught.value.operation == "checkout" and caught.value.attempts == 1


def test_with_options_refuses_a_bad_timeout() -> None:
    client = VexoraClient(merchant_no="1", secret="s", base_url="https://gw.example")
    for bad in (0, -1, float("nan"), "5"):
        with pytest.raises(ConfigurationError, match="attempt_timeout"):
            client.with_options(timeout=bad)  # type: ignore[arg-type]


# -- raw responses ------------------------------------------------------------------------


async def test_raw_responses_of_create_and_query(vexora_sandbox: SandboxThread) -> None:
    async with vexora_sandbox.client("IDR") as client:
        raw = await client.with_raw_response.create_payment_link(_request("RAW-1"))
        queried = await client.with_raw_response.query_payment("RAW-1")
    assert (raw.status, raw.code, raw.operation, raw.attempts) == (200, "0000", "checkout", 1)
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.parse().trade_no == "RAW-1" and raw.maybe_sent is False
    assert (queried.status, queried.operation, queried.path) == (
        200,
        "query",
        "/v1/vexora/queryPayInResult",
    )
    assert queried.parse().status.is_processing
    assert "081234567890" not in repr(raw) and "081234567890" not in repr(queried)


# -- VEXORA_LOG ---------------------------------------------------------------------------


@pytest.fixture
def vexora_logger(clean_env: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    logger = logging.getLogger(LOGGER_NAME)
    level = logger.level
    yield logger
    for handler in list(logger.handlers):
        if isinstance(handler, _EnvHandler):
            logger.removeHandler(handler)
    logger.setLevel(level)


def _env_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if isinstance(h, _EnvHandler)]


async def test_vexora_log_adds_one_stderr_handler_with_the_status_line(
    vexora_sandbox: SandboxThread,
    vexora_logger: logging.Logger,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv(ENV_VAR, "debug")
    clients = [vexora_sandbox.client("IDR") for _ in range(3)]
    assert len(_env_handlers(vexora_logger)) == 1
    assert vexora_logger.isEnabledFor(logging.DEBUG)
    async with clients[0] as client:
        await client.create_payment_link(_request("LOG-1"))
    err = capsys.readouterr().err
    assert "checkout trade=LOG-1 attempt=1 delivery=answered status=200 code=0000" in err
    assert "081234567890" not in err and "budi@example.com" not in err
    for other in clients[1:]:
        await other.aclose()


def test_vexora_log_info_and_unknown_values(
    vexora_logger: logging.Logger, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv(ENV_VAR, "loud")
    assert configure_from_env() is None and not _env_handlers(vexora_logger)
    clean_env.setenv(ENV_VAR, " INFO ")
    handler = configure_from_env()
    assert handler is not None and handler.level == logging.INFO
    assert configure_from_env() is handler and len(_env_handlers(vexora_logger)) == 1
    clean_env.delenv(ENV_VAR)
    assert configure_from_env() is None and len(_env_handlers(vexora_logger)) == 1
