"""Turning a run's results into target checks, a Markdown report and a plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .micro import format_table as micro_table
from .stats import PAIRS

__all__ = ["evaluate_targets", "markdown", "plot"]

# The issue's targets, all at client CPU per link (medians of the within-repeat figures).
OVERHEAD_BUDGET_US = 25.0  # SDK - floor
# The issue set that budget where the floor cost about 150 µs a link. CPU per link scales
# with the machine's speed (this VM's floor has measured 92 to 159), so the budget as a
# share of the floor is the same target on any machine: SDK ÷ floor ≤ 1 + 25/150.
REFERENCE_FLOOR_US = 150.0
OVERHEAD_RATIO_BUDGET = round(1 + OVERHEAD_BUDGET_US / REFERENCE_FLOOR_US, 3)
BATCH_BUDGET_US = 5.0  # create_payment_links - single calls
RSS_GROWTH_LIMIT = 0.10
TARGET_CONCURRENCY = 64
# The stub must never set the pace: above this CPU busy share in any run, say so.
STUB_BUSY_LIMIT = 0.5
TARGET_CLIENTS = frozenset({"floor", "aiohttp", "sdk", "sdk-batch"})
DASH = "\N{EN DASH}"  # an empty cell
LABELS = {key: label for key, label, *_ in PAIRS}
TIMES = "\N{MULTIPLICATION SIGN}"


def evaluate_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, with the value this run measured and whether it holds."""
    found: list[dict[str, Any]] = []
    paired = report.get("paired") or {}

    def judge(target: str, concurrency: str, key: str, limit: float) -> None:
        """The target that the within-repeat figure ``key`` is at most ``limit``."""
        figure = paired.get(concurrency, {}).get(key, {})
        value = figure.get("median")
        if value is None:
            return
        repeats = len(figure.get("values", ()))
        found.append({
            "target": target, "value": value, "limit": limit, "holds": value <= limit,
            "range": [figure["min"], figure["max"]] if repeats > 1 else None,
            # None for one repeat, or for an earlier run's results without the interval.
            "interval": [figure["low"], figure["high"]]
            if repeats > 1 and figure.get("low") is not None else None,
        })

    concurrencies = list(paired)
    at = str(TARGET_CONCURRENCY) if str(TARGET_CONCURRENCY) in paired else (
        concurrencies[0] if concurrencies else None
    )
    if at is not None:
        judge(f"SDK live overhead (SDK - floor) ≤ {OVERHEAD_BUDGET_US:g} µs of CPU per link "
              f"(c={at})", at, "overhead", OVERHEAD_BUDGET_US)
        judge(f"SDK ÷ floor ≤ {OVERHEAD_RATIO_BUDGET:g}{TIMES} (c={at}; the "
              f"{OVERHEAD_BUDGET_US:g} µs budget on the issue's {REFERENCE_FLOOR_US:g} µs floor, "
              "on any machine)", at, "sdk/floor", OVERHEAD_RATIO_BUDGET)
    for concurrency in concurrencies:
        judge(f"SDK CPU per link ≤ hand-written aiohttp's (c={concurrency})", concurrency,
              "sdk/aiohttp", 1.0)
    if at is not None:
        judge(f"create_payment_links within {BATCH_BUDGET_US:g} µs per link of single calls "
              f"(c={at})", at, "batch_extra", BATCH_BUDGET_US)
    batch = sorted(report.get("batch_rss") or [], key=lambda b: b["n"])
    if len(batch) >= 2:
        small, large = batch[0], batch[-1]
        growth = large["peak_rss_mib"] / small["peak_rss_mib"] - 1
        found.append({
            "target": (f"batch peak RSS at {large['n']:,} within {RSS_GROWTH_LIMIT:.0%} "
                       f"of {small['n']:,}"),
            "value": round(growth, 4), "holds": growth <= RSS_GROWTH_LIMIT,
        })
    # The targets compare these clients: the stub must never set their pace. Faster
    # clients (Http11Transport) can keep it busier; their runs are reported apart.
    for judged, what in ((True, "the targets' clients"), (False, "the other clients")):
        busiest = max(
            # ``is not None``: a tiny run can measure the stub at 0.0 busy, which still counts.
            (r["server_cpu_util"] for r in report.get("runs", [])
             if r.get("server_cpu_util") is not None
             and (r["client"] in TARGET_CLIENTS) == judged),
            default=None,
        )
        if busiest is not None:
            found.append({
                "target": f"the stub gateway was never the bottleneck (≤ {STUB_BUSY_LIMIT:.0%} "
                          f"CPU busy in every run of {what})",
                "value": busiest, "holds": busiest <= STUB_BUSY_LIMIT,
            })
    return found


