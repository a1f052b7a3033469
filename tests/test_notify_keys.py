"""A genuine notification cannot be re-cut into another one (issue 13, SPEC §7).

The sign joins ``key=value`` pairs with no separator, so a value's tail can become the next
key's head with the sign unchanged. Only documented keys (plus ``extra_keys``) are accepted,
and no value may hold ``key=`` of a key sorting after it: the exact attack, the class (a
property test over random re-cuts), and every path that verifies (``process_notification``,
the aiohttp handler fed by the sandbox, ``signing.verify``, ``vexora-async verify-notify``).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from vexora_async import CheckoutRequest, ConfigurationError, signing
from vexora_async.cli import main
from vexora_async.errors import (
    AmbiguousNotification,
    MalformedNotification,
    SignatureError,
    UnknownNotificationKey,
)
from vexora_async.models import Money
from vexora_async.notify import (
    PAYMENT_KEYS,
    NotificationOutcome,
    PaymentNotification,
    notification_handler,
    parse_notification,
    process_notification,
    verify_notification,
)
from vexora_async.sandbox import Sandbox, run_sandbox
from vexora_async.sandbox.merchants import TEST_MERCHANTS

from .test_notify_support import (
    SECRET,
    Callback,
    body_of,
    notification_fields,
    post,
    serve_handler,
    signed,
)


def genuine_inv7zz() -> dict[str, Any]:
    """A genuine, paid notification for order ``INV7zz``."""
    return signed(notification_fields("INV7zz", platFormTradeNo="PF1", amount="10000"))


def recut_to_inv7(genuine: dict[str, Any]) -> dict[str, Any]:
    """The issue's attack: ``tradeNo`` ``INV7zz`` -> ``INV7``, ``wayCode`` -> ``zzwayCode``."""
    forged = {key: value for key, value in genuine.items() if key != "wayCode"}
    forged["tradeNo"] = "INV7"
    forged["zzwayCode"] = genuine["wayCode"]
    return forged


def recut_in_set(genuine: dict[str, Any]) -> dict[str, Any]:
    """The same trick with documented keys only: ``tradeNo`` swallows ``wayCode``."""
    forged = {key: value for key, value in genuine.items() if key != "wayCode"}
    forged["tradeNo"] = f"{genuine['tradeNo']}wayCode={genuine['wayCode']}"
    return forged


async def expecting_10000(trade_no: str) -> Money | None:
    return 10000  # both orders were created for 10000: the amount check cannot help


# -- the exact attack ------------------------------------------------------------------------


def test_the_attack_is_real_without_the_key_rule() -> None:
    genuine, forged = genuine_inv7zz(), recut_to_inv7(genuine_inv7zz())
    assert signing.canonical_string(forged) == signing.canonical_string(genuine)
    assert signing.verify(forged, SECRET)  # the bare primitive proves a string, not a body
    assert not signing.verify(forged, SECRET, keys=PAYMENT_KEYS)
    assert signing.verify(genuine, SECRET, keys=PAYMENT_KEYS)


async def test_process_notification_refuses_the_recut_and_never_runs_the_callback() -> None:
    callback = Callback()
    forged = await process_notification(
        body_of(recut_to_inv7(genuine_inv7zz())),
        SECRET,
        callback,
        store=None,
        expected_amount=expecting_10000,
    )
    assert (forged.outcome, forged.http_status) == (NotificationOutcome.MALFORMED, 400)
    assert isinstance(forged.error, UnknownNotificationKey)
    assert forged.error.keys == ("zzwayCode",) and "'zzwayCode'" in str(forged.error)
    assert forged.notification is None and callback.calls == []
    genuine = await process_notification(
        body_of(genuine_inv7zz()), SECRET, callback, store=None, expected_amount=expecting_10000
    )
    assert genuine.outcome is NotificationOutcome.PROCESSED
    assert [n.trade_no for n in callback.calls] == ["INV7zz"]


async def test_the_recut_into_documented_keys_is_refused_too() -> None:
    callback = Callback()
    forged = recut_in_set(genuine_inv7zz())
    assert signing.canonical_string(forged) == signing.canonical_string(genuine_inv7zz())
    result = await process_notification(body_of(forged), SECRET, callback, store=None)
    assert (result.outcome, result.http_status) == (NotificationOutcome.MALFORMED, 400)
    assert isinstance(result.error, AmbiguousNotification)
    assert (result.error.field, result.error.key) == ("tradeNo", "wayCode")
    assert "INV7zz" not in str(result.error) and callback.calls == []


