"""``VexoraClient``: validate with the region profile, run the middleware chain, read the answer."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import aiohttp
import attrs

from .batch import BatchRun
from .call import ApiCall, Envelope
from .codes import GatewayCodes
from .credentials import check_merchant_no, check_secret
from .direct import chain, create_order
from .errors import ConfigurationError, ValidationError, Violation
from .hosts import is_loopback_host
from .logs import configure_from_env
from .middleware import (
    Middleware,
    SigningMiddleware,
    Slot,
    arrange,
    epoch_millis,
    sender,
)
from .models import CheckoutRequest, PaymentLink, PaymentState
from .payout_models import Balance, Payout, PayoutRequest, PayoutState
from .payouts import balance_call, payout_kind, payout_profile, read_balance
from .ratelimit import RateLimiter, RateLimitMiddleware
from .reconcile import OrderKind, query_state
from .regions import ProfileRegistry, RegionProfile, registry
from .responses import RawResponse
from .retry import AttemptHook, RequestHook, RetryMiddleware, RetryPolicy
from .rules import Invalid, trade_no
from .transports.aiohttp import AiohttpTransport
from .transports.base import Timeouts, Transport

__all__ = ["ENVIRONMENT", "RawResponses", "VexoraClient"]

# What ``VexoraClient.from_env`` (and the CLI) read: keyword -> environment variable.
ENVIRONMENT: Mapping[str, str] = {
    "merchant_no": "VEXORA_MERCHANT_NO",
    "secret": "VEXORA_SECRET",
    "base_url": "VEXORA_BASE_URL",
    "region": "VEXORA_REGION",
}
DEFAULT_REGION = "IDR"


def _own_transport(
    http: str,
    session: aiohttp.ClientSession | None,
    connector: aiohttp.BaseConnector | None,
    limit: int,
    timeouts: Timeouts | None,
) -> Transport:
    """The transport a client creates (and closes) itself: ``http`` names which."""
    if http == "aiohttp":
        return AiohttpTransport(
            session=session, connector=connector, limit=limit, timeouts=timeouts
        )
    if http != "http11":
        raise ConfigurationError('http must be "aiohttp" or "http11"')
    if session is not None or connector is not None:
        raise ConfigurationError("session= and connector= are aiohttp's: not with http=\"http11\"")
    from .transports.http11 import Http11Transport

    return Http11Transport(limit=limit, timeouts=timeouts)


class VexoraClient:
    """An async client for one merchant account on one gateway system.

    >>> async with VexoraClient(merchant_no="0000000001", secret="...", region="IDR",
    ...                         base_url="https://sandbox-api.vexora.tech/indonesia") as client:
    ...     link = await client.create_payment_link(request)

    The aiohttp session is created on first use inside the running loop. Pass ``transport``
    to use another one (it is then yours to close), or ``session``/``connector`` to share
    aiohttp resources (never closed here). ``http="http11"`` makes the client create (and
    close) the SDK's own lean ``Http11Transport`` instead of the aiohttp one.
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
        rate_limit: RateLimiter | None = None,
        http: Literal["aiohttp", "http11"] = "aiohttp",
    ) -> None:
        check_merchant_no(merchant_no)
        check_secret(secret)
        _check_base_url(base_url, allow_insecure_http)
        configure_from_env()  # VEXORA_LOG: one stderr handler, however many clients
        self.merchant_no = merchant_no
        self.base_url = base_url
        self.profile = (profiles or registry).get(region)
        self._owns_transport = transport is None
        self._transport: Transport = transport or _own_transport(
            http, session, connector, limit, timeouts
        )
        payout = self.profile.payout
        signing = SigningMiddleware(
            merchant_no,
            secret,
            timestamp_as_number=self.profile.timestamp_as_number,
            # The payout pages type timestamp as they like (SPEC §9): per path.
            timestamp_types=(
                {}
                if payout is None
                else dict.fromkeys(
                    (payout.create_path, payout.query_path, payout.balance_path),
                    payout.timestamp_as_number,
                )
            ),
            clock=clock,
        )
        codes = self.profile.codes  # how this gateway's codes read (RegionProfile.codes)
        self.codes: GatewayCodes = codes
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
        # A rate limit applies to every attempt, retries included: inside the retry loop.
        limited = (RateLimitMiddleware(rate_limit),) if rate_limit is not None else ()
        self.middlewares: tuple[Middleware, ...] = arrange(
            middlewares, retrying, signing, per_attempt=limited
        )
        self._end = sender(self._transport, base_url)
        self._send = chain(self.middlewares, self._end)
        self._checkout = OrderKind(
            "checkout",
            self.profile.checkout_path,
            "query",
            self.profile.query_path,
            PaymentLink,
            PaymentState,
            self.profile.response.aliases,
        )

    # -- other ways to make one ------------------------------------------------------------

    @classmethod
    def from_env(
        cls, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> VexoraClient:
        """A client configured from ``VEXORA_MERCHANT_NO``, ``VEXORA_SECRET``,
        ``VEXORA_BASE_URL`` and ``VEXORA_REGION`` (default ``IDR``), as the CLI reads them.

        A keyword given here wins over its variable (``from_env(region="KHR")``); any other
        ``VexoraClient`` option passes through (``from_env(limit=10)``). A missing variable
        is a ``ConfigurationError`` naming every one missing; no value is ever quoted.
        ``environ`` replaces ``os.environ`` (tests).
        """
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {}
        missing: list[str] = []
        for name, variable in ENVIRONMENT.items():
            value = overrides.pop(name, None) or env.get(variable) or None
            if value is None and name == "region":
                value = DEFAULT_REGION
            if value is None:
                missing.append(variable)
            else:
                settings[name] = value
        if missing:
            raise ConfigurationError(
                "missing environment variable"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(missing)
                + " (or pass "
                + ", ".join(f"{k}=" for k, v in ENVIRONMENT.items() if v in missing)
                + " to from_env)"
            )
        return cls(**settings, **overrides)

    def with_options(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> VexoraClient:
        """A client like this one with other call options, sharing its connection pool.

        ``timeout`` is seconds per attempt: it becomes the policy's ``attempt_timeout``
        (the one timeout rule, see ``RetryPolicy``; ``deadline`` still bounds the whole
        call). ``retry`` replaces the policy; both may be given. The derived client uses
        this client's transport and never closes it: close the original, once, when all
        are done (a derived client's ``aclose`` is a no-op).
        """
        policy = retry if retry is not None else self.retry_policy
        if not isinstance(policy, RetryPolicy):
            raise ConfigurationError("retry must be a RetryPolicy")
        if timeout is not None:
            policy = attrs.evolve(policy, attempt_timeout=timeout)  # validated there
        retrying = copy.copy(self._retry)  # same hooks, sleep and clock
        retrying.policy = policy
        derived = copy.copy(self)
        derived._owns_transport = False
        derived._retry = retrying
        derived.retry_policy = policy
        derived.middlewares = tuple(
            retrying if link is self._retry else link for link in self.middlewares
        )
        derived._send = chain(derived.middlewares, self._end)
        return derived

    @property
    def with_raw_response(self) -> RawResponses:
        """The same calls, returning a ``RawResponse`` (HTTP status, headers, gateway code
        and message, attempts) whose ``parse()`` is the usual result:

        >>> raw = await client.with_raw_response.create_payment_link(request)
        >>> raw.status, raw.headers.get("x-request-id"), raw.parse().payment_url
        """
        return RawResponses(self)

    def _recording(self) -> tuple[VexoraClient, list[tuple[ApiCall, Envelope]]]:
        """A view of this client that keeps every envelope its calls get back."""
        seen: list[tuple[ApiCall, Envelope]] = []
        send = self._send

        async def record(call: ApiCall) -> Envelope:
            envelope = await send(call)
            seen.append((call, envelope))
            return envelope

        view = copy.copy(self)
        view._owns_transport = False
        view._send = record
        return view, seen

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
        """Close the transport if this client created it (not one from ``with_options``)."""
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
        - ``OrderExists``: it exists, but this call has no cashier URL for it: the answer was
          lost, or the trade number was used already (``.refused``; ``.state`` has the query).
        - ``OutcomeUnknown``: it may exist; query it later, never re-create it under a new
          number.
        - ``AuthenticationError``: the gateway did not accept the credentials.

        ``timeout`` bounds one attempt; ``retry.deadline`` the whole call, reconciliation
        included. Pass ``maybe_sent=True`` when an earlier run may already have sent this
        order (a resumed batch).
        """
        fields = self.profile.prepare(request)
        return await create_order(
            self._send, self._checkout, self.codes, request.trade_no, fields, timeout,
            retry or self.retry_policy, self._retry.clock, self._retry.sleep, maybe_sent,
        )  # fmt: skip

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

    # -- payouts and balance (SPEC §9; the payout parts are in payouts.py) -------------------

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
        - ``OrderExists``: it exists (``.state`` is the ``PayoutState``): its answer was lost,
          or the trade number was used already (``.refused``).
        - ``OutcomeUnknown``: it may exist; query it, never pay it again under a new number.
        - ``AuthenticationError``: the gateway did not accept the credentials.
        """
        profile = payout_profile(self.profile)
        fields = profile.prepare(request)  # every violation, before anything is sent
        return await create_order(
            self._send, payout_kind(profile), self.codes, request.trade_no, fields, timeout,
            retry or self.retry_policy, self._retry.clock, self._retry.sleep, maybe_sent,
        )  # fmt: skip

    def create_payouts(
        self,
        requests: Iterable[PayoutRequest] | AsyncIterable[PayoutRequest],
        *,
        concurrency: int = 64,
        retry: RetryPolicy | None = None,
    ) -> BatchRun:
        """Many payouts, at most ``concurrency`` in flight; as ``create_payment_links``
        (``result.link`` holds the ``Payout``, ``result.outcome`` says what is proven)."""
        create: Any = self.create_payout
        if retry is not None:
            create = functools.partial(self.create_payout, retry=retry)
        return BatchRun(create, cast(Any, requests), concurrency)

    async def query_payout(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PayoutState:
        """What the gateway knows of the payout ``trade_no`` (errors as ``query_payment``)."""
        _check_trade_no(trade_no)
        state: PayoutState = await query_state(
            self._send, payout_kind(payout_profile(self.profile)), self.codes, trade_no,
            timeout=timeout, policy=retry,
        )  # fmt: skip
        return state

    async def get_balance(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Balance:
        """The account's balance: exact ``Decimal`` available, frozen and unsettled."""
        call = balance_call(payout_profile(self.profile), timeout, retry)
        return read_balance(await self._send(call), self.codes)


class RawResponses:
    """``client.with_raw_response``: each call returns a ``RawResponse`` around its result
    (as openai-python's ``with_raw_response``). Errors are raised exactly as usual."""

    __slots__ = ("_client",)

    def __init__(self, client: VexoraClient) -> None:
        self._client = client

    async def create_payment_link(
        self,
        request: CheckoutRequest,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        maybe_sent: bool = False,
    ) -> RawResponse[PaymentLink]:
        client, seen = self._client._recording()
        link = await client.create_payment_link(
            request, timeout=timeout, retry=retry, maybe_sent=maybe_sent
        )
        call, envelope = seen[-1]  # a link comes only from the last create's answer
        return RawResponse.of(call, envelope, link)

    async def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> RawResponse[PaymentState]:
        client, seen = self._client._recording()
        state = await client.query_payment(trade_no, timeout=timeout, retry=retry)
        call, envelope = seen[-1]
        return RawResponse.of(call, envelope, state)


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

