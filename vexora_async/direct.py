"""The default chain, whose usual create is one step.

A client with only its own links (no middleware, hook or rate limit of yours) has the chain
``RETRY -> SIGNING -> send``, and almost every create on it is one attempt answered
"accepted". Passing that attempt through the links (the retry loop, signing, sending and
reconciliation, each a coroutine or a call of its own) cost about 16,000 of the SDK's
110,000 instructions per link. ``DefaultChain.create`` makes that attempt directly, with
the same signing, request and decoding the links use.

Whatever else the attempt ends in (a typed error, a refusal, a system-error code, an
accepted answer that cannot be read) is handed over as the chain's first attempt: the
retry link carries on from it as if it had made it (``MadeAttempt``), and
``create_truthfully`` reconciles as always (``FirstAttempt``). Only the usual case is
shortened; every other outcome is the chain's own. With an attempt hook or debug logging
on, every attempt goes through the links, which report them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from .call import ApiCall, Envelope
from .codes import GatewayCodes
from .envelope import decode_envelope
from .errors import MalformedResponse, VexoraError
from .middleware import Middleware, Next, Sender, SigningMiddleware, compose, signed_post
from .reconcile import AboutAnOrder, FirstAttempt, OrderKind, create_truthfully
from .retry import MadeAttempt, RetryMiddleware, RetryPolicy
from .wire import structure_response

__all__ = ["DefaultChain", "chain", "create_order"]

Result = TypeVar("Result", bound=AboutAnOrder)

_debug_enabled = logging.getLogger("vexora_async").isEnabledFor


class DefaultChain:
    """``RETRY -> SIGNING -> send`` with the client's own links: callable as the chain, and
    with a shortened ``create``."""

    __slots__ = ("_rest", "_retry", "_sender", "_signing")

    def __init__(self, retry: RetryMiddleware, signing: SigningMiddleware, end: Sender) -> None:
        self._retry = retry
        self._signing = signing
        self._sender = end
        self._rest = signed_post(signing, end)  # the chain after the retry link

    def __call__(self, call: ApiCall) -> Awaitable[Envelope]:
        return self._retry(call, self._rest)

    async def create(
        self,
        kind: OrderKind[Result, Any],
        codes: GatewayCodes,
        trade_no: str,
        fields: Mapping[str, Any],
        timeout: float | None,
        policy: RetryPolicy,
        maybe_sent: bool,
    ) -> Result:
        """``create_truthfully`` over this chain, its usual first attempt made here."""
        retry = self._retry
        clock = retry.clock
        if retry.on_request is not None or retry.on_attempt is not None or _debug_enabled(
            logging.DEBUG
        ):
            return await create_truthfully(
                self, kind, codes, trade_no, fields, timeout=timeout, policy=policy,
                clock=clock, sleep=retry.sleep, maybe_sent=maybe_sent,
            )  # fmt: skip
        begun = clock()
        # The deadline and the attempt's timeout, by the rules create_truthfully and the
        # retry link apply (``RetryPolicy``): the call's time starts now.
        deadline = None if policy.deadline is None else begun + policy.deadline
        if timeout is None:
            timeout = policy.attempt_timeout
        limit = timeout
        if policy.deadline is not None and (limit is None or policy.deadline < limit):
            limit = policy.deadline
        path = kind.create_path
        signing, sender = self._signing, self._sender
        try:
            # Sender.post's steps, in this coroutine: one fewer for every step of the send.
            request = sender.request(path, signing.sign_fields(fields, path), signing.base_headers)
            envelope = decode_envelope(await sender.transport.send(request, timeout=limit))
        except VexoraError as exc:
            outcome: Envelope | VexoraError = exc
        else:
            code = envelope.code
            if code == codes.accepted and code not in retry.system_error_codes:
                try:
                    result = structure_response(
                        envelope.data,
                        kind.result,
                        f"{kind.create_operation} response",
                        kind.result_aliases,
                    )
                except MalformedResponse:
                    pass  # read again, and reconciled, by create_truthfully
                else:
                    if result.trade_no == trade_no:
                        return result
                    # About another order: proves nothing of this one (create_truthfully).
            outcome = envelope
        carry_on = functools.partial(retry, next_=self._rest, made=MadeAttempt(begun, outcome))
        return await create_truthfully(
            self, kind, codes, trade_no, fields, timeout=timeout, policy=policy, clock=clock,
            sleep=retry.sleep, maybe_sent=maybe_sent, first=FirstAttempt(deadline, carry_on),
        )  # fmt: skip


def chain(middlewares: Sequence[Middleware], end: Next) -> Next:
    """The composed chain; a ``DefaultChain`` when it is the client's own links only."""
    if (
        len(middlewares) == 2
        and type(middlewares[0]) is RetryMiddleware  # not a subclass: its loop may differ
        and type(middlewares[1]) is SigningMiddleware
        and type(end) is Sender
    ):
        return DefaultChain(middlewares[0], middlewares[1], end)
    return compose(middlewares, end)


def create_order(
    send: Next,
    kind: OrderKind[Result, Any],
    codes: GatewayCodes,
    trade_no: str,
    fields: Mapping[str, Any],
    timeout: float | None,
    policy: RetryPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    maybe_sent: bool,
) -> Awaitable[Result]:
    """Create one order over the chain ``send`` (``create_truthfully``, shortened on a
    ``DefaultChain``). ``clock`` and ``sleep`` are the client's retry link's."""
    if type(send) is DefaultChain:
        return send.create(kind, codes, trade_no, fields, timeout, policy, maybe_sent)
    return create_truthfully(
        send, kind, codes, trade_no, fields, timeout=timeout, policy=policy, clock=clock,
        sleep=sleep, maybe_sent=maybe_sent,
    )  # fmt: skip
