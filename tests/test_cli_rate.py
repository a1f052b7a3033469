"""`--rate` on the batch command: the gateway sees no more requests than the limit allows
(counted from the sandbox's own record of arrivals, not timed on the client)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from vexora_async.sandbox import SandboxThread

from .servers import RedisServer
from .test_cli_batch import _env, _results, _row, _write_csv


def _most_in_any_window(times_ms: list[int], window_ms: int) -> int:
    times = sorted(times_ms)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window_ms:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_the_batch_command_keeps_to_its_rate(tmp_path: Path) -> None:
    rows = [_row(i, "RATE") for i in range(60)]
    _write_csv(tmp_path / "in.csv", rows)
    with SandboxThread(time_factor=0.001) as sandbox:
        done = subprocess.run(
            [sys.executable, "-m", "vexora_async.cli", "batch", str(tmp_path / "in.csv"),
             "--out", str(tmp_path / "out.jsonl"), "--rate", "40", "--burst", "5",
             "--progress", "none"],
            env=_env(sandbox), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        arrivals = [r.at_ms for r in sandbox.sandbox.ledger.requests() if r.operation == "checkout"]
    assert len(arrivals) == 60
    assert [line["outcome"] for line in _results(tmp_path / "out.jsonl")] == ["created"] * 60
    # GCRA: at most burst + rate * window in any window (a little slack for clock rounding).
    assert _most_in_any_window(arrivals, 1000) <= 5 + 40 + 1


def test_rate_redis_needs_a_rate(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", [_row(0, "RATE2")])
    with SandboxThread(time_factor=0.001) as sandbox:
        done = subprocess.run(
            [sys.executable, "-m", "vexora_async.cli", "batch", str(tmp_path / "in.csv"),
             "--out", str(tmp_path / "out.jsonl"), "--rate-redis", "redis://127.0.0.1:1/0"],
            env=_env(sandbox), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 4 and "--rate-redis needs --rate" in done.stderr


def test_two_batch_runs_sharing_a_redis_limit_keep_to_it_together(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    # Two processes, one limit: the gateway sees no more than the limit from both together.
    # In Python's dev mode, so a Redis connection left unclosed at exit would warn.
    rate, burst, per_run = 40, 4, 40
    key = uuid.uuid4().hex
    with SandboxThread(time_factor=0.001) as sandbox:
        runs = []
        for run in ("A", "B"):
            _write_csv(tmp_path / f"{run}.csv", [_row(i, f"RR{run}") for i in range(per_run)])
            runs.append(subprocess.Popen(
                [sys.executable, "-X", "dev", "-m", "vexora_async.cli", "batch",
                 str(tmp_path / f"{run}.csv"), "--out", str(tmp_path / f"{run}.jsonl"),
                 "--rate", str(rate), "--burst", str(burst), "--rate-redis", redis_server.url,
                 "--rate-key", key, "--progress", "none"],
                env=_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))  # fmt: skip
        finished = [run.communicate(timeout=120) for run in runs]
        arrivals = [r.at_ms for r in sandbox.sandbox.ledger.requests() if r.operation == "checkout"]
    for run, (_, stderr) in zip(runs, finished, strict=True):
        assert run.returncode == 0, stderr
        assert "Warning" not in stderr and "Unclosed" not in stderr, stderr
    for run in ("A", "B"):
        outcomes = [line["outcome"] for line in _results(tmp_path / f"{run}.jsonl")]
        assert outcomes == ["created"] * per_run
    assert len(arrivals) == 2 * per_run
    # The limit spaces the sends; arrivals also carry each request's own way to the gateway
    # (up to ~0.1 s on a loaded CI machine), so a window may catch a few early. Two limits
    # of their own would let 2 x (burst + rate) through in a second and finish in ~0.9 s.
    jitter = 0.1
    assert _most_in_any_window(arrivals, 1000) <= burst + rate * (1 + jitter) + 1
    span = (max(arrivals) - min(arrivals)) / 1000
    assert span >= (2 * per_run - burst - 1) / rate - jitter


@pytest.mark.parametrize(
    "bad", [["--rate", "nan"], ["--rate", "0"], ["--burst", "0", "--rate", "5"]]
)
def test_bad_rates_are_configuration_errors(tmp_path: Path, bad: list[str]) -> None:
    _write_csv(tmp_path / "in.csv", [_row(0, "RATE3")])
    with SandboxThread(time_factor=0.001) as sandbox:
        done = subprocess.run(
            [sys.executable, "-m", "vexora_async.cli", "batch", str(tmp_path / "in.csv"),
             "--out", str(tmp_path / "out.jsonl"), *bad],
            env=_env(sandbox), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 4, done.stderr


def test_a_wrong_secret_stops_the_batch_with_exit_4_and_resumes_once_fixed(
    tmp_path: Path,
) -> None:
    rows = [_row(i, "AUTH") for i in range(40)]
    _write_csv(tmp_path / "in.csv", rows)
    command = [sys.executable, "-m", "vexora_async.cli", "batch", str(tmp_path / "in.csv"),
               "--out", str(tmp_path / "out.jsonl"), "--progress", "none"]  # fmt: skip
    with SandboxThread(time_factor=0.001) as sandbox:
        wrong = {**_env(sandbox), "VEXORA_SECRET": "NOT-THE-SECRET"}
        done = subprocess.run(command, env=wrong, capture_output=True, text=True, timeout=120)
        assert done.returncode == 4, done.stderr
        assert "refused the credentials" in done.stderr and "NOT-THE-SECRET" not in done.stderr
        assert sandbox.ledger.orders() == []
        again = subprocess.run(
            command, env=_env(sandbox), capture_output=True, text=True, timeout=120
        )
        assert again.returncode == 0, again.stderr
        stored = sorted(order.trade_no for order in sandbox.ledger.orders())
    assert stored == sorted(row["trade_no"] for row in rows)  # each once, none lost
    assert [line["outcome"] for line in _results(tmp_path / "out.jsonl")] == ["created"] * 40
