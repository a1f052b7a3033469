"""``vexora-async batch INPUT --out results.jsonl``: every row of a file, resumably.

1. Every row is validated first; bad rows are all reported (row, field, rule) and nothing
   is sent, unless ``--skip-invalid``.
2. Rows are sent through ``create_payment_links``. A journal next to the output records each
   row before it is sent and as soon as its result is known, so a run that is killed (even
   with SIGKILL) and started again skips what finished and re-drives what was in flight
   under the same ``tradeNo``: no order is created twice or dropped.
3. The results file is written from the journal at the end: one line per input row, in row
   order, with no payer data.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from ..batch import BatchOutcome, BatchResult, run_batch
from ..batch_input import FORMATS, InputRow, read_rows
from ..client import VexoraClient
from ..errors import (
    APIError,
    ConfigurationError,
    OrderExists,
    OutcomeUnknown,
    ValidationError,
    Violation,
)
from ..journal import DONE, IN_FLIGHT, Journal
from ..models import CheckoutRequest
from ..regions import RegionProfile
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED_ROWS,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    Progress,
    add_credentials,
    client_from,
    fail,
    print_table,
)

NAME = "batch"
HELP = "create a payment link for every row of a CSV or JSONL file (resumable)"
_CHUNK = 500  # rows registered in the journal per transaction


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="checkout requests, .csv or .jsonl")
    parser.add_argument("--out", type=Path, required=True, help="results, one JSON line per row")
    parser.add_argument("--journal", type=Path, help="resume journal (default: OUT.journal)")
    parser.add_argument("--format", choices=FORMATS, help="input format (default: by extension)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="send the valid rows even if some are invalid (those get outcome 'invalid')",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="a bar on a terminal, 'progress N/TOTAL' lines otherwise (auto)",
    )
    add_credentials(parser)


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        return fail("--concurrency must be at least 1", EXIT_CONFIG)
    try:
        return asyncio.run(_run(args))
    except ConfigurationError as exc:
        return fail(str(exc), EXIT_CONFIG)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read {args.input}: {exc}", EXIT_CONFIG)
    except KeyboardInterrupt:
        return fail("interrupted; run the same command again to resume", 130)


async def _run(args: argparse.Namespace) -> int:
    client = client_from(args, limit=args.concurrency)
    journal_path: Path = args.journal or args.out.with_name(args.out.name + ".journal")
    total, bad = _validate(args.input, args.format, client.profile)
    if bad and not args.skip_invalid:
        for row, violation in bad:
            print(f"row {row}: {violation}", flush=True)
        rows = len({row for row, _ in bad})
        return fail(
            f"{rows} of {total} rows are invalid; nothing was sent (fix them, or pass "
            "--skip-invalid to send the others)",
            EXIT_INVALID_INPUT,
        )
    with Journal(journal_path) as journal:
        resumed = journal.bind(_identity(args.input, client))
        states = journal.states() if resumed else {}
        if resumed:
            counts = Counter(states.values())
            print(
                f"resuming: {counts[DONE]} done, {counts[IN_FLIGHT]} in flight (re-driven "
                "under the same trade numbers), the rest pending",
                flush=True,
            )
        started = time.perf_counter()
        async with client:
            with Progress(total, "payment links", args.progress) as progress:
                await _send(args, client, journal, states, progress)
        elapsed = time.perf_counter() - started
        outcomes = _write_results(journal, args.out)
    _summary(outcomes, total, elapsed, args.out)
    return EXIT_OK if outcomes[BatchOutcome.CREATED] == total else EXIT_FAILED_ROWS


def _validate(
    path: Path, file_format: str | None, profile: RegionProfile
) -> tuple[int, list[tuple[int, Violation]]]:
    """Check every row (streaming) and find repeated trade numbers; nothing is kept but
    the trade numbers seen and the problems found."""
    total = 0
    bad: list[tuple[int, Violation]] = []
    first_row: dict[str, int] = {}
    for item in read_rows(path, file_format):
        total += 1
        for violation in _violations(item, profile):
            bad.append((item.row, violation))
        if item.request is not None:
            earlier = first_row.setdefault(item.request.trade_no, item.row)
            if earlier != item.row:
                bad.append((item.row, Violation("trade_no", "duplicate_in_file", f"row {earlier}")))
    return total, bad


def _violations(item: InputRow, profile: RegionProfile) -> tuple[Violation, ...]:
    if item.request is None:
        return item.violations
    try:
        profile.prepare(item.request)
    except ValidationError as exc:
        return exc.violations
    return ()


def _identity(path: Path, client: VexoraClient) -> dict[str, str]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "input_sha256": digest.hexdigest(),
        "merchant_no": client.merchant_no,
        "base_url": client.base_url,
        "region": client.profile.name,
    }


async def _send(
    args: argparse.Namespace,
    client: VexoraClient,
    journal: Journal,
    states: dict[int, str],
    progress: Progress,
) -> None:
    in_flight: dict[str, tuple[int, bool]] = {}  # trade number -> (row, maybe sent before)

    async def create(request: CheckoutRequest) -> Any:
        row, maybe_sent = in_flight[request.trade_no]
        journal.start(row)  # committed before the request may leave
        return await client.create_payment_link(request, maybe_sent=maybe_sent)

    async def requests() -> AsyncIterator[CheckoutRequest]:
        for chunk in _chunks(read_rows(args.input, args.format)):
            journal.add_rows((item.row, _trade_no(item)) for item in chunk)
            for item in chunk:
                state = states.get(item.row)
                if state == DONE:
                    progress.advance()
                elif item.request is None or _violations(item, client.profile):
                    journal.finish(item.row, _invalid_result(item, client.profile))
                    progress.advance()
                else:
                    in_flight[item.request.trade_no] = (item.row, state == IN_FLIGHT)
                    yield item.request

    # The pool of `create_payment_links`, with `create` wrapping each order in the journal.
    async for result in run_batch(create, requests(), concurrency=args.concurrency):
        row, _ = in_flight.pop(result.trade_no)
        journal.finish(row, _result(row, result))
        progress.advance()


def _chunks(rows: Iterator[InputRow]) -> Iterator[list[InputRow]]:
    chunk: list[InputRow] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _trade_no(item: InputRow) -> str | None:
    return item.request.trade_no if item.request is not None and not item.violations else None


def _invalid_result(item: InputRow, profile: RegionProfile) -> dict[str, Any]:
    violations = _violations(item, profile)
    return {
        "row": item.row,
        "tradeNo": item.request.trade_no if item.request is not None else None,
        "outcome": BatchOutcome.INVALID,
        "violations": [{"field": v.field, "rule": v.rule} for v in violations],
    }


def _result(row: int, result: BatchResult) -> dict[str, Any]:
    """One results line: what happened to the order, without payer data."""
    line: dict[str, Any] = {"row": row, "tradeNo": result.trade_no, "outcome": result.outcome}
    link = result.link
    if link is not None:
        line.update(
            paymentUrl=link.payment_url,
            platFormTradeNo=link.platform_trade_no,
            status=link.status.code,
        )
        return line
    error = result.error
    line["error"] = type(error).__name__
    if isinstance(error, APIError):
        line.update(code=error.code, message=error.msg)
    elif isinstance(error, OrderExists):
        line.update(platFormTradeNo=error.state.platform_trade_no, status=error.state.status.code)
    elif isinstance(error, OutcomeUnknown):
        line["message"] = error.reason
    elif isinstance(error, ValidationError):
        line["violations"] = [{"field": v.field, "rule": v.rule} for v in error.violations]
    return line


def _write_results(journal: Journal, out: Path) -> Counter[str]:
    """Write the results file atomically from the journal; the count of each outcome."""
    outcomes: Counter[str] = Counter()
    temporary = out.with_name(out.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for line in journal.results():
            outcomes[line["outcome"]] += 1
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(temporary, out)
    return outcomes


def _summary(outcomes: Counter[str], total: int, elapsed: float, out: Path) -> None:
    rows = [(outcome, str(count)) for outcome, count in sorted(outcomes.items())]
    rows.append(("rows", str(total)))
    rows.append(("elapsed", f"{elapsed:.1f} s"))
    print_table(f"results written to {out}", rows)
