"""Batches that several workers drive together through one PostgreSQL journal: a worker
SIGKILLed mid-run, its rows taken over after their lease; workers racing to register; a
second input refused; the journal's claim rules on their own."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from vexora_async.journal import Claim, Entry, JournalError
from vexora_async.journal_postgres import PostgresJournal, schema_sql
from vexora_async.sandbox import SandboxThread

from .servers import PostgresServer
from .test_cli_batch import MERCHANT, _batch, _env, _results, _row, _write_csv


def _fetch(dsn: str, query: str, *args: Any) -> list[Any]:
    async def go() -> list[Any]:
        import asyncpg

        connection = await asyncpg.connect(dsn)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    return asyncio.run(go())


def _check_results(out: Path, rows: list[dict[str, Any]], sandbox: SandboxThread) -> None:
    results = _results(out)
    assert [line["row"] for line in results] == list(range(2, len(rows) + 2))  # one per row
    assert [line["tradeNo"] for line in results] == [r["trade_no"] for r in rows]
    assert {line["outcome"] for line in results} <= {"created", "exists"}
    by_trade = {o.trade_no: o.platform_trade_no for o in sandbox.ledger.orders(MERCHANT)}
    assert all(line["platFormTradeNo"] == by_trade[line["tradeNo"]] for line in results)


def test_three_workers_one_killed_every_order_once(
    postgres_server: PostgresServer, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    total = 3000
    rows = [_row(i, "PG") for i in range(total)]
    source = tmp_path / "orders.csv"
    _write_csv(source, rows)
    table = "show_it"
    outs = [tmp_path / f"results{n}.jsonl" for n in range(3)]
    shared = ["--journal", postgres_server.dsn, "--journal-table", table, "--lease", "2"]
    workers = [
        subprocess.Popen(
            _batch([str(source), "--out", str(out), *shared, "--concurrency", "16",
                    "--progress", "lines"]),
            env=_env(vexora_sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    victim = workers[0]
    assert victim.stdout is not None
    for line in victim.stdout:  # it is sending (so it holds claims): kill it mid-row
        if line.startswith("progress ") and int(line.split()[1].split("/")[0]) >= 300:
            break
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert len(vexora_sandbox.ledger.orders(MERCHANT)) < total  # it really was mid-run

    for worker in workers[1:]:
        _, err = worker.communicate(timeout=90)
        assert worker.returncode in (0, 1), err

    # Against the gateway's own ledger: every row's order exists, exactly once.
    stored = vexora_sandbox.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows)
    # Each surviving worker wrote the whole results file: one line per row, truthful.
    for out in outs[1:]:
        _check_results(out, rows, vexora_sandbox)
    assert not outs[0].exists()
    # The killed worker's claims were taken over (claimed a second time, as maybe sent),
    # and every row was settled by a live worker.
    victim_rows = _fetch(
        postgres_server.dsn,
        f"SELECT row, state, claimed_by FROM {table}_rows WHERE attempts > 1",
    )
    assert victim_rows, "no row of the killed worker was re-driven"
    assert all(r["state"] == "done" for r in victim_rows)
    assert not any(f":{victim.pid}:" in r["claimed_by"] for r in victim_rows)
    states = _fetch(postgres_server.dsn, f"SELECT state, count(*) FROM {table}_rows GROUP BY 1")
    assert [tuple(r) for r in states] == [("done", total)]


def test_workers_racing_to_register_share_one_journal_and_refuse_another_input(
    postgres_server: PostgresServer, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "PR") for i in range(400)]
    source = tmp_path / "orders.csv"
    _write_csv(source, rows)
    journal = ["--journal", postgres_server.dsn, "--journal-table", "race", "--lease", "5"]
    racers = [
        subprocess.Popen(
            _batch([str(source), "--out", str(tmp_path / f"r{n}.jsonl"), *journal,
                    "--progress", "none"]),
            env=_env(vexora_sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for racer in racers:
        _, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err
    stored = vexora_sandbox.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows)
    assert all(vexora_sandbox.ledger.checkout_requests(o.trade_no, MERCHANT) == 1 for o in stored)
    for n in range(3):
        _check_results(tmp_path / f"r{n}.jsonl", rows, vexora_sandbox)

    other = tmp_path / "other.csv"
    _write_csv(other, [_row(i, "PX") for i in range(5)])
    refused = subprocess.run(
        _batch([str(other), "--out", str(tmp_path / "x.jsonl"), *journal]),
        env=_env(vexora_sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 4
    assert "belongs to another batch" in refused.stderr and "input_sha256" in refused.stderr
    assert postgres_server.dsn not in refused.stderr + refused.stdout
    assert len(vexora_sandbox.ledger.orders(MERCHANT)) == len(rows)  # nothing sent


async def _die(journal: PostgresJournal) -> None:
    """What SIGKILL does to a worker's journal: renewals stop, connections drop."""
    assert journal._beat is not None
    journal._beat.cancel()
    journal._db.terminate()


