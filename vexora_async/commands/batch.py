"""``vexora-async batch INPUT --out results.jsonl``: every row of a file, resumably.

1. Every row is validated first and registered in a journal next to the output; a trade
   number repeated in the file is invalid (``duplicate_trade_no``) in every row after the
   first. Bad rows are all reported (row, field, rule) and nothing is sent, unless
   ``--skip-invalid`` (then they get the outcome ``invalid`` and are never sent).
2. Rows are sent through the batch pool. The journal marks each group of rows in flight
   before any of them is sent and records finished rows a group at a time, so a run that
   is stopped (Ctrl+C) or killed (even SIGKILL) and started again skips what finished and
   re-drives what was in flight under the same ``tradeNo``: no order is created twice or
   dropped.
3. The results file is written from the journal at the end: one line per input row, in row
   order, with no payer data. A journal that is missing, empty, corrupt or another run's
   next to an existing results file stops the run (exit 4) unless ``--restart``: the
   results file may hold the only copy of payment URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..batch import BatchOutcome, BatchResult, run_batch
from ..batch_input import FORMATS, InputFileError, InputRow, read_records, read_rows, to_row
from ..client import VexoraClient
from ..errors import (
    APIError,
    ConfigurationError,
    OrderExists,
    OutcomeUnknown,
    ValidationError,
    Violation,
)
from ..journal import (
    DONE,
    IN_FLIGHT,
    PENDING,
    BatchJournal,
    Claim,
    Entry,
    JournalError,
    SqliteJournal,
    remove_journal,
)
from ..journal_postgres import DEFAULT_LEASE, DEFAULT_TABLE, PostgresJournal, is_postgres_url
from ..models import CheckoutRequest, PaymentLink
from ..regions import RegionProfile
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED_ROWS,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    Progress,
    Stop,
    add_credentials,
    client_from,
    endpoint,
    fail,
    print_table,
    run_stoppable,
)

NAME = "batch"
HELP = "create a payment link for every row of a CSV or JSONL file (resumable)"
_CHUNK = 500  # rows read and registered per journal transaction
_SHOWN = 10  # failed or invalid rows listed on the terminal; the rest are in the file
# Finished rows a rerun tries again: never sent (safe to send), or unknown (re-driven as
# maybe sent: the client asks the gateway before it believes a rejection).
_RETRIED: dict[str, str] = {BatchOutcome.NOT_SENT: PENDING, BatchOutcome.UNKNOWN: IN_FLIGHT}
_FLUSH_AFTER = 0.5  # seconds a finished row may wait for a commit when no claim comes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="checkout requests, .csv or .jsonl")
    parser.add_argument("--out", type=Path, required=True, help="results, one JSON line per row")
    parser.add_argument(
        "--journal",
        help="resume journal: a file (default: OUT.journal), or postgresql://... to share it"
        " with other workers running the same input",
    )
    parser.add_argument(
        "--journal-table",
        default=DEFAULT_TABLE,
        help=f"PostgreSQL journal: the tables' name prefix, one per batch ({DEFAULT_TABLE})",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE,
        help="PostgreSQL journal: seconds before a dead worker's rows are re-driven by"
        f" another ({DEFAULT_LEASE:g})",
    )
    parser.add_argument("--format", choices=FORMATS, help="input format (default: by extension)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="send the valid rows even if some are invalid (those get outcome 'invalid')",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="discard the journal (and, at the end, the results file) and start over; orders"
        " sent before are then reported as existing or rejected by the gateway",
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
    stop = Stop()
    try:
        code = run_stoppable(
            _run(args, stop), "finishing the orders in flight; the rest wait for the next run",
            stop=stop,
        )  # fmt: skip
    except JournalError as exc:
        return fail(f"{exc}; nothing was sent", EXIT_CONFIG)
    except ConfigurationError as exc:
        return fail(str(exc), EXIT_CONFIG)
    except InputFileError as exc:
        return fail(str(exc), EXIT_INVALID_INPUT)
    except (OSError, sqlite3.Error) as exc:  # e.g. a full disk: what is committed stays
        return fail(f"cannot write the journal or results ({exc}); run again to resume",
                    EXIT_CONFIG)  # fmt: skip
    if code is None:
        return fail("stopped; run the same command again to resume", EXIT_INTERRUPTED)
    return code


async def _run(args: argparse.Namespace, stop: Stop) -> int:
    client = client_from(args, limit=args.concurrency)
    shared = args.journal is not None and is_postgres_url(args.journal)
    journal_path = Path(args.journal or args.out.with_name(args.out.name + ".journal"))
    identity = await _identity(args.input, client)
    journal: BatchJournal
    if shared:
        journal = await _open_shared(args, identity)
    else:
        journal = _open_journal(journal_path, args.out, identity, args.restart)
    try:
        resumed = journal.registered()
        if not resumed:
            total, bad, bad_rows = await _register(
                args.input, args.format, client.profile, journal
            )
            if bad_rows and not args.skip_invalid:
                # nothing was sent: the next run starts clean
                if isinstance(journal, PostgresJournal):
                    journal.discard()
                else:
                    journal.close()
                    remove_journal(journal_path)
                _report_invalid(bad, bad_rows)
                return fail(
                    f"{bad_rows} of {total} rows are invalid; nothing was sent (fix them, or"
                    " pass --skip-invalid to send the others)",
                    EXIT_INVALID_INPUT,
                )
            journal.mark_registered()
        retried = journal.retry(_RETRIED) if resumed else 0
        counts = Counter(journal.counts())
        total = sum(counts.values())
        if resumed:
            print(
                f"resuming: {counts[DONE]} done, {counts[IN_FLIGHT]} in flight or unknown "
                f"(re-driven under the same trade numbers, {retried} of them from the last "
                "results), the rest pending",
                flush=True,
            )
        started = time.perf_counter()
        async with client:
            with Progress(total, "payment links", args.progress) as progress:
                progress.advance(counts[DONE])
                await _send(args, client, journal, progress, stop)
                # A shared journal: other workers hold rows. Wait for them to settle, and
                # take over (maybe sent) the rows of any whose lease runs out.
                while not stop.requested and (wait := journal.held_elsewhere()) is not None:
                    await asyncio.sleep(min(max(wait, 0.05), 1.0))
                    progress.advance(max(0, journal.counts().get(DONE, 0) - progress.done))
                    await _send(args, client, journal, progress, stop)
        elapsed = time.perf_counter() - started
        if stop.requested:  # stopped between rows: the results file waits for the last run
            return fail("stopped; run the same command again to resume", EXIT_INTERRUPTED)
        outcomes, failed = await _write_results(journal, args.out)
    finally:
        journal.close()
    _summary(outcomes, failed, total, elapsed, args.out, client)
    return EXIT_OK if outcomes[BatchOutcome.CREATED] == total else EXIT_FAILED_ROWS


async def _open_shared(args: argparse.Namespace, identity: dict[str, str]) -> PostgresJournal:
    """The PostgreSQL journal every worker on this input shares, bound to the input (the
    first worker binds it; the others wait until it has registered the rows)."""
    if args.restart:
        raise JournalError(
            "--restart cannot discard a shared journal other workers may be using; drop its"
            " tables (see the README) or use another --journal-table"
        )
    journal = PostgresJournal(args.journal, table=args.journal_table, lease=args.lease)
    try:
        if args.out.exists() and journal.is_empty():
            raise JournalError(
                f"{args.out} exists but the journal table {args.journal_table} is empty, so"
                " which orders were sent is unknown; move the results file away to start over"
            )
        if not journal.take_turn():
            print("waiting for another worker to register the input", file=sys.stderr,
                  flush=True)  # fmt: skip
            while not journal.take_turn():
                await asyncio.sleep(0.2)
        journal.bind(identity)
    except BaseException:
        journal.close()
        raise
    return journal


def _open_journal(
    path: Path, out: Path, identity: dict[str, str], restart: bool
) -> SqliteJournal:
    """The journal of this run, or ``JournalError`` when resuming could lose or mix up orders."""
    if restart:
        remove_journal(path)
    elif not path.exists() and out.exists():
        raise JournalError(
            f"{out} exists but its journal {path} is missing, so which orders were sent is"
            " unknown; pass --restart to start over (the results file is then replaced)"
        )
    existed = path.exists()
    journal = SqliteJournal(path)
    try:
        if existed and journal.is_empty():
            # Truncated or emptied: the rows it recorded as sent are gone with it.
            raise JournalError(
                f"the journal {path} is empty, so which orders were sent is unknown; pass"
                " --restart to start over"
            )
        journal.bind(identity)
    except BaseException:
        journal.close()
        raise
    return journal


async def _register(
    path: Path, file_format: str | None, profile: RegionProfile, journal: BatchJournal
) -> tuple[int, list[tuple[int, Violation]], int]:
    """Read every row once: validate it, find repeated trade numbers (through the journal's
    index, so memory stays flat), register it. Returns (rows, the first problems, bad rows)."""
    total = bad_rows = 0
    shown: list[tuple[int, Violation]] = []
    chunk: list[InputRow] = []

    def flush() -> None:
        nonlocal bad_rows
        # Any earlier row with the same trade number counts, valid or not: which of the
        # two the file meant cannot be known.
        earlier = journal.first_rows(t for item in chunk if (t := _trade_no(item)) is not None)
        entries = []
        for item in chunk:
            violations = _violations(item, profile)
            trade_no = _trade_no(item)
            if trade_no is not None:
                first = earlier.setdefault(trade_no, item.row)
                if first != item.row:
                    trade_no = None  # the journal keeps each trade number once
                    duplicate = Violation("trade_no", "duplicate_trade_no", f"row {first}")
                    violations = (*violations, duplicate)
            if violations:
                bad_rows += 1
                shown.extend((item.row, v) for v in violations if len(shown) < 50)
                entries.append(Entry(item.row, trade_no, _invalid_result(item, violations)))
            else:
                entries.append(Entry(item.row, trade_no))
        journal.register(entries)
        chunk.clear()

    for item in read_rows(path, file_format):
        total += 1
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            flush()
            await asyncio.sleep(0)  # a Ctrl+C is heard during a long file too
    if chunk:
        flush()
    return total, shown, bad_rows


def _trade_no(item: InputRow) -> str | None:
    return item.request.trade_no if item.request is not None else item.trade_no


def _violations(item: InputRow, profile: RegionProfile) -> tuple[Violation, ...]:
    if item.request is None:
        return item.violations
    try:
        profile.prepare(item.request)
    except ValidationError as exc:
        return exc.violations
    except Exception as exc:  # a value the profile cannot even check: that row only
        return (Violation("row", "unusable", type(exc).__name__),)
    return ()


def _report_invalid(shown: list[tuple[int, Violation]], bad_rows: int) -> None:
    for row, violation in shown:
        print(f"row {row}: {violation}", flush=True)
    if bad_rows > len({row for row, _ in shown}):
        print(f"... and more: {bad_rows} invalid rows in all", flush=True)


async def _identity(path: Path, client: VexoraClient) -> dict[str, str]:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                await asyncio.sleep(0)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return {
        "input_sha256": digest.hexdigest(),
        "merchant_no": client.merchant_no,
        "base_url": client.base_url,
        "region": client.profile.name,
    }


async def _send(
    args: argparse.Namespace,
    client: VexoraClient,
    journal: BatchJournal,
    progress: Progress,
    stop: Stop,
) -> None:
    group = max(args.concurrency, 16)
    claimed: dict[str, Claim] = {}  # trade number -> its claim, while in flight
    finished: list[tuple[int, dict[str, Any]]] = []
    loop = asyncio.get_running_loop()
    timer: asyncio.TimerHandle | None = None

    def commit() -> None:
        nonlocal timer
        if timer is not None:
            timer.cancel()
            timer = None
        if finished:
            journal.record(finished)
            finished.clear()

    def requests() -> Iterator[CheckoutRequest]:
        """The rows to send, claimed from the journal a group at a time (committed as in
        flight before the first of them can leave), matched with their lines of the file."""
        records = read_records(args.input, args.format)
        last = 0
        while not stop.requested and (claims := journal.claim_next(group, finished)):
            finished.clear()  # recorded with the claim, in one commit
            for claim in claims:
                if stop.requested:  # claimed, never sent: re-driven (and created) next run
                    return
                if claim.row <= last:  # a row another worker left (shared journal): reread
                    records = read_records(args.input, args.format)
                last = claim.row
                item = to_row(claim.row, _seek(records, claim.row, args.input))
                if item.request is None or item.request.trade_no != claim.trade_no:
                    raise InputFileError(f"{args.input} changed while the batch was running")
                claimed[claim.trade_no] = claim
                yield item.request

    async def create(request: CheckoutRequest) -> PaymentLink:
        return await client.create_payment_link(
            request, maybe_sent=claimed[request.trade_no].maybe_sent
        )

    try:
        async for result in run_batch(create, requests(), concurrency=args.concurrency):
            claim = claimed.pop(result.trade_no)
            finished.append((claim.row, _result(claim.row, result)))
            progress.advance()
            # Finished rows normally ride along with the next claim (one commit per group);
            # on their own only when claims stop coming (the end of the file, a stall).
            if len(finished) >= 2 * group:
                commit()
            elif timer is None:
                timer = loop.call_later(_FLUSH_AFTER, commit)
    finally:
        commit()  # also when stopped: finished rows are not sent again


def _seek(records: Iterator[tuple[int, Any]], row: int, path: Path) -> Any:
    """The record of ``row``, reading forward (claims come in row order)."""
    for number, record in records:
        if number == row:
            return record
    raise InputFileError(f"row {row} is no longer in {path}")


def _invalid_result(item: InputRow, violations: tuple[Violation, ...]) -> dict[str, Any]:
    return {
        "row": item.row,
        "tradeNo": item.trade_no,
        "outcome": BatchOutcome.INVALID,
        "violations": [{"field": v.field, "rule": v.rule} for v in violations],
    }


def _result(row: int, result: BatchResult) -> dict[str, Any]:
    """One results line: what happened to the order, without payer data."""
    line: dict[str, Any] = {"row": row, "tradeNo": result.trade_no, "outcome": result.outcome}
    if result.ok:
        line.update(
            paymentUrl=result.link.payment_url,
            platFormTradeNo=result.link.platform_trade_no,
            status=result.link.status.code,
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
    else:
        line["message"] = str(error)[:200]
    return line


async def _write_results(
    journal: BatchJournal, out: Path
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Write the results file atomically from the journal: the count of each outcome, and
    the first rows that did not become links."""
    outcomes: Counter[str] = Counter()
    failed: list[dict[str, Any]] = []
    # Per process: workers sharing a journal on one machine may write the same file at once.
    temporary = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    # backslashreplace: a lone surrogate from a broken row is written as its JSON escape.
    with temporary.open("w", encoding="utf-8") as handle:
        for count, (outcome, text) in enumerate(journal.export(), start=1):
            outcomes[outcome] += 1
            if outcome != BatchOutcome.CREATED and len(failed) < _SHOWN:
                failed.append(json.loads(text))
            handle.write(text + "\n")  # as stored: ASCII JSON, one line
            if count % _CHUNK == 0:
                await asyncio.sleep(0)
    os.replace(temporary, out)
    return outcomes, failed


