"""`vexora-async payouts` and `vexora-async balance` against the sandbox: a killed run (SIGKILL
or one Ctrl+C) resumes without paying anything twice or dropping a row; invalid rows are all
reported and nothing is sent; a repeated trade number is never paid; --skip-invalid; an
insufficient balance; a journal of payment links is never resumed as payouts (or the
reverse); the balance command."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from vexora_async.cli import main
from vexora_async.sandbox import SandboxThread

MERCHANT, SECRET = "0000000001", "TESTSECRET"
FIELDS = [
    "trade_no", "amount", "customer_name", "mobile", "email", "bank_account_no", "bank_code",
    "notify_url",
]  # fmt: skip


def _row(i: int, run: str) -> dict[str, Any]:
    return {
        "trade_no": f"PO{run}{i:06d}",
        "amount": str(10000 + i),
        "customer_name": "Jack",
        "mobile": "081234567890",
        "email": "jack@example.com",
        "bank_account_no": "5464438554636",
        "bank_code": "0002",
        "notify_url": "http://127.0.0.1:9/payouts",
    }


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _env(sandbox: SandboxThread) -> dict[str, str]:
    return {
        **os.environ,
        "VEXORA_MERCHANT_NO": MERCHANT,
        "VEXORA_SECRET": SECRET,
        "VEXORA_BASE_URL": sandbox.base_url,
        "VEXORA_REGION": "IDR",
    }


def _results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _account(sandbox: SandboxThread) -> list[str]:
    return ["--merchant-no", MERCHANT, "--secret", SECRET, "--base-url", sandbox.base_url]


def test_a_killed_payout_run_resumes_without_paying_twice(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    total = 2000
    rows = [_row(i, "K") for i in range(total)]
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, sum(Decimal(r["amount"]) for r in rows))
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    command = [
        sys.executable, "-m", "vexora_async.cli", "payouts", str(source), "--out", str(out),
        "--progress", "lines", "--concurrency", "16",
    ]  # fmt: skip
    first = subprocess.Popen(
        command, env=_env(vexora_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert first.stdout is not None
    for line in first.stdout:
        if line.startswith("progress ") and int(line.split()[1].split("/")[0]) >= 600:
            break
    first.send_signal(signal.SIGKILL)
    first.wait()
    payouts = vexora_sandbox.sandbox.payouts.ledger
    assert 600 <= len(payouts.orders(MERCHANT)) < total  # it really stopped part-way

    second = subprocess.run(
        command, env=_env(vexora_sandbox), capture_output=True, text=True, timeout=300
    )
    assert "resuming" in second.stdout, second.stderr
    stored = payouts.orders(MERCHANT)
    # Every row paid out exactly once: one payout per trade number, none missing.
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows)
    results = _results(out)
    assert [line["row"] for line in results] == list(range(2, total + 2))  # header is row 1
    assert [line["tradeNo"] for line in results] == [r["trade_no"] for r in rows]
    outcomes = [line["outcome"] for line in results]
    assert set(outcomes) <= {"created", "exists"}
    # Only rows in flight (16) or finished but not yet committed (at most two claim groups
    # of 16) can have lost their answer; "exists" still names the payout.
    assert outcomes.count("exists") <= 16 + 2 * 16
    by_trade = {o.trade_no: o.platform_trade_no for o in stored}
    assert all(line["platFormTradeNo"] == by_trade[line["tradeNo"]] for line in results)
    assert second.returncode == (1 if "exists" in outcomes else 0), second.stderr
    for line in results:  # no recipient data in the file the SDK writes
        text = json.dumps(line)
        assert "5464438554636" not in text and "jack@" not in text and "Jack" not in text


_NOISE = ("Exception ignored", "Traceback", "Task was destroyed", "never awaited", "Unclosed")


def test_one_ctrl_c_stops_the_payouts_and_the_next_run_resumes(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    total = 2000
    rows = [_row(i, "I") for i in range(total)]
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, sum(Decimal(r["amount"]) for r in rows))
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    command = [
        sys.executable, "-X", "dev", "-m", "vexora_async", "payouts", str(source), "--out",
        str(out), "--progress", "lines", "--concurrency", "16",
    ]  # fmt: skip
    first = subprocess.Popen(
        command, env=_env(vexora_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert first.stdout is not None
    for line in first.stdout:  # wait for real progress, then one Ctrl+C
        if line.startswith("progress ") and int(line.split()[1].split("/")[0]) >= 300:
            break
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=20)  # generous: a hang fails here, no clock asserted
    assert first.returncode == 130, stderr
    assert "stopping (finishing the payouts in flight" in stderr
    assert "run the same command again to resume" in stderr
    assert not any(noise in stderr for noise in _NOISE), stderr
    assert not out.exists()
    payouts = vexora_sandbox.sandbox.payouts.ledger
    assert 300 <= len(payouts.orders(MERCHANT)) < total

    second = subprocess.run(
        command, env=_env(vexora_sandbox), capture_output=True, text=True, timeout=300
    )
    assert "resuming" in second.stdout, second.stderr
    assert not any(noise in second.stderr for noise in _NOISE), second.stderr
    stored = payouts.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows)  # once each
    results = _results(out)
    assert [line["row"] for line in results] == list(range(2, total + 2))
    outcomes = [line["outcome"] for line in results]
    assert set(outcomes) <= {"created", "exists"}
    assert second.returncode == (1 if "exists" in outcomes else 0), second.stderr


def test_bad_rows_are_all_reported_and_nothing_is_sent(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "B") for i in range(5)]
    rows[1]["bank_code"] = "02"
    rows[2]["customer_name"] = ""
    rows[3]["amount"] = "9999"
    rows[4]["trade_no"] = rows[0]["trade_no"]
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    code = main(["payouts", str(source), "--out", str(out), *_account(vexora_sandbox)])
    assert code == 3
    assert vexora_sandbox.ledger.requests() == [] and not out.exists()


def test_bad_rows_report(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [_row(i, "R") for i in range(3)]
    rows[1]["bank_code"] = "02"
    rows[1]["email"] = "no"
    source = tmp_path / "payouts.csv"
    _write_csv(source, rows)
    code = main(["payouts", str(source), "--out", str(tmp_path / "r"), *_account(vexora_sandbox)])
    assert code == 3
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "row 3: email: email_format (a valid address like name@example.com)",
        "row 3: bank_code: bank_code_format (4 digits from the bank list)",
    ]
    assert "1 of 3 rows is invalid; nothing was sent (fix it," in captured.err


def test_a_repeated_trade_no_is_invalid_and_never_paid_even_with_skip_invalid(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "D") for i in range(4)]
    rows[2] = {**rows[2], "trade_no": rows[0]["trade_no"], "amount": "77777"}
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, 1_000_000)
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    args = ["payouts", str(source), "--out", str(out), "--skip-invalid", "--progress", "none"]
    for _ in range(2):  # the rerun (a resume of a finished run) gives the same file
        assert main([*args, *_account(vexora_sandbox)]) == 1
        results = _results(out)
        assert [(r["row"], r["outcome"]) for r in results] == [
            (2, "created"), (3, "created"), (4, "invalid"), (5, "created"),
        ]  # fmt: skip
        assert results[2]["violations"] == [{"field": "trade_no", "rule": "duplicate_trade_no"}]
    payouts = vexora_sandbox.sandbox.payouts.ledger
    paid = payouts.order(rows[0]["trade_no"], MERCHANT)
    assert paid is not None and paid.amount == 10000  # the first row's, never the repeat's
    assert len(payouts.orders(MERCHANT)) == 3


def test_a_journal_of_one_kind_is_never_resumed_as_the_other(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, 1_000_000)
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    _write_csv(source, [_row(i, "J") for i in range(3)])
    common = [str(source), "--out", str(out), "--progress", "none", *_account(vexora_sandbox)]
    # The same file as payment links: every row invalid for checkout, nothing sent.
    assert main(["batch", *common, "--skip-invalid"]) == 1
    before = out.read_text()
    capsys.readouterr()
    assert main(["payouts", *common]) == 4
    err = capsys.readouterr().err
    assert "belongs to another run" in err and "kind" in err and "--restart" in err
    assert out.read_text() == before
    assert vexora_sandbox.sandbox.payouts.ledger.orders(MERCHANT) == []

    assert main(["payouts", *common, "--restart"]) == 0
    assert [r["outcome"] for r in _results(out)] == ["created"] * 3
    paid = out.read_text()
    capsys.readouterr()
    assert main(["batch", *common]) == 4  # and the reverse
    assert "kind" in capsys.readouterr().err
    assert out.read_text() == paid and vexora_sandbox.ledger.orders(MERCHANT) == []


def test_a_missing_journal_next_to_payout_results_stops_the_run_unless_restart(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, 1_000_000)
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    rows = [_row(i, "M") for i in range(3)]
    _write_csv(source, rows)
    args = ["payouts", str(source), "--out", str(out), "--progress", "none",
            *_account(vexora_sandbox)]  # fmt: skip
    assert main(args) == 0
    results = out.read_text()
    Path(str(out) + ".journal").unlink()
    capsys.readouterr()
    assert main(args) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--restart" in err and "Traceback" not in err
    assert out.read_text() == results
    # Started over: every payout exists already and is reported so, none paid twice.
    assert main([*args, "--restart"]) == 1
    assert [r["outcome"] for r in _results(out)] == ["exists"] * 3
    payouts = vexora_sandbox.sandbox.payouts.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in payouts) == [r["trade_no"] for r in rows]


def test_a_profile_without_payouts_is_exit_4_before_any_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import attrs

    from vexora_async.regions import registry

    collect_only = attrs.evolve(registry.get("IDR"), name="COLLECT_ONLY", payout=None)
    monkeypatch.setitem(registry._profiles, "COLLECT_ONLY", collect_only)  # removed after
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    _write_csv(source, [_row(0, "N")])
    code = main(["payouts", str(source), "--out", str(out), "--region", "COLLECT_ONLY",
                 "--merchant-no", MERCHANT, "--secret", SECRET, "--base-url",
                 "http://127.0.0.1:9"])  # fmt: skip
    assert code == 4
    assert "declares no payouts" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payouts.csv"]  # no journal, no file


def test_skip_invalid_and_insufficient_balance(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, 20001)  # enough for rows 1 and 3 only
    source, out = tmp_path / "payouts.jsonl", tmp_path / "results.jsonl"
    lines = [json.dumps(_row(i, "S")) for i in range(3)]
    lines.insert(1, "{not json")
    source.write_text("\n".join(lines) + "\n")
    code = main(
        ["payouts", str(source), "--out", str(out), "--skip-invalid", "--progress", "none",
         "--concurrency", "1", *_account(vexora_sandbox)]
    )  # fmt: skip
    assert code == 1
    results = _results(out)
    assert [(r["row"], r["outcome"]) for r in results] == [
        (1, "created"),
        (2, "invalid"),
        (3, "created"),
        (4, "rejected"),  # 10002 more than was left: refused, and confirmed absent
    ]
    assert results[3]["code"] == "8100"
    paid = vexora_sandbox.sandbox.payouts.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in paid) == ["POS000000", "POS000001"]


def test_balance_command(
    vexora_sandbox: SandboxThread, capsys: pytest.CaptureFixture[str]
) -> None:
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, "123456")
    assert main(["balance", "--json", *_account(vexora_sandbox)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {"available": "123456", "frozen": "0", "unsettled": "0"}
    assert main(["balance", *_account(vexora_sandbox)]) == 0
    assert "available  123456" in capsys.readouterr().out
    wrong = ["--merchant-no", MERCHANT, "--secret", "WRONG", "--base-url", vexora_sandbox.base_url]
    assert main(["balance", *wrong]) == 4


def test_restart_is_refused_while_another_run_holds_the_payout_journal(tmp_path: Path) -> None:
    # Another run holds the journal (SQLite's exclusive lock, as a run takes it). `payouts
    # --restart` must not delete it from under that run: exit 4, nothing removed or sent.
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    journal = Path(str(out) + ".journal")
    _write_csv(source, [_row(0, "H")])
    holder = sqlite3.connect(journal, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    held = journal.stat().st_ino
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vexora_async", "payouts", str(source), "--out", str(out),
             "--restart", "--progress", "none", "--merchant-no", MERCHANT, "--secret", SECRET,
             "--base-url", "http://127.0.0.1:9"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        holder.close()
    assert done.returncode == 4, done.stdout + done.stderr
    assert "in use by another run" in done.stderr and "Traceback" not in done.stderr
    assert journal.stat().st_ino == held and not out.exists()
