"""Summaries across repeats: per-client spreads, and figures paired within each repeat.

The machine's speed drifts between repeats (up to 2x on a shared VM), so a ratio or a
difference between two clients is computed inside each repeat, where both ran minutes apart
at most, and only then summarised: median, min and max across repeats.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["PAIRS", "paired", "spread", "summarize"]

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


def spread(values: Iterable[float], digits: int = 3) -> dict[str, Any]:
    """Median, min, max and the values themselves (in repeat order)."""
    found = list(values)
    if not found:
        return {"median": None, "min": None, "max": None, "values": []}
    return {
        "median": round(statistics.median(found), digits),
        "min": round(min(found), digits),
        "max": round(max(found), digits),
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
