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

The same command creates other things than payment links: a ``BatchKind`` says what a row
becomes, how the profile checks it, which client call creates it and what its results line
shows (``PAYMENT_LINKS`` here; ``commands/payouts.py`` declares ``PAYOUTS``). Everything
above is this module's, the same for every kind; a journal of one kind is never resumed as
another.
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
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import attrs

from ..batch import BatchOutcome, BatchResult, run_batch
from ..batch_input import (
    CHECKOUT_ROWS,
    FORMATS,
    InputFileError,
    InputRow,
    Request,
    RowReader,
)
from ..client import VexoraClient
from ..errors import (
    APIError,
    AuthenticationError,
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
    start_over,
)
from ..journal_postgres import DEFAULT_LEASE, DEFAULT_TABLE, PostgresJournal, is_postgres_url
from ..models import CheckoutRequest, PaymentLink
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED_ROWS,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    Progress,
    Stop,
    add_credentials,
    add_rate_limit,
    client_from,
    endpoint,
    fail,
    plural,
    print_table,
    run_stoppable,
)

__all__ = ["HELP", "NAME", "PAYMENT_LINKS", "BatchKind", "configure", "run"]

NAME = "batch"
HELP = "create a payment link for every row of a CSV or JSONL file (resumable)"
R = TypeVar("R", bound=Request)
T = TypeVar("T")
_CHUNK = 500  # rows read and registered per journal transaction
_SHOWN = 10  # failed or invalid rows listed on the terminal; the rest are in the file
# Finished rows a rerun tries again: never sent (safe to send), or unknown (re-driven as
# maybe sent: the client asks the gateway before it believes a rejection).
_RETRIED: dict[str, str] = {BatchOutcome.NOT_SENT: PENDING, BatchOutcome.UNKNOWN: IN_FLIGHT}
_FLUSH_AFTER = 0.5  # seconds a finished row may wait for a commit when no claim comes


@attrs.frozen
class BatchKind(Generic[R, T]):
    """What a batch command creates, one per row of a file. The rest (validation report,
    journal, resume, Ctrl+C, results file, exit codes) is the command's, the same for all."""

    #: How a row of the file becomes a request (``R``).
    rows: RowReader[R]
    #: The profile's validation of one request (raises ``ValidationError``), looked up once
    #: per run; ``ConfigurationError`` when the profile cannot create this kind at all.
    check: Callable[[VexoraClient], Callable[[R], object]]
    #: The client call that creates one (``T``); the flag is ``maybe_sent`` (a resumed row).
    create: Callable[[VexoraClient, R, bool], Awaitable[T]]
    #: A created one's fields on its results line (never payer or recipient data).
    shown: Callable[[T], dict[str, Any]]
    requests: str  # the input, for --help: "checkout requests"
    noun: str  # the progress bar's: "payment links"
    made: str  # "N rows did not become {made}"
    lost: str  # what an ``exists`` row lacks: "its link was lost (query it)"
    #: The journal's "kind", so a journal of one kind is never resumed as another (None for
    #: payment links: their journals predate kinds and stay resumable).
    journal_kind: str | None = None
    concurrency: int = 64  # the default --concurrency


def _check_checkout(client: VexoraClient) -> Callable[[CheckoutRequest], object]:
    return client.profile.prepare


def _create_link(
    client: VexoraClient, request: CheckoutRequest, maybe_sent: bool
) -> Awaitable[PaymentLink]:
    return client.create_payment_link(request, maybe_sent=maybe_sent)


def _shown_link(link: PaymentLink) -> dict[str, Any]:
    return {
        "paymentUrl": link.payment_url,
        "platFormTradeNo": link.platform_trade_no,
        "status": link.status.code,
    }


PAYMENT_LINKS: BatchKind[CheckoutRequest, PaymentLink] = BatchKind(
    rows=CHECKOUT_ROWS,
    check=_check_checkout,
    create=_create_link,
    shown=_shown_link,
    requests="checkout requests",
    noun="payment links",
    made="links",
    lost="its link was lost (query it)",
)


