"""`vexora-async payouts` and `vexora-async balance` against the sandbox: a killed run
resumes without paying anything twice or dropping a row; invalid rows are all reported and
nothing is sent; --skip-invalid; an insufficient balance; the balance command."""

from __future__ import annotations

import csv
import json
import os
import signal
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
    assert [line["row"] for line in results] == list(range(1, total + 1))
    outcomes = [line["outcome"] for line in results]
    assert set(outcomes) <= {"created", "exists"}
    assert outcomes.count("exists") <= 16
    assert second.returncode == (1 if "exists" in outcomes else 0), second.stderr
    for line in results:  # no recipient data in the file the SDK writes
        text = json.dumps(line)
        assert "5464438554636" not in text and "jack@" not in text and "Jack" not in text


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
        "row 2: email: email_format (a valid address like name@example.com)",
        "row 2: bank_code: bank_code_format (4 digits from the bank list)",
    ]
    assert "1 of 3 rows are invalid; nothing was sent" in captured.err


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