def verdict(target: dict[str, Any]) -> str:
    """``holds`` or ``does not hold`` by the median, ``unclear`` when the 95% interval of
    the median (else, for an earlier run's results, the repeats' range) straddles the limit:
    the machine's noise is then larger than the distance to the target."""
    low_high = target.get("interval") or target.get("range")
    if low_high and target.get("limit") is not None and low_high[0] <= target["limit"] < (
        low_high[1]
    ):
        return "unclear"
    return "holds" if target["holds"] else "does not hold"


def _fmt(value: Any, spec: str = ",.0f") -> str:
    return DASH if value is None else format(value, spec)


def _percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def _spread(figure: dict[str, Any] | None, spec: str = ",.0f", suffix: str = "") -> str:
    """``median (min-max)``, or the median alone when there was one repeat."""
    if not figure or figure.get("median") is None:
        return DASH
    text = format(figure["median"], spec) + suffix
    if len(figure["values"]) > 1:
        text += f" ({format(figure['min'], spec)}{DASH}{format(figure['max'], spec)})"
    return text


def _label(row: dict[str, Any]) -> str:
    label: str = row["label"] + (" [orjson]" if row.get("orjson") else "")
    if row["errors"]:
        label += f" ({row['errors']} errors: {row['first_error']})"
    return label


def _conditions(meta: dict[str, Any]) -> list[str]:
    machine, settings = meta["machine"], meta["settings"]
    load = meta.get("load_average") or {}
    loads = ", ".join(
        f"{when} {' '.join(f'{v:.2f}' for v in values)}" for when, values in load.items()
    )
    repeat = settings["repeat"]
    return [
        f"{meta['date']} · {machine['nproc']} CPUs ({machine['cpu_model']}) · "
        f"Python {machine['python']} · aiohttp {machine['versions'].get('aiohttp')} · "
        f"orjson {machine['versions'].get('orjson') or 'not installed'} · "
        f"uvloop {machine['versions'].get('uvloop') or 'not installed'}",
        "",
        f"N={settings['n']:,} links per client run (requests: {settings['requests_n']:,}, "
        f"httpx: {settings['httpx_n']:,}) after a warm-up of {settings['warmup']}; "
        f"{repeat} repeat(s), the clients interleaved (every client once per repeat, the "
        "order rotated each repeat). The gateway runs in its own process pinned to CPU "
        f"{meta['server_cpu']}; each client run is a fresh process pinned to CPU "
        f"{meta['client_cpu']}. CPU is the client process's own (`getrusage`, every thread), "
        "over the measured links only: start-up, warm-up and shutdown are excluded. "
        f"Medians across repeats, (min{DASH}max) when there were several."
        + (f" Load average (1, 5, 15 min): {loads}." if loads else ""),
    ]


