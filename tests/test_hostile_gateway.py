"""A gateway worse than the sandbox, on 127.0.0.1: what the SDK reports must match its ledger.

Each scenario commits (or not) and then answers in a way the sandbox never does: a proxy's
503 carrying a gateway envelope, an answer about another order, a body nested past any
parser's patience, refusals that echo the payer's data back. Checkout and payout alike: a
payout reported "rejected" while the gateway holds it would be paid twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from vexora_async import (
    OrderExists,
    OrderRejected,
    OutcomeUnknown,
    RetryPolicy,
    VexoraClient,
    VexoraError,
)
from vexora_async.outcome import outcome_of
from vexora_async.payouts import payout_kind, payout_profile
from vexora_async.reconcile import OrderKind

from .helpers import request_from_wire, serving
from .payout_support import payout_request
from .seed_examples import IDR_REQUEST

POLICY = RetryPolicy(
    attempts=2, backoff=0.001, backoff_max=0.001, retry_after_max=0.01,
    attempt_timeout=1.0, settle_window=0.02, deadline=10.0,
)  # fmt: skip

# The personal values the requests below send (seed IDR checkout, IDR payout).
CHECKOUT_PERSONAL = [IDR_REQUEST[k] for k in ("mobile", "email", "username")]
PAYOUT_PERSONAL = ["Jack", "081234567890", "jack@example.com", "5464438554636"]

Answer = Callable[["Gateway", str, dict[str, Any]], web.StreamResponse]


def envelope(code: str, msg: str = "", data: Any = None, **top: Any) -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": data, **top}


class Gateway:
    """Commits or not, then answers as told; ``ledger`` is what it really holds."""

    def __init__(self, kind: OrderKind[Any, Any], create: Answer, query: Answer) -> None:
        self.kind = kind
        self.ledger: dict[str, dict[str, Any]] = {}
        self.creates = 0
        self._create, self._query = create, query

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fields = await request.json()
        if request.path == self.kind.query_path:
            return self._query(self, fields["tradeNo"], fields)
        self.creates += 1
        return self._create(self, fields["tradeNo"], fields)

    def state(self, trade_no: str, **changes: Any) -> dict[str, Any]:
        return {"tradeNo": trade_no, "platFormTradeNo": "P1", "status": "0015",
                "amount": 150000, "paymentUrl": f"https://cashier.example/{trade_no}",
                **changes}  # fmt: skip


def commit(then: Answer) -> Answer:
    def answer(gateway: Gateway, trade_no: str, fields: dict[str, Any]) -> web.StreamResponse:
        gateway.ledger.setdefault(trade_no, fields)
        return then(gateway, trade_no, fields)

    return answer


def honest_query(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
    if trade_no in gateway.ledger:
        return web.json_response(envelope("0000", "success", gateway.state(trade_no)))
    return web.json_response(envelope("8000", "order not exist"))


def status_with_envelope(status: int) -> Answer:
    """A proxy (or a busy gateway) answering ``status`` with a body that looks like a
    verdict: "8000", the code that means "not found" to a query."""

    def answer(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(envelope("8000", "request failed, system busy"), status=status)

    return answer


@pytest.fixture(params=["checkout", "payout"])
def kind_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def run(kind_name: str) -> AsyncIterator[Callable[..., Any]]:
    """``await run(create, query)``: one create of ``kind_name`` against such a gateway;
    returns (the gateway, the error or result)."""
    async def one(create: Answer, query: Answer) -> tuple[Gateway, Any]:
        probe = _client("http://127.0.0.1:1")
        kind = probe._checkout if kind_name == "checkout" else payout_kind(
            payout_profile(probe.profile)
        )
        await probe.aclose()
        gateway = Gateway(kind, create, query)
        app = web.Application()
        app.router.add_post("/{path:.*}", gateway.handle)
        async with serving(app) as base:
            client = _client(base)
            try:
                if kind_name == "checkout":
                    result: Any = await client.create_payment_link(
                        request_from_wire(IDR_REQUEST, trade_no="T-HOSTILE-1")
                    )
                else:
                    result = await client.create_payout(
                        payout_request("IDR", "T-HOSTILE-1", "https://shop.example/payouts")
                    )
            except VexoraError as exc:
                result = exc
            finally:
                await client.aclose()
        return gateway, result

    yield one


def _client(base_url: str) -> VexoraClient:
    return VexoraClient(
        merchant_no="0000000001", secret="TESTSECRET", region="IDR", base_url=base_url,
        allow_insecure_http=True, retry=POLICY,
    )  # fmt: skip


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
async def test_a_5xx_or_429_carrying_an_envelope_is_no_verdict(
    run: Callable[..., Any], status: int
) -> None:
    # Committed, then every create and query answered `status` with a "not found" envelope:
    # nothing the gateway proved, so neither rejected nor absent.
    gateway, result = await run(commit(status_with_envelope(status)), status_with_envelope(status))
    assert "T-HOSTILE-1" in gateway.ledger
    assert isinstance(result, OutcomeUnknown), result
    assert gateway.creates >= 2  # retried: such an answer may come from a proxy


async def test_a_query_busy_with_an_envelope_does_not_confirm_absence(
    run: Callable[..., Any],
) -> None:
    # The create is refused (nothing stored); every query answers 503 "8000": absence is
    # not confirmed, so the refusal is not reported as final.
    def refuse(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(envelope("8100", "insufficient balance"))

    gateway, result = await run(refuse, status_with_envelope(503))
    assert not gateway.ledger
    assert not isinstance(result, OrderRejected), result
    assert isinstance(result, OutcomeUnknown)


async def test_a_query_about_another_order_proves_nothing(run: Callable[..., Any]) -> None:
    def refuse(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(envelope("8100", "insufficient balance"))

    def other(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(envelope("0000", "success", gateway.state("OTHER-999")))

    gateway, result = await run(refuse, other)
    assert not gateway.ledger
    assert isinstance(result, OutcomeUnknown), result  # not OrderExists: nothing is stored


async def test_an_accepted_answer_about_another_order_is_not_our_result(
    run: Callable[..., Any],
) -> None:
    def accepted_other(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(envelope("0000", "success", gateway.state("SOMEONE-ELSE")))

    gateway, result = await run(commit(accepted_other), honest_query)
    assert "T-HOSTILE-1" in gateway.ledger
    assert isinstance(result, OrderExists), result
    assert result.state.trade_no == "T-HOSTILE-1"  # what our own query proved


async def test_a_body_nested_past_any_parser_is_a_typed_outcome(run: Callable[..., Any]) -> None:
    deep = b'{"code":"0000","msg":"ok","data":' + b"[" * 1000 + b"]" * 1000 + b"}"

    def nested(gateway: Gateway, trade_no: str, _: dict[str, Any]) -> web.StreamResponse:
        return web.Response(body=deep, content_type="application/json")

    gateway, result = await run(commit(nested), honest_query)
    assert "T-HOSTILE-1" in gateway.ledger
    assert isinstance(result, OrderExists), result


# -- Echoes: a gateway quoting the payer's data back ---------------------------------------


def _forms(value: str) -> list[str]:
    return [value, value.upper(), quote(value, safe=""), json.dumps(value)[1:-1]]


def echoing(code: str) -> Answer:
    """Refuses with ``code``, quoting every personal value sent, in several spellings, in
    its msg, a top-level key, a field of ``data`` and a header."""

    def answer(gateway: Gateway, trade_no: str, fields: dict[str, Any]) -> web.StreamResponse:
        sent = [str(v) for k, v in fields.items() if k not in _IDENTIFYING]
        quoted = " ".join(form for value in sent for form in _forms(value))
        body = envelope(code, f"invalid: {quoted}"[:190], {"msg": quoted, "tradeNo": trade_no},
                        request=quoted)  # fmt: skip
        return web.json_response(body, headers={"X-Echo": quote(quoted, safe="")})

    return answer


_IDENTIFYING = {"tradeNo", "amount", "notifyUrl", "returnUrl", "timestamp", "sign",
                "channelCode", "wayCode", "bankCode"}  # fmt: skip


def _everything_shown(error: VexoraError) -> str:
    shown = [str(error), repr(error), repr(error.args), repr(getattr(error, "response", None))]
    for name in ("reason", "known", "rejection", "msg", "code"):
        shown.append(repr(getattr(error, name, None)))
    linked: list[BaseException | None] = [error.__cause__, error.__context__]
    seen = {id(error)}
    while linked:  # every error chained to it, explicitly or as context
        other = linked.pop()
        if other is None or id(other) in seen:
            continue
        seen.add(id(other))
        shown.append(repr(other) + repr(getattr(other, "response", None)))
        shown.append(repr(getattr(other, "doc", None)))  # a JSONDecodeError's whole text
        linked += [other.__cause__, other.__context__]
    return "\n".join(shown)


def _leaks(text: str, personal: list[str]) -> list[str]:
    lowered = text.lower()
    return [form for value in personal for form in _forms(value) if form.lower() in lowered]


@pytest.mark.parametrize(
    ("create", "query", "outcome"),
    [
        (echoing("1000"), echoing("8000"), "rejected"),  # refused, confirmed absent
        (echoing("5000"), echoing("7777"), "unknown"),  # system error, queries prove nothing
        (commit(echoing("1000")), honest_query, "exists"),
    ],
    ids=["refused", "system-error", "stored-then-refused"],
)
async def test_payer_data_a_gateway_echoes_stays_out_of_errors_and_logs(
    run: Callable[..., Any],
    kind_name: str,
    caplog: pytest.LogCaptureFixture,
    create: Answer,
    query: Answer,
    outcome: str,
) -> None:
    personal = CHECKOUT_PERSONAL if kind_name == "checkout" else PAYOUT_PERSONAL
    with caplog.at_level(logging.DEBUG, logger="vexora_async"):
        gateway, error = await run(create, query)
    assert isinstance(error, VexoraError)
    assert outcome_of(error).value == outcome
    assert ("T-HOSTILE-1" in gateway.ledger) == (outcome == "exists")
    assert "***" in str(error) or outcome == "exists"  # the gateway's words, masked
    shown = _everything_shown(error)
    assert _leaks(shown, personal) == [], shown
    assert _leaks("\n".join(r.getMessage() for r in caplog.records), personal) == []


async def test_a_raw_response_shows_no_echo_of_the_request() -> None:
    # `with_raw_response` is for logging: a success that quotes the payer is masked there
    # too (its result, read from `data`, is not).
    async def accept(request: web.Request) -> web.Response:
        fields = await request.json()
        data = {"tradeNo": fields["tradeNo"], "platFormTradeNo": "P1", "status": "0015",
                "paymentUrl": "https://cashier.example/x"}  # fmt: skip
        return web.json_response(
            envelope("0000", f"link created for {fields['email']}", data),
            headers={"X-Request-Id": fields["mobile"]},
        )

    app = web.Application()
    app.router.add_post("/{path:.*}", accept)
    async with serving(app) as base, _client(base) as client:
        raw = await client.with_raw_response.create_payment_link(
            request_from_wire(IDR_REQUEST, trade_no="T-RAW-1")
        )
    assert raw.parse().payment_url == "https://cashier.example/x"
    assert _leaks(repr(raw) + raw.msg + repr(dict(raw.headers)), CHECKOUT_PERSONAL) == []
