"""``vexora_async.sync``: many threads at once against the sandbox, the same error classes,
a fast failure inside an event loop, and no thread left behind."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from vexora_async import (
    CheckoutRequest,
    ConfigurationError,
    ConnectError,
    OrderExists,
    OrderNotFound,
    OrderRejected,
    PaymentLink,
    RetryPolicy,
    ValidationError,
)
from vexora_async.client import VexoraClient as AsyncVexoraClient
from vexora_async.errors import AuthenticationError
from vexora_async.payout_models import Payout, PayoutState
from vexora_async.retry import RequestEvent
from vexora_async.sandbox import FaultKind, NotifyRecorder, SandboxThread
from vexora_async.sync import SyncVexoraClient, VexoraClient

from .payout_support import QUICK, payout_request

THREADS = 12
PER_THREAD = 8


def _request(trade_no: str, amount: int = 150000) -> CheckoutRequest:
    return CheckoutRequest(
        trade_no=trade_no, amount=amount, username="Budi", mobile="081234567890",
        email="budi@example.com", notify_url="http://127.0.0.1:9/notify",
    )  # fmt: skip


def _client(sandbox: SandboxThread, **options: object) -> SyncVexoraClient:
    merchant = sandbox.merchants["IDR"]
    return VexoraClient(
        merchant_no=merchant.merchant_no, secret=merchant.secret, base_url=sandbox.base_url,
        region="IDR", **options,
    )  # fmt: skip


def _sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vexora-sync" and t.is_alive()]


def test_many_threads_share_one_client(vexora_sandbox: SandboxThread) -> None:
    before = set(_sync_threads())
    with _client(vexora_sandbox) as client:
        assert set(_sync_threads()) == before  # the loop starts on the first call
        start = threading.Barrier(THREADS)

        def work(worker: int) -> list[PaymentLink]:
            start.wait()  # all threads call at the same moment
            return [
                client.create_payment_link(_request(f"SYNC-{worker}-{i}"))
                for i in range(PER_THREAD)
            ]

        with ThreadPoolExecutor(THREADS) as pool:
            links = [link for batch in pool.map(work, range(THREADS)) for link in batch]
        assert len(_sync_threads()) == len(before) + 1  # one loop thread for all callers
        states = [client.query_payment(link.trade_no) for link in links[:3]]
    trade_nos = {link.trade_no for link in links}
    assert len(trade_nos) == THREADS * PER_THREAD
    assert all(state.status.is_processing for state in states)
    merchant = vexora_sandbox.merchants["IDR"].merchant_no
    assert {o.trade_no for o in vexora_sandbox.ledger.orders(merchant)} == trade_nos
    assert set(_sync_threads()) == before  # close() stopped and joined it


def test_errors_are_the_async_clients_classes(vexora_sandbox: SandboxThread) -> None:
    with _client(vexora_sandbox) as client:
        with pytest.raises(ValidationError) as invalid:
            client.create_payment_link(_request("SYNC-BAD", amount=5))
        assert invalid.value.fields == ("amount",)
        with pytest.raises(OrderNotFound):
            client.query_payment("SYNC-NOPE")
        client.create_payment_link(_request("SYNC-DUP"))
        with pytest.raises(OrderExists) as exists:
            client.create_payment_link(_request("SYNC-DUP"))
        assert exists.value.state.trade_no == "SYNC-DUP"
        with pytest.raises(ConfigurationError):
            client.with_options(timeout=-1)
    merchant = vexora_sandbox.merchants["IDR"]
    with VexoraClient(
        merchant_no=merchant.merchant_no, secret="wrong", base_url=vexora_sandbox.base_url
    ) as wrong, pytest.raises(AuthenticationError) as auth:
        wrong.create_payment_link(_request("SYNC-AUTH"))
    assert auth.value.operation == "checkout"


def test_batches_return_a_list_in_input_order(vexora_sandbox: SandboxThread) -> None:
    policy = RetryPolicy(attempts=2, backoff=0.01, settle_queries=2, settle_window=0.05)
    with _client(vexora_sandbox, retry=policy) as client:
        client.create_payment_link(_request("SYNC-B-2"))  # exists before the batch
        requests = [_request(f"SYNC-B-{i}", amount=5 if i == 3 else 150000) for i in range(5)]
        results = client.create_payment_links(requests, concurrency=3)
    assert [r.index for r in results] == list(range(5))
    assert [r.outcome.value for r in results] == [
        "created", "created", "exists", "invalid", "created"
    ]  # fmt: skip
    assert isinstance(results[2].error, OrderExists)
    assert isinstance(results[3].error, ValidationError)


def test_inside_a_running_loop_it_fails_fast(vexora_sandbox: SandboxThread) -> None:
    before = set(_sync_threads())
    client = _client(vexora_sandbox)

    async def inside() -> None:
        with pytest.raises(ConfigurationError, match="async client"):
            client.create_payment_link(_request("SYNC-LOOP"))
        with pytest.raises(ConfigurationError, match="async client"):
            client.query_payment("SYNC-LOOP")

    asyncio.run(inside())
    assert set(_sync_threads()) == before  # nothing was started for it
    assert vexora_sandbox.ledger.order("SYNC-LOOP") is None
    client.close()


def test_close_waits_for_calls_in_flight_then_refuses_more(
    vexora_sandbox: SandboxThread,
) -> None:
    # The gateway answers after 0.3 s; close() comes while the request is on the wire. Were
    # it to cut the call short, the result would be an error instead of the link.
    vexora_sandbox.faults.delay = 0.3
    vexora_sandbox.faults.inject("SYNC-SLOW", FaultKind.DELAY_AFTER_STORE)
    sent = threading.Event()

    async def on_request(event: RequestEvent) -> None:
        sent.set()

    client = _client(vexora_sandbox, on_request=on_request)
    derived = client.with_options(timeout=5)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(derived.create_payment_link, _request("SYNC-SLOW"))
        assert sent.wait(10)
        derived.close()  # a derived client owns nothing: a no-op
        client.close()
        assert isinstance(call.result(), PaymentLink)
    assert not _sync_threads()
    for closed in (client, derived):
        with pytest.raises(ConnectError, match="closed"):
            closed.create_payment_link(_request("SYNC-AFTER"))
    client.close()  # twice is fine
    assert vexora_sandbox.ledger.order("SYNC-AFTER") is None


def test_from_env_and_raw_responses(
    vexora_sandbox: SandboxThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    merchant = vexora_sandbox.merchants["IDR"]
    monkeypatch.setenv("VEXORA_MERCHANT_NO", merchant.merchant_no)
    monkeypatch.setenv("VEXORA_SECRET", merchant.secret)
    monkeypatch.setenv("VEXORA_BASE_URL", vexora_sandbox.base_url)
    monkeypatch.delenv("VEXORA_REGION", raising=False)
    with SyncVexoraClient.from_env() as client:
        raw = client.with_raw_response.create_payment_link(_request("SYNC-RAW"))
        queried = client.with_raw_response.query_payment("SYNC-RAW")
        assert client.profile.name == "IDR" and "secret='***'" in repr(client)
    assert raw.status == 200 and raw.parse().trade_no == "SYNC-RAW"
    assert queried.operation == "query" and queried.parse().trade_no == "SYNC-RAW"
    assert merchant.secret not in repr(client)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_client_used_before_a_fork_refuses_in_the_child(vexora_sandbox: SandboxThread) -> None:
    # Celery's prefork pool: the child has the loop object but not its thread. A call there
    # must fail at once, not wait forever.
    with _client(vexora_sandbox) as client:
        client.create_payment_link(_request("SYNC-FORK-0"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
            pid = os.fork()
        if pid == 0:  # the child: report through the exit code only
            try:
                client.create_payment_link(_request("SYNC-FORK-1"))
            except ConfigurationError:
                os._exit(7)
            except BaseException:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 7
        assert client.create_payment_link(_request("SYNC-FORK-2")).trade_no == "SYNC-FORK-2"
    assert vexora_sandbox.ledger.order("SYNC-FORK-1") is None


def test_closing_while_threads_call_never_hangs_or_misreports(
    vexora_sandbox: SandboxThread,
) -> None:
    # Racing callers and close(): each call ends with its link, or with ConnectError before
    # anything was sent (then the order must not exist). None may hang.
    client = _client(vexora_sandbox)
    started = threading.Barrier(THREADS + 1)

    def work(worker: int) -> tuple[list[str], list[str]]:
        created: list[str] = []
        refused: list[str] = []
        started.wait()
        for i in range(200):
            trade_no = f"SYNC-RACE-{worker}-{i}"
            try:
                created.append(client.create_payment_link(_request(trade_no)).trade_no)
            except ConnectError as error:
                assert not error.maybe_sent
                refused.append(trade_no)
                break
        return created, refused

    with ThreadPoolExecutor(THREADS) as pool:
        calls = [pool.submit(work, n) for n in range(THREADS)]
        started.wait()
        client.create_payment_link(_request("SYNC-RACE-main"))  # some calls are under way
        client.close()
        outcomes = [call.result(timeout=60) for call in calls]
    assert not _sync_threads()
    stored = {o.trade_no for o in vexora_sandbox.ledger.orders()}
    for created, refused in outcomes:
        assert set(created) <= stored
        assert not set(refused) & stored
    assert sum(len(refused) for _, refused in outcomes) == THREADS  # every worker was stopped


def test_payouts_and_balance(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder
) -> None:
    merchant = vexora_sandbox.merchants["IDR"].merchant_no
    with _client(vexora_sandbox, retry=QUICK) as client:
        assert client.get_balance().available == 0  # sandbox merchants start with nothing
        with pytest.raises(OrderRejected) as poor:
            client.create_payout(payout_request("IDR", "PO-SYNC-POOR", notify_recorder.url))
        assert poor.value.code == "8100"
        vexora_sandbox.payouts.fund(merchant, 400000)
        payout = client.create_payout(payout_request("IDR", "PO-SYNC-1", notify_recorder.url))
        assert isinstance(payout, Payout) and payout.status.is_processing
        assert client.get_balance().frozen == Decimal(100000)
        vexora_sandbox.payouts.wait_settled("PO-SYNC-1")
        state = client.query_payout("PO-SYNC-1")
        assert isinstance(state, PayoutState) and state.status.code == "0000"
        assert state.pay_amount == Decimal(100000)
        with pytest.raises(OrderNotFound):
            client.query_payout("PO-SYNC-NONE")
        requests = [
            payout_request("IDR", f"PO-SYNC-B{i}", notify_recorder.url) for i in range(3)
        ] + [payout_request("IDR", "PO-SYNC-BAD", notify_recorder.url, amount=5)]
        results = client.create_payouts(requests, concurrency=2)
        assert [r.trade_no for r in results] == [r.trade_no for r in requests]  # input order
        assert [r.ok for r in results] == [True, True, True, False]
        assert isinstance(results[3].error, ValidationError)
        assert all(isinstance(r.link, Payout) for r in results[:3])
        for result in results[:3]:
            vexora_sandbox.payouts.wait_settled(result.trade_no)
        balance = client.get_balance()
    assert (balance.available, balance.frozen) == (Decimal(0), Decimal(0))  # 4 paid out
    stored = {o.trade_no for o in vexora_sandbox.payouts.ledger.orders(merchant)}
    assert stored == {"PO-SYNC-1", "PO-SYNC-B0", "PO-SYNC-B1", "PO-SYNC-B2"}


@pytest.mark.parametrize(
    "name", ["create_payout", "create_payouts", "query_payout", "get_balance"]
)
def test_payout_methods_take_the_async_clients_options(name: str) -> None:
    mine = inspect.signature(getattr(SyncVexoraClient, name)).parameters
    theirs = inspect.signature(getattr(AsyncVexoraClient, name)).parameters
    assert [(p.name, p.kind, p.default) for p in mine.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


# A child process: a gateway that takes requests and never answers, three threads blocked in
# calls on it (a create, a query, a batch of two at concurrency 1), and the main thread's
# close() interrupted by a real SIGINT. It prints what each thread got, as JSON.
_CLOSE_INTERRUPTED = r"""
import gc, json, os, signal, socket, sys, threading, time
from vexora_async import CheckoutRequest, RetryPolicy
from vexora_async.sync import VexoraClient

