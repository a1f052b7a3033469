"""The sandbox's aiohttp application: gateway endpoints, cashier page, control API.

Routes:

- ``POST <profile.checkout_path>`` for every profile (``/v1/vexora/checkout``,
  ``/v1/paypro/paymentLink``, custom ones) and ``POST <profile.query_path>``;
- ``GET /cashier/{platFormTradeNo}`` (HTML) and ``POST`` to it (the page's buttons), which
  redirects (303) to ``GET /cashier/{platFormTradeNo}/done``, the confirmation;
- ``GET /sandbox`` (what is served), ``GET /sandbox/ledger`` (``?tradeNo=&merchantNo=``),
  ``POST /sandbox/pay``, ``POST /sandbox/redeliver``, ``POST /sandbox/faults``.

The gateway endpoints are the hot path of the benchmarks: one dict lookup finds the merchant,
nothing is logged per request, and faults cost one attribute read when none is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
from aiohttp import web

from ..errors import ValidationError
from ..wire import dumps, epoch_millis, signed_object
from .cashier import render_cashier, render_confirmation, render_missing
from .codes import SandboxCodes, SandboxError, changed_codes
from .faults import FAULT_HEADER, FaultKind
from .gateway import Gateway, Reply
from .ledger import Operation, RequestRecord
from .payouts import add_payout_routes, path_for, payout_endpoints

__all__ = ["CLOSING", "build_app", "parse_fields"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Set when the server stops, so answers held back by the delay fault end at once.
CLOSING = web.AppKey("vexora_sandbox_closing", asyncio.Event)

_JSON = "application/json"
_NOT_AN_OBJECT = "invalid parameter: the body must be a JSON object"


def parse_fields(body: bytes) -> dict[str, Any] | None:
    """The request's top-level JSON object as signed, or ``None``.

    The SDK's one reading of a signed body (``wire.signed_object``): numbers keep the text
    they were sent as (``1.0E7`` stays ``1.0E7``, a ``JsonNumber``), because the signature
    covers that text; the checks know a ``JsonNumber`` was a JSON number.
    """
    try:
        signed, _ = signed_object(body)
    except ValueError:
        return None
    return signed


def parse_control(body: bytes) -> dict[str, Any] | None:
    """A control request's JSON object (``/sandbox/...``) with numbers as values, or None."""
    try:
        _, values = signed_object(body)
    except ValueError:
        return None
    return values


def _envelope(
    codes: SandboxCodes, code: str, msg: str, data: Mapping[str, Any] | None = None
) -> bytes:
    return dumps(
        {"msg": msg, "code": code, "timestamp": epoch_millis(),
         "success": code == codes.accepted_code, "data": data}
    )


def _json(value: object, status: int = 200) -> web.Response:
    return web.Response(body=dumps(value), status=status, content_type=_JSON)


