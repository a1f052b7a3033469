"""One client's run, in a process of its own (clean CPU and peak-RSS numbers).

    python -m benchmarks.worker --client sdk --base-url URL --n 20000 --concurrency 64 ...

Warms up (connections opened, caches filled), then creates ``n`` links and prints one JSON
object: this process's CPU per link (user and system apart) over those ``n`` links only
(start-up, warm-up and shutdown excluded), throughput, latency percentiles, peak RSS, and the
server's CPU over the same interval (to tell who was the bottleneck).

``--mark`` calls ``getpgid`` just before the measured links and ``getsid`` just after:
``benchmarks.instructions`` runs the worker under callgrind with ``--zero-before`` and
``--dump-before`` on them, so that its count covers the measured links alone.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import sys
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vexora_async._loop import run as run_loop

from .clients import (
    CLIENTS,
    WITHOUT_ORJSON,
    AsyncCall,
    BatchCall,
    ClientInfo,
    Settings,
    SyncCall,
)
from .common import peak_rss_mib, percentile, pin, proc_cpu_seconds


class _Tally:
    """Latencies by position, failures counted, the first failure kept for the report."""

    def __init__(self, start: int, count: int) -> None:
        self.start = start
        self.latencies = array("d", bytes(8 * count))
        self.errors = 0
        self.first_error: str | None = None

    def failed(self, exc: BaseException) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc}"[:300]


async def drive_tasks(call: AsyncCall, start: int, count: int, concurrency: int) -> _Tally:
    """``count`` calls from index ``start``, ``concurrency`` tasks taking the next index."""
    tally = _Tally(start, count)
    latencies = tally.latencies
    take = itertools.count(start).__next__
    end = start + count
    clock = time.perf_counter

    async def worker() -> None:
        while (index := take()) < end:
            began = clock()
            try:
                await call(index)
            except Exception as exc:
                tally.failed(exc)
            latencies[index - start] = clock() - began

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return tally


def drive_threads(
    call: SyncCall, start: int, count: int, pool: ThreadPoolExecutor
) -> _Tally:
    """The same with a thread pool, the way such code is usually written (``pool.map``)."""
    tally = _Tally(start, count)
    latencies = tally.latencies
    clock = time.perf_counter

    def one(index: int) -> None:
        began = clock()
        try:
            call(index)
        except Exception as exc:
            tally.failed(exc)
        latencies[index - start] = clock() - began

    for _ in pool.map(one, range(start, start + count)):
        pass
    return tally


async def drive_batch(create: BatchCall, start: int, count: int) -> _Tally:
    """One ``create_payment_links`` over ``count`` orders (no latencies: results stream)."""
    tally = _Tally(start, 0)
    tally.errors, tally.first_error = await create(start, count)
    return tally


class _Meter:
    """Wall clock, this process's CPU (user, system) and the server's CPU between start and stop.

    ``getrusage(RUSAGE_SELF)`` counts every thread of the process, so the threaded client
    pays for its threads too. With ``mark``, the callgrind markers bracket the interval
    (see the module).
    """

    def __init__(self, server_pid: int | None, mark: bool = False) -> None:
        self._server_pid = server_pid
        self._mark = mark

    def _server_cpu(self) -> float | None:
        return proc_cpu_seconds(self._server_pid) if self._server_pid else None

    def start(self) -> None:
        self._server0 = self._server_cpu()
        usage = resource.getrusage(resource.RUSAGE_SELF)  # µs resolution; os.times has ticks
        self._user0, self._sys0 = usage.ru_utime, usage.ru_stime
        self._wall0 = time.perf_counter()
        if self._mark:
            os.getpgid(0)  # callgrind: --zero-before=getpgid

    def stop(self) -> None:
        if self._mark:
            os.getsid(0)  # callgrind: --dump-before=getsid
        self.wall = time.perf_counter() - self._wall0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.user, self.sys = usage.ru_utime - self._user0, usage.ru_stime - self._sys0
        server1 = self._server_cpu()
        self.server_cpu = (
            None if server1 is None or self._server0 is None else server1 - self._server0
        )


def run(info: ClientInfo, settings: Settings, n: int, warmup: int, server_pid: int | None,
        mark: bool = False) -> tuple[_Tally, _Meter]:
    meter = _Meter(server_pid, mark)
    if info.threaded:
        with info.factory(settings) as call, ThreadPoolExecutor(settings.concurrency) as pool:
            drive_threads(call, 0, warmup, pool)
            meter.start()
            tally = drive_threads(call, warmup, n, pool)
            meter.stop()
        return tally, meter

    async def main() -> _Tally:
        async with info.factory(settings) as call:
            if info.kind == "batch":
                await drive_batch(call, 0, warmup)
                meter.start()
                tally = await drive_batch(call, warmup, n)
            else:
                await drive_tasks(call, 0, warmup, settings.concurrency)
                meter.start()
                tally = await drive_tasks(call, warmup, n, settings.concurrency)
            meter.stop()
            return tally

    # Every client on asyncio's loop, but the one that is there to show uvloop's gain.
    return run_loop(main(), use_uvloop=info.uvloop), meter


def summarize(info: ClientInfo, n: int, concurrency: int, tally: _Tally, meter: _Meter
              ) -> dict[str, Any]:
    ordered = sorted(tally.latencies)
    per_link = 1e6 / n
    latency = bool(ordered)  # a batch streams its results: no per-link latency
    result: dict[str, Any] = {
        "client": info.name,
        "label": info.label,
        "n": n,
        "concurrency": concurrency,
        "loop": "uvloop" if info.uvloop else "asyncio",
        "errors": tally.errors,
        "first_error": tally.first_error,
        "wall_s": round(meter.wall, 4),
        "links_per_s": round(n / meter.wall, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1e3, 3) if latency else None,
        "p99_ms": round(percentile(ordered, 0.99) * 1e3, 3) if latency else None,
        "cpu_user_us_per_link": round(meter.user * per_link, 2),
        "cpu_sys_us_per_link": round(meter.sys * per_link, 2),
        "cpu_us_per_link": round((meter.user + meter.sys) * per_link, 2),
        "client_cpu_util": round((meter.user + meter.sys) / meter.wall, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "server_cpu_us_per_link": None,
        "server_cpu_util": None,
    }
    if meter.server_cpu is not None:
        result["server_cpu_us_per_link"] = round(meter.server_cpu * per_link, 1)
        result["server_cpu_util"] = round(meter.server_cpu / meter.wall, 3)
    result.update(info.notes())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__)
    parser.add_argument("--client", required=True, choices=sorted(CLIENTS))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--server-pid", type=int, default=None)
    parser.add_argument("--mark", action="store_true",
                        help="call getpgid/getsid around the measured links (callgrind)")
    args = parser.parse_args(argv)
    if args.client in WITHOUT_ORJSON:
        sys.modules["orjson"] = None  # type: ignore[assignment]  # makes `import orjson` fail
    pinned = pin(args.cpu)
    info = CLIENTS[args.client]
    settings = Settings(
        base_url=args.base_url, run_id=args.run_id, tag=args.tag,
        concurrency=args.concurrency, orders=args.warmup + args.n,
    )
    tally, meter = run(info, settings, args.n, args.warmup, args.server_pid, args.mark)
    result = summarize(info, args.n, args.concurrency, tally, meter)
    result["cpu"] = pinned
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
