"""Client CPU per row of the ``batch`` command, against the bare SDK, and per journal setting.

    python -m benchmarks.batch_cost --rows 4000 --repeats 3

Each variant runs in a fresh process against one sandbox (served by this process, so its
CPU is not counted). A variant runs twice, with ``--rows`` and with 100 rows; the difference
in the child's CPU (user + system, from ``wait4``) divided by the difference in rows is the
marginal CPU per row, so imports and start-up cancel out. Repeats are interleaved.

    python -m benchmarks.batch_cost --overhead --rows 5000
    python -m benchmarks.batch_cost --instructions --rows 1500

measures, in this process and with no network, what the command adds per row: the SDK's
create is replaced by one that only validates (as the SDK does) and returns a canned link,
so the difference between the command and a bare ``create_payment_links`` over the same CSV
is the command's own cost (reading twice, validating once more, the journal, the results
file). On a shared or virtual machine, whose CPU accounting swings between repeats, this is
the steadier figure.

``--instructions`` runs the bare SDK and the default ``batch`` live against the sandbox, each
whole child process under ``valgrind --tool=callgrind`` at 100 rows and at ``--rows``: the
difference in instructions over the difference in rows is the marginal count per row,
deterministic (the same on a busy machine), and their ratio is the command's cost over the
SDK's. The sandbox runs natively in this process, so it is not counted.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from vexora_async.sandbox import SandboxThread

MERCHANT, SECRET = "0000000001", "TESTSECRET"
_FIELDS = ["trade_no", "amount", "username", "mobile", "email", "notify_url"]

_SDK = """
import asyncio, csv, sys
from vexora_async import CheckoutRequest, VexoraClient
def requests():
    with open(sys.argv[1], newline="") as handle:
        for row in csv.DictReader(handle):
            yield CheckoutRequest(**row)
async def main():
    async with VexoraClient(merchant_no="{m}", secret="{s}", base_url=sys.argv[2],
                            limit=64) as client:
        if sys.argv[3] == "single":  # 64 workers awaiting single calls: the floor for the pool
            it = requests()
            async def work():
                for request in it:
                    await client.create_payment_link(request)
            await asyncio.gather(*(work() for _ in range(64)))
        else:
            async for _ in client.create_payment_links(requests(), concurrency=64):
                pass
asyncio.run(main())
""".replace("{m}", MERCHANT).replace("{s}", SECRET)

_BATCH = """
import sys
from vexora_async.journal import SqliteJournal
SqliteJournal.PRAGMAS = tuple(p for p in sys.argv[4].split(",") if p)
from vexora_async.cli import main
sys.exit(main(["batch", sys.argv[1], "--out", sys.argv[3], "--progress", "none",
               "--concurrency", "64", "--merchant-no", "{m}", "--secret", "{s}",
               "--base-url", sys.argv[2]]))
""".replace("{m}", MERCHANT).replace("{s}", SECRET)

VARIANTS = {
    "sdk: await single calls (64 workers)": ("sdk", "single"),
    "sdk: create_payment_links": ("sdk", "pool"),
    "batch: DELETE, synchronous=OFF (default)": (
        "batch", "locking_mode=EXCLUSIVE,journal_mode=DELETE,synchronous=OFF"),
    "batch: DELETE, synchronous=NORMAL": (
        "batch", "locking_mode=EXCLUSIVE,journal_mode=DELETE,synchronous=NORMAL"),
    "batch: DELETE, synchronous=FULL": (
        "batch", "locking_mode=EXCLUSIVE,journal_mode=DELETE,synchronous=FULL"),
    "batch: WAL, synchronous=NORMAL": (
        "batch", "locking_mode=EXCLUSIVE,journal_mode=WAL,synchronous=NORMAL"),
}  # fmt: skip


def _write(path: Path, tag: str, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_FIELDS)
        writer.writeheader()
        for i in range(rows):
            writer.writerow({
                "trade_no": f"BC{tag}{i:07d}", "amount": 10000 + i, "username": "Budi",
                "mobile": "081234567890", "email": "budi@example.com",
                "notify_url": "http://127.0.0.1:9/notify",
            })  # fmt: skip


def _cpu(command: list[str]) -> tuple[float, float, float]:
    """(user, system, wall) seconds of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(process.stderr.read().decode() if process.stderr else "failed")
    return usage.ru_utime, usage.ru_stime, wall


