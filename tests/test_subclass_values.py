"""Values of a subclass (an ``Enum`` member, an ``IntEnum``, an ``int`` with its own
``__str__``) are sent and signed as their plain value, never as their own text."""

from __future__ import annotations

import enum
import json
from decimal import Decimal

from vexora_async.regions import registry
from vexora_async.signing import sign

from . import seed_examples as seeds
from .helpers import request_from_wire


class Channel(str, enum.Enum):  # noqa: UP042  (as users write it; StrEnum would hide it)
    NET_BANKING = "NET_BANKING"


class Way(str, enum.Enum):  # noqa: UP042
    BANK_TRANSFER = "BANK_TRANSFER"


class Loud(str):
    def __str__(self) -> str:
        return "<redacted>"

    __format__ = None  # type: ignore[assignment]  # formatting it would raise


class Cents(enum.IntEnum):
    PRICE = 300


def test_an_enum_member_is_sent_and_signed_as_its_value() -> None:
    request = request_from_wire(
        seeds.PHP_NET_BANKING_REQUEST, channel_code=Channel.NET_BANKING,
        way_code=Way.BANK_TRANSFER, firstname=Loud("abc"), amount=Cents.PRICE,
    )  # fmt: skip
    fields = registry.get("PHP").prepare(request)
    assert fields["channelCode"] == "NET_BANKING" and type(fields["channelCode"]) is str
    assert fields["wayCode"] == "BANK_TRANSFER" and type(fields["wayCode"]) is str
    assert fields["firstname"] == "abc" and type(fields["firstname"]) is str
    plain = request_from_wire(seeds.PHP_NET_BANKING_REQUEST)
    assert fields == registry.get("PHP").prepare(plain)


def test_signing_reads_a_subclass_as_json_writes_it() -> None:
    as_sent = {"wayCode": Way.BANK_TRANSFER, "firstname": Loud("abc"), "amount": Cents.PRICE}
    plain = json.loads(json.dumps({"wayCode": "BANK_TRANSFER", "firstname": "abc", "amount": 300}))
    assert sign(as_sent, "S") == sign(plain, "S")


def test_a_usd_amount_of_an_int_subclass_has_its_two_places() -> None:
    request = request_from_wire(seeds.CAMBODIA_REQUEST, amount=Cents.PRICE)
    assert request.amount == 300 and type(request.amount) is int
    assert registry.get("USD").prepare(request)["amount"] == "300.00"
    assert type(request_from_wire(seeds.CAMBODIA_REQUEST, amount=Decimal("1.5")).amount) is Decimal
