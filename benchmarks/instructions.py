"""Instructions per link under callgrind: a deterministic A/B measure for hot-path work.

    python -m benchmarks.instructions                       # floor, aiohttp, sdk; 500 links
    python -m benchmarks.instructions --clients sdk --n 1000 --json after.json \\
        --baseline before.json                              # compare with an earlier count

CPU time on a shared machine swings by tens of percent between runs; the number of
instructions a client executes per link barely moves, so it shows a 2% change that timings
cannot. Each client runs in a worker process under ``valgrind --tool=callgrind`` (50-100x
slower than native), against the stub gateway running natively. The worker calls
``getpgid`` just before the measured links and ``getsid`` just after; callgrind zeroes its
counters on the first (``--zero-before``) and writes them out on the second
(``--dump-before``), so start-up, imports, warm-up and shutdown are not counted.

Instructions are not time (a cache miss costs more than an add), so confirm a change with
``python -m benchmarks`` too. Counts move slightly with how many answers each event-loop
turn finds ready; repeat a run (``--repeat``) to see that noise. Needs valgrind
(``apt-get install valgrind``); counts are comparable only on the same Python, libraries and
CPU architecture.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .clients import CLIENTS
from .report import DASH
from .run import ROOT, STUB, _csv_clients, _env, _python, gateway

__all__ = ["count_from_dumps", "main", "measure"]

DEFAULT_CLIENTS = ("floor", "aiohttp", "sdk", "sdk-http11")
ZERO_AT, DUMP_AT = "getpgid", "getsid"  # libc's, as the worker's --mark calls them
_SUMMARY = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


class InstructionsError(Exception):
    pass


def count_from_dumps(paths: Sequence[Path]) -> int:
    """Instructions counted between the markers: the dump ``--dump-before`` triggered."""
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if f"Trigger: --dump-before={DUMP_AT}" in text:
            found = _SUMMARY.search(text)
            if found is None:
                raise InstructionsError(f"{path}: no summary line")
            return int(found.group(1))
    raise InstructionsError(
        "callgrind never reached the end marker (no dump triggered by "
        f"--dump-before={DUMP_AT}); is the worker's --mark in place?"
    )


def measure(client: str, base_url: str, n: int, warmup: int, concurrency: int,
            cpu: int | None, tag: str) -> dict[str, Any]:
    """One client's instructions per link, from one worker run under callgrind."""
    with tempfile.TemporaryDirectory(prefix="vexora-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
            f"--zero-before={ZERO_AT}", f"--dump-before={DUMP_AT}",
            *_python(
                "benchmarks.worker", "--client", client, "--base-url", base_url, "--n", n,
                "--warmup", warmup, "--concurrency", concurrency, "--run-id", "cg0000",
                "--tag", tag, "--mark",
            ),
        ]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        env = _env()
        env["PYTHONHASHSEED"] = "0"  # the same dict and set layouts in every run
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise InstructionsError(
                f"{client} under callgrind failed (exit {done.returncode}):\n"
                f"{done.stderr[-3000:]}"
            )
        result = json.loads(lines[-1])
        if result["errors"]:
            raise InstructionsError(f"{client}: {result['errors']} errors: "
                                    f"{result['first_error']}")
        instructions = count_from_dumps(sorted(Path(folder).glob("callgrind.out.*")))
    return {"client": client, "n": n, "concurrency": concurrency,
            "instructions": instructions, "per_link": round(instructions / n)}


def _table(rows: Sequence[dict[str, Any]], baseline: dict[str, float]) -> str:
    lines = ["| client | c | N | instructions/link | spread | vs baseline |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        before = baseline.get(row["client"])
        change = DASH if not before else f"{row['per_link'] / before - 1:+.1%}"
        values = row["values"]
        spread = DASH if len(values) < 2 else f"{min(values):,}{DASH}{max(values):,}"
        lines.append(f"| {CLIENTS[row['client']].label} | {row['concurrency']} | {row['n']:,} "
                     f"| {row['per_link']:,} | {spread} | {change} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=_csv_clients, default=list(DEFAULT_CLIENTS),
                        help=f"comma-separated ({','.join(DEFAULT_CLIENTS)})")
    parser.add_argument("--n", type=int, default=500, help="measured links per run (500)")
    parser.add_argument("--warmup", type=int, default=100, help="links before counting (100)")
    parser.add_argument("--concurrency", type=int, default=64, help="in flight (64)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per client; the median is reported (1)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="an earlier --json file: print the change per client")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("python -m benchmarks.instructions: valgrind is not installed "
              "(apt-get install valgrind)", file=sys.stderr)
        return 2
    if min(args.n, args.repeat, args.concurrency) < 1 or args.warmup < 0:
        parser.error("--n, --repeat and --concurrency must be positive")
    baseline: dict[str, float] = {}
    if args.baseline is not None:
        earlier = json.loads(args.baseline.read_text(encoding="utf-8"))
        baseline = {row["client"]: row["per_link"] for row in earlier["results"]}
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_cpu, client_cpu = (allowed[0], allowed[1]) if len(allowed) >= 2 else (None, None)
    rows: list[dict[str, Any]] = []
    with gateway(STUB, server_cpu) as (base_url, _pid):
        for client in args.clients:
            values = []
            for repeat in range(args.repeat):
                print(f"  {client:<12} #{repeat + 1} under callgrind ...", end="", flush=True,
                      file=sys.stderr)
                found = measure(client, base_url, args.n, args.warmup, args.concurrency,
                                client_cpu, f"{len(rows):02d}{repeat:02d}")
                values.append(found["per_link"])
                print(f" {found['per_link']:,} instructions/link", file=sys.stderr)
            rows.append({"client": client, "n": args.n, "concurrency": args.concurrency,
                         "per_link": round(statistics.median(values)), "values": values})
    print(_table(rows, baseline))
    by_name = {row["client"]: row["per_link"] for row in rows}
    if "sdk" in by_name and "floor" in by_name:
        print(f"\nSDK overhead (SDK - floor): {by_name['sdk'] - by_name['floor']:,} "
              "instructions/link")
    if args.json is not None:
        args.json.write_text(json.dumps({"results": rows}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
