"""A crash-safe record of a batch run, so a killed run can be resumed.

Each input row moves ``pending -> in_flight -> done``. Rows are claimed (marked in flight,
committed) a group at a time *before* any of them is sent, and finished rows are committed
a group at a time, so after any crash, SIGKILL included:

- ``done`` rows are never sent again;
- ``in_flight`` rows may or may not have reached the gateway: they are re-driven with the
  same ``tradeNo`` and ``maybe_sent=True`` (a rejection is then checked with a query). A row
  that finished but whose group was not committed yet is one of these: its order is neither
  lost nor duplicated, at worst its cashier URL is (outcome ``exists``);
- ``pending`` rows were never sent.

``BatchJournal`` is the interface the ``batch`` command uses; ``SqliteJournal`` implements
it in one file, ``journal_postgres.PostgresJournal`` in tables many workers share.

The journal holds trade numbers, outcomes, links and gateway codes, never payer data: the
input file is read again on resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from .errors import ConfigurationError

__all__ = [
    "DONE",
    "IN_FLIGHT",
    "PENDING",
    "BatchJournal",
    "Claim",
    "Entry",
    "Journal",
    "JournalError",
    "SqliteJournal",
    "remove_journal",
    "start_over",
]

PENDING = "pending"
IN_FLIGHT = "in_flight"
DONE = "done"
_REGISTERED = "registered"  # meta key: every row of the input is in the journal


class JournalError(ConfigurationError):
    """The journal cannot be used (corrupt, empty, another run's, in use): nothing was sent."""


class Entry(NamedTuple):
    """A row to register: its trade number (None if it has no usable one) and, for a row
    that will not be sent (invalid), its result already."""

    row: int
    trade_no: str | None
    result: Mapping[str, Any] | None = None


class Claim(NamedTuple):
    """A row to send now. ``maybe_sent``: an earlier run had it in flight."""

    row: int
    trade_no: str
    maybe_sent: bool


class BatchJournal(Protocol):
    """What the ``batch`` command needs from a journal. Every method that changes state
    commits before it returns, as one transaction."""

    def bind(self, identity: Mapping[str, str]) -> bool:
        """Tie the journal to one input and account: False if new, True if resuming.
        Raises ``JournalError`` for another run's journal."""
        ...

    def first_rows(self, trade_nos: Iterable[str]) -> dict[str, int]:
        """For the trade numbers already registered, the row that has each."""
        ...

    def register(self, entries: Iterable[Entry]) -> None:
        """Add rows (pending, or done with their result); known rows stay as they are."""
        ...

    def mark_registered(self) -> None:
        """Every row of the input is registered (a resume may skip reading it for that)."""
        ...

    def registered(self) -> bool: ...

    def claim_next(
        self, limit: int, finished: Iterable[tuple[int, Mapping[str, Any]]] = ()
    ) -> list[Claim]:
        """The next rows to send, in row order, marked in flight before this returns.
        Rows claimed earlier in this run are not claimed again. ``finished`` rows are
        recorded in the same transaction (one commit instead of two)."""
        ...

    def record(self, results: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        """Finished rows: their results, marked done."""
        ...

    def retry(self, outcomes: Mapping[str, str]) -> int:
        """Put done rows with these outcomes back to a state (``pending`` for rows never
        sent, ``in_flight`` for rows that may have been); how many."""
        ...

    def is_empty(self) -> bool:
        """No identity and no rows (a file emptied or truncated)."""
        ...

    def held_elsewhere(self) -> float | None:
        """None when no unfinished row is held by another worker (a shared journal's);
        otherwise seconds until the soonest such claim runs out (0: claimable now)."""
        ...

    def counts(self) -> dict[str, int]:
        """How many rows are in each state."""
        ...

    def export(self) -> Iterator[tuple[str, str]]:
        """Every done row's (outcome, result as JSON text), in row order."""
        ...

    def close(self) -> None: ...


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # trade_no is NULL for a repeat of an earlier row's (never sent); result is JSON text,
    # outcome its "outcome" (so the export needs no parsing)
    "CREATE TABLE IF NOT EXISTS rows (row INTEGER PRIMARY KEY, trade_no TEXT UNIQUE,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT, result TEXT)",
)


class SqliteJournal:
    """``BatchJournal`` in one SQLite file.

    Settings, chosen so that the file alone is the whole journal after a crash (it can be
    copied, moved or backed up without side files):

    - ``journal_mode=DELETE``: a commit writes into the database file itself; the rollback
      side file exists only while a transaction is being written. (WAL would keep recent
      commits in a ``-wal`` file that a copy of the main file silently lacks.)
    - ``synchronous=OFF``: a commit is in the operating system's hands before the next row
      is sent, which survives the process dying in any way (Ctrl+C, ``kill -9``, out of
      memory); fsync per group would cost about 12 µs of CPU per row and stall the event
      loop for milliseconds per commit. A power cut or kernel crash can then leave a
      damaged file: an existing journal is checked (``PRAGMA quick_check``) when opened,
      and a damaged one is refused, never silently resumed. (WAL with ``NORMAL``, the
      usual cheap choice, would instead silently lose the last commits, and a copy of the
      main file alone lacks everything since the last checkpoint.)
    - ``locking_mode=EXCLUSIVE``: one run at a time; a second process on the same journal
      gets ``JournalError`` instead of interleaving, and so does one starting over
      (``start_over``, ``--restart``) while a run holds it.

    Not thread-safe: use it from one thread (the event loop's).
    """

    PRAGMAS: tuple[str, ...] = (
        "locking_mode=EXCLUSIVE",
        "journal_mode=DELETE",
        "synchronous=OFF",
    )

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._after = 0  # rows up to here were claimed in this run
        before = _file_id(self.path)
        existed = before is not None
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from None
        try:
            opened = _file_id(self.path)
            if not existed:
                os.chmod(self.path, 0o600)
            for pragma in self.PRAGMAS:
                self._db.execute(f"PRAGMA {pragma}")
            with self._transaction():  # takes the exclusive lock now, not at the first write
                # The lock belongs to the file opened, not to the name: a run that started
                # over (--restart) may have replaced the file since. Locked, the file must
                # still be the one at the path, else another run has the journal.
                if (existed and opened != before) or _file_id(self.path) != opened:
                    raise sqlite3.OperationalError("locked: replaced by another run")
                if existed and self._db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("damaged: PRAGMA quick_check failed")
                for statement in _SCHEMA:
                    self._db.execute(statement)
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise JournalError(
                    f"the journal {self.path} is in use by another run (wait for it to end)"
                ) from None
            raise JournalError(
                f"the journal {self.path} is unusable ({exc}); pass --restart to start over"
            ) from None
        except (sqlite3.DatabaseError, OSError) as exc:
            self._db.close()
            raise JournalError(
                f"the journal {self.path} is corrupt or not a journal ({exc}), so which orders"
                " were sent is unknown; pass --restart to start over"
            ) from None

    # -- identity -------------------------------------------------------------------------

    def bind(self, identity: Mapping[str, str]) -> bool:
        stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        stored.pop(_REGISTERED, None)
        if not stored:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", sorted(identity.items())
                )
            return False
        if stored != dict(identity):
            differing = sorted(
                k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k)
            )
            raise JournalError(
                f"the journal {self.path} belongs to another run (it differs in: "
                f"{', '.join(differing)}); use another --journal, or pass --restart to start over"
            )
        return True

    def is_empty(self) -> bool:
        """No identity and no rows: a file that holds nothing (e.g. truncated)."""
        meta = self._db.execute("SELECT COUNT(*) FROM meta").fetchone()[0]
        rows = self._db.execute("SELECT COUNT(*) FROM rows").fetchone()[0]
        return bool(meta == 0 and rows == 0)

    # -- rows -----------------------------------------------------------------------------

    def first_rows(self, trade_nos: Iterable[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        wanted = list(trade_nos)
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            query = f"SELECT trade_no, row FROM rows WHERE trade_no IN ({marks})"
            found.update(self._db.execute(query, part).fetchall())
        return found

    def register(self, entries: Iterable[Entry]) -> None:
        pending: list[tuple[int, str | None]] = []
        done: list[tuple[int, str | None, str, str | None]] = []
        for row, trade_no, result in entries:
            if result is None:
                pending.append((row, trade_no))
            else:
                done.append((row, trade_no, str(result["outcome"]), _dump(result)))
        # Constants in the statement, not parameters: a bound None or state costs per row.
        with self._transaction():
            self._db.executemany(
                f"INSERT OR IGNORE INTO rows (row, trade_no, state) VALUES (?, ?, '{PENDING}')",
                pending,
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO rows (row, trade_no, state, outcome, result)"
                f" VALUES (?, ?, '{DONE}', ?, ?)",
                done,
            )

    def mark_registered(self) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, 'yes')", (_REGISTERED,)
            )

    def registered(self) -> bool:
        found = self._db.execute("SELECT 1 FROM meta WHERE key = ?", (_REGISTERED,)).fetchone()
        return found is not None

    def claim_next(
        self, limit: int, finished: Iterable[tuple[int, Mapping[str, Any]]] = ()
    ) -> list[Claim]:
        with self._transaction():
            self._record(finished)
            found = self._db.execute(
                "SELECT row, trade_no, state FROM rows WHERE row > ? AND state != 'done'"
                " AND trade_no IS NOT NULL ORDER BY row LIMIT ?",
                (self._after, limit),
            ).fetchall()
            if not found:
                return []
            claims = [Claim(row, trade_no, state == IN_FLIGHT) for row, trade_no, state in found]
            self._db.execute(
                "UPDATE rows SET state = 'in_flight', attempts = attempts + 1"
                " WHERE row > ? AND row <= ? AND state != 'done' AND trade_no IS NOT NULL",
                (self._after, claims[-1].row),
            )
        self._after = claims[-1].row
        return claims

    def record(self, results: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        with self._transaction():
            self._record(results)

    def _record(self, results: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        self._db.executemany(
            "UPDATE rows SET state = 'done', outcome = ?, result = ? WHERE row = ?",
            ((str(result["outcome"]), _dump(result), row) for row, result in results),
        )

    def retry(self, outcomes: Mapping[str, str]) -> int:
        changed = 0
        with self._transaction():
            for outcome, state in outcomes.items():
                changed += self._db.execute(
                    "UPDATE rows SET state = ?, outcome = NULL, result = NULL"
                    " WHERE state = 'done' AND outcome = ? AND trade_no IS NOT NULL",
                    (state, outcome),
                ).rowcount
        return changed

    def held_elsewhere(self) -> float | None:
        return None  # one run at a time: nothing is held elsewhere

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state").fetchall())

    def export(self) -> Iterator[tuple[str, str]]:
        cursor = self._db.execute(
            "SELECT outcome, result FROM rows WHERE state = 'done' ORDER BY row"
        )
        yield from cursor

    def close(self) -> None:
        self._db.close()

    def discard(self) -> None:
        """Delete the journal (its input was refused, nothing was sent), then close. The
        file goes while this run still holds it, so no other run can take it up meanwhile."""
        try:
            remove_journal(self.path)
        except PermissionError:  # pragma: no cover - Windows: not while it is open
            self._db.close()
            remove_journal(self.path)
            return
        self._db.close()

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


#: The default journal (the name earlier versions used).
Journal = SqliteJournal


def remove_journal(path: Path) -> None:
    """Delete a journal and any side file SQLite may have left. Only safe while no other
    run can hold it: ``start_over`` for ``--restart``."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def start_over(path: str | os.PathLike[str]) -> SqliteJournal:
    """A new, empty journal at ``path`` in place of any there (``--restart``), or
    ``JournalError`` with nothing removed while another run holds that one.

    SQLite's lock belongs to the open file, not to its name: deleting the journal of a run
    still going and creating a new one would give two runs two journals. So the old file is
    locked first, as SQLite locks it (whatever it holds: a damaged file too), and deleted
    only while locked; a run that opened it meanwhile then finds it replaced and stops.
    """
    path = Path(path)
    held = _lock_file(path)
    try:
        remove_journal(path)
        return SqliteJournal(path)
    finally:
        if held is not None:
            os.close(held)


# SQLite's lock bytes on POSIX (its os_unix.c): PENDING_BYTE at 1 GiB, then RESERVED_BYTE and
# the 510 shared bytes. A write lock on all of them is SQLite's EXCLUSIVE lock.
_LOCK_START, _LOCK_LENGTH = 0x40000000, 512


def _lock_file(path: Path) -> int | None:
    """Lock the journal file at ``path`` as an exclusive SQLite lock does; its descriptor
    (closing it lets go), None if there is no file (or no POSIX locks: Windows refuses to
    delete a file another process has open, which protects it as well)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, _LOCK_LENGTH, _LOCK_START)
            locked = True
        except OSError:  # EAGAIN or EACCES: a run holds it
            locked = False
        if not locked or _file_id(path) != _fd_id(fd):  # replaced meanwhile: another run's
            raise JournalError(
                f"the journal {path} is in use by another run (wait for it to end)"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def _file_id(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` names now (device, inode), None if none."""
    with contextlib.suppress(FileNotFoundError):
        found = os.stat(path)
        return found.st_dev, found.st_ino
    return None


def _fd_id(fd: int) -> tuple[int, int]:
    found = os.fstat(fd)
    return found.st_dev, found.st_ino


# Built once: json.dumps with options builds an encoder per call. ASCII escapes: a lone
# surrogate from a broken input row cannot break the store or the results file.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def _dump(result: Mapping[str, Any] | None) -> str | None:
    if result is None:
        return None
    # The usual line is flat: text keys, plain str and int values. Written directly, it is
    # the encoder's exact output when no character needed an escape (ASCII, printable, no
    # quote or backslash inside a string: the quote count tells); anything else is encoded.
    pieces = []
    quotes = 2 * len(result)
    for key, value in result.items():
        kind = type(value)
        if type(key) is not str:
            return _encode(result)
        if kind is str:
            pieces.append(f'"{key}":"{value}"')
            quotes += 2
        elif kind is int:
            pieces.append(f'"{key}":{value}')
        else:
            return _encode(result)
    text = "{" + ",".join(pieces) + "}"
    if text.isascii() and text.isprintable() and "\\" not in text and text.count('"') == quotes:
        return text
    return _encode(result)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _check(journal: SqliteJournal) -> BatchJournal:  # mypy: the class meets the protocol
    return journal

