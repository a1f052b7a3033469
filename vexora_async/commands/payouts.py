"""``vexora-async payouts INPUT --out results.jsonl``: a payout for every row, resumably.

The ``batch`` command's guarantees, for money going out: every row is validated first (all
problems reported, nothing sent, unless ``--skip-invalid``); a journal records each row
before it is sent and once its result is known, so a run killed at any point and started
again re-drives what was in flight under the same ``tradeNo`` (a payout is never sent under
a new number: it cannot be paid twice) and skips what finished; the results file (no
recipient data) is written from the journal at the end. Exit codes as ``batch``.

Reused from ``commands/batch.py``: the journal identity, chunking, results file and summary
(``_identity``, ``_CHUNK``, ``_write_results``, ``_summary``) and the row readers of
``batch_input``; only the request type, the profile's payout rules and the result line differ.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs

from ..batch import BatchResult, run_batch
from ..batch_input import FORMATS, _csv_records, _jsonl_records, detect_format
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
from ..outcome import Outcome
from ..payout_models import PayoutRequest
from ..payout_rules import PayoutProfile
from ..payouts import payout_profile
from ..wire import wire_name
from .batch import _CHUNK, _identity, _summary, _write_results
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED_ROWS,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    Progress,
    add_credentials,
    client_from,
    fail,
)

NAME = "payouts"
HELP = "create a payout for every row of a CSV or JSONL file (resumable)"

_FIELDS = {a.name for a in attrs.fields(PayoutRequest) if a.name != "extra"}
_NAMES = {**{wire_name(name): name for name in _FIELDS}, **{name: name for name in _FIELDS}}


@attrs.frozen(slots=True)
class PayoutRow:
    """One input row: its payout request, or why none could be built."""

    row: int
    request: PayoutRequest | None
    violations: tuple[Violation, ...] = ()


def read_payout_rows(path: Path, file_format: str | None = None) -> Iterator[PayoutRow]:
    """Every row of ``path``; columns by SDK or wire name, others travel in ``extra``."""
    kind = file_format or detect_format(path)
    records = _csv_records(path) if kind == "csv" else _jsonl_records(path)
    for row, record in enumerate(records, start=1):
        yield _to_row(row, record)


def _to_row(row: int, record: dict[str, Any] | None) -> PayoutRow:
    if record is None:
        return PayoutRow(row, None, (Violation("row", "unreadable", "not a record of fields"),))
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in record.items():
        name = _NAMES.get(key)
        if name is None:
            if value is not None:
                extra[key] = value
        else:
            known[name] = value
    if known.get("trade_no") is None:
        return PayoutRow(row, None, (Violation("trade_no", "required"),))
    if known.get("amount") is None:
        return PayoutRow(row, None, (Violation("amount", "required"),))
    try:
        return PayoutRow(row, PayoutRequest(**known, extra=extra))
    except ValidationError as exc:
        return PayoutRow(row, None, exc.violations)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="payout requests, .csv or .jsonl")
    parser.add_argument("--out", type=Path, required=True, help="results, one JSON line per row")
    parser.add_argument("--journal", type=Path, help="resume journal (default: OUT.journal)")
    parser.add_argument("--format", choices=FORMATS, help="input format (default: by extension)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
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
    profile = payout_profile(client)
    journal_path: Path = args.journal or args.out.with_name(args.out.name + ".journal")
    total, bad = _validate(args.input, args.format, profile)
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
        # "kind": a journal of payment links is never resumed as payouts, or the reverse.
        resumed = journal.bind({**_identity(args.input, client), "kind": "payouts"})
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
            with Progress(total, "payouts", args.progress) as progress:
                await _send(args, client, profile, journal, states, progress)
        elapsed = time.perf_counter() - started
        outcomes = _write_results(journal, args.out)
    _summary(outcomes, total, elapsed, args.out)
    return EXIT_OK if outcomes[Outcome.CREATED] == total else EXIT_FAILED_ROWS


def _validate(
    path: Path, file_format: str | None, profile: PayoutProfile
) -> tuple[int, list[tuple[int, Violation]]]:
    total = 0
    bad: list[tuple[int, Violation]] = []
    first_row: dict[str, int] = {}
    for item in read_payout_rows(path, file_format):
        total += 1
        for violation in _violations(item, profile):
            bad.append((item.row, violation))
        if item.request is not None:
            earlier = first_row.setdefault(item.request.trade_no, item.row)
            if earlier != item.row:
                bad.append((item.row, Violation("trade_no", "duplicate_in_file", f"row {earlier}")))
    return total, bad


def _violations(item: PayoutRow, profile: PayoutProfile) -> tuple[Violation, ...]:
    if item.request is None:
        return item.violations
    try:
        profile.prepare(item.request)
    except ValidationError as exc:
        return exc.violations
    return ()


async def _send(
    args: argparse.Namespace,
    client: VexoraClient,
    profile: PayoutProfile,
    journal: Journal,
    states: dict[int, str],
    progress: Progress,
) -> None:
    in_flight: dict[str, tuple[int, bool]] = {}

    async def create(request: PayoutRequest) -> Any:
        row, maybe_sent = in_flight[request.trade_no]
        journal.start(row)  # committed before the request may leave
        return await client.create_payout(request, maybe_sent=maybe_sent)

    async def requests() -> AsyncIterator[PayoutRequest]:
        for chunk in _chunks(read_payout_rows(args.input, args.format)):
            journal.add_rows((item.row, _trade_no(item)) for item in chunk)
            for item in chunk:
                state = states.get(item.row)
                if state == DONE:
                    progress.advance()
                elif item.request is None or _violations(item, profile):
                    journal.finish(item.row, _invalid_result(item, profile))
                    progress.advance()
                else:
                    in_flight[item.request.trade_no] = (item.row, state == IN_FLIGHT)
                    yield item.request

    # The pool of `create_payouts`, with `create` wrapping each payout in the journal.
    async for result in run_batch(create, requests(), concurrency=args.concurrency):  # type: ignore[arg-type]
        row, _ = in_flight.pop(result.trade_no)
        journal.finish(row, _result(row, result))
        progress.advance()


def _chunks(rows: Iterator[PayoutRow]) -> Iterator[list[PayoutRow]]:
    chunk: list[PayoutRow] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _trade_no(item: PayoutRow) -> str | None:
    return item.request.trade_no if item.request is not None and not item.violations else None


def _invalid_result(item: PayoutRow, profile: PayoutProfile) -> dict[str, Any]:
    return {
        "row": item.row,
        "tradeNo": item.request.trade_no if item.request is not None else None,
        "outcome": Outcome.INVALID,
        "violations": [{"field": v.field, "rule": v.rule} for v in _violations(item, profile)],
    }


def _result(row: int, result: BatchResult) -> dict[str, Any]:
    """One results line: what happened to the payout, without recipient data."""
    line: dict[str, Any] = {"row": row, "tradeNo": result.trade_no, "outcome": result.outcome}
    payout: Any = result.link
    if payout is not None:
        line.update(platFormTradeNo=payout.platform_trade_no, status=payout.status.code)
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
