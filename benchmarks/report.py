"""Turning a run's results into ratios, target checks, a Markdown report and a plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .micro import format_table as micro_table

__all__ = ["evaluate_targets", "markdown", "plot", "ratios"]

SDK = "sdk"
# How many times the SDK's links/s each other client's must be at least (the targets).
TARGET_RATIOS = {"floor": 0.90, "aiohttp": 1.0, "requests": 5.0}
STAGE_BUDGET_US = 25.0
RSS_GROWTH_LIMIT = 0.10
TARGET_CONCURRENCY = 64
DASH = "\N{EN DASH}"  # an empty cell
TIMES = "\N{MULTIPLICATION SIGN}"


def _by_key(results: Sequence[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["client"], r["concurrency"]): r for r in results}


def ratios(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{concurrency: {client: sdk links/s ÷ client links/s}}`` for every other client."""
    table = _by_key(results)
    out: dict[str, dict[str, float]] = {}
    for (client, concurrency), result in sorted(table.items(), key=lambda kv: kv[0][1]):
        sdk = table.get((SDK, concurrency))
        if client == SDK or sdk is None or not result["links_per_s"]:
            continue
        out.setdefault(str(concurrency), {})[client] = round(
            sdk["links_per_s"] / result["links_per_s"], 3
        )
    return out


def evaluate_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, with the value this run measured and whether it holds."""
    found: list[dict[str, Any]] = []
    concurrencies = [int(c) for c in report["ratios"]]
    if concurrencies:
        at = TARGET_CONCURRENCY if TARGET_CONCURRENCY in concurrencies else concurrencies[0]
        for client, minimum in TARGET_RATIOS.items():
            value = report["ratios"][str(at)].get(client)
            if value is not None:
                found.append({
                    "target": f"SDK links/s ≥ {minimum:g}{TIMES} {client} (c={at})",
                    "value": value, "holds": value >= minimum,
                })
    micro = report.get("micro")
    if micro:
        value = micro["sdk_stages_us"]
        found.append({
            "target": f"SDK stage costs ≤ {STAGE_BUDGET_US:g} µs per link",
            "value": value, "holds": value <= STAGE_BUDGET_US,
        })
    batch = sorted(report.get("batch_rss") or [], key=lambda b: b["n"])
    if len(batch) >= 2:
        small, large = batch[0], batch[-1]
        growth = large["peak_rss_mib"] / small["peak_rss_mib"] - 1
        found.append({
            "target": (f"batch peak RSS at {large['n']:,} within {RSS_GROWTH_LIMIT:.0%} "
                       f"of {small['n']:,}"),
            "value": round(growth, 4), "holds": growth <= RSS_GROWTH_LIMIT,
        })
    return found


def _fmt(value: Any, spec: str = ",.0f") -> str:
    return DASH if value is None else format(value, spec)


def _percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    machine = meta["machine"]
    settings = meta["settings"]
    lines = [
        f"# vexora_async benchmarks ({'quick' if settings['quick'] else 'full'} run)",
        "",
        f"{meta['date']} · {machine['nproc']} CPUs ({machine['cpu_model']}) · "
        f"Python {machine['python']} · aiohttp {machine['versions'].get('aiohttp')} · "
        f"orjson {machine['versions'].get('orjson') or 'not installed'}",
        "",
        f"N={settings['n']:,} links per client (requests: {settings['requests_n']:,}, "
        f"httpx: {settings['httpx_n']:,}), "
        f"warm-up {settings['warmup']}, {settings['repeat']} repeat(s), median shown. "
        f"Server: the sandbox in its own process on CPU {meta['server_cpu']}; "
        f"each client in its own process on CPU {meta['client_cpu']}.",
        "",
        "| client | c | N | links/s | p50 ms | p99 ms | client CPU µs/link | client CPU busy "
        "| peak RSS MiB | server CPU µs/link | server CPU busy | SDK ÷ this |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratio = report["ratios"]
    for r in report["results"]:
        label = r["label"] + (" [orjson]" if r.get("orjson") else "")
        vs = ratio.get(str(r["concurrency"]), {}).get(r["client"])
        errors = f" ({r['errors']} errors)" if r["errors"] else ""
        lines.append(
            f"| {label}{errors} | {r['concurrency']} | {r['n']:,} | {_fmt(r['links_per_s'])} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {_fmt(r['cpu_us_per_link'])} "
            f"| {_percent(r['client_cpu_util'])} | {r['peak_rss_mib']:.0f} "
            f"| {_fmt(r['server_cpu_us_per_link'])} | {_percent(r['server_cpu_util'])} "
            f"| {DASH if vs is None else f'{vs:.2f}{TIMES}'} |"
        )
    micro = report.get("micro")
    if micro:
        orjson = "with orjson" if micro["orjson"] else "stdlib json"
        lines += ["", f"SDK stages, µs per link ({orjson}, best of several `timeit` runs):", "",
                  micro_table(micro)]
    batch = report.get("batch_rss")
    if batch:
        lines += [
            "", "`create_payment_links`, requests from a generator, results streamed "
            "(a fresh process per N):", "",
            "| N | c | peak RSS MiB | RSS before the batch MiB | links/s |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {b['n']:,} | {b['concurrency']} | {b['peak_rss_mib']:.1f} "
            f"| {b['baseline_rss_mib']:.1f} | {_fmt(b['links_per_s'])} |"
            for b in batch
        ]
    targets = report.get("targets")
    if targets:
        lines += ["", "Targets:", ""]
        lines += [
            f"- {'holds' if t['holds'] else '**does not hold**'}: {t['target']} "
            f"(measured {t['value']})"
            for t in targets
        ]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> str | None:
    """A bar chart of links/s by client and concurrency; a reason instead when impossible."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install 'vexora_async[bench]'): no plot"
    results = report["results"]
    clients = list(dict.fromkeys(r["client"] for r in results))
    labels = {r["client"]: r["label"] for r in results}
    concurrencies = sorted({r["concurrency"] for r in results})
    table = _by_key(results)
    width = 0.8 / len(concurrencies)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for i, concurrency in enumerate(concurrencies):
        xs = [k + (i - (len(concurrencies) - 1) / 2) * width for k in range(len(clients))]
        ys = [table[(c, concurrency)]["links_per_s"] if (c, concurrency) in table else 0
              for c in clients]
        bars = ax.bar(xs, ys, width, label=f"concurrency {concurrency}")
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
    ax.set_xticks(range(len(clients)), [labels[c] for c in clients], rotation=20, ha="right",
                  fontsize=8)
    ax.set_ylabel("links/s (higher is better)")
    meta = report["meta"]
    ax.set_title(f"Payment links per second, N={meta['settings']['n']:,} "
                 f"({meta['machine']['nproc']} CPUs, Python {meta['machine']['python']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
