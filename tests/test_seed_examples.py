"""Every request example of the gateway's pages is reproduced key for key, type for type,
and every response example parses into a ``PaymentLink``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vexora_async import PaymentLink, VexoraClient
from vexora_async.envelope import decode_envelope
from vexora_async.regions import get_profile
from vexora_async.transports.base import HttpResponse
from vexora_async.wire import structure_response

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, Recorder, envelope, link_data, request_from_wire


def _json_type(value: Any) -> str:
    return type(value).__name__


CASES = [
    ("IDR", seeds.IDR_REQUEST, {}),
    ("PAYPRO_IDR", seeds.IDR_REQUEST, {"timestamp": "int"}),  # SPEC §4: Paypro's is a long
    ("PHP", seeds.PHP_NET_BANKING_REQUEST, {}),
    ("PHP", seeds.PHP_STORE_REQUEST, {}),
    ("KHR", seeds.CAMBODIA_REQUEST, {}),
    # SPEC §4: a USD account's amount goes out with exactly two decimals.
    ("USD", {**seeds.CAMBODIA_REQUEST, "amount": "300.00"}, {}),
]


@pytest.mark.parametrize(("region", "example", "type_changes"), CASES)
async def test_request_examples_are_reproduced(
    region: str, example: dict[str, Any], type_changes: dict[str, str]
) -> None:
    recorder = Recorder(
        lambda r: HttpResponse(200, {}, envelope(link_data(json.loads(r.body)["tradeNo"])))
    )
    async with VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        region=region,
        base_url="https://sandbox-api.vexora.tech/indonesia",
        transport=recorder.transport,
    ) as client:
        await client.create_payment_link(request_from_wire(example))

    sent = recorder.last_body
    assert set(sent) == set(example)
    expected_types = {key: _json_type(value) for key, value in example.items()}
    expected_types.update(type_changes)
    assert {key: _json_type(value) for key, value in sent.items()} == expected_types
    business = {k: v for k, v in example.items() if k not in ("sign", "timestamp")}
    assert {k: v for k, v in sent.items() if k not in ("sign", "timestamp")} == business
    assert (
        len(sent["timestamp"] if isinstance(sent["timestamp"], str) else str(sent["timestamp"]))
        == 13
    )


def test_cambodia_example_mobile_is_normalised_not_sent_as_written() -> None:
    from vexora_async.errors import ValidationError
    from vexora_async.regions import CAMBODIA_KHR

    # SPEC §4 decision: "09123456789" (11 digits) breaks the 8-9 digit rule and is refused;
    # trunk-0 and +855 forms of a valid number are sent as the bare 8-9 digits.
    with pytest.raises(ValidationError) as caught:
        CAMBODIA_KHR.prepare(request_from_wire(seeds.CAMBODIA_REQUEST, mobile="09123456789"))
    assert caught.value.fields == ("mobile",)
    for written in ("091234567", "+85591234567", "85591234567", "+855 91 234 567"):
        wire = CAMBODIA_KHR.prepare(request_from_wire(seeds.CAMBODIA_REQUEST, mobile=written))
        assert wire["mobile"] == "91234567"


RESPONSES = [
    ("IDR", seeds.IDR_RESPONSE, "http://vexora.tech/cashier/dsfjlsdkjflksdfjlkfs", "Paying", True),
    (
        "PAYPRO_IDR",
        seeds.PAYPRO_RESPONSE,
        "http://paypro.tech/cashier/dsfjlsdkjflksdfjlkfs",
        "Paying",
        True,
    ),
    ("PHP", seeds.PHP_RESPONSE, seeds.PHP_RESPONSE["data"]["paymentUrl"], "Paying", False),
    (
        "KHR",
        seeds.CAMBODIA_RESPONSE,
        seeds.CAMBODIA_RESPONSE["data"]["paymentLink"],
        "Processing",
        True,
    ),
]


@pytest.mark.parametrize(("region", "example", "url", "message", "has_qr"), RESPONSES)
def test_response_examples_parse(
    region: str, example: dict[str, Any], url: str, message: str, has_qr: bool
) -> None:
    env = decode_envelope(HttpResponse(200, {}, json.dumps(example).encode()))
    assert env.code == "0000"
    aliases = get_profile(region).response.aliases  # the shape is the profile's (SPEC §5)
    link = structure_response(env.data, PaymentLink, "checkout response", aliases)
    assert isinstance(link, PaymentLink)
    assert link.payment_url == url
    assert link.status.code == "0015" and link.status.is_processing
    assert link.platform_trade_no == example["data"]["platFormTradeNo"]
    assert link.message == message
    assert (link.qr_payload is not None) is has_qr
    assert link.raw == example["data"]
