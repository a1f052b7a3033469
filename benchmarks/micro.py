"""A stage breakdown of the SDK, in µs per call, measured with ``timeit`` (no sockets).

    python -m benchmarks.micro
    python -m benchmarks.micro --instructions     # the same stages, counted by callgrind

This says which stage weighs most, not what a link costs: in a tight loop the stage's code
and data stay in the CPU caches, with no event loop and no HTTP library running between
calls, so these figures add up to several times less than the SDK's live overhead (its CPU
per link minus the floor client's, measured by ``python -m benchmarks`` against the stub).

Stages, in the order a link travels: build the ``CheckoutRequest``, validate and render it
with the region profile, stamp and sign, encode the JSON body, decode the answer's envelope,
structure its ``data`` into a ``PaymentLink``. ``pipeline`` is a whole
``create_payment_link`` through a transport that answers at once: every stage plus the
middleware chain, the retry bookkeeping and the coroutines, without HTTP.

``--instructions`` counts each stage under ``valgrind --tool=callgrind`` instead of timing
it: instructions per call, the same on a busy machine, so a change of a few per cent to one
stage shows (the ``pipeline`` there is driven without an event loop, so it excludes the
loop's own work).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
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


def _stages() -> tuple[dict[str, Callable[[], object]], CheckoutRequest, bytes]:
    """Each stage as a function of no arguments, with the request and answer they use."""
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
    return stages, request, body


def measure(*, quick: bool = False) -> dict[str, Any]:
    """Every stage's cost (µs per link), their SDK sum, and the whole in-process pipeline."""
    repeat, min_time, loops = (3, 0.02, 2_000) if quick else (7, 0.2, 20_000)
    stages, request, body = _stages()
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


def _run_stage(name: str, loops: int) -> None:
    """Run one stage ``loops`` times between the callgrind markers (see instructions.py)."""
    import os

    stages, request, body = _stages()
    client = VexoraClient(
        merchant_no=MERCHANT_NO, secret=SECRET, region=PROFILE,
        base_url="http://127.0.0.1:8080", transport=_Instant(body),
    )  # fmt: skip

    def pipeline() -> object:
        # An instant transport never suspends: drive the coroutine by hand, no loop.
        coroutine = client.create_payment_link(request)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        raise RuntimeError("the pipeline suspended")

    stages["pipeline"] = pipeline
    stages["nothing"] = lambda: None
    func = stages[name]
    for _ in range(200):  # warm caches and lazily built hooks
        func()
    os.getpgid(0)  # callgrind: --zero-before=getpgid
    for _ in range(loops):
        func()
    os.getsid(0)  # callgrind: --dump-before=getsid


def count_stages(loops: int = 3000) -> dict[str, int]:
    """Instructions per call of every stage and the pipeline, less the empty loop's."""
    from .instructions import count_from_dumps
    from .run import ROOT, _env, _python

    counts: dict[str, int] = {}
    for name in ("nothing", *STAGES, "pipeline"):
        with tempfile.TemporaryDirectory(prefix="vexora-callgrind-") as folder:
            command = [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.%p",
                "--zero-before=getpgid", "--dump-before=getsid",
                *_python("benchmarks.micro", "--stage", name, "--loops", loops),
            ]  # fmt: skip
            env = {**_env(), "PYTHONHASHSEED": "0"}
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"stage {name} failed:\n{done.stderr[-2000:]}")
            counts[name] = round(count_from_dumps(sorted(Path(folder).glob("cg.*"))) / loops)
    empty = counts.pop("nothing")
    return {name: value - empty for name, value in counts.items()}


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
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per call under callgrind instead of timing")
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # one stage, for callgrind
    parser.add_argument("--loops", type=int, default=3000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        _run_stage(args.stage, args.loops)
        return 0
    if args.instructions:
        counts = count_stages(args.loops)
        if args.json:
            print(json.dumps(counts))
        else:
            print("| stage | instructions per call |\n|---|---:|")
            for name, value in counts.items():
                print(f"| {name} | {value:,} |")
        return 0
    micro = measure(quick=args.quick)
    print(json.dumps(micro) if args.json else format_table(micro))
    return 0


if __name__ == "__main__":
    sys.exit(main())
