"""A crash-safe record of a batch run (SQLite), so a killed run can be resumed.

Each input row moves ``pending -> in_flight -> done``. A row is marked in flight (and
committed) *before* its request is sent, and its result is committed as soon as it is known,
so after any crash, SIGKILL included:

- ``done`` rows are never sent again;
- ``in_flight`` rows may or may not have reached the gateway: they are re-driven with the
  same ``tradeNo`` and ``maybe_sent=True`` (a rejection is then checked with a query);
- ``pending`` rows were never sent.

The journal holds trade numbers, outcomes, links and gateway codes, never payer data: the
input file is read again on resume.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = ["DONE", "IN_FLIGHT", "PENDING", "Journal"]

PENDING = "pending"
IN_FLIGHT = "in_flight"
DONE = "done"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    row INTEGER PRIMARY KEY,
    trade_no TEXT UNIQUE,  -- NULL for rows too broken to have one
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT
);
"""


class Journal:
    """One batch run's state. Not thread-safe: use it from one thread (the event loop's)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        existed = self.path.exists()
        self._db = sqlite3.connect(self.path, isolation_level=None)
        if not existed:
            os.chmod(self.path, 0o600)
        # WAL with synchronous=NORMAL: a commit survives the process being killed (the
        # failure this journal is for) without an fsync per row.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # -- identity -------------------------------------------------------------------------

    def bind(self, identity: Mapping[str, str]) -> bool:
        """Tie the journal to one input and account; False if it was new, True if resumed.

        A journal made for another input or merchant is refused rather than mixed up.
        """
        stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
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
            raise ConfigurationError(
                f"journal {self.path} belongs to another run (differs in: {', '.join(differing)});"
                " use another --journal or delete it"
            )
        return True

    # -- rows -----------------------------------------------------------------------------

    def add_rows(self, rows: Iterable[tuple[int, str | None]]) -> None:
        """Register (row, trade_no) pairs as pending; rows already known are left as they are."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO rows (row, trade_no, state) VALUES (?, ?, 'pending')", rows
            )

    def states(self) -> dict[int, str]:
        return dict(self._db.execute("SELECT row, state FROM rows").fetchall())

    def start(self, row: int) -> None:
        """Mark ``row`` in flight; committed before the request may leave."""
        self._db.execute(
            "UPDATE rows SET state = 'in_flight', attempts = attempts + 1 WHERE row = ?", (row,)
        )

    def finish(self, row: int, result: Mapping[str, Any]) -> None:
        """Record ``row``'s result (JSON-ready, no payer data) and mark it done."""
        self._db.execute(
            "UPDATE rows SET state = 'done', result = ? WHERE row = ?",
            (json.dumps(result, separators=(",", ":")), row),
        )

    def results(self) -> Iterator[dict[str, Any]]:
        """Every done row's result, in row order."""
        cursor = self._db.execute("SELECT result FROM rows WHERE state = 'done' ORDER BY row")
        for (text,) in cursor:
            value: dict[str, Any] = json.loads(text)
            yield value

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state").fetchall())

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