async def test_the_handler_fed_by_the_sandbox_refuses_the_recut_with_400() -> None:
    callback = Callback()
    delivered: list[bytes] = []
    sandbox = Sandbox(TEST_MERCHANTS, time_factor=0.001)
    secret = sandbox.find_merchant("IDR").secret
    handler = notification_handler(secret, callback, expected_amount=expecting_10000)

    async def recording(request: web.Request) -> web.StreamResponse:
        delivered.append(await request.read())  # what the gateway sent, for the attacker
        return await handler(request)

    async with run_sandbox(sandbox=sandbox) as running, serve_handler(recording) as url:
        client = running.client("IDR")
        async with client:
            await client.create_payment_link(
                CheckoutRequest(
                    trade_no="INV7zz",
                    amount=10000,
                    username="Budi",
                    mobile="081234567890",
                    email="budi@example.com",
                    notify_url=url,
                    channel_code="EWALLET",
                    way_code="DANA",
                )
            )
        await running.pay(None, "INV7zz")
        attempts = await running.notifications_settled("INV7zz", timeout=30)
        assert [a.status for a in attempts] == [200]
        genuine = json.loads(delivered[0])
        assert genuine["tradeNo"] == "INV7zz" and genuine["wayCode"] == "DANA"
        async with aiohttp.ClientSession() as session:
            for forged in (recut_to_inv7(genuine), recut_in_set(genuine)):
                assert signing.verify(forged, secret)  # same sign, yet:
                status, text = await post(session, url, json.dumps(forged).encode())
                assert (status, text) == (400, "malformed notification")
    assert [n.trade_no for n in callback.calls] == ["INV7zz"]


# -- the class: random genuine notifications, random re-cuts --------------------------------

# Values made of key fragments and '=', so that re-cuts can form keys (and '=' in values).
_PIECES = ["tradeNo", "wayCode", "zz", "status", "amount", "=", "0000", "7", "INV", "a", "Z"]
_value = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4).map("".join)
_OPTIONAL = sorted(PAYMENT_KEYS - {"tradeNo", "amount", "status", "sign"})


@st.composite
def genuine_notifications(draw: st.DrawFn) -> dict[str, str]:
    fields = {
        "tradeNo": draw(_value),
        "amount": draw(st.sampled_from(["10000", "1.0E7", "0.5"])),
        "status": draw(st.sampled_from(["0000", "0001", "00029"])),
    }
    for key in draw(st.lists(st.sampled_from(_OPTIONAL), unique=True, max_size=6)):
        fields[key] = (
            draw(st.from_regex(r"[0-9]{1,13}", fullmatch=True))
            if key == "timestamp"
            else draw(_value)
        )
    return fields


@st.composite
def recuts(draw: st.DrawFn, canonical: str, starts: list[int]) -> dict[str, str]:
    """Another body whose ``key=value`` pairs concatenate to ``canonical``: pick which '='
    separate keys from values, then where each value ends and the next key begins."""
    real = [canonical.index("=", start) for start in starts]  # the genuine separators
    others = [i for i, char in enumerate(canonical) if char == "=" and i not in real]
    kept = [eq for eq in real if draw(st.booleans())]
    added = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
    chosen = sorted({*kept, *added})
    assume(chosen)
    cuts = [0]
    for here, there in itertools.pairwise(chosen):
        assume(here + 2 <= there)  # a value of at least one character
        near = [s + d for s in starts for d in (-2, -1, 0, 1, 2) if here + 2 <= s + d <= there]
        cut = draw(st.sampled_from(near) if near else st.integers(here + 2, there))
        cuts.append(cut)
    ends = [*cuts[1:], len(canonical)]
    pairs = [
        (canonical[start:eq], canonical[eq + 1 : end])
        for start, eq, end in zip(cuts, chosen, ends, strict=True)
    ]
    body = dict(pairs)
    assume(len(body) == len(pairs) and all(body.values()))
    return body


def _accepted(fields: dict[str, Any]) -> bool:
    try:
        verify_notification(fields, SECRET)
    except (MalformedNotification, SignatureError):
        return False
    return True


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(st.data())
def test_no_recut_of_a_genuine_notification_verifies(data: st.DataObject) -> None:
    genuine = data.draw(genuine_notifications())
    canonical = signing.canonical_string(genuine)
    starts, at = [], 0  # where each real key begins
    for key in sorted(genuine):
        starts.append(at)
        at += len(f"{key}={genuine[key]}")
    forged = data.draw(recuts(canonical, starts))
    # The pairs must still sort in this order for the canonical string, and so the sign, to
    # carry over; the others are not re-cuts.
    assume(forged != genuine and signing.canonical_string(forged) == canonical)
    sign = signing.sign(genuine, SECRET)
    genuine_ok = _accepted({**genuine, "sign": sign})
    if not any("=" in value for value in genuine.values()):
        assert genuine_ok  # what a gateway sends for orders created through the SDK
    if genuine_ok:
        with pytest.raises(AmbiguousNotification):
            verify_notification({**forged, "sign": sign}, SECRET)
        assert not signing.verify({**forged, "sign": sign}, SECRET, keys=PAYMENT_KEYS)
    else:
        # Refused itself, for a value that could be re-cut: that is why checkout text (the
        # remark) must not hold "key=" either (README, "Why unknown keys are refused").
        assert signing.recut_key(genuine, PAYMENT_KEYS) is not None


