"""SPEC §4, the `amount` row of each table: how every profile writes money on the wire.

| profile | rule |
|---|---|
| IDR, PAYPRO_IDR | whole rupiah, at least 10000, a JSON number |
| PHP | whole units, a string |
| KHR | whole numbers only, a string |
| USD | at most two decimals, sent with exactly two (`"12.50"`, `"12.00"`), a string |
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
import pytest

from vexora_async import ValidationError, VexoraClient
from vexora_async.regions import get_profile
from vexora_async.transports.base import HttpResponse

from .helpers import MERCHANT, SECRET, Recorder, envelope, link_data

SENT = [
    ("IDR", 10000, 10000),
    ("IDR", Decimal("1000000"), 1000000),
    ("IDR", Decimal("25000.00"), 25000),
    ("IDR", "150000", 150000),
    ("PAYPRO_IDR", 10000, 10000),
    ("PHP", 300, "300"),
    ("PHP", Decimal("300.0"), "300"),
    ("KHR", 4000, "4000"),
    ("KHR", Decimal("4000.00"), "4000"),
    ("USD", Decimal("12.5"), "12.50"),
    ("USD", Decimal("12.50"), "12.50"),
    ("USD", 12, "12.00"),
    ("USD", Decimal("12"), "12.00"),
    ("USD", Decimal("0.01"), "0.01"),
    ("USD", Decimal("1E+2"), "100.00"),
    ("USD", "7.1", "7.10"),
    ("USD", Decimal("12.500"), "12.50"),  # trailing zeros are not more decimals
]

REFUSED = [
    ("IDR", 9999, "below_minimum"),
    ("IDR", Decimal("10000.5"), "not_whole"),
    ("PHP", Decimal("300.50"), "not_whole"),
    ("KHR", Decimal("4000.1"), "not_whole"),
    ("USD", Decimal("12.505"), "too_many_decimals"),
    ("USD", Decimal("5.001"), "too_many_decimals"),
    ("USD", Decimal("0"), "not_positive"),
]


def _sample(region: str) -> Any:
    sample = get_profile(region).sample
    assert sample is not None
    return sample


@pytest.mark.parametrize(("region", "amount", "sent"), SENT)
def test_amount_is_written_as_the_spec_says(region: str, amount: Any, sent: Any) -> None:
    wire = get_profile(region).prepare(attrs.evolve(_sample(region), amount=amount))
    assert wire["amount"] == sent and type(wire["amount"]) is type(sent)


@pytest.mark.parametrize(("region", "amount", "rule"), REFUSED)
def test_amount_the_spec_forbids_is_refused(region: str, amount: Any, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        get_profile(region).prepare(attrs.evolve(_sample(region), amount=amount))
    assert [(v.field, v.rule) for v in caught.value.violations] == [("amount", rule)]


@pytest.mark.parametrize(
    ("region", "amount", "body_text"),
    [("USD", Decimal("12.5"), '"amount":"12.50"'), ("KHR", 4000, '"amount":"4000"'),
     ("IDR", 10000, '"amount":10000')],
)  # fmt: skip
async def test_the_request_body_carries_that_text(region: str, amount: Any, body_text: str) -> None:
    recorder = Recorder(
        lambda r: HttpResponse(200, {}, envelope(link_data(json.loads(r.body)["tradeNo"])))
    )
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, region=region,
        base_url="https://sandbox-api.vexora.com/cambodia-usd", transport=recorder.transport,
    ) as client:  # fmt: skip
        await client.create_payment_link(attrs.evolve(_sample(region), amount=amount))
    assert body_text in recorder.requests[-1].body.decode()