def configure(
    parser: argparse.ArgumentParser, kind: BatchKind[Any, Any] = PAYMENT_LINKS
) -> None:
    parser.add_argument("input", type=Path, help=f"{kind.requests}, .csv or .jsonl")
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
    parser.add_argument(
        "--concurrency",
        type=int,
        default=kind.concurrency,
        help=f"requests in flight ({kind.concurrency})",
    )
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
    add_rate_limit(parser)


def run(args: argparse.Namespace, kind: BatchKind[Any, Any] = PAYMENT_LINKS) -> int:
    if args.concurrency < 1:
        return fail("--concurrency must be at least 1", EXIT_CONFIG)
    if not (args.journal is not None and is_postgres_url(args.journal)):
        # Said, not ignored: a user who sets a lease believes dead workers' rows move on.
        given = [
            flag
            for flag, value, default in (
                ("--lease", args.lease, DEFAULT_LEASE),
                ("--journal-table", args.journal_table, DEFAULT_TABLE),
            )
            if value != default
        ]
        if given:
            return fail(
                f"{' and '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to a"
                " PostgreSQL journal (--journal postgresql://...); this run's journal is a file",
                EXIT_CONFIG,
            )
    stop = Stop()
    try:
        code = run_stoppable(
            _run(args, stop, kind),
            f"finishing the {kind.noun} in flight; the rest wait for the next run",
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


async def _run(args: argparse.Namespace, stop: Stop, kind: BatchKind[R, T]) -> int:
    client, check = _client(args, kind)
    shared = args.journal is not None and is_postgres_url(args.journal)
    journal_path = Path(args.journal or args.out.with_name(args.out.name + ".journal"))
    identity = await _identity(args.input, client, kind)
    journal: BatchJournal
    if shared:
        journal = await _open_shared(args, identity)
    else:
        journal = _open_journal(journal_path, args.out, identity, args.restart)
    try:
        resumed = journal.registered()
        if not resumed:
            try:
                total, bad, bad_rows = await _register(
                    args.input, args.format, kind.rows, check, journal
                )
            except InputFileError:
                # A file it cannot read (format, header, encoding): nothing was sent.
                _discard(journal)
                raise
            if bad_rows and not args.skip_invalid:
                _discard(journal)  # nothing was sent: the next run starts clean
                _report_invalid(bad, bad_rows)
                verb = "is" if bad_rows == 1 else "are"
                them = "it" if bad_rows == 1 else "them"
                return fail(
                    f"{bad_rows} of {plural(total, 'row')} {verb} invalid; nothing was sent"
                    f" (fix {them}, or pass --skip-invalid to send the others)",
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
            with Progress(total, kind.noun, args.progress) as progress:
                progress.advance(counts[DONE])
                refused = await _send(args, client, journal, progress, stop, kind)
                # A shared journal: other workers hold rows. Wait for them to settle, and
                # take over (maybe sent) the rows of any whose lease runs out.
                while (
                    refused is None
                    and not stop.requested
                    and (wait := journal.held_elsewhere()) is not None
                ):
                    await asyncio.sleep(min(max(wait, 0.05), 1.0))
                    progress.advance(max(0, journal.counts().get(DONE, 0) - progress.done))
                    refused = await _send(args, client, journal, progress, stop, kind)
        elapsed = time.perf_counter() - started
        if refused is not None:  # every row would fail the same way: stop, say why
            return fail(
                f"the gateway refused the credentials ({refused.code}: {refused.msg}); check the"
                " merchant number, secret, base URL and region, then run again to resume",
                EXIT_CONFIG,
            )
        if stop.requested:  # stopped between rows: the results file waits for the last run
            return fail("stopped; run the same command again to resume", EXIT_INTERRUPTED)
        outcomes, failed = await _write_results(journal, args.out)
    finally:
        journal.close()
    _summary(outcomes, failed, total, elapsed, args.out, client, kind)
    return EXIT_OK if outcomes[BatchOutcome.CREATED] == total else EXIT_FAILED_ROWS


def _discard(journal: BatchJournal) -> None:
    """Drop a journal whose rows were never registered (so none was sent): an input that
    cannot be used leaves nothing behind to resume or to be told about."""
    assert isinstance(journal, PostgresJournal | SqliteJournal)
    journal.discard()


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
    """The journal of this run, or ``JournalError`` when resuming could lose or mix up orders
    or another run holds it (``--restart`` included: nothing is removed then)."""
    existed = not restart and path.exists()
    if restart:
        journal = start_over(path)
    elif not existed and out.exists():
        raise JournalError(
            f"{out} exists but its journal {path} is missing, so which orders were sent is"
            " unknown; pass --restart to start over (the results file is then replaced)"
        )
    else:
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


def _client(
    args: argparse.Namespace, kind: BatchKind[R, T]
) -> tuple[VexoraClient, Callable[[R], object]]:
    """The client, and its profile's check of this kind (before any journal is opened:
    ``ConfigurationError`` if the profile cannot create it)."""
    client = client_from(args, limit=args.concurrency)
    return client, kind.check(client)


async def _register(
    path: Path,
    file_format: str | None,
    rows: RowReader[R],
    check: Callable[[R], object],
    journal: BatchJournal,
) -> tuple[int, list[tuple[int, Violation]], int]:
    """Read every row once: validate it, find repeated trade numbers (through the journal's
    index, so memory stays flat), register it. Returns (rows, the first problems, bad rows)."""
    total = bad_rows = 0
    shown: list[tuple[int, Violation]] = []
    chunk: list[InputRow[R]] = []

    def flush() -> None:
        nonlocal bad_rows
        # Any earlier row with the same trade number counts, valid or not: which of the
        # two the file meant cannot be known.
        earlier = journal.first_rows(
            t
            for item in chunk
            if (t := item.trade_no if item.request is None else item.request.trade_no)
            is not None
        )
        entries = []
        for item in chunk:
            request = item.request
            if request is None:
                trade_no = item.trade_no
                violations = item.violations
            else:  # the profile's check
                trade_no = request.trade_no
                try:
                    check(request)
                    violations = ()
                except ValidationError as exc:
                    violations = exc.violations
                except Exception as exc:  # a value the profile cannot even check
                    violations = (Violation("row", "unusable", type(exc).__name__),)
            if trade_no is not None:
                first = earlier.setdefault(trade_no, item.row)
                if first != item.row:
                    trade_no = None  # the journal keeps each trade number once
                    duplicate = Violation("trade_no", _DUPLICATE, f"row {first}")
                    violations = (*violations, duplicate)
            if violations:
                bad_rows += 1
                shown.extend((item.row, v) for v in violations if len(shown) < 50)
                named = item.trade_no
                if any(v.field == "trade_no" and v.rule != _DUPLICATE for v in violations):
                    # Not a trade number: whatever the cell held (a shifted column, a name)
                    # is not written to the journal or the results.
                    named = trade_no = None
                result = _invalid_result(item.row, named, violations)
                entries.append(Entry(item.row, trade_no, result))
            else:
                entries.append(Entry(item.row, trade_no))
        journal.register(entries)
        chunk.clear()

    for item in rows.read(path, file_format):
        total += 1
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            flush()
            await asyncio.sleep(0)  # a Ctrl+C is heard during a long file too
    if chunk:
        flush()
    return total, shown, bad_rows


def _report_invalid(shown: list[tuple[int, Violation]], bad_rows: int) -> None:
    for row, violation in shown:
        print(f"row {row}: {violation}", flush=True)
    if bad_rows > len({row for row, _ in shown}):
        print(f"... and more: {bad_rows} invalid rows in all", flush=True)


async def _identity(
    path: Path, client: VexoraClient, kind: BatchKind[R, T]
) -> dict[str, str]:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                await asyncio.sleep(0)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    identity = {
        "input_sha256": digest.hexdigest(),
        "merchant_no": client.merchant_no,
        "base_url": client.base_url,
        "region": client.profile.name,
    }
    if kind.journal_kind is not None:
        identity["kind"] = kind.journal_kind
    return identity


async def _send(
    args: argparse.Namespace,
    client: VexoraClient,
    journal: BatchJournal,
    progress: Progress,
    stop: Stop,
    kind: BatchKind[R, T],
) -> AuthenticationError | None:
    """Send every pending row; the gateway's refusal of the credentials if one came (the
    run stops there: its rows stay in flight and are re-driven by the next run)."""
    group = max(args.concurrency, 16)
    refused: AuthenticationError | None = None
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

    def requests() -> Iterator[R]:
        """The rows to send, claimed from the journal a group at a time (committed as in
        flight before the first of them can leave), matched with their lines of the file."""
        records = kind.rows.records(args.input, args.format)
        last = 0
        while not stop.requested and (claims := journal.claim_next(group, finished)):
            finished.clear()  # recorded with the claim, in one commit
            for claim in claims:
                if stop.requested:  # claimed, never sent: re-driven (and created) next run
                    return
                if claim.row <= last:  # a row another worker left (shared journal): reread
                    records = kind.rows.records(args.input, args.format)
                last = claim.row
                item = kind.rows.to_row(claim.row, _seek(records, claim.row, args.input))
                if item.request is None or item.request.trade_no != claim.trade_no:
                    raise InputFileError(f"{args.input} changed while the batch was running")
                claimed[claim.trade_no] = claim
                yield item.request

    def create(request: R) -> Awaitable[T]:  # the call's own coroutine: no frame per row
        return kind.create(client, request, claimed[request.trade_no].maybe_sent)

    # The pool is typed for payment links; it passes any request and result through.
    pool = run_batch(cast(Any, create), cast(Any, requests()), concurrency=args.concurrency)
    try:
        async for result in pool:
            claim = claimed.pop(result.trade_no)
            if isinstance(result.error, AuthenticationError):
                refused = refused or result.error
                stop.requested = True  # no new rows: they would all be refused
                continue  # not recorded: nothing was done under these credentials
            finished.append((claim.row, _result(claim.row, result, kind)))
            progress.advance()
            # Finished rows normally ride along with the next claim (one commit per group);
            # on their own only when claims stop coming (the end of the file, a stall).
            if len(finished) >= 2 * group:
                commit()
            elif timer is None:
                timer = loop.call_later(_FLUSH_AFTER, commit)
    finally:
        commit()  # also when stopped: finished rows are not sent again
    return refused


def _seek(records: Iterator[tuple[int, Any]], row: int, path: Path) -> Any:
    """The record of ``row``, reading forward (claims come in row order)."""
    for number, record in records:
        if number == row:
            return record
    raise InputFileError(f"row {row} is no longer in {path}")


_DUPLICATE = "duplicate_trade_no"


def _invalid_result(
    row: int, trade_no: str | None, violations: tuple[Violation, ...]
) -> dict[str, Any]:
    return {
        "row": row,
        "tradeNo": trade_no,
        "outcome": str(BatchOutcome.INVALID),
        "violations": [{"field": v.field, "rule": v.rule} for v in violations],
    }


def _result(row: int, result: BatchResult, kind: BatchKind[R, T]) -> dict[str, Any]:
    """One results line: what happened to the order, without payer data."""
    # Plain str outcome (not the enum): the journal writes a flat line of plain values
    # directly, without the JSON encoder.
    line: dict[str, Any] = {
        "row": row, "tradeNo": result.trade_no, "outcome": str(result.outcome)
    }  # fmt: skip
    if result.ok:
        line.update(kind.shown(cast(T, result.link)))  # the pool carries the kind's T
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


def _describe(line: dict[str, Any], kind: BatchKind[Any, Any]) -> str:
    if line["outcome"] == BatchOutcome.EXISTS:
        detail = f"created as {line.get('platFormTradeNo')}, but {kind.lost}"
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
    kind: BatchKind[Any, Any],
) -> None:
    rows = [(outcome, str(count)) for outcome, count in sorted(outcomes.items())]
    rows.append(("rows", str(total)))
    rows.append(("elapsed", f"{elapsed:.1f} s"))
    print_table(f"results written to {out}", rows)
    not_created = total - outcomes[BatchOutcome.CREATED]
    if not failed:
        return
    print(f"{plural(not_created, 'row')} did not become {kind.made}:")
    for line in failed:
        print(f"  {_describe(line, kind)}")
    if not_created > len(failed):
        print(f"  ... {not_created - len(failed)} more in {out} (every line without \"created\")")
    if outcomes[BatchOutcome.NOT_SENT]:
        print(f"  not_sent: could not connect to {endpoint(client.base_url)}; run the same"
              " command again to send them")  # fmt: skip

