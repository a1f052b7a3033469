"""``VexoraClient``: validate with the region profile, run the middleware chain, read the answer."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from .batch import BatchRun
from .call import ApiCall, CallTrace
from .envelope import ACCEPTED, SYSTEM_ERROR, read_query
from .errors import (
    ConfigurationError,
    ConnectError,
    HTTPStatusError,
    MalformedResponse,
    OrderExists,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    ResponseError,
    TransportError,
    ValidationError,
    VexoraError,
    Violation,
    describe,
)
from .hosts import is_loopback_host
from .middleware import Middleware, SigningMiddleware, compose, epoch_millis, sender
from .models import CheckoutRequest, PaymentLink, PaymentState
from .regions import ProfileRegistry, RegionProfile, registry
from .retry import AttemptHook, RequestHook, RetryMiddleware, RetryPolicy
from .rules import Invalid, trade_no
from .transports.aiohttp import AiohttpTransport
from .transports.base import Timeouts, Transport
from .wire import structure_response

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
        middlewares: Sequence[Middleware] = (),
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
        if isinstance(retry, RetryMiddleware):
            retrying = retry  # brings its own hooks, sleep and clock (tests, tracing)
        else:
            retrying = RetryMiddleware(retry, on_request=on_request, on_attempt=on_attempt)
        self.retry_policy = retrying.policy
        self._middlewares: tuple[Middleware, ...] = (retrying, signing, *middlewares)
        self._send = compose(self._middlewares, sender(self._transport, base_url))

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
        - ``OrderRejected``: the gateway said no; the order does not exist.
        - ``OrderExists``: it exists, but its cashier URL was lost (``.state`` has the query).
        - ``OutcomeUnknown``: it may exist; query it later, never re-create it under a new
          number.
        - ``HTTPStatusError``: a 4xx without an envelope (nothing was processed).

        Pass ``maybe_sent=True`` when an earlier run may already have sent this order (a
        resumed batch): a rejection is then checked with a query before it is believed.
        """
        fields = self.profile.prepare(request)
        policy = retry or self.retry_policy
        trace = CallTrace(maybe_sent=maybe_sent)
        try:
            return await self._create_once(request.trade_no, fields, timeout, policy, trace)
        except _Unclear as unclear:
            if not policy.reconcile:
                raise OutcomeUnknown(
                    request.trade_no, unclear.reason, attempts=trace.attempts
                ) from unclear.__cause__
            return await self._reconcile(request.trade_no, fields, timeout, policy, trace, unclear)

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

    async def _create_once(
        self,
        trade_no: str,
        fields: dict[str, object],
        timeout: float | None,
        policy: RetryPolicy,
        trace: CallTrace,
    ) -> PaymentLink:
        """One retried create. Raises ``_Unclear`` when only a query can tell what happened."""
        call = ApiCall(
            "checkout", self.profile.checkout_path, fields, trade_no, timeout,
            retry=policy, trace=trace,
        )  # fmt: skip
        try:
            envelope = await self._send(call)
        except (ConnectError, HTTPStatusError) as exc:
            if (isinstance(exc, HTTPStatusError) and exc.status >= 500) or trace.maybe_sent:
                raise _Unclear(describe(exc)) from exc
            raise
        except (TransportError, ResponseError) as exc:
            raise _Unclear(describe(exc)) from exc
        if envelope.code == ACCEPTED:
            try:
                return structure_response(
                    envelope.data, PaymentLink, "checkout response", self.profile.response.aliases
                )
            except MalformedResponse as exc:
                raise _Unclear(describe(exc), accepted=True) from exc
        rejection = OrderRejected(envelope.code, envelope.msg, trade_no=trade_no)
        if envelope.code == SYSTEM_ERROR:
            raise _Unclear(f"gateway code {SYSTEM_ERROR}: {envelope.msg}")
        if trace.maybe_sent:
            # The duplicate-tradeNo code is undocumented: after an attempt that may have
            # landed, any rejection could mean "you already created it". Ask before believing.
            raise _Unclear(f"rejected after an unclear attempt: {rejection}", rejection=rejection)
        raise rejection

    async def _reconcile(
        self,
        trade_no: str,
        fields: dict[str, object],
        timeout: float | None,
        policy: RetryPolicy,
        trace: CallTrace,
        unclear: _Unclear,
    ) -> PaymentLink:
        """Query the order after an unclear create; resend it once if the gateway has none."""
        known = [unclear.reason]
        for round_ in (1, 2):
            try:
                state = await self.query_payment(trade_no, timeout=timeout)
            except OrderNotFound:
                known.append("query: not known to the gateway")
                if unclear.rejection is not None:
                    raise unclear.rejection from None  # rejected, and the gateway has none
                if unclear.accepted or round_ == 2:
                    break
                # Not there: resending the same tradeNo cannot create a second order.
                try:
                    return await self._create_once(trade_no, fields, timeout, policy, trace)
                except _Unclear as again:
                    unclear = again
                    known.append(again.reason)
                    continue
            except VexoraError as exc:
                known.append(f"query failed: {describe(exc)}")
                break
            raise OrderExists(trade_no, state, reason=unclear.reason)
        raise OutcomeUnknown(trade_no, unclear.reason, attempts=trace.attempts, known=known)

    async def query_payment(
        self, trade_no: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> PaymentState:
        """What the gateway knows of ``trade_no``.

        Raises ``OrderNotFound`` when the gateway does not know it (yet): not a failure.
        """
        _check_trade_no(trade_no)
        call = ApiCall(
            "query", self.profile.query_path, {"tradeNo": trade_no}, trade_no, timeout, retry=retry
        )
        envelope = await self._send(call)
        return read_query(envelope, trade_no)


class _Unclear(Exception):
    """Internal: a create whose result only a query can settle."""

    def __init__(
        self, reason: str, *, accepted: bool = False, rejection: OrderRejected | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.accepted = accepted
        self.rejection = rejection


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

