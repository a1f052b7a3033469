"""Creating an order so that the result never claims more than the gateway proved.

The gateway has no idempotency key; its only guard is that ``tradeNo`` is unique per
merchant. So a create may end only in:

- the result (``PaymentLink``): the gateway accepted it and we read the answer;
- ``OrderExists``: a query found the order (the answer that carried its link was lost, or
  the gateway refused this create because the trade number exists already);
- ``OrderRejected``: the gateway refused it *and* the order is confirmed absent;
- ``ConnectError``: no attempt ever reached a server;
- ``OutcomeUnknown``: anything else, with what was learned in ``.known``.

"Absent" means the profile's not-found answer at every one of ``settle_queries`` queries
spread over ``settle_window`` (replicas lag; one "not found" can mean "not yet"). Any other
query answer (a throttle, a 5xx, an unknown code, an authentication failure) proves nothing.
A refusal is checked even on a fresh call: the duplicate-``tradeNo`` code is undocumented,
so any refusal may mean "it exists already" (another process, a lost journal). Every step
runs inside the call's one ``deadline``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .call import ApiCall, Envelope
from .codes import GatewayCodes
from .echoes import NOTHING_SENT, Echoes
from .envelope import refusal
from .errors import (
    AuthenticationError,
    ConnectError,
    HTTPStatusError,
    MalformedResponse,
    OrderExists,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    VexoraError,
    describe,
)
from .responses import annotate
from .retry import RetryPolicy
from .wire import structure_response

__all__ = ["AboutAnOrder", "FirstAttempt", "OrderKind", "about", "create_truthfully", "query_state"]

class AboutAnOrder(Protocol):
    """What a create's result and a query's state both name: the order they are about."""

    @property
    def trade_no(self) -> str: ...


Result = TypeVar("Result", bound=AboutAnOrder)
State = TypeVar("State", bound=AboutAnOrder)
Answer = TypeVar("Answer", bound=AboutAnOrder)
Send = Callable[[ApiCall], Awaitable[Envelope]]


@attrs.frozen
class OrderKind(Generic[Result, State]):
    """One kind of order the gateway creates (a payment link, a payout): its two calls and
    what their answers are read into."""

    create_operation: str
    create_path: str
    query_operation: str
    query_path: str
    result: type[Result]
    state: type[State]
    # Other spellings of the create answer's keys, by wire name (the profile's response shape).
    result_aliases: Mapping[str, tuple[str, ...]] | None = None


@attrs.frozen
class FirstAttempt:
    """A create whose first attempt was made before ``create_truthfully`` was called: the
    call's ``deadline`` as it was set then, and ``send``, the chain carrying on from that
    attempt (for the first round; ``create_truthfully``'s own ``send`` after)."""

    deadline: float | None
    send: Send


@attrs.define
class _Found:
    state: Any


@attrs.define
class _Unclear:
    reason: str


_ABSENT = object()
_MAX_RESENDS = 3  # after an unclear attempt and a confirmed absence; the deadline bounds it


async def query_state(
    send: Send,
    kind: OrderKind[Any, State],
    codes: GatewayCodes,
    trade_no: str,
    *,
    timeout: float | None,
    policy: RetryPolicy | None,
    deadline: float | None = None,
    echoes: Echoes = NOTHING_SENT,
) -> State:
    """One (retried) query, read strictly: only the profile's not-found code is
    ``OrderNotFound``; every other code is a typed error. ``echoes``: what the order was
    created with, masked in an error's text (a create's reconciliation passes them)."""
    call = ApiCall(
        kind.query_operation, kind.query_path, {"tradeNo": trade_no}, trade_no, timeout,
        retry=policy, deadline=deadline,
    )  # fmt: skip
    envelope = await send(call)
    if envelope.code == codes.accepted:
        what = f"{kind.query_operation} response"
        try:
            return about(structure_response(envelope.data, kind.state, what), trade_no, what)
        except MalformedResponse as exc:
            raise _answered(exc, call, echoes.envelope(envelope)) from None
    shown = echoes.envelope(envelope)  # told by the code as answered, worded masked
    raise _answered(refusal(envelope, codes, trade_no, shown), call, shown)


async def create_truthfully(
    send: Send,
    kind: OrderKind[Result, Any],
    codes: GatewayCodes,
    trade_no: str,
    fields: Mapping[str, Any],
    *,
    timeout: float | None,
    policy: RetryPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    maybe_sent: bool = False,
    first: FirstAttempt | None = None,
) -> Result:
    """Create one order and report only what the gateway proved (see the module doc).

    ``maybe_sent``: an earlier run may already have sent this order (a resumed batch).
    ``first``: its first attempt was already made (``direct.py``); carry on from it.
    """
    if first is None:
        deadline = None if policy.deadline is None else clock() + policy.deadline
        sending = send
    else:
        deadline, sending = first.deadline, first.send
    if timeout is None:
        timeout = policy.attempt_timeout  # what the retry link would pick: resolved once
    known: list[str] = []
    echoes = Echoes(fields)  # what this order sent, masked wherever an answer echoes it
    rejection: OrderRejected | None = None
    attempts = 0
    accepted = False  # the gateway said 0000 but the answer could not be read
    resends = 0
    cause: VexoraError | None = None  # the last thing that went wrong, chained for debugging
    last: Envelope | VexoraError | None = None  # the last create answer, for error context
    refused = False  # the last create attempt was refused (not lost): how OrderExists reads
    op, path = kind.create_operation, kind.create_path
    while True:
        call = ApiCall(
            kind.create_operation, kind.create_path, fields, trade_no, timeout,
            retry=policy, deadline=deadline,
        )  # fmt: skip
        chain, sending = sending, send  # ``first.send`` carries on for the first round only
        refused = False
        try:
            envelope = await chain(call)
        except VexoraError as exc:
            attempts += exc.attempts
            maybe_sent = maybe_sent or exc.maybe_sent
            exc.response = echoes.info(exc.response)
            cause = last = exc
            if not maybe_sent and isinstance(exc, ConnectError):
                raise  # provably never sent: nothing exists, nothing to reconcile
            if isinstance(exc, HTTPStatusError) and exc.status < 500 and exc.status not in (
                408,
                429,
            ):
                # The HTTP front refused it: a refusal like any other, checked below.
                rejection = OrderRejected(f"HTTP {exc.status}", str(exc), trade_no=trade_no)
                annotate(rejection, op, path, exc)
                refused = True
            known.append(f"{kind.create_operation}: {describe(exc)}")
        else:
            attempts += envelope.attempts
            maybe_sent = maybe_sent or envelope.maybe_sent
            code = envelope.code
            if code == codes.accepted:
                what = f"{kind.create_operation} response"
                try:
                    result = structure_response(
                        envelope.data, kind.result, what, kind.result_aliases
                    )
                    return about(result, trade_no, what)
                except MalformedResponse as exc:
                    accepted = True
                    cause = exc
                    known.append(f"{kind.create_operation}: accepted, {describe(exc)}")
                last = echoes.envelope(envelope)
            else:
                # What a refusal says goes into errors, logs and files: its echoes masked.
                last = envelope = echoes.envelope(envelope)
                if code in codes.system_error:
                    known.append(
                        f"{kind.create_operation}: gateway code {envelope.code}: {envelope.msg}"
                    )
                elif code in codes.authentication and not maybe_sent:
                    error = AuthenticationError(envelope.code, envelope.msg, trade_no=trade_no)
                    raise _stamped(annotate(error, op, path, envelope), attempts, maybe_sent)
                else:
                    rejection = OrderRejected(envelope.code, envelope.msg, trade_no=trade_no)
                    annotate(rejection, op, path, envelope)
                    known.append(
                        f"{kind.create_operation}: refused, gateway code {envelope.code}"
                    )
                    refused = True
        if not policy.reconcile:
            unknown = OutcomeUnknown(
                trade_no, known[-1], attempts=attempts, known=known, rejection=rejection
            )
            raise annotate(unknown, op, path, last) from cause

        look = await _settle(
            send, kind, codes, trade_no, timeout, policy, deadline, clock, sleep, echoes
        )
        if isinstance(look, _Found):
            # A refusal found existing: believed lost only if this call may have sent it
            # before (a retried attempt, a resumed batch); otherwise it existed already.
            exists = OrderExists(
                trade_no, look.state, reason=known[-1], refused=refused, maybe_ours=maybe_sent
            )
            exists.attempts, exists.maybe_sent = attempts, maybe_sent
            raise annotate(exists, op, path, last) from cause
        if isinstance(look, _Unclear):
            known.append(look.reason)
            unknown = OutcomeUnknown(
                trade_no, known[-2], attempts=attempts, known=known, rejection=rejection
            )
            raise annotate(unknown, op, path, last) from cause
        known.append(f"{kind.query_operation}: not found, {policy.settle_queries} times")
        if rejection is not None:
            raise _stamped(rejection, attempts, maybe_sent)  # refused, and confirmed absent
        if accepted or resends >= _MAX_RESENDS:
            unknown = OutcomeUnknown(trade_no, known[-2], attempts=attempts, known=known)
            raise annotate(unknown, op, path, last) from cause
        # Absent after an unclear attempt: resending the same tradeNo cannot create a
        # second order (the gateway keeps it unique), so try again.
        resends += 1
        maybe_sent = True


async def _settle(
    send: Send,
    kind: OrderKind[Any, Any],
    codes: GatewayCodes,
    trade_no: str,
    timeout: float | None,
    policy: RetryPolicy,
    deadline: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    echoes: Echoes,
) -> _Found | _Unclear | object:
    """Found; absent (the not-found answer ``settle_queries`` times, the first and the last
    ``settle_window`` apart); or unclear. An answer that proves nothing (a throttle, an
    unknown code) is no evidence either way: the next query may still settle it, until the
    query budget or the deadline runs out."""
    needed = policy.settle_queries
    spacing = policy.settle_window / (needed - 1) if needed > 1 else 0.0
    budget = needed * 3  # queries, at most, however many answers prove nothing
    not_found = 0
    unclear: str | None = None
    for index in range(budget):
        if index:
            if deadline is not None and clock() + spacing >= deadline:
                break
            await sleep(spacing)
        elif deadline is not None and clock() >= deadline:
            break
        try:
            state = await query_state(
                send, kind, codes, trade_no, timeout=timeout, policy=policy, deadline=deadline,
                echoes=echoes,
            )  # fmt: skip
        except OrderNotFound:
            not_found += 1
            if not_found >= needed:
                return _ABSENT
            continue
        except VexoraError as exc:
            unclear = f"{kind.query_operation}: {describe(exc)} (proves nothing)"
            continue
        return _Found(state)
    if unclear is None:
        unclear = "deadline reached before the order's absence was confirmed"
    return _Unclear(unclear)


def about(answer: Answer, trade_no: str, what: str) -> Answer:
    """``answer`` when it is about ``trade_no``. An answer about another order proves
    nothing about this one: a ``MalformedResponse`` (reconciled like any unreadable one)."""
    if answer.trade_no != trade_no:
        raise MalformedResponse(f"{what}: about another order's tradeNo")
    return answer


def _stamped(error: VexoraError, attempts: int, maybe_sent: bool) -> VexoraError:
    error.attempts = attempts
    error.maybe_sent = maybe_sent
    return error


def _answered(error: VexoraError, call: ApiCall, envelope: Envelope) -> VexoraError:
    """``error`` with where it happened and the (redacted) answer it is about."""
    error.attempts, error.maybe_sent = envelope.attempts, envelope.maybe_sent
    return annotate(error, call.operation, call.path, envelope)
