"""The default chain's shortened create (``direct.py``) claims exactly what the full chain does.

Two clients meet the same scripted gateway: one with only its own links (its creates take
the shortcut) and one with a pass-through middleware of its own (its creates go through
every link). Whatever the gateway answers, in any order, both must end the same way: the
same result or error (type, text, attempts, maybe_sent, outcome, what was learned), the
same requests sent with the same attempt timeouts, the same waits and the same log lines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async import (
    ConnectError,
    ConnectionDropped,
    HttpRequest,
    HttpResponse,
    RequestTimeout,
    RetryPolicy,
    VexoraClient,
)
from vexora_async.call import ApiCall, Envelope
from vexora_async.direct import DefaultChain
from vexora_async.errors import VexoraError
from vexora_async.middleware import Next
from vexora_async.outcome import outcome_of
from vexora_async.retry import RetryMiddleware

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, FakeTime, envelope, link_data, request_from_wire
from .payout_support import payout_request

TRADE = seeds.IDR_REQUEST["tradeNo"]
STATE = {"tradeNo": TRADE, "platFormTradeNo": "PF1", "status": "0015", "amount": 1000000}
PAYOUT_TRADE = "PO-0001"
PAYOUT = {"tradeNo": PAYOUT_TRADE, "platFormTradeNo": "po1", "status": "0015", "amount": "100000"}


def _json(status: int, body: bytes, **headers: str) -> Callable[[], HttpResponse]:
    return lambda: HttpResponse(status, {"content-type": "application/json", **headers}, body)


# Every kind of answer a create or a query can get, by name. Errors are made afresh for
# every use: the links write what they learned onto them.
ANSWERS: dict[str, Callable[[], HttpResponse | VexoraError]] = {
    "accepted": _json(200, envelope(link_data(TRADE))),
    "accepted_unreadable": _json(200, envelope({"tradeNo": TRADE, "status": ["0015"]})),
    "accepted_no_data": _json(200, envelope()),
    "refused": _json(200, envelope(None, "1000", "amount: below_minimum")),
    "system_error": _json(200, envelope(None, "5000", "system busy")),
    "authentication": _json(200, envelope(None, "1002", "merchant not exist")),
    "not_found": _json(200, envelope(None, "8000", "order not found")),
    "found": _json(200, envelope(STATE)),
    "payout_accepted": _json(200, envelope(PAYOUT)),
    "payout_found": _json(200, envelope(PAYOUT)),
    "unknown_code": _json(200, envelope(None, "7777", "new")),
    "control_text": _json(200, envelope(None, "1000", "bad\x00msg")),
    "http_500": _json(500, b"<html>busy</html>"),
    "http_500_envelope": _json(500, envelope(None, "5000", "busy")),
    "http_429": _json(429, b"slow down", **{"retry-after": "2"}),
    "http_400": _json(400, b"bad request"),
    "redirect": _json(302, b"", location="https://elsewhere.example/x"),
    "not_json": _json(200, b"<html>ok</html>"),
    "not_envelope": _json(200, b'["0000"]'),
    "connect_error": lambda: ConnectError("could not connect: refused"),
    "timeout": lambda: RequestTimeout("no answer in time"),
    "dropped": lambda: ConnectionDropped("connection failed: reset"),
}
CREATE_ANSWERS = sorted(set(ANSWERS) - {"found", "not_found", "payout_found"})
QUERY_ANSWERS = sorted(ANSWERS)


class Gateway:
    """A transport answering checkouts and queries from two scripts, recording each
    request: its path, business fields and the attempt's timeout. Each answer takes 0.25 s
    of ``time`` (so a deadline taken at the wrong moment shows). When a script runs out, a
    checkout is accepted and a query finds nothing."""

    def __init__(self, creates: list[str], queries: list[str], time: FakeTime) -> None:
        self._scripts = {"checkout": list(creates), "query": list(queries)}
        self._time = time
        self.seen: list[tuple[str, dict[str, Any], float | None]] = []

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        fields = json.loads(request.body)
        del fields["timestamp"], fields["sign"]  # fresh per attempt by design
        self.seen.append((request.url, fields, timeout))
        self._time.now += 0.25
        kind = "query" if "query" in request.url.lower() else "checkout"
        script = self._scripts[kind]
        accepted = "payout_accepted" if "disbursements" in request.url else "accepted"
        name = script.pop(0) if script else (accepted if kind == "checkout" else "not_found")
        answer = ANSWERS[name]()
        if isinstance(answer, VexoraError):
            raise answer
        return answer

    async def aclose(self) -> None:
        return None


async def _pass_through(call: ApiCall, next_: Next) -> Envelope:
    return await next_(call)


def _client(gateway: Gateway, time: FakeTime, policy: RetryPolicy, *, direct: bool) -> VexoraClient:
    retry = RetryMiddleware(policy, sleep=time.sleep, clock=time.clock, random=lambda: 0.5)
    client = VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, region="IDR", base_url="https://gateway.example",
        transport=gateway, retry=retry, middlewares=() if direct else (_pass_through,),
    )  # fmt: skip
    assert (type(client._send) is DefaultChain) is direct
    return client


def _ending(error: BaseException | None, result: object) -> dict[str, Any]:
    """Everything a caller can learn from how a create ended."""
    if error is None:
        return {"result": result}
    assert isinstance(error, VexoraError)
    return {
        "type": type(error).__name__,
        "text": str(error),
        "attempts": error.attempts,
        "maybe_sent": error.maybe_sent,
        "outcome": outcome_of(error),
        "known": getattr(error, "known", None),
        "rejection": repr(getattr(error, "rejection", None)),
        "state": getattr(error, "state", None),
        "cause": type(error.__cause__).__name__,
        "response": repr(getattr(error, "response", None)),
    }


async def _run(
    creates: list[str],
    queries: list[str],
    policy: RetryPolicy,
    maybe_sent: bool,
    timeout: float | None,
    *,
    direct: bool,
    logs: _Collect,
    payout: bool = False,
) -> dict[str, Any]:
    time = FakeTime()
    gateway = Gateway(creates, queries, time)
    client = _client(gateway, time, policy, direct=direct)
    error: BaseException | None = None
    result: object = None
    start = len(logs.records)
    try:
        if payout:
            order = payout_request("IDR", PAYOUT_TRADE, "https://merchant.example/payouts")
            result = await client.create_payout(order, timeout=timeout, maybe_sent=maybe_sent)
        else:
            request = request_from_wire(seeds.IDR_REQUEST)
            result = await client.create_payment_link(
                request, timeout=timeout, maybe_sent=maybe_sent
            )
    except VexoraError as exc:
        error = exc
    return {
        **_ending(error, result),
        "sent": gateway.seen,
        "sleeps": time.sleeps,
        "logs": [(r.levelname, r.getMessage()) for r in logs.records[start:]],
    }


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __repr__(self) -> str:  # hypothesis shows it with a failing example
        return f"<{len(self.records)} log records>"


@pytest.fixture
def logs() -> Any:
    """INFO records of ``vexora_async`` (failed attempts are reported at INFO)."""
    logger = logging.getLogger("vexora_async")
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


POLICIES = st.builds(
    RetryPolicy,
    attempts=st.integers(1, 3),
    deadline=st.sampled_from([None, 1.5, 30.0, 90.0]),
    attempt_timeout=st.sampled_from([2.0, 15.0]),
    reconcile=st.booleans(),
    settle_queries=st.integers(1, 3),
    settle_window=st.sampled_from([0.5, 4.0]),
) | st.builds(RetryPolicy, attempt_timeout=st.none(), deadline=st.sampled_from([1.5, 90.0]))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    creates=st.lists(st.sampled_from(CREATE_ANSWERS), min_size=1, max_size=4),
    queries=st.lists(st.sampled_from(QUERY_ANSWERS), max_size=5),
    policy=POLICIES,
    maybe_sent=st.booleans(),
    timeout=st.sampled_from([None, 0.5, 20.0]),
    payout=st.booleans(),
)
async def test_the_shortcut_ends_every_create_as_the_full_chain_does(
    creates: list[str],
    queries: list[str],
    policy: RetryPolicy,
    maybe_sent: bool,
    timeout: float | None,
    payout: bool,
    logs: _Collect,
) -> None:
    """Payment links and payouts (their own paths, timestamp type and result)."""
    args = (creates, queries, policy, maybe_sent, timeout)
    full = await _run(*args, direct=False, logs=logs, payout=payout)
    short = await _run(*args, direct=True, logs=logs, payout=payout)
    assert short == full


@pytest.mark.parametrize("first", CREATE_ANSWERS)
async def test_each_first_answer_ends_as_through_the_full_chain(
    first: str, logs: _Collect
) -> None:
    """Every kind of first answer, once each (the property test samples them)."""
    args: tuple[Any, ...] = ([first], [], RetryPolicy(settle_window=0.5), False, None)
    full = await _run(*args, direct=False, logs=logs)
    short = await _run(*args, direct=True, logs=logs)
    assert short == full
    assert short["sent"][0][2] == 15.0  # the policy's attempt timeout, as the retry link gives


async def test_the_usual_create_is_one_request_and_the_link() -> None:
    time = FakeTime()
    gateway = Gateway(["accepted"], [], time)
    link = await _client(gateway, time, RetryPolicy(), direct=True).create_payment_link(
        request_from_wire(seeds.IDR_REQUEST)
    )
    assert link.trade_no == TRADE and link.payment_url.endswith(TRADE)
    assert len(gateway.seen) == 1 and time.sleeps == []


def _hooked(kind: str, gateway: Gateway, events: list[Any]) -> VexoraClient:
    async def hook(event: Any) -> None:
        events.append(event)

    hooks: Mapping[str, Any] = {"on_attempt" if kind == "attempt" else "on_request": hook}
    return VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, region="IDR", base_url="https://gateway.example",
        transport=gateway, **hooks,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["attempt", "request"])
async def test_with_a_hook_every_attempt_goes_through_the_links(kind: str) -> None:
    """A hook must see the first attempt too: the shortcut stands aside for it."""
    events: list[Any] = []
    client = _hooked(kind, Gateway(["accepted"], [], FakeTime()), events)
    await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert [event.attempt for event in events] == [1]


async def test_with_debug_logging_the_first_attempt_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    gateway = Gateway(["accepted"], [], time)
    client = _client(gateway, time, RetryPolicy(), direct=True)
    with caplog.at_level(logging.DEBUG, logger="vexora_async"):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    lines = [record.getMessage() for record in caplog.records]
    assert any("attempt=1" in line and "code=0000" in line for line in lines)


async def test_derived_and_recording_clients_keep_their_own_chains() -> None:
    """``with_options`` gets a shortened chain with its own policy; ``with_raw_response``
    records every envelope, so its creates go through the links."""
    time = FakeTime()
    gateway = Gateway(["accepted", "accepted"], [], time)
    client = _client(gateway, time, RetryPolicy(), direct=True)
    derived = client.with_options(timeout=3.0)
    assert type(derived._send) is DefaultChain
    await derived.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert gateway.seen[-1][2] == 3.0
    raw = await client.with_raw_response.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert raw.code == "0000" and raw.attempts == 1
