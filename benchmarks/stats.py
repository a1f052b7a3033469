"""Summaries across repeats: per-client spreads, and figures paired within each repeat.

The machine's speed drifts between repeats (up to 2x on a shared VM), so a ratio or a
difference between two clients is computed inside each repeat, where both ran minutes apart
at most, and only then summarised: median, min and max across repeats, and a 95% interval
for the median (``median_interval``) that targets are judged by. The range only widens as
repeats are added (each one more chance of a slow outlier); the interval narrows.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["PAIRS", "median_interval", "paired", "spread", "summarize"]

SDK = "sdk"
# (key, what it means, first client, second client, "ratio" or "difference"):
# ratio = first's CPU / second's CPU, difference = first's CPU - second's CPU (µs per link).
PAIRS: tuple[tuple[str, str, str, str, str], ...] = (
    ("sdk/floor", "SDK ÷ floor", SDK, "floor", "ratio"),
    ("sdk/aiohttp", "SDK ÷ hand-written aiohttp", SDK, "aiohttp", "ratio"),
    ("sdk/requests", "SDK ÷ requests + threads", SDK, "requests", "ratio"),
    ("sdk-uvloop/sdk", "SDK on uvloop ÷ SDK", "sdk-uvloop", SDK, "ratio"),
    ("overhead", "SDK live overhead: SDK - floor", SDK, "floor", "difference"),
    ("sdk-aiohttp", "SDK - hand-written aiohttp", SDK, "aiohttp", "difference"),
    ("uvloop_gain", "uvloop's gain: SDK - SDK on uvloop", SDK, "sdk-uvloop", "difference"),
    ("batch_extra", "create_payment_links - single calls", "sdk-batch", SDK, "difference"),
    ("http11_overhead", "SDK on Http11Transport - floor", "sdk-http11", "floor", "difference"),
    ("sdk-http11/floor", "SDK on Http11Transport ÷ floor", "sdk-http11", "floor", "ratio"),
)


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the median of what ``values`` sample.

    The r-th smallest and r-th largest value, with r as large as the binomial law allows: each
    value falls below the true median with probability one half, so the interval misses it
    only when fewer than r of n do, or fewer than r exceed it. No assumption about the
    shape of the noise (a slow repeat is an outlier, not a Gaussian tail). With 5 values or
    fewer no pair reaches 95% and it is (min, max).
    """
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no values")
    tail = (1 - confidence) / 2
    r, below = 1, 0.0
    for misses in range(n):  # P(fewer than r values below the median) <= tail
        below += math.comb(n, misses) / 2**n
        if below > tail:
            break
        r = misses + 1
    r = min(r, (n + 1) // 2)
    return ordered[r - 1], ordered[n - r]


def spread(values: Iterable[float], digits: int = 3) -> dict[str, Any]:
    """Median, min, max, a 95% interval for the median (``low``, ``high``) and the values
    themselves (in repeat order)."""
    found = list(values)
    if not found:
        return {"median": None, "min": None, "max": None, "low": None, "high": None,
                "values": []}
    low, high = median_interval(found)
    return {
        "median": round(statistics.median(found), digits),
        "min": round(min(found), digits),
        "max": round(max(found), digits),
        "low": round(low, digits),
        "high": round(high, digits),
        "values": [round(value, digits) for value in found],
    }


def _same(runs: Sequence[dict[str, Any]], client: str, concurrency: int
          ) -> list[dict[str, Any]]:
    return [r for r in runs if r["client"] == client and r["concurrency"] == concurrency]


def summarize(runs: Sequence[dict[str, Any]], clients: Sequence[str],
              concurrencies: Sequence[int]) -> list[dict[str, Any]]:
    """One row per client and concurrency (in that order): spreads across repeats."""
    rows = []
    for concurrency in concurrencies:
        for client in clients:
            same = _same(runs, client, concurrency)
            if not same:
                continue

            def of(key: str, found: list[dict[str, Any]] = same) -> list[float]:
                return [r[key] for r in found if r.get(key) is not None]

            first = same[0]
            server_util = of("server_cpu_util")
            rows.append({
                "client": client,
                "label": first["label"],
                "concurrency": concurrency,
                "n": first["n"],
                "repeats": len(same),
                "errors": sum(r["errors"] for r in same),
                "first_error": next((r["first_error"] for r in same if r["first_error"]), None),
                "orjson": first.get("orjson"),
                "loop": first.get("loop"),
                "cpu_us_per_link": spread(of("cpu_us_per_link"), 1),
                "cpu_user_us_per_link": spread(of("cpu_user_us_per_link"), 1),
                "cpu_sys_us_per_link": spread(of("cpu_sys_us_per_link"), 1),
                "links_per_s": spread(of("links_per_s"), 0),
                "client_cpu_util": spread(of("client_cpu_util")),
                "p50_ms": _median(of("p50_ms")),
                "p99_ms": _median(of("p99_ms")),
                "peak_rss_mib": max(of("peak_rss_mib"), default=None),
                "server_cpu_us_per_link": _median(of("server_cpu_us_per_link")),
                "server_cpu_util": spread(server_util),
            })
    return rows


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def paired(runs: Sequence[dict[str, Any]], concurrencies: Sequence[int],
           key: Callable[[dict[str, Any]], float] = lambda r: r["cpu_us_per_link"],
           ) -> dict[str, dict[str, dict[str, Any]]]:
    """``{concurrency: {pair key: spread}}`` for every pair of ``PAIRS`` both of whose clients
    ran, each value computed from the two clients' runs of one repeat."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for concurrency in concurrencies:
        table = {
            (r["client"], r["repeat"]): key(r) for r in runs if r["concurrency"] == concurrency
        }
        repeats = sorted({repeat for _, repeat in table})
        found: dict[str, dict[str, Any]] = {}
        for name, label, first, second, how in PAIRS:
            values = [
                _combine(table[(first, repeat)], table[(second, repeat)], how)
                for repeat in repeats
                if (first, repeat) in table and (second, repeat) in table
            ]
            if values:
                found[name] = {"label": label, "kind": how,
                               **spread(values, 3 if how == "ratio" else 1)}
        if found:
            out[str(concurrency)] = found
    return out


def _combine(first: float, second: float, how: str) -> float:
    if how == "ratio":
        return first / second if second else float("nan")
    return first - second
