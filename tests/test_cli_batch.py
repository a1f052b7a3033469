"""The `vexora-async` commands against the sandbox: batch (with a SIGKILL mid-run and a
resume), invalid input, sign, verify-notify, query and demo."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vexora_async.cli import main
from vexora_async.sandbox import SandboxThread
from vexora_async.signing import sign

MERCHANT, SECRET = "0000000001", "TESTSECRET"
FIELDS = ["trade_no", "amount", "username", "mobile", "email", "notify_url", "remark"]


def _row(i: int, run: str) -> dict[str, Any]:
    return {
        "trade_no": f"CLI{run}{i:06d}",
        "amount": str(10000 + i),
        "username": "Budi",
        "mobile": "081234567890",
        "email": "budi@example.com",
        "notify_url": "http://127.0.0.1:9/notify",
        "remark": f"row {i}",
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


def _batch(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "vexora_async.cli", "batch", *args]


def _results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("http", ["aiohttp", "http11"])
def test_a_killed_batch_resumes_without_duplicates_or_gaps(
    vexora_sandbox: SandboxThread, tmp_path: Path, http: str
) -> None:
    total = 5000
    rows = [_row(i, "K" + http[-2:]) for i in range(total)]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    command = _batch(
        [str(source), "--out", str(out), "--progress", "lines", "--concurrency", "32",
         "--http", http]
    )

    first = subprocess.Popen(
        command, env=_env(vexora_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert first.stdout is not None
    for line in first.stdout:  # wait for real progress, then kill it mid-run
        if line.startswith("progress ") and int(line.split()[1].split("/")[0]) >= 1500:
            break
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    stored_before = len(vexora_sandbox.ledger.orders(MERCHANT))
    assert 1500 <= stored_before < total  # it really stopped part-way
    assert not out.exists()

    second = subprocess.run(
        command, env=_env(vexora_sandbox), capture_output=True, text=True, timeout=120
    )
    assert "resuming" in second.stdout

    stored = vexora_sandbox.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows)
    results = _results(out)
    assert [line["row"] for line in results] == list(range(2, total + 2))  # header is row 1
    assert [line["tradeNo"] for line in results] == [r["trade_no"] for r in rows]
    outcomes = [line["outcome"] for line in results]
    assert set(outcomes) <= {"created", "exists"}
    # Only rows in flight (the pool, 32) or finished but not yet committed (they ride along
    # with the next claim of a group of 32, or at most two groups) can have lost their link.
    assert outcomes.count("exists") <= 32 + 2 * 32
    assert second.returncode == (1 if "exists" in outcomes else 0), second.stderr
    by_trade = {o.trade_no: o.platform_trade_no for o in stored}
    assert all(line["platFormTradeNo"] == by_trade[line["tradeNo"]] for line in results)
    for line in results:  # no payer data in the file the SDK writes
        assert "081234567890" not in json.dumps(line) and "budi@" not in json.dumps(line)


def test_bad_rows_are_all_reported_and_nothing_is_sent(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "B") for i in range(6)]
    rows[1]["mobile"] = "12345"
    rows[2]["email"] = ""
    rows[3]["amount"] = "9999"
    rows[4]["trade_no"] = rows[0]["trade_no"]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    done = subprocess.run(
        _batch([str(source), "--out", str(out)]),
        env=_env(vexora_sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    reported = done.stdout.splitlines()
    assert reported == [
        "row 3: mobile: mobile_format (08 or 628, 10 to 13 digits)",
        "row 4: email: required",
        "row 5: amount: below_minimum (at least 10000)",
        "row 6: trade_no: duplicate_trade_no (row 2)",
    ]
    assert "4 of 6 rows are invalid; nothing was sent" in done.stderr
    assert vexora_sandbox.ledger.requests() == [] and not out.exists()


def test_skip_invalid_sends_the_rest_and_reports_every_row(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    source, out = tmp_path / "orders.jsonl", tmp_path / "results.jsonl"
    lines = [json.dumps(_row(i, "S")) for i in range(3)]
    lines.insert(1, "{not json")
    source.write_text("\n".join(lines) + "\n")
    code = main(
        ["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none",
         "--merchant-no", MERCHANT, "--secret", SECRET, "--base-url", vexora_sandbox.base_url]
    )  # fmt: skip
    assert code == 1  # not every row became a link
    results = _results(out)
    assert [(r["row"], r["outcome"]) for r in results] == [
        (1, "created"),
        (2, "invalid"),
        (3, "created"),
        (4, "created"),
    ]
    assert len(vexora_sandbox.ledger.orders(MERCHANT)) == 3


def test_missing_credentials_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "orders.csv"
    _write_csv(source, [_row(0, "C")])
    for name in ("VEXORA_MERCHANT_NO", "VEXORA_SECRET", "VEXORA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    code = main(["batch", str(source), "--out", str(tmp_path / "r.jsonl")])
    assert code == 4
    err = capsys.readouterr().err
    assert "--merchant-no (VEXORA_MERCHANT_NO)" in err and "--secret (VEXORA_SECRET)" in err


def test_sign_shows_the_canonical_string_without_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"timestamp": "1728613488294", "tradeNo": "test_00000008"}
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    assert main(["sign", str(path), "--secret", "TESTSECRET"]) == 0
    out = capsys.readouterr().out
    assert "timestamp=1728613488294tradeNo=test_00000008<secret>" in out
    assert "3c6f09275273e5d61b959d6f47845ae9" in out and "TESTSECRET" not in out
    path.write_text(json.dumps({**body, "sign": "0" * 32}))
    assert main(["sign", str(path), "--secret", "TESTSECRET"]) == 1


def test_verify_notify_accepts_a_genuine_one_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = {"tradeNo": "T1", "platFormTradeNo": "P1", "amount": "10000.50", "status": "0000",
              "message": "paid", "timestamp": "1715941383720"}  # fmt: skip
    path = tmp_path / "notify.json"
    path.write_text(json.dumps({**fields, "sign": sign(fields, SECRET)}))
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 0
    assert "10000.50" in capsys.readouterr().out
    path.write_text(json.dumps({**fields, "amount": "99999", "sign": sign(fields, SECRET)}))
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 1

    # An undocumented key: the hint is the command's option, not the library's keyword.
    extra = {**fields, "bankCode": "014"}
    path.write_text(json.dumps({**extra, "sign": sign(extra, SECRET)}))
    capsys.readouterr()
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 1
    err = capsys.readouterr().err
    assert "unknown key(s) 'bankCode'" in err and "--extra-key" in err, err
    assert "extra_keys=" not in err
    assert main(["verify-notify", str(path), "--secret", SECRET, "--extra-key", "bankCode"]) == 0


@pytest.mark.parametrize("http", ["aiohttp", "http11"])
def test_query_reports_a_created_order(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], http: str
) -> None:
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, [_row(0, "Q")])
    credentials = [
        "--merchant-no",
        MERCHANT,
        "--secret",
        SECRET,
        "--base-url",
        vexora_sandbox.base_url,
        "--http",
        http,
    ]
    assert main(["batch", str(source), "--out", str(out), "--progress", "none", *credentials]) == 0
    vexora_sandbox.pay(MERCHANT, "CLIQ000000")
    capsys.readouterr()
    assert main(["query", "CLIQ000000", "--json", *credentials]) == 0
    state = json.loads(capsys.readouterr().out)  # the gateway's own field names
    assert state["tradeNo"] == "CLIQ000000" and state["status"] == "0000"
    assert state["payAmount"] == "10000" and state["platFormTradeNo"]
    assert set(state) <= {"tradeNo", "platFormTradeNo", "status", "amount", "payAmount",
                          "message", "successTime", "channelCode", "wayCode", "remark"}  # fmt: skip
    assert main(["query", "NOSUCHTRADE", *credentials]) == 1


def test_demo_runs_with_no_configuration() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vexora_async.cli", "demo", "--links", "200", "--progress", "none"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("VEXORA_")},
    )
    assert done.returncode == 0, done.stderr
    assert "sandbox gateway at http://127.0.0.1:" in done.stdout
    assert "200 IDR links" in done.stdout and "created" in done.stdout


@pytest.mark.parametrize("region", ["PAYPRO_IDR", "PHP", "KHR", "USD"])
def test_demo_serves_every_built_in_profile(
    region: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--links", "60", "--region", region, "--progress", "lines"]) == 0
    out = capsys.readouterr().out
    assert f"60 {region} links" in out and "progress 60/60" in out


def test_demo_with_faults_still_reports_every_link(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--links", "80", "--fault-rate", "0.3", "--progress", "none"])
    out = capsys.readouterr().out
    assert code in (0, 1)  # a lost link is "exists", not a failure of the demo itself
    counts = [int(line.split()[-2]) for line in out.splitlines() if "outcome:" in line]
    assert sum(counts) == 80


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("demo", "batch", "payouts", "balance", "query", "sign", "verify-notify",
                    "sandbox"):
        with pytest.raises(SystemExit) as caught:
            main([command, "--help"])
        assert caught.value.code == 0
        assert "usage: vexora-async " + command in capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_kill_at_a_random_moment_loses_and_duplicates_nothing(
    seed: int, vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    """SIGKILL at a random moment (reading, registering, sending or writing the results),
    then as many resumes as it takes: every order exactly once, no row lost or told twice."""
    import random
    import time

    total = 1500
    rows = [_row(i, f"R{seed}") for i in range(total)]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    command = _batch([str(source), "--out", str(out), "--progress", "none"])
    delay = random.Random(seed).uniform(0.3, 3.0)
    first = subprocess.Popen(command, env=_env(vexora_sandbox), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(delay)  # not waiting for anything: the moment itself is the test's input
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = subprocess.run(
        command, env=_env(vexora_sandbox), capture_output=True, text=True, timeout=180
    )
    assert second.returncode in (0, 1), (delay, second.stderr)
    stored = vexora_sandbox.ledger.orders(MERCHANT)
    assert sorted(o.trade_no for o in stored) == sorted(r["trade_no"] for r in rows), delay
    assert all(vexora_sandbox.ledger.checkout_requests(o.trade_no, MERCHANT) >= 1 for o in stored)
    results = _results(out)
    assert [line["tradeNo"] for line in results] == [r["trade_no"] for r in rows]
    assert {line["outcome"] for line in results} <= {"created", "exists"}, delay
