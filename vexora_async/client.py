"""``VexoraClient``: validate with the region profile, run the middleware chain, read the answer."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from .call import ApiCall
from .envelope import read_checkout, read_query
from .errors import (
    ConfigurationError,
    ConnectError,
    HTTPStatusError,
    OutcomeUnknown,
    ResponseError,
    TransportError,
    ValidationError,
    Violation,
    describe,
)
from .middleware import Middleware, SigningMiddleware, compose, epoch_millis, sender
from .models import CheckoutRequest, PaymentLink, PaymentState
from .regions import ProfileRegistry, RegionProfile, registry
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
        middlewares: Sequence[Middleware] = (),
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
        self._middlewares: tuple[Middleware, ...] = (signing, *middlewares)
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
        self, request: CheckoutRequest, *, timeout: float | None = None
    ) -> PaymentLink:
        """Create one payment link.

        Raises ``ValidationError`` (nothing sent), ``ConnectError`` (nothing sent),
        ``OrderRejected`` (the gateway said no), ``OutcomeUnknown`` (it may exist: query it,
        never re-create it under a new number), ``HTTPStatusError`` for a 4xx without an
        envelope.
        """
        fields = self.profile.prepare(request)
        call = ApiCall("checkout", self.profile.checkout_path, fields, request.trade_no, timeout)
        try:
            envelope = await self._send(call)
        except ConnectError:
            raise
        except HTTPStatusError as exc:
            if exc.status < 500:
                raise
            raise OutcomeUnknown(request.trade_no, describe(exc)) from exc
        except (TransportError, ResponseError) as exc:
            raise OutcomeUnknown(request.trade_no, describe(exc)) from exc
        try:
            return read_checkout(envelope, request.trade_no)
        except ResponseError as exc:
            # The gateway accepted the order but its answer is unreadable: it exists, or may.
            raise OutcomeUnknown(request.trade_no, describe(exc)) from exc

    async def query_payment(self, trade_no: str, *, timeout: float | None = None) -> PaymentState:
        """What the gateway knows of ``trade_no``.

        Raises ``OrderNotFound`` when the gateway does not know it (yet): not a failure.
        """
        _check_trade_no(trade_no)
        call = ApiCall("query", self.profile.query_path, {"tradeNo": trade_no}, trade_no, timeout)
        envelope = await self._send(call)
        return read_query(envelope, trade_no)


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
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            "base_url must use https (plain http is allowed for loopback addresses, or with "
            "allow_insecure_http=True)"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