def overhead(rows: int, repeats: int) -> None:
    import asyncio
    import contextlib
    import io
    from unittest import mock

    from vexora_async import CheckoutRequest, VexoraClient
    from vexora_async.cli import main as cli
    from vexora_async.journal import SqliteJournal, remove_journal
    from vexora_async.models import PaymentLink
    from vexora_async.wire import structure_response

    link = structure_response(
        {"tradeNo": "X", "platFormTradeNo": "P1", "paymentUrl": "http://x/cashier/1",
         "status": "0015", "amount": "10000"}, PaymentLink, "link",
    )  # fmt: skip

    async def create(self: VexoraClient, request: CheckoutRequest, **_: object) -> PaymentLink:
        self.profile.prepare(request)  # what the SDK does before sending
        await asyncio.sleep(0)
        return link

    def bare(source: Path, _: Path) -> None:
        def requests() -> Iterator[CheckoutRequest]:
            with source.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    yield CheckoutRequest(**row)  # type: ignore[arg-type]

        async def run() -> None:
            async with VexoraClient(merchant_no=MERCHANT, secret=SECRET,
                                    base_url="http://127.0.0.1:9") as client:  # fmt: skip
                async for _ in client.create_payment_links(requests(), concurrency=64):
                    pass

        asyncio.run(run())

    def batch(pragmas: str) -> Callable[[Path, Path], None]:
        def run(source: Path, out: Path) -> None:
            SqliteJournal.PRAGMAS = tuple(pragmas.split(","))
            cli(["batch", str(source), "--out", str(out), "--progress", "none",
                 "--merchant-no", MERCHANT, "--secret", SECRET, "--base-url",
                 "http://127.0.0.1:9"])  # fmt: skip
            remove_journal(Path(str(out) + ".journal"))
            out.unlink()

        return run

    ways: dict[str, Callable[[Path, Path], None]] = {"sdk: create_payment_links": bare}
    ways.update({name: batch(how) for name, (kind, how) in VARIANTS.items() if kind == "batch"})
    costs: dict[str, list[float]] = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(
        VexoraClient, "create_payment_link", create
    ), contextlib.redirect_stdout(io.StringIO()):
        source = Path(tmp) / "in.csv"
        _write(source, "OV", rows)
        for _ in range(repeats):
            for name, way in ways.items():
                started = time.process_time()
                way(source, Path(tmp) / "out.jsonl")
                costs[name].append((time.process_time() - started) / rows * 1e6)
    base = min(costs["sdk: create_payment_links"])
    print(f"CPU per row without the network, µs (min of {repeats}); added by the command")
    for name, values in costs.items():
        print(f"  {name:<46} {min(values):6.1f}  +{min(values) - base:5.1f}")


def _instructions(command: list[str]) -> int:
    """Instructions the whole ``command`` (a Python child) executed, from callgrind."""
    with tempfile.TemporaryDirectory(prefix="vexora-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stderr[-2000:])
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no summary")


def _command(kind: str, option: str, source: Path, out: Path, base_url: str) -> list[str]:
    """The process that creates ``source``'s rows: the bare SDK, or the ``batch`` command."""
    if kind == "sdk":
        return [sys.executable, "-c", _SDK, str(source), base_url, option]
    return [sys.executable, "-c", _BATCH, str(source), base_url, str(out), option]


def instructions(rows: int) -> None:
    """Marginal instructions per row: the bare SDK against the default ``batch``."""
    small = 100
    kinds = {
        "sdk: create_payment_links": ("sdk", "pool"),
        "batch: DELETE, synchronous=OFF (default)": VARIANTS[
            "batch: DELETE, synchronous=OFF (default)"],
    }  # fmt: skip
    per_row: dict[str, float] = {}
    with SandboxThread(time_factor=0.001) as sandbox, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for run, (name, (kind, option)) in enumerate(kinds.items()):
            counts = []
            for size in (small, rows):
                source, out = work / f"in{run}-{size}.csv", work / f"out{run}-{size}.jsonl"
                _write(source, f"I{run}{size}", size)
                counts.append(_instructions(_command(kind, option, source, out, sandbox.base_url)))
            per_row[name] = (counts[1] - counts[0]) / (rows - small)
    base = per_row["sdk: create_payment_links"]
    print(f"instructions per row (marginal, {small} to {rows} rows), and the ratio to the SDK")
    for name, value in per_row.items():
        print(f"  {name:<46} {value:10,.0f}  {value / base:4.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="run only the variants whose name contains this")
    parser.add_argument("--overhead", action="store_true", help="the command's own cost only")
    parser.add_argument("--instructions", action="store_true",
                        help="marginal instructions per row under callgrind, SDK vs batch")
    args = parser.parse_args()
    if args.instructions:
        instructions(args.rows)
        return
    if args.overhead:
        overhead(args.rows, args.repeats)
        return
    variants = {
        name: how for name, how in VARIANTS.items()
        if not args.only or args.only in name or name == "sdk: create_payment_links"
    }  # fmt: skip
    small = 100
    per_row: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    with SandboxThread(time_factor=0.001) as sandbox, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = 0
        for _ in range(args.repeats):
            for name, (kind, option) in variants.items():
                cpu = []
                for rows in (small, args.rows):
                    run += 1
                    source, out = work / f"in{run}.csv", work / f"out{run}.jsonl"
                    _write(source, str(run), rows)
                    cpu.append(_cpu(_command(kind, option, source, out, sandbox.base_url)))
                rows_more = args.rows - small
                per_row[name].append(
                    ((cpu[1][0] - cpu[0][0]) / rows_more * 1e6,
                     (cpu[1][1] - cpu[0][1]) / rows_more * 1e6,
                     (cpu[1][2] - cpu[0][2]) / rows_more * 1e6)
                )  # fmt: skip
    base = per_row["sdk: create_payment_links"]
    print(
        f"client CPU per row, µs, median of {args.repeats} (user, system, total); the ratio"
        " to create_payment_links within each repeat (median, min-max); wall µs per row"
    )
    for name, values in per_row.items():
        user = statistics.median(u for u, _, _ in values)
        system = statistics.median(s for _, s, _ in values)
        total = statistics.median(u + s for u, s, _ in values)
        ratios = [(u + s) / (bu + bs) for (u, s, _), (bu, bs, _) in zip(values, base, strict=True)]
        wall = statistics.median(w for _, _, w in values)
        print(f"  {name:<46} {user:6.1f} {system:5.1f} {total:6.1f}"
              f"  {statistics.median(ratios):4.2f}x ({min(ratios):4.2f}-{max(ratios):4.2f})"
              f"  {wall:7.1f}")  # fmt: skip

if __name__ == "__main__":
    main()