server = socket.create_server(("127.0.0.1", 0))
heads = []
def serve():  # read each request's head, never answer
    while True:
        conn, _ = server.accept()
        heads.append(conn)
        threading.Thread(target=lambda c=conn: c.recv(65536), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()

def request(trade_no):
    return CheckoutRequest(trade_no=trade_no, amount=150000, username="Budi",
        mobile="081234567890", email="budi@example.com", notify_url="http://127.0.0.1:9/n")

slow = RetryPolicy(attempts=1, attempt_timeout=60, deadline=60, reconcile=False)
client = VexoraClient(merchant_no="0000000001", secret="TESTSECRET", region="IDR",
    base_url=f"http://127.0.0.1:{server.getsockname()[1]}", retry=slow)
got = {}
def call(name, function):
    try:
        value = function()
        got[name] = [[r.outcome, type(r.error).__name__] for r in value]
    except BaseException as exc:
        got[name] = [type(exc).__name__, getattr(exc, "maybe_sent", None)]
threads = [
    threading.Thread(target=call, args=(name, function), daemon=True)
    for name, function in (
        ("create", lambda: client.create_payment_link(request("KBI-1"))),
        ("query", lambda: client.query_payment("KBI-2")),
        ("batch", lambda: client.create_payment_links(
            [request("KBI-3"), request("KBI-4")], concurrency=1)),
    )
]
for thread in threads:
    thread.start()
deadline = time.monotonic() + 10
while len(heads) < 3 and time.monotonic() < deadline:  # all three on the wire
    time.sleep(0.01)

main = threading.main_thread().ident
def interrupt():  # once close() has begun: Ctrl+C
    deadline = time.monotonic() + 10
    while not client._runner._closed and time.monotonic() < deadline:
        time.sleep(0.001)
    signal.pthread_kill(main, signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
began = time.monotonic()
try:
    client.close()
    got["close"] = "returned"
except KeyboardInterrupt:
    got["close"] = "KeyboardInterrupt"
for thread in threads:
    thread.join(2)
got["after"] = time.monotonic() - began
got["blocked"] = [t.is_alive() for t in threads]
got["loop_threads"] = [t.name for t in threading.enumerate() if t.name == "vexora-sync"]
gc.collect()
print(json.dumps(got), flush=True)
"""


def test_an_interrupted_close_ends_every_call_and_closes_the_connections() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", _CLOSE_INTERRUPTED],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    got = json.loads(done.stdout)
    assert got["close"] == "KeyboardInterrupt"  # the interruption reaches the caller
    assert got["blocked"] == [False, False, False] and got["after"] < 4, got
    # A create under way may have reached the gateway: unknown, never "not sent".
    assert got["create"] == ["OutcomeUnknown", True]
    assert got["query"] == ["ConnectionDropped", True]
    # The batch comes back whole: the order under way unknown, the one not started not sent.
    assert got["batch"] == [["unknown", "OutcomeUnknown"], ["not_sent", "ConnectError"]]
    assert got["loop_threads"] == []  # joined
    noise = ("Traceback", "never awaited", "ResourceWarning", "Unclosed", "Task was destroyed",
             "Exception ignored", "exception calling callback")  # fmt: skip
    assert not any(word in done.stderr for word in noise), done.stderr