def test_a_claim_is_one_workers_until_its_lease_runs_out(postgres_server: PostgresServer) -> None:
    first = PostgresJournal(postgres_server.dsn, table="claims", lease=1)
    second = PostgresJournal(postgres_server.dsn, table="claims", lease=1)
    try:
        assert first.bind({"input_sha256": "a"}) is False
        assert first.registered() is False
        first.register([Entry(1, "T1"), Entry(2, "T2"), Entry(3, None, {"outcome": "invalid"})])
        first.mark_registered()
        assert second.bind({"input_sha256": "a"}) is True and second.registered()
        third = PostgresJournal(postgres_server.dsn, table="claims")
        with pytest.raises(JournalError, match="another batch"), third:
            third.bind({"input_sha256": "b"})

        claims = first.claim_next(1)
        assert [(c.row, c.maybe_sent) for c in claims] == [(1, False)]
        assert [(c.row, c.maybe_sent) for c in second.claim_next(5)] == [(2, False)]
        time.sleep(1.5)  # past the lease: the first worker, alive, has renewed it
        assert second.claim_next(5) == []  # row 1 is still the first worker's
        assert second.held_elsewhere() is not None

        # The first worker stops renewing (as if killed): after its lease, row 1 is the
        # second's, as maybe sent, and the first can no longer record it.
        first._call(_die(first))
        time.sleep(1.2)  # the lease itself is what is tested
        taken = second.claim_next(5)
        assert [(c.row, c.trade_no, c.maybe_sent) for c in taken] == [(1, "T1", True)]
        second.record([(1, {"outcome": "exists"}), (2, {"outcome": "created"})])
        assert second.held_elsewhere() is None
        assert [json.loads(text)["outcome"] for _, text in second.export()] == [
            "exists", "created", "invalid"
        ]  # fmt: skip
    finally:
        second.close()
        first._stop_loop()