def _describe(line: dict[str, Any]) -> str:
    if line["outcome"] == BatchOutcome.EXISTS:
        detail = f"created as {line.get('platFormTradeNo')}, but its link was lost (query it)"
    elif line.get("violations"):
        detail = ", ".join(f"{v['field']}: {v['rule']}" for v in line["violations"])
    elif line.get("code"):
        detail = f"gateway code {line['code']}: {line.get('message', '')}"
    else:
        detail = line.get("message") or line.get("error") or ""
    return f"row {line['row']} {line['outcome']}: {detail}".rstrip(": ")


def _summary(
    outcomes: Counter[str],
    failed: list[dict[str, Any]],
    total: int,
    elapsed: float,
    out: Path,
    client: VexoraClient,
) -> None:
    rows = [(outcome, str(count)) for outcome, count in sorted(outcomes.items())]
    rows.append(("rows", str(total)))
    rows.append(("elapsed", f"{elapsed:.1f} s"))
    print_table(f"results written to {out}", rows)
    not_created = total - outcomes[BatchOutcome.CREATED]
    if not failed:
        return
    print(f"{not_created} rows did not become links:")
    for line in failed:
        print(f"  {_describe(line)}")
    if not_created > len(failed):
        print(f"  ... {not_created - len(failed)} more in {out} (every line without \"created\")")
    if outcomes[BatchOutcome.NOT_SENT]:
        print(f"  not_sent: could not connect to {endpoint(client.base_url)}; run the same"
              " command again to send them")  # fmt: skip

