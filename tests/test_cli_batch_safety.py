"""The `batch` command against hostile situations: Ctrl+C, repeated rows, a journal that is
missing, empty, corrupt, another run's or in use, broken input, an unreachable gateway."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vexora_async.cli import main
from vexora_async.sandbox import SandboxThread

from .test_cli_batch import MERCHANT, SECRET, _env, _results, _row, _write_csv

_NOISE = ("Exception ignored", "Traceback", "Task was destroyed", "never awaited", "Unclosed")


def _command(source: Path, out: Path, *extra: str, dev: bool = False) -> list[str]:
    python = [sys.executable, "-X", "dev"] if dev else [sys.executable]
    return [*python, "-m", "vexora_async", "batch", str(source), "--out", str(out), *extra]


def _credentials(sandbox: SandboxThread) -> list[str]:
    return ["--merchant-no", MERCHANT, "--secret", SECRET, "--base-url", sandbox.base_url]


def _trade_nos(sandbox: SandboxThread) -> list[str]:
    return [order.trade_no for order in sandbox.ledger.orders(MERCHANT)]


# -- Ctrl+C -----------------------------------------------------------------------------------


def test_one_ctrl_c_stops_the_batch_and_the_next_run_resumes(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    total = 3000
    rows = [_row(i, "I") for i in range(total)]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    command = _command(source, out, "--progress", "lines", "--concurrency", "32", dev=True)
    first = subprocess.Popen(
        command, env=_env(vexora_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert first.stdout is not None
    for line in first.stdout:  # wait for real progress, then one Ctrl+C
        if line.startswith("progress ") and int(line.split()[1].split("/")[0]) >= 500:
            break
    first.send_signal(signal.SIGINT)
    # A generous bound: a hang (the old bug) fails here; no clock is asserted.
    _, stderr = first.communicate(timeout=20)
    assert first.returncode == 130, stderr
    assert "stopping" in stderr and "run the same command again to resume" in stderr
    assert not any(noise in stderr for noise in _NOISE), stderr
    assert not out.exists()
    sent_before = len(_trade_nos(vexora_sandbox))
    assert 500 <= sent_before < total

    second = subprocess.run(
        command, env=_env(vexora_sandbox), capture_output=True, text=True, timeout=180
    )
    assert "resuming" in second.stdout
    assert not any(noise in second.stderr for noise in _NOISE), second.stderr
    assert sorted(_trade_nos(vexora_sandbox)) == sorted(r["trade_no"] for r in rows)  # once each
    results = _results(out)
    assert [line["row"] for line in results] == list(range(2, total + 2))
    outcomes = [line["outcome"] for line in results]
    assert set(outcomes) <= {"created", "exists"}
    assert second.returncode == (1 if "exists" in outcomes else 0), second.stderr


def test_ctrl_c_stops_the_demo(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-X", "dev", "-m", "vexora_async", "demo", "--links", "1000000",
         "--progress", "lines"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("VEXORA_")},
    )  # fmt: skip
    assert demo.stdout is not None
    for line in demo.stdout:
        if line.startswith("progress "):
            break
    demo.send_signal(signal.SIGINT)
    _, stderr = demo.communicate(timeout=20)
    assert demo.returncode == 130
    assert "stopping" in stderr
    assert not any(noise in stderr for noise in _NOISE), stderr


# Stands in for the standard csv module, which the CLI imports while it starts (building its
# parser): says so, waits for the test's go-ahead line, then loads the real module.
_CSV_GATE = """
import importlib.machinery, importlib.util, os, sys
sys.stdout.write("importing csv\\n")
sys.stdout.flush()
sys.stdin.readline()
here = os.path.dirname(os.path.abspath(__file__))
path = [p for p in sys.path if os.path.abspath(p or ".") != here]
spec = importlib.machinery.PathFinder.find_spec("csv", path)
module = importlib.util.module_from_spec(spec)
sys.modules["csv"] = module
spec.loader.exec_module(module)
"""


def test_ctrl_c_during_start_up_stops_quietly_and_sends_nothing(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    # A real SIGINT while the CLI is still importing (before the command installs its own
    # handler): exit 130 with one line, no traceback, nothing sent, no journal left.
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "csv.py").write_text(_CSV_GATE)
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, [_row(i, "E") for i in range(5)])
    env = _env(vexora_sandbox)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(gate), env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        _command(source, out, "--progress", "none"), env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline() == "importing csv\n"  # it is starting up, right now
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate("go on\n", timeout=30)
    assert child.returncode == 130, stdout + stderr
    assert stderr == "vexora-async: stopped\n"
    assert not vexora_sandbox.ledger.requests()
    assert not out.exists() and not Path(str(out) + ".journal").exists()


# -- rows -------------------------------------------------------------------------------------


def test_a_repeated_trade_no_is_invalid_and_never_sent_even_with_skip_invalid(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "D") for i in range(5)]
    rows[3] = {**rows[3], "trade_no": rows[1]["trade_no"], "amount": "77777"}
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    args = ["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none"]
    for _ in range(2):  # the rerun (a resume of a finished run) gives the same file
        assert main([*args, *_credentials(vexora_sandbox)]) == 1
        results = _results(out)
        assert [(r["row"], r["outcome"]) for r in results] == [
            (2, "created"), (3, "created"), (4, "created"), (5, "invalid"), (6, "created"),
        ]  # fmt: skip
        assert results[3]["violations"] == [{"field": "trade_no", "rule": "duplicate_trade_no"}]
    order = vexora_sandbox.ledger.order(rows[1]["trade_no"], MERCHANT)
    assert order is not None and order.amount == 10001  # the first row's, never the repeat's
    assert vexora_sandbox.ledger.checkout_requests(rows[1]["trade_no"], MERCHANT) == 1
    assert len(_trade_nos(vexora_sandbox)) == 4


def test_a_trade_no_first_seen_on_an_invalid_row_is_not_sent_later_either(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [{**_row(0, "E"), "mobile": "123"}, _row(0, "E"), _row(1, "E")]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    args = ["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none"]
    assert main([*args, *_credentials(vexora_sandbox)]) == 1
    results = _results(out)
    assert [r["outcome"] for r in results] == ["invalid", "invalid", "created"]
    assert results[1]["violations"] == [{"field": "trade_no", "rule": "duplicate_trade_no"}]
    assert _trade_nos(vexora_sandbox) == [rows[2]["trade_no"]]


def test_the_summary_lists_the_first_failed_rows_and_where_the_rest_are(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [_row(i, "F") for i in range(30)]
    for row in rows[5:25]:
        row["mobile"] = "123"
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    args = ["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none"]
    assert main([*args, *_credentials(vexora_sandbox)]) == 1
    printed = capsys.readouterr().out
    assert "20 rows did not become links:" in printed
    assert "row 7 invalid: mobile: mobile_format" in printed  # row 7 = the 6th order
    assert "row 16 invalid" in printed and "row 17 invalid" not in printed  # the first 10
    assert f"... 10 more in {out}" in printed


# -- the journal ------------------------------------------------------------------------------


@pytest.fixture
def finished_run(vexora_sandbox: SandboxThread, tmp_path: Path) -> dict[str, Any]:
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, [_row(i, "J") for i in range(20)])
    args = ["batch", str(source), "--out", str(out), "--progress", "none",
            *_credentials(vexora_sandbox)]  # fmt: skip
    assert main(args) == 0
    return {"args": args, "out": out, "journal": Path(str(out) + ".journal")}


def _break_journal(how: str, journal: Path, tmp_path: Path) -> None:
    if how == "missing":
        journal.unlink()
    elif how == "empty":
        journal.write_bytes(b"")
    elif how == "corrupt":
        journal.write_bytes(b"this is not SQLite" * 100)
    elif how == "half":  # a copy cut short
        data = journal.read_bytes()
        journal.write_bytes(data[:100] + b"\x00" * (len(data) - 100))
    elif how == "another input":
        other = tmp_path / "other.csv"
        _write_csv(other, [_row(0, "Z")])
        shutil.copy(journal, tmp_path / "keep")
        journal.unlink()
        code = main(["batch", str(other), "--out", str(tmp_path / "x.jsonl"),
                     "--journal", str(journal), "--progress", "none", "--merchant-no",
                     MERCHANT, "--secret", SECRET, "--base-url", "http://127.0.0.1:9"])  # fmt: skip
        assert code == 1  # nothing listens there: not_sent, and a journal of another input


@pytest.mark.parametrize("how", ["missing", "empty", "corrupt", "half", "another input"])
def test_an_unusable_journal_next_to_results_stops_the_run_unless_restart(
    how: str,
    finished_run: dict[str, Any],
    vexora_sandbox: SandboxThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out: Path = finished_run["out"]
    links = out.read_text()
    assert "paymentUrl" in links
    _break_journal(how, finished_run["journal"], tmp_path)
    requests_before = len(vexora_sandbox.ledger.requests())
    capsys.readouterr()
    assert main(finished_run["args"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--restart" in err and "Traceback" not in err
    assert out.read_text() == links  # the links are still there
    assert len(vexora_sandbox.ledger.requests()) == requests_before  # nothing was sent

    assert main([*finished_run["args"], "--restart"]) == 1  # every order exists already
    assert all(line["outcome"] in ("exists", "rejected") for line in _results(out))


def test_a_second_run_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "r.jsonl.journal"
    holder = sqlite3.connect(journal, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # another process holds it
    source = tmp_path / "orders.csv"
    _write_csv(source, [_row(0, "L")])
    done = subprocess.run(
        _command(source, tmp_path / "r.jsonl", "--merchant-no", MERCHANT, "--secret", SECRET,
                 "--base-url", "http://127.0.0.1:9"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    holder.close()
    assert done.returncode == 4
    assert "in use by another run" in done.stderr and "Traceback" not in done.stderr


def test_the_journal_is_one_self_contained_file(finished_run: dict[str, Any]) -> None:
    journal: Path = finished_run["journal"]
    siblings = {p.name for p in journal.parent.iterdir()}
    assert not {journal.name + s for s in ("-wal", "-shm", "-journal")} & siblings
    copy = sqlite3.connect(journal)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("SELECT COUNT(*) FROM rows WHERE state = 'done'").fetchone()[0] == 20


# -- bad input --------------------------------------------------------------------------------


def _run_jsonl(
    lines: list[str | bytes], tmp_path: Path, sandbox: SandboxThread, bom: bool = False
) -> tuple[int, list[dict[str, Any]]]:
    source, out = tmp_path / "orders.jsonl", tmp_path / "results.jsonl"
    data = b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines)
    source.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data + b"\n")
    code = main(["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none",
                 *_credentials(sandbox)])  # fmt: skip
    return code, _results(out)


def test_malformed_rows_are_row_level_invalids_with_field_and_rule(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _row(0, "M")
    lines: list[str | bytes] = [
        json.dumps(good),
        json.dumps({**_row(1, "M"), "trade_no": ["a", "list"]}),
        json.dumps(_row(2, "M")).replace('"10002"', "1e999999999"),
        json.dumps({**_row(3, "M"), "amount": "9" * 5000}),
        json.dumps({**_row(4, "M"), "amount": 2**64}),
        json.dumps({**_row(5, "M"), "username": "\ud800"}),  # a lone surrogate, escaped
        json.dumps(_row(6, "M")).encode().replace(b"Budi", b"B\xffdi"),  # not UTF-8
        "",
        "[1, 2]",
        "{" * 100_000,
    ]
    code, results = _run_jsonl(lines, tmp_path, vexora_sandbox, bom=True)
    assert code == 1
    rules = {r["row"]: [(v["field"], v["rule"]) for v in r.get("violations", [])] for r in results}
    assert [r["row"] for r in results] == [1, 2, 3, 4, 5, 6, 7, 9, 10]  # line 8 is blank
    assert results[0]["outcome"] == "created"  # the BOM did not spoil line 1
    assert rules[2] == [("trade_no", "wrong_type")]
    assert rules[3] == [("amount", "out_of_range")]
    assert rules[4] == [("amount", "too_long")]
    assert rules[5] == [("amount", "out_of_range")]  # 2**64: beyond any JSON encoder
    assert rules[6] == [("username", "not_utf8")]
    assert rules[7] == [("username", "not_utf8")]
    assert rules[9] == [("row", "not_an_object")]
    assert rules[10] == [("row", "unreadable_json")]
    assert _trade_nos(vexora_sandbox) == [good["trade_no"]]
    assert "Traceback" not in capsys.readouterr().err


def test_a_csv_field_over_128_kib_is_one_invalid_row(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    rows = [_row(i, "H") for i in range(3)]
    rows[1]["remark"] = "x" * (200 * 1024)
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    code = main(["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none",
                 *_credentials(vexora_sandbox)])  # fmt: skip
    assert code == 1
    results = _results(out)
    assert [(r["row"], r["outcome"]) for r in results] == [
        (2, "created"), (3, "invalid"), (4, "created"),
    ]  # fmt: skip
    assert results[1]["violations"] == [{"field": "row", "rule": "unreadable_csv"}]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "cannot read"),
        ("empty.csv", b"", "no header"),
        ("orders.txt", b"a,b\n", "cannot tell the format"),
        ("a_dir.csv", "dir", "cannot read"),
    ],
)
@pytest.mark.parametrize("command", ["batch", "payouts"])
def test_an_unusable_input_file_is_one_line_and_exit_3(
    command: str,
    name: str,
    content: bytes | str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / name
    if content == "dir":
        source.mkdir()
    elif isinstance(content, bytes):
        source.write_bytes(content)
    before = sorted(tmp_path.iterdir())
    out = tmp_path / "results.jsonl"
    code = main([command, str(source), "--out", str(out), "--merchant-no", MERCHANT,
                 "--secret", SECRET, "--base-url", "http://127.0.0.1:9"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and message in err and err.count("\n") == 1, err
    # Nothing was sent, so nothing is left to resume: no results file, no journal (nor
    # SQLite's side files) that the next run would have to be told about.
    assert sorted(tmp_path.iterdir()) == before


# -- the command line a person reads ------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connect_errors_name_the_host_and_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, [_row(0, "N")])
    base = ["--merchant-no", MERCHANT, "--secret", SECRET, "--base-url", f"http://127.0.0.1:{port}"]
    assert main(["batch", str(source), "--out", str(out), "--progress", "none", *base]) == 1
    printed = capsys.readouterr().out
    assert f"could not connect to 127.0.0.1:{port}" in printed
    assert "1 row did not become links:" in printed  # one row, said as one
    assert _results(out)[0]["outcome"] == "not_sent"
    assert main(["query", "T1", *base]) == 1
    err = capsys.readouterr().err
    assert f"could not connect to 127.0.0.1:{port}: connection refused" in err
    assert err.count("could not connect") == 1, err  # said once, not nested

    # The gateway comes up: the same command sends what was never sent.
    with SandboxThread(port=port, time_factor=0.001) as sandbox:
        assert main(["batch", str(source), "--out", str(out), "--progress", "none", *base]) == 0
        assert _results(out)[0]["outcome"] == "created"
        assert _trade_nos(sandbox) == ["CLIN000000"]


def test_version_and_python_dash_m(capsys: pytest.CaptureFixture[str]) -> None:
    from vexora_async import __version__

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out == f"vexora-async {__version__}\n"
    done = subprocess.run(
        [sys.executable, "-m", "vexora_async", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "batch" in done.stdout and "130" in done.stdout


def test_demo_with_faults_explains_outcomes_and_finds_no_lies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["demo", "--links", "120", "--fault-rate", "0.3", "--progress", "none"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "120 orders, 0 lies" in out
    assert "(links returned only)" in out
    if "outcome: exists" in out:
        assert "exists: order created, its link lost to a fault" in out


@pytest.mark.parametrize(
    "flags",
    [["--lease", "5"], ["--journal-table", "mine"], ["--lease", "5", "--journal-table", "x"]],
)
def test_postgres_journal_flags_with_a_file_journal_are_refused(
    flags: list[str],
    vexora_sandbox: SandboxThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A lease that silently does nothing would leave a dead worker's rows waiting for good.
    _write_csv(tmp_path / "in.csv", [_row(0, "PGF")])
    out = tmp_path / "out.jsonl"
    args = ["batch", str(tmp_path / "in.csv"), "--out", str(out), *flags,
            *_credentials(vexora_sandbox)]  # fmt: skip
    assert main(args) == 4
    err = capsys.readouterr().err
    assert "PostgreSQL journal" in err and all(f in err for f in flags if f.startswith("--"))
    named = [f for f in flags if f.startswith("--")]
    assert (" applies only to" if len(named) == 1 else " and --journal-table apply only to") in err
    assert vexora_sandbox.ledger.orders() == [] and not out.exists()
    assert not (tmp_path / "out.jsonl.journal").exists()


def test_a_cell_that_is_no_trade_number_is_not_written_anywhere(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    # A shifted column puts the payer's name where the trade number goes: refused, and the
    # name is neither in the results nor in the journal (only the row and the rule are).
    rows = [_row(0, "N"), {**_row(1, "N"), "trade_no": "Zorblaxine O'Quux"}]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    _write_csv(source, rows)
    args = ["batch", str(source), "--out", str(out), "--skip-invalid", "--progress", "none"]
    assert main([*args, *_credentials(vexora_sandbox)]) == 1
    results = _results(out)
    assert [(r["row"], r["outcome"], r["tradeNo"]) for r in results][1] == (3, "invalid", None)
    written = [p for p in tmp_path.iterdir() if p != source]
    assert out in written
    for path in written:
        assert b"Zorblax" not in path.read_bytes(), path.name


def test_restart_is_refused_while_another_run_holds_the_journal(
    vexora_sandbox: SandboxThread, tmp_path: Path
) -> None:
    # Run A is under way (stopped with SIGSTOP mid-run: it holds the journal, sends nothing
    # meanwhile). Run B, `--restart` on the same journal, must be refused: exit 4, nothing
    # sent, A's journal untouched. A then finishes with every link in its results file.
    rows = [_row(i, "R") for i in range(30)]
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    journal = Path(str(out) + ".journal")
    _write_csv(source, rows)
    env = _env(vexora_sandbox)
    first = subprocess.Popen(
        _command(source, out, "--progress", "none", "--concurrency", "1", "--rate", "30"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not _trade_nos(vexora_sandbox) and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGSTOP)
        assert first.poll() is None and _trade_nos(vexora_sandbox), "run A never got going"
        held = journal.stat().st_ino
        sent = len(vexora_sandbox.ledger.requests())
        second = subprocess.run(
            _command(source, out, "--progress", "none", "--restart"),
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 4, second.stdout + second.stderr
        assert "in use by another run" in second.stderr and "nothing was sent" in second.stderr
        assert "Traceback" not in second.stderr
        assert len(vexora_sandbox.ledger.requests()) == sent  # B sent nothing
        assert journal.stat().st_ino == held and not out.exists()  # and removed nothing
    finally:
        first.send_signal(signal.SIGCONT)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    results = _results(out)
    assert [line["outcome"] for line in results] == ["created"] * len(rows)
    assert all(line["paymentUrl"] for line in results)
    assert sorted(_trade_nos(vexora_sandbox)) == sorted(row["trade_no"] for row in rows)
    assert all(
        vexora_sandbox.ledger.checkout_requests(row["trade_no"], MERCHANT) == 1 for row in rows
    )
