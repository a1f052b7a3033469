"""``RegionProfile.codes``: a gateway's own not-found and authentication codes are one
declaration on the profile, and the client reads answers by them (end to end against a
sandbox told to answer with those codes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vexora_async import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    GatewayCodes,
    OrderNotFound,
    VexoraClient,
)
from vexora_async.codes import DEFAULT_CODES
from vexora_async.regions import BUILT_IN, VEXORA_IDR, RegionProfile
from vexora_async.retry import RetryPolicy
from vexora_async.sandbox import Sandbox, SandboxCodes, SandboxMerchant, run_sandbox

from .test_sandbox_support import checkout_request

MERCHANT_NO = "0000000042"
SECRET = "TESTSECRET-CODES"
# The gateway of this test words "no such order" and "bad credentials" its own way.
ANSWERS = SandboxCodes(not_found_code="9404", sign_error_code="7001", unknown_merchant_code="7002")
DECLARED = GatewayCodes(not_found="9404", authentication=("7001", "7002"))
MY_IDR = VEXORA_IDR.with_changes(name="MY_IDR", codes=DECLARED)
NO_RETRY = RetryPolicy(attempts=1)


def test_codes_is_a_field_of_the_profile() -> None:
    assert all(profile.codes == DEFAULT_CODES for profile in BUILT_IN)
    assert MY_IDR.codes is DECLARED and VEXORA_IDR.codes is DEFAULT_CODES
    built = RegionProfile(
        name="X", checkout_path="/a", query_path="/b", fields=(),
        amount=VEXORA_IDR.amount, codes=DECLARED,
    )  # fmt: skip
    assert built.codes.not_found == frozenset({"9404"})
    assert built.with_changes(name="Y").codes is DECLARED  # kept by other changes
    assert built != built.with_changes(codes=DEFAULT_CODES)
    with pytest.raises(ConfigurationError, match="GatewayCodes"):
        VEXORA_IDR.with_changes(codes={"not_found": "9404"})


def test_the_client_takes_the_profiles_codes() -> None:
    client = VexoraClient(
        merchant_no=MERCHANT_NO, secret=SECRET, region=MY_IDR, base_url="http://127.0.0.1:9"
    )
    assert client.codes is DECLARED


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    served = Sandbox([SandboxMerchant(MERCHANT_NO, SECRET, MY_IDR)], codes=ANSWERS)
    async with run_sandbox(sandbox=served):
        yield served


def _client(sandbox: Sandbox, profile: RegionProfile, secret: str = SECRET) -> VexoraClient:
    assert sandbox.base_url is not None
    return VexoraClient(
        merchant_no=MERCHANT_NO, secret=secret, region=profile, base_url=sandbox.base_url,
        retry=NO_RETRY,
    )  # fmt: skip


async def test_a_declared_not_found_code_reads_as_not_found(sandbox: Sandbox) -> None:
    async with _client(sandbox, MY_IDR) as client:
        with pytest.raises(OrderNotFound) as declared:
            await client.query_payment("NO-SUCH-ORDER")
    assert declared.value.code == "9404"
    # Without the declaration the same answer is just a code: it proves nothing.
    async with _client(sandbox, VEXORA_IDR) as client:
        with pytest.raises(APIError) as undeclared:
            await client.query_payment("NO-SUCH-ORDER")
    assert undeclared.value.code == "9404"
    assert not isinstance(undeclared.value, OrderNotFound)


async def test_a_declared_authentication_code_reads_as_authentication(sandbox: Sandbox) -> None:
    async with _client(sandbox, MY_IDR, secret="WRONG-SECRET-1") as client:
        with pytest.raises(AuthenticationError) as on_query:
            await client.query_payment("ANY-ORDER")
        # A create stops at once too: no reconciliation under credentials that do not work.
        with pytest.raises(AuthenticationError) as on_create:
            await client.create_payment_link(checkout_request("IDR", "CODES-1"))
    assert on_query.value.code == on_create.value.code == "7001"
    assert sandbox.ledger.order("CODES-1") is None
    async with _client(sandbox, VEXORA_IDR, secret="WRONG-SECRET-1") as client:
        with pytest.raises(APIError) as undeclared:
            await client.query_payment("ANY-ORDER")
    assert undeclared.value.code == "7001"
    assert not isinstance(undeclared.value, AuthenticationError)