def _cpu_table(rows: Sequence[dict[str, Any]], server: str) -> list[str]:
    lines = [
        f"| client | c | CPU µs/link | user | sys | links/s | p50 ms | p99 ms | peak RSS MiB "
        f"| {server} CPU µs/link | {server} CPU busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        busy = r["server_cpu_util"]
        busy_text = DASH if busy["median"] is None else (
            _percent(busy["median"]) + (f" (max {_percent(busy['max'])})"
                                        if len(busy["values"]) > 1 else "")
        )
        lines.append(
            f"| {_label(r)} | {r['concurrency']} | **{_spread(r['cpu_us_per_link'])}** "
            f"| {_spread(r['cpu_user_us_per_link'])} | {_spread(r['cpu_sys_us_per_link'])} "
            f"| {_spread(r['links_per_s'])} | {_fmt(r['p50_ms'], '.1f')} "
            f"| {_fmt(r['p99_ms'], '.1f')} | {_fmt(r['peak_rss_mib'], '.0f')} "
            f"| {_fmt(r['server_cpu_us_per_link'], '.0f')} | {busy_text} |"
        )
    return lines


def _paired_table(paired: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    concurrencies = list(paired)
    keys = list(dict.fromkeys(key for c in concurrencies for key in paired[c]))
    lines = [
        "| figure (within each repeat) | " + " | ".join(f"c={c}" for c in concurrencies) + " |",
        "|---|" + "---:|" * len(concurrencies),
    ]
    for key in keys:
        label = LABELS.get(key) or next(
            paired[c][key]["label"] for c in concurrencies if key in paired[c]
        )
        cells = []
        for c in concurrencies:
            figure = paired[c].get(key)
            if figure is None:
                cells.append(DASH)
            elif figure["kind"] == "ratio":
                cells.append(_spread(figure, ".2f", TIMES))
            else:
                cells.append(_spread(figure, "+.1f", " µs"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    settings = meta["settings"]
    lines = [
        f"# vexora_async benchmarks ({'quick' if settings['quick'] else 'full'} run)",
        "",
        *_conditions(meta),
        "",
        "## Client CPU per link, against the stub gateway (the headline)",
        "",
        "The stub answers a fixed, valid checkout envelope without parsing or checking "
        "anything (`benchmarks/stub.py`), so the clients set the pace; its CPU busy share "
        "is the last column. Lower CPU is better.",
        "",
        *_cpu_table(report["results"], "stub"),
    ]
    paired = report.get("paired")
    if paired:
        lines += [
            "",
            f"Ratios of CPU per link (below 1{TIMES} the SDK costs less) and differences in µs "
            f"of CPU per link, computed within each repeat, then median (min{DASH}max) across "
            "repeats:",
            "",
            *_paired_table(paired),
        ]
    e2e = report.get("e2e")
    if e2e and e2e.get("results"):
        lines += [
            "",
            "## End to end, against the sandbox gateway",
            "",
            "The package's sandbox parses, validates, signs and records every order: it costs "
            "about as much CPU per request as the cheapest client, so here it caps throughput "
            f"(see its busy share). {e2e['repeat']} repeat(s).",
            "",
            *_cpu_table(e2e["results"], "sandbox"),
        ]
    micro = report.get("micro")
    if micro:
        orjson = "with orjson" if micro["orjson"] else "stdlib json"
        overhead = (paired or {}).get(str(TARGET_CONCURRENCY), {}).get("overhead")
        live = (f" For scale: the SDK's live overhead above (SDK - floor, c={TARGET_CONCURRENCY})"
                f" is {overhead['median']:.0f} µs per link.") if overhead else ""
        lines += [
            "", "## Stage breakdown (where the SDK's time goes, not what a link costs)", "",
            f"Each SDK stage alone in a tight `timeit` loop ({orjson}, best of several runs, "
            "no sockets). In such a loop a stage's code and data stay in the CPU caches and "
            "nothing runs between calls; live, the event loop and aiohttp run in between, so "
            "a stage costs more there. Use these figures to rank the stages, and the "
            "headline table for what a link costs." + live,
            "",
            micro_table(micro),
        ]
    batch = report.get("batch_rss")
    if batch:
        lines += [
            "", "## Memory of `create_payment_links`", "",
            "Requests from a generator, results streamed (a fresh process per N, against "
            "the sandbox):", "",
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
        lines += [
            "", "## Targets (medians of the within-repeat figures)", "",
            "A target is unclear when the 95% interval of its median straddles the limit.", "",
        ]
        lines += [
            f"- {_verdict_text(t)}: {t['target']} "
            f"(measured {t['value']}"
            + (f", 95% interval of the median {t['interval'][0]} to {t['interval'][1]}"
               if t.get("interval") else "")
            + (f", {t['range'][0]} to {t['range'][1]} across repeats" if t.get("range") else "")
            + ")"
            for t in targets
        ]
    return "\n".join(lines) + "\n"


def _verdict_text(target: dict[str, Any]) -> str:
    found = verdict(target)
    return found if found == "holds" else f"**{found}**"


def plot(report: dict[str, Any], path: Path) -> str | None:
    """Client CPU per link (user and system stacked, min-max whiskers); a reason if impossible."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install '.[bench]' in the repository): no plot"
    rows = report["results"]
    clients = list(dict.fromkeys(r["client"] for r in rows))
    labels = {r["client"]: r["label"] for r in rows}
    concurrencies = sorted({r["concurrency"] for r in rows})
    table = {(r["client"], r["concurrency"]): r for r in rows}
    width = 0.8 / len(concurrencies)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for i, concurrency in enumerate(concurrencies):
        xs, users, systems, totals, low, high = [], [], [], [], [], []
        for k, client in enumerate(clients):
            row = table.get((client, concurrency))
            if row is None:
                continue
            total = row["cpu_us_per_link"]
            xs.append(k + (i - (len(concurrencies) - 1) / 2) * width)
            users.append(row["cpu_user_us_per_link"]["median"])
            systems.append(row["cpu_sys_us_per_link"]["median"])
            totals.append(total["median"])
            low.append(total["median"] - total["min"])
            high.append(total["max"] - total["median"])
        ax.bar(xs, users, width, label=f"user, c={concurrency}")
        bars = ax.bar(xs, systems, width, bottom=users, label=f"system, c={concurrency}",
                      alpha=0.6)
        ax.errorbar([x for x in xs], [u + s for u, s in zip(users, systems, strict=True)],
                    yerr=[low, high], fmt="none", ecolor="black", capsize=3, linewidth=0.8)
        # The label is the median of the totals (not quite the sum of the two medians).
        ax.bar_label(bars, labels=[f"{t:.0f}" for t in totals], fontsize=7, padding=2)
    ax.set_xticks(range(len(clients)), [labels[c] for c in clients], rotation=20, ha="right",
                  fontsize=8)
    ax.set_ylabel("client CPU µs per link (lower is better)")
    meta = report["meta"]
    ax.set_title(f"Client CPU per link against a stub gateway, N={meta['settings']['n']:,}, "
                 f"median of {meta['settings']['repeat']} (whiskers: min{DASH}max)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