@settings(max_examples=200, deadline=None)
@given(genuine_notifications())
def test_a_genuine_body_is_refused_only_when_a_value_could_be_recut(
    genuine: dict[str, str],
) -> None:
    body = signed(genuine)
    try:
        verify_notification(body, SECRET)
    except AmbiguousNotification as exc:
        assert exc.key in PAYMENT_KEYS and exc.key > exc.field
        assert f"{exc.key}=" in genuine[exc.field]
        return
    assert signing.recut_key(body, PAYMENT_KEYS) is None


# -- allowing more keys ----------------------------------------------------------------------


async def test_extra_keys_allow_a_key_and_it_still_counts_in_the_sign() -> None:
    fields = signed(notification_fields("T-EXTRA", bankCode="014"))
    callback = Callback()
    refused = await process_notification(body_of(fields), SECRET, callback, store=None)
    assert refused.outcome is NotificationOutcome.MALFORMED and callback.calls == []
    allowed = await process_notification(
        body_of(fields), SECRET, callback, store=None, extra_keys=["bankCode"]
    )
    assert allowed.outcome is NotificationOutcome.PROCESSED
    assert callback.calls[0].raw["bankCode"] == "014"
    # An allowed key takes part in the re-cut rule as well: it could be cut out of a value.
    recut = signed(notification_fields("T-EXTRA", remark="xtradeNo=1"))
    with pytest.raises(AmbiguousNotification):
        parse_notification(body_of(recut), SECRET)
    with pytest.raises(AmbiguousNotification, match="'zebra='"):
        parse_notification(
            body_of(signed(notification_fields("T", remark="zebra=1"))),
            SECRET,
            extra_keys={"zebra"},
        )


@pytest.mark.parametrize("bad", ["bankCode", ["a=b"], [""], [7]])
async def test_extra_keys_that_cannot_be_keys_are_a_configuration_error(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="extra_keys"):
        await process_notification(b"{}", SECRET, Callback(), extra_keys=bad)
    with pytest.raises(ConfigurationError, match="extra_keys"):
        notification_handler(SECRET, Callback(), extra_keys=bad)
    with pytest.raises(ConfigurationError, match="extra_keys"):
        parse_notification(b"{}", SECRET, extra_keys=bad)


def test_an_unknown_key_message_names_keys_never_values() -> None:
    fields = signed(notification_fields(mobile="081234567890", **{"x\n" * 50: "budi@x.id"}))
    with pytest.raises(UnknownNotificationKey) as caught:
        parse_notification(body_of(fields), SECRET)
    text = str(caught.value)
    assert "'mobile'" in text and "081234567890" not in text and "budi@x.id" not in text
    assert "\n" not in text and len(text) < 400
    assert caught.value.keys == tuple(sorted(["mobile", "x\n" * 50]))


def test_empty_values_count_as_keys() -> None:
    # An undocumented key is refused even when empty (it does not change the sign).
    fields = {**signed(notification_fields()), "zz": ""}
    with pytest.raises(UnknownNotificationKey):
        parse_notification(body_of(fields), SECRET)
    fields = signed(notification_fields(remark="", payAmount=None))
    assert isinstance(parse_notification(fields, SECRET), PaymentNotification)


# -- vexora-async verify-notify ----------------------------------------------------------


def test_verify_notify_refuses_the_recut_and_takes_extra_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notify.json"
    path.write_text(json.dumps(genuine_inv7zz()))
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 0
    path.write_text(json.dumps(recut_to_inv7(genuine_inv7zz())))
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 1
    assert "'zzwayCode'" in capsys.readouterr().err
    path.write_text(json.dumps(signed(notification_fields(bankCode="014"))))
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 1
    assert main(["verify-notify", str(path), "--secret", SECRET, "--extra-key", "bankCode"]) == 0
    assert main(["verify-notify", str(path), "--secret", SECRET, "--extra-key", "a=b"]) == 4