def _html_error(status: int, reason: str, headers: Mapping[str, str] | None = None) -> web.Response:
    # What a reverse proxy in front of a failing gateway sends: HTML, not an envelope.
    text = (
        f"<html><head><title>{status} {reason}</title></head><body>"
        f"<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


def _origin(request: web.Request) -> str:
    # The Host header, not ``request.host``: without one, aiohttp would look up this
    # machine's name (a DNS query) to stand in for it.
    return f"{request.scheme}://{request.headers.get('Host') or 'localhost'}"


class _Handlers:
    def __init__(self, sandbox: Gateway) -> None:
        self._sandbox = sandbox
        self._ledger = sandbox.ledger
        self._faults = sandbox.faults

    # -- gateway endpoints ----------------------------------------------------------------

    def gateway(self, operation: Operation, path: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._gateway_call(request, operation, path)

        return handle

    async def _gateway_call(
        self, request: web.Request, operation: Operation, path: str
    ) -> web.StreamResponse:
        sandbox = self._sandbox
        codes = sandbox.codes
        fields = parse_fields(await request.read())
        headers = request.headers
        if fields is None:
            return self._refuse(operation, None, None, codes.invalid_parameter_code, _NOT_AN_OBJECT)
        raw_trade_no = fields.get("tradeNo")
        trade_no = raw_trade_no if isinstance(raw_trade_no, str) else None
        merchant = sandbox.merchant(headers.get("merchantNo"))
        if merchant is None or path != path_for(merchant, operation):
            return self._refuse(
                operation, None, trade_no, codes.unknown_merchant_code, codes.unknown_merchant_msg
            )
        merchant_no = merchant.merchant_no
        if operation == "checkout" and trade_no is not None:
            self._ledger.arrive(merchant_no, trade_no)
        elif operation == "payout" and trade_no is not None:
            sandbox.payouts.ledger.arrive(merchant_no, trade_no)

        fault: FaultKind | None = None
        header_fault = headers.get(FAULT_HEADER)
        if header_fault or self._faults.active:
            try:
                fault = self._faults.pick(operation, trade_no, header_fault)
            except ValueError as exc:
                msg = f"invalid parameter: {FAULT_HEADER} ({exc})"
                return self._refuse(
                    operation, merchant_no, trade_no, codes.invalid_parameter_code, msg
                )
            if fault is not None and fault.before_store:
                self._ledger.record(
                    RequestRecord(operation, merchant_no, trade_no, fault.value, None)
                )
                return self._before_store(fault)

        if operation == "checkout":
            base_url = sandbox.payment_base_url or _origin(request)
            reply = sandbox.checkout(merchant, fields, base_url)
        elif operation == "query" and fault is FaultKind.LAGGING_REPLICA:
            reply = sandbox.query(merchant, fields, lag=self._faults.replica_lag)
        elif operation == "query":
            reply = sandbox.query(merchant, fields)
        elif fault is FaultKind.LAGGING_REPLICA:
            reply = sandbox.payouts.answer(
                operation, merchant, fields, lag=self._faults.replica_lag
            )
        else:
            reply = sandbox.payouts.answer(operation, merchant, fields)
        self._ledger.record(
            RequestRecord(
                operation, merchant_no, trade_no, reply.outcome, reply.code,
                fault.value if fault is not None else None,
            )
        )
        if fault is None or fault is FaultKind.LAGGING_REPLICA:
            body = _envelope(codes, reply.code, reply.msg, reply.data)
            return web.Response(body=body, content_type=_JSON)
        return await self._after_store(fault, request, reply)

    def _refuse(
        self, operation: Operation, merchant_no: str | None, trade_no: str | None,
        code: str, msg: str,
    ) -> web.Response:
        self._ledger.record(RequestRecord(operation, merchant_no, trade_no, "rejected", code))
        return web.Response(body=_envelope(self._sandbox.codes, code, msg), content_type=_JSON)

    def _throttled(self, status: int) -> web.Response:
        retry_after = {"Retry-After": str(self._faults.retry_after)}
        if status == 429:
            return _html_error(429, "Too Many Requests", retry_after)
        return _html_error(503, "Service Temporarily Unavailable", retry_after)

    def _coded(self, code: str, msg: str) -> web.Response:
        return web.Response(body=_envelope(self._sandbox.codes, code, msg), content_type=_JSON)

    def _before_store(self, fault: FaultKind) -> web.Response:
        codes = self._sandbox.codes
        if fault is FaultKind.RATE_LIMITED:
            return self._throttled(429)
        if fault is FaultKind.UNAVAILABLE:
            return self._throttled(503)
        if fault is FaultKind.THROTTLE_CODE:
            return self._coded(codes.throttled_code, codes.throttled_msg)
        return _html_error(500, "Internal Server Error")

    async def _after_store(
        self, fault: FaultKind, request: web.Request, reply: Reply
    ) -> web.StreamResponse:
        codes = self._sandbox.codes
        if fault is FaultKind.SERVER_ERROR_AFTER_STORE:
            return _html_error(502, "Bad Gateway")
        if fault is FaultKind.RATE_LIMITED_AFTER_STORE:
            return self._throttled(429)
        if fault is FaultKind.UNAVAILABLE_AFTER_STORE:
            return self._throttled(503)
        if fault is FaultKind.SYSTEM_ERROR_AFTER_STORE:
            return self._coded(codes.system_error_code, codes.system_error_msg)
        if fault is FaultKind.UNKNOWN_CODE_AFTER_STORE:
            return self._coded(codes.unknown_code, codes.unknown_msg)
        if fault is FaultKind.PROXY_ENVELOPE_AFTER_STORE:
            return web.Response(
                status=503,
                body=_envelope(codes, codes.not_found_code, "request failed, system busy"),
                content_type=_JSON,
                headers={"Retry-After": str(self._faults.retry_after)},
            )
        if (
            fault is FaultKind.OTHER_ORDER_AFTER_STORE
            and isinstance(reply.data, Mapping)
            and "tradeNo" in reply.data
        ):
            other = {**reply.data, "tradeNo": f"OTHER-{reply.data['tradeNo']}"}
            return web.Response(
                body=_envelope(codes, reply.code, reply.msg, other), content_type=_JSON
            )
        if fault is FaultKind.DROP_AFTER_STORE:
            if request.transport is not None:
                request.transport.abort()  # no answer at all; aiohttp skips writing it
            return web.Response()
        body = _envelope(codes, reply.code, reply.msg, reply.data)
        if fault is FaultKind.MALFORMED_AFTER_STORE:
            return web.Response(body=body[: len(body) // 2], content_type=_JSON)
        # DELAY_AFTER_STORE: the real answer, once the client has given up waiting.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(request.app[CLOSING].wait(), self._faults.delay)
        return web.Response(body=body, content_type=_JSON)

    # -- cashier --------------------------------------------------------------------------

    async def cashier_page(self, request: web.Request) -> web.Response:
        order = self._ledger.by_platform_trade_no(request.match_info["platform_trade_no"])
        if order is None:
            return _page(render_missing(), 404)
        merchant = self._sandbox.merchants[order.merchant_no]
        return _page(render_cashier(order, merchant))

    async def cashier_done(self, request: web.Request) -> web.Response:
        order = self._ledger.by_platform_trade_no(request.match_info["platform_trade_no"])
        if order is None:
            return _page(render_missing(), 404)
        merchant = self._sandbox.merchants[order.merchant_no]
        return _page(render_confirmation(order, merchant))

    async def cashier_pay(self, request: web.Request) -> web.Response:
        order = self._ledger.by_platform_trade_no(request.match_info["platform_trade_no"])
        if order is None:
            return _page(render_missing(), 404)
        form = await request.post()
        outcome = form.get("outcome")
        entered = form.get("amount") if outcome == "partial" else None
        try:
            total = None
            if isinstance(entered, str) and entered.strip():
                # The page asks for this payment; the ledger keeps the total paid.
                total = order.paid_amount + _payment_amount(entered)
            self._sandbox.apply_payment(
                order.merchant_no,
                order.trade_no,
                outcome if isinstance(outcome, str) else "",
                None if total is None else format(total, "f"),
            )
        except SandboxError as exc:
            merchant = self._sandbox.merchants[order.merchant_no]
            return _page(render_cashier(order, merchant, error=str(exc)), 400)
        # Post/redirect/get: reloading the confirmation shows it again, it does not pay twice.
        raise web.HTTPSeeOther(location=f"{request.rel_url.path.rstrip('/')}/done")

    # -- control API ----------------------------------------------------------------------

    async def info(self, request: web.Request) -> web.Response:
        sandbox = self._sandbox
        merchants = [
            {
                "merchantNo": m.merchant_no,
                "profile": m.profile.name,
                "checkoutPath": m.profile.checkout_path,
                "queryPath": m.profile.query_path,
            }
            for m in sandbox.merchants.values()
        ]
        return _json(
            {
                "baseUrl": sandbox.base_url or _origin(request),
                "merchants": merchants,
                "timeFactor": sandbox.time_factor,
                "orders": len(sandbox.ledger),
            }
        )

    async def ledger(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            snapshot = self._ledger.snapshot(
                trade_no=query.get("tradeNo"), merchant_no=query.get("merchantNo")
            )
        except SandboxError as exc:
            return _json({"error": str(exc)}, 400)
        return _json(snapshot)

    async def pay(self, request: web.Request) -> web.Response:
        body = parse_control(await request.read())
        if body is None or not isinstance(body.get("tradeNo"), str):
            return _json({"error": "send a JSON object with tradeNo"}, 400)
        merchant_no = body.get("merchantNo")
        try:
            order = self._sandbox.apply_payment(
                merchant_no if isinstance(merchant_no, str) else None,
                body["tradeNo"],
                str(body.get("outcome", "paid")),
                body.get("amount"),
            )
        except SandboxError as exc:
            status = 404 if str(exc).startswith("no order") else 400
            return _json({"error": str(exc)}, status)
        return _json({"order": order.to_dict()})

    async def redeliver(self, request: web.Request) -> web.Response:
        body = parse_control(await request.read())
        if body is None or not isinstance(body.get("tradeNo"), str):
            return _json({"error": "send a JSON object with tradeNo"}, 400)
        merchant_no = body.get("merchantNo")
        try:
            order = self._sandbox.redeliver(
                body["tradeNo"], merchant_no if isinstance(merchant_no, str) else None
            )
        except SandboxError as exc:
            status = 404 if str(exc).startswith("no order") else 400
            return _json({"error": str(exc)}, status)
        return _json({"order": order.to_dict()})

    async def faults(self, request: web.Request) -> web.Response:
        body = parse_control(await request.read())
        if body is None:
            return _json({"error": "send a JSON object"}, 400)
        policy = self._faults
        try:
            if "delay" in body:
                policy.delay = float(body["delay"])
            if "retryAfter" in body:
                policy.retry_after = int(body["retryAfter"])
            if "replicaLag" in body:
                policy.replica_lag = float(body["replicaLag"])
            if isinstance(body.get("codes"), dict):  # {"duplicate_code": "9101", ...}
                self._sandbox.codes = changed_codes(self._sandbox.codes, body["codes"])
            if body.get("clear"):
                policy.clear(body.get("tradeNo"))
            elif "rate" in body:
                kinds = body.get("kinds")
                policy.set_rate(
                    float(body["rate"]),
                    kinds if isinstance(kinds, list) else None,
                    seed=body.get("seed"),
                    operations=body.get("operations") or ("checkout",),
                )
            elif "kind" in body:
                policy.inject(
                    str(body["tradeNo"]),
                    str(body["kind"]),
                    times=body.get("times", 1),
                    operation=body.get("operation", "checkout"),
                )
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return _json({**policy.describe(), "codes": attrs.asdict(self._sandbox.codes)})


async def _on_startup(app: web.Application) -> None:
    app[CLOSING] = asyncio.Event()


def _payment_amount(text: str) -> Decimal:
    """A positive amount typed by the payer (``12.50``; thousands separators refused)."""
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        value = Decimal(0)
    if not value.is_finite() or value <= 0 or len(text) > 40:
        raise SandboxError("enter the amount to pay now, e.g. 5.25")
    return value


def _page(html: str, status: int = 200) -> web.Response:
    # The page embeds no third-party content and runs no script: say so to the browser.
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    return web.Response(text=html, status=status, content_type="text/html", headers=headers)


def _body_deadline(seconds: float) -> Callable[[Handler], Handler]:
    """Wraps a handler to read the whole body within ``seconds`` (the handler then gets it
    from aiohttp's cache), or answer 408 and close: a client cannot hold a request open by
    sending its body byte by byte.

    A wrapper of each handler, not an aiohttp middleware: aiohttp caches middleware-wrapped
    handlers process-wide (up to 1,024), which kept every stopped sandbox alive, ledger and
    all (``tests/test_sandbox_release.py``)."""

    def wrap(handler: Handler) -> Handler:
        async def read_in_time(request: web.Request) -> web.StreamResponse:
            # A body that arrived with its head (the usual small one) costs no timer.
            if request.body_exists and not request.content.is_eof():
                try:
                    async with asyncio.timeout(seconds):
                        await request.read()
                except TimeoutError:
                    response = web.Response(status=408, text="request body timeout")
                    response.force_close()
                    # Sent and closed now: aiohttp would otherwise linger to drain the body.
                    await response.prepare(request)
                    await response.write_eof()
                    if request.transport is not None:
                        request.transport.close()
                    return response
            return await handler(request)

        return read_in_time

    return wrap


async def _unrouted(request: web.Request) -> web.StreamResponse:
    """What aiohttp answers a request no route takes: 405 (with ``Allow``) when another
    method has a route for the path, else 404."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


def build_app(sandbox: Gateway, *, body_timeout: float | None = None) -> web.Application:
    """The application for ``sandbox``; the paths of every profile it knows are routed."""
    # Checkout bodies are well under 4 KiB; a small cap keeps junk cheap to refuse.
    app = web.Application(client_max_size=256 * 1024)
    in_time = _body_deadline(body_timeout) if body_timeout is not None else None

    def add(method: str, path: str, handler: Handler) -> None:
        app.router.add_route(method, path, handler if in_time is None else in_time(handler))

    handlers = _Handlers(sandbox)
    routed: set[str] = set()
    for profile in sandbox.profiles():
        endpoints: tuple[tuple[Operation, str], ...] = (
            ("checkout", profile.checkout_path),
            ("query", profile.query_path),
            *payout_endpoints(profile),
        )
        for operation, path in endpoints:
            if path not in routed:
                routed.add(path)
                add("POST", path, handlers.gateway(operation, path))
    add("GET", "/cashier/{platform_trade_no}", handlers.cashier_page)
    add("POST", "/cashier/{platform_trade_no}", handlers.cashier_pay)
    add("GET", "/cashier/{platform_trade_no}/done", handlers.cashier_done)
    add("GET", "/sandbox", handlers.info)
    add("GET", "/sandbox/ledger", handlers.ledger)
    add("POST", "/sandbox/pay", handlers.pay)
    add("POST", "/sandbox/redeliver", handlers.redeliver)
    add("POST", "/sandbox/faults", handlers.faults)
    add_payout_routes(add, sandbox.payouts)
    if in_time is not None:
        # Last, so it only takes what no route above matched: a stalled body sent to a
        # wrong path or method gets the 408 too, not aiohttp's 10 s lingering read.
        app.router.add_route("*", "/{unrouted:.*}", in_time(_unrouted))
    sandbox.routed()

    async def on_shutdown(app: web.Application) -> None:
        app[CLOSING].set()

    async def on_cleanup(app: web.Application) -> None:
        await sandbox.aclose()

    app.on_startup.append(_on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app