@pytest.mark.parametrize("seed", [1, 2])
def test_a_worker_killed_at_a_random_moment_is_finished_by_others(
    seed: int, postgres_server: PostgresServer, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    """SIGKILL one worker at a random moment (binding, registering, sending, writing), with
    another already racing it: a third started afterwards and the second finish the batch,
    every order exactly once and one result per row."""
    import random

    rows = [_row(i, f"PK{seed}") for i in range(2000)]
    source = tmp_path / "orders.csv"
    _write_csv(source, rows)
    shared = ["--journal", postgres_server.dsn, "--journal-table", f"kill{seed}", "--lease", "2"]

    def worker(n: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            _batch([str(source), "--out", str(tmp_path / f"r{n}.jsonl"), *shared,
                    "--progress", "none", "--concurrency", "16"]),
            env=_env(vexora_sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    victim, racer = worker(0), worker(1)
    delay = random.Random(seed).uniform(0.3, 2.0)
    time.sleep(delay)  # not waiting for anything: the moment itself is the test's input
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    late = worker(2)
    for survivor in (racer, late):
        _, err = survivor.communicate(timeout=90)
        assert survivor.returncode in (0, 1), (delay, err)
    stored = vexora_sandbox.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows), delay
    for n in (1, 2):
        _check_results(tmp_path / f"r{n}.jsonl", rows, vexora_sandbox)


def test_invalid_input_is_refused_by_every_worker_and_leaves_no_journal(
    postgres_server: PostgresServer, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "PB") for i in range(4)]
    rows[2]["mobile"] = "12345"
    source = tmp_path / "orders.csv"
    _write_csv(source, rows)
    shared = ["--journal", postgres_server.dsn, "--journal-table", "bad"]
    workers = [
        subprocess.Popen(
            _batch([str(source), "--out", str(tmp_path / f"r{n}.jsonl"), *shared]),
            env=_env(vexora_sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 3, err
        assert out.splitlines() == ["row 4: mobile: mobile_format (08 or 628, 10 to 13 digits)"]
    assert vexora_sandbox.ledger.requests() == []
    assert _fetch(postgres_server.dsn, "SELECT count(*) FROM bad_rows")[0][0] == 0
    assert _fetch(postgres_server.dsn, "SELECT count(*) FROM bad_meta")[0][0] == 0


def test_the_readme_shows_the_tables_the_journal_creates() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### Batches on many machines", 1)[1].split("\n## ", 1)[0]
    [sql] = [block[4:] for block in section.split("```")[1::2] if block.startswith("sql\n")]
    assert sql.strip() == schema_sql().strip() == schema_sql("vexora_batch").strip()


def test_a_worker_that_closes_lets_go_of_its_claims_at_once(
    postgres_server: PostgresServer,
) -> None:
    with PostgresJournal(postgres_server.dsn, table="let_go", lease=600) as second:
        with PostgresJournal(postgres_server.dsn, table="let_go", lease=600) as first:
            first.bind({"input_sha256": "a"})
            first.register([Entry(1, "T1"), Entry(2, "T2")])
            first.mark_registered()
            second.bind({"input_sha256": "a"})
            assert second.registered()
            assert [c.row for c in first.claim_next(2)] == [1, 2]
            first.record([(2, {"outcome": "created"})])
            assert second.claim_next(2) == []
        # Closed (as after Ctrl+C) with row 1 unfinished: claimable now, as maybe sent,
        # long before its 600 s lease.
        assert second.claim_next(2) == [Claim(1, "T1", True)]
        assert second.counts() == {"in_flight": 1, "done": 1}


def test_a_role_with_only_the_documented_grants_can_run_a_batch(
    postgres_server: PostgresServer,
) -> None:
    async def prepare() -> None:
        import asyncpg

        admin = await asyncpg.connect(postgres_server.dsn)
        try:
            await admin.execute("CREATE ROLE limited LOGIN")
            await admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            await admin.execute(schema_sql("granted"))
            await admin.execute(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON granted_meta, granted_rows TO limited"
            )
        finally:
            await admin.close()

    asyncio.run(prepare())
    dsn = postgres_server.dsn_for("limited")
    with pytest.raises(JournalError, match="permission denied"):
        PostgresJournal(dsn, table="not_created")  # may not create tables: said so, clearly
    with PostgresJournal(dsn, table="granted", lease=5) as journal:
        assert journal.bind({"input_sha256": "a"}) is False and not journal.registered()
        journal.register([Entry(1, "T1")])
        journal.mark_registered()
        assert journal.claim_next(5) == [Claim(1, "T1", False)]
        journal.record([(1, {"outcome": "created"})])
        assert journal.held_elsewhere() is None
        assert [outcome for outcome, _ in journal.export()] == ["created"]
        journal.discard()


def test_a_worker_stopped_with_ctrl_c_hands_its_rows_over_at_once(
    postgres_server: PostgresServer, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "PI") for i in range(2000)]
    source = tmp_path / "orders.csv"
    _write_csv(source, rows)
    # A lease far longer than the test may take: only letting go makes the others finish.
    shared = ["--journal", postgres_server.dsn, "--journal-table", "ctrl_c", "--lease", "600"]

    def worker(n: int, concurrency: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            _batch([str(source), "--out", str(tmp_path / f"r{n}.jsonl"), *shared,
                    "--progress", "lines", "--concurrency", str(concurrency)]),
            env=_env(vexora_sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # One row at a time from a group of 16 claimed: most of its claims are not sent yet.
    stopped, other = worker(0, 1), worker(1, 16)
    assert stopped.stdout is not None
    for line in stopped.stdout:
        if line.startswith("progress ") and int(line.split()[1].split("/")[0]) >= 100:
            break
    held = "SELECT count(*) FROM ctrl_c_rows WHERE state = 'in_flight' AND claimed_by LIKE $1"
    for _ in range(1000):  # stop it while it holds several rows (a group is 16 rows)
        if _fetch(postgres_server.dsn, held, f"%:{stopped.pid}:%")[0][0] >= 8:
            break
    else:
        pytest.fail("the worker never held 8 rows at once")
    stopped.send_signal(signal.SIGINT)
    _, err = stopped.communicate(timeout=30)
    assert stopped.returncode == 130, err
    _, err = other.communicate(timeout=60)
    assert other.returncode in (0, 1), err
    stored = vexora_sandbox.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows)
    _check_results(tmp_path / "r1.jsonl", rows, vexora_sandbox)
    # Whatever it still held when it stopped was let go at once: the other worker finished
    # every row within its 60 s, against a 600 s lease, and nothing is left in flight. (It held
    # at least 8 rows just before the signal; how many it finished in its 0.5 s of grace
    # depends on timing, so how many were claimed twice is not asserted.)
    left = "SELECT count(*) FROM ctrl_c_rows WHERE state <> 'done'"
    assert _fetch(postgres_server.dsn, left)[0][0] == 0


def test_restart_is_refused_while_a_worker_runs_on_the_shared_journal(
    postgres_server: PostgresServer, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    # The PostgreSQL counterpart of the file journal's --restart race: a worker is under way
    # (SIGSTOPped mid-run); `--restart` on its journal is refused (exit 4) before anything is
    # sent or emptied, and the worker then finishes every row.
    rows = [_row(i, "PT") for i in range(30)]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    journal = ["--journal", postgres_server.dsn, "--journal-table", "restart_race"]
    worker = subprocess.Popen(
        _batch([str(source), "--out", str(out), *journal, "--concurrency", "1", "--rate", "30",
                "--progress", "none"]),
        env=_env(vexora_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not vexora_sandbox.ledger.orders(MERCHANT) and time.monotonic() < deadline:
            time.sleep(0.005)
        worker.send_signal(signal.SIGSTOP)
        assert worker.poll() is None and vexora_sandbox.ledger.orders(MERCHANT)
        count = "SELECT count(*) FROM restart_race_rows"
        before = _fetch(postgres_server.dsn, count)[0][0]
        sent = len(vexora_sandbox.ledger.requests())
        refused = subprocess.run(
            _batch([str(source), "--out", str(out), *journal, "--restart", "--progress", "none"]),
            env=_env(vexora_sandbox), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 4, refused.stderr
        assert "--restart cannot discard a shared journal" in refused.stderr
        assert len(vexora_sandbox.ledger.requests()) == sent and not out.exists()
        assert _fetch(postgres_server.dsn, count)[0][0] == before == len(rows)
    finally:
        worker.send_signal(signal.SIGCONT)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    _check_results(out, rows, vexora_sandbox)
