"""What every benchmark process shares: the merchant, the order, CPU pinning, measurements."""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

# A merchant of the IDR profile, used only by the benchmarks' own sandbox.
MERCHANT_NO = "0000009001"
SECRET = "BENCH-SECRET"
PROFILE = "IDR"
MERCHANT_SPEC = f"{MERCHANT_NO}:{SECRET}:{PROFILE}"
CHECKOUT_PATH = "/v1/vexora/checkout"
NOTIFY_URL = "http://127.0.0.1:9/notify"  # loopback; nothing is paid, so nothing is sent

# One order's business fields, snake_case for CheckoutRequest; amounts vary per order.
ORDER: dict[str, Any] = {
    "username": "Budi Santoso",
    "mobile": "081234567890",
    "email": "budi@example.com",
    "channel_code": "EWALLET",
    "way_code": "DANA",
    "notify_url": NOTIFY_URL,
}
# The same fields under their wire names, for the hand-written clients.
WIRE_ORDER: dict[str, Any] = {
    "username": ORDER["username"],
    "mobile": ORDER["mobile"],
    "email": ORDER["email"],
    "channelCode": ORDER["channel_code"],
    "wayCode": ORDER["way_code"],
    "notifyUrl": ORDER["notify_url"],
}


def amount_of(index: int) -> int:
    """Whole rupiah, at least the IDR minimum, different per order."""
    return 10_000 + index % 90_000


def trade_no(run_id: str, tag: str, index: int) -> str:
    """Unique per run, client and order (the sandbox refuses a repeated tradeNo)."""
    return f"B{run_id}{tag}{index:09d}"


def hand_sign(fields: dict[str, Any], secret: str) -> str:
    """The gateway's rule written out as a user would (SPEC §3): sorted k=v, secret, MD5."""
    text = "".join(
        f"{key}={fields[key]}" for key in sorted(fields) if fields[key] not in (None, "")
    )
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


def epoch_millis() -> int:
    return time.time_ns() // 1_000_000


def cpus() -> list[int]:
    """The CPUs this process may run on (all of them where affinity is not supported)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def pin(cpu: int | None) -> int | None:
    """Pin this process to ``cpu`` where the OS allows it; the CPU actually pinned, or None."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    return cpu


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def proc_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by another process (Linux /proc), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]
