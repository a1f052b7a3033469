"""SqliteJournal, through the BatchJournal interface the batch command uses."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from vexora_async.journal import (
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

ID = {"input_sha256": "abc", "merchant_no": "1"}


def _result(row: int, outcome: str = "created") -> dict[str, object]:
    return {"row": row, "tradeNo": f"T{row}", "outcome": outcome}


def _journal(path: Path) -> BatchJournal:
    journal = SqliteJournal(path)
    assert journal.bind(ID) is False
    journal.register([Entry(2, "T2"), Entry(3, None, _result(3, "invalid")), Entry(4, "T4"),
                      Entry(5, "T5")])  # fmt: skip
    journal.mark_registered()
    return journal


def test_rows_are_claimed_in_order_once_and_recorded_with_the_next_claim(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "j")
    assert journal.first_rows(["T4", "T9"]) == {"T4": 4}
    assert journal.claim_next(2) == [Claim(2, "T2", False), Claim(4, "T4", False)]
    assert journal.counts() == {IN_FLIGHT: 2, DONE: 1, PENDING: 1}
    assert journal.claim_next(2, finished=[(2, _result(2))]) == [Claim(5, "T5", False)]
    assert journal.claim_next(2) == []  # nothing is claimed twice in one run
    journal.record([(4, _result(4, "not_sent")), (5, _result(5, "unknown"))])
    assert [outcome for outcome, _ in journal.export()] == [
        "created", "invalid", "not_sent", "unknown",
    ]  # fmt: skip
    journal.close()


def test_a_resumed_journal_re_drives_what_was_in_flight_as_maybe_sent(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "j")
    journal.claim_next(2)  # rows 2 and 4 in flight, then the process dies
    journal.close()
    again = SqliteJournal(tmp_path / "j")
    assert again.bind(ID) is True and again.registered()
    assert again.claim_next(10) == [Claim(2, "T2", True), Claim(4, "T4", True),
                                    Claim(5, "T5", False)]  # fmt: skip
    again.record([(2, _result(2, "not_sent")), (4, _result(4, "unknown")), (5, _result(5))])
    assert again.retry({"not_sent": PENDING, "unknown": IN_FLIGHT}) == 2
    again.close()
    third = SqliteJournal(tmp_path / "j")
    third.bind(ID)
    assert third.claim_next(10) == [Claim(2, "T2", False), Claim(4, "T4", True)]
    third.close()


def test_another_runs_journal_and_a_damaged_one_are_refused(tmp_path: Path) -> None:
    _journal(tmp_path / "j").close()
    other = SqliteJournal(tmp_path / "j")
    with pytest.raises(JournalError, match=r"another run .*input_sha256"):
        other.bind({**ID, "input_sha256": "def"})
    other.close()
    (tmp_path / "bad").write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    with pytest.raises(JournalError, match="corrupt"):
        SqliteJournal(tmp_path / "bad")


def test_a_copy_of_the_main_file_alone_holds_every_commit(tmp_path: Path) -> None:
    """What a crash leaves: the process is gone, the journal was never closed. A copy of
    the one file (no side file) has every committed claim and result."""
    import shutil

    journal = _journal(tmp_path / "j")
    journal.claim_next(2, finished=[])
    journal.record([(2, _result(2))])
    shutil.copy(tmp_path / "j", tmp_path / "copy")  # still open: as after kill -9
    with pytest.raises(JournalError, match="in use"):  # one run at a time
        SqliteJournal(tmp_path / "j")
    journal.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "j"]  # none left behind
    copy = sqlite3.connect(tmp_path / "copy")
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    states = dict(copy.execute("SELECT row, state FROM rows").fetchall())
    assert states == {2: DONE, 3: DONE, 4: IN_FLIGHT, 5: PENDING}
    copy.close()


def test_a_journal_replaced_while_it_was_being_opened_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite locks the file it opened, not the name. A run that opened the journal just
    # before another started over (--restart: a new file at the path) must not carry on
    # with the deleted file: it finds the path names another file and stops.
    path = tmp_path / "j"
    _journal(path).close()
    replacement = tmp_path / "new"
    SqliteJournal(replacement).close()
    connect = sqlite3.connect

    def connect_then_replaced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        os.replace(replacement, path)  # the other run's start over, in between
        return db

    monkeypatch.setattr(sqlite3, "connect", connect_then_replaced)
    with pytest.raises(JournalError, match="in use by another run"):
        SqliteJournal(path)


def test_start_over_replaces_even_a_damaged_journal(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(b"this is not SQLite" * 100)
    Path(str(path) + "-journal").write_bytes(b"a hot journal of the old file")
    journal = start_over(path)
    try:
        assert journal.is_empty() and journal.bind(ID) is False
        assert b"hot journal" not in Path(str(path) + "-journal").read_bytes()  # gone too
    finally:
        journal.close()
