"""``VexoraClient``: validate with the region profile, run the middleware chain, read the answer."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from . import payouts
from .batch import BatchRun
from .codes import DEFAULT_CODES, GatewayCodes
from .errors import ConfigurationError, ValidationError, Violation
from .hosts import is_loopback_host
from .middleware import (
    Middleware,
    SigningMiddleware,
    Slot,
    arrange,
    compose,
    epoch_millis,
    sender,
)
from .models import CheckoutRequest, PaymentLink, PaymentState
from .payout_models import Balance, Payout, PayoutRequest, PayoutState
from .reconcile import OrderKind, create_truthfully, query_state
from .regions import ProfileRegistry, RegionProfile, registry
from .retry import AttemptHook, RequestHook, RetryMiddleware, RetryPolicy
from .rules import Invalid, trade_no
from .transports.aiohttp import AiohttpTransport
from .transports.base import Timeouts, Transport

__all__ = ["VexoraClient"]

_MERCHANT_NO = re.compile(r"\d{1,32}")


class VexoraClient:
    """An async client for one merchant account on one gateway system.

    >>> async with VexoraClient(merchant_no="0000000001", secret="...", region="IDR",
    ...                         base_url="https://sandbox-api.vexora.tech/indonesia") as client:
    ...     link = await client.create_payment_link(request)

    The aiohttp session is created on first use inside the running loop. Pass ``transport``
    to use another one (it is then yours to close), or ``session``/``connector`` to share
    aiohttp resources (never closed here).
    """

    def __init__(
        self,
        *,
        merchant_no: str,
        secret: str,
        base_url: str,
        region: str | RegionProfile = "IDR",
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
        connector: aiohttp.BaseConnector | None = None,
        limit: int = 100,
        timeouts: Timeouts | None = None,
        middlewares: Sequence[Middleware | Slot] = (),
        retry: RetryPolicy | RetryMiddleware | None = None,
        on_request: RequestHook | None = None,
        on_attempt: AttemptHook | None = None,
        clock: Callable[[], int] = epoch_millis,
        profiles: ProfileRegistry | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        if not isinstance(merchant_no, str) or _MERCHANT_NO.fullmatch(merchant_no) is None:
            raise ConfigurationError("merchant_no must be the merchant number's digits")
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("secret must be a non-empty string")
        _check_base_url(base_url, allow_insecure_http)
        self.merchant_no = merchant_no
        self.base_url = base_url
        self.profile = (profiles or registry).get(region)
        self._owns_transport = transport is None
        self._transport: Transport = transport or AiohttpTransport(
            session=session, connector=connector, limit=limit, timeouts=timeouts
        )
        signing = SigningMiddleware(
            merchant_no, secret, timestamp_as_number=self.profile.timestamp_as_number, clock=clock
        )
        codes: GatewayCodes = getattr(self.profile, "codes", DEFAULT_CODES)
        self.codes = codes
        if isinstance(retry, RetryMiddleware):
            retrying = retry  # brings its own hooks, sleep and clock (tests, tracing)
        else:
            retrying = RetryMiddleware(
                retry,
                on_request=on_request,
                on_attempt=on_attempt,
                system_error_codes=codes.system_error,
            )
        self._retry = retrying
        self.retry_policy = retrying.policy
        self.middlewares: tuple[Middleware, ...] = arrange(middlewares, retrying, signing)
        self._send = compose(self.middlewares, sender(self._transport, base_url))
        self._checkout = OrderKind(
            "checkout",
            self.profile.checkout_path,
            "query",
            self.profile.query_path,
            PaymentLink,
            PaymentState,
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> VexoraClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport if this client created it."""
        if self._owns_transport:
            await self._transport.aclose()

    def __repr__(self) -> str:
        return (
            f"VexoraClient(merchant_no={self.merchant_no!r}, region={self.profile.name!r}, "
            f"base_url={self.base_url!r}, secret='***')"
        )

    # -- operations -----------------------------------------------------------------------

    async def create_payment_link(
        self,
        request: CheckoutRequest,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        maybe_sent: bool = False,
    ) -> PaymentLink:
        """Create one payment link, retrying safely under the same ``trade_no``.

        Returns the ``PaymentLink``, or raises:

        - ``ValidationError`` / ``ConnectError``: nothing was sent.
        - ``OrderRejected``: the gateway refused it and queries confirmed it does not exist.
        - ``OrderExists``: it exists, but its cashier URL was lost (``.state`` has the query).
        - ``OutcomeUnknown``: it may exist; query it later, never re-create it under a new
          number.
        - ``AuthenticationError``: the gateway did not accept the credentials.

        ``timeout`` bounds one attempt; ``retry.deadline`` the whole call, reconciliation
        included. Pass ``maybe_sent=True`` when an earlier run may already have sent this
        order (a resumed batch).
        """
        fields = self.profile.prepare(request)
        return await create_truthfully(
            self._send,
            self._checkout,
            self.codes,
            request.trade_no,
            fields,
            timeout=timeout,
            policy=retry or self.retry_policy,
            clock=self._retry.clock,
            sleep=self._retry.sleep,
            maybe_sent=maybe_sent,
        )

    def create_payment_links(
        self,
        requests: Iterable[CheckoutRequest] | AsyncIterable[CheckoutRequest],
        *,
        concurrency: int = 64,
        retry: RetryPolicy | None = None,
    ) -> BatchRun:
        """Create many links with at most ``concurrency`` in flight.

        ``async for result in client.create_payment_links(requests)`` yields one
        ``BatchResult`` per input as each completes (``result.index`` says which);
        ``await client.create_payment_links(requests)`` returns them all in input order.
        A failure is that input's result (``result.error``, ``result.outcome``), never lost.
        """
        create = self.create_payment_link
        if retry is not None:
            create = functools.partial(self.create_payment_link, retry=retry)
        return BatchRun(create, requests, concurrency)

    async def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PaymentState:
        """What the gateway knows of ``trade_no``.

        Raises ``OrderNotFound`` for the profile's not-found answer (the gateway does not
        know it *yet*: not a failure), ``AuthenticationError`` for a credentials problem,
        ``APIError`` for any other code.
        """
        _check_trade_no(trade_no)
        state: PaymentState = await query_state(
            self._send, self._checkout, self.codes, trade_no, timeout=timeout, policy=retry
        )
        return state

    # -- payouts and balance (SPEC §9; the machinery is in payouts.py) ----------------------

    async def create_payout(
        self,
        request: PayoutRequest,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        maybe_sent: bool = False,
    ) -> Payout:
        """Create one payout, resent only ever under the same ``trade_no``.

        Returns the ``Payout`` (normally ``0015`` processing: the result comes by
        notification or ``query_payout``), or raises:

        - ``ValidationError`` / ``ConnectError``: nothing was sent; nothing was paid out.
        - ``OrderRejected``: the gateway refused it (an insufficient balance, say) and
          queries confirmed no such payout exists: provably not paid out.
        - ``OrderExists``: it exists (``.state`` is the ``PayoutState``); its answer was lost.
        - ``OutcomeUnknown``: it may exist; query it, never pay it again under a new number.
        - ``AuthenticationError``: the gateway did not accept the credentials.
        """
        return await payouts.create_payout(
            self, request, timeout=timeout, retry=retry, maybe_sent=maybe_sent
        )

    def create_payouts(
        self,
        requests: Iterable[PayoutRequest] | AsyncIterable[PayoutRequest],
        *,
        concurrency: int = 64,
        retry: RetryPolicy | None = None,
    ) -> BatchRun:
        """Many payouts, at most ``concurrency`` in flight; as ``create_payment_links``
        (``result.link`` holds the ``Payout``, ``result.outcome`` says what is proven)."""
        return payouts.create_payouts(self, requests, concurrency=concurrency, retry=retry)

    async def query_payout(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PayoutState:
        """What the gateway knows of the payout ``trade_no`` (errors as ``query_payment``)."""
        return await payouts.query_payout(self, trade_no, timeout=timeout, retry=retry)

    async def get_balance(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Balance:
        """The account's balance: exact ``Decimal`` available, frozen and unsettled."""
        return await payouts.get_balance(self, timeout=timeout, retry=retry)


def _check_trade_no(value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError([Violation("trade_no", "not_text", "must be a string")])
    try:
        trade_no(value)
    except Invalid as invalid:
        raise ValidationError([Violation("trade_no", invalid.rule, invalid.hint)]) from None


def _check_base_url(base_url: object, allow_insecure_http: bool) -> None:
    if not isinstance(base_url, str):
        raise ConfigurationError("base_url must be a string")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError("base_url must be an absolute http(s) URL")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            "base_url must use https (plain http is allowed for loopback addresses, or with "
            "allow_insecure_http=True)"
        )

