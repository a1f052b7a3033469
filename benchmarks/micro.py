"""A stage breakdown of the SDK, in µs per call, measured with ``timeit`` (no sockets).

    python -m benchmarks.micro

This says which stage weighs most, not what a link costs: in a tight loop the stage's code
and data stay in the CPU caches, with no event loop and no HTTP library running between
calls, so these figures add up to several times less than the SDK's live overhead (its CPU
per link minus the floor client's, measured by ``python -m benchmarks`` against the stub).

Stages, in the order a link travels: build the ``CheckoutRequest``, validate and render it
with the region profile, stamp and sign, encode the JSON body, decode the answer's envelope,
structure its ``data`` into a ``PaymentLink``. ``pipeline`` is a whole
``create_payment_link`` through a transport that answers at once: every stage plus the
middleware chain, the retry bookkeeping and the coroutines, without HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from vexora_async import CheckoutRequest, VexoraClient
from vexora_async.envelope import decode_envelope
from vexora_async.models import PaymentLink
from vexora_async.regions import get_profile
from vexora_async.signing import sign
from vexora_async.transports.base import HttpRequest, HttpResponse
from vexora_async.wire import HAS_ORJSON, dumps, structure_response

from .common import MERCHANT_NO, ORDER, PROFILE, SECRET, epoch_millis

__all__ = ["SDK_STAGES", "STAGES", "answer_body", "measure"]

STAGES = ("build", "validate", "sign", "encode", "decode", "structure")
# The SDK's own work per link (building the request is the caller's).
SDK_STAGES = ("validate", "sign", "encode", "decode", "structure")


def answer_body(trade_no: str) -> bytes:
    """A checkout answer shaped like the sandbox's (and the gateway's) for IDR."""
    platform = "sb1a2b3c00000001"
    data = {
        "tradeNo": trade_no,
        "platFormTradeNo": platform,
        "status": "0015",
        "desc": "Paying",
        "remark": "",
        "paymentUrl": f"http://127.0.0.1:8080/cashier/{platform}",
        "qrString": "00020101021226440014SANDBOX.VEXORA0116" + platform + "5406150000" + "6304",
    }
    envelope = {"msg": "success", "code": "0000", "timestamp": 1763700000000, "success": True,
                "data": data}
    return json.dumps(envelope, separators=(",", ":")).encode()


class _Instant:
    """A transport that answers every request at once with a canned checkout answer."""

    def __init__(self, body: bytes) -> None:
        self._response = HttpResponse(200, {"content-type": "application/json"}, body)

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        return self._response

    async def aclose(self) -> None:
        return None


def _best_us(func: Callable[[], object], repeat: int, min_time: float) -> float:
    """Best of ``repeat`` timeit runs, µs per call (the least disturbed one)."""
    timer = timeit.Timer(func)
    number = 1
    while True:  # like Timer.autorange, with a shorter target for --quick
        if timer.timeit(number) >= min_time:
            break
        number *= 2
    return min(timer.repeat(repeat, number)) / number * 1e6


def _pipeline_us(request: CheckoutRequest, body: bytes, loops: int, repeat: int) -> float:
    async def run() -> float:
        client = VexoraClient(
            merchant_no=MERCHANT_NO, secret=SECRET, region=PROFILE,
            base_url="http://127.0.0.1:8080", transport=_Instant(body),
        )
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            for _ in range(loops):
                await client.create_payment_link(request)
            best = min(best, time.perf_counter() - started)
        await client.aclose()
        return best / loops * 1e6

    return asyncio.run(run())


def measure(*, quick: bool = False) -> dict[str, Any]:
    """Every stage's cost (µs per link), their SDK sum, and the whole in-process pipeline."""
    repeat, min_time, loops = (3, 0.02, 2_000) if quick else (7, 0.2, 20_000)
    profile = get_profile(PROFILE)
    trade = "B0000000000000001"

    def build() -> CheckoutRequest:
        return CheckoutRequest(trade_no=trade, amount=150_000, **ORDER)

    request = build()
    fields = profile.prepare(request)

    def stamp_and_sign() -> dict[str, Any]:
        signed = dict(fields)
        signed["timestamp"] = str(epoch_millis())
        signed["sign"] = sign(signed, SECRET)
        return signed

    signed = stamp_and_sign()
    body = answer_body(trade)
    response = HttpResponse(200, {"content-type": "application/json"}, body)
    data = decode_envelope(response).data
    stages: dict[str, Callable[[], object]] = {
        "build": build,
        "validate": lambda: profile.prepare(request),
        "sign": stamp_and_sign,
        "encode": lambda: dumps(signed),
        "decode": lambda: decode_envelope(response),
        "structure": lambda: structure_response(data, PaymentLink, "checkout response"),
    }
    costs = {name: _best_us(func, repeat, min_time) for name, func in stages.items()}
    sdk_sum = sum(costs[name] for name in SDK_STAGES)
    pipeline = _pipeline_us(request, body, loops, repeat)
    return {
        "orjson": HAS_ORJSON,
        "stages_us": {name: round(value, 2) for name, value in costs.items()},
        "sdk_stages_us": round(sdk_sum, 2),
        "pipeline_us": round(pipeline, 2),
        # What the chain, the retry bookkeeping and the coroutines add to the stages.
        "chain_overhead_us": round(pipeline - sdk_sum, 2),
    }


def format_table(micro: dict[str, Any]) -> str:
    stages = micro["stages_us"]
    lines = ["| stage (tight loop) | µs per call |", "|---|---:|"]
    lines += [f"| {name} | {stages[name]:.1f} |" for name in STAGES]
    total = micro["sdk_stages_us"]
    lines.append(f"| SDK stages ({' + '.join(SDK_STAGES)}) | {total:.1f} |")
    lines.append(f"| whole `create_payment_link` on an instant transport, no HTTP "
                 f"| {micro['pipeline_us']:.1f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.micro", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter timings")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    micro = measure(quick=args.quick)
    print(json.dumps(micro) if args.json else format_table(micro))
    return 0


if __name__ == "__main__":
    sys.exit(main())
